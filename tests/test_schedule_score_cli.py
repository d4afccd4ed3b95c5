"""``xlsxflow schedule`` and ``xlsxflow score`` through the command line: invalid scoring
and compliance configs, and a whole demo cycle (``xlsxflow.demo.cycle.play``) whose figures
are recounted by hand from the register's own sheets and the store's acceptance values."""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result

from xlsxflow.cli import cli
from xlsxflow.demo.cycle import play
from xlsxflow.register.query import load_state
from xlsxflow.register.store import Store
from xlsxflow.workspace import Workspace

AS_OF = "2012-03-31"
VERDICT_TEXT = {"commend": "经验交流推广", "rectify": "限期整改", "normal": "正常推进"}
ONE_PLACE = Decimal("0.1")


def run(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def half_up(value: Decimal) -> Decimal:
    return value.quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def sheet_rows(path: Path, sheet: str) -> list[dict[str, Any]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = wb[sheet].iter_rows(values_only=True)
        headers = next(rows)
        return [dict(zip(headers, r, strict=True)) for r in rows]
    finally:
        wb.close()


def day(value: Any) -> dt.date | None:
    return value.date() if isinstance(value, dt.datetime) else value


# -- invalid configs -------------------------------------------------------------------------


def edit_config(ws: Workspace, old: str, new: str) -> None:
    text = ws.config_path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    ws.config_path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        # 30 + 30 + 15 + 15 = 90
        ("weight_goal = 40", "weight_goal = 30", "scoring", "四项权重之和必须为 100"),
        ("grade_good = 80", "grade_good = 95", "scoring", "等次分数线须满足 优秀 ≥ 良好 ≥ 合格"),
        ("grade_pass = 60", "grade_pass = 85", "scoring", "等次分数线须满足 优秀 ≥ 良好 ≥ 合格"),
        ("basic_satisfied_weight = 1", "basic_satisfied_weight = 2", "basic_satisfied_weight", ""),
        ('missing_survey = "reweight"', 'missing_survey = "drop"', "missing_survey", ""),
        ("rectify_period_days = 30", "rectify_period_days = 0", "rectify_period_days", ""),
        ("commend_min_rate = 90", "commend_min_rate = 101", "commend_min_rate", ""),
    ],
)
@pytest.mark.parametrize("command", [["score"], ["schedule", "--as-of", AS_OF]])
def test_invalid_config_is_a_usage_error(
    workspace: Workspace, command: list[str], old: str, new: str, key: str, message: str
) -> None:
    edit_config(workspace, old, new)
    result = run(command[0], workspace.root, *command[1:])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "配置文件" in result.stderr
    assert key in result.stderr
    assert message in result.stderr


def test_without_a_register_both_commands_say_merge_first(workspace: Workspace) -> None:
    for args in (["score", workspace.root], ["schedule", workspace.root, "--as-of", AS_OF]):
        result = run(*args)
        assert result.exit_code == 2
        assert "xlsxflow merge" in result.stderr


# -- a whole demo cycle ----------------------------------------------------------------------


class Cycle:
    def __init__(self, root: Path) -> None:
        play(root, seed=3)
        self.ws = Workspace.open(root)
        # Forget what the demo recorded for this meeting and the register drawn from it, so
        # both can only come back from the command under test.
        with Store(self.ws.data / "register.sqlite") as store, store.transaction():
            store.save_meeting(AS_OF, [])
        self.ws.register_path.unlink()
        result = run("schedule", root, "--as-of", AS_OF, "--json")
        assert result.exit_code == 0, result.output
        self.schedule = json.loads(result.stdout)
        result = run("score", root, "--json")
        assert result.exit_code == 0, result.output
        self.score = json.loads(result.stdout)
        self.register = self.ws.register_path

    def rows(self, sheet: str) -> list[dict[str, Any]]:
        return sheet_rows(self.register, sheet)

    def ledgers(self) -> list[dict[str, Any]]:
        """Accepted ledgers from 提交记录 (saved time, project, SHA-256)."""
        return [
            r
            for r in self.rows("提交记录")
            if r["表格"] == "项目管理台帐" and r["处理结果"] == "已接收"
        ]


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> Cycle:
    return Cycle(tmp_path_factory.mktemp("cycle") / "demo")


