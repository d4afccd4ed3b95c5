"""Write the rows of very large sheets faster than xlsxwriter's cell-by-cell calls.

The register's 任务台账 has one row per task: 400,000 rows × 14 cells for a province's
10,000 ledgers. xlsxwriter spends 3–4 µs on each cell (argument checks, a tuple per cell,
attribute lists, regex escapes), which made writing the register most of a merge. Here the
data rows of such a sheet are serialised in one pass into exactly the XML xlsxwriter's
constant-memory mode writes for them (``tests/test_bulk_rows.py`` compares the two byte
for byte), at a sixth of the cost or less, and spliced into the sheet part of the
workbook xlsxwriter wrote around them: xlsxwriter still writes everything else —
the header row, styles, column widths, filters, print setup, properties.

Sheets built per project (``register.sheets.Block``) are also indexed block by block,
so that the next rendering can copy the XML of blocks that have not changed from the
previous register.xlsx (``BlockCache``) instead of building it again.

One deliberate difference: xlsxwriter copies a string shaped like ``<r>…</r>`` into the
XML unescaped (see ``excel.inert``); here every string is escaped.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import re
import struct
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from functools import lru_cache
from hashlib import sha256
from typing import IO, Any

from xlsxwriter.utility import xl_col_to_name

from xlsxflow.excel.deflate import BackgroundDeflate, write_member
from xlsxflow.excel.inert import MAX_CELL_UNITS, fit_cell
from xlsxflow.register.sheets import Block

FLUSH_ROWS = 2_000
KNOWN_TEXTS = 50_000
INFLATE_STEP = 8 << 20  # bytes of XML out per zlib call
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


class RowWriter:
    """Serialises register rows (text, dates, numbers, yes/no) to ``<row>`` elements.

    ``text``/``wrap``/``date``/``number`` are the xf indices of the cell formats; columns
    in ``wide`` take ``wrap``. Values map to cells as in the rest of the register: empty
    strings and None are left out, booleans are 是/否, ints and Decimals are numbers.
    Every cell's markup around its row number and value is prepared once per column."""

    def __init__(
        self, columns: int, *, text: int, wrap: int, date: int, number: int, wide: set[int]
    ) -> None:
        self.opens = [f'<c r="{xl_col_to_name(c)}' for c in range(columns)]
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
            elif isinstance(value, int | Decimal):
                add(f"{opens[c]}{n}{self.number_mid}{float(value):.16G}</v></c>")
            else:
                add(f"{opens[c]}{n}{self.plain_mid}{_string_body(str(value))}</is></c>")
        if not cells:
            return ""
        return f'<row r="{n}">{"".join(cells)}</row>'


class SheetBody:
    """The data rows of one sheet, compressed on a second thread as they are made
    (``excel.deflate``) and kept until the workbook is done.

    Rows added by ``extend_blocks`` are also indexed by block key (start row, rows,
    last row with a cell, byte offset and length in the body) so that the next
    rendering can copy unchanged blocks from this one (``BlockCache``)."""

    def __init__(self, writer: RowWriter, first_row: int) -> None:
        self.writer = writer
        self.next_row = first_row
        self.last_row = first_row - 1  # last row that holds a cell
        self.size = 0
        self.blocks: dict[str, list[int]] = {}
        self.deflate = BackgroundDeflate()

    def __enter__(self) -> SheetBody:
        return self

    def __exit__(self, *exc: object) -> None:
        self.deflate.discard()

    def _serialise(self, start: int, rows: Sequence[Sequence[Any]]) -> tuple[bytes, int]:
        """``rows`` as XML from row ``start`` on, and the last of them holding a cell
        (-1 if none does)."""
        parts, last = [], -1
        for i, values in enumerate(rows):
            xml = self.writer.row(start + i, values)
            if xml:
                parts.append(xml)
                last = start + i
        return "".join(parts).encode(), last

    def _add(self, data: bytes, count: int, last: int) -> None:
        self.deflate.write(data)
        self.size += len(data)
        self.next_row += count
        if last >= 0:
            self.last_row = last

    def extend(self, rows: Iterable[Sequence[Any]]) -> None:
        rows = iter(rows)
        while chunk := list(itertools.islice(rows, FLUSH_ROWS)):
            data, last = self._serialise(self.next_row, chunk)
            self._add(data, len(chunk), last)

    def extend_blocks(
        self, blocks: Iterator[Block], limit: int, cache: PartCache | None
    ) -> Iterator[Block] | None:
        """Add whole blocks while they fit in rows up to ``limit``; the blocks left for
        the next sheet, or None when all were added."""
        for block in blocks:
            start = self.next_row
            old = cache.get(block.key, start) if cache else None
            if old is not None:
                count, last, data = old
            else:
                rows = block.rows()
                count = len(rows)
                data, last = self._serialise(start, rows)
            if start - 1 + count > limit and start > 1:  # on to the next sheet, whole
                again = Block(block.key, (lambda r=rows: r) if old is None else block.rows)
                return itertools.chain([again], blocks)
            self.blocks[block.key] = [start, count, last, self.size, len(data)]
            self._add(data, count, last)
        return None


