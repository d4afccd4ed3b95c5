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
    # told apart as calamine tells them (a review found ours did otherwise)
    "[Magenta]yyyy-mm-dd",
    "[MAGENTA]yyyy\\-mm\\-dd",  # (LibreOffice writes colours so)
    "aaaa d",
    "aaa yyyy",
    '"_"yyyy',
    '"\\"yyyy',
    "0*d",
    "#,##0*y",
    "[mm]:ss",
    '[DBNum1]yyyy"年"m"月"d"日"',
    '上午/下午h"时"mm"分"',
    "# ?/?",
    "0.00E+00",
    "[<=9999999]###-####;(###) ###-####",
]
VALUES = [40848.0, 40848.75, 1.5, 60.0, 59.0, 59.99999999999, 40848.999999999, 2958465.999999999]


def _both(tmp_path: Path, code: str | int, date1904: bool = False) -> tuple[dict, dict]:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"date_1904": date1904})
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
        assert code in ("[h]:mm:ss", "[mm]:ss"), (code, err)
        return
    assert {k: c.value for k, c in fast.items()} == {k: c.value for k, c in ours.items()}


@pytest.mark.parametrize("format_id", range(60))
def test_built_in_formats_are_dates_where_calamine_has_them(tmp_path: Path, format_id: int) -> None:
    """By id, with no code written: 31 is 2012年3月5日 in a Chinese Excel."""
    try:
        fast, ours = _both(tmp_path, format_id)
    except Exception as err:
        assert format_id == 46, (format_id, err)  # (a duration: to our parser)
        return
    assert {k: c.value for k, c in fast.items()} == {k: c.value for k, c in ours.items()}


def test_a_date1904_workbook_reads_alike(tmp_path: Path) -> None:
    fast, ours = _both(tmp_path, "yyyy-mm-dd", date1904=True)
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


def test_date_styles_count_the_cell_formats_as_calamine_does() -> None:
    """Only ``xf`` children count (an unknown element shifts no index), ids are matched
    as written ("014" is no built-in date), and formats declared after the cell formats
    are not theirs."""
    from xml.etree.ElementTree import fromstring

    from xlsxflow.read.xlsx import date_styles

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    styles = fromstring(
        f'<styleSheet xmlns="{main}"><numFmts><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
        '</numFmts><cellXfs><xf numFmtId="0"/><extLst/><xf numFmtId="14"/><xf numFmtId="014"/>'
        '<xf numFmtId="164"/><xf numFmtId="165"/><xf numFmtId="²"/></cellXfs>'
        '<numFmts><numFmt numFmtId="165" formatCode="yyyy"/></numFmts></styleSheet>'
    )
    assert date_styles(styles) == frozenset({1, 3})
