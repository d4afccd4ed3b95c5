"""No input becomes active content (issue 6).

Committees type text such as ``=HYPERLINK(...)``, ``=cmd|...``, ``+1+1``, ``-2+3`` or
``@SUM(...)`` into every free-text cell of their returns, and the clerk puts such text into
the roster. A whole cycle runs on that input — validate with ``--report`` and ``--feedback``,
merge, schedule, score, the three summaries, the templates — and then every workbook we
wrote is re-read at the XML level: no formula, no hyperlink, no external link anywhere, and
with openpyxl the hostile strings come back verbatim, as plain strings.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result

from xlsxflow.cli import cli
from xlsxflow.config import Config
from xlsxflow.demo import content
from xlsxflow.excel.roster_book import write_roster
from xlsxflow.forms import catalog
from xlsxflow.projects import ProjectRef
from xlsxflow.register.query import approved_projects, load_state, review_rows
from xlsxflow.register.sheets import DEPT_COLUMNS, PROJECTS_SHEET
from xlsxflow.roster import Committee, Leader, Roster
from xlsxflow.sample_county import sample_roster
from xlsxflow.templates import plan_templates, render_job
from xlsxflow.workspace import Workspace, init_workspace

HYPERLINK = '=HYPERLINK("http://evil.example","点我")'
CMD = "=cmd|' /C calc'!A0"
PLUS = "+1+1"
MINUS = "-2+3"
AT = "@SUM(A1:A2)"
EQUALS = "=1+1"
# xlsxwriter copies text shaped like its own rich-string XML unescaped into the sheet
RICH = "<r></r></is><f>1+1</f><is><r></r>"
EVIL = (HYPERLINK, CMD, PLUS, MINUS, AT, EQUALS, RICH)
# What would give a formula away wherever it is written (formulas, defined names, links)
MARKERS = ("HYPERLINK", "evil.example", "cmd|", "calc", "1+1", "2+3", "SUM(A1")
MEETING = dt.date(2012, 3, 31)
INNOVATION, DEMONSTRATION = "application_innovation", "application_demonstration"
PHONE = "13907910000"


def limits() -> dict[str, int]:
    """Field and column ids with a length limit, over every form."""
    found: dict[str, int] = {}
    for spec in catalog().forms.values():
        for item in [*spec.fields, *(c for t in spec.tables for c in t.columns)]:
            if item.max_length:
                found[item.id] = min(item.max_length, found.get(item.id, item.max_length))
    return found


LIMITS = limits()


def evil(i: int, field: str = "") -> str:
    """The ``i``-th hostile string, or the next one that fits ``field``'s length limit."""
    limit = LIMITS.get(field, 10_000)
    for k in range(i, i + len(EVIL)):
        if len(EVIL[k % len(EVIL)]) <= limit:
            return EVIL[k % len(EVIL)]
    raise AssertionError(field)


# -- the hostile county --------------------------------------------------------------------


def hostile_roster() -> Roster:
    """One committee per hostile string; the first three named like formulas, contacts
    and phones too."""
    base = list(sample_roster(len(EVIL)).committees)

    def spoil(c: Committee, **changes: str) -> Committee:
        return Committee(**{**c.model_dump(), **changes})

    committees = [
        spoil(base[0], name=HYPERLINK, contact=CMD, phone=PLUS, leader=AT),
        spoil(base[1], name=EQUALS, contact=MINUS, phone=MINUS, leader=PLUS),
        spoil(base[2], contact=AT, phone=EQUALS),
        *base[3:],
    ]
    leaders = [
        Leader(name=EQUALS, title=HYPERLINK, email="leader1@dangjian-demo.invalid"),
        Leader(name=AT, title=CMD, email="leader2@dangjian-demo.invalid"),
        Leader(name=MINUS, title=PLUS, email="leader3@dangjian-demo.invalid"),
    ]
    return Roster(committees=tuple(committees), leaders=tuple(leaders))


def put(ws: Workspace, folder: str, name: str, data: bytes) -> Path:
    path = ws.inbox / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 30))


def committee_job(ws: Workspace, code: str, kind: str):  # type: ignore[no-untyped-def]
    (job,) = plan_templates(ws.config, ws.roster, ws.outbox, committees=[code], kinds=[kind])
    return job


