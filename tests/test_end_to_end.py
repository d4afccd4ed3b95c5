"""The whole cycle end to end, every return filled in a real office suite.

LibreOffice headless (``tests/realclient``) plays the committees and the review group:
it opens the templates that ``xlsxflow templates`` wrote, types values into their
defined names and saves them — some as ``.xls``, one with a planted mistake followed by
its corrected resubmission, one ledger first returned wrong and then corrected as
``.xls``. The command line does the department's part (``templates``, ``merge``, ``run``,
``score``), and the figures of the quarterly summary and of the evaluation are checked
against what was typed, worked out by hand below. A second test prints the summary to
PDF with LibreOffice and checks its pages.

LibreOffice over UNO records the template's own save time (the notice date, 2011-10-28)
in every file it stores from a read-only template (.xlsx and .xls alike), so versions tie
on save time and the content hash decides; the register's "latest ledger saved on or
before the meeting" still finds every ledger.
The same quirk makes every ledger look saved before the reporting period, so the
未报送名单 (ledgers not reported this period) is not checked here.

Four soffice runs in all: applications, review, project forms, PDF.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result
from openpyxl.worksheet.worksheet import Worksheet
from realclient import as_date, fill, job, pdf_pages, pdf_text, to_pdf

from xlsxflow.cli import cli
from xlsxflow.config import Config
from xlsxflow.demo.content import application_values, closure_values
from xlsxflow.projects import ProjectRef
from xlsxflow.register.query import approved_projects, load_state, review_rows
from xlsxflow.sample_county import sample_roster
from xlsxflow.templates import TemplateJob, plan_templates
from xlsxflow.workspace import Workspace, init_workspace

pytestmark = pytest.mark.libreoffice

AS_OF = dt.date(2012, 3, 31)  # the first dispatch meeting
RECTIFY_BY = dt.date(2012, 4, 30)  # 30 days after it
INNOVATION, DEMONSTRATION = "application_innovation", "application_demonstration"
QUARTERLY_SHEETS = [
    "概览",
    "项目进度明细",
    "逾期任务清单",
    "限期整改名单",
    "经验交流推广名单",
    "未报送名单",
    "调整建议",
]
HEADER_ROW = 3  # title, subtitle, then the header row of every table sheet
TITLE = "南昌县2011年度基层党建项目第1次调度会汇总"

Values = dict[str, Any]
Rows = dict[str, list[dict[str, Any]]]


# -- what the committees type ------------------------------------------------------------------


@dataclass(frozen=True)
class Application:
    committee: str
    kind: str
    name: str  # the project name typed
    suffix: str  # the format saved in
    number: str | None  # the number it must get at review (None: 不立项)
    scores: tuple[int, int, int, int]  # 创新性, 可行性, 示范带动性, 预期成效


APPLICATIONS = [
    Application("T01", INNOVATION, "莲溪镇“三民两承诺”示范点建设", "xlsx", "NCX-2011-CX-001", (22, 21, 20, 23)),
    Application("T02", DEMONSTRATION, "青岚镇“四议两公开”提升计划", "xls", "NCX-2011-SF-001", (20, 22, 23, 21)),
    Application("T03", INNOVATION, "柳塘镇流动党员服务站试点", "xlsx", "NCX-2011-CX-002", (19, 20, 18, 20)),
    Application("T04", DEMONSTRATION, "桂山乡党员先锋岗示范带", "xlsx", "NCX-2011-SF-002", (21, 19, 22, 20)),
    Application("T05", INNOVATION, "石埠镇网格化社会管理机制探索", "xls", "NCX-2011-CX-003", (18, 19, 17, 19)),
    Application("T06", INNOVATION, "云岭乡便民服务代办工程", "xlsx", None, (12, 10, 11, 13)),
]  # fmt: skip
MISTAKEN = "T03"  # first returned with the project name left blank, then corrected


def _application(app: Application, config: Config) -> tuple[Values, Rows]:
    committee = sample_roster(6).committee(app.committee)
    seed = 2011 + int(app.committee[1:])
    values, rows = application_values(random.Random(seed), committee, app.kind, config)
    return {**values, "project_name": app.name}, rows


def _task(
    no: int,
    target: str,
    deadline: tuple[int, int],
    progress: int | None = None,
    done: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """One row of the task ledger; dates are (month, day) of 2012."""
    return {
        "task_no": str(no),
        "task_target": target,
        "task_owner": ["王建华", "李秀英", "张卫东"][no % 3],
        "task_deadline": dt.date(2012, *deadline),
        "task_requirement": "按时完成并留存佐证材料",
        "task_progress": 100 if done else progress,
        "task_done_date": dt.date(2012, *done) if done else None,
        "task_evidence": "会议记录、照片" if done else None,
    }


@dataclass(frozen=True)
class Expected:
    """A project's figures as of AS_OF, worked out by hand from its tasks."""

    tasks: int
    due: int
    on_time: int
    late: int
    overdue: int
    pending: int
    compliance: str  # on_time ÷ due × 100, half-up to 1 place (100 when nothing is due)
    planned: str  # due ÷ tasks × 100
    reported: str  # mean progress, a done task counting 100
    verdict: str
    rectify_by: dt.date | None = None


