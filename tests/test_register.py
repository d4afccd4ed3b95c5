"""The master register: what ``merge`` makes of a mini cycle of returns, read back from
``register.xlsx`` (openpyxl) and from the store.

The returns are built by ``registerkit`` the way a county makes them (see its docstring
for the standard set). Every test merges into fresh workspaces made with the same config
and roster; the mini cycle itself is built once per module.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import random
import re
import shutil
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName
from registerkit import (
    BUDGET_V1,
    BUDGET_V2,
    CHANGES,
    DEMONSTRATION,
    INNOVATION,
    INSTITUTIONAL,
    PROJECTS,
    SUBMISSIONS,
    TASKS,
    Department,
    MiniCycle,
    Return,
    acceptance,
    application,
    application_input,
    archive_contents,
    archived_bytes,
    citing,
    closure,
    instance,
    ledger,
    mini_cycle,
    new_workspace,
    number,
    project_row,
    put_all,
    register_rows,
    review,
    stored,
    submission_rows,
)

from xlsxflow.config import Config, NumberingConfig
from xlsxflow.errors import UsageError, XlsxflowError
from xlsxflow.excel.chunk_workers import make_plain as _MAKE_PLAIN
from xlsxflow.fsutil import exclusive_lock, sha256_of
from xlsxflow.register.archive import archive_pack, locate
from xlsxflow.register.merge import BACKUPS_KEPT, LAST_WRITTEN, merge
from xlsxflow.workspace import Workspace

T01 = instance("T01", INNOVATION)
T02 = instance("T02", DEMONSTRATION)
T02_INST = instance("T02", INSTITUTIONAL)
T03 = instance("T03", INNOVATION)
T05_INST = instance("T05", INSTITUTIONAL)
BUDGET = "党委专项资金（元）"


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> MiniCycle:
    return mini_cycle(tmp_path_factory.mktemp("cycle"))


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory, cycle: MiniCycle):
    """The whole mini cycle merged at once (read-only for the tests that use it)."""
    ws = new_workspace(tmp_path_factory.mktemp("merged") / "ws")
    put_all(cycle.returns, ws.inbox)
    return ws, merge(ws)


def fresh(tmp_path: Path, name: str = "ws", config: Config | None = None) -> Workspace:
    return new_workspace(tmp_path / name, config)


def receive(ws: Workspace, *returns: Return):
    put_all(returns, ws.inbox)
    return merge(ws)


def status(ws: Workspace, r: Return) -> dict:
    return submission_rows(ws)[r.sha]


def state_of(ws: Workspace, key: str) -> str:
    return project_row(ws, key)["项目状态"]


# -- applications -------------------------------------------------------------------------


def test_each_application_becomes_one_row_with_its_typed_values(tmp_path, cycle):
    ws = fresh(tmp_path)
    apps = [cycle[n] for n in ("T01_innovation", "T02_demonstration", "T03_innovation")]
    apps.append(cycle["T02_institutional"])
    report = receive(ws, *apps)

    assert report.ok and report.register_written
    assert report.as_json()["totals"] == {
        "new": 4,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "held": 0,
        "superseded": 0,
    }
    rows = register_rows(ws, PROJECTS)
    assert sorted(r["申报表编号"] for r in rows) == sorted([T01, T02, T02_INST, T03])
    for r in apps:
        values, _plan = application_input(ws, r.committee, r.kind)
        if r.name == "T01_innovation":
            values["budget_special"] = BUDGET_V1
        row = project_row(ws, instance(r.committee, r.kind))
        committee = ws.roster.committee(r.committee)
        assert row["单位编号"] == r.committee
        assert row["申报单位"] == committee.name
        assert row["项目名称"] == values["project_name"]
        assert row["承办党组织"] == values["undertaking_org"]
        assert row["项目组长（党委主要负责人）"] == values["lead_name"]
        assert row["联系电话"] == committee.phone
        assert row["项目方向"] == values["direction"]
        # typed, not text: dates are dates, money is a number
        assert row["计划开始时间"] == dt.datetime.combine(values["start_date"], dt.time())
        assert row["计划完成时间"] == dt.datetime.combine(values["end_date"], dt.time())
        assert isinstance(row[BUDGET], int | float)
        assert number(row[BUDGET]) == Decimal(str(values["budget_special"]))
        assert number(row["申请县管党费扶持（元）"]) == Decimal(str(values["budget_party_fee"]))
        assert row["项目状态"] == "已申报"
        assert row["立项编号"] is None
        assert row["申报表版本"] == r.sha[:12]
    assert project_row(ws, T02)["项目类型"] == "典型示范型"
    assert project_row(ws, T02_INST)["项目类型"] == "制度推广型"

    log = submission_rows(ws)
    assert set(log) == {r.sha for r in apps}
    for r in apps:
        entry = log[r.sha]
        assert entry["原文件名"] == r.filename
        assert entry["处理结果"] == "已接收"
        assert entry["版本"] == 1
        assert entry["保存时间"] == r.saved_at.isoformat(sep=" ")
        assert entry["表单编号"] == instance(r.committee, r.kind)


def test_every_file_is_listed_accepted_rejected_or_held_with_its_reason(merged, cycle):
    ws, report = merged
    log = submission_rows(ws)
    assert set(log) == {r.sha for r in cycle.returns}
    rejected = {
        "T05_institutional": "来源项目编号“NCX-2011-SF-001”不是本单位已立项的典型示范型项目",
        "T06_innovation_blank": "“项目名称”未填写",
        "T03_ledger": "没有对应的已立项项目",
    }
    # valid, for a real project, but before its closure report: waits, is not refused
    held = {"T02_acceptance": "等待该项目的结题报告：结题报告合并后本表自动生效"}
    for r in cycle.returns:
        entry = log[r.sha]
        if r.name in rejected:
            assert entry["处理结果"] == "已退回", r.name
            assert rejected[r.name] in entry["说明"], (r.name, entry["说明"])
        elif r.name in held:
            assert entry["处理结果"] == "暂缓", r.name
            assert held[r.name] in entry["说明"], (r.name, entry["说明"])
        else:
            assert entry["处理结果"] == "已接收", (r.name, entry["说明"])
    reasons = {Path(p).stem: reason for p, reason in report.rejections}
    assert sorted(reasons) == sorted(rejected)
    assert all(rejected[name] in reasons[name] for name in rejected)
    waits = {Path(p).stem: reason for p, reason in report.holds}
    assert waits.keys() == held.keys() and held["T02_acceptance"] in waits["T02_acceptance"]
    assert (report.as_json()["totals"]["held"], report.held["acceptance"]) == (1, 1)
    assert not report.ok
    # an invalid return adds no project; its committee still owes an application
    assert instance("T06", INNOVATION) not in {r["申报表编号"] for r in register_rows(ws, PROJECTS)}
    assert log[cycle["T06_innovation_blank"].sha]["版本"] is None


# -- the same file twice, resubmissions -------------------------------------------------------


def test_a_second_merge_with_nothing_new_changes_nothing(tmp_path, cycle):
    ws = fresh(tmp_path)
    first = receive(ws, *cycle.returns)
    assert first.register_written
    before_bytes = ws.register_path.read_bytes()
    before_mtime = ws.register_path.stat().st_mtime_ns
    before_subs = stored(ws)
    archive = sorted(p.relative_to(ws.data) for p in (ws.data / "archive").rglob("*"))

    again = merge(ws)

    assert again.ok
    assert not again.register_written
    totals = again.as_json()["totals"]
    assert totals == {
        "new": 0,
        "updated": 0,
        "unchanged": len(cycle.returns),
        "rejected": 0,
        "held": 0,
        "superseded": 0,
    }
    assert ws.register_path.read_bytes() == before_bytes
    assert ws.register_path.stat().st_mtime_ns == before_mtime
    assert stored(ws) == before_subs
    assert sorted(p.relative_to(ws.data) for p in (ws.data / "archive").rglob("*")) == archive
    assert not (ws.data / "backups").exists() or not any((ws.data / "backups").iterdir())


def test_the_same_file_under_other_names_is_stored_once(tmp_path, cycle):
    ws = fresh(tmp_path)
    r = cycle["T01_innovation"]
    r.put(ws.inbox)
    r.put(ws.inbox, "回复：莲溪镇申报表（副本）.xlsx")
    report = merge(ws)
    assert report.as_json()["totals"]["new"] == 1
    assert [s.sha256 for s in stored(ws)] == [r.sha]
    assert len(register_rows(ws, SUBMISSIONS)) == 1
    assert len(register_rows(ws, PROJECTS)) == 1

    written = ws.register_path.read_bytes()
    r.put(ws.inbox / "再次转发", "莲溪镇.xlsx")
    again = merge(ws)
    assert again.as_json()["totals"] == {
        "new": 0,
        "updated": 0,
        "unchanged": 3,
        "rejected": 0,
        "held": 0,
        "superseded": 0,
    }
    assert [s.sha256 for s in stored(ws)] == [r.sha]
    assert ws.register_path.read_bytes() == written


def test_copies_of_one_file_give_the_same_register_whichever_name_came_first(tmp_path, cycle):
    """The register names a file by what it was called; with copies under several names
    that must not depend on which copy was merged first."""
    r = cycle["T01_innovation"]
    together = fresh(tmp_path, "together")
    r.put(together.inbox, "a.xlsx")
    r.put(together.inbox, "b.xlsx")
    merge(together)
    for first, second in (("a.xlsx", "b.xlsx"), ("b.xlsx", "a.xlsx")):
        ws = fresh(tmp_path, f"first-{first}")
        r.put(ws.inbox, first)
        merge(ws)
        r.put(ws.inbox, second)
        merge(ws)
        assert ws.register_path.read_bytes() == together.register_path.read_bytes(), first


def test_a_changed_resubmission_is_a_new_version_and_wins(tmp_path, cycle):
    ws = fresh(tmp_path)
    v1, v2 = cycle["T01_innovation"], cycle["T01_innovation_v2"]
    receive(ws, v1)
    assert number(project_row(ws, T01)[BUDGET]) == BUDGET_V1

    report = receive(ws, v2)

    assert report.as_json()["by_form"][INNOVATION] == {
        "new": 0,
        "updated": 1,
        "unchanged": 1,
        "rejected": 0,
        "held": 0,
        "superseded": 0,
    }
    assert len(register_rows(ws, PROJECTS)) == 1
    row = project_row(ws, T01)
    assert number(row[BUDGET]) == BUDGET_V2
    assert row["申报表版本"] == v2.sha[:12]
    log = submission_rows(ws)
    assert (log[v1.sha]["版本"], log[v1.sha]["处理结果"]) == (1, "已接收")
    assert (log[v2.sha]["版本"], log[v2.sha]["处理结果"]) == (2, "已接收")
    assert log[v2.sha]["说明"] == BUDGET  # the changed field, by its label
    assert {s.sha256 for s in stored(ws)} == {v1.sha, v2.sha}


def test_an_older_version_arriving_after_the_newer_one_does_not_win(tmp_path, cycle):
    ws = fresh(tmp_path)
    v1, v2 = cycle["T01_innovation"], cycle["T01_innovation_v2"]
    receive(ws, v2)
    assert number(project_row(ws, T01)[BUDGET]) == BUDGET_V2
    receive(ws, v1)
    assert number(project_row(ws, T01)[BUDGET]) == BUDGET_V2
    log = submission_rows(ws)
    assert (log[v1.sha]["版本"], log[v2.sha]["版本"]) == (1, 2)
    assert log[v2.sha]["说明"] == BUDGET

    # the same two files in the other order: the same register
    other = fresh(tmp_path, "other")
    receive(other, v1)
    receive(other, v2)
    assert other.register_path.read_bytes() == ws.register_path.read_bytes()


def test_a_resubmission_saved_at_the_same_moment_is_ordered_by_content(tmp_path, cycle):
    """Ties in the saved time are broken by the content hash, whatever the arrival order."""
    ws = cycle.dept.ws
    at = cycle["T01_innovation"].saved_at
    a = application(ws, "T07", saved_at=at, overrides={"lead_name": "甲"}, name="a")
    b = application(ws, "T07", saved_at=at, overrides={"lead_name": "乙"}, name="b")
    winner = max((a, b), key=lambda r: r.sha)
    registers = []
    for order in ((a, b), (b, a)):
        target = fresh(tmp_path, order[0].name)
        for r in order:
            receive(target, r)
        assert project_row(target, instance("T07", INNOVATION))["项目组长（党委主要负责人）"] == (
            "甲" if winner is a else "乙"
        )
        registers.append(target.register_path.read_bytes())
    assert registers[0] == registers[1]


# -- the same files in any order --------------------------------------------------------------


def test_the_same_files_in_any_order_give_the_same_register_byte_for_byte(tmp_path, cycle):
    files = cycle.returns
    all_at_once = fresh(tmp_path, "all")
    receive(all_at_once, *files)
    expected = all_at_once.register_path.read_bytes()

    in_order = fresh(tmp_path, "in_order")
    for r in files:
        receive(in_order, r)
    reverse = fresh(tmp_path, "reverse")
    for r in reversed(files):
        receive(reverse, r)
    shuffled = fresh(tmp_path, "shuffled")
    rng = random.Random(4)
    for batch in _batches(rng.sample(files, len(files)), rng):  # one to four files a merge
        receive(shuffled, *batch)

    for ws in (in_order, reverse, shuffled):
        assert ws.register_path.read_bytes() == expected, ws.root.name
        # the same facts; only where each file was archived depends on its batch
        assert [replace(s, archived="") for s in stored(ws)] == [
            replace(s, archived="") for s in stored(all_at_once)
        ], ws.root.name
        assert archive_contents(ws) == archive_contents(all_at_once)
    # and the register says what the module docstring of registerkit says it should
    numbers = {r["申报表编号"]: r["立项编号"] for r in register_rows(all_at_once, PROJECTS)}
    assert numbers == {
        T01: "NCX-2011-CX-001",
        T02: "NCX-2011-SF-001",
        T02_INST: "NCX-2011-TG-001",
        T03: None,
        T05_INST: None,
    }


def _batches(files: list[Return], rng: random.Random) -> list[list[Return]]:
    out = []
    while files:
        size = rng.randint(1, 4)
        out.append(files[:size])
        files = files[size:]
    return out


# -- decisions, numbers, states ---------------------------------------------------------------


def test_review_decides_and_numbers_follow_the_pattern_per_type_in_review_order(tmp_path):
    config = Config(numbering=NumberingConfig(pattern="DJ{year}-{type}{seq:02d}"))
    dept = Department(tmp_path / "dept", config)
    at = dt.datetime(2011, 12, 1, 10)
    apps = [
        application(dept.ws, "T01", saved_at=at),
        application(dept.ws, "T03", saved_at=at),
        application(dept.ws, "T04", saved_at=at),
        application(dept.ws, "T07", saved_at=at),
        application(dept.ws, "T02", DEMONSTRATION, saved_at=at),
        application(dept.ws, "T08", DEMONSTRATION, saved_at=at),
    ]
    dept.receive(*apps)
    rows = dept.review_rows()
    assert [r["rv_instance"].split(".")[1] for r in rows] == [
        "T01",
        "T02",
        "T03",
        "T04",
        "T07",
        "T08",
    ]
    decisions = {
        instance("T01", INNOVATION): "立项",
        instance("T03", INNOVATION): "不立项",
        instance("T04", INNOVATION): "立项",
        instance("T07", INNOVATION): "立项",
        instance("T02", DEMONSTRATION): "不立项",
        instance("T08", DEMONSTRATION): "立项",
    }
    sheet = review(dept.ws, rows, decisions, saved_at=dt.datetime(2012, 1, 5, 9))

    ws = fresh(tmp_path, "ws", config)
    report = receive(ws, *apps, sheet)
    assert report.ok
    got = {
        r["申报表编号"].split(".")[1]: (r["立项编号"], r["项目状态"], r["评审得分"])
        for r in register_rows(ws, PROJECTS)
    }
    assert got == {
        "T01": ("DJ2011-CX01", "已立项", 81),
        "T02": (None, "未立项", 81),
        "T03": (None, "未立项", 81),
        "T04": ("DJ2011-CX02", "已立项", 81),
        "T07": ("DJ2011-CX03", "已立项", 81),
        "T08": ("DJ2011-SF01", "已立项", 81),
    }
    # the register lists projects by number; the rejected ones after them
    keys = [r["申报表编号"].split(".")[1] for r in register_rows(ws, PROJECTS)]
    assert keys[:4] == ["T01", "T04", "T07", "T08"]


def test_a_changed_review_sheet_is_a_new_version_that_decides(tmp_path, cycle):
    """The review sheet is one form: resent with a decision changed, it replaces the
    earlier version as a whole; numbers already given keep their order."""
    dept = cycle.dept
    decisions = {T01: "立项", T02: "立项", T02_INST: "立项", T03: "立项", T05_INST: "立项"}
    second = review(
        dept.ws, dept.review_rows(), decisions, saved_at=dt.datetime(2012, 1, 20, 9), name="v2"
    )
    ws = fresh(tmp_path)
    apps = [r for r in cycle.returns if r.kind.startswith("application_")]
    receive(ws, *apps, cycle["review"], second)
    numbers = {r["申报表编号"]: r["立项编号"] for r in register_rows(ws, PROJECTS)}
    assert numbers == {
        T01: "NCX-2011-CX-001",
        T02: "NCX-2011-SF-001",
        T02_INST: "NCX-2011-TG-001",
        T03: "NCX-2011-CX-002",
        T05_INST: None,
    }
    log = submission_rows(ws)
    assert (log[cycle["review"].sha]["版本"], log[second.sha]["版本"]) == (1, 2)
    assert log[second.sha]["说明"] == "申报项目评审"  # the table that changed


def test_project_states_follow_ledger_closure_and_acceptance(tmp_path, cycle):
    ws = fresh(tmp_path)
    apps = [r for r in cycle.returns if r.kind.startswith("application_")]
    receive(ws, *apps)
    assert {state_of(ws, k) for k in (T01, T02, T02_INST, T03)} == {"已申报"}

    receive(ws, cycle["review"])
    assert state_of(ws, T01) == "已立项"
    assert state_of(ws, T03) == "未立项"

    receive(ws, cycle["T02_ledger"])  # nothing done yet
    assert state_of(ws, T02) == "已启动"
    receive(ws, cycle["T01_ledger"])  # tasks under way
    assert state_of(ws, T01) == "实施中"
    receive(ws, cycle["T01_closure"])
    assert state_of(ws, T01) == "已结题"
    report = receive(ws, cycle["T01_acceptance"])
    assert report.ok
    assert state_of(ws, T01) == "已验收"
    assert state_of(ws, T02) == "已启动"
    assert state_of(ws, T02_INST) == "已立项"

    changes = [(r["日期"], r["内容"]) for r in register_rows(ws, CHANGES) if r["申报表编号"] == T01]
    assert changes[0][1] == "状态变为“已申报”"
    assert changes[1:] == [
        ("2012-01-05", "状态变为“已立项”（立项编号 NCX-2011-CX-001）"),
        ("2012-03-31", "状态变为“已启动”"),
        ("2012-03-31", "状态变为“实施中”"),
        ("2012-07-10", "状态变为“已结题”"),
        ("2012-09-20", "状态变为“已验收”"),
    ]


def test_a_change_of_state_is_dated_by_the_version_that_first_brought_it(tmp_path, cycle):
    """变更记录 dates a change by the first version of the return that brought it: the
    application's first version; a ledger sent before its project was approved, by the
    approval; work shown from the second version of a ledger on, by that version; a
    correction sent again later moves nothing. Merged at once or in steps, the same."""
    t01 = cycle.projects["T01_ledger"]
    dws = cycle.dept.ws
    early = ledger(dws, t01, saved_at=dt.datetime(2012, 1, 3, 9), progress=False, name="early")
    again = ledger(dws, t01, saved_at=dt.datetime(2012, 4, 15, 9), name="T01_ledger_again")
    apps = (cycle["T01_innovation"], cycle["T01_innovation_v2"])
    ws = fresh(tmp_path)
    receive(ws, *apps, early)  # (held back: the project is not approved yet)
    receive(ws, cycle["review"])
    receive(ws, cycle["T01_ledger"])
    expected = [
        ("2011-12-01", "状态变为“已申报”", cycle["T01_innovation"].sha[:12]),
        ("2012-01-05", "状态变为“已立项”（立项编号 NCX-2011-CX-001）", cycle["review"].sha[:12]),
        ("2012-01-05", "状态变为“已启动”", early.sha[:12]),
        ("2012-03-31", "状态变为“实施中”", cycle["T01_ledger"].sha[:12]),
    ]

    def changes(at: Workspace) -> list[tuple[str, str, str]]:
        rows = register_rows(at, CHANGES)
        return [(r["日期"], r["内容"], r["来源文件"]) for r in rows if r["申报表编号"] == T01]

    assert changes(ws) == expected
    receive(ws, again)
    assert changes(ws) == expected
    at_once = fresh(tmp_path, "at-once")
    receive(at_once, *apps, cycle["review"], early, cycle["T01_ledger"], again)
    assert register_rows(at_once, CHANGES) == register_rows(ws, CHANGES)


def test_an_acceptance_that_fails_leaves_the_project_not_accepted(tmp_path, cycle):
    t01 = cycle.projects["T01_closure"]
    failed = acceptance(
        cycle.dept.ws, t01, saved_at=dt.datetime(2012, 9, 22, 9), conclusion="不合格"
    )
    ws = fresh(tmp_path)
    wanted = ("T01_innovation", "T01_innovation_v2", "review", "T01_ledger", "T01_closure")
    receive(ws, *(cycle[n] for n in wanted), failed)
    assert state_of(ws, T01) == "验收不合格"


def test_a_ledger_for_a_rejected_project_is_rejected_with_a_reason(merged, cycle):
    ws, _report = merged
    entry = status(ws, cycle["T03_ledger"])
    assert entry["处理结果"] == "已退回"
    assert "立项编号" in entry["说明"]
    assert entry["立项编号"] == "NCX-2011-CX-002"
    assert state_of(ws, T03) == "未立项"
    assert not [r for r in register_rows(ws, TASKS) if r["立项编号"] == "NCX-2011-CX-002"]


def test_an_acceptance_before_the_closure_is_held_then_accepted_when_it_arrives(tmp_path, cycle):
    """Held (暂缓), not refused: nothing is wrong with it and nothing is to be resent, so
    the merge does not fail for it (it did, as 退回, exit code 1)."""
    ws = fresh(tmp_path)
    early = cycle["T02_acceptance"]
    wanted = ("T02_demonstration", "review", "T02_ledger", "T02_acceptance")
    report = receive(ws, *(cycle[n] for n in wanted))
    assert report.ok and report.rejections == []
    assert [Path(p).name for p, _ in report.holds] == [early.filename]
    assert "结题报告" in report.holds[0][1]
    assert report.as_json()["by_form"]["acceptance"]["held"] == 1
    assert status(ws, early)["处理结果"] == "暂缓"
    assert state_of(ws, T02) == "已启动"

    t02 = cycle.projects["T02_acceptance"]
    late_closure = closure(cycle.dept.ws, t02, saved_at=dt.datetime(2012, 7, 12, 9))
    report = receive(ws, late_closure)

    assert report.ok
    assert report.as_json()["by_form"]["closure"]["new"] == 1
    assert status(ws, early)["处理结果"] == "已接收"  # re-judged
    assert status(ws, early)["说明"] in (None, "")
    assert state_of(ws, T02) == "已验收"
    # told, since the clerk was told it would take effect by itself
    assert f"此前暂缓的项目验收评分表（{t02.project_no}）已生效。" in report.notes
    assert not [n for n in receive(ws).notes if "此前暂缓" in n]  # once


def test_a_closure_held_for_its_ledger_is_neither_owed_nor_still_to_fix(tmp_path, cycle):
    """Sent, corrected, and held only for the project's first ledger: the committee is
    not reminded of it (the ledger is what it owes) nor sent the first version's
    marked-up copy again."""
    from registerkit import CLOSURE, GOALS, project_return

    from xlsxflow.letters import compose
    from xlsxflow.pipeline import run

    ws = fresh(tmp_path)
    t02 = cycle.projects["T02_acceptance"]
    blank = {**CLOSURE, "summary_results": None}
    v1, v2 = (
        project_return(
            cycle.dept.ws, "closure", t02, values, {"goals": GOALS}, saved_at=at, name=name
        )
        for values, at, name in (
            (blank, dt.datetime(2012, 7, 10, 9), "T02_closure_v1"),
            (CLOSURE, dt.datetime(2012, 7, 12, 9), "T02_closure_v2"),
        )
    )
    put_all([cycle["T02_demonstration"], cycle["review"], v1], ws.inbox)
    run(ws, dt.date(2012, 9, 30))
    assert [p.name for p in ws.feedback.rglob("*.xlsx")] == ["T02_closure_v1_问题标注.xlsx"]
    report = receive(ws, v2)
    assert [Path(p).name for p, _ in report.holds] == [v2.filename]
    assert compose(ws, "feedback", ("T02",), dt.date(2012, 9, 30)) == []
    owed = [r["报送事项"] for r in register_rows(ws, "未报送名单") if r["单位编号"] == "T02"]
    assert owed and all(item.startswith("管理台帐") for item in owed)


def test_institutional_applications_must_cite_a_demonstration_project_of_their_own(
    tmp_path, merged, cycle
):
    ws, _report = merged
    assert project_row(ws, T02_INST)["立项编号"] == "NCX-2011-TG-001"
    assert status(ws, cycle["T02_institutional"])["处理结果"] == "已接收"
    assert state_of(ws, T05_INST) == "未立项"
    entry = status(ws, cycle["T05_institutional"])
    assert entry["处理结果"] == "已退回"
    assert "NCX-2011-SF-001" in entry["说明"]

    # citing a number that does not exist, or an innovation project of its own: rejected
    dept = cycle.dept
    at = dt.datetime(2011, 12, 8, 9)
    unknown = application(
        dept.ws, "T03", INSTITUTIONAL, saved_at=at, overrides=citing("NCX-2010-SF-009")
    )
    innovation = application(
        dept.ws, "T01", INSTITUTIONAL, saved_at=at, overrides=citing("NCX-2011-CX-001")
    )
    other = Department(tmp_path / "dept2")
    apps = [r for r in cycle.returns if r.kind.startswith("application_")]
    other.receive(*apps, unknown, innovation)
    decisions = {row["rv_instance"]: "立项" for row in other.review_rows()}
    decisions[T03] = "不立项"
    sheet = review(other.ws, other.review_rows(), decisions, saved_at=dt.datetime(2012, 1, 5, 9))
    target = fresh(tmp_path)
    receive(target, *apps, unknown, innovation, sheet)
    for r in (unknown, innovation, cycle["T05_institutional"]):
        assert status(target, r)["处理结果"] == "已退回", r.name
        assert state_of(target, instance(r.committee, r.kind)) == "未立项"
    assert status(target, cycle["T02_institutional"])["处理结果"] == "已接收"
    assert project_row(target, T02_INST)["立项编号"] == "NCX-2011-TG-001"


# -- archive and traceability -----------------------------------------------------------------


def test_every_file_is_archived_byte_for_byte_under_its_hash(merged, cycle):
    ws, _report = merged
    assert archive_contents(ws) == {f"{r.sha}.xlsx": r.data for r in cycle.returns}  # rejected too
    subs = stored(ws)
    assert len(subs) == len(cycle.returns)
    for sub in subs:  # each submission names where its file is
        assert hashlib.sha256(archived_bytes(ws, sub)).hexdigest() == sub.sha256
        assert sub.archived.endswith(f"!{sub.sha256}.xlsx")
    # one merge of a few dozen files: one pack, as the Windows clerk sees it
    assert [p.name for p in (ws.data / "archive").iterdir()] == ["packs"]
    assert len(list((ws.data / "archive" / "packs").iterdir())) == 1


def test_a_torn_archive_copy_left_by_a_crash_is_made_again(tmp_path, cycle):
    """Packs are flushed in one batch before the commit: a crash before it can leave a
    pack that is not whole, which the next merge must not take as archived."""
    whole = fresh(tmp_path, "whole")
    r = cycle["T01_innovation"]
    receive(whole, r)
    [sub] = stored(whole)
    pack = locate(sub.archived)[0]
    data = (whole.data / "archive" / pack).read_bytes()
    cuts = {"short": data[: len(data) // 2], "zeroed": data.replace(r.data[100:200], bytes(100))}
    for name, cut in cuts.items():
        ws = fresh(tmp_path, name)
        torn = ws.data / "archive" / pack
        torn.parent.mkdir(parents=True)
        torn.write_bytes(cut)
        receive(ws, r)
        assert torn.read_bytes() == data, name
        assert stored(ws) == [sub], name


def test_packs_left_by_a_merge_killed_before_its_commit_are_removed(tmp_path, cycle):
    ws = fresh(tmp_path)
    kept, lost = cycle["T01_innovation"], cycle["T01_ledger"]
    receive(ws, kept)
    source = tmp_path / "lost.xlsx"
    source.write_bytes(lost.data)
    archive_pack([(source, lost.sha)], ws.data / "archive")  # the store never named it
    assert len(archive_contents(ws)) == 2
    merge(ws)
    assert archive_contents(ws) == {f"{kept.sha}.xlsx": kept.data}


def archived_whole(ws: Workspace, returns: list) -> bool:
    return archive_contents(ws) == {f"{r.sha}.xlsx": r.data for r in returns}


def test_worker_processes_archive_what_they_read(tmp_path, cycle, monkeypatch):
    """Above a few dozen files each worker archives the files it reads: forced here."""
    import xlsxflow.parallel as parallel

    monkeypatch.setattr(parallel, "SERIAL_BELOW", 1)
    monkeypatch.setattr(parallel, "CHUNK", 2)
    ws = fresh(tmp_path)
    returns = cycle.returns[:6]
    report = receive(ws, *returns)
    assert report.files == len(returns)
    assert archived_whole(ws, returns)
    assert len(stored(ws)) == len(returns)
    assert len(list((ws.data / "archive" / "packs").iterdir())) == 3  # one per chunk


def test_a_parser_that_does_not_archive_still_gets_every_file_archived(tmp_path, cycle):
    from xlsxflow.intake import read_return

    ws = fresh(tmp_path)
    returns = cycle.returns[:4]
    put_all(returns, ws.inbox)
    merge(
        ws,
        parse=lambda paths, ctx, _archive, _on: [read_return(p, ctx) for p in paths],
        read_on_workers=False,
    )
    assert archived_whole(ws, returns)
    assert len(stored(ws)) == len(returns)


def cache_hits(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each look-up of a chunk in the previous register from here on: found or not."""
    from xlsxflow.excel import bulk_rows

    hits: list[bool] = []
    real_get = bulk_rows.PartCache.get

    def counting(self, start, digest):  # type: ignore[no-untyped-def]
        found = real_get(self, start, digest)
        hits.append(found is not None)
        return found

    monkeypatch.setattr(bulk_rows.PartCache, "get", counting)
    return hits


