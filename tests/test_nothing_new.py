"""A merge with nothing new is answered from the store alone, and only then."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from registerkit import MiniCycle, mini_cycle, new_workspace, put_all

from xlsxflow.cli import cli
from xlsxflow.fsutil import exclusive_lock
from xlsxflow.inbox import listing
from xlsxflow.register.merge import merge
from xlsxflow.register.nothing_new import Outlook, nothing_new, surely_new
from xlsxflow.workspace import Workspace

LONG_AGO = time.time() - 86_400


@pytest.fixture(scope="module")
def cycle(tmp_path_factory) -> MiniCycle:
    return mini_cycle(tmp_path_factory.mktemp("cycle"))


def inbox_files(ws: Workspace) -> list[Path]:
    return sorted(p for p in ws.inbox.rglob("*") if p.is_file())


def received_yesterday(*paths: Path) -> None:
    """Older than the hash cache's racy window (only these: touching a file changes its
    ``stat``, which alone would send the merge the long way)."""
    for path in paths:
        os.utime(path, (LONG_AGO, LONG_AGO))


@pytest.fixture
def merged(tmp_path: Path, cycle: MiniCycle) -> Workspace:
    """A workspace whose inbox (eight returns) was merged and remembered."""
    ws = new_workspace(tmp_path / "ws")
    received_yesterday(*put_all(cycle.returns[:8], ws.inbox))
    merge(ws)
    return ws


def snapshot(ws: Workspace) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (ws.register_path, ws.data / "register.sqlite")}


def test_nothing_new_gives_the_full_merges_report_and_touches_nothing(merged, cycle):
    before = snapshot(merged)
    quick = nothing_new(merged).report
    assert quick is not None
    assert snapshot(merged) == before
    full = merge(merged)
    assert quick.as_json() == full.as_json()
    kinds = {r.kind for r in cycle.returns[:8]}
    assert sum(quick.unchanged.values()) == quick.files == 8
    assert set(quick.unchanged) == kinds
    assert quick.form_names["ledger"] == "项目管理台帐"
    assert not quick.register_written


def add_a_return(ws: Workspace, cycle: MiniCycle) -> None:
    received_yesterday(cycle.returns[8].put(ws.inbox))


def change_a_return(ws: Workspace, cycle: MiniCycle) -> None:
    path = inbox_files(ws)[0]
    path.write_bytes(cycle.returns[9].data)
    received_yesterday(path)


def remove_a_return(ws: Workspace, cycle: MiniCycle) -> None:
    inbox_files(ws)[0].unlink()


def copy_under_another_name(ws: Workspace, cycle: MiniCycle) -> None:
    path = inbox_files(ws)[0]
    copy = ws.inbox / f"副本-{path.name}"
    copy.write_bytes(path.read_bytes())
    received_yesterday(copy)


def save_the_register(ws: Workspace, cycle: MiniCycle) -> None:
    ws.register_path.write_bytes(ws.register_path.read_bytes() + b"\0")


def delete_the_register(ws: Workspace, cycle: MiniCycle) -> None:
    ws.register_path.unlink()


def edit_the_config(ws: Workspace, cycle: MiniCycle) -> None:
    with ws.config_path.open("a", encoding="utf-8") as fh:
        fh.write("\n# 已核对\n")


def drop_an_unrelated_file(ws: Workspace, cycle: MiniCycle) -> None:
    lock = ws.inbox / "~$锁定.xlsx"
    lock.write_bytes(b"owner")
    received_yesterday(lock)
    merge(ws)  # hashed and remembered, but skipped: each merge must say so again


def receive_just_now(ws: Workspace, cycle: MiniCycle) -> None:
    cycle.returns[8].put(ws.inbox)  # too recent to be remembered by its stat
    merge(ws)


@pytest.mark.parametrize(
    "change",
    [
        add_a_return,
        change_a_return,
        remove_a_return,
        copy_under_another_name,
        save_the_register,
        delete_the_register,
        edit_the_config,
        drop_an_unrelated_file,
        receive_just_now,
    ],
)
def test_any_doubt_goes_to_the_full_merge(
    merged: Workspace, cycle: MiniCycle, change: Callable[[Workspace, MiniCycle], None]
):
    change(merged, cycle)
    assert nothing_new(merged).report is None


def test_a_merge_running_meanwhile_is_left_to_the_full_merge(merged):
    with exclusive_lock(merged.data / "merge.lock"):
        assert nothing_new(merged) == Outlook(None, 0)


def test_a_workspace_never_merged_has_no_answer(tmp_path, cycle):
    ws = new_workspace(tmp_path / "ws")
    put_all(cycle.returns[:2], ws.inbox)
    assert nothing_new(ws) == Outlook(None, new_files=2)
    assert not (ws.data / "register.sqlite").exists()


@pytest.mark.parametrize(
    ("change", "new_files"),
    [
        (add_a_return, 1),
        (copy_under_another_name, 1),
        (remove_a_return, 0),
        (change_a_return, 0),
        (receive_just_now, 0),  # (merged: read again, as too recent to trust, but not new)
    ],
)
def test_the_files_surely_new_are_counted_for_the_readers_to_start_early(
    merged: Workspace, cycle: MiniCycle, change: Callable[[Workspace, MiniCycle], None], new_files
):
    """By their number alone (a file changed in place is not counted: its ``stat`` is
    checked only to tell that something changed)."""
    change(merged, cycle)
    assert nothing_new(merged) == Outlook(None, new_files)
    assert surely_new(merged) == new_files  # (what ``run`` asks)


def test_run_counts_the_files_surely_new_whatever_the_register(
    merged: Workspace, cycle: MiniCycle, tmp_path: Path
):
    """``run`` validates before it merges: a register saved by the clerk, or a merge
    running, does not stop its readers from starting early (the merge says so later); a
    workspace never merged has every file new."""
    add_a_return(merged, cycle)
    save_the_register(merged, cycle)
    with exclusive_lock(merged.data / "merge.lock"):
        assert surely_new(merged) == 1
    never = new_workspace(tmp_path / "never")
    put_all(cycle.returns[:3], never.inbox)
    assert surely_new(never) == 3
    (merged.data / "register.sqlite").write_bytes(b"not a database")
    assert surely_new(merged) == 0


def test_the_command_answers_without_loading_config_or_forms(merged):
    """The point of it: a county's re-run in a tenth of a second needs pydantic and the
    form specifications left unimported (and the same words as the full merge)."""
    code = (
        "import sys\n"
        "from xlsxflow.cli import main\n"
        f"sys.argv = ['xlsxflow', 'merge', {str(merged.root)!r}]\n"
        "try:\n    main()\n"
        "except SystemExit as exit:\n"
        "    print(exit.code, 'pydantic' in sys.modules, 'xlsxflow.forms' in sys.modules)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8"
    )
    *lines, last = run.stdout.strip().splitlines()
    assert last == "0 False False", run.stderr
    assert "项目评审表：新增 0，更新 0，未变 1，退回 0" in lines
    assert "合计：新增 0，更新 0，未变 8，退回 0。" in lines
    assert lines[-1] == f"总台账无变化：{merged.register_path}"
    as_json = subprocess.run(
        [sys.executable, "-m", "xlsxflow", "merge", str(merged.root), "--json"],
        capture_output=True,
        encoding="utf-8",
    )
    assert json.loads(as_json.stdout) == merge(merged).as_json()


def test_the_store_is_only_looked_at(merged):
    import sqlite3

    from xlsxflow.register.store import Store

    before = snapshot(merged)
    with Store(merged.data / "register.sqlite", readonly=True) as store:
        assert store.forms()
        with pytest.raises(sqlite3.OperationalError):
            store.set_meta("register_sha", "")
    assert snapshot(merged) == before
    with pytest.raises(sqlite3.Error):
        Store(merged.data / "elsewhere.sqlite", readonly=True)
    assert not (merged.data / "elsewhere.sqlite").exists()


def test_a_file_too_recent_to_trust_sends_it_the_long_way_at_once(merged, cycle, monkeypatch):
    """Without a ``stat`` of any inbox file: the store's counts tell (a province's
    10,000 would be asked in turn until the file that is not trusted)."""
    from xlsxflow.register import hashes

    receive_just_now(merged, cycle)
    asked: list[object] = []
    real = hashes.stat_of
    monkeypatch.setattr(hashes, "stat_of", lambda p: (asked.append(p), real(p))[1])
    assert nothing_new(merged) == Outlook(None, 0)
    assert asked == []


def test_run_does_not_wait_for_a_merge_writing_the_store(merged: Workspace, cycle: MiniCycle):
    """A merge holding the store's write lock: no count, at once (a province's merge
    writes for seconds; SQLite would wait five before giving up)."""
    import sqlite3
    import threading

    add_a_return(merged, cycle)
    locked, counted = threading.Event(), threading.Event()

    def write() -> None:
        db = sqlite3.connect(merged.data / "register.sqlite", isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        locked.set()
        counted.wait(timeout=3)  # (the count, had it waited, would have come after)
        db.execute("ROLLBACK")
        db.close()

    writer = threading.Thread(target=write)
    writer.start()
    locked.wait()
    found = surely_new(merged)
    counted.set()
    writer.join()
    assert found == 0
    assert surely_new(merged) == 1


def test_the_inbox_as_listed_goes_to_the_merge_that_follows(merged, cycle):
    """The merge goes through the listing ``nothing_new`` took (not compared: an
    ``Outlook`` is its report and count), so a province's inbox is listed once."""
    add_a_return(merged, cycle)
    outlook = nothing_new(merged)
    assert outlook.listed == listing([merged.inbox])
    assert len(outlook.listed) == 9
    fresh = new_workspace(merged.root.parent / "fresh")
    put_all(cycle.returns[:2], fresh.inbox)
    assert nothing_new(fresh).listed == listing([fresh.inbox])


