"""``xlsxflow run``: the one command before a dispatch meeting."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlsxflow.cli import cli
from xlsxflow.demo.cycle import play
from xlsxflow.fsutil import exclusive_lock
from xlsxflow.register.store import Store
from xlsxflow.workspace import Workspace


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    return play(tmp_path_factory.mktemp("run") / "ws", committees=6, seed=7).ws


def stored(ws: Workspace) -> dict[str, tuple]:
    """What the store holds of each return, by its hash."""
    with sqlite3.connect(ws.data / "register.sqlite") as db:
        rows = db.execute("SELECT sha256, form, valid, problems, payload FROM submissions")
        return {sha: tuple(rest) for sha, *rest in rows}


def fresh_copy(played: Workspace, tmp_path) -> Workspace:
    """The played inbox, as if nothing had been merged yet."""
    root = tmp_path / "ws"
    shutil.copytree(played.root, root)
    shutil.rmtree(root / "data")
    (root / "register.xlsx").unlink()
    shutil.rmtree(root / "reports")
    (root / "reports").mkdir()
    return Workspace.open(root)


def test_run_does_every_step_and_writes_the_summary(played, tmp_path):
    ws = fresh_copy(played, tmp_path)
    result = CliRunner().invoke(
        cli, ["run", str(ws.root), "--as-of", "2012-06-30", "--send", "--dry-run", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [s["step"] for s in data["steps"]] == [
        "校验",
        "退回修改",
        "合并",
        "进度计算",
        "汇总表",
        "退回邮件",
        "汇总邮件",
    ]
    assert data["ok"] and all(s["ok"] for s in data["steps"])
    assert (ws.reports / "2011年度第2次调度会汇总（2012-06-30）.xlsx").exists()
    assert ws.register_path.exists()
    drafts = sorted((ws.root / "mail" / "drafts").glob("*.eml"))
    assert any("summary" in p.name for p in drafts)
    steps = {s["step"]: s["summary"] for s in data["steps"]}
    assert steps["汇总邮件"].startswith("生成草稿 3 封")  # three leaders in the sample roster
    # a second run finds nothing new to validate or merge
    again = CliRunner().invoke(cli, ["run", str(ws.root), "--as-of", "2012-06-30", "--json"])
    steps = {s["step"]: s["summary"] for s in json.loads(again.output)["steps"]}
    assert steps["校验"].startswith("新收到 0 份")
    assert steps["合并"].startswith("新增 0，更新 0")


def test_a_failing_step_stops_what_depends_on_it(played, tmp_path):
    ws = fresh_copy(played, tmp_path)
    with exclusive_lock(ws.data / "merge.lock"):  # another merge is running
        result = CliRunner().invoke(cli, ["run", str(ws.root), "--as-of", "2012-06-30"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[-1].startswith("✘ 合并：") and "后续步骤未执行" in lines[-1]
    assert not any(line.startswith("✔ 汇总表") for line in lines)
    assert list(ws.reports.iterdir()) == []


def test_a_register_held_open_is_told_as_the_other_commands_tell_it(played, tmp_path, monkeypatch):
    """(Excel on Windows refuses to let another program open a workbook it has open for
    writing: simulated here, where Linux would allow it.)"""
    from xlsxflow.errors import message

    ws = fresh_copy(played, tmp_path)
    ws.register_path.write_bytes(b"open in Excel")
    real = Path.open

    def held_open(self, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if self == ws.register_path and mode == "r+b":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", held_open)
    result = CliRunner().invoke(cli, ["run", str(ws.root), "--as-of", "2012-06-30"])
    assert result.exit_code == 1
    told = message("output.busy", path=ws.register_path)
    assert f"✘ 合并：{told}；后续步骤未执行" in result.output.splitlines()
    assert "Errno" not in result.output


def test_an_inbox_file_that_cannot_be_read_stops_run_in_chinese(played, tmp_path, monkeypatch):
    import xlsxflow.register.hashes as hashes

    ws = fresh_copy(played, tmp_path)
    held = sorted(ws.inbox.rglob("*.xlsx"))[3]
    real = hashes.sha256_of

    def sha256_of(path):  # type: ignore[no-untyped-def]
        if Path(path) == held:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(hashes, "sha256_of", sha256_of)
    result = CliRunner().invoke(cli, ["run", str(ws.root), "--as-of", "2012-06-30"])
    assert result.exit_code == 1
    assert f"错误：无法读取收件文件 {held}（Permission denied）" in result.output
    assert not ws.register_path.exists() and not (ws.data / "register.sqlite").exists()


def test_dry_run_without_send_is_a_usage_error_and_nothing_runs(played, tmp_path):
    from xlsxflow.errors import message

    ws = fresh_copy(played, tmp_path)
    result = CliRunner().invoke(cli, ["run", str(ws.root), "--as-of", "2012-06-30", "--dry-run"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "错误：" + message("run.dry_run_without_send")
    assert not ws.register_path.exists() and list(ws.reports.iterdir()) == []


def test_quiet_prints_only_failures(played, tmp_path):
    ws = fresh_copy(played, tmp_path)
    result = CliRunner().invoke(cli, ["run", str(ws.root), "--as-of", "2012-03-31", "-q"])
    assert result.exit_code == 0
    assert result.output == ""


def test_a_file_that_changes_or_arrives_during_run_is_merged_as_it_is(tmp_path, monkeypatch):
    """run validates the inbox, writes the marked-up copies, then merges; merge hashes
    the inbox again. A file replaced under the same name meanwhile is stored with its
    own values (not those run read before), and one that arrived is read too."""
    import datetime as dt
    import hashlib

    from registerkit import mini_cycle, new_workspace, put_all, stored

    from xlsxflow import feedback
    from xlsxflow.pipeline import run

    cycle = mini_cycle(tmp_path / "cycle")
    ws = new_workspace(tmp_path / "ws")
    first, other, late = (
        cycle["T01_innovation"],
        cycle["T05_institutional"],
        cycle["T03_innovation"],
    )
    put_all([first], ws.inbox)
    [path] = [p for p in ws.inbox.rglob("*") if p.is_file()]
    real = feedback.write_feedback

    def meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        path.write_bytes(other.data)  # replaced under the same name
        put_all([late], ws.inbox)  # and one more arrives
        return real(*args, **kwargs)

    monkeypatch.setattr(feedback, "write_feedback", meanwhile)
    report = run(ws, dt.date(2012, 3, 31))
    assert [s.name for s in report.steps][:3] == ["校验", "退回修改", "合并"]
    assert report.steps[2].ok, report.steps[2].summary
    subs = {s.sha256: s for s in stored(ws)}
    assert set(subs) == {other.sha, late.sha}
    assert hashlib.sha256(path.read_bytes()).hexdigest() == other.sha
    assert subs[other.sha].form == "application_institutional"
    assert subs[late.sha].form == "application_innovation"


def test_run_stores_what_a_merge_stores(played, tmp_path):
    """``run`` keeps the values it validated (compressed) until it merges them: the
    store then holds, return by return, what ``merge`` reading the files itself holds."""
    by_run = fresh_copy(played, tmp_path / "a")
    by_merge = fresh_copy(played, tmp_path / "b")
    assert (
        CliRunner().invoke(cli, ["run", str(by_run.root), "--as-of", "2012-06-30"]).exit_code == 0
    )
    assert CliRunner().invoke(cli, ["merge", str(by_merge.root), "-q"]).exit_code == 0

    got, expected = stored(by_run), stored(by_merge)
    assert len(got) > 20 and got == expected


def test_runs_merge_starts_no_reading_processes(played, tmp_path, monkeypatch):
    """``run`` has read the returns already: its merge starts no processes to read them
    (on Windows each would be spawned for nothing)."""
    from xlsxflow.register import merge as merge_module

    asked: list[int] = []
    real = merge_module._workers
    monkeypatch.setattr(
        merge_module, "_workers", lambda files, *a: (asked.append(files), real(files, *a))[1]
    )
    ws = fresh_copy(played, tmp_path)
    assert CliRunner().invoke(cli, ["run", str(ws.root), "--as-of", "2012-06-30"]).exit_code == 0
    assert asked == [0]


def test_run_starts_its_readers_ahead_for_the_files_surely_new(played, tmp_path, monkeypatch):
    """(Spawned, on Windows, they then start while run imports its steps' modules.)"""
    from xlsxflow import parallel

    asked: list[int] = []
    real = parallel.readers_ahead
    monkeypatch.setattr(
        parallel, "readers_ahead", lambda files: (asked.append(files), real(files))[1]
    )
    monkeypatch.setattr(parallel, "spawning", lambda: True)  # (forked, none are counted)
    ws = fresh_copy(played, tmp_path)
    files = sum(p.is_file() for p in ws.inbox.rglob("*"))  # (in folders of their own)
    for _ in range(2):
        assert (
            CliRunner().invoke(cli, ["run", str(ws.root), "--as-of", "2012-06-30"]).exit_code == 0
        )
    assert asked == [files, 0]


SPAWNED_RUN = """
import multiprocessing, sys
from xlsxflow import parallel

multiprocessing.set_start_method("spawn")  # (as on Windows)
parallel.workers_for = lambda count, workers=None: 2 if count else 1  # (whatever the cores)
taken = []
real = parallel._take_ahead


def take(n):
    ahead = real(n)
    taken.append(ahead is not None)
    return ahead


parallel._take_ahead = take
from xlsxflow.cli import main
sys.argv = ["xlsxflow", "run", sys.argv[1], "--as-of", "2012-06-30", "-q"]
try:
    main()
except SystemExit as exit:
    print(exit.code, taken)
"""


def test_run_spawned_reads_on_the_readers_it_started_ahead(played, tmp_path):
    """What the spawned readers started ahead read is what run reads forked; their
    context's file is gone."""
    spawned, forked = fresh_copy(played, tmp_path / "a"), fresh_copy(played, tmp_path / "b")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", SPAWNED_RUN, str(spawned.root)],
        capture_output=True,
        encoding="utf-8",
        env={**os.environ, "TMPDIR": str(temporary), "TEMP": str(temporary)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0 [True]", done.stderr
    assert not list(temporary.iterdir())
    assert (
        CliRunner().invoke(cli, ["run", str(forked.root), "--as-of", "2012-06-30"]).exit_code == 0
    )
    got, expected = stored(spawned), stored(forked)
    assert len(got) > 20 and got == expected
    assert spawned.register_path.read_bytes() == forked.register_path.read_bytes()


def test_a_return_corrected_before_the_run_is_not_marked_up(tmp_path):
    """A committee sent a form, then a corrected one, both before the clerk's run: only
    the later-saved one is checked for the committee; no marked-up copy of the first."""
    import datetime as dt

    from builders import filled_application
    from registerkit import new_workspace

    from xlsxflow.pipeline import run

    ws = new_workspace(tmp_path / "ws")
    monday = dt.datetime(2011, 11, 7, 9, 30)
    filled_application(ws, {"project_name": None}, name="v1.xlsx", saved_at=monday)
    filled_application(ws, name="v2.xlsx", saved_at=monday + dt.timedelta(days=1))
    report = run(ws, dt.date(2012, 3, 31))
    steps = {s.name: s.summary for s in report.steps}
    assert steps["校验"] == (
        "新收到 1 份表格，合格 1 份，需退回修改 0 份（另有 1 份已有同一表格后来保存的版本，不计）"
    )
    assert steps["退回修改"].startswith("生成标注副本 0 份")
    assert not any(ws.feedback.rglob("*.xlsx"))
    # nor is it a refusal at the merge: the later version is what counts there too
    assert steps["合并"].startswith("新增 1，更新 0，未变 0，退回 0，已有新版 1；")
    assert report.ok


def test_a_result_kept_from_validating_is_named_as_merge_listed_it(tmp_path):
    """On Windows a file whose name changed only in letter case since run validated it
    is the same ``Path`` but not the same text: merge, which keys its new files by the
    text it listed, is handed the kept result under that text."""
    from xlsxflow.pipeline import _Held, _read_already
    from xlsxflow.problems import FileResult
    from xlsxflow.register.hashes import stat_of

    path = tmp_path / "a.xlsx"
    path.write_bytes(b"PK")
    held = _Held()
    held.add(FileResult(path=str(path), payload_json="{}"))
    held.results[path].path = str(tmp_path / "A.xlsx")  # (as validated, before the rename)
    archive = lambda paths: {str(p): f"packs/x.zip!{p.name}" for p in paths}  # noqa: E731
    [result] = _read_already(held, {path: stat_of(path)}, None, [path], archive)  # type: ignore[arg-type]
    assert result.path == str(path)
    assert result.archived == "packs/x.zip!a.xlsx"
    assert result.payload_json == "{}"


def test_run_hashes_each_new_file_once(played, tmp_path, monkeypatch):
    """``run`` hashes the inbox to find what is new; its merge then takes those hashes
    where ``stat`` still vouches for them, instead of reading every new file again (a
    province's 10,000: ~0.5 s)."""
    from xlsxflow.register import hashes

    ws = fresh_copy(played, tmp_path)
    files = [p for p in ws.inbox.rglob("*") if p.is_file()]
    for path in files:  # (received yesterday: older than the racy window)
        os.utime(path, (time.time() - 86_400,) * 2)
    read: list[str] = []
    real = hashes.sha256_of
    monkeypatch.setattr(hashes, "sha256_of", lambda p: (read.append(str(p)), real(p))[1])
    assert CliRunner().invoke(cli, ["run", str(ws.root), "--as-of", "2012-06-30"]).exit_code == 0
    assert sorted(read) == sorted(map(str, files))
    with Store(ws.data / "register.sqlite") as store:  # (and the store keeps them all)
        assert set(store.inbox_hashes()) == {p.relative_to(ws.inbox).as_posix() for p in files}