def test_a_rewrite_copies_unchanged_rows_and_gives_the_same_register(tmp_path, cycle, monkeypatch):
    """Rows of projects whose ledger, names and place are unchanged are copied from the
    previous register.xlsx; the result is byte for byte a register built from nothing."""

    ws = fresh(tmp_path)
    receive(ws, *cycle.returns)
    hits = cache_hits(monkeypatch)
    first = cycle.returns[0]
    (ws.inbox / f"copy-{first.name}").write_bytes(first.data)  # a new name: a rewrite
    merge(ws)
    assert hits and all(hits)  # every chunk of 任务台账 and 经费台账 came from the cache
    reused = ws.register_path.read_bytes()
    ws.register_path.unlink()
    hits.clear()
    merge(ws)  # no previous register.xlsx: every row built again
    assert not hits
    assert ws.register_path.read_bytes() == reused


def test_rows_are_not_looked_for_in_a_register_other_code_wrote(tmp_path, cycle, monkeypatch):
    """After an upgrade that changes how rows are made, none of the register's can be
    copied: it is not even asked (a province's rows are then shared with a helper,
    as when built from nothing), and the register is the same."""
    from xlsxflow.register.store import Store

    ws = fresh(tmp_path)
    receive(ws, *cycle.returns)
    with Store(ws.data / "register.sqlite") as store, store.transaction():
        store.set_meta("register_code", "an older xlsxflow")
    assert _parts_asked_in_a_rewrite(ws, cycle, monkeypatch) == []
    again = fresh(tmp_path, "again")
    receive(again, *cycle.returns)
    _parts_asked_in_a_rewrite(again, cycle, monkeypatch)
    assert ws.register_path.read_bytes() == again.register_path.read_bytes()