def test_schedule_json_has_the_documented_keys(cycle: Cycle) -> None:
    data = cycle.schedule
    assert data["as_of"] == AS_OF
    assert {"as_of", "projects", "committees"} <= set(data)
    keys = {
        "project",
        "committee",
        "due",
        "on_time",
        "late",
        "overdue",
        "pending",
        "compliance",
        "verdict",
        "rectify_by",
    }
    assert data["projects"]
    for p in data["projects"]:
        assert keys <= set(p), p["project"]
        if not p["has_ledger"]:
            continue
        assert p["verdict"] in VERDICT_TEXT
        assert 0 <= p["compliance"] <= 100
        # percent, one decimal place, on_time ÷ due (100 when nothing is due)
        expected = (
            Decimal(100)
            if p["due"] == 0
            else half_up(Decimal(p["on_time"]) * 100 / Decimal(p["due"]))
        )
        assert Decimal(str(p["compliance"])) == expected, p["project"]
        assert p["due"] == p["on_time"] + p["late"] + p["overdue"]
        if p["verdict"] == "rectify":
            assert p["rectify_by"] == "2012-04-30"  # 31 March + 30 days
        else:
            assert p["rectify_by"] is None
    committees = {c["committee"]: c for c in data["committees"]}
    assert set(committees) == {p["committee"] for p in data["projects"]}
    for code, c in committees.items():
        mine = [p for p in data["projects"] if p["committee"] == code and p["has_ledger"]]
        for k in ("due", "on_time", "late", "overdue", "pending"):
            assert c[k] == sum(p[k] for p in mine), (code, k)
        due, on_time = c["due"], c["on_time"]
        expected = Decimal(100) if due == 0 else half_up(Decimal(on_time) * 100 / Decimal(due))
        assert Decimal(str(c["compliance"])) == expected
        # the first meeting: missing means no ledger returned at all
        missing = [
            p["project"] for p in data["projects"] if p["committee"] == code and not p["has_ledger"]
        ]
        assert c["missing_ledger"] == missing
    assert any(c["missing_ledger"] for c in committees.values())


def hand_count(tasks: list[dict[str, Any]], as_of: dt.date, reported_on: dt.date) -> dict[str, Any]:
    """DOMAIN §6 by hand over the 任务台账 rows of one project, as the committee's ledger
    returned on ``reported_on`` showed them at the meeting ``as_of``: a task is done if
    its completion date is on or before both days."""
    known = min(as_of, reported_on)
    count = {"on_time": 0, "late": 0, "overdue": 0, "pending": 0}
    worst = 0
    for t in tasks:
        deadline, done = day(t["完成时限（定时限）"]), day(t["实际完成时间"])
        assert done is not None or t["完成进度（%）"] != 100  # no "100 % without a date" here
        if deadline > as_of:
            count["pending"] += 1
        elif done is not None and done <= known:
            count["on_time" if done <= deadline else "late"] += 1
        else:
            count["overdue"] += 1
            worst = max(worst, (as_of - deadline).days)
    count["due"] = count["on_time"] + count["late"] + count["overdue"]
    count["max_days_overdue"] = worst
    return count


def ledger_returned(cycle: Cycle, project: str, as_of: str) -> dict[str, Any]:
    """The latest accepted ledger of ``project`` saved on or before the meeting."""
    mine = [r for r in cycle.ledgers() if r["立项编号"] == project and r["保存时间"][:10] <= as_of]
    return max(mine, key=lambda r: r["保存时间"])


def test_counts_recomputed_by_hand_from_the_task_sheet(cycle: Cycle) -> None:
    # 任务台账 shows each project's latest ledger; the ledger the meeting used was the one
    # returned before 31 March, which reported as done what was done by its save day.
    as_of = dt.date.fromisoformat(AS_OF)
    tasks = cycle.rows("任务台账")
    checked = 0
    for p in cycle.schedule["projects"]:
        if not p["has_ledger"]:
            continue
        ledger = ledger_returned(cycle, p["project"], AS_OF)
        assert p["ledger_saved"] == ledger["保存时间"].replace(" ", "T") + "Z"
        mine = [t for t in tasks if t["立项编号"] == p["project"]]
        got = {k: p[k] for k in ("due", "on_time", "late", "overdue", "pending")}
        got["max_days_overdue"] = p["max_days_overdue"]
        reported_on = dt.date.fromisoformat(ledger["保存时间"][:10])
        assert got == hand_count(mine, as_of, reported_on), p["project"]
        checked += 1
    assert checked >= 20


