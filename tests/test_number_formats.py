"""Date formats as calamine tells them, so that our parser reads a date cell as calamine
does: format codes checked against calamine itself on workbooks XlsxWriter wrote."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import given
from hypothesis import strategies as st

from xlsxflow.read.limits import DEFAULT_LIMITS
from xlsxflow.read.number_formats import as_datetime, is_date_format
from xlsxflow.read.safezip import SafeZip
from xlsxflow.read.xlsx import _XlsxReader

CODES = [
    "yyyy-mm-dd",
    'yyyy"年"m"月"d"日"',
    "yyyy/m/d h:mm",
    "[$-409]d-mmm-yy",
    "h:mm AM/PM",
    "mm:ss",
    "[Red]yyyy-mm-dd",
    "yyyy-mm-dd;@",
    "#,##0.00",
    "0.##",
    "0%",
    "@",
    "General",
    '"date"0',
    "\\d0",
    "0;[Red]-0",
    "[h]:mm:ss",
    "0.00_);(0.00)",
    "[$¥-804]#,##0.00",
]
VALUES = [40848.0, 40848.75, 1.5, 60.0, 59.0, 40848.999999999, 3_000_000.0]


def _both(tmp_path: Path, code: str) -> tuple[dict, dict]:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet("s")
    style = book.add_format({"num_format": code})
    for row, value in enumerate(VALUES):
        sheet.write_number(row, 0, value, style)
    book.close()
    path = tmp_path / "f.xlsx"
    path.write_bytes(buffer.getvalue())
    reader = _XlsxReader(DEFAULT_LIMITS, SafeZip(path, DEFAULT_LIMITS))
    try:
        reader.book()
        data = reader.zip.read(reader.paths["s"])
        return reader._sheet_calamine("s"), reader._sheet_xml("s", reader.paths["s"], data)
    finally:
        reader.zip.close()


@pytest.mark.parametrize("code", CODES)
def test_our_parser_reads_a_formatted_number_as_calamine_does(tmp_path: Path, code: str) -> None:
    try:
        fast, ours = _both(tmp_path, code)
    except Exception as err:  # (a duration: calamine's timedelta sends it to our parser)
        assert code == "[h]:mm:ss", (code, err)
        return
    assert {k: c.value for k, c in fast.items()} == {k: c.value for k, c in ours.items()}


@given(st.text(alphabet='ymdhs0#.,;"\\[]_ -/:@aApP', max_size=12))
def test_quoted_or_escaped_letters_never_make_a_date(code: str) -> None:
    quoted = '"' + code.replace('"', "") + '"0'
    assert not is_date_format(quoted)
    assert not is_date_format("".join("\\" + ch for ch in code if ch != "\\") + "0")
    assert is_date_format("yyyy-mm-dd;" + code)  # (only the first section counts)


@given(st.floats(min_value=61, max_value=2_958_465, allow_nan=False))
def test_a_date_styled_number_is_the_moment_it_counts_from_1899(serial: float) -> None:
    moment = as_datetime(serial, False)
    assert isinstance(moment, dt.datetime)
    assert abs((moment - dt.datetime(1899, 12, 30)).total_seconds() / 86400 - serial) < 1e-6
