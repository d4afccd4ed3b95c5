"""Merge reads an inbox file again only when ``stat`` says it may have changed."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import multiprocessing
import os
import shutil
import threading
import time
from concurrent import futures
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest
from registerkit import MiniCycle, mini_cycle, new_workspace, put_all, stored

from xlsxflow.errors import XlsxflowError
from xlsxflow.register import hashes
from xlsxflow.register.merge import merge
from xlsxflow.register.store import Store
from xlsxflow.workspace import Workspace

LONG_AGO = time.time() - 86_400


@pytest.fixture(scope="module")
def cycle(tmp_path_factory) -> MiniCycle:
    return mini_cycle(tmp_path_factory.mktemp("cycle"))


def age(paths: list[Path]) -> None:
    """As files received yesterday: older than the racy window."""
    for path in paths:
        os.utime(path, (LONG_AGO, LONG_AGO))


def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files read to hash them."""
    calls: list[str] = []
    real = hashes.sha256_of
    monkeypatch.setattr(hashes, "sha256_of", lambda p: (calls.append(Path(p).name), real(p))[1])
    return calls


def cached(ws: Workspace) -> set[str]:
    with Store(ws.data / "register.sqlite") as store:
        return set(store.inbox_hashes())


def inbox_files(ws: Workspace) -> list[Path]:
    return sorted(p for p in ws.inbox.rglob("*") if p.is_file())


def test_files_merged_before_are_not_read_again(tmp_path, cycle, monkeypatch):
    ws = new_workspace(tmp_path / "ws")
    returns = cycle.returns[:5]
    put_all(returns, ws.inbox)
    age(inbox_files(ws))
    calls = hashed(monkeypatch)
    merge(ws)
    assert len(calls) == 5
    assert cached(ws) == {p.relative_to(ws.inbox).as_posix() for p in inbox_files(ws)}
    calls.clear()
    report = merge(ws)
    assert calls == []
    assert sum(report.unchanged.values()) == 5


def test_a_file_replaced_with_the_same_size_and_times_is_read_again(tmp_path, cycle, monkeypatch):
    """A resubmission saved over the old file, copied with its times kept (as Explorer
    copies): the change time (or file id) still differs, so it is seen."""
    ws = new_workspace(tmp_path / "ws")
    first, second = cycle["T01_innovation"], cycle["T01_innovation_v2"]
    put_all([first], ws.inbox)
    [path] = inbox_files(ws)
    age([path])
    merge(ws)
    before = path.stat()
    data = bytearray(second.data)
    data = bytes(data[: before.st_size].ljust(before.st_size, b"\0"))  # same size
    time.sleep(0.01)
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # same times
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    calls = hashed(monkeypatch)
    merge(ws)
    assert calls == [path.name]
    assert len(stored(ws)) == 2  # the new content was taken in (and rejected as unreadable)


def test_a_file_changed_just_now_is_not_trusted_by_its_stat(tmp_path, cycle, monkeypatch):
    """Within the racy window a later change could keep the same times (FAT: 2 s): the
    file is read again at the next merge (its name is remembered, with a ``stat`` no
    file has: it is no new arrival)."""
    ws = new_workspace(tmp_path / "ws")
    put_all(cycle.returns[:3], ws.inbox)
    files = inbox_files(ws)
    age(files[:2])  # the third was written just now
    merge(ws)
    with Store(ws.data / "register.sqlite") as store:
        held = store.inbox_hashes()
    assert set(held) == {p.relative_to(ws.inbox).as_posix() for p in files}
    assert held[files[2].relative_to(ws.inbox).as_posix()][0] == hashes.UNTRUSTED
    assert all(held[p.relative_to(ws.inbox).as_posix()][0] != hashes.UNTRUSTED for p in files[:2])
    calls = hashed(monkeypatch)
    merge(ws)
    assert calls == [files[2].name]
    age(files[2:])
    calls.clear()
    merge(ws)  # (changed its times: read again, and now trusted)
    calls.clear()
    merge(ws)
    assert calls == []


