"""``xlsxflow merge DIR`` as the clerk runs it: counts per form, rejections with their
reasons, exit codes, ``--json``; returns built by ``registerkit``."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from registerkit import (
    DEMONSTRATION,
    INNOVATION,
    PROJECTS,
    MiniCycle,
    instance,
    mini_cycle,
    new_workspace,
    project_row,
    put_all,
    submission_rows,
)

from xlsxflow.cli import cli
from xlsxflow.errors import message
from xlsxflow.fsutil import exclusive_lock
from xlsxflow.register.store import Store
from xlsxflow.workspace import Workspace

APPS = ("T01_innovation", "T02_demonstration", "T03_innovation", "T02_institutional")
JSON_KEYS = {
    "files",
    "by_form",
    "totals",
    "rejections",
    "held_back",
    "skipped",
    "department_edits_kept",
    "committee_cell_edits",
    "notes",
    "register",
    "register_written",
}


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def run_json(ws: Workspace) -> tuple[int, dict]:
    result = run("merge", ws.root, "--json")
    return result.exit_code, json.loads(result.stdout)


def counts(
    new: int = 0,
    updated: int = 0,
    unchanged: int = 0,
    rejected: int = 0,
    held: int = 0,
    superseded: int = 0,
) -> dict:
    return {
        "new": new,
        "updated": updated,
        "unchanged": unchanged,
        "rejected": rejected,
        "held": held,
        "superseded": superseded,
    }


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> MiniCycle:
    return mini_cycle(tmp_path_factory.mktemp("cycle"))


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return new_workspace(tmp_path / "ws")


def test_merge_prints_what_changed_per_form_and_exits_0(ws, cycle):
    put_all([cycle[n] for n in APPS], ws.inbox / "第一批")
    result = run("merge", ws.root)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "创新探索型项目申报表：新增 2，更新 0，未变 0，退回 0" in lines
    assert "典型示范型项目申报表：新增 1，更新 0，未变 0，退回 0" in lines
    assert "制度推广型项目申报表：新增 1，更新 0，未变 0，退回 0" in lines
    assert "合计：新增 4，更新 0，未变 0，退回 0。" in lines
    assert lines[-1] == f"已更新总台账：{ws.register_path}"
    assert len(openpyxl.load_workbook(ws.register_path)[PROJECTS]["A"]) == 5  # header + 4

    again = run("merge", ws.root)
    assert again.exit_code == 0
    assert "合计：新增 0，更新 0，未变 4，退回 0。" in again.stdout
    assert again.stdout.splitlines()[-1] == f"总台账无变化：{ws.register_path}"


def test_a_rejected_return_is_named_with_its_reason_and_exit_code_is_1(ws, cycle):
    paths = put_all([cycle["T01_innovation"], cycle["T06_innovation_blank"]], ws.inbox)
    result = run("merge", ws.root)
    assert result.exit_code == 1, result.output
    assert "创新探索型项目申报表：新增 1，更新 0，未变 0，退回 1" in result.stdout
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("退回 ")]
    assert line.startswith(f"退回 {paths[1]}：")
    assert "“项目名称”未填写" in line
    # still recorded, and the valid one merged
    assert submission_rows(ws)[cycle["T06_innovation_blank"].sha]["处理结果"] == "已退回"
    assert project_row(ws, instance("T01", INNOVATION))["项目状态"] == "已申报"

    quiet = run("merge", ws.root, "-q")  # nothing new: exit 0, summary only
    assert quiet.exit_code == 0
    assert not [x for x in quiet.stdout.splitlines() if x.startswith("退回 ")]


def test_a_rejection_with_many_errors_reads_as_one_sentence(ws):
    """The first three errors, then how many there are: no 。； between them, no bare
    "等 5 处问题" run on after a full stop."""
    import datetime as dt

    from registerkit import application

    blank = dict.fromkeys(
        ["project_name", "undertaking_org", "contact_name", "contact_phone", "start_date"]
    )
    path = application(ws, "T07", saved_at=dt.datetime(2011, 12, 1, 9), overrides=blank).put(
        ws.inbox
    )
    result = run("merge", ws.root)
    assert result.exit_code == 1, result.output
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("退回 ")]
    reason = line.removeprefix(f"退回 {path}：")
    assert reason.endswith("（共 5 处问题）。"), reason
    assert reason.count("；") == 2 and "。；" not in reason and "。（" not in reason


def test_json_gives_counts_per_form_and_the_rejections(ws, cycle):
    put_all(cycle.returns, ws.inbox)
    code, data = run_json(ws)
    assert code == 1
    assert set(data) == JSON_KEYS
    assert data["files"] == len(cycle.returns)
    assert data["by_form"] == {
        "acceptance": counts(new=1, held=1),
        "application_demonstration": counts(new=1),
        "application_innovation": counts(new=2, updated=1, rejected=1),
        "application_institutional": counts(new=1, rejected=1),
        "closure": counts(new=1),
        "ledger": counts(new=2, rejected=1),
        "review": counts(new=1),
    }
    assert data["totals"] == counts(new=9, updated=1, rejected=3, held=1)
    rejected = {Path(r["path"]).name: r["reason"] for r in data["rejections"]}
    assert sorted(rejected) == sorted(
        f"{n}.xlsx" for n in ("T03_ledger", "T05_institutional", "T06_innovation_blank")
    )
    assert all(r["path"].startswith(str(ws.inbox)) for r in data["rejections"])
    ((held, waits),) = [(Path(r["path"]).name, r["reason"]) for r in data["held_back"]]
    assert held == "T02_acceptance.xlsx" and "结题报告" in waits
    assert "来源项目编号" in rejected["T05_institutional.xlsx"]
    assert data["register"] == str(ws.register_path)
    assert data["register_written"] is True
    assert data["skipped"] == []
    assert data["committee_cell_edits"] == []

    code, again = run_json(ws)
    assert code == 0
    assert again["totals"] == counts(unchanged=len(cycle.returns))
    assert again["by_form"]["ledger"] == counts(unchanged=3)
    assert again["rejections"] == []
    assert again["register_written"] is False


def edit_t02(ws: Workspace, **by_header: str) -> int:
    """The clerk types into T02's row of 项目总台账 and saves (openpyxl); its row."""
    book = openpyxl.load_workbook(ws.register_path)
    sheet = book[PROJECTS]
    header = [c.value for c in sheet[1]]
    row = 1 + [c.value for c in sheet["A"]].index(instance("T02", DEMONSTRATION))
    for name, value in by_header.items():
        sheet.cell(row, header.index(name) + 1).value = value
    book.save(ws.register_path)
    return row


