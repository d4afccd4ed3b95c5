"""Hostile and damaged files: each gets its clear code, none crashes, hangs or blows up
memory, and the file itself is never modified.

Hostile files are made by rewriting the zip of a generated, correctly filled return.
"""

from __future__ import annotations

import os
import re
import struct
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from builders import (
    at,
    codes,
    encrypted_ooxml,
    filled_application,
    issues,
    patch_declared_size,
    rewrite_zip,
    set_cell,
    sha256,
    sheet_part,
    with_peak,
)

from xlsxflow.intake import read_return
from xlsxflow.problems import FileResult
from xlsxflow.read.book import RawCell
from xlsxflow.read.limits import DEFAULT_LIMITS, Limits
from xlsxflow.read.open import classify, open_book
from xlsxflow.validate import validate_paths
from xlsxflow.validation import ValidationContext
from xlsxflow.workspace import Workspace

KIND = "application_innovation"
MAIN = "申报表"
SECONDS = 5.0  # generous: each of these files is read in milliseconds


@pytest.fixture
def clean(workspace: Workspace, tmp_path: Path) -> Path:
    """A valid, filled return outside the workspace (read with the default cycle)."""
    folder = tmp_path / "returns"
    return filled_application(workspace, folder=folder, name="clean.xlsx")


def hostile(clean: Path, name: str, **changes: object) -> Path:
    return rewrite_zip(clean, clean.with_name(name), **changes)  # type: ignore[arg-type]


def read_untouched(path: Path, limits: Limits = DEFAULT_LIMITS) -> FileResult:
    """Read as the run does; the file's bytes must be the same afterwards, and quickly."""
    before, listing = sha256(path), sorted(path.parent.iterdir())
    start = time.perf_counter()
    result = read_return(path, ValidationContext(), limits)
    assert time.perf_counter() - start < SECONDS
    assert sha256(path) == before
    assert sorted(path.parent.iterdir()) == listing  # nothing written next to it
    assert result.path == str(path)
    return result


def only(result: FileResult, code: str) -> None:
    """The file failed with exactly this one file-level code."""
    assert codes(result) == [code]
    assert not result.valid and not result.skipped
    problem = result.problems[0]
    assert problem.severity == "error" and problem.message


def entity_laughs(data: bytes) -> bytes:
    """Billion laughs: nested entities declared in the part's DTD and used once."""
    dtd = (
        b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
        b'<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>'
    )
    return _with_dtd(data, dtd, b"&lol4;")


def external_entity(data: bytes) -> bytes:
    dtd = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return _with_dtd(data, dtd, b"&xxe;")


def _with_dtd(data: bytes, dtd: bytes, use: bytes) -> bytes:
    """``data`` with ``dtd`` after its XML declaration and ``use`` in its first text."""
    body = re.sub(rb"^<\?xml[^>]*\?>\s*", b"", data)
    for pattern in (
        rb"<t>",
        rb'<t xml:space="preserve">',
        rb"<vt:lpwstr>",
        rb"<v>",
        rb'name="approach">',
    ):
        if re.search(pattern, body):
            body = re.sub(pattern, lambda m: m.group(0) + use, body, count=1)
            break
    return b'<?xml version="1.0" encoding="UTF-8"?>' + dtd + body


# -- zip bombs -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zeros() -> bytes:
    return bytes(110 * 1024 * 1024)  # 110 MB of zeros deflate to ~110 KB


@pytest.mark.parametrize(
    "member", ["xl/workbook.xml", "xl/sharedStrings.xml", "xl/worksheets/sheet1.xml"]
)
def test_zip_bomb_declared_over_the_member_limit(clean: Path, zeros: bytes, member: str) -> None:
    path = hostile(clean, "bomb.xlsx", edit={member: zeros})
    assert path.stat().st_size < 1024 * 1024
    result, peak = with_peak(lambda: read_untouched(path))
    only(result, "file.zip_bomb")
    assert peak < 20 * 1024 * 1024  # nothing near the 110 MB was inflated


def test_zip_bomb_by_compression_ratio(clean: Path) -> None:
    # 8 MB is below the member limit, but a 1000:1 ratio is no spreadsheet.
    path = hostile(clean, "ratio.xlsx", edit={"xl/sharedStrings.xml": bytes(8 * 1024 * 1024)})
    only(read_untouched(path), "file.zip_bomb")


def test_zip_bomb_in_shared_strings_never_reaches_calamine(clean: Path) -> None:
    """Found by these tests: the fast path let calamine inflate sharedStrings.xml itself,
    outside the limits (a bomb there gave file.corrupt after inflating it all)."""
    path = hostile(clean, "sst.xlsx", edit={"xl/sharedStrings.xml": bytes(70 * 1024 * 1024)})
    only(read_untouched(path), "file.zip_bomb")


def test_inflating_more_than_the_total_limit(clean: Path) -> None:
    limits = Limits(max_total_bytes=20_000)  # the parts of a return together exceed this
    only(read_untouched(clean, limits), "file.zip_bomb")
    assert read_untouched(clean).valid


def test_a_sheet_too_large_to_read_cell_by_cell_is_refused(clean: Path) -> None:
    """A formula sends a sheet to the element-tree reader, which costs ~27 times its
    XML: 62 MB of filler cells (a 13 MB file, within the member limit) took 1.7 GB."""
    budget = at("", KIND, "budget_special")[2]
    filler = "".join(f'<row r="{r}"><c r="Z{r}"><v>1</v></c></row>' for r in range(2000, 450000))

    def fill(data: bytes) -> bytes:
        data = set_cell(budget, "><f>1+1</f><v>2</v></c>")(data)
        return data.replace(b"</sheetData>", filler.encode() + b"</sheetData>")

    path = hostile(clean, "filler.xlsx", edit={sheet_part(clean, MAIN): fill})
    result, peak = with_peak(lambda: read_untouched(path))
    only(result, "file.too_large")
    assert peak < 100 * 2**20, f"{peak / 2**20:.0f} MiB"


def test_small_member_limit(clean: Path) -> None:
    limits = Limits(max_member_bytes=4_000, max_total_bytes=10**9)
    only(read_untouched(clean, limits), "file.zip_bomb")