def project_job(ws: Workspace, kind: str, ref: ProjectRef):  # type: ignore[no-untyped-def]
    (job,) = plan_templates(
        ws.config,
        ws.roster,
        ws.outbox,
        committees=[ref.committee_code],
        kinds=[kind],
        projects=[ref],
    )
    return job


def spoil(target: dict[str, Any], fields: Sequence[str], start: int) -> None:
    """Type hostile text into ``fields``, a different string in each."""
    for k, field in enumerate(fields, start=start):
        target[field] = evil(k, field)


def application(ws: Workspace, i: int, code: str, kind: str) -> bytes:
    """A valid application whose every free text is hostile (project name: ``EVIL[i]``)."""
    rng = random.Random(f"active-{code}-{kind}")
    values, rows = content.application_values(rng, ws.roster.committee(code), kind, ws.config)
    values["project_name"] = EVIL[i]
    texts = ["undertaking_org", "lead_name", "lead_title", "deputy_name", "deputy_title"]
    texts += ["background", "significance", "approach", "measures", "expected_goals"]
    texts += ["quality_standard", "prior_results", "signoff_name"]
    spoil(values, texts, i + 1)
    values["contact_phone"] = PHONE  # the roster's phone is hostile: not a phone number
    for k, row in enumerate(rows["plan"], start=i):
        spoil(row, ["plan_phase", "plan_content", "plan_deliverable", "plan_owner"], k)
    saved = at(values["signoff_date"])
    return render_job(committee_job(ws, code, kind), ws.config, values, rows, saved_at=saved)


def invalid_application(ws: Workspace) -> bytes:
    """Hostile text where dates, choices, money and phones belong: rejected, fed back."""
    rng = random.Random("active-invalid")
    values, rows = content.application_values(
        rng, ws.roster.committee("T03"), DEMONSTRATION, ws.config
    )
    values.update(
        project_name=AT,
        start_date=EQUALS,
        end_date=RICH,
        direction=HYPERLINK,
        budget_special=PLUS,
        budget_party_fee=MINUS,
        contact_phone=MINUS,
        signoff_date=CMD,
    )
    rows["plan"][0].update(plan_start=HYPERLINK, plan_end=AT)
    job = committee_job(ws, "T03", DEMONSTRATION)
    return render_job(job, ws.config, values, rows, saved_at=at(dt.date(2011, 12, 20)))


def review(ws: Workspace) -> bytes:
    state = load_state(ws)
    assert state is not None
    rows = [
        {
            **row,
            "rv_innovation": 20,
            "rv_feasibility": 20,
            "rv_leading": 20,
            "rv_outcome": 20,
            "rv_decision": "立项",
            "rv_remarks": evil(k, "rv_remarks"),
        }
        for k, row in enumerate(review_rows(state, ws.roster, ws.config.cycle.year))
    ]
    (job,) = plan_templates(ws.config, ws.roster, ws.outbox, kinds=["review"], applications=rows)
    day = ws.config.cycle.application_deadline + dt.timedelta(days=10)
    return render_job(job, ws.config, rows={"reviews": rows}, saved_at=at(day))


def ledger(ws: Workspace, i: int, ref: ProjectRef) -> bytes:
    """Tasks, team, funds and an adjustment, all in hostile words; the first task overdue."""
    state = load_state(ws)
    assert state is not None
    project = state.by_number()[ref.project_no]
    start, end = project.values["start_date"], project.values["end_date"]
    rng = random.Random(f"active-ledger-{ref.project_no}")
    tasks = content.ledger_rows(rng, start, end, 5)
    tasks[0]["_done"] = None  # never done: overdue at the meeting
    day = MEETING - dt.timedelta(days=3)
    rows = content.progress(tasks, day, rng)
    for k, row in enumerate(rows, start=i):
        texts = ["task_target", "task_owner", "task_requirement", "task_remarks"]
        spoil(row, texts + (["task_evidence"] if "task_evidence" in row else []), k)
    team = content.team_rows(rng, {})
    for k, row in enumerate(team, start=i):
        spoil(row, ["team_name", "team_title"], k)
    funds = content.fund_rows(rng, start, 20000)
    for k, row in enumerate(funds, start=i):
        spoil(row, ["fund_purpose"], k)
    adjustments = [{"adj_date": day}]
    spoil(adjustments[0], ["adj_what", "adj_why"], i)
    return render_job(
        project_job(ws, "ledger", ref),
        ws.config,
        {"report_date": day},
        {"team": team, "tasks": rows, "funds": funds, "adjustments": adjustments},
        saved_at=at(day),
    )