def test_json_reports_edits_of_the_register(ws, cycle):
    put_all([cycle["T01_innovation"], cycle["T02_demonstration"]], ws.inbox)
    assert run("merge", ws.root).exit_code == 0
    row = edit_t02(ws, **{"督办人": "陈丽娟", "项目组长（党委主要负责人）": "某某某"})
    header = [c.value for c in openpyxl.load_workbook(ws.register_path)[PROJECTS][1]]

    result = run("merge", ws.root)
    assert result.exit_code == 0  # an edit of the register is no rejected return
    assert "已保留总台账中部门填写的 1 处修改。" in result.stdout
    (note,) = [x for x in result.stdout.splitlines() if x.startswith("注意 ")]
    assert "项目组长（党委主要负责人）" in note and "某某某" in note

    book = openpyxl.load_workbook(ws.register_path)
    sheet = book[PROJECTS]
    sheet.cell(row, header.index("项目名称") + 1).value = "改名"
    book.save(ws.register_path)
    code, data = run_json(ws)
    assert code == 0
    assert data["department_edits_kept"] == 0
    (edit,) = data["committee_cell_edits"]
    assert "“项目名称”被改为“改名”" in edit
    assert project_row(ws, instance("T02", DEMONSTRATION))["督办人"] == "陈丽娟"
    assert project_row(ws, instance("T02", DEMONSTRATION))["项目名称"] != "改名"


def test_a_second_merge_while_one_runs_exits_2(ws, cycle):
    cycle["T01_innovation"].put(ws.inbox)
    with exclusive_lock(ws.data / "merge.lock"):
        result = run("merge", ws.root)
        json_result = run("merge", ws.root, "--json")
    assert result.exit_code == 2
    assert result.stderr.strip() == "错误：" + message("merge.locked", path=ws.root)
    assert json_result.exit_code == 2
    assert not ws.register_path.exists()
    assert run("merge", ws.root).exit_code == 0