def test_declared_size_that_lies_is_never_trusted(clean: Path) -> None:
    """A member declaring 2 KB but inflating to 50 MB: inflation stops at the declared size
    and the damaged member is reported; nothing large is ever held in memory."""
    part = sheet_part(clean, MAIN)
    padding = b"<!-- " + b"x" * (50 * 1024 * 1024) + b" -->"
    path = hostile(
        clean,
        "lying.xlsx",
        edit={part: lambda d: d.replace(b"</worksheet>", padding + b"</worksheet>")},
    )
    patch_declared_size(path, part, 2048)
    result, peak = with_peak(lambda: read_untouched(path))
    only(result, "file.corrupt")
    assert peak < 20 * 1024 * 1024


def test_too_many_members(clean: Path) -> None:
    extra = [(f"xl/media/image{i}.png", b"x") for i in range(DEFAULT_LIMITS.max_members)]
    only(read_untouched(hostile(clean, "many.xlsx", add=extra)), "file.too_large")


def test_file_over_the_size_limit(clean: Path) -> None:
    only(read_untouched(clean, Limits(max_file_bytes=1000)), "file.too_large")


def test_a_file_that_grew_after_its_size_was_checked_is_read_no_further(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The zip is read whole, once: never more of it than the limit, whatever the size
    the file had when it was checked (one still being copied into the inbox grows)."""
    from xlsxflow.read.errors import ReadError
    from xlsxflow.read.safezip import SafeZip

    size = clean.stat().st_size
    with pytest.raises(ReadError) as raised:
        SafeZip(clean, Limits(max_file_bytes=size - 1))
    assert raised.value.code == "file.too_large"
    assert SafeZip(clean, Limits(max_file_bytes=size)).data == clean.read_bytes()
    # Opened while 100 bytes shorter: more than that came, and it is not read on.
    real = os.fstat
    monkeypatch.setattr(
        "xlsxflow.read.safezip.os.fstat",
        lambda fd: os.stat_result((*real(fd)[:6], real(fd).st_size - 100, *real(fd)[7:])),
    )
    with pytest.raises(ReadError) as raised:
        SafeZip(clean, DEFAULT_LIMITS)
    assert raised.value.code == "file.unreadable"


# -- XML attacks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "member",
    [
        "xl/workbook.xml",
        "xl/sharedStrings.xml",
        "xl/worksheets/sheet1.xml",
        "docProps/custom.xml",
        "xl/_rels/workbook.xml.rels",
    ],
)
@pytest.mark.parametrize("attack", [entity_laughs, external_entity], ids=["laughs", "xxe"])
def test_xml_entity_attacks(clean: Path, member: str, attack: object) -> None:
    """Found by these tests: in sharedStrings.xml both attacks reached calamine on the
    fast path and came back as file.corrupt ("unrecognized entity")."""
    path = hostile(clean, "xml.xlsx", edit={member: attack})
    with zipfile.ZipFile(path) as z:
        assert b"<!ENTITY" in z.read(member)
    only(read_untouched(path), "file.xml_attack")


# -- encryption, macros, external links -----------------------------------------------------


def test_encrypted_ooxml(tmp_path: Path) -> None:
    path = encrypted_ooxml(tmp_path / "加密.xlsx")
    assert classify(path) == "encrypted"
    result = read_untouched(path)
    only(result, "file.encrypted")
    assert "密码" in result.problems[0].message


def test_encrypted_ooxml_with_any_name(tmp_path: Path) -> None:
    only(read_untouched(encrypted_ooxml(tmp_path / "return.xls")), "file.encrypted")


def test_zip_members_with_the_encryption_flag(clean: Path, tmp_path: Path) -> None:
    path = tmp_path / "zipcrypto.xlsx"
    path.write_bytes(clean.read_bytes())
    _flag_encrypted(path)
    only(read_untouched(path), "file.encrypted")


def test_macros_are_noted_and_the_values_still_read(clean: Path) -> None:
    path = hostile(
        clean, "macro.xlsm", add=[("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + bytes(2000))]
    )
    result = read_untouched(path)
    assert issues(result) == [("file.macros", "", "")]
    assert result.problems[0].severity == "warning"
    assert result.valid
    assert result.values["project_name"] == "村级活动场所标准化建设"


def test_external_links_are_noted_never_followed(clean: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read", encoding="utf-8")
    link_rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/externalLinkPath" '
        f'Target="file:///{secret.as_posix()}" TargetMode="External"/></Relationships>'
    ).encode()

    def link_workbook(rels: bytes) -> bytes:
        extra = (
            b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument'
            b'/2006/relationships/externalLink" Target="externalLinks/externalLink1.xml"/>'
            b'<Relationship Id="rId98" Type="http://schemas.openxmlformats.org/officeDocument'
            b'/2006/relationships/hyperlink" Target="http://example.invalid/" '
            b'TargetMode="External"/>'
        )
        return rels.replace(b"</Relationships>", extra + b"</Relationships>")

    path = hostile(
        clean,
        "links.xlsx",
        edit={"xl/_rels/workbook.xml.rels": link_workbook},
        add=[
            ("xl/externalLinks/externalLink1.xml", b"<externalLink/>"),
            ("xl/externalLinks/_rels/externalLink1.xml.rels", link_rels),
        ],
    )
    atime = secret.stat().st_atime_ns
    result = read_untouched(path)
    assert issues(result) == [("file.external_links", "", "")]
    assert result.valid
    assert secret.stat().st_atime_ns == atime


# -- damaged or not a spreadsheet -----------------------------------------------------------


def test_truncated_xlsx(clean: Path) -> None:
    data = clean.read_bytes()
    path = clean.with_name("truncated.xlsx")
    path.write_bytes(data[: len(data) // 2])
    only(read_untouched(path), "file.corrupt")


def test_a_broken_deflate_stream_is_a_damaged_file(clean: Path) -> None:
    """A sheet whose compressed bytes were damaged (a bad copy, a mail gateway) is
    ``file.corrupt``, a problem the committee can act on: zlib's own error once went
    through as a crash of the reader."""
    data = bytearray(clean.read_bytes())
    with zipfile.ZipFile(clean) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    assert info.compress_type == zipfile.ZIP_DEFLATED
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length
    data[start] |= 0b110  # (the first block's type: 11, which no deflate stream has)
    path = clean.with_name("damaged.xlsx")
    path.write_bytes(bytes(data))
    only(read_untouched(path), "file.corrupt")


def test_random_bytes_named_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "报表.xlsx"
    path.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(5000)))
    only(read_untouched(path), "file.not_spreadsheet")


def test_a_zip_that_is_no_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "材料.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    only(read_untouched(path), "file.not_spreadsheet")


def test_a_zip_larger_than_any_return_is_skipped_unopened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(A 90 MB zip of a million members, listed to tell what it holds, took 586 MB.)"""
    path = tmp_path / "照片.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("a.jpg", os.urandom(DEFAULT_LIMITS.max_file_bytes + 1))

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("opened")

    monkeypatch.setattr(zipfile, "ZipFile", never)
    result = read_untouched(path)
    assert result.skipped and not result.problems


def _flag_encrypted(path: Path) -> None:
    """Set the encryption flag of every member, in its local header and the directory."""
    data = bytearray(path.read_bytes())
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = data.find(sig)
        while pos != -1:
            data[pos + flag_at] |= 0x1
            pos = data.find(sig, pos + 4)
    path.write_bytes(bytes(data))


def test_a_zip_that_is_no_spreadsheet_is_told_so_whatever_it_holds(tmp_path: Path) -> None:
    """What it is comes first: its members are judged only if it is a spreadsheet."""
    locked = tmp_path / "加密材料.xlsx"
    with zipfile.ZipFile(locked, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    _flag_encrypted(locked)
    only(read_untouched(locked), "file.not_spreadsheet")
    crowded = tmp_path / "很多文件.xlsx"
    with zipfile.ZipFile(crowded, "w") as z:
        for i in range(DEFAULT_LIMITS.max_members + 1):
            z.writestr(f"word/media/{i}.xml", "<w/>")
    only(read_untouched(crowded), "file.not_spreadsheet")


def test_the_member_that_tells_the_kind_is_read_with_care(tmp_path: Path) -> None:
    """``mimetype`` is read before the members are judged: encrypted, it is refused as
    such; there twice, the file is not taken for a spreadsheet. Nothing crashes."""
    import warnings

    ods = b"application/vnd.oasis.opendocument.spreadsheet"
    locked = tmp_path / "加密表格.xlsx"
    with zipfile.ZipFile(locked, "w") as z:
        z.writestr("mimetype", ods)
        z.writestr("content.xml", "<x/>")
    _flag_encrypted(locked)
    only(read_untouched(locked), "file.encrypted")
    twice = tmp_path / "两个类型.xlsx"
    with warnings.catch_warnings(), zipfile.ZipFile(twice, "w") as z:
        warnings.simplefilter("ignore")  # (zipfile warns of the duplicate name)
        z.writestr("mimetype", ods)
        z.writestr("mimetype", ods)
    only(read_untouched(twice), "file.not_spreadsheet")


_ODS_CONTENT = (
    '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
    ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
    '<office:spreadsheet><table:table table:name="申报表">{rows}</table:table>'
    "</office:spreadsheet></office:body></office:document-content>"
)
_VALUE = '<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>'
_EMPTY_ROWS = '<table:table-row table:number-rows-repeated="{n}"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>'


@pytest.mark.parametrize(
    ("rows", "area"),
    [
        # as LibreOffice writes a sheet: its values, then empty rows to the sheet's end
        (f"<table:table-row>{_VALUE * 3}</table:table-row>" + _EMPTY_ROWS.format(n=1048575), 3),
        (  # a few bytes for 20 million values
            '<table:table-row table:number-rows-repeated="20000">'
            + _VALUE.replace(
                "<table:table-cell ", '<table:table-cell table:number-columns-repeated="1000" '
            )
            + "</table:table-row>",
            20_000_000,
        ),
        (  # a count calamine reads as all the rows a sheet holds
            '<table:table-row table:number-rows-repeated="9999999999">'
            + _VALUE.replace(
                "<table:table-cell ", '<table:table-cell table:number-columns-repeated="1000" '
            )
            + "</table:table-row>",
            9_999_999_999 * 1000,
        ),
        (  # counts written with a "+", which Rust's number parsing takes
            '<table:table-row table:number-rows-repeated="+990000">'
            + _VALUE.replace(
                "<table:table-cell ", '<table:table-cell table:number-columns-repeated="+100" '
            )
            + "</table:table-row>",
            99_000_000,
        ),
        (  # a value after a million empty rows, far to the right
            _EMPTY_ROWS.format(n=1040000)
            + '<table:table-row><table:table-cell table:number-columns-repeated="16000"/>'
            + _VALUE
            + "</table:table-row>",
            1_040_001 * 16_001,
        ),
    ],
)
def test_an_ods_sheets_area_is_told_before_calamine_holds_it(
    tmp_path: Path, rows: str, area: int
) -> None:
    """Found by a review: calamine writes out every repeated row and cell of an .ods
    and holds a sheet's area densely (20 million cells from a 4 KB file took 5.6 s and
    gigabytes; more, and the process is killed). The area is counted from content.xml
    first; past ``max_cells`` the file is refused, quickly."""
    from xml.etree.ElementTree import fromstring

    from xlsxflow.read.ods import _largest_area

    content = _ODS_CONTENT.format(rows=rows).encode()
    assert _largest_area(fromstring(content)) == area
    if area > DEFAULT_LIMITS.max_cells:
        path = tmp_path / "repeated.ods"
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("mimetype", b"application/vnd.oasis.opendocument.spreadsheet")
            z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        only(read_untouched(path), "file.too_large")


@pytest.mark.parametrize("count", ["1e6", " 990000", "990_000", "９９"])
def test_an_ods_repeat_count_that_is_not_plain_digits_is_refused(
    tmp_path: Path, count: str
) -> None:
    """Not guessed at: what calamine makes of it may not be what this reader counted."""
    rows = f'<table:table-row table:number-rows-repeated="{count}">{_VALUE}</table:table-row>'
    path = tmp_path / "count.ods"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", b"application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", _ODS_CONTENT.format(rows=rows).encode(), zipfile.ZIP_DEFLATED)
    only(read_untouched(path), "file.corrupt")


def test_an_ods_time_value_is_read_as_its_text(tmp_path: Path) -> None:
    """Found by a review: the .xlsx reader's refusal of calamine's times (our parser
    reads those sheets instead) also refused a whole .ods, which has no other reader."""
    cell = (
        '<table:table-cell office:value-type="time" office:time-value="PT09H30M00S">'
        "<text:p>09:30</text:p></table:table-cell>"
    )
    path = tmp_path / "time.ods"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", b"application/vnd.oasis.opendocument.spreadsheet")
        rows = f"<table:table-row>{cell}</table:table-row>"
        z.writestr("content.xml", _ODS_CONTENT.format(rows=rows).encode(), zipfile.ZIP_DEFLATED)
        z.writestr(
            "META-INF/manifest.xml",
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type='
            '"application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>',
        )
    book = open_book(path, classify(path), DEFAULT_LIMITS)
    try:
        assert book.cells("申报表")[(0, 0)] == RawCell("09:30:00")
    finally:
        book.close()


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    only(read_untouched(path), "file.empty")


def test_duplicate_zip_members(clean: Path) -> None:
    dup = b'<?xml version="1.0"?><workbook/>'
    only(
        read_untouched(hostile(clean, "dup.xlsx", add=[("xl/workbook.xml", dup)])),
        "file.duplicate_member",
    )


def test_missing_workbook_part(clean: Path) -> None:
    path = hostile(clean, "nosheet.xlsx", drop=["xl/worksheets/sheet1.xml"])
    result = read_untouched(path)
    assert not result.valid  # every required field of the main sheet is missing


# -- lying dimensions, far cells, huge cells ----------------------------------------------


def dimension(ref: str) -> object:
    return lambda d: re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{ref}"/>'.encode(), d)


def far_cell(ref: str) -> object:
    def edit(data: bytes) -> bytes:
        data = dimension(ref)(data)  # type: ignore[operator]
        cell = b'<row r="1048576"><c r="F1048576" t="inlineStr"><is><t>far away</t></is></c></row>'
        return data.replace(b"</sheetData>", cell + b"</sheetData>")

    return edit


@pytest.mark.parametrize(
    ("name", "edit"),
    [
        ("huge_dimension", dimension("A1:XFD1048576")),
        ("huge_dimension_far_cell", far_cell("A1:XFD1048576")),
        ("small_dimension_far_cell", far_cell("A1:F41")),
        (
            "no_dimension_far_cell",
            lambda d: re.sub(rb"<dimension [^>]*/>", b"", far_cell("A1:F41")(d)),
        ),  # type: ignore[operator]
    ],
)
def test_lying_dimension_and_the_last_row(clean: Path, name: str, edit: object) -> None:
    """Found by these tests: a small dimension with a cell at row 1,048,576 sent the
    sheet to calamine's dense rows (3 s and 120 MB for one file)."""
    path = hostile(clean, f"{name}.xlsx", edit={sheet_part(clean, MAIN): edit})

    def read_both() -> tuple[FileResult, RawCell | None]:
        result = read_untouched(path)
        book = open_book(path, classify(path))
        try:
            return result, book.cells(MAIN).get((1048575, 5))
        finally:
            book.close()

    (result, far), peak = with_peak(read_both)
    assert issues(result) == []
    assert result.values["project_name"] == "村级活动场所标准化建设"
    if "far" in name:
        assert far is not None and far.value == "far away"
    assert peak < 30 * 1024 * 1024


_FAR = b't="inlineStr"><is><t>far away</t></is></c></row>'
SHAPES_CALAMINE_PLACES = {  # (each is read by calamine, which builds dense rows up to it)
    "quoted cell": b"<row r=\"60\"><c r='XFD1048576' " + _FAR,
    "quoted row": b"<row r='1048576'><c r=\"F1048576\" " + _FAR,
    "row r after spans": b'<row spans="1:6" r="1048576"><c r="F1048576" ' + _FAR,
    "cell row beyond its row": b'<row r="60"><c r="A300000" ' + _FAR,
    "cell row with zeros": b'<row r="60"><c r="A0300000" ' + _FAR,
    "lower-case column": b'<row r="60"><c r="xfd60" ' + _FAR,
    "cell r after s": b'<row r="60"><c s="1" r="XFD60" ' + _FAR,
    "cell r after a line feed": b'<row r="60"><c\nr="XFD60" ' + _FAR,
    "prefixed": b'<x:row xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    b' r="1048576"><x:c r="XFD1048576" t="inlineStr"><x:is><x:t>far away</x:t></x:is>'
    b"</x:c></x:row>",
    "rows without r": b"<row/>" * 3 + b'<row><c r="XFD1048576" ' + _FAR,
}


@pytest.mark.parametrize("shape", sorted(SHAPES_CALAMINE_PLACES))
def test_rows_and_cells_calamine_places_but_the_guard_did_not_see(shape: str) -> None:
    """Found by a review: the guard read only ``<row r="`` and ``<c r="`` as written by
    us, and a 4.7 KB return with ``<c r='XFD1048576'>`` made calamine ask for 512 GB
    (the process was killed, not an error raised). Any row or cell not written so now
    sends the sheet to our parser, under every limit."""
    from xlsxflow.read.xlsx import _plain_sheet

    data = _sheet_xml("A1:F41", [(1, "A1")]).replace(
        b"</sheetData>", SHAPES_CALAMINE_PLACES[shape] + b"</sheetData>"
    )
    assert not _plain_sheet(data)
    assert not _plain_sheet(data, tall=True)


def test_a_return_with_a_quoted_far_cell_is_read_without_building_its_area(
    clean: Path, tmp_path: Path
) -> None:
    """End to end, in a process of its own with 2 GB of address space: were the sheet
    handed to calamine, it would be killed asking for 512 GB."""
    import subprocess
    import sys

    def edit(data: bytes) -> bytes:
        return data.replace(
            b"</sheetData>", SHAPES_CALAMINE_PLACES["quoted cell"] + b"</sheetData>"
        )

    path = hostile(clean, "quoted.xlsx", edit={sheet_part(clean, MAIN): edit})
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from pathlib import Path\n"
        "from xlsxflow.read.open import classify, open_book\n"
        "path = Path(sys.argv[1])\n"
        "book = open_book(path, classify(path))\n"
        f"print(book.cells({MAIN!r}).get((1048575, 16383)).value)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "far away"


def test_far_column_is_read_sparsely(clean: Path) -> None:
    def edit(data: bytes) -> bytes:
        cell = b'<c r="XFD6" t="inlineStr"><is><t>edge</t></is></c></row>'
        return re.sub(
            rb'(<row r="6"[^>]*>.*?)</row>', lambda m: m.group(1) + cell, data, count=1, flags=re.S
        )

    path = hostile(clean, "wide.xlsx", edit={sheet_part(clean, MAIN): edit})
    book = open_book(path, classify(path))
    try:
        cells = book.cells(MAIN)
    finally:
        book.close()
    assert cells[(5, 16383)].value == "edge"
    assert len(cells) < 1000


@pytest.fixture(params=["fast", "xml"])
def reader_path(request: pytest.FixtureRequest) -> str:
    """``fast``: a plain sheet (calamine); ``xml``: a formula elsewhere forces our parser."""
    return str(request.param)


def force_xml(data: bytes, reader_path: str) -> bytes:
    if reader_path == "xml":
        return set_cell("A41", "><f>1+1</f><v>2</v></c>")(data)
    return data


# Cells a differential test of the two readers found read apart: calamine (plain sheets)
# took each its own way where our parser reads or refuses it. (field, cell XML after
# the reference and style), or an edit of the whole sheet.
DIFFERENTIAL = {
    "index -1 behind t =": ("project_name", ' t ="s"><v>-1</v></c>'),
    "index -1 behind t= '": ("project_name", " t= 's'><v>-1</v></c>"),
    "a second <v>": ("project_name", ' t="s"><v>37</v><v>0</v></c>'),
    "a <v> under another namespace": ("project_name", ' t="s"><x:v xmlns:x="urn:o">-1</x:v></c>'),
    "a character reference in a number": ("budget_special", "><v>5&#48;000</v></c>"),
    "a comment in a number": ("budget_special", "><v>5<!-- -->0000</v></c>"),
    "CDATA": ("budget_special", "><v><![CDATA[50000]]></v></c>"),
    "<is> in a number cell": ("budget_special", "><v>50000</v><is><t>x</t></is></c>"),
    "an error pasted as a value": ("budget_special", ' t="e"><v>#N/A</v></c>'),
    "a boolean written TRUE": ("budget_special", ' t="b"><v>TRUE</v></c>'),
    "spaces around a number": ("budget_special", "><v> 50000 </v></c>"),
    "text in an untyped cell": ("budget_special", "><v>abc</v></c>"),
    "an ISO date cell": ("start_date", ' t="d"><v>2011-11-01T00:00:00</v></c>'),
    "escaped halves of a surrogate pair": (
        "project_name",
        ' t="inlineStr"><is><t>项目_xD83D__xDE00_</t></is></c>',
    ),
    "_x000D_ in an inline string": (
        "project_name",
        ' t="inlineStr"><is><t>项目_x000D_名称</t></is></c>',
    ),
    "]]> in an inline string": ("project_name", ' t="inlineStr"><is><t>a]]>b</t></is></c>'),
    "U+FFFE in an inline string": ("project_name", ' t="inlineStr"><is><t>a\ufffeb</t></is></c>'),
    "a row attribute twice": (
        "whole",
        lambda d: re.sub(rb'<row r="(\d+)"', rb'<row r="\1" spans="1:2" spans="1:2"', d, count=1),
    ),
    "a row attribute of an undeclared prefix": (
        "whole",
        lambda d: re.sub(rb'<row r="(\d+)"', rb'<row r="\1" foo:x="1"', d, count=1),
    ),
    "a date style on a number": ("whole", lambda d: _styled_as_date(d, "budget_special")),
    "a date style on a text": ("whole", lambda d: _styled_as_date(d, "project_name", "40848")),
    "a date of serial 60 (29 February 1900)": ("start_date", "><v>60</v></c>"),
    "a date a moment before midnight": ("start_date", "><v>40848.999999999</v></c>"),
    "a cell outside any row": (
        "whole",
        lambda d: d.replace(
            b"<sheetData>", b'<sheetData><c r="B6" t="inlineStr"><is><t>x</t></is></c>'
        ),
    ),
    "text after the root": ("whole", lambda d: d + b"<junk/>"),
    "another encoding declared": (
        "whole",
        lambda d: d.replace(b'encoding="UTF-8"', b'encoding="GBK"', 1),
    ),
}


def _styled_as_date(data: bytes, fid: str, value: str | None = None) -> bytes:
    """The cell of ``fid`` given the date style of the start-date cell (and ``value``)."""
    date_ref, ref = at("", KIND, "start_date")[2], at("", KIND, fid)[2]
    style = re.search(rf'<c r="{date_ref}" s="(\d+)"'.encode(), data)
    assert style is not None
    data = re.sub(
        rf'<c r="{ref}" s="\d+"'.encode(),
        f'<c r="{ref}" s="{style.group(1).decode()}"'.encode(),
        data,
    )
    return set_cell(ref, f"><v>{value}</v></c>")(data) if value else data


@pytest.mark.parametrize("case", list(DIFFERENTIAL))
def test_both_readers_read_a_cell_alike(clean: Path, case: str) -> None:
    """Whatever shape a cell is written in, the file reads the same whichever reader
    takes its sheet: the fast one only gets sheets written as office suites write them."""
    fid, change = DIFFERENTIAL[case]
    results = []
    for path in ("fast", "xml"):

        def edit(data: bytes, path: str = path) -> bytes:
            if callable(change):
                data = change(data)
            else:
                data = set_cell(at("", KIND, fid)[2], change)(data)
            return force_xml(data, path)

        result = read_untouched(
            hostile(clean, f"{path}.xlsx", edit={sheet_part(clean, MAIN): edit})
        )
        results.append(([(p.code, p.sheet, p.cell) for p in result.problems], result.values))
    assert results[0] == results[1]


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.replace(b"<si>", b'<si xmlns="urn:o">', 1),  # counted by calamine only
        lambda d: d.replace(b"</t></si>", b"\x01</t></si>", 1),  # refused by our parser only
        lambda d: d.replace(b"<si>", b"<si><x><t>hidden</t></x>", 1),  # read by calamine only
        lambda d: d.replace(b"<si><t>", b"<si><t>a<b>x</b>", 1),
        lambda d: re.sub(  # (in every string: some are read)
            rb"<si><t>([^<]*)</t>", "<si><r><t>张 </t></r><r><t>\\1</t></r>".encode(), d
        ),
        lambda d: d.replace(b"<si><t>", b"<si><r><t>", 1),  # a run never closed
        lambda d: d.replace(b"</t></si>", b"]]></t></si>", 1),
        lambda d: d.replace(b"<si><t>", b'<si><t foo:x="1">', 1),  # a prefix never declared
        lambda d: re.sub(  # (an escape is one run's: not decoded across two)
            rb"<si><t>([^<]*)</t>", b"<si><r><t>_x00</t></r><r><t>41_\\1</t></r>", d
        ),
        lambda d: re.sub(  # (nor decoded twice)
            rb"<si><t>([^<]*)</t>",
            b"<si><r><t>x</t></r><r><t>_x005F_x0041_</t></r><r><t>\\1</t></r>",
            d,
        ),
    ],
    ids=[
        "a string under another namespace",
        "a control character",
        "text under an unknown element",
        "an element inside the text",
        "whitespace between two runs",
        "a run never closed",
        "]]> in the text",
        "an undeclared prefix",
        "an escape split across runs",
        "an escaped escape in a run",
    ],
)
def test_both_readers_read_the_shared_strings_alike(
    clean: Path, change: Callable[[bytes], bytes]
) -> None:
    results = []
    for path in ("fast", "xml"):
        edit = {
            "xl/sharedStrings.xml": change,
            sheet_part(clean, MAIN): lambda d, path=path: force_xml(d, path),
        }
        result = read_untouched(hostile(clean, f"sst_{path}.xlsx", edit=edit))
        results.append(([(p.code, p.sheet, p.cell) for p in result.problems], result.values))
    assert results[0] == results[1]


