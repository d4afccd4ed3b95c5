"""Make part of a big block sheet in a second process while the first makes the rest.

Written from nothing, a province's 任务台账 (200,000 rows) was most of the time a merge
spent after reading the returns, all of it on one core: the rows of each project made
from its stored return, then serialised. Its chunks are independent compressed segments
(``excel.bulk_rows``), so a helper process can make a run of them from the store alone
(``register.sheets.TableRows``) while the main process makes the first ones and the
other sheets; its segments are then appended as they are. Where each chunk starts is
planned first, from the number of rows of each return, counted by SQLite. The bytes
are those the main process would have made alone (tested).

Only a sheet with nothing to copy from the previous register.xlsx, that fits one sheet
part, with enough projects to pay for it, is shared. After a merge has read its files
on several processes, one of those (running, idle) is the helper: from 200 projects on.
Otherwise a helper is spawned (as Windows must, on every system: nothing inherited, no
SQLite connection carried over a fork) before the sheets are built, so that its
start-up overlaps them, from 2,000 projects on. A helper that fails —
killed, out of memory, unable to start — costs time, not the register: what it was to
make is made here, to the same bytes.

The plain sheets (提交记录, 未报送名单, 变更记录: 50,000 rows for a province) are made by
another of merge's readers (``make_plain``): it derives the register from the store as
the merge does and sends back each chunk's digest, and the chunks not found in the
previous register built (all of them, in a register written from nothing), while the
merge makes the rest. A register rewritten from the previous one copies most of its
rows, and what was left was mostly proving these rows unchanged; one written from
nothing spent a second of a province's merge serialising them, in the main process.
The merge checks each chunk not built against its own copy of the previous register
before it uses them, and makes the sheet itself otherwise.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from xlsxflow import collect_less_often
from xlsxflow.excel.bulk_rows import (
    Chunk,
    MadeChunk,
    PlainMade,
    RowWriter,
    build_plain,
    chunks_of,
    digest_of,
    held_chunks,
    row_chunks,
    serialise,
)
from xlsxflow.excel.deflate import compress_segment
from xlsxflow.excel.widths import widen
from xlsxflow.register.sheets import Block, Lead, TableRows
from xlsxflow.register.store import PayloadReader, Store, close_readers

SHARED_FROM = 2_000  # projects: fewer are made sooner in one process (the helper takes
# ~0.35 s to start, as spawned on Windows; it makes ~0.35 ms of rows a project)
WARM_FROM = 200  # projects, with a process that is already running (merge's readers)
HELPER_SHARE = 0.6  # of the rows: the main process also makes every other sheet
# (and where another reader makes the plain sheets, ``make_plain``, less: on two cores
# the helper shares one with it; measured in docs/PERFORMANCE.md, 89 and 91: at 0.45
# the main process still made rows alone 0.4-0.8 s after the helper was done)
HELPER_SHARE_BESIDE_PLAIN = 0.52

Planned = tuple[int, list[tuple[str, Lead, str]]]  # first row, blocks (key, lead, sha)


@dataclass
class Share:
    """The main process's blocks, and the helper's chunks to come after them (made of
    ``rest``), up to the row before ``end``."""

    mine: list[Block]
    theirs: Future[list[tuple[Chunk, bytes]]]
    rest: list[Block]
    end: int

    def chunks(self, start: int) -> list[tuple[Chunk, bytes]] | None:
        """The helper's chunks, from row ``start`` on; None if it failed (it died, was
        killed, could not start) or they do not fill the rows planned: the caller makes
        ``rest`` itself, which gives the same bytes."""
        try:
            built = self.theirs.result()
        except Exception:  # (BrokenProcessPool, or whatever it raised)
            return None
        for chunk, _data in built:
            if chunk.start != start:
                return None
            start += chunk.count
        return built if start == self.end else None


def warm_up() -> None:
    """Run in the helper as soon as it exists: importing this module is its start-up."""
    collect_less_often()


@dataclass(frozen=True)
class Helper:
    """Where chunks can be made, and the fewest projects a sheet needs to be worth it."""

    pool: Executor
    least: int
    share: float = HELPER_SHARE  # (of the rows)


@contextlib.contextmanager
def helper(
    projects: int, running: Executor | None = None, plain_elsewhere: bool = False
) -> Iterator[Helper | None]:
    """A process to share a sheet's rows with, if there are enough projects: one of
    ``running`` (processes that have done their work, such as merge's readers, another
    of which makes the plain sheets if ``plain_elsewhere``), else one started now."""
    if running is not None and projects >= WARM_FROM:
        yield Helper(
            running, WARM_FROM, HELPER_SHARE_BESIDE_PLAIN if plain_elsewhere else HELPER_SHARE
        )
        return
    if projects < SHARED_FROM:
        yield None
        return
    with ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        try:
            pool.submit(warm_up)
        except Exception:  # (no process can be started here: everything made here)
            yield None
            return
        yield Helper(pool, SHARED_FROM)


def share(
    blocks: Sequence[Block],
    made_by: TableRows,
    writer: RowWriter,
    limit: int,
    helper: Helper,
    keep: int,
    per_chunk: int | None = None,
) -> Share | None:
    """Hand the last chunks of ``blocks`` (a sheet starting at row 1) to ``helper``, or
    None if the sheet is not one to share (returns held in memory, rows beyond one sheet
    part, too few projects). The first ``keep`` blocks stay here (the column widths are
    measured on them)."""
    if made_by.store is None or len(blocks) < helper.least or any(b.source is None for b in blocks):
        return None
    shas = [b.source[1] for b in blocks if b.source is not None]
    reader = PayloadReader(made_by.store)
    try:
        counts = reader.table_lengths(sorted(set(shas)), made_by.table)
    finally:
        reader.close()
    chunks = list(chunks_of(blocks, per_chunk))
    total = sum(counts.get(sha, 0) for sha in shas)
    if total > limit:
        return None
    mine: list[Block] = []
    rest: list[Block] = []
    planned: list[Planned] = []
    row = 1
    for chunk in chunks:
        rows = sum(counts.get(b.source[1], 0) for b in chunk if b.source is not None)
        if len(mine) < keep or row - 1 < total * (1 - helper.share):
            mine += chunk
        else:
            rest += chunk
            planned.append((row, [(b.key, *b.source) for b in chunk if b.source is not None]))
        row += rows
    if not planned:
        return None
    try:
        theirs = helper.pool.submit(build_chunks, made_by, writer, planned)
    except Exception:  # (a helper that could not start: made here instead)
        return None
    return Share(mine, theirs, rest, row)


def build_chunks(
    made_by: TableRows, writer: RowWriter, planned: list[Planned]
) -> list[tuple[Chunk, bytes]]:
    """In the helper: each planned chunk made, serialised and compressed as
    ``SheetBody`` would (a fresh compressor per chunk, ended by a full flush)."""
    assert made_by.store is not None
    reader = PayloadReader(made_by.store)
    built = []
    try:
        for start, blocks in planned:
            row, offset, last, crc = start, 0, -1, 0
            parts: list[bytes] = []
            index: list[list[object]] = []
            for key, lead, sha in blocks:
                rows = made_by(lead, sha, reader.table(sha, made_by.table))
                xml, block_last = serialise(writer, row, rows)
                parts.append(xml)
                crc = zlib.crc32(xml, crc)
                index.append([key, row, len(rows), block_last, offset, len(xml)])
                offset += len(xml)
                row += len(rows)
                last = max(last, block_last)
            segment = compress_segment(parts)  # (as SheetBody writes them: block by block)
            digest = digest_of([key for key, _lead, _sha in blocks])
            chunk = Chunk(start, row - start, last, digest, crc, offset)
            chunk.blocks = index
            built.append((chunk, segment))
    finally:
        reader.close()
    return built


def make_plain(
    store: Path, register_sha: str, limit: int, sample_rows: int
) -> dict[str, PlainMade]:
    """In one of merge's readers, done reading (``parallel.reader_context``), while the
    merge derives the register and makes its other sheets: the register derived from
    the store as the merge derives it, and each plain sheet's rows (``plain_sheets``)
    cut into chunks as ``SheetBody.extend_rows`` cuts them. The chunks the previous
    register does not hold at the same place (by the index the store keeps, if it is
    of the register the merge read: ``register_sha``; all of them, when there is none)
    are built here, serialised and compressed, as the merge would build them; the
    merge checks the others against its own copy before it uses them. With the widths
    of the first ``sample_rows`` rows. A sheet of more than ``limit`` rows is left to
    the merge."""
    from xlsxflow.excel.register_book import CELL_STYLES, row_writer
    from xlsxflow.parallel import reader_context
    from xlsxflow.register.sheets import plain_sheets
    from xlsxflow.register.state import derive

    ctx = reader_context()
    with Store(store, readonly=True) as kept:
        subs = kept.submissions()
        held = held_chunks(kept.meta("register_blocks"), register_sha)
    state = derive(subs, ctx.config, values=False)
    made: dict[str, PlainMade] = {}
    try:
        for sheet in plain_sheets(state, ctx.roster, ctx.config):
            rows = list(sheet.rows)
            if len(rows) > limit:
                continue
            widths = [0] * len(sheet.headers)
            widen(widths, rows[:sample_rows])
            there = held.get(sheet.name, set())
            writer = row_writer(sheet, CELL_STYLES)
            chunks: list[MadeChunk] = []
            start = 1
            for chunk, digest in row_chunks(rows):
                if (start, digest, len(chunk)) in there:
                    chunks.append((digest, len(chunk), None))
                else:
                    chunks.append((digest, len(chunk), build_plain(writer, start, chunk)))
                start += len(chunk)
            made[sheet.name] = (widths, chunks)
    finally:
        close_readers(state.submissions)
    return made