def invalid_ledger(ws: Workspace, ref: ProjectRef) -> bytes:
    """Hostile text in dates, percentages, money and phones of the tables: fed back."""
    rows = {
        "team": [{"team_role": "组长", "team_name": AT, "team_phone": CMD}],
        "tasks": [
            {
                "task_no": "1",
                "task_target": HYPERLINK,
                "task_owner": EQUALS,
                "task_deadline": EQUALS,
                "task_requirement": MINUS,
                "task_progress": PLUS,
                "task_done_date": HYPERLINK,
            }
        ],
        "funds": [{"fund_date": AT, "fund_source": HYPERLINK, "fund_amount": MINUS}],
    }
    day = MEETING - dt.timedelta(days=2)
    values = {"report_date": CMD}
    return render_job(project_job(ws, "ledger", ref), ws.config, values, rows, saved_at=at(day))


def clerk_notes(ws: Workspace) -> None:
    """The clerk types hostile text into the department's columns of register.xlsx
    (as text: a leading apostrophe in Excel), which later merges keep."""
    book = openpyxl.load_workbook(ws.register_path)
    sheet = book[PROJECTS_SHEET]
    header = [c.value for c in sheet[1]]
    for r in range(2, sheet.max_row + 1):
        for k, column in enumerate(DEPT_COLUMNS):
            cell = sheet.cell(r, header.index(column) + 1)
            cell.value = evil(r + k)
            cell.data_type = "s"
    book.save(ws.register_path)


def closure(ws: Workspace, i: int, ref: ProjectRef) -> bytes:
    day = dt.date(2012, 7, 10)
    values, rows = content.closure_values(random.Random(i), ref.project_name, day)
    texts = ["summary_overview", "summary_implementation", "summary_results"]
    spoil(values, [*texts, "summary_evaluation"], i)
    for k, row in enumerate(rows["goals"], start=i):
        spoil(row, ["goal_text"], k)
    return render_job(project_job(ws, "closure", ref), ws.config, values, rows, saved_at=at(day))


def acceptance(ws: Workspace, i: int, ref: ProjectRef) -> bytes:
    day = dt.date(2012, 9, 20)
    values = content.acceptance_values(random.Random(i), day)
    values["conclusion"] = "合格"
    spoil(values, ["acceptance_remarks", "acceptance_members"], i)
    return render_job(project_job(ws, "acceptance", ref), ws.config, values, saved_at=at(day))


def cli_run(*args: object, code: int | Sequence[int] = 0) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    codes = (code,) if isinstance(code, int) else tuple(code)
    assert result.exit_code in codes, (args, result.output, result.exception)
    return result