def test_one_project_by_hand(cycle: Cycle) -> None:
    """NCX-2011-CX-001 in words: its verdict follows from the recounted figures."""
    [p] = [p for p in cycle.schedule["projects"] if p["project"] == "NCX-2011-CX-001"]
    tasks = [t for t in cycle.rows("任务台账") if t["立项编号"] == p["project"]]
    ledger = ledger_returned(cycle, p["project"], AS_OF)
    c = hand_count(tasks, dt.date(2012, 3, 31), dt.date.fromisoformat(ledger["保存时间"][:10]))
    rate = Decimal(100) if c["due"] == 0 else Decimal(c["on_time"]) * 100 / Decimal(c["due"])
    assert Decimal(str(p["compliance"])) == half_up(rate)
    if rate < 60 or c["max_days_overdue"] > 30:
        assert (p["verdict"], p["rectify_by"]) == ("rectify", "2012-04-30")
    else:
        assert p["verdict"] in ("commend", "normal")
        assert p["rectify_by"] is None
    assert f"{c['on_time']} ÷ {c['due']} × 100%" in p["explanation"]


def test_snapshot_is_kept_in_the_register(cycle: Cycle) -> None:
    rows = [r for r in cycle.rows("调度记录") if day(r["调度会日期"]) == dt.date(2012, 3, 31)]
    by_project = {r["立项编号"]: r for r in rows}
    projects = cycle.schedule["projects"]
    assert set(by_project) == {p["project"] for p in projects}
    for p in projects:
        row = by_project[p["project"]]
        if not p["has_ledger"]:
            assert row["调度结论"] == "未报送台帐"
            assert row["按期完成率（%）"] is None
            continue
        assert Decimal(str(row["按期完成率（%）"])) == Decimal(str(p["compliance"]))
        assert row["调度结论"] == VERDICT_TEXT[p["verdict"]]
        rectify_by = day(row["整改期限"])
        assert (rectify_by.isoformat() if rectify_by else None) == p["rectify_by"]
        assert (row["建议调整"] == "是") == p["adjust"]
        assert row["说明"] == p["explanation"]
    # the store keeps it for the next meeting's "two in a row"
    with Store(cycle.ws.data / "register.sqlite") as store:
        kept = {m[1]: m[3] for m in store.meetings() if m[0] == AS_OF}
    assert kept == {p["project"]: p["verdict"] for p in projects}


def test_project_sheet_shows_the_latest_meeting(cycle: Cycle) -> None:
    meetings: dict[str, dict[str, Any]] = {}
    for r in cycle.rows("调度记录"):
        meetings[r["立项编号"]] = r  # sorted by date: the last one wins
    checked = 0
    for row in cycle.rows("项目总台账"):
        last = meetings.get(row["立项编号"])
        if last is None:
            assert row["最近调度会"] is None
            continue
        assert row["最近调度会"] == day(last["调度会日期"]).isoformat()
        assert row["调度结论"] == last["调度结论"]
        assert row["按期完成率（%）"] == last["按期完成率（%）"]
        checked += 1
    assert checked >= 20


def test_adjustment_flag_follows_the_recorded_previous_meeting(cycle: Cycle) -> None:
    result = run("schedule", cycle.ws.root, "--as-of", "2012-06-30", "--json", "--no-save")
    assert result.exit_code == 0, result.output
    june = json.loads(result.stdout)
    march = {p["project"]: p["verdict"] for p in cycle.schedule["projects"]}
    flagged = 0
    for p in june["projects"]:
        if not p["has_ledger"]:
            continue
        expected = p["verdict"] == "rectify" and march.get(p["project"]) == "rectify"
        assert p["adjust"] == expected, p["project"]
        flagged += expected
    assert flagged >= 1