def test_rows_are_not_copied_from_a_register_the_clerk_saved(tmp_path, cycle, monkeypatch):
    ws = fresh(tmp_path)
    receive(ws, *cycle.returns)
    book = openpyxl.load_workbook(ws.register_path)
    book.save(ws.register_path)  # as if saved in Excel: no longer our bytes
    (ws.data / LAST_WRITTEN).unlink()  # (and ours not kept: see the test below)
    assert _parts_asked_in_a_rewrite(ws, cycle, monkeypatch) == []


@pytest.mark.parametrize("saved", ["replaced", "in place", "link gone"])
def test_after_the_clerk_saved_rows_are_copied_from_the_register_we_wrote(
    tmp_path, cycle, monkeypatch, saved
):
    """The clerk typed into the department columns and saved register.xlsx: the next
    merge reads the edits, and copies every row it can from the register it last wrote,
    linked under data/, which a save by Excel or LibreOffice (a new file replacing the
    old) leaves as it was — the same bytes as a merge that builds every row. Saved in
    place (the link then holds the clerk's file), or the link gone, nothing is copied."""
    ws = fresh(tmp_path)
    receive(ws, *cycle.returns)
    ours = (ws.data / LAST_WRITTEN).read_bytes()
    assert ours == ws.register_path.read_bytes()
    edit_register(ws, T01, DEPT_EDITS, in_place=saved == "in place")
    assert ((ws.data / LAST_WRITTEN).read_bytes() == ours) == (saved != "in place")
    built = fresh(tmp_path, "built")  # the same, with no register of ours kept
    shutil.rmtree(built.root)
    shutil.copytree(ws.root, built.root)
    (built.data / LAST_WRITTEN).unlink()
    if saved == "link gone":
        (ws.data / LAST_WRITTEN).unlink()
    copied = _parts_asked_in_a_rewrite(ws, cycle, monkeypatch, copy=True)
    assert (len(copied) > 0) == (saved == "replaced")
    _parts_asked_in_a_rewrite(built, cycle, monkeypatch, copy=True)
    assert ws.register_path.read_bytes() == built.register_path.read_bytes()
    assert (ws.data / LAST_WRITTEN).read_bytes() == ws.register_path.read_bytes()
    row = project_row(ws, T01)
    assert {k: row[k] for k in DEPT_EDITS} == DEPT_EDITS


