"""Read many returns on all cores, with results in a fixed order.

Workers are started with the platform's spawn-safe method (Windows always spawns), get
only picklable arguments (paths and the validation context) and send back the compact
``FileResult`` of each file. Results are yielded in the order of the input paths, so
the outcome never depends on which worker finished first.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing.context import BaseContext
from pathlib import Path

from xlsxflow import collect_less_often
from xlsxflow.intake import read_return
from xlsxflow.problems import FileResult
from xlsxflow.register.archive import Archive
from xlsxflow.validation import ValidationContext

SERIAL_BELOW = 64  # starting workers costs more than reading this many files
CHUNK = 32
MIN_CHUNK = 8
ALL = frozenset({"raw", "values"})


def _read_batch(
    paths: Sequence[Path], ctx: ValidationContext, keep: frozenset[str], archive: Archive | None
) -> list[FileResult]:
    results = [_read_one(p, ctx, keep) for p in paths]
    kept = [Path(r.path) for r in results if not r.skipped]  # not lock files and the like
    if archive is not None and kept:
        archived = archive(kept)
        for result in results:
            result.archived = archived.get(result.path, "")
    return results


def _read_one(path: Path, ctx: ValidationContext, keep: frozenset[str]) -> FileResult:
    result = read_return(path, ctx, raw="raw" in keep)
    if not result.problems:  # only feedback copies (of files with problems) need what
        result.raw, result.raw_rows = {}, {}  # was typed, cell by cell
    if "json" in keep:  # the register's form of the values, encoded here on all cores
        from xlsxflow.register.codec import payload_json
        from xlsxflow.register.facts import facts_json

        result.payload_json = payload_json(result.values, result.rows, result.locations)
        result.facts_json = facts_json(result.form, result.values, result.rows)
    if "values" not in keep:  # only the register needs the clean values
        result.values, result.rows, result.locations = {}, {}, {}
    return result


_WORKER: tuple[ValidationContext, Archive | None] | None = None


def _init_worker(ctx: ValidationContext | str, archive: Archive | None = None) -> None:
    """Receive the context and the archive once per worker (forked: as they were; else
    pickled, in a file: see ``_start_args``): with a province's roster the context is
    ~700 KB, and sending it with every chunk cost more than reading the files."""
    global _WORKER
    if isinstance(ctx, ValidationContext):
        _WORKER = (ctx, archive)
    else:
        _WORKER = pickle.loads(Path(ctx).read_bytes())
    # What the worker holds from here on lives until it exits.
    gc.freeze()
    collect_less_often()


def reader_context() -> ValidationContext:
    """In one of ``workers_to_read``'s processes: the context it was started with (for
    work handed to merge's readers once they are done reading)."""
    if _WORKER is None:
        raise RuntimeError("not a reading process")
    return _WORKER[0]


def _read_chunk(paths: Sequence[Path], keep: frozenset[str]) -> list[FileResult]:
    assert _WORKER is not None
    ctx, archive = _WORKER
    return _read_batch(paths, ctx, keep, archive)


def workers_for(count: int, workers: int | None = None) -> int:
    if workers is not None:
        return max(1, workers)
    if count < SERIAL_BELOW:
        return 1
    return max(1, min(os.cpu_count() or 1, count // CHUNK))


def chunked(paths: Sequence[Path]) -> list[list[Path]]:
    """``paths`` in chunks: a chunk is a worker's unit of work and its files go into one
    archive pack. ``CHUNK`` files, or fewer when there are only a few hundred, so that
    the last chunks do not leave one process reading alone (100 files in chunks of 32
    gave one worker 64 of them). The size depends on the number of files only: the packs
    never depend on the number of cores."""
    size = CHUNK if len(paths) < SERIAL_BELOW else min(CHUNK, max(MIN_CHUNK, -(-len(paths) // 8)))
    return [list(paths[i : i + size]) for i in range(0, len(paths), size)]


def _started() -> None:
    """A task that only makes the pool start a process."""


@contextlib.contextmanager
def workers_to_read(
    files: int,
    ctx: ValidationContext,
    archive: Archive | None = None,
    workers: int | None = None,
    mp_context: BaseContext | None = None,
) -> Iterator[ProcessPoolExecutor | None]:
    """The processes to read ``files`` returns with (None if reading them here is
    faster), started now. Forked (Linux), a process inherits the caller's open SQLite
    connections and their locks, and one that later opens the store itself (merge keeps
    them to make register rows, ``excel.chunk_workers``) would trust locks it does not
    hold: the caller has no store open when it asks for them."""
    n = workers_for(files, workers)
    if n == 1:
        yield None
        return
    starts = mp_context or multiprocessing.get_context()
    with (
        _start_args(ctx, archive, starts) as args,
        ProcessPoolExecutor(
            max_workers=n, mp_context=mp_context, initializer=_init_worker, initargs=args
        ) as pool,
    ):
        for _ in range(n):
            pool.submit(_started)
        yield pool


@contextlib.contextmanager
def _start_args(
    ctx: ValidationContext, archive: Archive | None, starts: BaseContext
) -> Iterator[tuple[ValidationContext, Archive | None] | tuple[str]]:
    """What a worker is started with (``_init_worker``), until the pool is done.

    Spawned (always, on Windows), a process gets its arguments through a pipe from the
    caller, which waited until the new interpreter had started and read them, one
    worker after the other: 0.34 s at 10,000 returns, for a roster of ~700 KB (and as
    much for the archive's 10,000 paths of a cold merge). Each is given the name of a
    file holding them instead (0.02 s; removed once the pool is done: every worker has
    read it, however many were started). A forked worker has them already (pickling
    them cost the 1 % merge at 10,000 ~0.04 s)."""
    if starts.get_start_method() == "fork":
        yield ctx, archive
        return
    fd, name = tempfile.mkstemp(prefix="xlsxflow-readers-", suffix=".pickle")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump((ctx, archive), fh, pickle.HIGHEST_PROTOCOL)
        yield (name,)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def read_many(
    paths: Sequence[Path],
    ctx: ValidationContext,
    workers: int | None = None,
    keep: frozenset[str] = ALL,
    mp_context: BaseContext | None = None,
    archive: Archive | None = None,
    on: Executor | None = None,
) -> Iterator[FileResult]:
    """``read_return`` for every path, in input order, on up to ``workers`` processes
    (or on those of ``workers_to_read``, given as ``on``, made with the same ``ctx``
    and ``archive``).

    ``keep`` names the heavy parts of each result the caller needs ("raw" for feedback
    copies, "values" for the clean values, "json" for the values encoded for the store);
    the rest is dropped in the worker, so that memory and the traffic between processes
    stay small for large runs. ``archive`` (picklable) keeps each chunk of files in the
    worker that read them (merge's archive), so that the copies run on every core."""
    if on is not None:
        chunks = chunked(paths)
        for results in on.map(_read_chunk, chunks, [keep] * len(chunks)):
            yield from results
        return
    with workers_to_read(len(paths), ctx, archive, workers, mp_context) as started:
        if started is not None:
            yield from read_many(paths, ctx, keep=keep, on=started)
            return
        for chunk in chunked(paths):
            yield from _read_batch(chunk, ctx, keep, archive)
