"""Convert calamine's dense rows into our sparse ``RawCell`` map."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from xlsxflow.read.book import RawCell
from xlsxflow.read.errors import ReadError


def cells_from_rows(
    rows: Iterable[Sequence[Any]], sheet: str, max_chars: int, max_cells: int
) -> dict[tuple[int, int], RawCell]:
    cells: dict[tuple[int, int], RawCell] = {}
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value == "" or value is None:
                continue
            if isinstance(value, str):
                cell = RawCell(value[:max_chars], truncated=len(value) > max_chars)
            elif isinstance(value, bool):
                cell = RawCell(value)
            elif isinstance(value, int | float):
                cell = RawCell(float(value))
            elif isinstance(value, dt.datetime):
                cell = RawCell(value)
            elif isinstance(value, dt.date):
                cell = RawCell(dt.datetime.combine(value, dt.time()))
            else:
                cell = RawCell(str(value))
            cells[(r, c)] = cell
        if len(cells) > max_cells:
            raise ReadError("file.too_large", f"工作表“{sheet}”单元格过多")
    return cells
