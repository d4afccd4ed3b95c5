"""How wide a value shows in a cell, in Excel's character units (CJK counts double)."""

from __future__ import annotations

import datetime as dt
from typing import Any

DATE_WIDTH = 10  # yyyy-mm-dd


def display_width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.date):
        return DATE_WIDTH
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in str(value))
