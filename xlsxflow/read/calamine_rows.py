"""Convert calamine's dense rows into our sparse ``RawCell`` map."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from xlsxflow.read.book import RawCell
from xlsxflow.read.errors import ReadError

_MIDNIGHT = dt.time()


def cells_from_rows(
    rows: Iterable[Sequence[Any]],
    sheet: str,
    max_chars: int,
    max_cells: int,
    times_elsewhere: bool = False,
) -> dict[tuple[int, int], RawCell]:
    """``times_elsewhere``: a time or duration is ``file.corrupt`` (an .xlsx sheet's
    number under a time format, which our parser reads; see ``_odd_cell``), not its
    text (an .ods time value, which calamine alone reads)."""
    cells: dict[tuple[int, int], RawCell] = {}
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            kind = type(value)  # (by exact type first: most cells are text or numbers)
            if kind is str:
                if not value:
                    continue
                cell = (
                    RawCell(value)
                    if len(value) <= max_chars
                    else RawCell(value[:max_chars], truncated=True)
                )
            elif kind is float:
                cell = RawCell(value)
            elif value is None:
                continue
            elif kind is dt.date:  # (~5 % of a ledger's cells, a sixth of this loop's time)
                cell = RawCell(dt.datetime.combine(value, _MIDNIGHT))
            else:
                cell = _odd_cell(value, max_chars, times_elsewhere)
                if cell is None:
                    continue
            cells[(r, c)] = cell
        if len(cells) > max_cells:
            raise ReadError("file.too_large", f"工作表“{sheet}”单元格过多")
    return cells


def _odd_cell(value: Any, max_chars: int, times_elsewhere: bool) -> RawCell | None:
    """A cell that is not plain text or a float: None if it is empty."""
    if value == "":
        return None
    if isinstance(value, str):
        return RawCell(value[:max_chars], truncated=len(value) > max_chars)
    if isinstance(value, bool):
        return RawCell(value)
    if isinstance(value, int | float):
        return RawCell(float(value))
    if isinstance(value, dt.datetime):
        return RawCell(value)
    if times_elsewhere and isinstance(value, dt.time | dt.timedelta):
        # a number under a time or duration format: calamine gives "12:00:00" for 0.5
        # and "00:00:00" for any negative one; our parser reads the number itself
        raise ReadError("file.corrupt", "时间格式的数值")
    if isinstance(value, dt.date):
        return RawCell(dt.datetime.combine(value, _MIDNIGHT))  # (a subclass of date)
    return RawCell(str(value))
