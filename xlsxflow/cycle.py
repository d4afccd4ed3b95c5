"""Date windows of a cycle that rules and drop-downs share (DOMAIN §4)."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from xlsxflow.config import Config
from xlsxflow.forms.spec import Bounds


class Window(NamedTuple):
    low: dt.date
    high: dt.date
    why: str  # Chinese, completes "应在 low 至 high 之间（…）"


def windows(config: Config) -> dict[Bounds, Window]:
    cycle = config.cycle
    return {
        "application": Window(
            cycle.notice_date, cycle.application_deadline, "发文日期至申报截止日期"
        ),
        "implementation": Window(cycle.notice_date, cycle.implementation_end, "项目实施阶段"),
        "cycle": Window(cycle.notice_date, cycle.cycle_end, "本年度项目周期"),
    }
