"""What every summary needs: the derived register, labels, and a safe place to write."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from xlsxflow.errors import UsageError
from xlsxflow.filenames import safe_filename
from xlsxflow.forms import catalog
from xlsxflow.fsutil import write_atomic
from xlsxflow.register.query import load_state
from xlsxflow.register.state import RegisterState
from xlsxflow.workspace import Workspace


@dataclass
class Context:
    ws: Workspace
    state: RegisterState

    @property
    def created(self) -> dt.datetime:
        return dt.datetime.combine(self.ws.config.cycle.notice_date, dt.time())

    @property
    def county(self) -> str:
        return self.ws.config.cycle.county

    @property
    def year(self) -> int:
        return self.ws.config.cycle.year

    def committee_name(self, code: str) -> str:
        roster = self.ws.roster
        return roster.committee(code).name if roster.has(code) else code

    def type_text(self, code: str) -> str:
        choices = catalog().choice("project_type")
        try:
            item = choices.by_code(code)
        except KeyError:
            return code
        return f"{item.text}（{item.alias}）" if item.alias else item.text

    def direction_text(self, code: str) -> str:
        choices = catalog().choice("direction")
        try:
            return choices.display(choices.by_code(code))
        except KeyError:
            return code


def context(ws: Workspace) -> Context:
    state = load_state(ws)
    if state is None:
        raise UsageError("register.empty", path=ws.root)
    return Context(ws, state)


def save(ws: Workspace, name: str, data: bytes) -> Path:
    path = ws.reports / safe_filename([name], ".xlsx")
    write_atomic(path, data)
    return path
