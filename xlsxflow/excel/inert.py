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
    """An in-memory workbook that never makes a formula, link or number of a string."""
    return xlsxwriter.Workbook(
        buffer, {"in_memory": True, "constant_memory": constant_memory, **INERT}
    )