def test_a_row_numbered_in_superscript_digits_is_not_a_crash(clean: Path) -> None:
    """ "⁶".isdigit() is true and int("⁶") raises: the row is placed after the one before."""
    name = at("", KIND, "project_name")[2]
    row = name.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")

    def edit(data: bytes) -> bytes:
        return data.replace(f'<row r="{row}"'.encode(), '<row r="⁶"'.encode(), 1)

    result = read_untouched(
        hostile(clean, "superscript.xlsx", edit={sheet_part(clean, MAIN): edit})
    )
    assert "file.crashed" not in codes(result)
    assert result.values["project_name"]


def test_sheets_as_office_suites_write_them_stay_on_the_fast_reader(clean: Path) -> None:
    """(The differential guard must not send ordinary returns to the slower parser.)"""
    from xlsxflow.read.xlsx import _plain_sheet

    with zipfile.ZipFile(clean) as z:
        assert _plain_sheet(z.read(sheet_part(clean, MAIN)))


def test_huge_cell_is_truncated_to_excel_limit(clean: Path, reader_path: str) -> None:
    big = "长" * 40_000
    undertaking = at("", KIND, "undertaking_org")[2]

    def edit(data: bytes) -> bytes:
        data = set_cell(undertaking, f' t="inlineStr"><is><t>{big}</t></is></c>')(data)
        return force_xml(data, reader_path)

    result = read_untouched(hostile(clean, "huge.xlsx", edit={sheet_part(clean, MAIN): edit}))
    assert issues(result) == [("value.truncated", MAIN, undertaking)]  # a warning: still valid
    assert result.valid
    assert len(result.values["undertaking_org"]) == 32_767
    assert len(result.raw["undertaking_org"]) == 32_767