def test_a_merge_given_a_listing_goes_through_it_alone(merged, cycle):
    """(The file that came after the listing is merged by the next merge.)"""
    listed = listing([merged.inbox])
    add_a_return(merged, cycle)
    report = merge(merged, listed=listed)
    assert report.files == 8 and not report.new and not report.updated
    report = merge(merged)
    assert report.files == 9 and sum(report.new.values()) == 1


def test_the_merge_command_lists_the_inbox_once(merged, cycle, monkeypatch):
    import xlsxflow.register.merge as merge_module
    import xlsxflow.register.nothing_new as nothing_new_module

    calls: list[list[Path]] = []

    def counted(paths):
        calls.append(list(paths))
        return listing(paths)

    monkeypatch.setattr(merge_module, "listing", counted)
    monkeypatch.setattr(nothing_new_module, "listing", counted)
    add_a_return(merged, cycle)
    result = CliRunner().invoke(cli, ["merge", str(merged.root), "-q"])
    assert result.exit_code == 0, result.output
    assert "新增 1" in result.output
    assert calls == [[merged.inbox]]


def test_a_file_gone_since_the_listing_is_left_out(merged, cycle):
    """Excel's lock file beside a return opened from the inbox, listed by
    ``nothing_new``, is gone when the clerk closes the return before the merge hashes
    it: the merge goes on without it."""
    add_a_return(merged, cycle)
    lock = merged.inbox / "~$打开中.xlsx"
    lock.write_bytes(b"\x00" * 165)
    listed = nothing_new(merged).listed
    assert listed is not None and str(lock) in listed
    lock.unlink()
    report = merge(merged, listed=listed)
    assert report.files == 9 and sum(report.new.values()) == 1
    assert nothing_new(merged).report is not None  # (and nothing is left to do)