def test_project_adjusted_mid_year_computes_from_its_latest_ledger(cycle: Cycle) -> None:
    adjusted = {r["立项编号"] for r in cycle.rows("变更记录") if r["类别"] == "项目调整"}
    assert adjusted
    # at 30 June every concluded project's latest ledger is the one in 任务台账
    result = run("schedule", cycle.ws.root, "--as-of", "2012-06-30", "--json", "--no-save")
    june = {p["project"]: p for p in json.loads(result.stdout)["projects"]}
    tasks = cycle.rows("任务台账")
    checked = 0
    for number in sorted(adjusted):
        p = june.get(number)
        mine = [t for t in tasks if t["立项编号"] == number]
        ledger = ledger_returned(cycle, number, "2012-06-30")
        if p is None or not ledger["SHA-256"].startswith(mine[0]["来源文件"]):
            continue  # concluded before, or a later ledger is in the sheet
        assert p["ledger_saved"] == ledger["保存时间"].replace(" ", "T") + "Z"
        assert len(p["tasks"]) == len(mine)
        got = {k: p[k] for k in ("due", "on_time", "late", "overdue", "pending")}
        got["max_days_overdue"] = p["max_days_overdue"]
        assert got == hand_count(mine, dt.date(2012, 6, 30), dt.date(2012, 6, 30)), number
        checked += 1
    assert checked >= 1


# -- score -----------------------------------------------------------------------------------


def test_score_json_has_the_documented_keys(cycle: Cycle) -> None:
    keys = {
        "project",
        "committee",
        "type",
        "goal_rate",
        "satisfaction_rate",
        "benefit",
        "extensibility",
        "score",
        "grade",
        "rank_in_type",
        "promotion",
        "commend",
    }
    projects = cycle.score["projects"]
    assert projects
    for p in projects:
        assert keys <= set(p)
        assert p["grade"] in ("优秀", "良好", "合格", "不合格")
        assert p["commend"] == (p["grade"] == "优秀")
        assert str(p["score"]) in p["explanation"]


def hand_score(acc: dict[str, Any]) -> tuple[Decimal, Decimal | None, Decimal]:
    """目标实现率 from the sheet, 群众满意率 =（满意 + 基本满意）÷ 全部, weights 40/30/15/15,
    or 40/15/15 over 70 without answers; half-up to one place."""
    goal = half_up(Decimal(acc["goal_rate"]))
    sat, basic, unsat = (
        int(acc.get(k) or 0) for k in ("survey_satisfied", "survey_basic", "survey_unsatisfied")
    )
    benefit, ext = Decimal(acc["benefit_score"]), Decimal(acc["extensibility_score"])
    if sat + basic + unsat:
        rate = half_up(Decimal(sat + basic) * 100 / Decimal(sat + basic + unsat))
        raw = (goal * 40 + rate * 30 + benefit * 15 + ext * 15) / 100
        return goal, rate, half_up(raw)
    return goal, None, half_up((goal * 40 + benefit * 15 + ext * 15) / 70)


def band(score: Decimal) -> str:
    """Default grade bands: 优秀 ≥ 90, 良好 ≥ 80, 合格 ≥ 60."""
    for grade, floor in (("优秀", 90), ("良好", 80), ("合格", 60)):
        if score >= floor:
            return grade
    return "不合格"


def test_scores_recomputed_by_hand_from_the_acceptance_values(cycle: Cycle) -> None:
    state = load_state(cycle.ws)
    assert state is not None
    numbers = state.by_number()
    projects = cycle.score["projects"]
    assert {p["project"] for p in projects} == {
        n for n, p in numbers.items() if p.acceptance is not None
    }
    no_survey = 0
    for p in projects:
        acc = numbers[p["project"]].form_values("acceptance")
        goal, rate, score = hand_score(acc)
        assert Decimal(str(p["goal_rate"])) == goal
        assert p["goal_source"] == "验收评分表"
        if rate is None:
            no_survey += 1
            assert p["satisfaction_rate"] is None
        else:
            assert Decimal(str(p["satisfaction_rate"])) == rate
        assert Decimal(str(p["score"])) == score, p["project"]
        assert p["grade"] == (band(score) if acc["conclusion"] == "pass" else "不合格")
    assert no_survey >= 1  # the demo has projects without a questionnaire


def test_one_score_in_words(cycle: Cycle) -> None:
    """NCX-2011-CX-002: the figures read from its acceptance sheet, summed by hand."""
    [p] = [p for p in cycle.score["projects"] if p["project"] == "NCX-2011-CX-002"]
    state = load_state(cycle.ws)
    assert state is not None
    acc = state.by_number()["NCX-2011-CX-002"].form_values("acceptance")
    sat, basic, unsat = acc["survey_satisfied"], acc["survey_basic"], acc["survey_unsatisfied"]
    rate = half_up(Decimal(sat + basic) * 100 / Decimal(sat + basic + unsat))
    weighted = (
        Decimal(acc["goal_rate"]) * 40
        + rate * 30
        + Decimal(acc["benefit_score"]) * 15
        + Decimal(acc["extensibility_score"]) * 15
    )
    assert Decimal(str(p["score"])) == half_up(weighted / 100)
    for shown in (f"满意 {sat}", f"基本满意 {basic}", f"有效问卷 {sat + basic + unsat}"):
        assert shown in p["explanation"]
    assert f"为 {half_up(weighted / 100)}；等次：{p['grade']}" in p["explanation"]


