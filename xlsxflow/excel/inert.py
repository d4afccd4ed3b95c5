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


def looks_rich(text: str) -> bool:
    """True for the strings xlsxwriter would copy into the XML unescaped."""
    return text.startswith("<r>") and text.endswith("</r>")


class InertWorksheet(Worksheet):
    def _write_string(  # every write path (write, write_row, write_string) ends here
        self, row: int, col: int, string: str, cell_format: Format | None = None
    ) -> int:
        if looks_rich(string):
            parts = [string[:1], string[1:2], string[2:]]  # "<", "r", ">…</r>": escaped
            return self.write_rich_string(row, col, *parts, *([cell_format] if cell_format else []))
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