def test_the_register_last_written_is_linked_once_and_only_as_written(tmp_path, cycle, monkeypatch):
    from xlsxflow.register.merge import write_register

    def linked(ws: Workspace) -> list[str]:
        return sorted(p.name for p in ws.data.rglob("*") if p.samefile(ws.register_path))

    ws = fresh(tmp_path)
    receive(ws, cycle.returns[0])
    assert linked(ws) == [LAST_WRITTEN]
    assert not write_register(ws)  # (as schedule and score do: the same bytes again)
    assert linked(ws) == [LAST_WRITTEN]
    (ws.data / LAST_WRITTEN).unlink()  # (a register an older xlsxflow wrote)
    merge(ws)  # nothing new: the register is kept as it is, and linked
    assert linked(ws) == [LAST_WRITTEN]

    def no_links(*args: object) -> None:
        raise OSError(1, "Operation not permitted")  # FAT, some shares

    monkeypatch.setattr(os, "link", no_links)
    receive(ws, cycle.returns[1])  # no links here: none kept, none left half made
    assert linked(ws) == []
    assert sorted(p.name for p in ws.data.iterdir() if p.suffix in (".xlsx", ".tmp")) == []


def _parts_asked_in_a_rewrite(ws: Workspace, cycle, monkeypatch, copy: bool = False) -> list:  # type: ignore[no-untyped-def]
    """Merge a copy of a return under a new name (the register is written again) and
    tell which parts of the previous register were asked for rows to copy (none given);
    ``copy``: which were found and given."""
    from xlsxflow.excel import bulk_rows

    asked: list = []
    real = bulk_rows.BlockCache.part

    def part(*a):  # type: ignore[no-untyped-def]
        found = real(*a) if copy else None
        if not copy or found is not None:
            asked.append(a)
        return found

    monkeypatch.setattr(bulk_rows.BlockCache, "part", part)
    first = cycle.returns[0]
    (ws.inbox / f"copy-{first.name}").write_bytes(first.data)
    merge(ws)
    monkeypatch.setattr(bulk_rows.BlockCache, "part", real)
    return asked


def test_task_rows_trace_back_to_their_file_and_row(merged, cycle):
    ws, _report = merged
    rows = register_rows(ws, TASKS)
    ledgers = {cycle[n].sha[:12]: cycle[n] for n in ("T01_ledger", "T02_ledger")}
    assert {r["来源文件"] for r in rows} == set(ledgers)
    assert len(rows) == 4
    for row in rows:
        source = ledgers[row["来源文件"]]
        sheet, line = re.fullmatch(r"(.+)!(\d+)", row["来源位置"]).groups()
        [sub] = [s for s in stored(ws) if s.sha256 == source.sha]
        archived = ws.root / "original.xlsx"
        archived.write_bytes(archived_bytes(ws, sub))
        cells = next(rows_in(archived, sheet, int(line)))
        assert row["任务目标（定目标）"] in cells
        assert row["责任人（定责任）"] in cells


def rows_in(path: Path, sheet: str, line: int):
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        yield from book[sheet].iter_rows(min_row=line, max_row=line, values_only=True)
    finally:
        book.close()


# -- department edits in register.xlsx --------------------------------------------------------


def edit_register(
    ws: Workspace, key: str, changes: dict[str, object], in_place: bool = True
) -> None:
    """Type into the project row of ``key`` as a clerk would, and save (openpyxl: in
    place; else to another file that then replaces it, as Excel and LibreOffice do)."""
    book = openpyxl.load_workbook(ws.register_path)
    sheet = book[PROJECTS]
    header = [c.value for c in sheet[1]]
    (line,) = [i for i, row in enumerate(sheet.iter_rows(values_only=True), 1) if row[0] == key]
    for name, value in changes.items():
        sheet.cell(line, header.index(name) + 1).value = value
    if in_place:
        book.save(ws.register_path)
        return
    saved = ws.root / "~saving.xlsx"
    book.save(saved)
    os.replace(saved, ws.register_path)


DEPT_EDITS = {"督办人": "刘志强", "备注": "按月调度，重点督办", "整改意见": "补齐佐证材料"}


def test_department_columns_edited_in_the_register_are_kept(tmp_path, cycle):
    ws = fresh(tmp_path)
    first = [r for r in cycle.returns if r.kind.startswith("application_")]
    receive(ws, *first, cycle["review"])
    edit_register(ws, T01, DEPT_EDITS)
    edit_register(ws, T02, {"督办人": "陈丽娟"})

    report = merge(ws)
    assert report.dept_edits == 4
    assert report.committee_edits == []
    assert report.register_written
    row = project_row(ws, T01)
    assert {k: row[k] for k in DEPT_EDITS} == DEPT_EDITS
    assert project_row(ws, T02)["督办人"] == "陈丽娟"

    # kept when new returns change the register, and again when nothing changes
    report = receive(ws, cycle["T01_ledger"], cycle["T01_closure"])
    assert report.dept_edits == 0 and report.register_written
    row = project_row(ws, T01)
    assert {k: row[k] for k in DEPT_EDITS} == DEPT_EDITS
    assert row["项目状态"] == "已结题"
    assert not merge(ws).register_written

    # a cleared cell is cleared
    edit_register(ws, T02, {"督办人": None})
    report = merge(ws)
    assert report.dept_edits == 1
    assert project_row(ws, T02)["督办人"] is None
    assert project_row(ws, T01)["督办人"] == DEPT_EDITS["督办人"]