@dataclass
class Cycle:
    ws: Workspace
    projects: dict[str, ProjectRef]  # by project name (each is one hostile string)
    missing: ProjectRef  # approved, never sent a ledger
    accepted: list[ProjectRef]
    problem_report: Path
    feedback: list[Path]
    reports: dict[str, Path]


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> Cycle:
    root = tmp_path_factory.mktemp("active") / "ws"
    roster = hostile_roster()
    ws = init_workspace(root, Config(), roster)
    write_roster(ws.roster_path, roster)  # as the clerk would save it again
    ws = Workspace.open(root)
    codes = [c.code for c in roster.committees]
    for i, code in enumerate(codes):
        kind = INNOVATION if i % 2 == 0 else DEMONSTRATION
        put(ws, "01", f"{code}_{kind}.xlsx", application(ws, i, code, kind))
    put(ws, "01", f"{EQUALS}.xlsx", invalid_application(ws))
    cli_run("merge", root, code=1)  # the invalid one is rejected
    put(ws, "02", f"{AT}.xlsx", review(ws))
    cli_run("merge", root, code=(0, 1))
    state = load_state(ws)
    assert state is not None
    refs = {r.project_name: r for r in approved_projects(state)}
    assert set(refs) == set(EVIL), "every hostile application must be approved"
    missing = refs[HYPERLINK]
    for i, name in enumerate(EVIL):
        if refs[name] is not missing:
            put(ws, "03", f"{PLUS}_{i}.xlsx", ledger(ws, i, refs[name]))
    put(ws, "03", f"{AT}_ledger.xlsx", invalid_ledger(ws, missing))
    cli_run("merge", root, code=1)  # the invalid ledger is rejected
    cli_run("schedule", root, "--as-of", MEETING.isoformat())
    clerk_notes(ws)
    accepted = [refs[CMD], refs[MINUS]]
    for i, ref in enumerate(accepted):
        put(ws, "04", f"{MINUS}_{i}.xlsx", closure(ws, i, ref))
    cli_run("merge", root, code=(0, 1))
    for i, ref in enumerate(accepted):
        put(ws, "05", f"{EQUALS}_{i}.xlsx", acceptance(ws, i, ref))
    cli_run("merge", root, code=(0, 1))
    cli_run("score", root, "--json")
    reports = {}
    for kind, extra in (
        ("quarterly", ["--as-of", MEETING.isoformat()]),
        ("annual", []),
        ("approval", []),
    ):
        out = cli_run("report", root, kind, *extra).output
        reports[kind] = Path(out.split("已生成：", 1)[1].strip())
    cli_run("templates", root)
    forms = ("review", "ledger", "closure", "acceptance")
    cli_run("templates", root, *(x for f in forms for x in ("--form", f)))
    problem_report = ws.reports / "问题清单.xlsx"
    result = cli_run(
        "validate",
        ws.inbox,
        "--workspace",
        root,
        "--report",
        problem_report,
        "--feedback",
        ws.feedback,
        code=1,
    )
    feedback = [Path(p) for p in re.findall(r"已写入：(.+)", result.output)]
    feedback = [p for p in feedback if p != problem_report]
    return Cycle(ws, refs, missing, accepted, problem_report, feedback, reports)


# -- reading back what we wrote -------------------------------------------------------------

SHEET_PART = re.compile(r"xl/worksheets/sheet\d+\.xml")
FORMULA_ELEMENT = re.compile(rb"<(?:\w+:)?f[\s>/]")
# Elements whose content is a formula, wherever they occur: cells, data validation,
# conditional formats, defined names, chart references.
FORMULA_TEXT = re.compile(
    rb"<((?:\w+:)?(?:f|formula|formula1|formula2|definedName))(?:\s[^>]*)?>(.*?)</\1>", re.S
)
FORBIDDEN_PARTS = ("externallink", "vbaproject", "activex", "embeddings", "oleobject")


def outputs(c: Cycle) -> dict[str, list[Path]]:
    """Every workbook we wrote, by kind (the inbox holds what committees sent)."""
    root = c.ws.root
    return {
        "register": [c.ws.register_path],
        "backups": sorted((root / "data" / "backups").glob("*.xlsx")),
        "roster": [c.ws.roster_path],
        "problem report": [c.problem_report],
        "feedback": sorted(c.ws.feedback.rglob("*.xlsx")),
        "reports": sorted(c.reports.values()),
        "templates": sorted(c.ws.outbox.rglob("*.xlsx")),
    }


def every_output(c: Cycle) -> list[Path]:
    return [p for paths in outputs(c).values() for p in paths]


def active_parts(path: Path) -> list[str]:
    """What in the package could run, link or fetch: formulas, links, external parts."""
    found = []
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            data = z.read(name)
            lower = name.lower()
            if any(word in lower for word in FORBIDDEN_PARTS):
                found.append(f"{name}: part")
            if lower.endswith(".rels") and b'TargetMode="External"' in data:
                found.append(f"{name}: external relationship")
            if lower == "[content_types].xml" and re.search(rb"externalLink|vbaProject", data):
                found.append(f"{name}: external or macro content type")
            if SHEET_PART.fullmatch(name):
                if FORMULA_ELEMENT.search(data):
                    found.append(f"{name}: <f> element")
                if b"<hyperlink" in data:
                    found.append(f"{name}: hyperlink")
            if lower.endswith(".xml"):
                for element, text in FORMULA_TEXT.findall(data):
                    plain = text.decode("utf-8", "replace")
                    if any(m in plain for m in MARKERS):
                        found.append(f"{name}: input text in <{element.decode()}>: {plain}")
    return found


