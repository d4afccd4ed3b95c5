"""Read many returns on all cores, with results in a fixed order.

Workers are started with the platform's spawn-safe method (Windows always spawns), get
only picklable arguments (paths and the validation context) and send back the compact
``FileResult`` of each file. Results are yielded in the order of the input paths, so
the outcome never depends on which worker finished first.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext
from pathlib import Path

from xlsxflow.intake import read_return
from xlsxflow.problems import FileResult
from xlsxflow.validation import ValidationContext

SERIAL_BELOW = 64  # starting workers costs more than reading this many files
CHUNK = 32
ALL = frozenset({"raw", "values"})


Before = Callable[[Path], object]


def _read_one(
    path: Path, ctx: ValidationContext, keep: frozenset[str], before: Before | None
) -> FileResult:
    if before is not None:
        before(path)
    result = read_return(path, ctx)
    if "raw" not in keep:  # only feedback copies need what was typed, cell by cell
        result.raw, result.raw_rows = {}, {}
    if "json" in keep:  # the register's form of the values, encoded here on all cores
        from xlsxflow.register.codec import payload_json

        result.payload_json = payload_json(result.values, result.rows, result.locations)
    if "values" not in keep:  # only the register needs the clean values
        result.values, result.rows, result.locations = {}, {}, {}
    return result


_WORKER: tuple[ValidationContext, Before | None] | None = None


def _init_worker(ctx: ValidationContext, before: Before | None) -> None:
    """Receive the context once per worker: with a province's roster it is ~700 KB, and
    sending it with every chunk cost more than reading the files."""
    global _WORKER
    _WORKER = (ctx, before)
    # What the worker holds from here on lives until it exits; reading a return makes
    # many small, short-lived (acyclic) objects: collecting less often saves ~5 %.
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def _read_chunk(paths: Sequence[Path], keep: frozenset[str]) -> list[FileResult]:
    assert _WORKER is not None
    ctx, before = _WORKER
    return [_read_one(p, ctx, keep, before) for p in paths]


def workers_for(count: int, workers: int | None = None) -> int:
    if workers is not None:
        return max(1, workers)
    if count < SERIAL_BELOW:
        return 1
    return max(1, min(os.cpu_count() or 1, count // CHUNK))


def read_many(
    paths: Sequence[Path],
    ctx: ValidationContext,
    workers: int | None = None,
    keep: frozenset[str] = ALL,
    mp_context: BaseContext | None = None,
    before: Before | None = None,
) -> Iterator[FileResult]:
    """``read_return`` for every path, in input order, on up to ``workers`` processes.

    ``keep`` names the heavy parts of each result the caller needs ("raw" for feedback
    copies, "values" for the clean values, "json" for the values encoded for the store);
    the rest is dropped in the worker, so that memory and the traffic between processes
    stay small for large runs. ``before`` (picklable) runs on each path, in the worker,
    just before it is read: merge archives the file there."""
    n = workers_for(len(paths), workers)
    if n == 1:
        for path in paths:
            yield _read_one(path, ctx, keep, before)
        return
    chunks = [list(paths[i : i + CHUNK]) for i in range(0, len(paths), CHUNK)]
    with ProcessPoolExecutor(
        max_workers=n, mp_context=mp_context, initializer=_init_worker, initargs=(ctx, before)
    ) as pool:
        for results in pool.map(_read_chunk, chunks, [keep] * len(chunks)):
            yield from results