def test_edits_are_read_from_a_register_larger_than_any_return_may_be(tmp_path, cycle, monkeypatch):
    """A province's register (~25 MB) is larger than the largest return the readers
    accept (20 MB): its edits are read under limits of their own, not a return's."""
    from xlsxflow.read import limits
    from xlsxflow.read import open as opening

    ws = fresh(tmp_path)
    receive(ws, *cycle.returns)
    edit_register(ws, T01, DEPT_EDITS, in_place=False)
    # (the limits of returns, as if the largest were half this register's size)
    small = limits.Limits(max_file_bytes=ws.register_path.stat().st_size // 2)
    monkeypatch.setattr(opening.open_book, "__defaults__", (small,))
    report = merge(ws)
    assert report.dept_edits == 3 and report.committee_edits == []
    row = project_row(ws, T01)
    assert {k: row[k] for k in DEPT_EDITS} == DEPT_EDITS


def test_the_state_the_edits_were_read_against_is_freed_before_the_next_is_derived(
    tmp_path, cycle, monkeypatch
):
    """Reading the edits derives the register as it was shown; a province's (~45 MiB)
    must not still be held while the merge derives the new one and writes it."""
    import gc
    import weakref

    from xlsxflow.register import merge as merging

    ws = fresh(tmp_path)
    receive(ws, *cycle.returns)
    edit_register(ws, T01, DEPT_EDITS, in_place=False)
    made: list[weakref.ref] = []
    alive_at_each: list[list[bool]] = []
    real = merging.derive

    def derive(*args, **kwargs):
        gc.collect()
        alive_at_each.append([ref() is not None for ref in made])
        state = real(*args, **kwargs)
        made.append(weakref.ref(state))
        return state

    monkeypatch.setattr(merging, "derive", derive)
    report = merge(ws)
    assert report.dept_edits == 3
    assert alive_at_each == [[], [False]]  # one for the edits, one for the new register


def test_a_register_that_cannot_be_read_is_kept_and_the_clerk_told_where(tmp_path, cycle):
    ws = fresh(tmp_path)
    receive(ws, *cycle.returns)
    broken = b"PK\x03\x04 not a workbook any more"
    ws.register_path.write_bytes(broken)
    report = merge(ws)
    assert report.register_written
    (message,) = report.committee_edits
    assert "无法读取" in message and "data/backups" in message
    assert broken in [p.read_bytes() for p in (ws.data / "backups").glob("*.xlsx")]


def test_editing_a_committee_cell_is_reported_and_not_kept(tmp_path, cycle):
    ws = fresh(tmp_path)
    receive(ws, cycle["T01_innovation_v2"], cycle["T02_demonstration"])
    name = project_row(ws, T01)["项目名称"]
    edit_register(ws, T01, {"项目名称": "被改过的项目名称", "备注": "已电话提醒"})

    report = merge(ws)

    assert len(report.committee_edits) == 1
    message = report.committee_edits[0]
    assert "项目名称" in message and T01 in message and "被改过的项目名称" in message
    assert project_row(ws, T01)["项目名称"] == name
    assert project_row(ws, T01)["备注"] == "已电话提醒"
    assert report.dept_edits == 1
    assert merge(ws).committee_edits == []  # reported once: the register was rewritten


def test_saving_the_register_unchanged_in_another_program_reports_no_edits(tmp_path, merged):
    source, _report = merged
    ws = fresh(tmp_path)
    shutil.rmtree(ws.root)
    shutil.copytree(source.root, ws.root)
    book = openpyxl.load_workbook(ws.register_path)
    book.save(ws.register_path)  # dates, numbers and texts as openpyxl writes them

    report = merge(ws)

    assert report.committee_edits == []
    assert report.dept_edits == 0
    assert report.register_written  # the program's copy is replaced by ours (kept as backup)
    assert ws.register_path.read_bytes() == source.register_path.read_bytes()


@pytest.mark.libreoffice
def test_department_edits_made_in_libreoffice_are_kept(tmp_path, merged):
    from realclient import fill, job

    source, _report = merged
    ws = fresh(tmp_path)
    shutil.rmtree(ws.root)
    shutil.copytree(source.root, ws.root)
    # The real client types into defined names: name two department cells of T01's row.
    book = openpyxl.load_workbook(ws.register_path)
    header = [c.value for c in book[PROJECTS][1]]
    (line,) = [
        i for i, row in enumerate(book[PROJECTS].iter_rows(values_only=True), 1) if row[0] == T01
    ]
    for name, column in (("clerk_owner", "督办人"), ("clerk_note", "备注")):
        letter = openpyxl.utils.get_column_letter(header.index(column) + 1)
        book.defined_names[name] = DefinedName(name, attr_text=f"'{PROJECTS}'!${letter}${line}")
    named = tmp_path / "named.xlsx"
    book.save(named)
    fill(
        [job(named, ws.register_path, {"clerk_owner": "刘志强", "clerk_note": "重点督办"})],
        tmp_path,
    )

    report = merge(ws)

    assert report.committee_edits == []
    assert report.dept_edits == 2
    row = project_row(ws, T01)
    assert (row["督办人"], row["备注"]) == ("刘志强", "重点督办")
    assert not merge(ws).register_written


# -- backups, lock ----------------------------------------------------------------------------


def test_an_old_backup_open_in_excel_stays_and_the_merge_still_goes_through(
    tmp_path, cycle, monkeypatch
):
    """(Windows refuses to remove a file open in Excel.) The new register is in place
    by then: the merge records it (no "unread edits" afterwards), the backup stays until
    a later merge can remove it."""
    ws = fresh(tmp_path)
    for r in cycle.returns[: BACKUPS_KEPT + 1]:
        receive(ws, r)
    (oldest, *_) = sorted((ws.data / "backups").glob("*.xlsx"))
    real = Path.unlink

    def unlink(self, missing_ok=False):  # type: ignore[no-untyped-def]
        if self == oldest:
            raise PermissionError(13, "held open by Excel", str(self))
        return real(self, missing_ok)

    from xlsxflow.register.store import Store

    monkeypatch.setattr(Path, "unlink", unlink)
    assert receive(ws, cycle.returns[BACKUPS_KEPT + 1]).register_written
    assert oldest.exists()
    with Store(ws.data / "register.sqlite") as store:
        assert store.meta("register_sha") == sha256_of(ws.register_path)
    monkeypatch.setattr(Path, "unlink", real)
    assert receive(ws, cycle.returns[BACKUPS_KEPT + 2]).register_written
    assert not oldest.exists()
    assert len(list((ws.data / "backups").glob("*.xlsx"))) == BACKUPS_KEPT


def test_the_previous_register_is_kept_as_a_backup_a_few_generations(tmp_path, cycle):
    ws = fresh(tmp_path)
    backups = ws.data / "backups"
    previous = []
    for r in cycle.returns[:8]:
        if ws.register_path.exists():
            previous.append(ws.register_path.read_bytes())
        report = receive(ws, r)
        assert report.register_written, r.name
        kept = sorted(backups.glob("*.xlsx")) if backups.exists() else []
        assert len(kept) == min(len(previous), BACKUPS_KEPT)
        assert [p.read_bytes() for p in kept] == previous[-BACKUPS_KEPT:][: len(kept)]
    # no new backup when the register does not change
    names = sorted(p.name for p in backups.iterdir())
    assert not merge(ws).register_written
    assert sorted(p.name for p in backups.iterdir()) == names


def test_a_backup_is_the_previous_file_itself_and_keeps_its_bytes(tmp_path, cycle):
    ws = fresh(tmp_path)
    receive(ws, cycle.returns[0])
    previous = ws.register_path.read_bytes()
    file_id = ws.register_path.stat().st_ino
    receive(ws, cycle.returns[1])
    (kept,) = (ws.data / "backups").glob("*.xlsx")
    assert kept.read_bytes() == previous
    # linked, not copied, and no longer the register's file (which was replaced)
    assert kept.stat().st_ino == file_id
    assert kept.stat().st_nlink == 1
    ws.register_path.write_bytes(b"written in place later")
    assert kept.read_bytes() == previous


def test_a_register_not_replaced_leaves_no_backup_linked_to_it(tmp_path, cycle, monkeypatch):
    """Excel opened register.xlsx while the merge built the new one: the replace fails,
    the register is the previous one, and no backup is left linked to it (a save in
    place would change that backup too)."""
    from xlsxflow.fsutil import FileBusyError

    ws = fresh(tmp_path)
    receive(ws, cycle.returns[0])
    previous = ws.register_path.read_bytes()
    real = os.replace

    def replace(src, dst):  # type: ignore[no-untyped-def]
        if Path(dst) == ws.register_path:
            raise PermissionError(13, "held open by Excel")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(FileBusyError):
        receive(ws, cycle.returns[1])
    assert ws.register_path.read_bytes() == previous
    # (linked only as the register last written, which it still is)
    linked = [p for p in ws.data.rglob("*.xlsx") if p.samefile(ws.register_path)]
    assert linked == [ws.data / LAST_WRITTEN]
    assert not list((ws.data / "backups").glob("*.xlsx"))


def test_a_backup_is_copied_where_the_file_cannot_be_linked(tmp_path, cycle, monkeypatch):
    ws = fresh(tmp_path)
    receive(ws, cycle.returns[0])
    previous = ws.register_path.read_bytes()

    def link(src, dst):  # type: ignore[no-untyped-def]
        raise OSError(1, "Operation not permitted")  # FAT, some shares

    monkeypatch.setattr(os, "link", link)
    assert receive(ws, cycle.returns[1]).register_written
    (kept,) = (ws.data / "backups").glob("*.xlsx")
    assert kept.read_bytes() == previous


@pytest.mark.parametrize("how", ["a new file", "in place, same size and time"])
def test_a_save_by_the_clerk_as_the_backup_is_linked_is_kept(tmp_path, cycle, monkeypatch, how):
    """The backup, linked in, is hashed: a save by the clerk just before (as Excel saves,
    or written in place keeping size and time) stops the merge, and is kept."""
    ws = fresh(tmp_path)
    receive(ws, cycle.returns[0])
    clerks = bytearray(ws.register_path.read_bytes())
    clerks[-1] ^= 1
    real = os.link

    def link(src, dst):  # type: ignore[no-untyped-def]
        data = clerks
        if how == "a new file":
            (ws.root / "saved.tmp").write_bytes(data)
            os.replace(ws.root / "saved.tmp", src)
        else:
            times = os.stat(src)
            Path(src).write_bytes(data)
            os.utime(src, ns=(times.st_atime_ns, times.st_mtime_ns))
        real(src, dst)

    monkeypatch.setattr(os, "link", link)
    with pytest.raises(XlsxflowError) as caught:
        receive(ws, cycle.returns[1])
    assert caught.value.code == "register.saved_meanwhile"
    assert ws.register_path.read_bytes() == clerks  # not overwritten
    assert not list((ws.data / "backups").glob("*.xlsx"))


def test_a_merge_while_another_holds_the_lock_fails_cleanly(tmp_path, cycle):
    ws = fresh(tmp_path)
    cycle["T01_innovation"].put(ws.inbox)
    with exclusive_lock(ws.data / "merge.lock"):
        with pytest.raises(UsageError) as err:
            merge(ws)
        assert err.value.code == "merge.locked"
        assert not ws.register_path.exists()
        assert not (ws.data / "register.sqlite").exists()
    assert merge(ws).register_written


def test_merge_does_not_touch_the_inbox(tmp_path, cycle):
    ws = fresh(tmp_path)
    paths = put_all(cycle.returns, ws.inbox / "2012年" / "第一批")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}
    merge(ws)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths} == before
    assert sorted(p for p in ws.inbox.rglob("*") if p.is_file()) == sorted(paths)
    assert os.listdir(ws.inbox) == ["2012年"]


# -- real-client returns ----------------------------------------------------------------------


def _typed(value: object) -> object:
    from realclient import as_date

    return as_date(value) if isinstance(value, dt.date) else value


