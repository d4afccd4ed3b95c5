"""Builders for the register tests: a realistic mini cycle of returns.

The returns are made the way they are made in a county: committees fill the issued
templates (``render_job`` with the save time recorded inside), the department merges the
applications, prints the review sheet from the register (``review_rows``), the review
group fills it in, and project-level templates (ledger, closure, acceptance) are issued
for the projects the register approved (``approved_projects``). A ``Department`` is that
scratch workspace; what it produces are ``Return`` objects (name + bytes) that the tests
copy into the inboxes of other workspaces, in whatever order they need.

The standard set (``mini_cycle``), default config (year 2011, ``NCX-{year}-{type}-{seq:03d}``):

=====================  =========  ==========================================================
file                   saved      what the register makes of it
=====================  =========  ==========================================================
T01_innovation         2011-12-01 application, version 1 (budget 40000)
T02_demonstration      2011-12-02 application → NCX-2011-SF-001
T03_innovation         2011-12-03 application, rejected by the review
T02_institutional      2011-12-04 cites NCX-2011-SF-001 (T02's own) → NCX-2011-TG-001
T05_institutional      2011-12-05 cites NCX-2011-SF-001 (T02's, not its own) → rejected
T06_innovation_blank   2011-12-06 project name left blank → invalid, rejected
T01_innovation_v2      2011-12-10 resubmission, budget 45000 → version 2, wins
review                 2012-01-05 T01/T02/T02 inst./T05 立项, T03 不立项 → NCX-2011-CX-001 …
T01_ledger             2012-03-31 progress > 0 → 实施中
T02_ledger             2012-03-30 no progress → 已启动
T03_ledger             2012-03-29 a number the review never gave → rejected
T02_acceptance         2012-09-21 before any closure of T02 → held (暂缓)
T01_closure            2012-07-10 → 已结题
T01_acceptance         2012-09-20 合格 → 已验收
=====================  =========  ==========================================================
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import shutil
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl

from xlsxflow.config import Config
from xlsxflow.demo.content import application_values
from xlsxflow.projects import ProjectRef
from xlsxflow.register.archive import read_archived
from xlsxflow.register.merge import merge
from xlsxflow.register.merge_report import MergeReport
from xlsxflow.register.query import approved_projects, load_state, review_rows
from xlsxflow.register.state import RegisterState
from xlsxflow.register.store import Store, Submission
from xlsxflow.sample_county import sample_roster
from xlsxflow.templates import instance_id, plan_templates, render_job
from xlsxflow.workspace import Workspace, init_workspace

YEAR = 2011
SEED = 2011
INNOVATION = "application_innovation"
DEMONSTRATION = "application_demonstration"
INSTITUTIONAL = "application_institutional"

# The sheets of register.xlsx
PROJECTS = "项目总台账"
TASKS = "任务台账"
FUNDS = "经费台账"
SUBMISSIONS = "提交记录"
MISSING = "未报送名单"
CHANGES = "变更记录"


def instance(code: str, kind: str) -> str:
    """The instance id of the form ``kind`` issued to committee ``code`` this cycle."""
    return instance_id(YEAR, kind, code)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Return:
    """One returned workbook: the file a committee (or the review group) sends back."""

    name: str
    data: bytes
    kind: str
    committee: str
    saved_at: dt.datetime

    @property
    def sha(self) -> str:
        return sha256(self.data)

    @property
    def filename(self) -> str:
        return f"{self.name}.xlsx"

    def put(self, folder: Path, name: str | None = None) -> Path:
        """Save into ``folder`` (an inbox) under ``name`` (default ``<name>.xlsx``)."""
        path = folder / (name or self.filename)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.data)
        return path


def new_workspace(root: Path, config: Config | None = None) -> Workspace:
    """A fresh workspace with the sample county's 30 committees."""
    return init_workspace(root, config or Config(), sample_roster())


# -- what committees type -----------------------------------------------------------------


