"""Read the clerk's edits back from ``register.xlsx`` before it is rewritten.

Department-owned columns (督办人, 备注, 整改意见) are kept: their new values go into the
store. Committee-sourced cells are compared with what the register said; changes there
are reported (the committee must resubmit), never silently kept or silently lost.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from xlsxflow.read.errors import ReadError
from xlsxflow.read.limits import REGISTER_LIMITS
from xlsxflow.read.number_formats import EXCEL_EPOCH, EXCEL_EPOCH_1904
from xlsxflow.read.open import classify, open_book
from xlsxflow.register.sheets import (
    DEPT_COLUMNS,
    KEY_HEADER,
    PROJECTS_SHEET,
    Figures,
    project_headers,
    project_row_values,
)
from xlsxflow.register.state import RegisterState
from xlsxflow.roster import Roster


@dataclass
class Edits:
    dept_notes: dict[tuple[str, str], str] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    committee_cells: list[str] = field(default_factory=list)


def as_text(value: Any) -> str:
    """One spelling per value, whichever program saved the register."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float | int | Decimal):
        number = Decimal(str(value))
        if number == number.to_integral_value():
            return str(int(number))
        return format(number.normalize(), "f")
    return str(value).strip()


def _as_date(value: Any, date1904: bool) -> Any:
    """A date cell read back as its serial number (a register saved by a program whose
    sheets are read without their styles, e.g. openpyxl) is the date it shows."""
    if isinstance(value, float | int) and not isinstance(value, bool) and 1 <= value < 2958466:
        return (EXCEL_EPOCH_1904 if date1904 else EXCEL_EPOCH) + dt.timedelta(days=int(value))
    return value


def read_edits(
    path: Path,
    state: RegisterState,
    roster: Roster | None,
    notes: dict[tuple[str, str], str],
    figures: Figures | None = None,
) -> Edits:
    """``figures`` are those the register was written with (computed columns)."""
    edits = Edits()
    try:
        book = open_book(path, classify(path), REGISTER_LIMITS)
        try:
            if PROJECTS_SHEET not in book.sheets:
                return edits
            cells = book.cells(PROJECTS_SHEET)
            date1904 = book.date1904
        finally:
            book.close()
    except ReadError as err:
        # (the file is kept as the backup of the register written now)
        edits.committee_cells.append(
            f"register.xlsx 无法读取（{err.code}），其中的修改未能读入。该文件已原样保存在"
            "工作区的 data/backups 文件夹中，如有需要保留的填写，请从中找回后在新的总台账中重新填写。"
        )
        return edits
    width = max((c for _, c in cells), default=-1) + 1
    header = {as_text(cells[(0, c)].value): c for c in range(width) if (0, c) in cells}
    if KEY_HEADER not in header:
        return edits
    projects = {p.key: p for p in state.projects}
    height = max((r for r, _ in cells), default=0) + 1
    own = project_headers()
    for row in range(1, height):
        key_cell = cells.get((row, header[KEY_HEADER]))
        key = as_text(key_cell.value) if key_cell else ""
        project = projects.get(key)
        if project is None:
            continue

        def text(name: str, row: int = row, like: Any = None) -> str:
            col = header.get(name)
            cell = cells.get((row, col)) if col is not None else None
            if cell is None:
                return ""
            return as_text(
                _as_date(cell.value, date1904) if isinstance(like, dt.date) else cell.value
            )

        for column in DEPT_COLUMNS:
            if column not in header:
                continue
            value = text(column)
            if value != notes.get((key, column), ""):
                edits.dept_notes[(key, column)] = value
                edits.changed.append(f"{key} {column}：{value}")
        expected = project_row_values(project, roster, figures)
        for name in own:
            if name not in header or name == KEY_HEADER:
                continue
            found, wanted = text(name, like=expected.get(name)), as_text(expected.get(name))
            if found != wanted:
                edits.committee_cells.append(
                    f"项目总台账第 {row + 1} 行（{key}）“{name}”被改为“{found}”（原为“{wanted}”）。"
                    "该列来自基层党委报送的表格，修改不会保留；如需更正，请由该党委重新报送。"
                )
    return edits