@pytest.fixture(scope="module")
def lo_returns(tmp_path_factory: pytest.TempPathFactory, cycle: MiniCycle) -> list[Return]:
    """Applications typed and saved by LibreOffice: T07 (then resent with a changed budget,
    by re-opening its own return) and T08 with the project name left blank."""
    from realclient import fill, job

    from xlsxflow.templates import plan_templates, write_templates

    root = tmp_path_factory.mktemp("lo")
    ws = cycle.dept.ws
    jobs = plan_templates(ws.config, ws.roster, root / "out", committees=["T07", "T08"])
    jobs = [j for j in jobs if j.spec.kind == INNOVATION]
    write_templates(jobs, ws.config)
    batch = []
    for j in jobs:
        values, rows = application_input(ws, j.committee.code)
        typed = {k: _typed(v) for k, v in values.items()}
        for column in rows["plan"][0]:
            typed[column] = [_typed(r[column]) for r in rows["plan"]]
        if j.committee.code == "T08":
            typed["project_name"] = ""
        batch.append(job(j.path, root / f"{j.committee.code}.xlsx", typed))
    batch.append(job(root / "T07.xlsx", root / "T07_v2.xlsx", {"budget_special": 45000.0}))
    fill(batch, root)
    names = {"T07": "lo_T07", "T08": "lo_T08_blank", "T07_v2": "lo_T07_v2"}
    at = dt.datetime(2011, 10, 28)  # LibreOffice keeps the template's saved time over UNO
    return [
        Return(name, (root / f"{stem}.xlsx").read_bytes(), INNOVATION, stem[:3], at)
        for stem, name in names.items()
    ]


@pytest.mark.libreoffice
def test_real_client_returns_with_edits_in_any_order_give_the_same_register(
    tmp_path, cycle, lo_returns
):
    files = [*cycle.returns, *lo_returns]
    t07 = instance("T07", INNOVATION)

    def run(name: str, batches: list[list[Return]]) -> Workspace:
        """Merge batch by batch; the clerk notes a supervisor for T02 as soon as it shows."""
        ws = fresh(tmp_path, name)
        edited = False
        for batch in batches:
            receive(ws, *batch)
            if not edited and T02 in {r["申报表编号"] for r in register_rows(ws, PROJECTS)}:
                edit_register(ws, T02, {"督办人": "陈丽娟"})
                edited = True
        assert edited
        merge(ws)  # reads back an edit made after the last batch
        return ws

    together = run("together", [files])
    in_order = run("in_order", [[r] for r in files])
    reverse = run("reverse", [[r] for r in reversed(files)])
    expected = together.register_path.read_bytes()
    assert in_order.register_path.read_bytes() == expected
    assert reverse.register_path.read_bytes() == expected

    assert project_row(together, T02)["督办人"] == "陈丽娟"
    log = submission_rows(together)
    v1, blank, v2 = lo_returns
    assert log[blank.sha]["处理结果"] == "已退回"
    assert "项目名称" in log[blank.sha]["说明"]
    # saved at the same moment: the version with the larger content hash is the latest
    first, last = sorted((v1, v2), key=lambda r: r.sha)
    assert (log[first.sha]["版本"], log[last.sha]["版本"]) == (1, 2)
    assert project_row(together, t07)["申报表版本"] == last.sha[:12]
    assert log[last.sha]["说明"] == BUDGET


def test_a_merge_clears_temporary_files_a_killed_merge_left(tmp_path, cycle):
    ws = fresh(tmp_path)
    r = cycle["T01_innovation"]
    receive(ws, r)
    stale = [
        ws.root / ".register.xlsx.k3j2h1.tmp",
        ws.data / "archive" / "packs" / ".0123abcd.zip.a8s7d6.tmp",
        ws.data / "backups" / ".register-20120105-093000-000001.xlsx.q1w2e3.tmp",
        ws.data / ".roster.json.z9y8x7.tmp",
    ]
    theirs = ws.root / ".notes.txt.tmp"  # not ours: left alone
    for path in [*stale, theirs]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"PK\x03\x04 half a file")
    merge(ws)
    assert [p for p in stale if p.exists()] == []
    assert theirs.exists()


# -- rows copied from the previous register.xlsx ------------------------------------------------


def _built_afresh(ws: Workspace) -> bytes:
    """register.xlsx as a write with nothing to copy from gives it (ws is left alone)."""
    from xlsxflow.register.merge import write_register

    copy = Path(f"{ws.root}-afresh")
    shutil.copytree(ws.root, copy)
    other = Workspace.open(copy)
    other.register_path.unlink()
    write_register(other)
    data = other.register_path.read_bytes()
    shutil.rmtree(copy)
    return data


def test_copied_rows_match_a_fresh_build_as_ledgers_change_and_sheets_spill(tmp_path, monkeypatch):
    """New ledger versions with other numbers of tasks and funds move the blocks after
    them; with four rows a sheet, blocks spill onto 续 sheets. After every merge the
    register is byte for byte the one built with nothing to copy."""
    import datetime as dt

    from registerkit import TEAM, Department, application, project_return, review

    from xlsxflow.excel import register_book

    monkeypatch.setattr(register_book, "ROWS_PER_SHEET", 4)
    rng = random.Random(8)
    dept = Department(tmp_path / "dept")
    codes = ["T01", "T02", "T03", "T04", "T05"]
    start = dt.datetime(2011, 12, 1, 9)
    apps = [
        application(dept.ws, c, INNOVATION, saved_at=start + dt.timedelta(hours=i))
        for i, c in enumerate(codes)
    ]
    dept.receive(*apps)
    decided = {instance(c, INNOVATION): "立项" for c in codes}
    rev = review(dept.ws, dept.review_rows(), decided, saved_at=dt.datetime(2012, 1, 5, 9))
    dept.receive(rev)
    refs = {c: dept.project(c, INNOVATION) for c in codes}
    ws = fresh(tmp_path)
    receive(ws, *apps, rev)
    hits = cache_hits(monkeypatch)
    when = dt.datetime(2012, 2, 1, 9)
    for step in range(5):
        for code in rng.sample(codes, 2):
            when += dt.timedelta(hours=1)
            tasks = [
                {
                    "task_no": str(i + 1),
                    "task_target": "目标" * rng.randint(1, 9),
                    "task_owner": "张卫东",
                    "task_deadline": dt.date(2012, 5, 31),
                    "task_requirement": "要求",
                    "task_progress": rng.choice([0, 50]),
                }
                for i in range(rng.randint(1, 5))
            ]
            funds = [
                {
                    "fund_date": dt.date(2012, 1, 20),
                    "fund_source": "党委专项资金",
                    "fund_amount": rng.randint(1, 9999),
                    "fund_purpose": "用途",
                }
                for _ in range(rng.randint(0, 3))
            ]
            project_return(
                dept.ws,
                "ledger",
                refs[code],
                {"report_date": when.date()},
                {"team": TEAM, "tasks": tasks, "funds": funds},
                saved_at=when,
                name=f"{code}_ledger_{step}",
            ).put(ws.inbox)
        merge(ws)
        assert ws.register_path.read_bytes() == _built_afresh(ws), step
    assert any(hits) and not all(hits)  # some blocks were copied, some built again
    assert any("续" in n for n in openpyxl.load_workbook(ws.register_path).sheetnames)


def test_project_rows_are_built_again_whenever_anything_they_show_changes(tmp_path, cycle):
    """A row of 项目总台账 is copied from the previous register by a key of all it is made
    of, its values loaded only when it is built: a meeting recorded, a department note, a committee renamed in the roster and a new version of the
    application each show in the rewritten register, byte for byte a fresh build."""
    from xlsxflow.excel.roster_book import write_roster
    from xlsxflow.register.meetings import run_schedule
    from xlsxflow.register.merge import write_register
    from xlsxflow.register.store import Store

    t01 = instance("T01", INNOVATION)
    later = cycle["T01_innovation_v2"]
    ws = fresh(tmp_path)
    receive(ws, *(r for r in cycle.returns if r is not later))

    def shown(column: str) -> object:
        assert ws.register_path.read_bytes() == _built_afresh(ws)
        return project_row(ws, t01)[column]

    assert shown("最近调度会") is None
    run_schedule(ws, dt.date(2012, 3, 31))
    assert shown("最近调度会") == "2012-03-31"
    with Store(ws.data / "register.sqlite") as store, store.transaction():
        store.set_dept_note(t01, "备注", "请加快进度")
    write_register(ws)
    assert shown("备注") == "请加快进度"
    roster = ws.roster
    renamed = tuple(
        c.model_copy(update={"name": "改名后的党委"}) if c.code == "T01" else c
        for c in roster.committees
    )
    write_roster(ws.roster_path, roster.model_copy(update={"committees": renamed}))
    ws = Workspace.open(ws.root)
    merge(ws)
    assert shown("申报单位") == "改名后的党委"
    budget = shown("党委专项资金（元）")
    receive(ws, later)
    assert shown("党委专项资金（元）") != budget


def test_column_widths_are_taken_again_while_the_sheet_starts_with_the_same_rows(
    tmp_path, cycle, monkeypatch
):
    """A block sheet's column widths come from the rows of its first blocks. A rewrite
    whose sheet starts with the same blocks takes them from the previous register,
    without building those rows; one whose first block changed measures them again.
    Either way the register is byte for byte a fresh build."""
    from xlsxflow.excel import register_book
    from xlsxflow.register import sheets
    from xlsxflow.register.merge import write_register
    from xlsxflow.register.store import Store

    monkeypatch.setattr(register_book, "SAMPLE_BLOCKS", 1)  # (the first project's row)
    built: list[str] = []
    real = sheets.project_row_values
    monkeypatch.setattr(
        sheets, "project_row_values", lambda p, *a: (built.append(p.key), real(p, *a))[1]
    )
    ws = fresh(tmp_path)
    receive(ws, *cycle.returns)
    first, second = (r["申报表编号"] for r in register_rows(ws, PROJECTS)[:2])

    def noted(key: str, note: str) -> list[str]:
        built.clear()
        with Store(ws.data / "register.sqlite") as store, store.transaction():
            store.set_dept_note(key, "备注", note)
        write_register(ws)
        assert ws.register_path.read_bytes() == _built_afresh(ws)
        return built[: len(built) - len(register_rows(ws, PROJECTS))]  # (not the fresh build)

    assert noted(second, "请加快进度") == [second]  # the first row is neither built nor read
    assert noted(first, "请" * 30) == [first]
    widths = openpyxl.load_workbook(ws.register_path)[PROJECTS].column_dimensions
    assert noted(second, "已督促") == [second]
    again = openpyxl.load_workbook(ws.register_path)[PROJECTS].column_dimensions
    assert {k: d.width for k, d in again.items()} == {k: d.width for k, d in widths.items()}