def test_huge_shared_string_in_a_limited_field(clean: Path, reader_path: str) -> None:
    name_cell = at("", KIND, "project_name")[2]

    def edit(data: bytes) -> bytes:
        data = set_cell(name_cell, f' t="inlineStr"><is><t>{"名" * 40_000}</t></is></c>')(data)
        return force_xml(data, reader_path)

    result = read_untouched(hostile(clean, "huge_name.xlsx", edit={sheet_part(clean, MAIN): edit}))
    assert issues(result) == [at("value.too_long", KIND, "project_name")]
    assert "32767" in result.problems[0].message


# -- sheets, formulas ----------------------------------------------------------------------


def test_duplicate_sheet_names(clean: Path) -> None:
    def rename(data: bytes) -> bytes:
        return data.replace(
            b'<sheet name="\xe5\xa1\xab\xe6\x8a\xa5\xe8\xaf\xb4\xe6\x98\x8e"',
            f'<sheet name="{MAIN}"'.encode(),
        )

    result = read_untouched(hostile(clean, "dupsheet.xlsx", edit={"xl/workbook.xml": rename}))
    assert issues(result) == [("file.duplicate_sheet", MAIN, "")]
    assert not result.valid


def test_a_hundred_thousand_sheet_names_are_read_in_time(clean: Path) -> None:
    """Each name was compared with every earlier one: 150,000 names (a 1.3 MB file) took
    514 s. (``read_untouched`` allows a few seconds.)"""
    names = "".join(
        f'<sheet name="s{k:06d}" sheetId="{k + 10}" r:id="rId1"/>' for k in range(100_000)
    )

    def many(data: bytes) -> bytes:
        return data.replace(b"</sheets>", names.encode() + b"</sheets>")

    result = read_untouched(hostile(clean, "sheets.xlsx", edit={"xl/workbook.xml": many}))
    assert result.form == KIND