class PartCache:
    """The body of one sheet part of the previous register.xlsx, with its block index."""

    def __init__(self, file: IO[bytes], offset: int, blocks: dict[str, list[int]]) -> None:
        self.file, self.offset, self.blocks = file, offset, blocks

    def get(self, key: str, start: int) -> tuple[int, int, bytes] | None:
        """(rows, last row with a cell, XML) of the block if it sat at ``start`` too."""
        entry = self.blocks.get(key)
        if entry is None or entry[0] != start:
            return None
        _start, count, last, offset, length = entry
        self.file.seek(self.offset + offset)
        return count, last, self.file.read(length)


class BlockCache:
    """Blocks of the previous register.xlsx, for a rendering that may reuse them.

    The index is what the previous rendering returned, with the hash of the workbook it
    describes: for each sheet part (by sheet name and part number) its zip member, a
    fingerprint of everything else its row XML depends on (formats, columns, code), the
    length of the XML before its rows and its blocks. The workbook is read once, here,
    and used only if it is still that very file. Its parts are inflated to temporary
    files on threads started here (zlib works outside the GIL), while the caller builds
    the new rows: 160 MB of task rows take ~0.4 s to inflate."""

    def __init__(self, workbook: bytes, parts: dict[str, Any]) -> None:
        self.workbook, self.parts = workbook, parts
        self.files: dict[str, IO[bytes]] = {}  # parts inflated whole
        self.threads: dict[str, threading.Thread] = {}
        for name, entry in sorted(parts.items()):
            thread = threading.Thread(target=self._inflate, args=(name, entry), daemon=True)
            self.threads[name] = thread
            thread.start()

    def _inflate(self, name: str, entry: Any) -> None:
        """Inflate in 8 MB zlib calls: each releases the GIL for its whole run, where
        zipfile's reader would ask for it back every megabyte. (No CRC check: the
        workbook's SHA-256 was checked; the length is.) Whatever goes wrong here — an
        index of another shape, a full disk — only means the rows are built instead:
        a part is handed out only if it came out whole."""
        file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close)
        try:
            with zipfile.ZipFile(io.BytesIO(self.workbook)) as zf:
                info = zf.getinfo(entry["member"])
            if info.compress_type != zipfile.ZIP_DEFLATED:
                raise ValueError(info.compress_type)
            start = info.header_offset
            fixed = _LOCAL_HEADER.unpack(self.workbook[start : start + _LOCAL_HEADER.size])
            if fixed[0] != b"PK\x03\x04":
                raise ValueError("no local header")
            begin = start + _LOCAL_HEADER.size + fixed[-2] + fixed[-1]
            raw = memoryview(self.workbook)[begin : begin + info.compress_size]
            inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            size = 0
            for at in range(0, len(raw), 1 << 20):
                pending: bytes | memoryview = raw[at : at + (1 << 20)]
                while pending:  # (XML inflates 10-20 fold: the output is what is bounded)
                    size += file.write(inflate.decompress(pending, INFLATE_STEP))
                    pending = inflate.unconsumed_tail
            size += file.write(inflate.flush())
            if not inflate.eof or size != info.file_size:
                raise ValueError("part not whole")
        except Exception:
            file.close()
            return
        self.files[name] = file

    @classmethod
    def load(cls, data: bytes, index: str, sha: str | None = None) -> BlockCache | None:
        """The cache for the register whose bytes are ``data`` (read once by the caller,
        who may have hashed them: ``sha``), or None unless ``index`` describes that very
        file (not one the clerk saved, or an older xlsxflow wrote, since)."""
        try:
            described = json.loads(index)
        except ValueError:
            return None
        if sha is None:
            sha = sha256(data).hexdigest()
        if not isinstance(described, dict) or described.get("sha256") != sha:
            return None
        parts = described.get("parts")
        return cls(data, parts if isinstance(parts, dict) else {})

    def part(self, name: str, fingerprint: str) -> PartCache | None:
        entry = self.parts.get(name)
        try:
            if entry is None or entry["fingerprint"] != fingerprint:
                return None
            self.threads[name].join()
            file = self.files.get(name)
            return None if file is None else PartCache(file, int(entry["head"]), entry["blocks"])
        except (KeyError, TypeError, ValueError):
            return None  # an index not of this shape: build the rows instead

    def close(self) -> None:
        for thread in self.threads.values():
            thread.join()
        for file in self.files.values():
            file.close()


def splice(
    workbook: bytes, bodies: dict[str, SheetBody], last_columns: dict[str, int]
) -> tuple[bytes, dict[str, int]]:
    """Copy the zip xlsxwriter wrote, putting each body's rows at the end of its sheet's
    ``sheetData`` and widening the sheet's ``dimension`` to cover them.

    ``bodies`` and ``last_columns`` are keyed by part name (``xl/worksheets/sheetN.xml``);
    every other member is copied as it is, with its original (fixed) time stamp. Also
    returns, per spliced part, the length in bytes of its XML before the rows."""
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
            encoded = head.encode()
            heads[info.filename] = len(encoded)
            body.deflate.close()
            write_member(dst, target, encoded, body.deflate, f"</sheetData>{tail}".encode())
    return out.getvalue(), heads
