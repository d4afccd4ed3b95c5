"""Reading on several processes gives the same results, in the same order, as reading
in one — also with the ``spawn`` start method Windows always uses."""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from pathlib import Path

import pytest
from builders import filled_application
from hypothesis import given
from hypothesis import strategies as st

from xlsxflow.parallel import CHUNK, SERIAL_BELOW, chunked, read_many
from xlsxflow.validation import ValidationContext


def _summary(results):
    return [
        (r.path, r.form, r.instance, r.valid, [p.code for p in r.problems], r.values)
        for r in results
    ]


def test_spawned_workers_give_the_serial_results_in_order(workspace):
    paths = []
    for i in range(70):  # above the serial threshold
        overrides = {"project_name": ""} if i % 7 == 0 else {}
        paths.append(filled_application(workspace, overrides, name=f"r{i:03d}.xlsx"))
    random.Random(1).shuffle(paths)
    ctx = ValidationContext(workspace.config, workspace.roster, workspace.root)
    serial = list(read_many(paths, ctx, workers=1))
    spawned = list(
        read_many(paths, ctx, workers=2, mp_context=multiprocessing.get_context("spawn"))
    )
    assert [r.path for r in spawned] == [str(p) for p in paths]
    assert _summary(spawned) == _summary(serial)
    assert sum(not r.valid for r in serial) == 10