def test_duplicate_sheet_names_differing_in_case(clean: Path) -> None:
    def rename(data: bytes) -> bytes:
        return data.replace(b'<sheet name="xf_lists"', b'<sheet name="XF_META"')

    result = read_untouched(hostile(clean, "dupcase.xlsx", edit={"xl/workbook.xml": rename}))
    assert "file.duplicate_sheet" in codes(result)
    assert not result.valid


@pytest.mark.parametrize("keep_plain", [True, False])
@pytest.mark.parametrize("written", ["worksheets/./{}", "../xl/worksheets/{}"])
def test_a_sheet_named_by_a_path_calamine_reads_as_written_is_refused(
    clean: Path, written: str, keep_plain: bool
) -> None:
    """This reader resolves ``worksheets/./sheet1.xml`` to the part it checks; calamine
    reads a member of that very name, which can hold a cell at XFD1048576 (calamine then
    asked for 512 GB and the process aborted) or other values than those checked."""
    part = sheet_part(clean, MAIN)
    name = part.rsplit("/", 1)[1]
    target = written.format(name)
    shadow = f"xl/{target}"  # (as calamine joins it)
    far = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
    with zipfile.ZipFile(clean) as z:
        sheet = z.read(part).replace(b"</sheetData>", far)
    rels = "xl/_rels/workbook.xml.rels"
    edit = {
        rels: lambda d: d.replace(
            f'Target="worksheets/{name}"'.encode(), f'Target="{target}"'.encode()
        )
    }
    path = hostile(
        clean, "shadow.xlsx", edit=edit, add=[(shadow, sheet)], drop=() if keep_plain else [part]
    )
    result = read_untouched(path)
    only(result, "file.corrupt")
    assert "部件名不规范" in result.problems[0].message


