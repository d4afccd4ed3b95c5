"""Write the rows of very large sheets faster than xlsxwriter's cell-by-cell calls.

The register's 任务台账 has one row per task: 400,000 rows × 14 cells for a province's
10,000 ledgers. xlsxwriter spends 3–4 µs on each cell (argument checks, a tuple per cell,
attribute lists, regex escapes), which made writing the register most of a merge. Here the
data rows of such a sheet are serialised in one pass into exactly the XML xlsxwriter's
constant-memory mode writes for them (``tests/test_bulk_rows.py`` compares the two byte
for byte), at a sixth of the cost or less, and spliced into the sheet part of the
workbook xlsxwriter wrote around them: xlsxwriter still writes everything else —
the header row, styles, column widths, filters, print setup, properties.

Sheets built per project (``register.sheets.Block``) are cut into *chunks* of a few
blocks, each compressed on its own (``excel.deflate``) and indexed by the keys of its
blocks and its first row, so that the next rendering copies a chunk whose blocks and
place are unchanged from the previous register.xlsx, still compressed (``BlockCache``),
instead of building it again. Where a chunk ends depends only on its last block's key
(about one block in ``CHUNK_BLOCKS``), so a changed project changes one chunk, and the
same rows always give the same bytes, copied or built. Plain rows (提交记录, 变更记录,
未报送名单…) are chunked alike by their values (``row_chunks``): building a row's text
costs a fifth of serialising it, and the rows of a resubmission leave most chunks of
those sheets where they were. Blocks and chunks found unchanged at another row (a
project above them gained or lost rows) are taken from the previous register too, their
rows renumbered (``moved``).

One deliberate difference: xlsxwriter copies a string shaped like ``<r>…</r>`` into the
XML unescaped (see ``excel.inert``); here every string is escaped.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import math
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from hashlib import sha256
from typing import Any

from xlsxwriter.utility import xl_col_to_name

from xlsxflow.excel.deflate import BackgroundDeflate, compress_segment, write_member
from xlsxflow.excel.inert import MAX_CELL_UNITS, fit_cell
from xlsxflow.register.sheets import Block

KNOWN_TEXTS = 50_000
FLUSH_ROWS = 2_000  # rows serialised at a time where nothing is chunked
# A chunk ends after a block whose key's CRC is a multiple of CHUNK_BLOCKS, or after
# MAX_CHUNK_BLOCKS blocks: ~130 KB of task rows, which compress to 3–4 % more than one
# stream would, and a resubmitted ledger has ~4 projects' rows built again.
CHUNK_BLOCKS = 4
MAX_CHUNK_BLOCKS = 32
# Blocks of one short row (项目总台账: a project each) go ~32 to a chunk instead: at 4,
# a province's 5,000 projects were 1,250 segments, each compressed on its own and each
# with its costs to copy.
ONE_ROW_CHUNK_BLOCKS = 32
# Plain rows (提交记录, 变更记录…) go in chunks of ~64 rows (~16 KB of XML), large
# enough to compress nearly as well as one stream.
ROW_CHUNK = 64
MAX_CHUNK_ROWS = 512
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # a zip member's local file header
# Text needs xlsxwriter's slower handling if it has XML escapes, control characters,
# literal _xHHHH_ sequences, non-characters, or leading or trailing white space.
_SPECIAL_CHARS = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]")
_EDGE_SPACE = re.compile(r"^\s|\s$")
_ESCAPED_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_EPOCH = dt.date(1899, 12, 31).toordinal()


@lru_cache(maxsize=4096)
def excel_date(day: dt.date) -> str:
    """The serial number of ``day`` as xlsxwriter writes it (1900 date system, with
    Excel's phantom 1900-02-29 for days after it)."""
    serial = day.toordinal() - _EPOCH
    return str(serial + 1 if serial > 59 else serial)


def _plain(text: str) -> bool:
    """Text written as it is: not empty, not too long, nothing to escape (a few checks
    in C; a single regular expression for all of them took twice as long)."""
    return (
        0 < len(text) <= MAX_CELL_UNITS // 2
        and not _SPECIAL_CHARS.search(text)
        and "_x" not in text
        and not text[0].isspace()
        and not text[-1].isspace()
    )


def _string_body(text: str) -> str:
    """``<t>…</t>`` for ``text``, escaped as xlsxwriter escapes inline strings."""
    text = fit_cell(text)
    if not text:
        return "<t></t>"
    if _plain(text):
        return f"<t>{text}</t>"
    text = _ESCAPED_ESCAPE.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    space = ' xml:space="preserve"' if _EDGE_SPACE.search(text) else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<t{space}>{text}</t>"


def _number(value: int | float | Decimal) -> str | None:
    """A number as xlsxwriter writes it, or None if a cell cannot hold it (not a
    number, infinite, beyond ±1.8e308): it is then written as its text."""
    try:
        number = float(value)
    except OverflowError:
        return None
    return f"{number:.16G}" if math.isfinite(number) else None


class RowWriter:
    """Serialises rows (text, dates, numbers, yes/no) to ``<row>`` elements.

    ``text``/``wrap``/``date``/``number`` are the xf indices of the cell formats; columns
    in ``wide`` take ``wrap``. Values map to cells as in the rest of the register: empty
    strings and None are left out (or written empty in the ``blank`` format), booleans
    are 是/否, ints, floats and Decimals are numbers (as text if no cell can hold them). Every cell's markup around
    its row number and value is prepared once per column."""

    def __init__(
        self,
        columns: int,
        *,
        text: int,
        wrap: int,
        date: int,
        number: int,
        wide: set[int],
        blank: int | None = None,
    ) -> None:
        self.opens = [f'<c r="{xl_col_to_name(c)}' for c in range(columns)]
        # (a summary's tables draw borders round empty cells too: their style is kept)
        self.blank_end = None if blank is None else f'" s="{blank}"/>'
        self.text_mid = [
            f'" s="{wrap if c in wide else text}" t="inlineStr"><is>' for c in range(columns)
        ]
        self.plain_mid = f'" s="{text}" t="inlineStr"><is>'
        self.date_mid = f'" s="{date}"><v>'
        self.number_mid = f'" s="{number}"><v>'
        # Most text repeats (committees, names, states, units): whether it is plain is
        # looked up, not checked again (a dict look-up of a str costs a tenth of _plain).
        self.known: dict[str, bool] = {}

    def row(self, index: int, values: Sequence[Any]) -> str:
        """The ``<row>`` for zero-based row ``index``."""
        n = str(index + 1)
        cells: list[str] = []
        add = cells.append
        opens = self.opens
        known = self.known
        for c, value in enumerate(values):
            if value is None or value == "":
                if self.blank_end is not None:
                    add(f"{opens[c]}{n}{self.blank_end}")
                continue
            if isinstance(value, str):
                plain = known.get(value)
                if plain is None:
                    if len(known) >= KNOWN_TEXTS:  # bounded: unique texts would pile up
                        known.clear()
                    plain = known[value] = _plain(value)
                if plain:  # most text: no escaping, no cut
                    add(f"{opens[c]}{n}{self.text_mid[c]}<t>{value}</t></is></c>")
                else:
                    add(f"{opens[c]}{n}{self.text_mid[c]}{_string_body(value)}</is></c>")
            elif isinstance(value, dt.date):
                day = value.date() if isinstance(value, dt.datetime) else value
                add(f"{opens[c]}{n}{self.date_mid}{excel_date(day)}</v></c>")
            elif isinstance(value, bool):
                add(f"{opens[c]}{n}{self.plain_mid}<t>{'是' if value else '否'}</t></is></c>")
            elif isinstance(value, int | float | Decimal) and (number := _number(value)):
                add(f"{opens[c]}{n}{self.number_mid}{number}</v></c>")
            else:
                add(f"{opens[c]}{n}{self.plain_mid}{_string_body(str(value))}</is></c>")
        if not cells:
            return ""
        return f'<row r="{n}">{"".join(cells)}</row>'


def serialise(writer: RowWriter, start: int, rows: Sequence[Sequence[Any]]) -> tuple[bytes, int]:
    """``rows`` as XML from row ``start`` on, and the last of them holding a cell (-1 if
    none does)."""
    parts, last = [], -1
    for i, values in enumerate(rows):
        xml = writer.row(start + i, values)
        if xml:
            parts.append(xml)
            last = start + i
    return "".join(parts).encode(), last


def chunks_of(blocks: Iterable[Block], per_chunk: int | None = None) -> Iterator[list[Block]]:
    """The blocks in chunks of about ``per_chunk`` (``CHUNK_BLOCKS`` if not given), as
    ``SheetBody.extend_blocks`` cuts them on one sheet."""
    every = per_chunk or CHUNK_BLOCKS
    most = MAX_CHUNK_BLOCKS if per_chunk is None else 8 * per_chunk
    chunk: list[Block] = []
    for block in blocks:
        chunk.append(block)
        if len(chunk) >= most or zlib.crc32(block.key.encode()) % every == 0:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def row_chunks(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[list[Sequence[Any]], str]]:
    """Plain rows in chunks, each with a digest of its rows' values. A chunk ends after
    a row whose text's CRC is a multiple of ``ROW_CHUNK`` (or after ``MAX_CHUNK_ROWS``
    rows), so rows added or changed change the chunks around them only. A row's text is
    its ``repr``: every cell type of the register (str, int, Decimal, date, bool, None)
    has one that is its value, never an address."""
    chunk: list[Sequence[Any]] = []
    digest = sha256()
    for row in rows:
        text = repr(row).encode()
        chunk.append(row)
        digest.update(text + b"\n")  # (a repr holds no raw line feed)
        if zlib.crc32(text) % ROW_CHUNK == 0 or len(chunk) >= MAX_CHUNK_ROWS:
            yield chunk, digest.hexdigest()[:32]
            chunk, digest = [], sha256()
    if chunk:
        yield chunk, digest.hexdigest()[:32]


@dataclass(slots=True)
class Chunk:
    """Where a chunk sits in a sheet part: its first row, its rows, the last row holding
    a cell, a digest of its blocks' keys (or of its plain rows' values), the CRC and
    length of its XML, the offset and length of its segment in the part's compressed
    body, and its blocks (key, first row, rows, last row with a cell, offset and length
    of the XML; none for plain rows)."""

    start: int
    count: int
    last: int
    digest: str
    crc: int
    size: int
    offset: int = 0
    length: int = 0
    blocks: list[list[Any]] = field(default_factory=list)

    def as_json(self) -> list[Any]:
        return [self.start, self.count, self.last, self.digest, self.crc, self.size,
                self.offset, self.length, self.blocks]  # fmt: skip


# A chunk of plain rows built by another process, as ``SheetBody`` builds it at row
# ``start``: (start, last row holding a cell, CRC and length of its XML, the XML
# compressed as one segment).
Built = tuple[int, int, int, int, bytes]
# A chunk of a plain sheet as another process cut it (``excel.chunk_workers.make_plain``):
# its digest, its number of rows, and the chunk built (None where that process found it
# in the previous register, at the same place).
MadeChunk = tuple[str, int, Built | None]
# A plain sheet as another process made it: the widths its first rows need (per column,
# as ``register_book`` measures them), and its chunks.
PlainMade = tuple[list[int], list[MadeChunk]]


def build_plain(writer: RowWriter, start: int, rows: Sequence[Sequence[Any]]) -> Built:
    """A chunk of plain rows from row ``start`` on, as ``SheetBody._add_rows`` adds it
    (made in another process: ``excel.chunk_workers.make_plain``)."""
    xml, last = serialise(writer, start, rows)
    return start, last, zlib.crc32(xml), len(xml), compress_segment([xml])


def takes(made: Sequence[MadeChunk], cache: PartCache | None, start: int = 1) -> bool:
    """Whether ``SheetBody.extend_made`` can add the chunks ``made`` from row ``start``
    on: each one built was built where it goes, and each one not built is in ``cache``
    where it would go."""
    for digest, count, built in made:
        if built is not None and built[0] != start:
            return False
        if built is None:
            old = cache.get(start, digest) if cache is not None else None
            if old is None or old.count != count or cache.segment(old) is None:
                return False
        start += count
    return True


@dataclass(slots=True)
class Sample:
    """The blocks whose rows gave a block sheet its column widths (``register_book``),
    those widths, and whether the sample stopped at its limit (not for want of blocks)."""

    keys: list[str]
    widths: list[int]
    full: bool

    def as_json(self) -> list[Any]:
        return [self.keys, self.widths, self.full]


def digest_of(keys: Sequence[str]) -> str:
    """Names a chunk by its blocks' keys."""
    return sha256("\n".join(keys).encode()).hexdigest()[:32]


class SheetBody:
    """The data rows of one sheet, compressed on a second thread as they are made
    (``excel.deflate``) and kept until the workbook is done.

    Rows go in chunks — of blocks (``extend_blocks``) or of plain rows
    (``extend_rows``) — one compressed segment each, indexed (``chunks``) so that the
    next rendering can copy unchanged chunks from this one (``BlockCache``). Rows added
    by ``extend`` (a summary's, written afresh each time) are in no chunk: such a body
    has no index."""

    def __init__(self, writer: RowWriter, first_row: int) -> None:
        self.writer = writer
        self.next_row = first_row
        self.last_row = first_row - 1  # last row that holds a cell
        self.chunks: list[Chunk] = []
        self.deflate = BackgroundDeflate()

    def __enter__(self) -> SheetBody:
        return self

    def __exit__(self, *exc: object) -> None:
        self.deflate.discard()

    def _serialise(self, start: int, rows: Sequence[Sequence[Any]]) -> tuple[bytes, int]:
        return serialise(self.writer, start, rows)

    def _advance(self, count: int, last: int) -> None:
        self.next_row += count
        if last >= 0:
            self.last_row = last

    def extend_blocks(
        self,
        blocks: Iterator[Block],
        limit: int,
        cache: PartCache | None,
        per_chunk: int | None = None,
    ) -> Iterator[Block] | None:
        """Add whole blocks (in ``chunks_of`` them) while they fit in rows up to
        ``limit``; the blocks left for the next sheet, or None when all were added."""
        blocks = iter(blocks)
        for chunk in chunks_of(blocks, per_chunk):
            left = self._add_chunk(chunk, limit, cache)
            if left:
                return itertools.chain(left, blocks)
        return None

    def _add_chunk(
        self, chunk: list[Block], limit: int, cache: PartCache | None
    ) -> list[Block] | None:
        """Copy or build one chunk; the blocks that did not fit (for the next sheet)."""
        digest = digest_of([b.key for b in chunk])
        if cache is not None and self._copied(cache, digest, limit):
            return None
        start = self.next_row
        added: list[Block] = []
        index: list[list[Any]] = []
        left: list[Block] = []
        offset = 0
        for i, block in enumerate(chunk):
            row = self.next_row
            # (a block copied or moved from a chunk that changed around it: inflated,
            # not built)
            copy = cache.block(block.key, row) if cache else None
            if copy is not None:
                count, last, data = copy
            else:
                rows = block.rows()
                count = len(rows)
            if row - 1 + count > limit and row > 1:  # on to the next sheet, whole
                again = block if copy is not None else Block(block.key, lambda r=rows: r)
                left = [again, *chunk[i + 1 :]]
                break
            if copy is None:
                data, last = self._serialise(row, rows)
            self.deflate.write(data)
            self._advance(count, last)
            added.append(block)
            index.append([block.key, row, count, last, offset, len(data)])
            offset += len(data)
        if added:
            crc, size = self.deflate.end_segment()
            count = self.next_row - start
            last = self.last_row if self.last_row >= start else -1
            self.chunks.append(
                Chunk(
                    start, count, last, digest_of([b.key for b in added]), crc, size, blocks=index
                )
            )
        return left or None

    def _copied(self, cache: PartCache, digest: str, limit: int | None = None) -> bool:
        """Copy the chunk named ``digest`` if it sat at this row before (and fits in
        rows up to ``limit``)."""
        start = self.next_row
        old = cache.get(start, digest)
        if old is None or (limit is not None and start - 1 + old.count > limit and start > 1):
            return False
        data = cache.segment(old)
        if data is None:
            return False
        self.deflate.add_segment(data, old.crc, old.size)
        self.chunks.append(
            Chunk(start, old.count, old.last, digest, old.crc, old.size, blocks=old.blocks)
        )
        self._advance(old.count, old.last)
        return True

    def extend(self, rows: Iterable[Sequence[Any]]) -> None:
        """Add rows with no chunks to copy next time (a summary is written afresh)."""
        rows = iter(rows)
        while batch := list(itertools.islice(rows, FLUSH_ROWS)):
            data, last = self._serialise(self.next_row, batch)
            self.deflate.write(data)
            self._advance(len(batch), last)

    def extend_rows(self, rows: Iterable[Sequence[Any]], cache: PartCache | None) -> None:
        """Add plain rows in chunks cut by their content (``row_chunks``): a chunk whose
        rows sat at the same place in the previous register is copied from it, one that
        sat elsewhere is moved from there."""
        for chunk, digest in row_chunks(rows):
            if cache is not None and (
                self._copied(cache, digest) or self._moved(cache, digest, len(chunk))
            ):
                continue
            self._add_rows(chunk, digest)

    def extend_made(self, made: Sequence[MadeChunk], cache: PartCache | None) -> None:
        """Add plain rows cut into chunks and built by another process (if ``takes``
        them), as ``extend_rows`` would have added them."""
        for digest, count, built in made:
            if cache is not None and self._copied(cache, digest):
                continue
            if built is None:
                raise ValueError(f"chunk {digest} neither built nor at row {self.next_row}")
            start, last, crc, size, segment = built
            self.add_built(Chunk(start, count, last, digest, crc, size), segment)

    def _moved(self, cache: PartCache, digest: str, count: int) -> bool:
        """Add the chunk of plain rows named ``digest`` from where it sat in the previous
        register, ``moved`` here (rows above it were added or removed)."""
        old = cache.elsewhere(digest)
        if old is None or old.count != count:
            return False
        xml = cache.inflated(old)
        shifted = None if xml is None else moved(xml, old.start, count, self.next_row)
        if shifted is None:
            return False
        self._add_xml(shifted[0], count, shifted[1], digest)
        return True

    def _add_rows(self, chunk: Sequence[Sequence[Any]], digest: str) -> None:
        data, last = self._serialise(self.next_row, chunk)
        self._add_xml(data, len(chunk), last, digest)

    def _add_xml(self, data: bytes, count: int, last: int, digest: str) -> None:
        """One chunk of plain rows, as XML, compressed on its own."""
        start = self.next_row
        self.deflate.write(data)
        crc, size = self.deflate.end_segment()
        self.chunks.append(Chunk(start, count, last, digest, crc, size))
        self._advance(count, last)

    def add_built(self, chunk: Chunk, data: bytes) -> None:
        """Append a chunk built and compressed elsewhere, at ``next_row``."""
        if chunk.start != self.next_row:
            raise ValueError(f"chunk for row {chunk.start} at row {self.next_row}")
        self.deflate.add_segment(data, chunk.crc, chunk.size)
        self.chunks.append(chunk)
        self._advance(chunk.count, chunk.last)

    def chunk_index(self) -> list[list[Any]]:
        """The chunks with their places in the compressed body (after ``close``)."""
        if len(self.deflate.spans) != len(self.chunks):
            raise ValueError("rows written outside chunks")
        for chunk, (offset, length) in zip(self.chunks, self.deflate.spans, strict=True):
            chunk.offset, chunk.length = offset, length
        return [c.as_json() for c in self.chunks]


class PartCache:
    """The chunks of one sheet part of the previous register.xlsx: copied compressed
    where all their blocks are unchanged and in place, else inflated for the blocks
    that are unchanged (``moved`` if rows above them were added or removed)."""

    def __init__(self, body: memoryview, chunks: list[Chunk]) -> None:
        self.body = body
        self.chunks = {(c.start, c.digest): c for c in chunks}
        self.blocks = {b[0]: (c, b) for c in chunks for b in c.blocks}
        self.plain = {c.digest: c for c in chunks if not c.blocks}
        self._inflated: tuple[Chunk, bytes] | None = None  # (blocks come in order)

    def get(self, start: int, digest: str) -> Chunk | None:
        """The chunk of these blocks (by ``digest``) if it sat at ``start`` too."""
        return self.chunks.get((start, digest))

    def elsewhere(self, digest: str) -> Chunk | None:
        """The chunk of plain rows named ``digest``, wherever it sat."""
        return self.plain.get(digest)

    def segment(self, chunk: Chunk) -> memoryview | None:
        data = self.body[chunk.offset : chunk.offset + chunk.length]
        return data if len(data) == chunk.length else None

    def inflated(self, chunk: Chunk) -> bytes | None:
        """The XML of ``chunk`` (the last one asked for is kept: blocks come in order)."""
        if self._inflated is None or self._inflated[0] is not chunk:
            segment = self.segment(chunk)
            if segment is None:
                return None
            try:
                xml = zlib.decompressobj(-zlib.MAX_WBITS).decompress(segment)
            except zlib.error:  # (an index not of this file: its rows are built)
                return None
            if len(xml) != chunk.size:
                return None
            self._inflated = (chunk, xml)
        return self._inflated[1]

    def block(self, key: str, start: int) -> tuple[int, int, bytes] | None:
        """(rows, last row with a cell, XML) of the block, ``moved`` to ``start`` if it
        sat elsewhere (a project above it gained or lost rows)."""
        found = self.blocks.get(key)
        if found is None:
            return None
        chunk, entry = found
        try:
            _key, was, count, last, offset, length = entry
        except (TypeError, ValueError):
            return None  # (an index not of this shape: the block is built)
        if not all(type(v) is int for v in (was, count, last, offset, length)):
            return None
        whole = self.inflated(chunk)
        if whole is None or not 0 <= offset <= offset + length <= len(whole):
            return None
        xml = whole[offset : offset + length]
        if (
            start == was
            and xml.startswith(b'<row r="%d"' % (start + 1))
            and xml.endswith(b"</row>")
        ):
            return count, last, xml  # (in place, and its rows where the index says)
        shifted = moved(xml, was, count, start)
        if shifted is None:
            return None
        return count, shifted[1], shifted[0]


def moved(xml: bytes, first: int, count: int, to: int) -> tuple[bytes, int] | None:
    """Rows as ``RowWriter`` wrote them from row ``first`` on (``count`` rows), moved to
    start at row ``to``: each ``<row>``'s number and its cells' references changed,
    nothing else; and the last of them holding a cell there (-1 if none). Renumbering a
    province's task rows costs a fifth of building them again from their values (see
    docs/PERFORMANCE.md, 72). None if a cell's text holds what follows a reference (the
    row's number and ``" s="``), or if the rows are not whole rows numbered from
    ``first`` on as the index says (a damaged index): such rows are built again. (Text
    holds no ``<``, which is escaped, so every ``<row r="`` and ``<c r="`` is markup,
    and ``<c r="`` opens every cell.)"""
    rows = xml.split(b'<row r="')
    if rows[0]:
        return None
    by = to - first
    out = [b""]
    previous = first  # (a row's number is its index + 1)
    for row in rows[1:]:
        end = row.find(b'"')
        number = row[:end]
        n = int(number) if number.isdigit() else 0
        if not previous < n <= first + count or not row.endswith(b"</row>"):
            return None
        reference = number + b'" s="'
        if row.count(reference) != row.count(b'<c r="'):
            return None
        previous = n
        new = b"%d" % (n + by)
        out.append(new + row[end:].replace(reference, new + b'" s="'))
    last = previous - 1 + by if len(rows) > 1 else -1
    return b'<row r="'.join(out), last


def indexed_parts(index: str | None, sha: str) -> dict[str, Any] | None:
    """The sheet parts an index describes (``BlockCache``), if it is the index of the
    register whose hash is ``sha``."""
    try:
        described = json.loads(index or "")
    except ValueError:
        return None
    if not isinstance(described, dict) or described.get("sha256") != sha:
        return None
    parts = described.get("parts")
    return parts if isinstance(parts, dict) else {}


def held_chunks(index: str | None, sha: str) -> dict[str, set[tuple[int, str, int]]]:
    """Each sheet part's chunks (first row, digest, rows) in the index of the register
    whose hash is ``sha`` (none if it is the index of another file, or not of this
    shape): what another process can tell of them without the register's bytes."""
    found: dict[str, set[tuple[int, str, int]]] = {}
    try:
        for name, part in (indexed_parts(index, sha) or {}).items():
            chunks = [Chunk(*fields) for fields in part["chunks"]]
            found[name] = {(c.start, c.digest, c.count) for c in chunks}
    except (TypeError, KeyError):
        return {}
    return found


class BlockCache:
    """Chunks of the previous register.xlsx, for a rendering that may copy them.

    The index is what the previous rendering returned, with the hash of the workbook it
    describes: for each sheet part (by sheet name and part number) its zip member, a
    fingerprint of everything else its rows depend on (formats, columns, code, zlib),
    the length of the compressed XML before its rows and its chunks. The workbook is
    used only if it is still that very file (its bytes are not inflated or checked
    again: the hash was)."""

    def __init__(self, workbook: bytes, parts: dict[str, Any]) -> None:
        self.workbook, self.parts = workbook, parts

    @classmethod
    def load(cls, data: bytes, index: str, sha: str | None = None) -> BlockCache | None:
        """The cache for the register whose bytes are ``data`` (read once by the caller,
        who may have hashed them: ``sha``), or None unless ``index`` describes that very
        file (not one the clerk saved, or an older xlsxflow wrote, since)."""
        parts = indexed_parts(index, sha256(data).hexdigest() if sha is None else sha)
        return None if parts is None else cls(data, parts)

    def sample(self, name: str, fingerprint: str) -> Sample | None:
        """What gave block sheet ``name`` its column widths last time."""
        entry = self.parts.get(name)
        try:
            if entry is None or entry["fingerprint"] != fingerprint:
                return None
            keys, widths, full = entry["sample"]
            if all(isinstance(k, str) for k in keys) and all(type(w) is int for w in widths):
                return Sample(list(keys), list(widths), full is True)
        except (KeyError, TypeError, ValueError):
            pass  # (recorded by an older xlsxflow, or not of this shape)
        return None

    def part(self, name: str, fingerprint: str) -> PartCache | None:
        entry = self.parts.get(name)
        try:
            if entry is None or entry["fingerprint"] != fingerprint:
                return None
            with zipfile.ZipFile(io.BytesIO(self.workbook)) as zf:
                info = zf.getinfo(entry["member"])
            if info.compress_type != zipfile.ZIP_DEFLATED:
                return None
            at = info.header_offset
            fixed = _LOCAL_HEADER.unpack(self.workbook[at : at + _LOCAL_HEADER.size])
            if fixed[0] != b"PK\x03\x04":
                return None
            begin = at + _LOCAL_HEADER.size + fixed[-2] + fixed[-1]
            member = memoryview(self.workbook)[begin : begin + info.compress_size]
            chunks = [Chunk(*fields) for fields in entry["chunks"]]
            for c in chunks:  # (the blocks' fields are checked where they are used)
                numbers = (c.start, c.count, c.last, c.crc, c.size, c.offset, c.length)
                if not all(type(v) is int for v in numbers) or type(c.digest) is not str:
                    return None
            return PartCache(member[int(entry["head_z"]) :], chunks)
        except (KeyError, TypeError, ValueError, IndexError, zipfile.BadZipFile, struct.error):
            return None  # an index not of this shape: build the rows instead


def splice(
    workbook: bytes, bodies: dict[str, SheetBody], last_columns: dict[str, int]
) -> tuple[bytes, dict[str, int]]:
    """Copy the zip xlsxwriter wrote, putting each body's rows at the end of its sheet's
    ``sheetData`` and widening the sheet's ``dimension`` to cover them.

    ``bodies`` and ``last_columns`` are keyed by part name (``xl/worksheets/sheetN.xml``);
    every other member is copied as it is, with its original (fixed) time stamp. Also
    returns, per spliced part, the compressed length of its XML before the rows."""
    out = io.BytesIO()
    heads: dict[str, int] = {}
    with (
        zipfile.ZipFile(io.BytesIO(workbook)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as dst,
    ):
        for info in src.infolist():
            data = src.read(info)
            body = bodies.get(info.filename)
            if body is None:
                dst.writestr(info, data)
                continue
            # (the header row xlsxwriter wrote is always there: sheetData is never empty)
            head, tail = data.decode().split("</sheetData>")
            last = xl_col_to_name(last_columns[info.filename])
            head = re.sub(
                r'<dimension ref="[^"]*"/>',
                f'<dimension ref="A1:{last}{body.last_row + 1}"/>',
                head,
                count=1,
            )
            target = zipfile.ZipInfo(info.filename, info.date_time)
            target.external_attr = info.external_attr
            target.create_system = info.create_system
            body.deflate.close()
            heads[info.filename] = write_member(
                dst, target, head.encode(), body.deflate, f"</sheetData>{tail}".encode()
            )
    return out.getvalue(), heads