def test_ranks_within_type_from_the_scores(cycle: Cycle) -> None:
    projects = cycle.score["projects"]
    for p in projects:
        same_type = [q for q in projects if q["type"] == p["type"]]
        better = sum(1 for q in same_type if q["score"] > p["score"])
        assert p["rank_in_type"] == better + 1, p["project"]
        if p["type"] == "innovation" and p["grade"] != "不合格":
            assert p["promotion"].startswith("中试候选")
        if p["type"] == "demonstration":
            assert (p["promotion"] or "").startswith("大试候选") == (p["grade"] in ("优秀", "良好"))


def test_committee_totals_from_the_project_scores(cycle: Cycle) -> None:
    projects = cycle.score["projects"]
    for c in cycle.score["committees"]:
        mine = [Decimal(str(p["score"])) for p in projects if p["committee"] == c["committee"]]
        assert c["projects"] == len(mine)
        assert Decimal(str(c["average"])) == half_up(sum(mine) / len(mine))


def test_evaluation_sheet_lists_the_same_scores(cycle: Cycle) -> None:
    rows = {r["立项编号"]: r for r in cycle.rows("评估结果")}
    projects = cycle.score["projects"]
    assert set(rows) == {p["project"] for p in projects}
    for p in projects:
        row = rows[p["project"]]
        assert Decimal(str(row["得分"])) == Decimal(str(p["score"]))
        assert row["等次"] == p["grade"]
        assert row["类内排名"] == p["rank_in_type"]
        assert row["计算说明"] == p["explanation"]
        assert (row["表彰对象"] == "是") == p["commend"]
    summary = {r["立项编号"]: r for r in cycle.rows("项目总台账") if r["立项编号"]}
    for p in projects:
        assert Decimal(str(summary[p["project"]]["评估得分"])) == Decimal(str(p["score"]))
        assert summary[p["project"]]["评估等次"] == p["grade"]


def test_without_task_lists_the_figures_are_the_same(cycle: Cycle) -> None:
    """``xlsxflow run`` asks only for the figures (a province has 400,000 tasks)."""
    from xlsxflow.register.meetings import run_schedule

    brief = run_schedule(cycle.ws, dt.date.fromisoformat(AS_OF), save=False, tasks=False)
    full = cycle.schedule
    assert all("tasks" not in p for p in brief["projects"])
    assert any(p.get("tasks") for p in full["projects"])
    assert brief["county"] == full["county"]
    stripped = [{k: v for k, v in p.items() if k != "tasks"} for p in full["projects"]]
    assert brief["projects"] == stripped


HOSTILE_NAME = "\x1b]0;PWNED\x07项目\u202e名称"


def test_typed_project_names_reach_the_terminal_escaped(
    cycle: Cycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Project names are what a committee typed: an escape sequence or a bidirectional
    override in one is printed as text (``\\x1b``, ``\\u202e``), never acted on."""
    from xlsxflow.register import meetings

    schedule = {**cycle.schedule, "projects": [dict(p) for p in cycle.schedule["projects"]]}
    score = {**cycle.score, "projects": [dict(p) for p in cycle.score["projects"]]}
    score["committees"] = [dict(c) for c in cycle.score["committees"]]
    schedule["projects"][0]["name"] = HOSTILE_NAME
    score["projects"][0]["name"] = HOSTILE_NAME
    score["committees"][0]["name"] = HOSTILE_NAME
    monkeypatch.setattr(meetings, "run_schedule", lambda *a, **k: schedule)
    monkeypatch.setattr(meetings, "run_score", lambda *a, **k: score)
    for command in (["schedule", cycle.ws.root, "--as-of", AS_OF], ["score", cycle.ws.root]):
        result = run(*command)
        assert result.exit_code == 0, result.output
        assert not any(c in result.stdout for c in "\x1b\x07\u202e"), command
        assert "\\x1b]0;PWNED\\x07项目\\u202e名称" in result.stdout, command
