"""``SafeZip`` inflates a plain member itself, in one call, and leaves every other to
zipfile: the bytes must be zipfile's, and whatever zipfile refuses must still be refused
the same way (the fast path only ever answers "as zipfile would" or "ask zipfile")."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlsxflow.read.errors import ReadError
from xlsxflow.read.limits import DEFAULT_LIMITS
from xlsxflow.read.safezip import SafeZip


class _Unseekable(io.RawIOBase):
    """A stream zipfile cannot seek back in: it then writes each member's sizes and CRC
    after its data (flag 0x8), as LibreOffice does."""

    def __init__(self) -> None:
        self.out = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.out += data
        return len(data)


def _zip(members: dict[str, bytes], method: int, streamed: bool) -> bytes:
    if streamed:
        sink = _Unseekable()
        with zipfile.ZipFile(sink, "w", method) as zf:
            for name, data in members.items():
                with zf.open(name, "w") as fh:
                    fh.write(data)
        return bytes(sink.out)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _opened(tmp_path: Path, data: bytes) -> SafeZip:
    path = tmp_path / "book.xlsx"
    path.write_bytes(data)
    return SafeZip(path, DEFAULT_LIMITS)


names = st.text(
    st.characters(codec="utf-8", exclude_characters="/\\\x00", exclude_categories=("Cs",)),
    min_size=1,
    max_size=12,
).map(lambda s: f"xl/{s}.xml")


@settings(max_examples=60, deadline=None)
@given(
    members=st.dictionaries(names, st.binary(max_size=3000), min_size=1, max_size=4),
    method=st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED]),
    streamed=st.booleans(),
)
def test_a_plain_member_is_inflated_here_to_zipfiles_bytes(
    tmp_path_factory: pytest.TempPathFactory,
    members: dict[str, bytes],
    method: int,
    streamed: bool,
) -> None:
    data = _zip(members, method, streamed)
    z = _opened(tmp_path_factory.mktemp("z"), data)
    reference = zipfile.ZipFile(io.BytesIO(data))
    for name, content in members.items():
        info = z.zf.getinfo(name)
        assert z._plain_member(info, info.file_size + 1) == content  # (taken here)
        assert z.read(name) == content == reference.read(name)


def _member_offsets(data: bytes, name: str) -> tuple[int, int]:
    """Where the member's local header and its central directory entry start (of a zip
    holding that one member)."""
    local = zipfile.ZipFile(io.BytesIO(data)).getinfo(name).header_offset
    return local, data.rindex(b"PK\x01\x02")


def _tampered(data: bytes, name: str, how: str) -> bytes:
    local, central = _member_offsets(data, name)
    out = bytearray(data)
    if how == "crc":  # (both headers agree; the data does not)
        for at in (local + 14, central + 16):
            crc = struct.unpack_from("<I", out, at)[0]
            struct.pack_into("<I", out, at, crc ^ 1)
    elif how == "local name":  # (a member whose local header names another part)
        out[local + 30] ^= 0x20
    elif how == "data":  # (the deflate stream broken in its middle)
        size = struct.unpack_from("<I", out, central + 20)[0]
        start = local + 30 + struct.unpack_from("<HH", out, local + 26)[0]
        start += struct.unpack_from("<HH", out, local + 26)[1]
        out[start + size // 2] ^= 0xFF
    return bytes(out)


def _refused_here_and_by_zipfile(z: SafeZip, name: str) -> None:
    """The member is not read in one call, and zipfile's refusal is ``file.corrupt``."""
    info = z.zf.getinfo(name)
    assert z._plain_member(info, info.file_size + 1) is None
    with pytest.raises(ReadError) as caught:
        z.read(name)
    assert caught.value.code == "file.corrupt"


@pytest.mark.parametrize("how", ["crc", "local name", "data"])
def test_a_member_zipfile_refuses_is_never_taken_here(tmp_path: Path, how: str) -> None:
    content = b"<worksheet>" + bytes(range(256)) * 20 + b"</worksheet>"
    name = "xl/worksheets/sheet1.xml"
    data = _tampered(_zip({name: content}, zipfile.ZIP_DEFLATED, False), name, how)
    with pytest.raises((zipfile.BadZipFile, zlib.error)):
        zipfile.ZipFile(io.BytesIO(data)).read(name)
    _refused_here_and_by_zipfile(_opened(tmp_path, data), name)


def test_another_method_is_left_to_zipfile(tmp_path: Path) -> None:
    name = "xl/workbook.xml"
    content = b"<workbook/>" * 50
    z = _opened(tmp_path, _zip({name: content}, zipfile.ZIP_BZIP2, False))
    info = z.zf.getinfo(name)
    assert z._plain_member(info, info.file_size + 1) is None
    assert z.read(name) == content