@dataclass
class Shown:
    """The cells of a workbook that show hostile text, as openpyxl reads them."""

    cells: list[tuple[str, str, Any, str]]  # sheet, cell, value, data_type
    formulas: list[str]  # cells openpyxl reads as formulas

    def verbatim(self, sheet: str | None = None) -> set[str]:
        return {v for s, _, v, _ in self.cells if v in EVIL and sheet in (None, s)}

    def not_text(self) -> list[tuple[str, str, Any, str]]:
        return [cell for cell in self.cells if cell[3] != "s"]


def shown(path: Path) -> Shown:
    book = openpyxl.load_workbook(path, read_only=True)
    cells, formulas = [], []
    try:
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        formulas.append(f"{sheet.title}!{cell.coordinate}")
                    value = cell.value
                    if isinstance(value, str) and any(e in value for e in EVIL):
                        cells.append((sheet.title, cell.coordinate, value, cell.data_type))
    finally:
        book.close()
    return Shown(cells, formulas)


def column(path: Path, sheet: str, header: str, header_row: int = 1) -> list[Any]:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = list(book[sheet].iter_rows(min_row=header_row, values_only=True))
    finally:
        book.close()
    index = list(rows[0]).index(header)
    return [r[index] for r in rows[1:] if any(v is not None for v in r)]


# -- the tests ------------------------------------------------------------------------------


def test_the_checks_catch_active_content(tmp_path: Path) -> None:
    """The same strings written the careless way (xlsxwriter's defaults) are caught."""
    import xlsxwriter

    path = tmp_path / "careless.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    # (RICH is left out: copied raw into the shared strings it makes the part unreadable)
    for row, text in enumerate([*EVIL[:-1], "http://evil.example/x"]):
        sheet.write(row, 0, text)
    book.close()
    found = active_parts(path)
    assert any("<f> element" in f for f in found)
    assert any("hyperlink" in f for f in found)
    assert any("external relationship" in f for f in found)
    assert any("HYPERLINK" in f for f in found)
    assert len(shown(path).formulas) == 3  # the three strings starting with "="


def test_the_cycle_wrote_every_kind_of_output(cycle: Cycle) -> None:
    found = outputs(cycle)
    assert {k: bool(v) for k, v in found.items()} == dict.fromkeys(found, True)
    assert len(found["backups"]) >= 3  # merges and the meeting rewrote the register
    assert len(found["feedback"]) == 2  # the invalid application and the invalid ledger
    assert set(cycle.feedback) == set(found["feedback"])
    assert len(found["templates"]) >= 6 * 3 + 1


def test_no_formula_link_or_external_part_in_any_output(cycle: Cycle) -> None:
    found = {str(p.relative_to(cycle.ws.root)): active_parts(p) for p in every_output(cycle)}
    assert {k: v for k, v in found.items() if v} == {}


def test_no_cell_reads_back_as_a_formula(cycle: Cycle) -> None:
    found = {str(p.relative_to(cycle.ws.root)): shown(p).formulas for p in every_output(cycle)}
    assert {k: v for k, v in found.items() if v} == {}


def test_hostile_text_is_shown_as_text_everywhere(cycle: Cycle) -> None:
    found = {str(p.relative_to(cycle.ws.root)): shown(p).not_text() for p in every_output(cycle)}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_filled_returns_themselves_hold_text_only(cycle: Cycle) -> None:
    """The committees' returns in the test were written by our template writer too."""
    inbox = sorted(cycle.ws.inbox.rglob("*.xlsx"))
    assert len(inbox) >= 15
    found = {p.name: active_parts(p) + shown(p).formulas for p in inbox}
    assert {k: v for k, v in found.items() if v} == {}
    assert all(not shown(p).not_text() for p in inbox)


def test_register_shows_every_string_verbatim(cycle: Cycle) -> None:
    path = cycle.ws.register_path
    assert shown(path).verbatim() == set(EVIL)
    assert set(column(path, PROJECTS_SHEET, "项目名称")) == set(EVIL)
    assert {HYPERLINK, EQUALS} <= set(column(path, PROJECTS_SHEET, "申报单位"))
    for header in DEPT_COLUMNS:  # the clerk's own notes survived the merges, as text
        assert set(column(path, PROJECTS_SHEET, header)) <= set(EVIL)
        assert len(set(column(path, PROJECTS_SHEET, header))) > 1
    targets = set(column(path, "任务台账", "任务目标（定目标）"))
    assert targets <= set(EVIL) and len(targets) >= 5
    # the inbox file names, hostile too, are recorded as text
    names = set(column(path, "提交记录", "原文件名"))
    assert {f"{EQUALS}.xlsx", f"{AT}.xlsx"} <= names


