"""Read many returns on all cores, with results in a fixed order.

Workers are started with the platform's spawn-safe method (Windows always spawns), get
only picklable arguments (paths and the validation context) and send back the compact
``FileResult`` of each file. Results are yielded in the order of the input paths, so
the outcome never depends on which worker finished first.

This module imports only the standard library until it reads: a command may start its
spawned readers (``readers_ahead``) before it imports anything heavy itself.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import TYPE_CHECKING

from xlsxflow import collect_less_often

if TYPE_CHECKING:
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
    from xlsxflow.intake import read_return

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
_WORKER_FILE: str | None = None  # (started ahead: where ``_WORKER`` is read from, when asked)


def _init_worker(ctx: ValidationContext | str, archive: Archive | None = None) -> None:
    """Receive the context and the archive once per worker (forked: as they were; else
    pickled, in a file: see ``_start_args``): with a province's roster the context is
    ~700 KB, and sending it with every chunk cost more than reading the files."""
    global _WORKER, _WORKER_FILE
    if isinstance(ctx, str):
        _WORKER_FILE = ctx
        _worker()
    else:
        _WORKER = (ctx, archive)
        _hold()


def _init_ahead(name: str) -> None:
    """Started by ``readers_ahead``: import what reading needs now, while the caller
    is busy with its own start; the context and the archive are read from ``name`` at
    the first task (the caller has written them there by then: ``workers_to_read``)."""
    global _WORKER_FILE
    import xlsxflow.intake
    import xlsxflow.register.codec
    import xlsxflow.register.facts  # noqa: F401 (imported now is the point)

    _WORKER_FILE = name
    collect_less_often()  # (``_hold`` freezes what it holds once it has it)


def _worker() -> tuple[ValidationContext, Archive | None]:
    """What this worker reads with (read now if it was started ahead)."""
    global _WORKER
    if _WORKER is None:
        if _WORKER_FILE is None:
            raise RuntimeError("not a reading process")
        _WORKER = pickle.loads(Path(_WORKER_FILE).read_bytes())
        _hold()
    return _WORKER


def _hold() -> None:
    # What the worker holds from here on lives until it exits.
    gc.freeze()
    collect_less_often()


def reader_context() -> ValidationContext:
    """In one of ``workers_to_read``'s processes: the context it was started with (for
    work handed to merge's readers once they are done reading)."""
    return _worker()[0]


def _read_chunk(paths: Sequence[Path], keep: frozenset[str]) -> list[FileResult]:
    ctx, archive = _worker()
    return _read_batch(paths, ctx, keep, archive)


def workers_for(count: int, workers: int | None = None) -> int:
    if workers is not None:
        return max(1, workers)
    if count < SERIAL_BELOW:
        return 1
    return max(1, min(_cores(), count // CHUNK))


# Windows waits on at most 63 handles at once: ``ProcessPoolExecutor`` refuses more than
# 61 workers there (a PC with 64 logical processors could not merge at all).
WINDOWS_MOST_WORKERS = 61


WINDOWS = os.name == "nt"


def _cores() -> int:
    cores = os.cpu_count() or 1
    return min(cores, WINDOWS_MOST_WORKERS) if WINDOWS else cores


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
    faster): those ``readers_ahead`` started, if any, else started now. Forked (Linux),
    a process inherits the caller's open SQLite connections and their locks, and one
    that later opens the store itself (merge keeps them to make register rows,
    ``excel.chunk_workers``) would trust locks it does not hold: the caller has no store
    open when it asks for them."""
    n = workers_for(files, workers)
    ahead = _take_ahead(n)
    if n == 1:
        yield None
        return
    if ahead is not None:
        with ahead.pool as pool:
            _write_args(ahead.args, ctx, archive)
            yield pool
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


@dataclass(frozen=True)
class _Ahead:
    pool: ProcessPoolExecutor
    workers: int
    args: str  # the file its workers read their context and archive from
    started: list[Future[None]]  # (done once every worker has started)


_AHEAD: list[_Ahead] = []  # (the pool ``readers_ahead`` started, until taken)


def _take_ahead(n: int) -> _Ahead | None:
    """The pool ``readers_ahead`` started, if it has the ``n`` workers wanted; else it is
    let go now, not when its caller is done: it was sized by the number of files, and
    more may be read (files changed in place), or fewer (copies of files merged before,
    which are not read again), and ``run`` goes on to its other steps."""
    if not _AHEAD:
        return None
    ahead = _AHEAD.pop()
    if 1 < n <= ahead.workers:
        return ahead
    ahead.pool.shutdown(wait=False, cancel_futures=True)
    return None


def idle_readers() -> Executor | None:
    """The processes ``readers_ahead`` started, once all have started and until they
    are taken to read, or None: work that needs no context (hashing the new files) can
    be given to them meanwhile. (Not before they have started: work queued to them then
    would wait for them, where the caller could have done it.)"""
    if not _AHEAD or not all(f.done() for f in _AHEAD[-1].started):
        return None
    return _AHEAD[-1].pool


def spawning() -> bool:
    """Whether workers are spawned (always, on Windows), where ``readers_ahead`` starts
    any: a caller counts the files for it only then."""
    return _spawns(multiprocessing.get_context())


def _spawns(starts: BaseContext) -> bool:
    """Whether ``starts`` makes a worker start without what its parent holds."""
    return starts.get_start_method() != "fork"


@contextlib.contextmanager
def readers_ahead(files: int, mp_context: BaseContext | None = None) -> Iterator[None]:
    """Where workers are spawned (always, on Windows), start those that will read
    ``files`` new returns now, for the next ``workers_to_read`` to take. A spawned
    worker is a new interpreter that imports xlsxflow's reader (~0.15 s) before it can
    read; started before the caller's own imports and its listing of the inbox, it does
    that meanwhile instead of after. Forked (Linux), nothing is started: a forked worker
    starts at once, holding what its parent imported by then (the default start
    method on Linux before Python 3.14; its ``forkserver`` is treated as spawning).

    Only for files known to be new (merge asks ``nothing_new``, run ``surely_new``): a
    merge with nothing to read would have started interpreters for nothing. Those not
    taken by the next read are let go then, or on leaving (not waited for: they never
    open the file of their context)."""
    starts = mp_context or multiprocessing.get_context()
    n = workers_for(files)
    if n == 1 or not _spawns(starts):
        yield
        return
    with _args_file() as name:
        pool = ProcessPoolExecutor(
            max_workers=n, mp_context=starts, initializer=_init_ahead, initargs=(name,)
        )
        try:
            started = [pool.submit(_started) for _ in range(n)]
            _AHEAD.append(_Ahead(pool, n, name, started))
            yield
        finally:
            _AHEAD.clear()
            # (taken, it was shut down and waited for by ``workers_to_read``)
            pool.shutdown(wait=False, cancel_futures=True)


@contextlib.contextmanager
def _args_file() -> Iterator[str]:
    """The name of a file for spawned workers' context and archive, removed on leaving
    (once the pool is done)."""
    fd, name = tempfile.mkstemp(prefix="xlsxflow-readers-", suffix=".pickle")
    os.close(fd)
    try:
        yield name
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def _write_args(name: str, ctx: ValidationContext, archive: Archive | None) -> None:
    """The context and archive of spawned workers, where they will look (no worker
    opens it before the pool starts it, or, started ahead, before its first task)."""
    with open(name, "wb") as fh:
        pickle.dump((ctx, archive), fh, pickle.HIGHEST_PROTOCOL)


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
    if not _spawns(starts):
        yield ctx, archive
        return
    with _args_file() as name:
        _write_args(name, ctx, archive)
        yield (name,)


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
