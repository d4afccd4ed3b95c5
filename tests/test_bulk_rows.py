"""The register's fast row writer produces xlsxwriter's own XML, and the splice keeps the
workbook whole: values, dimension and filter read back right in openpyxl and calamine."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
import zlib
from decimal import Decimal
from hashlib import sha256
from typing import Any

import openpyxl
import pytest
import python_calamine
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from xlsxflow.excel import bulk_rows
from xlsxflow.excel.bulk_rows import (
    BlockCache,
    PartCache,
    RowWriter,
    excel_date,
    held_chunks,
    row_chunks,
)
from xlsxflow.excel.inert import INERT, MAX_CELL_UNITS, looks_rich
from xlsxflow.excel.register_book import SAMPLE_ROWS, render_register, render_register_indexed
from xlsxflow.excel.widths import header_widths, widen
from xlsxflow.register.sheets import Block, Sheet

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
    st.floats(-1e300, 1e300, allow_nan=False),
)
rows_strategy = st.lists(st.lists(values, min_size=COLUMNS, max_size=COLUMNS), max_size=12)


def xlsxwriter_rows(rows: list[list[Any]], blank: bool = False) -> str:
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
                if blank:  # (a summary's tables: empty cells keep their borders)
                    ws.write_blank(r, c, None, text)
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
@given(rows_strategy, st.booleans())
def test_rows_are_byte_for_byte_what_xlsxwriter_writes(rows: list[list[Any]], blank: bool) -> None:
    writer = RowWriter(
        COLUMNS, text=1, wrap=2, date=3, number=4, wide=WIDE, blank=1 if blank else None
    )
    ours = "".join(writer.row(r, row) for r, row in enumerate(rows, start=1))
    assert ours == xlsxwriter_rows(rows, blank)


# (HERE becomes the reference of the row the text is in: what a cell's text must not
# hold for its row to be moved)
references = st.sampled_from(["HERE", "HERE x", '" s="', '<c r="A12" s="1">', '7"', "100"])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(values, references), min_size=COLUMNS, max_size=COLUMNS), max_size=8
    ),
    st.integers(1, 200),
    st.integers(1, 2000),
    st.booleans(),
)
def test_rows_moved_are_the_rows_written_there(
    rows: list[list[Any]], start: int, to: int, blank: bool
) -> None:
    """Moving rows renumbers them exactly, or declines (a text that holds its row's
    number and what follows a reference): never anything else."""
    writer = RowWriter(
        COLUMNS, text=1, wrap=2, date=3, number=4, wide=WIDE, blank=1 if blank else None
    )
    rows = [
        [v.replace("HERE", f'{start + 1 + i}" s="') if isinstance(v, str) else v for v in row]
        for i, row in enumerate(rows)
    ]
    written, _ = bulk_rows.serialise(writer, start, rows)
    there, last = bulk_rows.serialise(writer, to, rows)
    found = bulk_rows.moved(written, start, len(rows), to)
    if found is None:
        assert any(
            isinstance(v, str) and f'{start + 1 + i}" s="' in v
            for i, row in enumerate(rows)
            for v in row
        )
    else:
        assert found == (there, last)
    # told another place or length than its rows have (a damaged index): declined
    if written.startswith(b'<row r="%d"' % (start + 1)):
        assert bulk_rows.moved(written, start + 1, len(rows), to) is None
    if b'<row r="%d"' % (start + len(rows)) in written:
        assert bulk_rows.moved(written, start, len(rows) - 1, to) is None


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        -float("inf"),
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("1E+400"),
        10**400,
    ],
)
def test_a_number_no_cell_can_hold_is_written_as_its_text(value: Any) -> None:
    writer = RowWriter(1, text=1, wrap=2, date=3, number=4, wide=set())
    assert writer.row(0, [value]) == (
        f'<row r="1"><c r="A1" s="1" t="inlineStr"><is><t>{str(value)[:32767]}</t></is></c></row>'
    )


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


def block_sheet(
    versions: dict[int, str], blocks: int = 120, rows: int = 3, built: list[int] | None = None
) -> list[Sheet]:
    """A sheet of ``blocks`` projects of ``rows`` rows each (block i's content is
    ``versions.get(i, "")``), between two plain sheets; ``built`` gets the number of each
    block whose rows are asked for."""

    def block(i: int) -> Block:
        version = versions.get(i, "")
        made = [[f"项目{i}{version}", j, dt.date(2012, 1, 1 + j)] for j in range(rows)]

        def make() -> list[list[Any]]:
            if built is not None:
                built.append(i)
            return made

        return Block(f"key-{i}-{version}", make)

    return [
        Sheet("总", ["名称"], [["甲"], ["乙"]]),
        Sheet("任务", ["项目", "序号", "日期"], blocks=[block(i) for i in range(blocks)]),
        Sheet("尾", ["名称"], [["丙"]]),
    ]


def render_with(sheets: list[Sheet], previous: tuple[bytes, dict[str, Any]] | None = None):  # type: ignore[no-untyped-def]
    cache = None
    if previous is not None:
        data, parts = previous
        index = json.dumps({"sha256": sha256(data).hexdigest(), "parts": parts})
        cache = BlockCache.load(data, index)
        assert cache is not None
    return render_register_indexed(sheets, CREATED, "总台账", cache)


def copied_chunks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The first row of each chunk of blocks found unchanged (copied compressed) from
    here on (chunks of plain rows are left out)."""
    copied: list[int] = []
    real = PartCache.get

    def spy(self, start, digest):  # type: ignore[no-untyped-def]
        found = real(self, start, digest)
        if found is not None and found.blocks:
            copied.append(start)
        return found

    monkeypatch.setattr(PartCache, "get", spy)
    return copied


