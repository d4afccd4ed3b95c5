"""Column widths: CJK characters count two units, everything else one."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from xlsxflow.excel.widths import DATE_WIDTH, WIDE_FROM, display_width


def by_character(text: str) -> int:
    return sum(2 if ord(ch) >= WIDE_FROM else 1 for ch in text)


@given(st.text())
def test_width_of_any_text_counts_wide_characters_twice(text: str) -> None:
    assert display_width(text) == by_character(text)


def test_width_of_values() -> None:
    assert display_width("县委组织部 2011") == 15
    assert display_width("⺀") == 2 and display_width("⹿") == 1  # either side of WIDE_FROM
    assert display_width(None) == 0
    assert display_width(dt.date(2012, 3, 31)) == DATE_WIDTH
    assert display_width(12.5) == 4
