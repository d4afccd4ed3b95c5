"""The one way xlsxflow opens a workbook for writing.

Every workbook we write may carry text typed by someone else (committee returns, the
roster). xlsxwriter would turn strings that look like formulas, URLs or numbers into
active content; these options make it write them as the plain strings they are.

xlsxwriter also copies a string that starts with ``<r>`` and ends with ``</r>`` into the
sheet (or shared-strings) XML unescaped, taking it for a rich string it built itself; a
committee could use that to put a formula into our register. ``InertWorksheet`` writes
such strings as a rich string of plain fragments, so they are escaped like any other.
"""

from __future__ import annotations

import io

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

INERT = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
MAX_CELL_UNITS = 32_767


def looks_rich(text: str) -> bool:
    """True for the strings xlsxwriter would copy into the XML unescaped."""
    return text.startswith("<r>") and text.endswith("</r>")


def fit_cell(text: str) -> str:
    """``text`` cut to Excel's 32,767 UTF-16 units without splitting a character (what
    xlsxwriter would cut it to on writing)."""
    if len(text) <= MAX_CELL_UNITS // 2:
        return text
    length = 0
    for index, char in enumerate(text):
        length += 2 if ord(char) > 0xFFFF else 1
        if length > MAX_CELL_UNITS:
            return text[:index]
    return text


class InertWorksheet(Worksheet):
    def _write_string(  # every write path (write, write_row, write_string) ends here
        self, row: int, col: int, string: str, cell_format: Format | None = None
    ) -> int:
        string = fit_cell(string)  # cut first: a cut could make text look rich
        if looks_rich(string):
            # "<", "r", ">…</r>" as plain fragments (escaped), in the cell's own font
            font = [cell_format] if cell_format else []
            parts = [*font, string[:1], *font, string[1:2], *font, string[2:]]
            return self.write_rich_string(row, col, *parts, *font)
        return super()._write_string(row, col, string, cell_format)


class InertWorkbook(xlsxwriter.Workbook):
    worksheet_class = InertWorksheet


def new_workbook(buffer: io.BytesIO, *, constant_memory: bool = False) -> xlsxwriter.Workbook:
    """A workbook that never makes a formula, link or number of a string.

    With ``constant_memory`` rows are flushed as they are written, to temporary files:
    keeping those parts in memory (xlsxwriter's ``in_memory``) would hold every row of a
    large register until the zip is written."""
    return InertWorkbook(
        buffer, {"in_memory": not constant_memory, "constant_memory": constant_memory, **INERT}
    )