def test_a_panic_in_the_rust_reader_is_one_files_problem(clean: Path) -> None:
    """A date cell of -1e16 days makes calamine panic; pyo3 raises that as a
    BaseException, which passed every ``except Exception`` and stopped the whole run.
    It is ``file.crashed`` as calamine's failure, and then our parser reads the sheet:
    the clerk is told what is wrong at the cell."""
    from xlsxflow.read.errors import ReadError
    from xlsxflow.read.safezip import SafeZip
    from xlsxflow.read.xlsx import _XlsxReader

    start = at("", KIND, "start_date")
    edit = {sheet_part(clean, MAIN): set_cell(start[2], "><v>-1e16</v></c>")}
    path = hostile(clean, "panic.xlsx", edit=edit)
    reader = _XlsxReader(DEFAULT_LIMITS, SafeZip(path, DEFAULT_LIMITS))
    try:
        with pytest.raises(ReadError) as crashed:
            reader._sheet_calamine(MAIN)
    finally:
        reader.zip.close()
    assert crashed.value.code == "file.crashed"
    assert "表格读取组件无法处理" in crashed.value.detail
    result = read_untouched(path)
    assert issues(result) == [("value.type", *start[1:])]
    assert "不是有效的日期" in result.problems[0].message


def test_formula_without_cached_value_is_never_read_as_zero(clean: Path) -> None:
    budget = at("", KIND, "budget_special")[2]
    edit = {sheet_part(clean, MAIN): set_cell(budget, "><f>SUM(B30:B31)</f></c>")}
    result = read_untouched(hostile(clean, "formula.xlsx", edit=edit))
    assert issues(result) == [at("value.formula_no_value", KIND, "budget_special")]
    assert "budget_special" not in result.values
    assert not result.valid


