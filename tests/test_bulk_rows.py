"""The register's fast row writer produces xlsxwriter's own XML, and the splice keeps the
workbook whole: values, dimension and filter read back right in openpyxl and calamine."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import zipfile
from decimal import Decimal
from hashlib import sha256
from typing import Any

import openpyxl
import pytest
import python_calamine
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from xlsxflow.excel.bulk_rows import BlockCache, RowWriter, excel_date
from xlsxflow.excel.inert import INERT, MAX_CELL_UNITS, looks_rich
from xlsxflow.excel.register_book import render_register
from xlsxflow.register.sheets import Sheet

COLUMNS = 5
WIDE = {2}
CREATED = dt.datetime(2012, 1, 1)

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30).filter(
    lambda s: not looks_rich(s)
)
tricky = st.sampled_from(
    [" 前后有空格 ", "a&b<c>d\"e'", "_x0041_", "行一\n行二", "\t", "\x07响铃", "\ufffe", "𠀀汉字"]
)
values = st.one_of(
    st.none(),
    st.just(""),
    texts,
    tricky,
    st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31)),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.decimals(-(10**9), 10**9, places=2, allow_nan=False, allow_infinity=False),
)
rows_strategy = st.lists(st.lists(values, min_size=COLUMNS, max_size=COLUMNS), max_size=12)


def xlsxwriter_rows(rows: list[list[Any]]) -> str:
    """The data rows as xlsxwriter itself writes them in constant-memory mode."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, **INERT})
    formats = [book.add_format({"font_name": "宋体", "num_format": n}) for n in "0123"]
    text, wrap, date, number = formats
    for fmt in formats:
        fmt._get_xf_index()
    ws = book.add_worksheet()
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                ws.write_string(r, c, value, wrap if c in WIDE else text)
            elif isinstance(value, dt.date):
                ws.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date)
            elif isinstance(value, bool):
                ws.write_string(r, c, "是" if value else "否", text)
            else:
                ws.write_number(r, c, float(value), number)
    book.close()
    with zipfile.ZipFile(buffer) as zf:
        xml = zf.read("xl/worksheets/sheet1.xml").decode()
    match = re.search(r"<sheetData>(.*)</sheetData>", xml, re.DOTALL)
    return match.group(1) if match else ""


@settings(max_examples=200, deadline=None)
@given(rows_strategy)
def test_rows_are_byte_for_byte_what_xlsxwriter_writes(rows: list[list[Any]]) -> None:
    writer = RowWriter(COLUMNS, text=1, wrap=2, date=3, number=4, wide=WIDE)
    ours = "".join(writer.row(r, row) for r, row in enumerate(rows, start=1))
    assert ours == xlsxwriter_rows(rows)


def test_excel_serial_dates() -> None:
    assert excel_date(dt.date(1900, 2, 28)) == "59"
    assert excel_date(dt.date(1900, 3, 1)) == "61"  # after Excel's phantom 1900-02-29
    assert excel_date(dt.date(2012, 3, 31)) == "40999"


def test_overlong_text_is_cut_at_excels_limit_without_splitting_a_character() -> None:
    writer = RowWriter(1, text=1, wrap=1, date=1, number=1, wide=set())
    xml = writer.row(1, ["𠀀" * 20_000])  # two UTF-16 units each
    (body,) = re.findall(r"<t>(.*)</t>", xml, re.DOTALL)
    assert len(body) == MAX_CELL_UNITS // 2


def test_rich_looking_text_is_escaped() -> None:
    writer = RowWriter(1, text=1, wrap=1, date=1, number=1, wide=set())
    xml = writer.row(1, ["<r><f>1+1</f></r>"])
    assert "<f>" not in xml and "&lt;r&gt;&lt;f&gt;1+1" in xml


