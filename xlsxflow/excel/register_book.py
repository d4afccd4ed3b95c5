"""Draw the register's sheets into ``register.xlsx`` (and read the clerk's edits back)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import io
import itertools
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from xlsxflow.excel.bulk_rows import (
    ONE_ROW_CHUNK_BLOCKS,
    BlockCache,
    PartCache,
    PlainMade,
    RowWriter,
    Sample,
    SheetBody,
    splice,
    takes,
)
from xlsxflow.excel.chunk_workers import Helper, Share, share
from xlsxflow.excel.inert import new_workbook
from xlsxflow.excel.widths import header_widths, widen
from xlsxflow.register.sheets import Block, Sheet

# The style (xf) index of each cell format ``render_register_indexed`` adds, in its
# order: header, department's header, text, wrapped text, date, number. Rows made in
# another process (``chunk_workers.make_plain``) are made with these; the renderer
# takes them only if its own are the same.
CELL_STYLES = (1, 2, 3, 4, 5, 6)
MAX_WIDTH = 50
ROWS_PER_SHEET = 1_048_575  # Excel's 1,048,576 rows less the header
SAMPLE_ROWS = 500
SAMPLE_BLOCKS = 100
WIDE_WIDTH = 40


def render_register(sheets: Sequence[Sheet], created: dt.datetime, title: str) -> bytes:
    return render_register_indexed(sheets, created, title)[0]


def render_register_indexed(
    sheets: Sequence[Sheet],
    created: dt.datetime,
    title: str,
    cache: BlockCache | None = None,
    helper: Helper | None = None,
    made: Callable[[], dict[str, PlainMade] | None] | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """The workbook, and the index of its row blocks for ``BlockCache`` next time.
    Blocks copied from ``cache``, or made by ``helper`` (``excel.chunk_workers``), are
    byte for byte what would have been built here; and so are plain sheets' chunks
    ``made`` by another process (``chunk_workers.make_plain``: asked when the first plain
    sheet is reached, None if it failed), of which those not built there are copied
    from ``cache``."""
    buffer = io.BytesIO()
    book = new_workbook(buffer, constant_memory=True)
    book.set_properties({"title": title, "author": "xlsxflow", "created": created})
    head = book.add_format(
        {
            "bold": True,
            "font_name": "宋体",
            "bg_color": "#D9D9D9",
            "border": 1,
            "text_wrap": True,
            "valign": "vcenter",
            "align": "center",
        }
    )
    dept_head = book.add_format(
        {
            "bold": True,
            "font_name": "宋体",
            "bg_color": "#FFF2CC",
            "border": 1,
            "text_wrap": True,
            "valign": "vcenter",
            "align": "center",
        }
    )
    text = book.add_format({"font_name": "宋体", "valign": "top"})
    wrap = book.add_format({"font_name": "宋体", "valign": "top", "text_wrap": True})
    date = book.add_format({"font_name": "宋体", "valign": "top", "num_format": "yyyy-mm-dd"})
    number = book.add_format({"font_name": "宋体", "valign": "top", "num_format": "#,##0.##"})
    # The data rows are serialised by bulk_rows, which needs each format's style index
    # before xlsxwriter would hand them out (on first use): fix them now, in this order.
    styles = [fmt._get_xf_index() for fmt in (head, dept_head, text, wrap, date, number)]
    bodies: dict[str, SheetBody] = {}
    last_columns: dict[str, int] = {}
    parts: dict[str, tuple[str, str]] = {}  # each sheet part: (sheet name, fingerprint)
    samples: dict[str, list[Any]] = {}  # a block sheet's first part: keys sampled, widths

    def fingerprint_of(sheet: Sheet) -> str:
        wide = sorted(wide_columns(sheet))
        made = repr((rows_code(), sheet.headers, styles, wide, sheet.signature))
        return hashlib.sha256(made.encode()).hexdigest()

    # Block sheets with nothing to copy are shared with the helper first, so that it
    # makes its chunks while this process makes everything else.
    shares: dict[str, Share] = {}
    for sheet in sheets if helper is not None else ():
        if sheet.blocks is None or sheet.made_by is None:
            continue
        if cache is not None and cache.part(sheet.name, fingerprint_of(sheet)) is not None:
            continue
        sheet.blocks = blocks = list(sheet.blocks)
        assert helper is not None
        writer = row_writer(sheet, styles)
        found = share(
            blocks, sheet.made_by, writer, ROWS_PER_SHEET, helper, SAMPLE_BLOCKS, per_chunk(sheet)
        )
        if found is not None:
            shares[sheet.name] = found
    same_styles = tuple(styles) == CELL_STYLES
    made_once = functools.cache(made) if made is not None and same_styles else None

    def made_for(sheet: Sheet, fingerprint: str) -> tuple[PlainMade, PartCache | None] | None:
        """The chunks made elsewhere of a plain sheet, if they can go in as made: every
        one not built is in the previous register where it would go, in one part."""
        if made_once is None or not sheet.plain:
            return None
        found = (made_once() or {}).get(sheet.name)
        reuse = cache.part(sheet.name, fingerprint) if cache is not None else None
        if found is None or len(found[0]) != len(sheet.headers):
            return None
        chunks = found[1]
        if sum(c[1] for c in chunks) > ROWS_PER_SHEET or not takes(chunks, reuse):
            return None
        return found, reuse

    deferred: list[tuple[SheetBody, Share, int | None]] = []
    with contextlib.ExitStack() as stack:
        for sheet in sheets:
            widths = header_widths(sheet.headers)
            fingerprint = fingerprint_of(sheet)
            ready = made_for(sheet, fingerprint)
            rows = iter(() if ready is not None else sheet.rows)
            # widths from the first rows; the rest streams through to a temporary file
            sample = list(itertools.islice(rows, SAMPLE_ROWS))
            widen(widths, sample)
            if ready is not None:  # (measured on the same rows where they were made)
                widths = [max(w, m) for w, m in zip(widths, ready[0][0], strict=True)]
            writer = row_writer(sheet, styles)
            wide = wide_columns(sheet)
            remaining: Iterator[Sequence[object]] = itertools.chain(sample, rows)
            shared = shares.get(sheet.name)
            known = cache.sample(sheet.name, fingerprint) if cache and not shared else None
            pending, sampled = _sampled_blocks(
                shared.mine if shared else sheet.blocks, widths, known
            )
            # A sheet holds 1,048,576 rows: more (a province's tasks) go on to 续 sheets.
            for part_no in itertools.count(1):
                name = sheet.name if part_no == 1 else f"{sheet.name}（续{part_no - 1}）"
                ws = book.add_worksheet(name)
                for i, w in enumerate(widths):
                    width = min(w + 2, WIDE_WIDTH if i in wide else MAX_WIDTH)
                    ws.set_column(i, i, width, wrap if i in wide else text)
                ws.set_row(0, 30)
                for col, header in enumerate(sheet.headers):
                    fmt = dept_head if header in sheet.dept_columns else head
                    ws.write_string(0, col, header, fmt)
                part = f"xl/worksheets/sheet{len(book.worksheets())}.xml"
                body = bodies[part] = stack.enter_context(SheetBody(writer, first_row=1))
                last_columns[part] = len(sheet.headers) - 1
                if pending is not None:
                    reuse = cache.part(name, fingerprint) if cache and not shared else None
                    pending = body.extend_blocks(pending, ROWS_PER_SHEET, reuse, per_chunk(sheet))
                    if shared is not None:  # (fits one part: planned so) the helper's
                        deferred.append((body, shared, per_chunk(sheet)))  # chunks come last
                    parts[part] = (name, fingerprint)
                    if part_no == 1 and sampled is not None:
                        samples[part] = sampled.as_json()
                    more = pending is not None
                elif ready is not None:
                    body.extend_made(ready[0][1], ready[1])
                    parts[part] = (name, fingerprint)
                    more = False
                else:
                    reuse = cache.part(name, fingerprint) if cache else None
                    body.extend_rows(itertools.islice(remaining, ROWS_PER_SHEET), reuse)
                    parts[part] = (name, fingerprint)
                    following = next(remaining, None)
                    more = following is not None
                    if more:
                        remaining = itertools.chain([following], remaining)
                ws.freeze_panes(1, 0)
                end = shared.end if shared else body.next_row
                ws.autofilter(0, 0, max(end - 1, 1), len(sheet.headers) - 1)
                ws.set_landscape()
                ws.set_paper(9)
                ws.fit_to_pages(1, 0)
                ws.repeat_rows(0)
                ws.set_footer("&C第 &P 页，共 &N 页")
                if not more:
                    break
        for body, shared, cut in deferred:
            built = shared.chunks(body.next_row)
            # (the helper failed: its blocks made here instead, to the same bytes)
            left = (
                body.extend_blocks(iter(shared.rest), ROWS_PER_SHEET, None, cut)
                if not built
                else None
            )
            if left is not None:
                raise ValueError("the stored returns hold more rows than counted")
            for chunk, data in built or ():
                body.add_built(chunk, data)
        book.close()
        data, heads = splice(buffer.getvalue(), bodies, last_columns)
        index = {
            name: {
                "member": part,
                "fingerprint": fingerprint,
                "head_z": heads[part],
                "chunks": bodies[part].chunk_index(),
            }
            | ({"sample": samples[part]} if part in samples else {})
            for part, (name, fingerprint) in parts.items()
        }
        return data, index


def wide_columns(sheet: Sheet) -> set[int]:
    """The columns of ``sheet`` whose text wraps."""
    return {i for i, h in enumerate(sheet.headers) if h in sheet.wide}


def row_writer(sheet: Sheet, styles: Sequence[int]) -> RowWriter:
    """What serialises the rows of ``sheet``, with the cell formats' ``styles`` (in the
    order of ``CELL_STYLES``)."""
    return RowWriter(
        len(sheet.headers),
        text=styles[2],
        wrap=styles[3],
        date=styles[4],
        number=styles[5],
        wide=wide_columns(sheet),
    )


def per_chunk(sheet: Sheet) -> int | None:
    """How many blocks go to a chunk of ``sheet``, about (None: ``CHUNK_BLOCKS``)."""
    return ONE_ROW_CHUNK_BLOCKS if sheet.one_row_blocks else None


@functools.cache
def rows_code() -> str:
    """A hash of the code and specs that turn stored values into compressed row XML: a
    chunk made by other code (an upgrade, a changed spec, another zlib) is never copied,
    whatever the version."""
    from xlsxflow.excel import bulk_rows, deflate, inert
    from xlsxflow.fingerprint import code_digest
    from xlsxflow.register import codec, sheets, state

    modules = (bulk_rows, deflate, inert, codec, sheets, state, sys.modules[__name__])
    return code_digest(*modules, extra=zlib.ZLIB_RUNTIME_VERSION)


def _sampled_blocks(
    sheet_blocks: Iterable[Block] | None,
    widths: list[int],
    known: Sample | None = None,
) -> tuple[Iterator[Block] | None, Sample | None]:
    """A block sheet's blocks, with the column widths taken from the rows of its first
    blocks: 500 rows or more, or 100 blocks (经费台账 has a few rows a project, and each
    block read here costs its payload); and what was sampled. ``known``: the sample of
    the previous register, whose widths are taken again, without building a row, if
    the sheet starts with the same blocks and they were all the sample had (it stopped
    at its limit, or the sheet still has no other blocks)."""
    if sheet_blocks is None:
        return None, None
    blocks = iter(sheet_blocks)
    if known is not None:
        head = list(itertools.islice(blocks, len(known.keys)))
        if [b.key for b in head] == known.keys and len(known.widths) == len(widths):
            following = [] if known.full else list(itertools.islice(blocks, 1))
            if not following:
                widths[:] = known.widths
                return itertools.chain(head, blocks), known
            head += following
        blocks = itertools.chain(head, blocks)
    first: list[Block] = []
    seen = 0
    full = False
    for block in blocks:
        rows = block.rows()
        first.append(Block(block.key, lambda rows=rows: rows))
        widen(widths, rows)
        seen += len(rows)
        if seen >= SAMPLE_ROWS or len(first) >= SAMPLE_BLOCKS:
            full = True
            break
    return itertools.chain(first, blocks), Sample([b.key for b in first], list(widths), full)