def test_backups_are_text_only_too(cycle: Cycle) -> None:
    backups = outputs(cycle)["backups"]
    assert any(shown(p).verbatim() for p in backups)


def test_roster_keeps_the_clerks_text(cycle: Cycle) -> None:
    path = cycle.ws.roster_path
    verbatim = shown(path).verbatim()
    assert verbatim == set(EVIL) - {RICH}  # the roster holds the other six
    roster = Workspace.open(cycle.ws.root).roster
    assert roster.committee("T01").name == HYPERLINK
    assert roster.committee("T01").contact == CMD
    assert roster.committee("T01").phone == PLUS
    assert [le.name for le in roster.leaders] == [EQUALS, AT, MINUS]


def test_templates_prefill_roster_and_project_text_as_text(cycle: Cycle) -> None:
    templates = outputs(cycle)["templates"]
    t01 = [p for p in templates if p.parent.name.startswith("T01_")]
    applications = [p for p in t01 if "申报表" in p.name]
    assert len(applications) == 3
    for path in applications:  # committee name, contact and phone from the roster
        assert {HYPERLINK, CMD, PLUS} <= shown(path).verbatim(), path.name
    ledgers = [p for p in templates if "项目管理台帐" in p.name]
    assert {v for p in ledgers for v in shown(p).verbatim()} >= set(EVIL)
    (review_sheet,) = [p for p in templates if "评审表" in p.name]
    assert shown(review_sheet).verbatim() == set(EVIL)


def test_feedback_copies_show_the_bad_values_verbatim(cycle: Cycle) -> None:
    found = {p.name: shown(p).verbatim() for p in cycle.feedback}
    (app,) = [v for k, v in found.items() if k.startswith(EQUALS)]
    assert app == set(EVIL)
    (led,) = [v for k, v in found.items() if "ledger" in k]
    assert {HYPERLINK, EQUALS, MINUS, PLUS, AT, CMD} == led
    for path in cycle.feedback:
        # the problem list quotes the values, as text
        quoted = [v for s, _, v, _ in shown(path).cells if "“" in str(v)]
        assert quoted, path.name


def test_problem_report_quotes_the_values_as_text(cycle: Cycle) -> None:
    s = shown(cycle.problem_report)
    messages = [v for _, _, v, _ in s.cells if "不是" in v or "不在" in v]
    for text in EVIL:
        assert any(f"“{text}”" in m for m in messages), text
    assert HYPERLINK in s.verbatim()  # the committee's name
    files = column(cycle.problem_report, "问题清单", "文件")
    assert any(f.endswith(f"{EQUALS}.xlsx") for f in files)


def test_quarterly_summary_shows_input_as_text(cycle: Cycle) -> None:
    path = cycle.reports["quarterly"]
    s = shown(path)
    assert s.verbatim("项目进度明细") == set(EVIL)
    assert len(s.verbatim("逾期任务清单")) >= 4  # task targets of the overdue tasks
    missing = column(path, "未报送名单", "立项编号", header_row=3)
    assert missing == [cycle.missing.project_no]
    row = {
        h: column(path, "未报送名单", h, header_row=3)[0]
        for h in ("项目名称", "领办单位", "联系人", "联系电话")
    }
    assert row == {"项目名称": HYPERLINK, "领办单位": HYPERLINK, "联系人": CMD, "联系电话": PLUS}
    adjustments = column(path, "调整建议", "内容", header_row=3)
    assert any(str(a).startswith(tuple(EVIL)) for a in adjustments)
    # the chart of committees is fed from text cells on the overview
    # (committee names behind a chart: those with a ledger; the other is in 未报送名单)
    assert EQUALS in s.verbatim("图表数据")


def test_annual_and_approval_show_input_as_text(cycle: Cycle) -> None:
    annual = cycle.reports["annual"]
    names = set(column(annual, "评估得分", "项目名称", header_row=3))
    assert names == {r.project_name for r in cycle.accepted}
    approval = cycle.reports["approval"]
    assert set(column(approval, "立项批复名单", "项目名称", header_row=3)) == set(EVIL)
    assert {HYPERLINK, EQUALS} <= set(column(approval, "立项批复名单", "领办单位", header_row=3))
    assert shown(approval).verbatim() == set(EVIL)