def test_files_gone_from_the_inbox_are_forgotten_and_moved_ones_read(tmp_path, cycle, monkeypatch):
    ws = new_workspace(tmp_path / "ws")
    put_all(cycle.returns[:3], ws.inbox)
    files = inbox_files(ws)
    age(files)
    merge(ws)
    files[0].unlink()
    moved = ws.inbox / "已处理" / files[1].name
    moved.parent.mkdir()
    shutil.move(files[1], moved)
    calls = hashed(monkeypatch)
    report = merge(ws)
    assert calls == [moved.name]
    assert sum(report.unchanged.values()) == 2
    assert cached(ws) == {
        files[2].relative_to(ws.inbox).as_posix(),
        moved.relative_to(ws.inbox).as_posix(),
    }


@pytest.mark.parametrize("probe", [True, False])
def test_on_windows_a_same_size_replacement_keeping_every_time_is_read_again(
    tmp_path, cycle, monkeypatch, probe
):
    """Windows keeps a replaced file's creation time (its st_ctime) and file id, and a
    copy keeps the sender's modification time: emulated here by remembering the new
    file's change time and id with the old content's size, time and tail. The tail's
    CRC (read on Windows only) tells them apart; without it the old hash would stand."""
    monkeypatch.setattr(hashes, "TAIL_PROBE", probe)
    path = tmp_path / "a.xlsx"
    old, new = cycle.returns[0].data, cycle.returns[1].data
    path.write_bytes(old)
    age([path])
    before = hashes.stat_of(path)
    path.write_bytes(new[: len(old)].ljust(len(old), b"\0"))
    os.utime(path, ns=(before[1], before[1]))
    now = hashes.stat_of(path)
    windows_view = (*before[:2], *now[2:4], before[4])
    known = {"a.xlsx": (windows_view, "the old hash")}
    sha, _size = hashes.InboxHashes(tmp_path, known).sha256(path)
    assert (sha != "the old hash") is probe


def test_file_ids_wider_than_sqlite_integers_are_kept(tmp_path, monkeypatch):
    """ReFS and some network shares give 128-bit file ids."""
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"PK")
    real = Path.stat

    class Wide:
        def __init__(self, st: os.stat_result) -> None:
            self.st = st

        def __getattr__(self, name: str) -> object:
            return (2**100 + 7) if name == "st_ino" else getattr(self.st, name)

    monkeypatch.setattr(Path, "stat", lambda self, **kw: Wide(real(self, **kw)))
    stat = hashes.stat_of(path)
    assert 0 <= stat[3] < 2**63
    with Store(tmp_path / "register.sqlite") as store, store.transaction():
        store.update_inbox_hashes({"a.xlsx": (stat, "sha")}, set())
    with Store(tmp_path / "register.sqlite") as store:
        assert store.inbox_hashes() == {"a.xlsx": (stat, "sha")}


def recorded_names(ws: Workspace) -> set[tuple[str, str]]:
    with Store(ws.data / "register.sqlite") as store:
        return set(store.db.execute("SELECT sha256, name FROM names"))


def test_names_are_recorded_as_one_merge_of_the_whole_inbox_records_them(tmp_path, cycle):
    """Merge records only the names of files new or changed since it last ran; merged
    step by step, the names are still those a single merge of the final inbox records
    (and the names files had before, which are kept): a copy of a stored return under a
    new name, a file renamed, and a file first skipped (not a return by its name) whose
    content later arrives as a return."""
    first, second, third = cycle.returns[:3]
    stepwise = new_workspace(tmp_path / "stepwise")
    _, second_path = put_all([first, second], stepwise.inbox)
    (stepwise.inbox / "说明.txt").write_bytes(b"not a workbook")
    age(inbox_files(stepwise))
    merge(stepwise)
    assert len(stored(stepwise)) == 2  # (说明.txt skipped)
    before = set(inbox_files(stepwise))
    first.put(stepwise.inbox, "副本.xlsx")  # a known content under a new name
    shutil.move(second_path, stepwise.inbox / "改名.xlsx")
    (stepwise.inbox / "0说明.xlsx").write_bytes(b"not a workbook")  # stored, rejected
    third.put(stepwise.inbox)
    age([p for p in inbox_files(stepwise) if p not in before])  # (the others unchanged)
    merge(stepwise)
    merge(stepwise)  # (nothing new)

    at_once = new_workspace(tmp_path / "at_once")
    for path in inbox_files(stepwise):
        shutil.copy2(path, at_once.inbox / path.name)
    merge(at_once)
    names = recorded_names(stepwise)
    assert names == recorded_names(at_once) | {(second.sha, second_path.name)}
    sha_of_text = next(s.sha256 for s in stored(stepwise) if s.name == "0说明.xlsx")
    assert {(first.sha, "副本.xlsx"), (second.sha, "改名.xlsx"), (sha_of_text, "说明.txt")} <= names


