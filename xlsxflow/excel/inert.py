"""The one way xlsxflow opens a workbook for writing.

Every workbook we write may carry text typed by someone else (committee returns, the
roster). xlsxwriter would turn strings that look like formulas, URLs or numbers into
active content; these options make it write them as the plain strings they are.
"""

from __future__ import annotations

import io

import xlsxwriter

INERT = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def new_workbook(buffer: io.BytesIO, *, constant_memory: bool = False) -> xlsxwriter.Workbook:
    """A workbook that never makes a formula, link or number of a string.

    With ``constant_memory`` rows are flushed as they are written, to temporary files:
    keeping those parts in memory (xlsxwriter's ``in_memory``) would hold every row of a
    large register until the zip is written."""
    return xlsxwriter.Workbook(
        buffer, {"in_memory": not constant_memory, "constant_memory": constant_memory, **INERT}
    )