@dataclass(frozen=True)
class Ledger:
    number: str
    suffix: str
    tasks: list[dict[str, Any]]
    expected: Expected
    mistaken_first: bool = False  # first returned as .xlsx with a task 100 % but no date


LEDGERS = {
    # Every due task done by its deadline: 3 ÷ 3 = 100 %, progress 350 ÷ 4 = 87.5 % not
    # behind the plan's 3 ÷ 4 = 75 % → 经验交流推广.
    "NCX-2011-CX-001": Ledger(
        "NCX-2011-CX-001",
        "xlsx",
        [
            _task(1, "召开动员部署会", (1, 15), done=(1, 10)),
            _task(2, "制定任务分解表", (2, 20), done=(2, 20)),
            _task(3, "开展入户走访调研", (3, 15), done=(3, 12)),
            _task(4, "打造示范点", (5, 31), 50),
        ],
        Expected(4, 3, 3, 0, 0, 1, "100.0", "75.0", "87.5", "经验交流推广"),
    ),
    # Task 2 was due 2012-02-20 and is not done: 9 + 31 = 40 days overdue (> 30) → 限期整改
    # although 2 ÷ 3 = 66.7 % is above 60 %. Progress (100 + 60 + 100 + 20) ÷ 4 = 70 %.
    "NCX-2011-SF-001": Ledger(
        "NCX-2011-SF-001",
        "xlsx",
        [
            _task(1, "制定任务分解表", (1, 10), done=(1, 8)),
            _task(2, "建立党员联系户制度", (2, 20), 60),
            _task(3, "组织专题培训", (3, 20), done=(3, 18)),
            _task(4, "评选先进典型", (6, 15), 20),
        ],
        Expected(4, 3, 2, 0, 1, 1, "66.7", "75.0", "70.0", "限期整改", RECTIFY_BY),
    ),
    # Nothing due yet: 100 % by definition; progress (30 + 10 + 0) ÷ 3 = 13.3 % is not
    # behind a plan of 0 % → 经验交流推广.
    "NCX-2011-CX-002": Ledger(
        "NCX-2011-CX-002",
        "xlsx",
        [
            _task(1, "开展入户走访调研", (4, 15), 30),
            _task(2, "建立工作台账", (5, 20), 10),
            _task(3, "总结提炼经验", (6, 30)),
        ],
        Expected(3, 0, 0, 0, 0, 3, "100.0", "0.0", "13.3", "经验交流推广"),
    ),
    # One task done 5 days late: 3 ÷ 4 = 75 % → 正常推进. Progress 440 ÷ 5 = 88 %.
    "NCX-2011-SF-002": Ledger(
        "NCX-2011-SF-002",
        "xlsx",
        [
            _task(1, "召开动员部署会", (1, 31), done=(2, 5)),
            _task(2, "制定任务分解表", (2, 29), done=(2, 28)),
            _task(3, "打造示范点", (3, 15), done=(3, 15)),
            _task(4, "开展季度督查", (3, 25), done=(3, 20)),
            _task(5, "召开现场推进会", (5, 31), 40),
        ],
        Expected(5, 4, 3, 1, 0, 1, "75.0", "80.0", "88.0", "正常推进"),
    ),
    # One late, one 21 days overdue, one on time: 1 ÷ 3 = 33.3 % < 60 % → 限期整改.
    # Progress (100 + 50 + 100 + 0) ÷ 4 = 62.5 %. Saved as .xls after a rejected .xlsx.
    "NCX-2011-CX-003": Ledger(
        "NCX-2011-CX-003",
        "xls",
        [
            _task(1, "召开动员部署会", (2, 15), done=(2, 25)),
            _task(2, "建立党员联系户制度", (3, 10), 50),
            _task(3, "组织专题培训", (3, 20), done=(3, 19)),
            _task(4, "形成制度汇编", (6, 20), 0),
        ],
        Expected(4, 3, 1, 1, 1, 1, "33.3", "75.0", "62.5", "限期整改", RECTIFY_BY),
        mistaken_first=True,
    ),
}
# The county: Σ on time ÷ Σ due = (3 + 2 + 0 + 3 + 1) ÷ (3 + 3 + 0 + 4 + 3) = 9 ÷ 13.
COUNTY_COMPLIANCE = "69.2"
OVERDUE = [  # (project, task, deadline, days overdue), longest first
    ("NCX-2011-SF-001", "2", dt.date(2012, 2, 20), 40),
    ("NCX-2011-CX-003", "2", dt.date(2012, 3, 10), 21),
]
TEAM = [
    {"team_role": "组长", "team_name": "张卫东", "team_title": "党委书记"},
    {"team_role": "副组长", "team_name": "王建华", "team_title": "党委组织委员"},
    {"team_role": "成员", "team_name": "李秀英", "team_title": "党建办主任"},
]

