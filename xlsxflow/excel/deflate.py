"""Compress a large sheet part on a second core while its rows are still being made.

A register sheet's rows (160 MB of XML for a province's tasks) used to be compressed
after the whole workbook was written, on the one busy core: ~0.4 s. Here they are
compressed as they come, on a thread (zlib works outside the GIL), into a raw deflate
segment that ends on a byte boundary (a full flush). The part is stitched together
when xlsxwriter has written the rest of the sheet: its head (which holds the sheet's
dimension, known only at the end) and tail are compressed on their own, the three
segments are concatenated — a valid deflate stream, as pigz makes them — and the CRC
of the whole is combined from the three CRCs.

A body may be a series of *independent* segments, each from a fresh compressor: a
segment depends on its own bytes only, so the next rendering can copy a segment whose
rows are unchanged, compressed as it is, from the previous register.xlsx
(``excel.bulk_rows``), and a segment compressed elsewhere is the same bytes.

zipfile has no public way to add a member that is already compressed, so
``write_member`` writes its local header and data and registers it for the central
directory the way ``ZipFile.writestr`` does.
"""

from __future__ import annotations

import functools
import queue
import shutil
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Iterable
from typing import IO

LEVEL = 1  # a third of the time of the default for ~30 % more bytes (160 MB of XML)
QUEUE_CHUNKS = 8  # pieces waiting for the thread: bounded memory
PIECE = 1 << 20  # bytes handed to the thread at a time
_CRC_POLY = 0xEDB88320


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, row) for row in matrix]


@functools.cache
def _zero_operator(k: int) -> list[int]:
    """The operator carrying a CRC through 2**k zero bytes, built only as far as a
    length asks (a segment of a few hundred KB needs k up to ~20, not all 64)."""
    if k == 0:
        matrix = [_CRC_POLY] + [1 << n for n in range(31)]  # one zero bit
        for _ in range(3):
            matrix = _gf2_square(matrix)  # … eight: one zero byte
        return matrix
    return _gf2_square(_zero_operator(k - 1))


@functools.cache
def _byte_tables(k: int) -> tuple[list[int], list[int], list[int], list[int]]:
    """``_zero_operator(k)`` applied to every value of each byte of a CRC: a CRC is
    carried by four look-ups instead of up to 32 steps (a register rewritten from the
    previous one combines the CRCs of thousands of copied chunks)."""
    matrix = _zero_operator(k)
    tables = []
    for byte in range(4):
        table = [0] * 256
        for value in range(1, 256):
            low = value & -value  # the lowest bit set, and the rest already in the table
            table[value] = table[value ^ low] ^ matrix[8 * byte + low.bit_length() - 1]
        tables.append(table)
    return tables[0], tables[1], tables[2], tables[3]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of A + B from the CRC-32 of A, that of B and B's length (zlib's
    ``crc32_combine``, which Python's zlib does not offer): A's CRC is carried through
    ``len2`` zero bytes by the operators for 1, 2, 4, … zero bytes, then B's is added."""
    k = 0
    while len2 > 0:
        if len2 & 1:
            t0, t1, t2, t3 = _byte_tables(k)
            crc1 = t0[crc1 & 255] ^ t1[crc1 >> 8 & 255] ^ t2[crc1 >> 16 & 255] ^ t3[crc1 >> 24]
        len2 >>= 1
        k += 1
    return crc1 ^ crc2


def deflate_segment(data: bytes, *, last: bool) -> bytes:
    """``data`` as a raw deflate segment: ending on a byte boundary to be followed by
    another (``last=False``), or ending the stream."""
    z = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return z.compress(data) + z.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)


_END = b""  # (queued: ends the open segment; writes are never empty)


