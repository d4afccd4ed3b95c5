"""A sheet part compressed in three segments on two threads is one valid zip member."""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlsxflow.excel import deflate
from xlsxflow.excel.deflate import BackgroundDeflate, crc32_combine, write_member


@given(st.binary(max_size=300), st.binary(max_size=3000))
def test_crc_of_two_pieces_combines_into_the_crc_of_both(a: bytes, b: bytes) -> None:
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_crc_combines_over_long_lengths() -> None:
    b = os.urandom(5 << 20)
    assert crc32_combine(zlib.crc32(b"head"), zlib.crc32(b), len(b)) == zlib.crc32(b"head" + b)


@settings(max_examples=25, deadline=None)
@given(
    st.binary(max_size=200),
    st.lists(st.binary(max_size=5000), max_size=20),
    st.binary(max_size=200),
    st.integers(min_value=1, max_value=4096),
)
def test_head_body_and_tail_make_one_member(
    head: bytes, pieces: list[bytes], tail: bytes, piece: int
) -> None:
    deflate.PIECE = piece  # hand over often: many segments through the queue
    try:
        body = BackgroundDeflate()
        for p in pieces:
            body.write(p)
        body.close()
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            zf.writestr("before.xml", b"<a/>")
            write_member(zf, zipfile.ZipInfo("xl/worksheets/sheet1.xml"), head, body, tail)
            zf.writestr("after.xml", b"<b/>")
        body.discard()
    finally:
        deflate.PIECE = 1 << 20
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as zf:
        assert zf.testzip() is None  # every CRC right
        assert zf.namelist() == ["before.xml", "xl/worksheets/sheet1.xml", "after.xml"]
        assert zf.read("xl/worksheets/sheet1.xml") == head + b"".join(pieces) + tail
        assert zf.read("after.xml") == b"<b/>"


def test_a_failure_on_the_thread_is_raised_and_never_blocks_the_writer(monkeypatch) -> None:
    monkeypatch.setattr(deflate, "PIECE", 10)
    body = BackgroundDeflate()

    def full(_data: bytes) -> int:
        raise OSError(28, "No space left on device")

    body.out.write = full  # type: ignore[method-assign]
    for _ in range(100):  # far more than the queue holds
        body.write(b"x" * 20)
    with pytest.raises(OSError, match="No space"):
        body.close()
    body.discard()


def test_a_failure_at_the_last_flush_is_raised_not_waited_for() -> None:
    """The thread has taken the end mark when the final flush fails: close must not wait
    for another mark that never comes."""
    import threading

    body = BackgroundDeflate()
    real = body.out.write

    def fails_when_given_bytes(data: bytes) -> int:
        if data:
            raise OSError(28, "No space left on device")
        return real(data)

    body.out.write = fails_when_given_bytes  # type: ignore[method-assign]
    body.write(b"<row/>")  # small: zlib keeps it until the flush
    caught: list[BaseException] = []

    def closing() -> None:
        try:
            body.close()
        except OSError as err:
            caught.append(err)

    closer = threading.Thread(target=closing, daemon=True)
    closer.start()
    closer.join(timeout=10)
    assert not closer.is_alive(), "close() hung"
    assert caught and "No space" in str(caught[0])
    body.discard()


class _Recording:
    """A compressor that notes the length of each input it is handed."""

    def __init__(self, calls: list[int], make: Any, *args: int) -> None:
        self.calls, self.z = calls, make(*args)

    def compress(self, data: bytes) -> bytes:
        self.calls.append(len(data))
        return self.z.compress(data)

    def flush(self, mode: int) -> bytes:
        self.calls.append(-1)
        return self.z.flush(mode)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.binary(max_size=300), max_size=12), min_size=1, max_size=4),
    st.integers(min_value=1, max_value=700),
)
def test_a_segment_made_elsewhere_is_compressed_in_the_same_steps(
    segments: list[list[bytes]], piece: int
) -> None:
    """zlib-ng (unlike zlib) compresses the same bytes differently when the calls split
    them differently: a segment made by the helper process must hand zlib exactly what
    the background thread hands it."""
    real, old_piece = deflate.zlib.compressobj, deflate.PIECE
    calls: list[int] = []
    deflate.PIECE = piece
    deflate.zlib.compressobj = lambda *a: _Recording(calls, real, *a)  # type: ignore[assignment]
    try:
        body = BackgroundDeflate()
        for pieces in segments:
            for data in pieces:
                body.write(data)
            body.end_segment()
        body.close()
        threaded = list(calls)
        calls.clear()
        made = [deflate.compress_segment(pieces) for pieces in segments]
        assert calls == threaded
        body.out.seek(0)
        out = body.out.read()
        assert [out[a : a + n] for a, n in body.spans] == made
        body.discard()
    finally:
        deflate.zlib.compressobj, deflate.PIECE = real, old_piece  # type: ignore[assignment]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.lists(st.binary(max_size=300), max_size=6)),
        min_size=1,
        max_size=12,
    ),
    st.integers(min_value=1, max_value=900),
)
def test_segments_added_and_written_come_out_in_order(
    segments: list[tuple[bool, list[bytes]]], piece: int
) -> None:
    """Added segments wait to be handed over together (up to ``PIECE`` bytes): they
    still come out between the written ones exactly where they were added."""
    old_piece = deflate.PIECE
    deflate.PIECE = piece
    try:
        body = BackgroundDeflate()
        made = []
        for added, pieces in segments:
            made.append(deflate.compress_segment(pieces))
            if added:
                data = b"".join(pieces)
                body.add_segment(made[-1], zlib.crc32(data), len(data))
            else:
                for data in pieces:
                    body.write(data)
                body.end_segment()
        body.close()
        body.out.seek(0)
        out = body.out.read()
        assert [out[a : a + n] for a, n in body.spans] == made
        whole = b"".join(b"".join(pieces) for _, pieces in segments)
        assert (body.crc, body.size) == (zlib.crc32(whole), len(whole))
        assert zlib.decompress(out + deflate.deflate_segment(b"", last=True), -15) == whole
        body.discard()
    finally:
        deflate.PIECE = old_piece