# Closure and acceptance of NCX-2011-CX-001. By hand, with the default weights 40/30/15/15:
# satisfaction (60 + 4) ÷ 67 = 95.52… → 95.5 %; score (91 × 40 + 95.5 × 30 + 90 × 15 +
# 90 × 15) ÷ 100 = 9205 ÷ 100 = 92.05 → 92.1 half-up (a float round() would give 92.0).
ACCEPTED = "NCX-2011-CX-001"
ACCEPTANCE: Values = {
    "method_documents": "是",
    "method_visit": "是",
    "method_forum": "否",
    "method_survey": "是",
    "survey_satisfied": 60,
    "survey_basic": 4,
    "survey_unsatisfied": 3,
    "goal_rate": 91,
    "benefit_score": 90,
    "extensibility_score": 90,
    "conclusion": "合格",
    "acceptance_remarks": "项目完成预期目标，资料齐全，群众认可。",
    "acceptance_members": "刘志强、陈丽娟、杨国平",
    "acceptance_date": dt.date(2012, 9, 20),
}
SATISFACTION = Decimal("95.5")
SCORE = Decimal("92.1")


# -- helpers --------------------------------------------------------------------------------


def cli_run(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def half_up(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# A "" value (clear a cell) makes LibreOffice save a private editable copy of the
# template, and that records the real time of saving: keep "" out of returns that must be
# dated on or before the meeting.
def _typed(value: Any) -> Any:
    return as_date(value) if isinstance(value, dt.date) else value


def job_values(values: Values, rows: Rows | None = None) -> dict[str, Any]:
    """Defined name → what LibreOffice types: a scalar, or a column top-down."""
    out = {fid: _typed(v) for fid, v in values.items()}
    for table in (rows or {}).values():
        for column in sorted({c for row in table for c in row}):
            out[column] = [_typed(row.get(column)) for row in table]
    return out


def headers(ws: Worksheet, row: int = HEADER_ROW) -> list[str]:
    return [c.value for c in ws[row] if c.value is not None]


def table(ws: Worksheet, row: int = HEADER_ROW) -> list[dict[str, Any]]:
    """The rows under the header row as dicts (the "（无）" placeholder gives none)."""
    head = headers(ws, row)
    out = []
    for values in ws.iter_rows(min_row=row + 1, max_col=len(head), values_only=True):
        if values[0] == "（无）" and all(v is None for v in values[1:]):
            continue
        if all(v is None for v in values):
            continue
        out.append(dict(zip(head, values, strict=True)))
    return out


def figures(ws: Worksheet) -> dict[str, Any]:
    """The key figures of the overview sheet: a label cell above each figure."""
    found = {}
    for row in range(4, 4 + 2 * 6, 2):
        for col in range(1, 9, 2):
            label = ws.cell(row, col).value
            if isinstance(label, str) and label:
                found[label] = ws.cell(row + 1, col).value
    return found


def pct(value: Any) -> str:
    """A percentage cell as text with one place, e.g. 66.7 → "66.7", 100 → "100.0"."""
    return str(half_up(Decimal(str(value))))


def day(value: Any) -> dt.date | None:
    return value.date() if isinstance(value, dt.datetime) else value


def register_rows(ws: Workspace, sheet: str = "项目总台账") -> list[dict[str, Any]]:
    book = openpyxl.load_workbook(ws.register_path, read_only=True)
    try:
        return table(book[sheet], row=1)
    finally:
        book.close()


# -- the cycle --------------------------------------------------------------------------------


@dataclass
class Cycle:
    ws: Workspace
    lo_results: list[dict[str, Any]] = field(default_factory=list)
    lo_seconds: list[float] = field(default_factory=list)
    merges: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    registers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    received: dict[str, str] = field(default_factory=dict)  # file saved → name in the inbox
    projects: dict[str, str] = field(default_factory=dict)  # number → committee
    run: Result | None = None
    quarterly: Path | None = None
    score: dict[str, Any] = field(default_factory=dict)

    def fill(self, jobs: list[dict[str, Any]], workdir: Path) -> None:
        t0 = time.perf_counter()
        self.lo_results += fill(jobs, workdir)
        self.lo_seconds.append(time.perf_counter() - t0)

    def merge(self, step: str) -> None:
        result = cli_run("merge", self.ws.root, "--json")
        assert result.exit_code in (0, 1), result.output
        self.merges[step] = (result.exit_code, json.loads(result.stdout))
        self.registers[step] = register_rows(self.ws)

    def deliver(self, path: Path, name: str) -> None:
        """A committee's return lands in the inbox under a name of its own."""
        shutil.copyfile(path, self.ws.inbox / name)
        self.received[path.name] = name


def _templates(ws: Workspace, *forms: str) -> None:
    args = [arg for f in forms for arg in ("--form", f)]
    result = cli_run("templates", ws.root, *args)
    assert result.exit_code == 0, result.output


def _planned(ws: Workspace, kinds: list[str], **kwargs: Any) -> list[TemplateJob]:
    """Where ``xlsxflow templates`` put each template (planning writes nothing)."""
    jobs = plan_templates(ws.config, ws.roster, ws.outbox, kinds=kinds, **kwargs)
    for j in jobs:
        assert j.path.is_file(), j.path
    return jobs


def _applications(cycle: Cycle, out: Path) -> None:
    ws = cycle.ws
    _templates(ws, INNOVATION, DEMONSTRATION)
    jobs, returns = [], []
    for app in APPLICATIONS:
        (template,) = _planned(ws, [app.kind], committees=[app.committee])
        values, rows = _application(app, ws.config)
        target = out / f"{app.committee}_申报表.{app.suffix}"
        if app.committee == MISTAKEN:
            wrong = out / f"{app.committee}_申报表_初稿.xlsx"
            jobs.append(job(template.path, wrong, job_values({**values, "project_name": ""}, rows)))
            returns.append(wrong)
        jobs.append(job(template.path, target, job_values(values, rows)))
        returns.append(target)
    cycle.fill(jobs, out)
    for i, path in enumerate(returns, start=1):
        cycle.deliver(path, f"申报{i:02d}{path.suffix}")
    cycle.merge("applications")


def _review(cycle: Cycle, out: Path) -> None:
    ws = cycle.ws
    _templates(ws, "review")
    state = load_state(ws)
    assert state is not None
    rows = review_rows(state, ws.roster, ws.config.cycle.year)
    (template,) = _planned(ws, ["review"], applications=rows)
    by_name = {app.name: app for app in APPLICATIONS}
    order = [by_name[r["rv_project_name"]] for r in rows]  # the rows as prefilled
    values: Values = {
        column: [app.scores[i] for app in order]
        for i, column in enumerate(("rv_innovation", "rv_feasibility", "rv_leading", "rv_outcome"))
    }
    values["rv_decision"] = ["立项" if app.number else "不立项" for app in order]
    values["rv_remarks"] = [
        None if app.number else "创新性不足，建议完善后明年申报" for app in order
    ]
    target = out / "评审表.xlsx"
    cycle.fill([job(template.path, target, job_values(values))], out)
    cycle.deliver(target, "评审表（评估小组）.xlsx")
    cycle.merge("review")


def _project_forms(cycle: Cycle, out: Path) -> dict[str, Path]:
    """Ledgers of every approved project, closure and acceptance of one, in one batch.
    Ledgers go to the inbox now; closure and acceptance are returned (held back)."""
    ws = cycle.ws
    _templates(ws, "ledger", "closure", "acceptance")
    state = load_state(ws)
    assert state is not None
    projects: list[ProjectRef] = approved_projects(state)
    cycle.projects = {p.project_no: p.committee_code for p in projects}
    jobs, ledgers, later = [], [], {}
    for template in _planned(ws, ["ledger", "closure", "acceptance"], projects=projects):
        number = template.project.project_no if template.project else ""
        kind = template.spec.kind
        if kind == "ledger":
            ledger = LEDGERS[number]
            values = {"report_date": dt.date(2012, 3, 28)}
            rows = {"team": TEAM, "tasks": ledger.tasks}
            if ledger.mistaken_first:
                wrong = [dict(t) for t in ledger.tasks]
                wrong[2]["task_done_date"] = None  # 100 % with no completion date
                first = out / f"{number}_台帐_初稿.xlsx"
                jobs.append(job(template.path, first, job_values(values, {**rows, "tasks": wrong})))
                ledgers.append(first)
            target = out / f"{number}_台帐.{ledger.suffix}"
            jobs.append(job(template.path, target, job_values(values, rows)))
            ledgers.append(target)
        elif number == ACCEPTED:
            target = out / f"{number}_{kind}.xlsx"
            if kind == "closure":
                values, rows = closure_values(random.Random(7), _name(number), dt.date(2012, 7, 10))
            else:
                values, rows = ACCEPTANCE, {}
            jobs.append(job(template.path, target, job_values(values, rows)))
            later[kind] = target
    cycle.fill(jobs, out)
    for i, path in enumerate(ledgers, start=1):
        cycle.deliver(path, f"台帐{i:02d}{path.suffix}")
    return later


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> Cycle:
    root = tmp_path_factory.mktemp("e2e")
    cycle = Cycle(init_workspace(root / "ws", Config(), sample_roster(6)))
    _applications(cycle, root / "01-申报")
    _review(cycle, root / "02-评审")
    later = _project_forms(cycle, root / "03-台帐")
    cycle.merge("ledgers")
    cycle.run = cli_run("run", cycle.ws.root, "--as-of", AS_OF.isoformat())
    found = sorted(cycle.ws.reports.glob("*调度会汇总*.xlsx"))
    cycle.quarterly = found[-1] if found else None
    for kind in ("closure", "acceptance"):
        cycle.deliver(later[kind], f"{kind}.xlsx")
    cycle.merge("acceptance")
    result = cli_run("score", cycle.ws.root, "--json")
    assert result.exit_code == 0, result.output
    cycle.score = json.loads(result.stdout)
    return cycle


def test_libreoffice_filled_every_return_without_complaint(cycle: Cycle) -> None:
    assert [r["ok"] for r in cycle.lo_results] == [True] * len(cycle.lo_results)
    assert {r["output"]: r["interactions"] for r in cycle.lo_results if r["interactions"]} == {}
    assert len(cycle.lo_seconds) == 3  # applications, review, project forms


# -- 1. applications ---------------------------------------------------------------------------


def test_merge_rejects_the_mistaken_application_and_keeps_the_resubmission(cycle: Cycle) -> None:
    code, report = cycle.merges["applications"]
    assert code == 1  # a return was sent back
    assert report["totals"] == {
        "new": 6,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
        "held": 0,
        "superseded": 0,
    }
    assert report["by_form"][INNOVATION]["rejected"] == 1
    (rejection,) = report["rejections"]
    assert Path(rejection["path"]).name == cycle.received[f"{MISTAKEN}_申报表_初稿.xlsx"]
    assert "项目名称" in rejection["reason"]


def test_register_lists_the_six_applications_with_the_typed_names(cycle: Cycle) -> None:
    rows = cycle.registers["applications"]
    assert {r["单位编号"]: r["项目名称"] for r in rows} == {
        app.committee: app.name for app in APPLICATIONS
    }
    assert {r["项目状态"] for r in rows} == {"已申报"}
    assert all(r["立项编号"] is None for r in rows)


def test_xls_returns_and_the_resubmission_are_received(cycle: Cycle) -> None:
    rows = {r["原文件名"]: r for r in register_rows(cycle.ws, "提交记录")}
    assert set(rows) == set(cycle.received.values())
    rejected = {
        cycle.received[f"{MISTAKEN}_申报表_初稿.xlsx"],
        cycle.received["NCX-2011-CX-003_台帐_初稿.xlsx"],
    }
    assert {n for n, r in rows.items() if r["处理结果"] == "已退回"} == rejected
    for name in (n for n in rows if n.endswith(".xls")):
        # the save time LibreOffice recorded in the .xls, like in its .xlsx files
        assert rows[name]["保存时间"] == "2011-10-28 00:00:00", name
    assert len([n for n in rows if n.endswith(".xls")]) == 3
    first = rows[cycle.received[f"{MISTAKEN}_申报表_初稿.xlsx"]]
    again = rows[cycle.received[f"{MISTAKEN}_申报表.xlsx"]]
    assert first["表单编号"] == again["表单编号"] == f"2011.{MISTAKEN}.{INNOVATION}.1"
    assert (again["处理结果"], again["版本"]) == ("已接收", 1)


# -- 2. review ---------------------------------------------------------------------------------


def test_review_numbers_the_approved_projects(cycle: Cycle) -> None:
    code, report = cycle.merges["review"]
    assert code == 0, report["rejections"]
    assert report["by_form"]["review"]["new"] == 1
    rows = {r["单位编号"]: r for r in cycle.registers["review"]}
    assert {c: r["立项编号"] for c, r in rows.items()} == {
        app.committee: app.number for app in APPLICATIONS
    }
    assert {c: r["项目状态"] for c, r in rows.items()} == {
        app.committee: "已立项" if app.number else "未立项" for app in APPLICATIONS
    }
    assert {c: r["评审得分"] for c, r in rows.items()} == {
        app.committee: sum(app.scores) for app in APPLICATIONS
    }


# -- 3. ledgers and the quarterly summary ----------------------------------------------------


def test_ledgers_merge_with_the_mistaken_one_rejected(cycle: Cycle) -> None:
    code, report = cycle.merges["ledgers"]
    assert code == 1
    assert report["by_form"]["ledger"] == {
        "new": 5,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
        "held": 0,
        "superseded": 0,
    }
    (rejection,) = report["rejections"]
    assert Path(rejection["path"]).name == cycle.received["NCX-2011-CX-003_台帐_初稿.xlsx"]
    assert "完成时间" in rejection["reason"]
    numbers = {app.number for app in APPLICATIONS if app.number}
    assert set(cycle.projects) == numbers
    rows = {r["立项编号"]: r["项目状态"] for r in cycle.registers["ledgers"] if r["立项编号"]}
    assert rows == dict.fromkeys(numbers, "实施中")


def test_run_writes_the_quarterly_summary(cycle: Cycle) -> None:
    assert cycle.run is not None
    assert cycle.run.exit_code == 0, cycle.run.output
    assert "全县按期完成率 69.2%" in cycle.run.output
    assert cycle.quarterly is not None
    assert cycle.quarterly.name == f"2011年度第1次调度会汇总（{AS_OF.isoformat()}）.xlsx"
    book = openpyxl.load_workbook(cycle.quarterly)
    assert book.sheetnames == [*QUARTERLY_SHEETS, "图表数据"]


@pytest.fixture(scope="module")
def quarterly(cycle: Cycle) -> openpyxl.Workbook:
    assert cycle.quarterly is not None
    return openpyxl.load_workbook(cycle.quarterly)


def _name(number: str) -> str:
    (app,) = [a for a in APPLICATIONS if a.number == number]
    return app.name


def _committee(number: str) -> str:
    (app,) = [a for a in APPLICATIONS if a.number == number]
    return sample_roster(6).committee(app.committee).name


def test_the_hand_figures_follow_from_the_typed_tasks() -> None:
    """A recount of the constants above, so that editing a task cannot leave them stale."""
    for ledger in LEDGERS.values():
        tasks = ledger.tasks
        due = [t for t in tasks if t["task_deadline"] <= AS_OF]
        done = [t for t in due if t["task_done_date"] is not None]
        on_time = [t for t in done if t["task_done_date"] <= t["task_deadline"]]
        progress = sum(Decimal(t["task_progress"] or 0) for t in tasks) / len(tasks)
        e = ledger.expected
        assert (e.tasks, e.due, e.on_time, e.late, e.overdue, e.pending) == (
            len(tasks),
            len(due),
            len(on_time),
            len(done) - len(on_time),
            len(due) - len(done),
            len(tasks) - len(due),
        )
        rate = Decimal(100) if not due else Decimal(len(on_time)) * 100 / len(due)
        assert e.compliance == str(half_up(rate))
        assert e.planned == str(half_up(Decimal(len(due)) * 100 / len(tasks)))
        assert e.reported == str(half_up(progress))
    overdue = [
        (n, t["task_no"], t["task_deadline"], (AS_OF - t["task_deadline"]).days)
        for n, ledger in LEDGERS.items()
        for t in ledger.tasks
        if t["task_deadline"] <= AS_OF and t["task_done_date"] is None
    ]
    assert sorted(overdue, key=lambda o: -o[3]) == OVERDUE


def test_progress_detail_matches_the_hand_computed_figures(quarterly: openpyxl.Workbook) -> None:
    rows = table(quarterly["项目进度明细"])
    found = {
        r["立项编号"]: Expected(
            r["任务数"],
            r["到期"],
            r["按期完成"],
            r["逾期完成"],
            r["逾期未完成"],
            r["未到期"],
            pct(r["按期完成率（%）"]),
            pct(r["计划进度（%）"]),
            pct(r["实际进度（%）"]),
            r["调度结论"],
            day(r["整改期限"]),
        )
        for r in rows
    }
    assert found == {number: ledger.expected for number, ledger in LEDGERS.items()}
    assert {r["立项编号"]: (r["项目名称"], r["领办单位"]) for r in rows} == {
        n: (_name(n), _committee(n)) for n in LEDGERS
    }


def test_rectify_and_commend_lists_hold_exactly_the_expected_projects(
    quarterly: openpyxl.Workbook,
) -> None:
    rectify = table(quarterly["限期整改名单"])
    assert {r["立项编号"]: day(r["整改期限"]) for r in rectify} == {
        n: RECTIFY_BY for n, ledger in LEDGERS.items() if ledger.expected.verdict == "限期整改"
    }
    assert {r["立项编号"]: r["最长逾期天数"] for r in rectify} == {
        "NCX-2011-SF-001": 40,
        "NCX-2011-CX-003": 21,
    }
    assert {r["立项编号"]: pct(r["按期完成率（%）"]) for r in rectify} == {
        "NCX-2011-SF-001": "66.7",
        "NCX-2011-CX-003": "33.3",
    }
    commend = table(quarterly["经验交流推广名单"])
    assert {r["立项编号"]: pct(r["按期完成率（%）"]) for r in commend} == {
        "NCX-2011-CX-001": "100.0",
        "NCX-2011-CX-002": "100.0",
    }
    assert table(quarterly["调整建议"]) == []  # the first meeting: nobody rectifies twice


def test_overdue_list_names_each_overdue_task_with_its_days(
    quarterly: openpyxl.Workbook,
) -> None:
    rows = table(quarterly["逾期任务清单"])
    assert [
        (r["立项编号"], r["任务序号"], day(r["完成时限"]), r["逾期天数"]) for r in rows
    ] == OVERDUE
    for r in rows:
        (task,) = [t for t in LEDGERS[r["立项编号"]].tasks if t["task_no"] == r["任务序号"]]
        assert r["任务目标"] == task["task_target"]
        assert r["状态"] == "逾期未完成"


def test_overview_key_figures(quarterly: openpyxl.Workbook) -> None:
    sheet = quarterly["概览"]
    assert sheet["A1"].value == TITLE
    assert AS_OF.isoformat() in sheet["A2"].value
    found = figures(sheet)
    due = sum(ledger.expected.due for ledger in LEDGERS.values())
    on_time = sum(ledger.expected.on_time for ledger in LEDGERS.values())
    assert (on_time, due) == (9, 13)
    assert str(half_up(Decimal(on_time) * 100 / Decimal(due))) == COUNTY_COMPLIANCE
    assert {k: found[k] for k in ("申报项目", "立项项目", "本次调度项目")} == {
        "申报项目": 6,
        "立项项目": 5,
        "本次调度项目": 5,
    }
    assert pct(found["全县按期完成率（%）"]) == COUNTY_COMPLIANCE
    assert (found["经验交流推广"], found["限期整改"]) == (2, 2)
    assert found["较上次变化（百分点）"] == "—"


# -- 4. closure, acceptance and the score ----------------------------------------------------


def test_acceptance_is_scored_as_computed_by_hand(cycle: Cycle) -> None:
    code, report = cycle.merges["acceptance"]
    assert code == 0, report["rejections"]
    assert (report["by_form"]["closure"]["new"], report["by_form"]["acceptance"]["new"]) == (1, 1)
    (project,) = cycle.score["projects"]
    assert project["project"] == ACCEPTED
    assert project["name"] == _name(ACCEPTED)
    satisfied, basic, unsatisfied = 60, 4, 3
    satisfaction = half_up(Decimal(satisfied + basic) * 100 / (satisfied + basic + unsatisfied))
    assert satisfaction == SATISFACTION
    raw = (Decimal(91) * 40 + satisfaction * 30 + Decimal(90) * 15 + Decimal(90) * 15) / 100
    assert raw == Decimal("92.05")
    assert half_up(raw) == SCORE
    assert Decimal(str(project["satisfaction_rate"])) == SATISFACTION
    assert Decimal(str(project["goal_rate"])) == Decimal(91)
    assert Decimal(str(project["score"])) == SCORE
    assert (project["grade"], project["rank_in_type"], project["commend"]) == ("优秀", 1, True)
    assert project["promotion"].startswith("中试候选")
    rows = {r["立项编号"]: r for r in cycle.registers["acceptance"] if r["立项编号"]}
    assert rows[ACCEPTED]["项目状态"] == "已验收"
    assert Decimal(str(rows[ACCEPTED]["评估得分"])) == SCORE


# -- 5. the summary printed ------------------------------------------------------------------


def test_summary_prints_to_pdf_with_a_page_per_sheet_at_least(cycle: Cycle, tmp_path: Path) -> None:
    assert cycle.quarterly is not None
    (pdf,) = to_pdf([cycle.quarterly], tmp_path)
    pages = pdf_pages(pdf)
    assert pages >= len(QUARTERLY_SHEETS)
    text = pdf_text(pdf)
    assert text.count("\f") == pages  # pdftotext ends every page with a form feed
    assert TITLE in text.split("\f")[0]  # the overview comes first
    # Each table's title, in sheet order, on its own page(s).
    firsts = []
    for sheet in QUARTERLY_SHEETS[1:]:
        title = "本次未报送管理台帐名单" if sheet == "未报送名单" else sheet
        title = "项目调整建议" if sheet == "调整建议" else title
        on = [i for i, page in enumerate(text.split("\f")) if title in page.replace(" ", "")]
        assert on, f"{title} not printed"
        firsts.append(on[0])
    assert firsts == sorted(firsts) and firsts[0] > 0
    for number in LEDGERS:
        assert number in text


# -- 6. the register in the clerk's office suite ----------------------------------------------


def _sheet_values(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet's rows, trailing blanks dropped, numbers as Decimal (LibreOffice and
    we may write 3 and 3.0 differently)."""
    book = openpyxl.load_workbook(path, read_only=True)
    out: dict[str, list[tuple[Any, ...]]] = {}
    for sheet in book.worksheets:
        rows = []
        for row in sheet.iter_rows(values_only=True):
            cells = [Decimal(str(v)) if isinstance(v, int | float) else v for v in row]
            while cells and cells[-1] is None:
                cells.pop()
            rows.append(tuple(cells))
        while rows and not rows[-1]:
            rows.pop()
        out[sheet.title] = rows
    book.close()
    return out


def test_the_register_survives_a_round_trip_through_libreoffice(
    cycle: Cycle, tmp_path: Path
) -> None:
    """The clerk opens register.xlsx in LibreOffice and saves it. Every sheet reads back as
    we wrote it (its data rows are serialised outside xlsxwriter and spliced in), and the
    next merge finds no edits and writes the very same register again."""
    ws = cycle.ws
    ours = ws.register_path.read_bytes()
    saved = tmp_path / "register.xlsx"
    (result,) = fill([job(ws.register_path, saved)], tmp_path)
    assert result["ok"] and not result["interactions"], result
    mine, theirs = _sheet_values(ws.register_path), _sheet_values(saved)
    assert list(theirs) == list(mine)
    for name in mine:
        assert theirs[name] == mine[name], name
    assert len(mine["任务台账"]) > 1  # the spliced sheet holds the cycle's tasks
    shutil.copyfile(saved, ws.register_path)
    merged = cli_run("merge", ws.root, "--json")
    report = json.loads(merged.stdout)
    assert report["department_edits_kept"] == 0 and report["committee_cell_edits"] == []
    assert ws.register_path.read_bytes() == ours