def test_unchanged_chunks_are_copied_compressed_and_give_the_bytes_built_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = render_with(block_sheet({}))
    copied = copied_chunks(monkeypatch)
    built: list[int] = []
    again = render_with(block_sheet({}, built=built), first)
    chunks = again[1]["任务"]["chunks"]
    assert again[0] == first[0] and len(chunks) > 10
    assert copied == [c[0] for c in chunks]  # every chunk copied
    assert built == []  # none built (not even those the column widths came from)
    copied.clear()
    built.clear()
    changed = render_with(block_sheet({110: "（新）"}, built=built), first)
    assert built == [110]  # its neighbours came from the previous chunk
    afresh = render_with(block_sheet({110: "（新）"}))
    assert changed == afresh  # byte for byte, and the same index
    rebuilt = [c for c in changed[1]["任务"]["chunks"] if c[0] not in copied]
    assert 1 <= len(rebuilt) <= 2  # the chunk of block 110 (which may end another)
    assert any(c[0] <= 1 + 110 * 3 < c[0] + c[1] for c in rebuilt)
    book = openpyxl.load_workbook(io.BytesIO(changed[0]))
    rows = [[c.value for c in r] for r in book["任务"].iter_rows()]
    assert rows[1 + 110 * 3][0] == "项目110（新）" and rows[1 + 109 * 3][0] == "项目109"
    assert len(rows) == 1 + 120 * 3
    # a project with more rows, then with fewer: the blocks below it are moved (taken
    # from the previous chunks with their rows renumbered), none built from its values
    for extra in (5, 1):
        copied.clear()
        built.clear()
        grown = block_sheet({}, built=built)
        other = Block(f"key-100-{extra}", lambda extra=extra: [["长", 0, None]] * extra)
        grown[1].blocks = [*list(grown[1].blocks)[:100], other, *list(grown[1].blocks)[101:]]
        shifted = render_with(grown, first)
        assert copied and max(copied) <= 1 + 100 * 3
        assert built == []
        assert shifted == render_with(grown)
        book = openpyxl.load_workbook(io.BytesIO(shifted[0]))
        rows_read = [[c.value for c in r] for r in book["任务"].iter_rows()]
        assert len(rows_read) == 1 + 119 * 3 + extra
        assert rows_read[1 + 100 * 3 + extra][:2] == ["项目101", 0]
        assert rows_read[-1][:2] == ["项目119", 2]


