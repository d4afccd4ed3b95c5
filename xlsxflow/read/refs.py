"""Parse the references a defined name points to (``'申报表'!$B$5``, ``Sheet!$A$1:$A$9``)."""

from __future__ import annotations

import functools
import re

from xlsxflow.read.book import NameRef

_REF = re.compile(
    r"^\s*(?:'(?P<quoted>(?:[^']|'')+)'|(?P<plain>[^'!]+))!"
    r"\$?(?P<c1>[A-Za-z]{1,3})\$?(?P<r1>\d{1,7})"
    r"(?::\$?(?P<c2>[A-Za-z]{1,3})\$?(?P<r2>\d{1,7}))?\s*$"
)
_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def parse_cell(ref: str) -> tuple[int, int] | None:
    """``B5`` → (4, 1); ``None`` for anything else."""
    m = _CELL.match(ref)
    if not m:
        return None
    return int(m.group(2)) - 1, col_index(m.group(1))


@functools.lru_cache(maxsize=4096)
def parse_name_ref(formula: str) -> NameRef | None:
    """A name's formula as one rectangle on one sheet; ``None`` if it is anything else.
    (Kept for the next file: every return of a form carries the same 30–60 names.)"""
    m = _REF.match(formula.lstrip("="))
    if not m:
        return None
    sheet = m.group("quoted").replace("''", "'") if m.group("quoted") else m.group("plain")
    r1, c1 = int(m.group("r1")) - 1, col_index(m.group("c1"))
    if m.group("c2"):
        r2, c2 = int(m.group("r2")) - 1, col_index(m.group("c2"))
    else:
        r2, c2 = r1, c1
    return NameRef(sheet.strip(), min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2))