def test_the_first_merge_keeps_the_roster_it_read_for_the_next(tmp_path, cycle, monkeypatch):
    """The roster as read is kept in the data folder, which a workspace's first merge
    makes after the roster was read: the merge keeps it then, and the next command
    loads it instead of reading roster.xlsx again."""
    from xlsxflow.excel import roster_book
    from xlsxflow.workspace import ROSTER_KEPT

    root = fresh(tmp_path).root
    shutil.rmtree(root / "data", ignore_errors=True)
    reads: list[Path] = []
    real = roster_book.read_roster
    monkeypatch.setattr(roster_book, "read_roster", lambda p: (reads.append(p), real(p))[1])
    ws = Workspace.open(root)
    assert reads and not (ws.data / ROSTER_KEPT).exists()
    receive(ws, cycle.returns[0])
    assert (ws.data / ROSTER_KEPT).exists()
    reads.clear()
    assert Workspace.open(root).roster == ws.roster
    assert reads == []


def test_the_facts_read_of_every_return_are_kept_and_made_again_when_missing(tmp_path, cycle):
    """What deriving the register reads of each return (``register.facts``) is worked
    out as the return is read and kept; a store without them (an older xlsxflow) gets
    the same from the stored values at the next merge, and the same register."""
    from xlsxflow.register.facts import version
    from xlsxflow.register.store import Store

    ws = fresh(tmp_path)
    receive(ws, *cycle.returns)

    def kept() -> dict[str, str]:
        with Store(ws.data / "register.sqlite") as store:
            assert store.lacking_facts(version()) == set()
            return dict(store.db.execute("SELECT sha256, facts FROM return_facts"))

    facts = kept()
    assert len(facts) == len(cycle.returns)
    decoded = [json.loads(f) for f in facts.values()]
    assert any(f.get("started") is True for f in decoded)
    assert any("project_name" in f.get("light", {}) for f in decoded)
    with Store(ws.data / "register.sqlite") as store, store.transaction():
        store.db.execute("DELETE FROM return_facts")
    first = cycle.returns[0]
    (ws.inbox / f"copy-{first.name}").write_bytes(first.data)  # (the register is rewritten)
    merge(ws)
    assert kept() == facts
    assert ws.register_path.read_bytes() == _built_afresh(ws)


def test_what_each_version_changed_is_worked_out_once_and_kept(tmp_path, cycle):
    """What a later version changed (提交记录's 说明, ``register.changes``) compares two
    versions' values: worked out once, kept in the store under the code's version and
    read from there at later merges; a text kept by other code is worked out again; a
    store without the table (an older xlsxflow's, only looked at) is no obstacle."""
    from xlsxflow.register.changes import version
    from xlsxflow.register.merge import write_register
    from xlsxflow.register.state import RegisterState, derive
    from xlsxflow.register.store import Store

    ws = fresh(tmp_path)
    v1, v2 = cycle["T01_innovation"], cycle["T01_innovation_v2"]
    receive(ws, v1, v2)
    path = ws.data / "register.sqlite"
    written = ws.register_path.read_bytes()

    def kept() -> list[tuple[str, ...]]:
        with Store(path) as store:
            return store.db.execute("SELECT * FROM changes_kept").fetchall()

    def derived() -> RegisterState:
        # (only looked at, as a report does: a store opened to write gets the table)
        with Store(path, readonly=True) as store:
            return derive(store.submissions(), ws.config)

    assert kept() == [(v1.sha, v2.sha, version(), BUDGET)]
    state = derived()
    assert (state.statuses[v2.sha].changes, state.made_changes) == (BUDGET, {})
    with Store(path) as store, store.transaction():
        store.db.execute("UPDATE changes_kept SET text = '（别处写的）'")
    assert derived().statuses[v2.sha].changes == "（别处写的）"  # (read, not worked out)
    with Store(path) as store, store.transaction():
        store.db.execute("UPDATE changes_kept SET version = 'other code'")
    state = derived()
    assert state.statuses[v2.sha].changes == BUDGET
    assert state.made_changes == {(v1.sha, v2.sha): BUDGET}
    with Store(path) as store, store.transaction():
        store.db.execute("DROP TABLE changes_kept")
    assert derived().statuses[v2.sha].changes == BUDGET
    with Store(path, readonly=True) as store:  # (still none: nothing wrote the store)
        assert (
            store.db.execute(
                "SELECT name FROM sqlite_master WHERE name = 'changes_kept'"
            ).fetchall()
            == []
        )
    write_register(ws)  # (opens the store to write: the table is made again)
    assert kept() == [(v1.sha, v2.sha, version(), BUDGET)]
    assert ws.register_path.read_bytes() == written


def test_an_index_of_another_file_is_not_used(tmp_path, cycle, monkeypatch):
    """An older xlsxflow rewrote register.xlsx (and its hash) but left our index: the
    index names another file, so nothing is copied from it."""
    from xlsxflow.register.store import Store

    ws = fresh(tmp_path)
    receive(ws, *cycle.returns)
    book = openpyxl.load_workbook(ws.register_path)
    book.save(ws.register_path)
    with Store(ws.data / "register.sqlite") as store, store.transaction():
        store.set_meta("register_sha", hashlib.sha256(ws.register_path.read_bytes()).hexdigest())
    assert _parts_asked_in_a_rewrite(ws, cycle, monkeypatch) == []
    assert ws.register_path.read_bytes() == _built_afresh(ws)


def test_rows_built_by_other_code_are_not_copied(tmp_path, cycle, monkeypatch):
    """Nor are values loaded project by project for them: with nothing to copy, every
    application's values are loaded at once (in batches)."""
    from xlsxflow.excel import register_book
    from xlsxflow.register import merge as merging

    ws = fresh(tmp_path)
    receive(ws, *cycle.returns)
    first = cycle.returns[0]
    loads: list[bool] = []
    real = merging.derive

    def derive(*args, values: bool = True):  # type: ignore[no-untyped-def]
        loads.append(values)
        return real(*args, values=values)

    monkeypatch.setattr(merging, "derive", derive)
    (ws.inbox / f"copy-{first.name}").write_bytes(first.data)
    merge(ws)
    assert loads == [False]  # (a rewrite by the same code: values when rows are built)
    monkeypatch.setattr(register_book, "rows_code", lambda: "an upgraded xlsxflow")
    hits = cache_hits(monkeypatch)
    (ws.inbox / f"again-{first.name}").write_bytes(first.data)
    merge(ws)
    assert hits == []
    assert loads == [False, True]


def test_a_save_by_the_clerk_during_a_rewrite_is_never_overwritten(tmp_path, cycle, monkeypatch):
    """The workspace lock cannot stop Excel or WPS saving register.xlsx while a merge
    builds the new one: that save is left as it is (the new returns are in the store),
    the clerk is told, and the next merge reads the save's edits and writes the
    register — byte for byte a fresh build, nothing of the save mixed into copied rows."""
    from xlsxflow.register import sheets

    ws = fresh(tmp_path)
    receive(ws, *cycle.returns[:-1])
    real = sheets.register_sheets
    saved = []

    def saving_meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        book = openpyxl.load_workbook(ws.register_path)
        book.save(ws.register_path)
        saved.append(ws.register_path.read_bytes())
        return real(*args, **kwargs)

    monkeypatch.setattr(sheets, "register_sheets", saving_meanwhile)
    put_all(cycle.returns[-1:], ws.inbox)
    with pytest.raises(XlsxflowError) as caught:
        merge(ws)
    assert caught.value.code == "register.saved_meanwhile"
    assert ws.register_path.read_bytes() == saved[0]
    assert cycle.returns[-1].sha in {s.sha256 for s in stored(ws)}
    monkeypatch.setattr(sheets, "register_sheets", real)
    report = merge(ws)
    assert report.register_written
    assert ws.register_path.read_bytes() == _built_afresh(ws)


def test_a_save_by_the_clerk_after_the_merge_read_the_edits_is_never_overwritten(
    tmp_path, cycle, monkeypatch
):
    """Saved after merge looked for the clerk's edits, before the rewrite began."""
    from xlsxflow.register import merge as merge_module

    ws = fresh(tmp_path)
    receive(ws, *cycle.returns[:-1])
    real = merge_module.derive

    def saving_first(*args, **kwargs):  # type: ignore[no-untyped-def]
        openpyxl.load_workbook(ws.register_path).save(ws.register_path)
        return real(*args, **kwargs)

    put_all(cycle.returns[-1:], ws.inbox)
    monkeypatch.setattr(merge_module, "derive", saving_first)
    with pytest.raises(XlsxflowError) as caught:
        merge(ws)
    assert caught.value.code == "register.saved_meanwhile"
    monkeypatch.setattr(merge_module, "derive", real)
    assert merge(ws).register_written
    assert ws.register_path.read_bytes() == _built_afresh(ws)


def test_a_helper_process_makes_part_of_the_rows_and_the_register_is_the_same(
    tmp_path, cycle, monkeypatch
):
    """Built from nothing, a province's task and fund rows are shared with a helper
    process (``excel.chunk_workers``, spawned as on Windows); the register is byte for
    byte the one a single process makes. (Here every project is a chunk of its own and
    is worth sharing.)"""
    ws, alone, shares = _ready_to_share(tmp_path, cycle, monkeypatch)
    shared = _built_afresh(ws)
    assert [s is not None for s in shares] == [True, True]  # 任务台账, 经费台账
    assert all(s.mine and s.theirs.result() for s in shares)
    assert shared == alone
    rows = register_rows(ws, TASKS)
    assert len(rows) == sum(c[1] for c in _chunks(ws, TASKS))


def test_merges_readers_make_part_of_the_rows_once_they_are_done_reading(
    tmp_path, cycle, monkeypatch
):
    """A merge that read its files on several processes hands part of the rows to those
    same processes, already running, instead of starting a helper; the register is the
    one a single process makes."""
    from xlsxflow import parallel
    from xlsxflow.excel import bulk_rows, chunk_workers, register_book

    monkeypatch.setattr(parallel, "SERIAL_BELOW", 1)
    monkeypatch.setattr(parallel, "CHUNK", 2)
    monkeypatch.setattr(bulk_rows, "CHUNK_BLOCKS", 1)
    monkeypatch.setattr(register_book, "SAMPLE_BLOCKS", 1)
    monkeypatch.setattr(chunk_workers, "WARM_FROM", 1)
    asked: list = []
    real = register_book.share
    monkeypatch.setattr(
        register_book, "share", lambda *a: (asked.append((a[4], found := real(*a))), found)[1]
    )
    ws = fresh(tmp_path)
    receive(ws, *cycle.returns)
    assert asked and all(h.least == 1 for h, _ in asked)  # merge's readers, not a new one
    made = [share.theirs.result() for _, share in asked if share is not None]
    assert made and all(made)  # chunks made by a reader
    assert ws.register_path.read_bytes() == _built_afresh(ws)  # (made alone: no helper)