def test_spliced_register_reads_back_whole(tmp_path) -> None:  # type: ignore[no-untyped-def]
    many = [
        [f"任务{i}", dt.date(2012, 1, 1) + dt.timedelta(i), i, Decimal("1.5"), i % 2 == 0]
        for i in range(3000)
    ]
    sheets = [
        Sheet("甲", ["名称", "日期", "序号", "金额", "完成"], many, wide=("名称",)),
        Sheet("空", ["名称"], []),
        Sheet("乙", ["名称", "备注"], [["一", ""], ["", ""], ["三", "有"]]),
    ]
    path = tmp_path / "r.xlsx"
    path.write_bytes(render_register(sheets, CREATED, "总台账"))
    book = openpyxl.load_workbook(path)
    first = book["甲"]
    assert first.max_row == 3001 and first.dimensions == "A1:E3001"
    assert first.auto_filter.ref == "A1:E3001"
    assert [c.value for c in first[3001]] == ["任务2999", dt.datetime(2020, 3, 18), 2999, 1.5, "否"]
    assert first["B2"].number_format == "yyyy-mm-dd"
    assert book["空"].max_row == 1 and book["空"]["A1"].value == "名称"
    second = book["乙"]
    assert [[c.value for c in r] for r in second.iter_rows()] == [
        ["名称", "备注"],
        ["一", None],
        [None, None],
        ["三", "有"],
    ]
    assert second.auto_filter.ref == "A1:B4"
    cal = python_calamine.CalamineWorkbook.from_path(str(path))
    assert cal.get_sheet_by_name("甲").to_python()[1][0] == "任务0"
    assert len(cal.get_sheet_by_name("甲").to_python()) == 3001
    # a second rendering is byte-identical
    assert render_register(sheets, CREATED, "总台账") == path.read_bytes()


@pytest.mark.parametrize(("count", "parts"), [(7, [3, 3, 1]), (6, [3, 3]), (2, [2])])
def test_rows_beyond_a_sheets_capacity_go_on_to_continuation_sheets(
    monkeypatch: pytest.MonkeyPatch, count: int, parts: list[int]
) -> None:
    """Excel holds 1,048,576 rows a sheet (here: 3 data rows); nothing is dropped."""
    from xlsxflow.excel import register_book

    monkeypatch.setattr(register_book, "ROWS_PER_SHEET", 3)
    rows = [[f"任务{i}", i] for i in range(count)]
    sheets = [Sheet("甲", ["名称", "序号"], rows), Sheet("乙", ["备注"], [["末"]])]
    book = openpyxl.load_workbook(io.BytesIO(render_register(sheets, CREATED, "总台账")))
    names = ["甲", *(f"甲（续{k}）" for k in range(1, len(parts))), "乙"]
    assert book.sheetnames == names
    seen = []
    for name, size in zip(names, parts, strict=False):
        values = [[c.value for c in r] for r in book[name].iter_rows()]
        assert values[0] == ["名称", "序号"] and len(values) == size + 1
        assert book[name].auto_filter.ref == f"A1:B{size + 1}"
        seen += values[1:]
    assert seen == rows
    assert [[c.value for c in r] for r in book["乙"].iter_rows()] == [["备注"], ["末"]]


def test_the_previous_parts_are_inflated_whole_and_odd_ones_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Parts inflate on threads in large zlib steps (not through zipfile's reader): the
    XML comes out whole; a member that is missing or not deflated is built instead."""
    xml = b"<sheetData>" + os.urandom(3 << 20).hex().encode() + b"</sheetData>"  # 6 MiB+
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"<x/>", zipfile.ZIP_STORED)
        zf.writestr("xl/worksheets/sheet2.xml", xml, zipfile.ZIP_DEFLATED)
    data = buf.getvalue()

    def entry(member: str) -> dict[str, Any]:
        return {"member": member, "fingerprint": "f", "head": 11, "blocks": {}}

    parts = {
        "deflated": entry("xl/worksheets/sheet2.xml"),
        "stored": entry("xl/worksheets/sheet1.xml"),
        "missing": entry("xl/worksheets/sheet9.xml"),
    }
    index = json.dumps({"sha256": sha256(data).hexdigest(), "parts": parts})
    cache = BlockCache.load(data, index)
    assert cache is not None
    try:
        found = cache.part("deflated", "f")
        assert found is not None
        found.file.seek(0)
        assert found.file.read() == xml
        assert cache.part("deflated", "another fingerprint") is None
        assert cache.part("stored", "f") is None
        assert cache.part("missing", "f") is None
    finally:
        cache.close()

    class FullDisk(io.BytesIO):
        def write(self, data: Any) -> int:
            if self.tell() + len(data) > 1 << 20:
                raise OSError(28, "No space left on device")
            return super().write(data)

    from xlsxflow.excel import bulk_rows

    monkeypatch.setattr(bulk_rows.tempfile, "TemporaryFile", FullDisk)
    cache = BlockCache.load(data, index)
    assert cache is not None
    try:  # a part cut short by a full disk is never handed out as if whole
        assert cache.part("deflated", "f") is None
    finally:
        cache.close()