class _Gather:
    """Joins what is written into pieces of at least ``PIECE`` bytes, the unit handed
    to zlib. Every compressor of a segment goes through it: some zlib builds (zlib-ng)
    compress the same bytes differently when the calls split them differently, and a
    segment made elsewhere must be the bytes this module would have made."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, data: bytes) -> bytes | None:
        """A piece to compress, once enough has come."""
        self.parts.append(data)
        self.size += len(data)
        return self.rest() if self.size >= PIECE else None

    def rest(self) -> bytes | None:
        if not self.parts:
            return None
        piece = b"".join(self.parts)
        self.parts, self.size = [], 0
        return piece


def compress_segment(pieces: Iterable[bytes]) -> bytes:
    """``pieces`` as one independent segment, compressed as ``BackgroundDeflate``
    compresses the same writes between two ``end_segment``."""
    z = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    gather, out = _Gather(), []
    for data in pieces:
        if data and (piece := gather.add(data)) is not None:
            out.append(z.compress(piece))
    if (piece := gather.rest()) is not None:
        out.append(z.compress(piece))
    out.append(z.flush(zlib.Z_FULL_FLUSH))
    return b"".join(out)


class BackgroundDeflate:
    """Compresses what is written to it on a thread, into a temporary file (``out``);
    ``close`` waits for it. ``crc`` and ``size`` describe the whole body. Not the
    stream's end: segments to be followed by another.

    ``end_segment`` ends the open segment (the next write starts a fresh compressor);
    ``add_segment`` appends one compressed elsewhere. After ``close``, ``spans`` holds
    each ended or added segment's (offset, length) in ``out``, in order."""

    def __init__(self) -> None:
        self.out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by discard)
        self.crc = 0
        self.size = 0
        self.spans: list[tuple[int, int]] = []
        self._segment_crc = 0
        self._segment_size = 0
        self._gather = _Gather()
        # Segments added since the last item was queued, handed over together: one
        # queue item each (thousands of small chunks copied from a previous register)
        # cost more in the threads' hand-overs than the copying.
        self._added: list[bytes] = []
        self._added_size = 0
        self._queue: queue.Queue[bytes | list[bytes] | None] = queue.Queue(QUEUE_CHUNKS)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        z, start = None, 0
        ended = False
        try:
            while (item := self._queue.get()) is not None:
                if isinstance(item, list):  # compressed elsewhere: copied
                    for data in item:
                        self.spans.append((self.out.tell(), len(data)))
                        self.out.write(data)
                    continue
                if z is None:
                    z, start = (
                        zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS),
                        self.out.tell(),
                    )
                if item is _END:
                    self.out.write(z.flush(zlib.Z_FULL_FLUSH))
                    self.spans.append((start, self.out.tell() - start))
                    z = None
                else:
                    self.out.write(z.compress(item))
            ended = True
            if z is not None:
                self.out.write(z.flush(zlib.Z_FULL_FLUSH))
                self.spans.append((start, self.out.tell() - start))
        except BaseException as err:  # (a full disk): reported by close
            self._error = err
            while not ended and self._queue.get() is not None:  # never block the writer
                pass

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        self._segment_crc = zlib.crc32(data, self._segment_crc)
        self._segment_size += len(data)
        if (piece := self._gather.add(data)) is not None:
            self._put(piece)

    def end_segment(self) -> tuple[int, int]:
        """End the open segment (made even if nothing was written to it); its CRC and
        length."""
        self._hand_over()
        self._put(_END)
        ended = self._segment_crc, self._segment_size
        self._segment_crc = self._segment_size = 0
        return ended

    def add_segment(self, data: bytes, crc: int, size: int) -> None:
        """Append a segment compressed elsewhere, of ``size`` bytes whose CRC is ``crc``
        (between segments: nothing written since the last one ended)."""
        if self._segment_size:
            raise ValueError("a segment is open")
        self.crc = crc32_combine(self.crc, crc, size)
        self.size += size
        self._added.append(bytes(data))
        self._added_size += len(data)
        if self._added_size >= PIECE:  # (bounded memory, as for the writes)
            self._put(None, only_added=True)

    def _put(self, item: bytes | None, only_added: bool = False) -> None:
        """Queue ``item`` after the segments added before it (or only those)."""
        if self._added:
            self._queue.put(self._added)
            self._added, self._added_size = [], 0
        if not only_added:
            self._queue.put(item)

    def _hand_over(self) -> None:
        if (piece := self._gather.rest()) is not None:
            self._put(piece)

    def close(self) -> None:
        """Wait until everything written is compressed (raises what the thread met)."""
        if self._thread.is_alive():
            self._hand_over()
            self._put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def discard(self) -> None:
        if self._thread.is_alive():
            self._gather, self._added, self._added_size = _Gather(), [], 0
            self._queue.put(None)
            self._thread.join()
        self.out.close()


def write_member(
    dst: zipfile.ZipFile, info: zipfile.ZipInfo, head: bytes, body: BackgroundDeflate, tail: bytes
) -> int:
    """Add ``head`` + the body + ``tail`` to ``dst`` as one deflated member (``body``
    closed); the length of the compressed head (where the body starts in the data)."""
    head_z, tail_z = deflate_segment(head, last=False), deflate_segment(tail, last=True)
    crc = crc32_combine(
        crc32_combine(zlib.crc32(head), body.crc, body.size), zlib.crc32(tail), len(tail)
    )
    info.compress_type = zipfile.ZIP_DEFLATED
    info.CRC = crc
    info.file_size = len(head) + body.size + len(tail)
    body_z = body.out.seek(0, 2)
    info.compress_size = len(head_z) + body_z + len(tail_z)
    zip64 = info.file_size > zipfile.ZIP64_LIMIT or info.compress_size > zipfile.ZIP64_LIMIT
    fp = dst.fp
    assert fp is not None
    info.header_offset = fp.tell()
    fp.write(info.FileHeader(zip64))
    fp.write(head_z)
    body.out.seek(0)
    shutil.copyfileobj(body.out, fp, PIECE)
    fp.write(tail_z)
    dst.filelist.append(info)
    dst.NameToInfo[info.filename] = info
    dst.start_dir = fp.tell()
    dst._didModify = True  # type: ignore[attr-defined]
    return len(head_z)