def test_reading_processes_start_with_no_store_open_in_the_merge(tmp_path, cycle, monkeypatch):
    """Forked, a process inherits its parent's SQLite connections and the locks they
    hold; merge's readers later open the store themselves, so they must start while
    the merge has no connection open (the merge's own are tracked here)."""
    import sqlite3

    from xlsxflow import parallel
    from xlsxflow.register import store as store_module

    opened: set = set()

    class Tracked(sqlite3.Connection):
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(*args, **kwargs)
            opened.add(self)

        def close(self) -> None:
            opened.discard(self)
            super().close()

    real_connect = sqlite3.connect
    monkeypatch.setattr(
        store_module.sqlite3, "connect", lambda *a, **k: real_connect(*a, factory=Tracked, **k)
    )
    open_at_start: list[int] = []  # connections open as each pool's processes started
    real_workers = parallel.workers_to_read

    @contextlib.contextmanager
    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        count = len(opened)
        with real_workers(*args, **kwargs) as pool:
            if pool is not None:
                open_at_start.append(count)
            yield pool

    monkeypatch.setattr(parallel, "workers_to_read", spy)
    monkeypatch.setattr(parallel, "SERIAL_BELOW", 1)
    monkeypatch.setattr(parallel, "CHUNK", 2)
    ws = fresh(tmp_path)
    receive(ws, *cycle.returns[:4])
    receive(ws, *cycle.returns[4:])  # with returns in the store, read by the first merge
    assert open_at_start == [0, 0]


def _ready_to_share(tmp_path, cycle, monkeypatch):  # type: ignore[no-untyped-def]
    """A merged workspace, its register as one process builds it, and from here on
    every sheet shared with a helper (every project a chunk of its own), with what
    ``share`` answered for each sheet noted."""
    from xlsxflow.excel import bulk_rows, chunk_workers, register_book

    monkeypatch.setattr(bulk_rows, "CHUNK_BLOCKS", 1)
    monkeypatch.setattr(register_book, "SAMPLE_BLOCKS", 1)
    ws = fresh(tmp_path)
    receive(ws, *cycle.returns)
    alone = _built_afresh(ws)
    shares: list = []
    real = register_book.share
    monkeypatch.setattr(
        register_book, "share", lambda *a: (shares.append(found := real(*a)), found)[1]
    )
    monkeypatch.setattr(chunk_workers, "SHARED_FROM", 1)
    return ws, alone, shares


def _chunks(ws: Workspace, sheet: str) -> list[list]:
    import json

    from xlsxflow.register.store import Store

    with Store(ws.data / "register.sqlite") as store:
        index = json.loads(store.meta("register_blocks") or "{}")
    return index["parts"][sheet]["chunks"]


def _helper_dies(*_args: object) -> object:
    os._exit(3)  # as if killed (out of memory, an antivirus)


def _helper_falls_short(*_args: object) -> list[object]:
    return []


def _plain_claimed_copied(*args: object) -> dict[str, object]:
    """A reader whose plain chunks claim to be in the previous register, all of them."""
    made = _MAKE_PLAIN(*args)
    return {n: (w, [(d, c, None) for d, c, _ in chunks]) for n, (w, chunks) in made.items()}


def _plain_misplaced(*args: object) -> dict[str, object]:
    """A reader whose chunks built were built a row below where they go."""
    made = _MAKE_PLAIN(*args)
    return {
        n: (w, [(d, c, (b[0] + 1, *b[1:]) if b else b) for d, c, b in chunks])
        for n, (w, chunks) in made.items()
    }


def _plain_rows_made_here(monkeypatch: pytest.MonkeyPatch, reader_run: object) -> list[str]:
    """The plain sheets whose rows are made in this process from now on (a reader counts
    in its own copy); ``reader_run`` (if not None) runs in the reader as ``make_plain``
    (handed to it by reference)."""
    from xlsxflow.excel import chunk_workers
    from xlsxflow.register import sheets

    built: list[str] = []
    for name in ("_submission_rows", "_missing_rows", "_change_rows"):
        real = getattr(sheets, name)
        monkeypatch.setattr(sheets, name, lambda *a, r=real, n=name: (built.append(n), r(*a))[1])
    if reader_run is not None:
        monkeypatch.setattr(chunk_workers, "make_plain", reader_run)
    return built


@pytest.mark.parametrize(
    ("reader_run", "start"),
    [
        (None, "fork"),
        (None, "spawn"),  # (as on Windows: the reader has only what it was sent)
        (None, "ahead"),  # (spawned before the merge, as the command does on Windows)
        (_helper_dies, "fork"),
        (_plain_claimed_copied, "fork"),
        (_plain_misplaced, "fork"),
    ],
)
def test_a_reader_makes_the_plain_sheets_of_a_rewrite_meanwhile(
    tmp_path, cycle, monkeypatch, reader_run, start
):
    """A merge that read its files on several processes and rewrites the register from
    the previous one has one of them make 提交记录, 未报送名单 and 变更记录 from the
    store while it makes the rest: those rows are not made in the merge's process, and
    the register is the one made alone. A reader that dies, or whose chunks do not fit
    the previous register, costs the time to make them here, not the register."""
    import multiprocessing

    from xlsxflow import parallel

    monkeypatch.setattr(parallel, "SERIAL_BELOW", 1)
    monkeypatch.setattr(parallel, "workers_for", lambda count, workers=None: 2)
    real_workers = parallel.workers_to_read
    monkeypatch.setattr(
        parallel,
        "workers_to_read",
        lambda *a, **k: real_workers(
            *a, **k, mp_context=multiprocessing.get_context("spawn" if start == "ahead" else start)
        ),
    )
    ws = fresh(tmp_path)
    receive(ws, *cycle.returns[:-3])
    built = _plain_rows_made_here(monkeypatch, reader_run)
    spawn = multiprocessing.get_context("spawn")
    ahead = parallel.readers_ahead(3, spawn) if start == "ahead" else contextlib.nullcontext()
    with ahead:
        assert len(parallel._AHEAD) == (start == "ahead")
        receive(ws, *cycle.returns[-3:])
        assert not parallel._AHEAD  # (taken)
    assert bool(built) == (reader_run is not None), built
    assert ws.register_path.read_bytes() == _built_afresh(ws)


@pytest.mark.parametrize("reader_run", [None, _helper_dies, _plain_misplaced])
@pytest.mark.parametrize("shared_from", [200, 1])  # (1: the task rows shared as well)
def test_a_reader_makes_the_plain_sheets_of_a_register_written_from_nothing(
    tmp_path, cycle, monkeypatch, reader_run, shared_from
):
    """The first merge, read on several processes, has one of its readers build 提交记录,
    未报送名单 and 变更记录 (serialised and compressed) while it makes the rest: those rows
    are not made in the merge's process, and the register is the one made alone. A
    reader that dies, or whose chunks were built elsewhere than they go, costs the time
    to make them here, not the register."""
    from xlsxflow import parallel
    from xlsxflow.excel import chunk_workers

    monkeypatch.setattr(parallel, "SERIAL_BELOW", 1)
    monkeypatch.setattr(parallel, "workers_for", lambda count, workers=None: 2)
    monkeypatch.setattr(chunk_workers, "WARM_FROM", shared_from)
    ws = fresh(tmp_path)
    built = _plain_rows_made_here(monkeypatch, reader_run)
    receive(ws, *cycle.returns)
    assert bool(built) == (reader_run is not None), built
    made = ws.register_path.read_bytes()
    monkeypatch.undo()
    assert made == _built_afresh(ws)


def test_a_reader_makes_the_plain_sheets_when_no_row_can_be_copied(tmp_path, cycle, monkeypatch):
    """A register written by other code (an upgrade: its rows cannot be copied) is
    written whole, its plain sheets built by a reader as from nothing."""
    from xlsxflow import parallel
    from xlsxflow.register.store import Store

    monkeypatch.setattr(parallel, "SERIAL_BELOW", 1)
    monkeypatch.setattr(parallel, "workers_for", lambda count, workers=None: 2)
    ws = fresh(tmp_path)
    receive(ws, *cycle.returns[:-3])
    with Store(ws.data / "register.sqlite") as store, store.transaction():
        store.set_meta("register_code", "an older xlsxflow's")
    built = _plain_rows_made_here(monkeypatch, None)
    receive(ws, *cycle.returns[-3:])
    assert not built
    made = ws.register_path.read_bytes()
    monkeypatch.undo()
    assert made == _built_afresh(ws)


@pytest.mark.parametrize("helper_run", [_helper_dies, _helper_falls_short])
def test_what_a_failed_helper_was_to_make_is_made_here(tmp_path, cycle, monkeypatch, helper_run):
    """A helper that dies, or whose chunks do not fill the rows planned for it: its
    blocks are made in the main process, and the register is the same."""
    from xlsxflow.excel import chunk_workers

    ws, alone, shares = _ready_to_share(tmp_path, cycle, monkeypatch)
    # (handed to the helper by reference: it runs this test's function instead)
    monkeypatch.setattr(chunk_workers, "build_chunks", helper_run)
    assert _built_afresh(ws) == alone
    assert shares and all(s is not None and s.chunks(1) is None for s in shares)


@pytest.mark.parametrize(
    ("form", "state", "told", "waits"),
    [
        ("closure", "approved", "等待该项目的管理台帐", True),
        ("acceptance", "in_progress", "等待该项目的结题报告", True),
        ("acceptance", "rectifying", "等待该项目的结题报告", True),
        ("acceptance", "concluded", "", False),
        ("closure", "launched", "", False),
        # nothing can follow: refused, not held for ever
        ("acceptance", "accepted", "不能重复验收", False),
        ("acceptance", "not_accepted", "不能重复验收", False),
        ("closure", "rejected", "项目还没有报送过管理台帐", False),
        ("ledger", "accepted", "", False),
    ],
)
def test_a_form_waits_only_for_a_stage_its_project_can_still_reach(form, state, told, waits):
    from xlsxflow.register.state import Project, _misfit

    project = Project("k", "T01", INNOVATION, "2011", None, {}, number="N", state=state)  # type: ignore[arg-type]
    reason, held = _misfit(form, project)
    assert (told in reason if told else reason == "", held) == (True, waits)
    assert _misfit(form, None)[1] is False  # no such project: refused