def test_a_member_larger_than_declared_is_left_to_zipfile(tmp_path: Path) -> None:
    """The directory says 10 bytes (and gives their CRC); the data inflates to more:
    never taken here, and zipfile reads no more than was declared, as before."""
    name = "xl/styles.xml"
    content = b"<styleSheet>" + b"a" * 100 + b"</styleSheet>"
    data = bytearray(_zip({name: content}, zipfile.ZIP_DEFLATED, False))
    local, central = _member_offsets(bytes(data), name)
    for at in (local + 14, central + 16):
        struct.pack_into("<I", data, at, zlib.crc32(content[:10]))
    for at in (local + 22, central + 24):
        struct.pack_into("<I", data, at, 10)
    z = _opened(tmp_path, bytes(data))
    info = z.zf.getinfo(name)
    assert z._plain_member(info, info.file_size + 1) is None
    assert z.read(name) == content[:10] == zipfile.ZipFile(io.BytesIO(data)).read(name)


def test_a_member_placed_before_the_file_is_refused(tmp_path: Path) -> None:
    """A directory offset that claims more than the file holds puts the members before
    its first byte, which zipfile cannot seek to. Here the member's real record sits in
    the zip's comment at the end, where a negative offset, sliced, would find it."""
    name = "xl/workbook.xml"
    data = _zip({name: b"<workbook/>" * 40}, zipfile.ZIP_DEFLATED, False)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    # (the record, and a few bytes after it: sliced from a negative offset, its end
    # must not fall on the file's end, where a slice would come out empty)
    comment = data[: info.header_offset + 30 + len(name) + info.compress_size] + b"~" * 8
    eocd = data.rindex(b"PK\x05\x06")
    out = bytearray(data[: eocd + 22])
    struct.pack_into("<H", out, eocd + 20, len(comment))
    offset = struct.unpack_from("<I", out, eocd + 16)[0]
    struct.pack_into("<I", out, eocd + 16, offset + len(comment))
    crafted = bytes(out) + comment
    assert zipfile.ZipFile(io.BytesIO(crafted)).getinfo(name).header_offset < 0
    _refused_here_and_by_zipfile(_opened(tmp_path, crafted), name)


def test_a_name_decoded_otherwise_in_its_local_header_is_refused(tmp_path: Path) -> None:
    """zipfile decodes each header's name by that header's own UTF-8 flag: a local
    header without it names another part, though its bytes are the same."""
    name = "xl/worksheets/任务.xml"
    data = bytearray(_zip({name: b"<worksheet/>" * 30}, zipfile.ZIP_DEFLATED, False))
    local, _central = _member_offsets(bytes(data), name)
    flags = struct.unpack_from("<H", data, local + 6)[0]
    struct.pack_into("<H", data, local + 6, flags & ~0x800)
    _refused_here_and_by_zipfile(_opened(tmp_path, bytes(data)), name)


def test_a_closed_zip_is_not_read(tmp_path: Path) -> None:
    name = "xl/workbook.xml"
    z = _opened(tmp_path, _zip({name: b"<workbook/>"}, zipfile.ZIP_DEFLATED, False))
    z.close()
    with pytest.raises(ReadError) as caught:
        z.read(name)
    assert caught.value.code == "file.corrupt"


def _outcomes(path: Path, data: bytes, fast: bool) -> list[object]:
    """What reading every member of ``data`` gives, member by member (its bytes, or the
    error), with the one-call path or with zipfile alone."""
    path.write_bytes(data)
    try:
        z = SafeZip(path, DEFAULT_LIMITS)
    except ReadError as err:
        return [("open", err.code)]
    if not fast:
        z._plain_member = lambda info, most: None  # type: ignore[method-assign]
    found: list[object] = []
    with z:
        for info in z.infos:
            try:
                found.append(z.read(info.filename))
            except ReadError as err:
                found.append(("error", err.code))
            except Exception as err:  # (the same escapes either way, or the test fails)
                found.append(("raised", type(err).__name__))
    return found


@settings(max_examples=300, deadline=None)
@given(
    members=st.dictionaries(names, st.binary(max_size=400), min_size=1, max_size=3),
    method=st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED]),
    streamed=st.booleans(),
    data=st.data(),
)
def test_a_damaged_zip_reads_as_zipfile_reads_it(
    tmp_path_factory: pytest.TempPathFactory,
    members: dict[str, bytes],
    method: int,
    streamed: bool,
    data: st.DataObject,
) -> None:
    """Bytes changed anywhere (headers, names, sizes, the deflate streams): every member
    gives the same bytes or the same error with the one-call path as without it."""
    whole = bytearray(_zip(members, method, streamed))
    edits = data.draw(
        st.lists(st.tuples(st.integers(0, len(whole) - 1), st.integers(0, 255)), max_size=4)
    )
    for at, value in edits:
        whole[at] = value
    path = tmp_path_factory.mktemp("z") / "book.xlsx"
    assert _outcomes(path, bytes(whole), True) == _outcomes(path, bytes(whole), False)


def test_a_zip_of_a_version_zipfile_does_not_know_is_damaged(tmp_path: Path) -> None:
    """A directory entry asking for zip version 6.4 to extract: zipfile refuses it as it
    lists the members, with an error that once went through as a crash of the reader."""
    name = "xl/workbook.xml"
    data = bytearray(_zip({name: b"<workbook/>"}, zipfile.ZIP_DEFLATED, False))
    _local, central = _member_offsets(bytes(data), name)
    data[central + 6] = 64  # (version needed to extract)
    with pytest.raises(ReadError) as caught:
        _opened(tmp_path, bytes(data))
    assert caught.value.code == "file.corrupt"