def test_merge_outside_a_workspace_exits_2(tmp_path):
    result = run("merge", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith("错误：")
    assert not (tmp_path / "register.xlsx").exists()
    assert not (tmp_path / "data").exists()


def test_an_empty_inbox_writes_an_empty_register(ws):
    code, data = run_json(ws)
    assert code == 0
    assert data["files"] == 0
    assert data["by_form"] == {}
    assert data["totals"] == counts()
    book = openpyxl.load_workbook(ws.register_path)
    assert book[PROJECTS]["A1"].value == "申报表编号"
    assert book[PROJECTS].max_row == 1


@pytest.mark.parametrize("command", [["schedule", "--as-of", "2012-03-31"], ["score"]])
def test_commands_that_rewrite_the_register_first_want_the_clerks_edits_merged(ws, cycle, command):
    """schedule and score rewrite register.xlsx from the store: a 督办人 typed into it
    since it was written would be lost, so they stop and ask for a merge first (and
    record nothing); after the merge they run and the edit is kept."""
    put_all([cycle["T01_innovation"], cycle["T02_demonstration"]], ws.inbox)
    assert run("merge", ws.root).exit_code == 0
    edit_t02(ws, **{"督办人": "陈丽娟"})
    saved = ws.register_path.read_bytes()

    result = run(command[0], ws.root, *command[1:])
    assert result.exit_code == 2
    assert message("register.unread_edits", path=ws.register_path) in result.output
    assert ws.register_path.read_bytes() == saved
    with Store(ws.data / "register.sqlite") as store:
        assert store.meetings() == []  # nothing recorded
    assert run("merge", ws.root).exit_code == 0
    assert run(command[0], ws.root, *command[1:]).exit_code == 0
    assert project_row(ws, instance("T02", DEMONSTRATION))["督办人"] == "陈丽娟"


def ahead_asked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The numbers of files the command starts its readers ahead for (as it would)."""
    from xlsxflow import parallel

    asked: list[int] = []
    real = parallel.readers_ahead
    monkeypatch.setattr(
        parallel, "readers_ahead", lambda files: (asked.append(files), real(files))[1]
    )
    return asked


def test_merge_starts_its_readers_ahead_for_the_files_surely_new_only(ws, cycle, monkeypatch):
    """(Spawned, on Windows, they then start while the merge imports its modules; a
    merge with nothing new starts none, nor imports what starts them.)"""
    import os
    import sys

    asked = ahead_asked(monkeypatch)
    put_all([cycle[n] for n in APPS], ws.inbox)
    assert run("merge", ws.root).exit_code == 0
    assert asked == [len(APPS)]
    for path in ws.inbox.iterdir():  # (older than the racy window: known by their stat)
        os.utime(path, (1e9, 1e9))
    run("merge", ws.root)  # (changed in place, as far as their stat tells: none new)
    assert asked == [len(APPS), 0]
    monkeypatch.delitem(sys.modules, "xlsxflow.parallel")
    assert run("merge", ws.root).stdout.endswith(f"总台账无变化：{ws.register_path}\n")
    assert asked == [len(APPS), 0]
    assert "xlsxflow.parallel" not in sys.modules


@pytest.mark.parametrize(
    "command",
    [
        ("merge",),
        ("run", "--as-of", "2012-06-30"),
        ("report", "quarterly", "--as-of", "2012-06-30"),
    ],
)
def test_a_damaged_store_is_told_not_crashed_on(ws, cycle, command):
    """(A sync tool or a failing disk: the clerk is told what to do, and nothing in the
    workspace is touched.)"""
    put_all([cycle[n] for n in APPS], ws.inbox)
    assert run("merge", ws.root).exit_code == 0
    store = ws.data / "register.sqlite"
    store.write_bytes(b"\0" * 4096 + store.read_bytes()[4096:])
    before = {p: p.read_bytes() for p in ws.root.rglob("*") if p.is_file()}
    result = run(command[0], ws.root, *command[1:])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith(
        "错误：工作区 data 文件夹中的 register.sqlite 无法读取或已损坏（"
    )
    assert {p: p.read_bytes() for p in ws.root.rglob("*") if p.is_file()} == before


def test_a_store_written_meanwhile_or_a_full_disk_is_told_as_such(tmp_path):
    """The store's failures as SQLite reports them, each with what to do."""
    import sqlite3

    from xlsxflow.cli.common import store_error

    path = tmp_path / "register.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    with pytest.raises(sqlite3.OperationalError) as busy:
        sqlite3.connect(path, timeout=0).execute("SELECT * FROM t").fetchall()
    writer.execute("ROLLBACK")
    full = sqlite3.connect(path, isolation_level=None)
    full.execute("PRAGMA max_page_count = 2")
    with pytest.raises(sqlite3.OperationalError) as no_room:
        full.execute("INSERT INTO t VALUES (?)", ("x" * 100_000,))
    assert store_error(busy.value).code == "store.busy"
    assert store_error(no_room.value).code == "store.full"
    # A read-only file (restored from a USB stick) or one that cannot be opened (a sync
    # tool's placeholder): not damage, and not to be replaced with a backup.
    with pytest.raises(sqlite3.OperationalError) as read_only:
        sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True).execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError) as cannot_open:
        sqlite3.connect(tmp_path / "gone" / "register.sqlite").execute("SELECT 1")
    for failed in (read_only.value, cannot_open.value):
        told = store_error(failed)
        assert told.code == "store.unavailable"
        assert "不是文件损坏，请不要用备份替换" in str(told)