@given(st.integers(min_value=0, max_value=5_000))
def test_files_are_read_in_chunks_of_their_number_alone(count: int) -> None:
    """Each file once, in order, in chunks (one archive pack each) whose size depends on
    the number of files only; a few hundred files go in smaller chunks, so that both
    workers finish together."""
    paths = [Path(f"{i:05d}.xlsx") for i in range(count)]
    chunks = chunked(paths)
    assert [p for chunk in chunks for p in chunk] == paths
    assert all(0 < len(chunk) <= CHUNK for chunk in chunks)
    sizes = {len(chunk) for chunk in chunks[:-1]}
    assert len(sizes) <= 1  # (the last may be short)
    if count >= SERIAL_BELOW:
        assert len(chunks) >= min(8, count // CHUNK)
    if count >= 8 * CHUNK or 0 < count < SERIAL_BELOW:
        assert chunks[0] == paths[:CHUNK]


def _context_met(barrier) -> tuple[int, object]:
    """(In a worker) its process id and the context and archive it holds, once another
    worker holds the other copy of this task: two tasks at the barrier are on two
    workers."""
    import os

    from xlsxflow import parallel

    barrier.wait(timeout=60)
    assert parallel._WORKER is not None
    return os.getpid(), parallel._WORKER


def _context_and_archive(workspace, tmp_path):
    """A merge's reading context and an archive of 5,000 new files' hashes."""
    from xlsxflow.register.archive import Archiver

    ctx = ValidationContext(workspace.config, workspace.roster, workspace.root)
    archive = Archiver(tmp_path / "archive", {f"r{i:05d}.xlsx": f"{i:064x}" for i in range(5_000)})
    return ctx, archive


def test_every_spawned_worker_receives_the_context_and_the_archive(workspace, tmp_path):
    """The validation context and the archive (a merge's: every new file's hash) reach
    each worker through a file, not as its arguments (which kept the caller waiting for
    every new interpreter): each one holds them."""
    from xlsxflow.parallel import workers_to_read

    ctx, archive = _context_and_archive(workspace, tmp_path)
    spawn = multiprocessing.get_context("spawn")
    with (
        spawn.Manager() as manager,
        workers_to_read(1_000, ctx, archive, workers=2, mp_context=spawn) as pool,
    ):
        assert pool is not None
        barrier = manager.Barrier(2)
        met = [pool.submit(_context_met, barrier) for _ in range(2)]
        held = dict(f.result(timeout=120) for f in met)
    assert len(held) == 2
    assert all(got == (ctx, archive) for got in held.values())


def test_spawned_workers_are_started_with_the_name_of_a_file_not_the_context(workspace, tmp_path):
    """What a spawned worker is given to start with stays small, however large the
    roster and the archive: a file's name (removed when the pool is done); a forked one
    is given the context and the archive themselves."""
    import pickle

    from xlsxflow.parallel import _start_args

    ctx, archive = _context_and_archive(workspace, tmp_path)
    with _start_args(ctx, archive, multiprocessing.get_context("spawn")) as args:
        (name,) = args
        assert len(pickle.dumps(args)) < 1_000
        assert pickle.loads(Path(name).read_bytes()) == (ctx, archive)
    assert not Path(name).exists()
    with _start_args(ctx, archive, multiprocessing.get_context("fork")) as args:
        assert args == (ctx, archive)


def two_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes to read with, whatever the runner's cores."""
    from xlsxflow import parallel

    monkeypatch.setattr(parallel, "workers_for", lambda count, workers=None: 2)


def test_readers_started_ahead_read_with_the_context_they_are_given_later(workspace, monkeypatch):
    """Spawned before the caller has a context (``readers_ahead``, as merge does on
    Windows), the readers are taken by the next reading and read as those it would have
    started: the same results, in order."""
    from xlsxflow import parallel

    two_readers(monkeypatch)
    paths = [filled_application(workspace, {}, name=f"a{i:03d}.xlsx") for i in range(70)]
    paths[3] = filled_application(workspace, {"project_name": ""}, name="a003.xlsx")
    ctx = ValidationContext(workspace.config, workspace.roster, workspace.root)
    serial = list(read_many(paths, ctx, workers=1))
    spawn = multiprocessing.get_context("spawn")
    with parallel.readers_ahead(len(paths), spawn):
        (ahead,) = parallel._AHEAD
        early = list(read_many(paths, ctx))  # (forked, if not taken)
        assert not parallel._AHEAD
    assert _summary(early) == _summary(serial)
    assert [r.valid for r in early].count(False) == 1
    assert not Path(ahead.args).exists()


def test_readers_started_ahead_and_never_taken_stop_and_leave_nothing(monkeypatch):
    from xlsxflow import parallel

    two_readers(monkeypatch)
    before = set(multiprocessing.active_children())
    with parallel.readers_ahead(SERIAL_BELOW, multiprocessing.get_context("spawn")):
        (ahead,) = parallel._AHEAD
        pid = ahead.pool.submit(os.getpid).result(timeout=120)
        assert pid != os.getpid()
    assert not parallel._AHEAD
    assert not Path(ahead.args).exists()
    assert all_gone_but(before)  # (let go without waiting for them: they exit on their own)


def all_gone_but(before: set[multiprocessing.Process]) -> bool:
    """Whether the child processes not in ``before`` exit (within a minute)."""
    deadline = time.monotonic() + 60
    while set(multiprocessing.active_children()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    return not set(multiprocessing.active_children()) - before


def test_readers_started_ahead_are_let_go_by_a_read_that_needs_none(workspace, monkeypatch):
    """Counted by their number, the files may be copies of returns read before, which
    are not read again: the readers go at once, not when ``run`` is done with its other
    steps."""
    from xlsxflow import parallel

    monkeypatch.setattr(
        parallel, "workers_for", lambda count, workers=None: 2 if count >= SERIAL_BELOW else 1
    )
    paths = [filled_application(workspace, {}, name=f"a{i}.xlsx") for i in range(3)]
    ctx = ValidationContext(workspace.config, workspace.roster, workspace.root)
    before = set(multiprocessing.active_children())
    with parallel.readers_ahead(SERIAL_BELOW, multiprocessing.get_context("spawn")):
        assert len(parallel._AHEAD) == 1
        assert [r.path for r in read_many(paths, ctx)] == [str(p) for p in paths]
        assert not parallel._AHEAD
        assert all_gone_but(before)


def test_readers_started_ahead_are_let_go_when_more_are_wanted(monkeypatch):
    """Sized by the files surely new, they may be fewer than the files read want."""
    from xlsxflow import parallel

    two_readers(monkeypatch)
    spawn = multiprocessing.get_context("spawn")
    with parallel.readers_ahead(SERIAL_BELOW, spawn):
        assert parallel._take_ahead(3) is None
        assert not parallel._AHEAD
    with parallel.readers_ahead(SERIAL_BELOW, spawn):
        ahead = parallel._take_ahead(2)
        assert ahead is not None and ahead.workers == 2
        ahead.pool.shutdown()


@pytest.mark.parametrize(("files", "start"), [(SERIAL_BELOW - 1, "spawn"), (1_000, "fork")])
def test_no_readers_are_started_ahead_for_a_few_files_or_where_they_are_forked(files, start):
    """(A forked reader starts at once, with all its parent imported by then.)"""
    from xlsxflow import parallel

    with parallel.readers_ahead(files, multiprocessing.get_context(start)):
        assert not parallel._AHEAD


@pytest.mark.parametrize(
    ("windows", "cores", "most"), [(True, 64, 61), (True, 8, 8), (False, 64, 64)]
)
def test_never_more_workers_than_windows_allows(monkeypatch, windows, cores, most):
    """(``ProcessPoolExecutor`` refuses more than 61 workers on Windows.)"""
    from xlsxflow import parallel

    monkeypatch.setattr(parallel.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(parallel, "WINDOWS", windows)
    assert parallel.workers_for(100_000) == most
    assert parallel.workers_for(CHUNK * 3) == min(3, most)