def application_input(
    ws: Workspace, code: str, kind: str = INNOVATION, seed: int = SEED
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """What ``application`` types for ``code`` (before overrides)."""
    rng = random.Random(f"{seed}:{code}:{kind}")
    return application_values(rng, ws.roster.committee(code), kind, ws.config)


def application(
    ws: Workspace,
    code: str,
    kind: str = INNOVATION,
    *,
    saved_at: dt.datetime,
    overrides: Mapping[str, Any] | None = None,
    name: str | None = None,
    seed: int = SEED,
) -> Return:
    """A complete, valid application of ``kind`` by ``code`` (the same for the same seed),
    with ``overrides`` typed over it (``None`` leaves a cell blank)."""
    values, rows = application_input(ws, code, kind, seed)
    values.update(overrides or {})
    (job,) = plan_templates(ws.config, ws.roster, ws.outbox, committees=[code], kinds=[kind])
    data = render_job(job, ws.config, values, rows, saved_at=saved_at)
    return Return(name or f"{code}_{kind.removeprefix('application_')}", data, kind, code, saved_at)


def citing(source: str) -> dict[str, Any]:
    """Overrides of an institutional application that generalises project ``source``."""
    return {"source_project_no": source, "proposed_by_department": None}


def project_return(
    ws: Workspace,
    kind: str,
    project: ProjectRef,
    values: Mapping[str, Any],
    rows: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    saved_at: dt.datetime,
    name: str | None = None,
) -> Return:
    """The ``kind`` template issued for ``project`` (prefilled with it), filled in."""
    (job,) = plan_templates(
        ws.config,
        ws.roster,
        ws.outbox,
        committees=[project.committee_code],
        kinds=[kind],
        projects=[project],
    )
    data = render_job(job, ws.config, dict(values), dict(rows), saved_at=saved_at)
    return Return(
        name or f"{project.committee_code}_{kind}", data, kind, project.committee_code, saved_at
    )


TEAM = [
    {
        "team_role": "组长",
        "team_name": "张卫东",
        "team_title": "党委书记",
        "team_phone": "13079100000",
    },
    {"team_role": "成员", "team_name": "李秀英", "team_title": "组织委员"},
]


def tasks(progress: bool) -> list[dict[str, Any]]:
    """Two tasks (四定); with ``progress`` the first is done and the second half done."""
    return [
        {
            "task_no": "1",
            "task_target": "完成全镇调研摸底",
            "task_owner": "张卫东",
            "task_deadline": dt.date(2012, 2, 28),
            "task_requirement": "覆盖全部村",
            "task_progress": 100 if progress else 0,
            "task_done_date": dt.date(2012, 2, 20) if progress else None,
        },
        {
            "task_no": "2",
            "task_target": "建立承诺台帐",
            "task_owner": "李秀英",
            "task_deadline": dt.date(2012, 5, 31),
            "task_requirement": "一村一册",
            "task_progress": 50 if progress else 0,
        },
    ]


FUNDS_ROWS = [
    {
        "fund_date": dt.date(2012, 1, 20),
        "fund_source": "党委专项资金",
        "fund_amount": 5000,
        "fund_purpose": "印制承诺公开栏",
    },
    {
        "fund_date": dt.date(2012, 3, 1),
        "fund_source": "县管党费扶持",
        "fund_amount": 1234.5,
        "fund_purpose": "党员培训资料",
    },
]


def ledger(
    ws: Workspace,
    project: ProjectRef,
    *,
    saved_at: dt.datetime,
    progress: bool = True,
    name: str | None = None,
) -> Return:
    """A management ledger (team, tasks, funds); ``progress`` False: nothing done yet."""
    rows = {"team": TEAM, "tasks": tasks(progress), "funds": FUNDS_ROWS if progress else []}
    values = {"report_date": saved_at.date()}
    return project_return(ws, "ledger", project, values, rows, saved_at=saved_at, name=name)


CLOSURE = {
    "summary_overview": "项目于2011年12月启动，覆盖全镇18个村。",
    "summary_implementation": "一是调研摸底；\n二是建立承诺台帐；\n三是开展评议。",
    "summary_results": "形成工作法，编印制度汇编1册。",
    "summary_evaluation": "建议在全县乡镇推广。",
    "acceptance_request_date": dt.date(2012, 7, 10),
}
GOALS = [
    {"goal_text": "党员参与率达到90%以上", "goal_status": "已实现"},
    {"goal_text": "群众满意率达到90%以上", "goal_status": "部分实现"},
]


def closure(
    ws: Workspace, project: ProjectRef, *, saved_at: dt.datetime, name: str | None = None
) -> Return:
    return project_return(
        ws, "closure", project, CLOSURE, {"goals": GOALS}, saved_at=saved_at, name=name
    )


def acceptance(
    ws: Workspace,
    project: ProjectRef,
    *,
    saved_at: dt.datetime,
    conclusion: str = "合格",
    name: str | None = None,
) -> Return:
    values = {
        "method_documents": "是",
        "method_visit": "是",
        "method_forum": "否",
        "method_survey": "是",
        "survey_satisfied": 45,
        "survey_basic": 12,
        "survey_unsatisfied": 3,
        "goal_rate": 92,
        "benefit_score": 88.5,
        "extensibility_score": 90,
        "conclusion": conclusion,
        "acceptance_remarks": "项目完成预期目标，资料齐全，群众认可。",
        "acceptance_members": "刘志强、陈丽娟、杨国平",
        "acceptance_date": saved_at.date(),
    }
    return project_return(ws, "acceptance", project, values, {}, saved_at=saved_at, name=name)


SCORES = {"rv_innovation": 22, "rv_feasibility": 20, "rv_leading": 18, "rv_outcome": 21}


def review(
    ws: Workspace,
    rows: Sequence[Mapping[str, str]],
    decisions: Mapping[str, str],
    *,
    saved_at: dt.datetime,
    name: str = "review",
) -> Return:
    """The review sheet printed from the register (``rows``), with a decision typed for
    every application in ``decisions`` (instance → 立项/不立项); other rows are dropped."""
    chosen = [
        {**row, **SCORES, "rv_decision": decisions[row["rv_instance"]]}
        for row in rows
        if row["rv_instance"] in decisions
    ]
    assert len(chosen) == len(decisions), "a decision for an application not in the register"
    (job,) = plan_templates(ws.config, ws.roster, ws.outbox, kinds=["review"], applications=chosen)
    data = render_job(job, ws.config, {}, {"reviews": chosen}, saved_at=saved_at)
    return Return(name, data, "review", "", saved_at)


# -- the department's own workspace -------------------------------------------------------


class Department:
    """A scratch workspace where the department merges what it has, to print the review
    sheet and to issue project-level templates for the approved projects."""

    def __init__(self, root: Path, config: Config | None = None) -> None:
        self.ws = new_workspace(root, config)

    def receive(self, *returns: Return) -> MergeReport:
        for r in returns:
            r.put(self.ws.inbox)
        return merge(self.ws)

    def state(self) -> RegisterState:
        state = load_state(self.ws)
        assert state is not None
        return state

    def review_rows(self) -> list[dict[str, str]]:
        return review_rows(self.state(), self.ws.roster, YEAR)

    def project(self, code: str, kind: str) -> ProjectRef:
        """The approved project of ``code``'s application ``kind``, as issued."""
        (number,) = [p.number for p in self.state().projects if p.key == instance(code, kind)]
        (ref,) = [p for p in approved_projects(self.state()) if p.project_no == number]
        return ref


def unapproved(code: str, number: str, name: str = "未立项的项目") -> ProjectRef:
    """A project reference the register never issued (a ledger for a rejected project)."""
    return ProjectRef(
        project_no=number,
        project_name=name,
        committee_code=code,
        project_type="innovation",
        direction="A1",
    )


@dataclass
class MiniCycle:
    dept: Department  # the workspace it was made in: make more returns with ``dept.ws``
    returns: list[Return]
    projects: dict[str, ProjectRef] = field(default_factory=dict)  # by return name

    def __getitem__(self, name: str) -> Return:
        (found,) = [r for r in self.returns if r.name == name]
        return found

    def names(self) -> list[str]:
        return [r.name for r in self.returns]


BUDGET_V1 = 40000
BUDGET_V2 = 45000


def mini_cycle(root: Path, config: Config | None = None) -> MiniCycle:
    """The standard set of returns (see the module docstring), built in a scratch
    department workspace under ``root``."""
    dept = Department(root / "department", config)
    ws = dept.ws

    def day(y: int, m: int, d: int, h: int = 9) -> dt.datetime:
        return dt.datetime(y, m, d, h, 30)

    apps = [
        application(ws, "T01", INNOVATION, saved_at=day(2011, 12, 1),
                    overrides={"budget_special": BUDGET_V1}),
        application(ws, "T02", DEMONSTRATION, saved_at=day(2011, 12, 2)),
        application(ws, "T03", INNOVATION, saved_at=day(2011, 12, 3)),
        application(ws, "T02", INSTITUTIONAL, saved_at=day(2011, 12, 4),
                    overrides=citing("NCX-2011-SF-001")),
        application(ws, "T05", INSTITUTIONAL, saved_at=day(2011, 12, 5),
                    overrides=citing("NCX-2011-SF-001")),
        application(ws, "T06", INNOVATION, saved_at=day(2011, 12, 6),
                    overrides={"project_name": None}, name="T06_innovation_blank"),
        application(ws, "T01", INNOVATION, saved_at=day(2011, 12, 10),
                    overrides={"budget_special": BUDGET_V2}, name="T01_innovation_v2"),
    ]  # fmt: skip
    dept.receive(*apps)
    decisions = {
        instance("T01", INNOVATION): "立项",
        instance("T02", DEMONSTRATION): "立项",
        instance("T02", INSTITUTIONAL): "立项",
        instance("T03", INNOVATION): "不立项",
        instance("T05", INSTITUTIONAL): "立项",
    }
    sheet = review(ws, dept.review_rows(), decisions, saved_at=day(2012, 1, 5))
    dept.receive(sheet)
    t01 = dept.project("T01", INNOVATION)
    t02 = dept.project("T02", DEMONSTRATION)
    t03 = unapproved("T03", "NCX-2011-CX-002")
    later = [
        ledger(ws, t01, saved_at=day(2012, 3, 31)),
        ledger(ws, t02, saved_at=day(2012, 3, 30), progress=False),
        ledger(ws, t03, saved_at=day(2012, 3, 29)),
        acceptance(ws, t02, saved_at=day(2012, 9, 21)),
        closure(ws, t01, saved_at=day(2012, 7, 10)),
        acceptance(ws, t01, saved_at=day(2012, 9, 20)),
    ]
    returns = [*apps, sheet, *later]
    projects = {"T01_ledger": t01, "T02_ledger": t02, "T03_ledger": t03}
    projects |= {"T02_acceptance": t02, "T01_closure": t01, "T01_acceptance": t01}
    return MiniCycle(dept, returns, projects)


# -- reading what came out ----------------------------------------------------------------


def rows_of(path: Path, sheet: str) -> list[dict[str, Any]]:
    """The rows of ``sheet`` in ``path`` as dicts keyed by the header row."""
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        values = list(book[sheet].iter_rows(values_only=True))
    finally:
        book.close()
    header = [str(h) for h in values[0]]
    return [dict(zip(header, row, strict=False)) for row in values[1:] if any(row)]


def register_rows(ws: Workspace, sheet: str) -> list[dict[str, Any]]:
    return rows_of(ws.register_path, sheet)


def project_row(ws: Workspace, key: str) -> dict[str, Any]:
    (row,) = [r for r in register_rows(ws, PROJECTS) if r["申报表编号"] == key]
    return row


def submission_rows(ws: Workspace) -> dict[str, dict[str, Any]]:
    """提交记录 by SHA-256."""
    return {r["SHA-256"]: r for r in register_rows(ws, SUBMISSIONS)}


def stored(ws: Workspace) -> list[Submission]:
    with Store(ws.data / "register.sqlite") as store:
        return store.submissions()


def archive_contents(ws: Workspace) -> dict[str, bytes]:
    """Every file in the workspace's archive packs, by member name (``<sha>.xlsx``)."""
    found: dict[str, bytes] = {}
    for pack in sorted((ws.data / "archive").rglob("*.zip")):
        with zipfile.ZipFile(pack) as zf:
            for member in zf.namelist():
                assert member not in found, f"{member} archived twice"
                found[member] = zf.read(member)
    return found


def archived_bytes(ws: Workspace, sub: Submission) -> bytes:
    return read_archived(ws.data / "archive", sub.archived)


def number(value: Any) -> Decimal:
    """A number cell as a Decimal (openpyxl gives int or float)."""
    return Decimal(str(value))


def copy_workspace(src: Workspace, dst: Path) -> Workspace:
    shutil.copytree(src.root, dst)
    return Workspace.open(dst)


def put_all(returns: Iterable[Return], folder: Path) -> list[Path]:
    return [r.put(folder) for r in returns]