def test_column_widths_come_from_the_same_blocks_as_in_a_fresh_build() -> None:
    """A block sheet's widths come from its first blocks (up to a limit) and are taken
    again from the previous rendering while the sheet starts with those same blocks:
    not when blocks came after a sample that had run out of them, nor when a sampled
    block changed."""

    def widths(rendered: tuple[bytes, dict[str, Any]]) -> list[float | None]:
        sheet = openpyxl.load_workbook(io.BytesIO(rendered[0]))["任务"]
        return [sheet.column_dimensions[c].width for c in "ABC"]

    few = render_with(block_sheet({}, blocks=3))  # (all three sampled: the sample ran out)
    longer = {4: "（名称长得多的一个项目）" * 3}
    more = render_with(block_sheet(longer, blocks=6), few)
    assert more == render_with(block_sheet(longer, blocks=6))
    assert widths(more)[0] > widths(few)[0]
    many = render_with(block_sheet({}, blocks=120))
    changed = {0: "（名称长得多的一个项目）" * 3}
    assert render_with(block_sheet(changed, blocks=120), many) == render_with(
        block_sheet(changed, blocks=120)
    )
    later = {110: "（名称长得多的一个项目）" * 3}  # (not sampled: the widths stay)
    after = render_with(block_sheet(later, blocks=120), many)
    assert after == render_with(block_sheet(later, blocks=120))
    assert widths(after) == widths(many)


def test_the_chunks_of_an_index_are_told_without_the_register() -> None:
    """What a process that has the index but not the register's bytes (a merge's reader)
    can tell of its chunks: those of the register whose hash it is asked for, none of
    another's or of an index not of this shape."""
    data, parts = render_with(block_sheet({}))
    sha = sha256(data).hexdigest()
    index = json.dumps({"sha256": sha, "parts": parts})
    held = held_chunks(index, sha)
    assert set(held) == set(parts)
    for name, part in parts.items():
        assert held[name] == {(c[0], c[3], c[1]) for c in part["chunks"]}
    assert len(held["任务"]) > 10
    assert held_chunks(index, "0" * 64) == {}
    assert held_chunks(json.dumps({"sha256": sha, "parts": {"任务": {}}}), sha) == {}
    assert held_chunks("not JSON", sha) == held_chunks(None, sha) == {}


def test_blocks_of_one_row_go_many_to_a_chunk_and_copy_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """项目总台账 has a block a project, of one row: chunked by ~32 blocks, not ~4."""

    def sheets(versions: dict[int, str], built: list[int] | None = None) -> list[Sheet]:
        made = block_sheet(versions, blocks=2_000, rows=1, built=built)
        made[1].one_row_blocks = True
        return made

    first = render_with(sheets({}))
    sizes = [c[1] for c in first[1]["任务"]["chunks"]]
    assert sum(sizes) == 2_000 and 20 <= len(sizes) <= 200 and max(sizes) <= 256
    copied = copied_chunks(monkeypatch)
    built: list[int] = []
    changed = render_with(sheets({1_500: "（新）"}, built), first)
    assert built == [1_500]
    assert len(copied) == len(changed[1]["任务"]["chunks"]) - 1
    assert changed == render_with(sheets({1_500: "（新）"}))


def plain_rows(count: int, changed: dict[int, str] | None = None) -> list[list[Any]]:
    changed = changed or {}
    return [
        [f"文件{i}{changed.get(i, '')}", i, dt.date(2012, 1, 1) + dt.timedelta(days=i % 300)]
        for i in range(count)
    ]


def plain_sheet(rows: list[list[Any]]) -> list[Sheet]:
    return [Sheet("提交", ["文件", "序号", "日期"], rows), Sheet("尾", ["名称"], [["丙"]])]