def test_an_inbox_file_that_cannot_be_read_stops_the_merge_cleanly(ws, cycle, monkeypatch):
    """(On Windows: a file held by another program, or a OneDrive file not downloaded.)
    Told in Chinese, naming the file; nothing in the workspace changes; once it can be
    read, the merge goes through."""
    import xlsxflow.register.hashes as hashes

    put_all([cycle[n] for n in APPS], ws.inbox)
    assert run("merge", ws.root).exit_code == 0
    held = put_all([cycle[n] for n in APPS[:1]], ws.inbox / "new")[0]
    real = hashes.sha256_of

    def sha256_of(path):
        if Path(path) == held:
            raise PermissionError(13, "另一个程序正在使用此文件，进程无法访问。", str(path))
        return real(path)

    monkeypatch.setattr(hashes, "sha256_of", sha256_of)
    before = {p: p.read_bytes() for p in ws.root.rglob("*") if p.is_file()}
    result = run("merge", ws.root)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"错误：无法读取收件文件 {held}（另一个程序正在使用此文件")
    assert {p: p.read_bytes() for p in ws.root.rglob("*") if p.is_file()} == before
    monkeypatch.setattr(hashes, "sha256_of", real)
    assert run("merge", ws.root).exit_code == 0


def test_a_file_changed_while_it_is_archived_is_told_from_a_reading_process(tmp_path):
    """The error crosses from the reading process whole: code, message and fields."""
    import pickle

    from xlsxflow.errors import XlsxflowError
    from xlsxflow.register.archive import archive_pack

    source = tmp_path / "a.xlsx"
    source.write_bytes(b"PK now")
    with pytest.raises(XlsxflowError) as changed:
        archive_pack([(source, "0" * 64)], tmp_path / "archive")
    back = pickle.loads(pickle.dumps(changed.value))
    assert (back.code, back.fields, str(back)) == (
        "inbox.file_changed",
        {"path": str(source)},
        str(changed.value),
    )
    assert str(back).startswith(f"收件文件 {source} 在合并过程中被改动")


def test_an_acceptance_held_for_its_closure_alone_does_not_fail_the_merge(ws, cycle):
    """暂缓 is said, with what it waits for and that nothing is to be resent; exit 0."""
    wanted = ("T02_demonstration", "review", "T02_ledger", "T02_acceptance")
    put_all([cycle[n] for n in wanted], ws.inbox)
    result = run("merge", ws.root)
    assert result.exit_code == 0, result.output
    assert "验收评分表：新增 0，更新 0，未变 0，退回 0，暂缓 1" in result.stdout
    assert "合计：新增 3，更新 0，未变 0，退回 0，暂缓 1。" in result.stdout
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("暂缓 ")]
    assert line.endswith(
        "T02_acceptance.xlsx：等待该项目的结题报告：结题报告合并后本表自动生效，不必重新报送。"
    )


def test_a_refused_return_without_a_saved_time_is_told_not_a_crash(ws, cycle):
    """No dcterms:modified in its properties (some programs write none): a refused
    return is refused as any other (merge died with a KeyError looking for a later one)."""
    import re

    from builders import rewrite_zip

    (path,) = put_all([cycle["T06_innovation_blank"]], ws.inbox)
    unstamped = path.with_name("unstamped.xlsx")

    def unstamp(data: bytes) -> bytes:
        return re.sub(rb"<dcterms:modified[^>]*>[^<]*</dcterms:modified>", b"", data)

    rewrite_zip(path, unstamped, edit={"docProps/core.xml": unstamp})
    path.unlink()
    code, data = run_json(ws)
    assert code == 1
    assert data["totals"] == counts(rejected=1)
    assert [Path(r["path"]).name for r in data["rejections"]] == ["unstamped.xlsx"]
