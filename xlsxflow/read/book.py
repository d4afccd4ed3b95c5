"""A format-neutral view of a workbook: sheets, names, properties and cell values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

CellValue = str | float | bool | dt.datetime | None
Visibility = Literal["visible", "hidden", "veryHidden"]


# Not frozen (but never changed): a frozen dataclass takes five times as long to make,
# and a ledger's reading makes ~300 of these and ~400 ``extract.Found``.
@dataclass(slots=True)
class RawCell:
    value: CellValue
    formula: bool = False
    error: str | None = None  # "#DIV/0!" and friends
    truncated: bool = False  # longer than Excel's 32,767 characters: the rest was dropped


@dataclass(frozen=True)
class NameRef:
    """A defined name resolved to one sheet and a rectangle (0-based, inclusive)."""

    sheet: str
    row: int
    col: int
    last_row: int
    last_col: int


@dataclass
class RawBook:
    """What every reader returns. Cells are loaded per sheet, on first use."""

    format: str
    sheets: list[str]
    visibility: dict[str, Visibility]
    names: dict[str, NameRef | None]  # None: the name exists but is not a plain range
    properties: dict[str, str]
    date1904: bool
    load_sheet: Callable[[str], dict[tuple[int, int], RawCell]]
    _cache: dict[str, dict[tuple[int, int], RawCell]] = field(default_factory=dict)
    duplicate_sheets: list[str] = field(default_factory=list)
    saved_at: str = ""  # when the file was last saved, ISO 8601, as recorded inside it
    has_macros: bool = False
    has_external_links: bool = False
    on_close: Callable[[], None] | None = None

    def close(self) -> None:
        """Release the file; sheets not read yet cannot be read afterwards."""
        if self.on_close is not None:
            self.on_close()
            self.on_close = None

    def cells(self, sheet: str) -> dict[tuple[int, int], RawCell]:
        if sheet not in self._cache:
            self._cache[sheet] = self.load_sheet(sheet)
        return self._cache[sheet]