def rows_built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The first row of each chunk of plain rows, or of each block, serialised from
    here on."""
    built: list[int] = []
    real = bulk_rows.SheetBody._serialise

    def spy(self, start, rows):  # type: ignore[no-untyped-def]
        built.append(start)
        return real(self, start, rows)

    monkeypatch.setattr(bulk_rows.SheetBody, "_serialise", spy)
    return built


def test_plain_rows_unchanged_in_place_are_copied_and_give_the_bytes_built_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = render_with(plain_sheet(plain_rows(3000)))
    chunks = first[1]["提交"]["chunks"]
    assert len(chunks) > 10 and sum(c[1] for c in chunks) == 3000
    built = rows_built(monkeypatch)
    again = render_with(plain_sheet(plain_rows(3000)), first)
    assert again[0] == first[0] and built == []  # every chunk copied
    # rows added at the end: only the last chunk (which they extend) is built again
    afresh = render_with(plain_sheet(plain_rows(3010)))
    built.clear()
    assert render_with(plain_sheet(plain_rows(3010)), first) == afresh
    assert built[0] == chunks[-1][0] and len(built) <= 2
    # one row changed: its chunk is built again, the rest copied
    changed_rows = plain_rows(3000, {1500: "（改）"})
    afresh = render_with(plain_sheet(changed_rows))
    built.clear()
    changed = render_with(plain_sheet(changed_rows), first)
    assert changed == afresh
    assert 1 <= len(built) <= 2 and built[0] <= 1 + 1500 < built[0] + 512
    book = openpyxl.load_workbook(io.BytesIO(changed[0]))
    values = [[c.value for c in r] for r in book["提交"].iter_rows()]
    assert values[1 + 1500][0] == "文件1500（改）" and values[1 + 1501][0] == "文件1501"
    assert len(values) == 3001 and book["提交"].auto_filter.ref == "A1:C3001"
    # a row removed near the top, then one added: only the chunk that held (or now
    # holds) it is built; those below are moved (renumbered, not serialised again)
    rows = plain_rows(3000)
    for moved in ([*rows[:10], *rows[11:]], [*rows[:10], ["新增", 0, None], *rows[10:]]):
        afresh = render_with(plain_sheet(moved))
        built.clear()
        shifted = render_with(plain_sheet(moved), first)
        assert shifted == afresh
        assert len(built) == 1 and built[0] <= 1 + 10 < built[0] + 512
        book = openpyxl.load_workbook(io.BytesIO(shifted[0]))
        values = [[c.value for c in r] for r in book["提交"].iter_rows()]
        assert [v[:2] for v in values[1:]] == [r[:2] for r in moved]


def moving_sheets(top: int) -> list[Sheet]:
    """A block sheet and a plain sheet whose first rows (``top`` of them) change, and
    which end in rows without a cell."""
    blocks = [Block(f"top-{top}", lambda: [["顶", i, None] for i in range(top)])]
    blocks += [
        Block(f"b{i}", lambda i=i: [[f"项目{i}", j, None] for j in range(3)]) for i in range(60)
    ]
    blocks.append(Block("empty", lambda: [[None, None, None]] * 2))
    plain = [["新", i, None] for i in range(top)] + [[f"行{i}", i, None] for i in range(900)]
    return [
        Sheet("任务", ["项目", "序号", "日期"], blocks=blocks),
        Sheet("提交", ["文件", "序号", "日期"], [*plain, [None, None, None]]),
    ]


def test_rows_moved_down_or_up_give_the_bytes_built_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = render_with(moving_sheets(2))
    built = rows_built(monkeypatch)
    for top in (5, 1):
        built.clear()
        moved = render_with(moving_sheets(top), first)
        serialised = list(built)
        assert moved == render_with(moving_sheets(top))  # (ending where a fresh build ends)
        # built: the changed block, and the plain chunk holding the changed rows
        assert len(serialised) == 2 and serialised[0] == 1
        book = openpyxl.load_workbook(io.BytesIO(moved[0]))
        assert book["任务"]["A2"].value == "顶" and book["任务"].max_row == 1 + top + 60 * 3
        assert book["提交"].cell(2 + top + 899, 1).value == "行899"


def test_an_index_that_misplaces_rows_is_not_trusted_to_move_them() -> None:
    """A damaged index (it is kept where the clerk can reach it) that puts a block or a
    chunk where its rows are not: those rows are built, not moved by its word."""
    data, parts = render_with(moving_sheets(2))
    damages = ("chunk start", "block row", "block row as text", "offset", "cut", "short")
    for damage in damages:
        broken = json.loads(json.dumps(parts))
        task_chunk = broken["任务"]["chunks"][3]
        block = task_chunk[8][0]  # (key, first row, rows, last row, offset, length)
        if damage == "chunk start":
            broken["提交"]["chunks"][-1][0] += 1
        elif damage == "block row":
            block[1] += 1
        elif damage == "block row as text":
            block[1] = str(block[1])
        elif damage == "offset":
            task_chunk[6] += 1  # (of the chunk in the compressed part)
        elif damage == "cut":
            block[5] -= 1  # (the block's XML one byte short)
        else:
            task_chunk[8][0] = block[:5]
        again = render_with(moving_sheets(5), (data, broken))
        assert again == render_with(moving_sheets(5)), damage


def test_plain_chunks_made_by_another_process_are_moved_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = ["文件", "序号", "日期"]

    def sheets(rows: list[list[Any]]) -> list[Sheet]:
        return [Sheet("提交", headers, rows, plain=True), Sheet("尾", ["名称"], [["丙"]])]

    rows = plain_rows(3000)
    data, parts = render_with(sheets(rows))
    fewer = [*rows[:10], *rows[11:]]
    widths = header_widths(headers)
    widen(widths, fewer[:SAMPLE_ROWS])
    made = {"提交": (widths, [(d, len(chunk), chunk) for chunk, d in row_chunks(fewer)])}
    cache = BlockCache.load(data, json.dumps({"sha256": sha256(data).hexdigest(), "parts": parts}))
    built = rows_built(monkeypatch)
    again = render_register_indexed(sheets(fewer), CREATED, "总台账", cache, None, lambda: made)
    assert len(built) == 1 and built[0] <= 11  # the chunk that lost a row; the rest moved
    assert again == render_with(sheets(fewer))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(values, max_size=4), max_size=300), st.integers(0, 6))
def test_row_chunks_cover_the_rows_in_order_and_cut_by_content(
    rows: list[list[Any]], at: int
) -> None:
    chunks = list(row_chunks(rows))
    assert [r for chunk, _ in chunks for r in chunk] == rows
    for chunk, digest in chunks[:-1]:  # each ends where its last row says, or when full
        ends = zlib.crc32(repr(chunk[-1]).encode()) % bulk_rows.ROW_CHUNK == 0
        assert ends or len(chunk) == bulk_rows.MAX_CHUNK_ROWS
        assert list(row_chunks(chunk)) == [(chunk, digest)]
    # rows put in front change no chunk after the first cut (the rows are fewer than
    # MAX_CHUNK_ROWS here: every cut is where a row's content says)
    again = list(row_chunks([["新增"]] * at + rows))
    assert again[len(again) - len(chunks) + 1 :] == chunks[1:] or len(chunks) < 2


@pytest.mark.parametrize("blocks", [7, 8, 30])
def test_blocks_beyond_a_sheets_capacity_go_on_whole_and_copy_alike(
    monkeypatch: pytest.MonkeyPatch, blocks: int
) -> None:
    """Excel's limit here: 10 data rows; a project's 3 rows are never split."""
    from xlsxflow.excel import register_book

    monkeypatch.setattr(register_book, "ROWS_PER_SHEET", 10)
    first = render_with(block_sheet({}, blocks=blocks))
    book = openpyxl.load_workbook(io.BytesIO(first[0]))
    parts = [n for n in book.sheetnames if n.startswith("任务")]
    assert len(parts) == -(-blocks // 3)
    seen = []
    for name in parts:
        values = [[c.value for c in r] for r in book[name].iter_rows()][1:]
        assert len(values) % 3 == 0 and len(values) <= 9
        seen += [v[0] for v in values]
    assert seen == [f"项目{i}" for i in range(blocks) for _ in range(3)]
    changed = render_with(block_sheet({1: "新"}, blocks=blocks), first)
    assert changed == render_with(block_sheet({1: "新"}, blocks=blocks))


def test_an_index_or_part_of_another_shape_is_not_used() -> None:
    data, parts = render_with(block_sheet({}))
    part = parts["任务"]
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():  # the same workbook with every member stored
            dst.writestr(info.filename, src.read(info), zipfile.ZIP_STORED)
    stored = buf.getvalue()

    def cache_of(workbook: bytes, entry: dict[str, Any]) -> BlockCache:
        index = {"sha256": sha256(workbook).hexdigest(), "parts": {"任务": entry}}
        cache = BlockCache.load(workbook, json.dumps(index))
        assert cache is not None
        return cache

    assert cache_of(data, part).part("任务", part["fingerprint"]) is not None
    assert cache_of(data, part).part("任务", "another fingerprint") is None
    assert cache_of(stored, part).part("任务", part["fingerprint"]) is None
    assert (
        cache_of(data, {**part, "member": "xl/worksheets/sheet9.xml"}).part(
            "任务", part["fingerprint"]
        )
        is None
    )
    assert cache_of(data, {**part, "chunks": [["odd"]]}).part("任务", part["fingerprint"]) is None
    assert (
        cache_of(data, {k: v for k, v in part.items() if k != "head_z"}).part(
            "任务", part["fingerprint"]
        )
        is None
    )
    assert BlockCache.load(data, json.dumps({"sha256": "0" * 64, "parts": parts})) is None