def test_formula_with_cached_value_is_read_with_a_warning(clean: Path) -> None:
    budget = at("", KIND, "budget_special")[2]
    edit = {sheet_part(clean, MAIN): set_cell(budget, "><f>30000+20000</f><v>50000</v></c>")}
    result = read_untouched(hostile(clean, "formula_v.xlsx", edit=edit))
    assert issues(result) == [at("value.formula", KIND, "budget_special")]
    assert result.valid
    assert result.values["budget_special"] == 50000


@pytest.mark.parametrize("formula", [True, False], ids=["our-parser", "calamine"])
@pytest.mark.parametrize("index", ["-1", "99999", "1e3", "abc", "4294967296"])
def test_a_shared_string_index_out_of_range_is_never_another_string(
    clean: Path, index: str, formula: bool
) -> None:
    """(Our parser read -1 as the last string; calamine, which reads sheets without a
    formula, read -1, 1e3 and abc as another string of the workbook, and refused 99999
    in English.) Either way it is file.corrupt, said in Chinese."""
    budget = at("", KIND, "budget_special")[2]
    name = at("", KIND, "project_name")[2]
    cells = [
        set_cell(budget, "><f>1+1</f><v>2</v></c>" if formula else "><v>2</v></c>"),
        set_cell(name, f' t="s"><v>{index}</v></c>'),
    ]

    def both(data: bytes) -> bytes:
        for edit in cells:
            data = edit(data)
        return data

    result = read_untouched(hostile(clean, "sst.xlsx", edit={sheet_part(clean, MAIN): both}))
    only(result, "file.corrupt")
    assert f"共享字符串索引 {index} 无效" in result.problems[0].message


def test_formula_with_an_error_value(clean: Path) -> None:
    budget = at("", KIND, "budget_special")[2]
    edit = {sheet_part(clean, MAIN): set_cell(budget, ' t="e"><f>1/0</f><v>#DIV/0!</v></c>')}
    result = read_untouched(hostile(clean, "formula_e.xlsx", edit=edit))
    assert issues(result) == [at("value.cell_error", KIND, "budget_special")]


# -- names, routing, skipping --------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xls", ".et", ".dat", ""])
def test_real_xlsx_with_another_extension_is_read_as_xlsx(clean: Path, suffix: str) -> None:
    """Found by these tests: named .xls, the fast path handed the file to calamine's .xls
    reader (chosen by extension) and a valid return came back as file.corrupt."""
    path = clean.with_name("renamed" + suffix)
    path.write_bytes(clean.read_bytes())
    result = read_untouched(path)
    assert issues(result) == []
    assert result.format == "xlsx" and result.valid