# -- hashing shared with the readers started ahead ------------------------------------------


def some_files(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"f{i:02d}.xlsx"
        path.write_bytes(os.urandom(100 + i))
        paths.append(str(path))
    age([Path(p) for p in paths])
    return paths


def by_hand(paths: list[str]) -> list[tuple[str, int]]:
    return [
        (hashlib.sha256(Path(p).read_bytes()).hexdigest(), Path(p).stat().st_size) for p in paths
    ]


def sharing(monkeypatch: pytest.MonkeyPatch, batch: int = 3) -> None:
    monkeypatch.setattr(hashes, "SHARED_FROM", 1)
    monkeypatch.setattr(hashes, "SHARED_BATCH", batch)


def test_files_hashed_by_idle_processes_are_hashed_as_here(tmp_path, monkeypatch):
    """Every batch taken by another process (spawned, as on Windows): nothing is hashed
    here, and the hashes, sizes and what is kept of each file are those made here."""
    sharing(monkeypatch)
    paths = some_files(tmp_path / "inbox", 10)
    known = {"f00.xlsx": (hashes.stat_of(paths[0]), "stored")}  # (vouched for: not shared)
    alone = hashes.InboxHashes(tmp_path / "inbox", known)
    expected = [alone.sha256(p) for p in paths]
    calls = hashed(monkeypatch)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        shared = hashes.InboxHashes(tmp_path / "inbox", known)
        shared.share(paths, pool)
        batches = {id(b): b.future for b in shared._shared.values()}
        assert len(batches) == 3  # (9 files whose stat changed, 3 by 3)
        futures.wait(batches.values(), timeout=120)
        got = [shared.sha256(p) for p in paths]
    assert calls == []
    assert got == expected == [("stored", 100), *by_hand(paths)[1:]]
    assert shared.changes() == alone.changes()
    assert [shared.as_known(p) for p in paths] == [True] + [False] * 9


def test_batches_no_process_has_taken_are_hashed_here(tmp_path, monkeypatch):
    sharing(monkeypatch)
    paths = some_files(tmp_path / "inbox", 7)
    calls = hashed(monkeypatch)
    busy = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        pool.submit(busy.wait, 60)  # (its one worker busy: nothing shared is taken)
        shared = hashes.InboxHashes(tmp_path / "inbox", {})
        shared.share(paths, pool)
        got = [shared.sha256(p) for p in paths]
        busy.set()
    assert sorted(calls) == sorted(Path(p).name for p in paths)
    assert got == by_hand(paths)


def test_a_file_that_cannot_be_read_by_the_process_hashing_it_is_told_in_its_turn(
    tmp_path, monkeypatch
):
    sharing(monkeypatch)
    paths = some_files(tmp_path / "inbox", 6)
    with ThreadPoolExecutor(1) as pool:
        shared = hashes.InboxHashes(tmp_path / "inbox", {})
        Path(paths[4]).unlink()  # (listed, then gone)
        shared.share(paths, pool)
        assert [shared.sha256(p) for p in paths[:4]] == by_hand(paths[:4])
        with pytest.raises(XlsxflowError) as err:
            shared.sha256(paths[4])
    assert err.value.code == "inbox.file_unreadable"
    assert err.value.fields["path"] == paths[4]
    assert err.value.fields["reason"] == os.strerror(errno.ENOENT)


def test_a_process_pool_that_broke_leaves_the_hashing_here(tmp_path, monkeypatch):
    sharing(monkeypatch)
    paths = some_files(tmp_path / "inbox", 6)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        shared = hashes.InboxHashes(tmp_path / "inbox", {})
        dies = pool.submit(os._exit, 1)
        shared.share(paths[:3], pool)  # (queued behind a worker that dies: broken)
        with contextlib.suppress(BrokenExecutor):
            dies.result(timeout=120)
        shared.share(paths[3:], pool)  # (refused: hashed here)
        assert [shared.sha256(p) for p in paths] == by_hand(paths)


def test_a_merge_shares_its_hashing_with_the_readers_it_started_ahead(tmp_path, cycle, monkeypatch):
    """A merge whose readers were started ahead (spawned, as on Windows) has them hash
    the new files while they wait: the same store as a merge that hashed them alone."""
    from xlsxflow import parallel

    sharing(monkeypatch, batch=2)
    monkeypatch.setattr(parallel, "workers_for", lambda count, workers=None: 2)
    given: list[int] = []
    real_share = hashes.InboxHashes.share

    def share(self, paths, on):  # type: ignore[no-untyped-def]
        real_share(self, paths, on)
        given.append(len({id(b) for b in self._shared.values()}))

    monkeypatch.setattr(hashes.InboxHashes, "share", share)
    ahead, alone = new_workspace(tmp_path / "ahead"), new_workspace(tmp_path / "alone")
    for ws in (ahead, alone):
        put_all(cycle.returns[:5], ws.inbox)
        age(inbox_files(ws))
    with parallel.readers_ahead(5, multiprocessing.get_context("spawn")):
        deadline = time.monotonic() + 120
        while parallel.idle_readers() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        merge(ahead)
    merge(alone)
    assert given[0] == 3  # (5 files, 2 by 2)
    assert [s.sha256 for s in stored(ahead)] == [s.sha256 for s in stored(alone)]
    with Store(ahead.data / "register.sqlite") as a, Store(alone.data / "register.sqlite") as b:
        assert {k: v[1] for k, v in a.inbox_hashes().items()} == {
            k: v[1] for k, v in b.inbox_hashes().items()
        }


def test_readers_started_ahead_are_idle_once_started_and_until_taken(monkeypatch):
    from xlsxflow import parallel

    assert parallel.idle_readers() is None  # (none started)
    monkeypatch.setattr(parallel, "workers_for", lambda count, workers=None: 2)
    with parallel.readers_ahead(100, multiprocessing.get_context("spawn")):
        (ahead,) = parallel._AHEAD
        futures.wait(ahead.started, timeout=120)
        assert parallel.idle_readers() is ahead.pool
        assert ahead.pool.submit(hashes.hashed_batch, []).result(timeout=60) == []
        parallel._take_ahead(1)  # (taken, or let go)
        assert parallel.idle_readers() is None


def test_a_few_new_files_among_many_known_are_hashed_here_without_asking_twice(
    tmp_path, monkeypatch
):
    """1 % resubmitted to a province: fewer files than ``SHARED_FROM`` can be new, so
    none is shared, and no file's ``stat`` is asked before ``sha256`` asks it."""
    monkeypatch.setattr(hashes, "SHARED_FROM", 3)
    paths = some_files(tmp_path / "inbox", 6)
    known = {Path(p).name: (hashes.stat_of(p), "stored") for p in paths[:4]}
    asked: list[str] = []
    real = hashes.stat_of
    monkeypatch.setattr(hashes, "stat_of", lambda p: (asked.append(Path(p).name), real(p))[1])
    shared = hashes.InboxHashes(tmp_path / "inbox", known)
    with ThreadPoolExecutor(1) as pool:
        shared.share(paths, pool)
        assert shared._shared == {} and asked == []
        got = [shared.sha256(p) for p in paths]
    assert got == [*[("stored", 100 + i) for i in range(4)], *by_hand(paths[4:])]


def test_files_this_command_hashed_before_are_taken_where_their_stat_vouches(tmp_path, monkeypatch):
    """``hashed`` (``run``'s, for its merge): taken where ``stat`` still matches, as new
    to the store (stored, not known); a stat not to be trusted, or changed, is read."""
    paths = some_files(tmp_path / "inbox", 3)
    earlier = hashes.InboxHashes(tmp_path / "inbox", {})
    expected = [earlier.sha256(p) for p in paths]
    before = earlier.trusted()
    before["f01.xlsx"] = (hashes.UNTRUSTED, before["f01.xlsx"][1])
    Path(paths[2]).write_bytes(b"changed since")
    calls = hashed(monkeypatch)
    now = hashes.InboxHashes(tmp_path / "inbox", {}, before)
    got = [now.sha256(p) for p in paths]
    assert calls == ["f01.xlsx", "f02.xlsx"]
    assert got[:2] == expected[:2] and got[2] == by_hand(paths[2:])[0]
    assert not any(now.as_known(p) for p in paths)
    assert set(now.changes()[0]) == {"f00.xlsx", "f01.xlsx", "f02.xlsx"}