@pytest.mark.parametrize("name", ["~$x.xlsx", ".~lock.x.xlsx#", "notes.txt", "Thumbs.db"])
def test_lock_files_and_other_files_are_skipped(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x00lock " * 27)
    result = read_untouched(path)
    assert result.skipped and result.skip_reason
    assert result.problems == []


def test_skipped_files_are_not_counted_invalid(clean: Path) -> None:
    folder = clean.parent
    for name in ("~$x.xlsx", ".~lock.x.xlsx#", "notes.txt"):
        (folder / name).write_text("x", encoding="utf-8")
    run = validate_paths([folder])
    summary = run.summary()
    assert (summary["checked"], summary["valid"], summary["invalid"], summary["skipped"]) == (
        1,
        1,
        0,
        3,
    )
    assert run.ok


def test_one_bad_file_never_stops_the_others(clean: Path, zeros: bytes) -> None:
    folder = clean.parent
    hostile(clean, "a_bomb.xlsx", edit={"xl/workbook.xml": zeros})
    hostile(clean, "b_laughs.xlsx", edit={"xl/sharedStrings.xml": entity_laughs})
    (folder / "c_empty.xlsx").write_bytes(b"")
    (folder / "d_random.xlsx").write_bytes(os.urandom(3000))
    encrypted_ooxml(folder / "e_encrypted.xlsx")
    run = validate_paths([folder])
    by_name = {Path(r.path).name: r for r in run.results}
    assert by_name["clean.xlsx"].valid
    assert codes(by_name["a_bomb.xlsx"]) == ["file.zip_bomb"]
    assert codes(by_name["b_laughs.xlsx"]) == ["file.xml_attack"]
    assert codes(by_name["c_empty.xlsx"]) == ["file.empty"]
    assert codes(by_name["d_random.xlsx"]) == ["file.not_spreadsheet"]
    assert codes(by_name["e_encrypted.xlsx"]) == ["file.encrypted"]
    assert run.summary()["invalid"] == 5


# -- tampering and lost metadata -----------------------------------------------------------


def drop_meta_sheet(data: bytes) -> bytes:
    return re.sub(rb'<sheet name="xf_meta"[^>]*/>', b"", data)


def test_metadata_lost_is_recognised_by_title(clean: Path) -> None:
    path = hostile(
        clean,
        "pasted.xlsx",
        edit={"xl/workbook.xml": drop_meta_sheet},
        drop=["docProps/custom.xml"],
    )
    result = read_untouched(path)
    assert issues(result) == [("form.metadata_lost", "", "")]
    assert result.valid
    assert (result.form, result.committee) == (KIND, "T01")
    assert result.values["project_name"] == "村级活动场所标准化建设"


def test_metadata_sheet_alone_is_enough(clean: Path) -> None:
    path = hostile(clean, "props_gone.xlsx", drop=["docProps/custom.xml"])
    result = read_untouched(path)
    assert issues(result) == []
    assert result.instance == "2011.T01.application_innovation.1"


def test_without_metadata_or_title_the_form_is_unknown(clean: Path) -> None:
    def untitle(data: bytes) -> bytes:
        return data.replace("创新探索型项目申报表".encode(), "工作报告".encode())

    path = hostile(
        clean,
        "unknown.xlsx",
        edit={"xl/workbook.xml": drop_meta_sheet, "xl/sharedStrings.xml": untitle},
        drop=["docProps/custom.xml"],
    )
    only(read_untouched(path), "form.unknown")


def test_sheet_renamed(clean: Path) -> None:
    def rename(data: bytes) -> bytes:
        return data.replace(f'<sheet name="{MAIN}"'.encode(), b'<sheet name="Sheet1"')

    result = read_untouched(hostile(clean, "renamed_sheet.xlsx", edit={"xl/workbook.xml": rename}))
    assert issues(result) == [("form.sheet_missing", MAIN, "")]
    assert not result.valid


def test_defined_name_deleted(clean: Path) -> None:
    def unname(data: bytes) -> bytes:
        return re.sub(rb'<definedName name="project_name">[^<]*</definedName>', b"", data)

    result = read_untouched(hostile(clean, "unnamed.xlsx", edit={"xl/workbook.xml": unname}))
    assert issues(result) == [("form.name_missing", "", "")]
    assert result.problems[0].field == "project_name"
    assert not result.valid


def test_defined_name_moved_is_followed_with_a_warning(clean: Path) -> None:
    """A row inserted above the name: the reader follows the name to its new cell."""

    def move(data: bytes) -> bytes:
        return data.replace(b"$B$7</definedName>", b"$B$41</definedName>")

    result = read_untouched(hostile(clean, "moved.xlsx", edit={"xl/workbook.xml": move}))
    assert ("form.name_moved", MAIN, "B41") in issues(result)


def test_fingerprint_altered(clean: Path) -> None:
    def alter(data: bytes) -> bytes:
        return re.sub(rb"\b[0-9a-f]{16}\b", b"0123456789abcdef", data)

    path = hostile(
        clean,
        "fingerprint.xlsx",
        edit={"docProps/custom.xml": alter, "xl/sharedStrings.xml": alter},
    )
    only(read_untouched(path), "form.fingerprint")


def test_unknown_form_version(clean: Path) -> None:
    def version(data: bytes) -> bytes:
        return re.sub(
            rb'(name="xf_form_version"><vt:lpwstr>)1(</vt:lpwstr>)', rb"\g<1>9\g<2>", data
        )

    only(
        read_untouched(hostile(clean, "v9.xlsx", edit={"docProps/custom.xml": version})),
        "form.version",
    )


def _sheet_xml(dimension: str, cells: list[tuple[int, str]]) -> bytes:
    rows = "".join(f'<row r="{r}"><c r="{ref}"><v>1</v></c></row>' for r, ref in cells)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'
    ).encode()


@pytest.mark.parametrize(
    ("dimension", "cells", "fast"),
    [
        ("A1:CV5000", [(5000, "CV5000")], True),  # a return's shape
        ("A1:G20000", [(20000, "G20000")], True),  # a province's roster: tall, narrow
        ("A1:Z59999", [(59999, "Z59999")], True),
        ("A1:G20000", [(20000, "AA20000")], False),  # a cell wider than claimed
        ("A1:G20000", [(60000, "G60000")], False),  # a row lower than allowed
        ("A1:AA20000", [(2, "B2")], False),  # tall and wide: not for calamine
        ("A1:G100", [(1048576, "A1048576")], False),  # the dimension lied
    ],
)
def test_which_sheets_calamine_may_read(dimension, cells, fast) -> None:
    """Calamine builds dense rows: it gets sheets whose every cell stays within
    1.6 million, checked on the sheet's own bytes, not on its dimension tag alone."""
    from xlsxflow.read.xlsx import _plain_sheet

    assert _plain_sheet(_sheet_xml(dimension, cells)) is fast


@pytest.mark.parametrize(
    ("dimension", "cells", "fast"),
    [
        ("A1:AA5001", [(5001, "AA5001")], True),  # a register's 项目总台账
        ("A1:AZ99999", [(99999, "AZ99999")], True),
        ("A1:AA5001", [(5001, "BA5001")], False),  # a cell wider than allowed
        ("A1:AA5001", [(100000, "A100000")], False),  # a row lower than allowed
        ("A1:BA60000", [(2, "B2")], False),  # tall and wider still
    ],
)
def test_which_sheets_of_the_register_calamine_may_read(dimension, cells, fast) -> None:
    """The register's sheets (``REGISTER_LIMITS``: its edits) may be taller and wider,
    up to 5.2 million cells, still checked on the sheet's own bytes."""
    from xlsxflow.read.limits import REGISTER_LIMITS
    from xlsxflow.read.xlsx import _plain_sheet

    assert REGISTER_LIMITS.tall_sheets
    assert _plain_sheet(_sheet_xml(dimension, cells), tall=True) is fast
    assert not _plain_sheet(_sheet_xml(dimension, cells))  # (never for a return)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-8-sig"])
def test_structure_parts_with_a_dtd_never_reach_the_fast_parser(encoding: str) -> None:
    """Plain UTF-8 parts go to ElementTree's C parser; a DTD in any encoding (where the
    bytes do not show it) goes to defusedxml, which refuses the entity."""
    from xlsxflow.read.errors import ReadError
    from xlsxflow.read.xlsx import _parse

    plain = '<?xml version="1.0"?><workbook><sheets><sheet name="项目"/></sheets></workbook>'
    assert _parse(plain.encode(encoding), "xl/workbook.xml").find("sheets/sheet") is not None
    hostile_text = plain.replace(
        "<workbook>", '<!DOCTYPE x [<!ENTITY e "项目项目">]><workbook>'
    ).replace('name="项目"', 'name="&e;"')
    with pytest.raises(ReadError) as caught:
        _parse(hostile_text.encode(encoding), "xl/workbook.xml")
    assert caught.value.code == "file.xml_attack"
