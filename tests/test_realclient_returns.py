"""Returns filled in a real office suite, read back by ``read_return``.

One soffice run (see ``tests/realclient``) plays the committee: it opens generated
templates, types values into their defined names and saves them as .xlsx (one also as
.xls and .ods). Clean returns must validate without a single problem and give back
exactly what was typed; returns with planted mistakes must report each mistake, with its
code, at the cell where it was made — in the .xls copy too.

Not covered here: a renamed sheet or a removed defined name (``form.sheet_missing``,
``form.name_missing``), which the LibreOffice client cannot do (it only writes values).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from builders import with_peak
from realclient import as_date, fill, job

from xlsxflow.config import Config
from xlsxflow.demo.content import application_values
from xlsxflow.forms import catalog
from xlsxflow.forms.layout import cell_ref, layout
from xlsxflow.forms.spec import FormSpec
from xlsxflow.intake import read_return
from xlsxflow.problems import FileResult
from xlsxflow.projects import ProjectRef
from xlsxflow.sample_county import sample_roster
from xlsxflow.templates import (
    APPLICATION_KINDS,
    TemplateJob,
    metadata,
    plan_templates,
    prefilled_values,
    write_templates,
)
from xlsxflow.validation import ValidationContext
from xlsxflow.workspace import init_workspace

pytestmark = pytest.mark.libreoffice

COMMITTEE = "T01"
PROJECT = ProjectRef(
    project_no="NCX-2011-CX-001",
    project_name="莲溪镇“三民两承诺”示范点建设",
    committee_code=COMMITTEE,
    project_type="innovation",
    direction="A1",
)
KINDS = (*APPLICATION_KINDS, "ledger", "closure", "acceptance")
SEEDS = {kind: 2011 + i for i, kind in enumerate(APPLICATION_KINDS)}

Values = dict[str, Any]  # field id → what the committee typed (a date, number or text)
Rows = dict[str, list[dict[str, Any]]]  # table id → rows, column id → what was typed

# -- what the committee types ---------------------------------------------------------------


def _application(kind: str, config: Config) -> tuple[Values, Rows]:
    committee = sample_roster().committee(COMMITTEE)
    return application_values(random.Random(SEEDS[kind]), committee, kind, config)


def _task(
    no: int,
    target: str,
    owner: str,
    deadline: tuple[int, int],
    requirement: str,
    progress: int,
    done: tuple[int, int] | None = None,
    evidence: str | None = None,
) -> dict[str, Any]:
    """One row of the task ledger (四定 + progress); dates are (month, day) of 2012."""
    return {
        "task_no": str(no),
        "task_target": target,
        "task_owner": owner,
        "task_deadline": dt.date(2012, *deadline),
        "task_requirement": requirement,
        "task_progress": progress,
        "task_done_date": dt.date(2012, *done) if done else None,
        "task_evidence": evidence,
    }


LEDGER: Values = {"report_date": dt.date(2012, 3, 28)}
LEDGER_ROWS: Rows = {
    "team": [
        {"team_role": "组长", "team_name": "张卫东", "team_title": "莲溪镇党委书记"},
        {
            "team_role": "副组长",
            "team_name": "王建华",
            "team_title": "莲溪镇党委组织委员",
            "team_phone": "13907910002",
        },
        {
            "team_role": "成员",
            "team_name": "李秀英",
            "team_title": "莲溪镇党建办主任",
            "team_phone": "0791-85712345",
        },
    ],
    "tasks": [
        _task(1, "完成全镇调研摸底", "王建华", (1, 15), "覆盖全部村", 100, (1, 12), "调研报告"),
        _task(2, "印发实施方案", "张卫东", (2, 10), "党委会研究通过", 100, (2, 8), "方案文件"),
        _task(3, "建立承诺台帐", "李秀英", (4, 30), "一村一册", 60),
        _task(4, "开展承诺践诺评议", "王建华", (5, 31), "群众参与", 30),
        _task(5, "总结提炼经验", "张卫东", (6, 30), "形成经验材料", 0),
    ],
    "funds": [
        {
            "fund_date": dt.date(2012, 1, 20),
            "fund_source": "党委专项资金",
            "fund_amount": 5000.0,
            "fund_purpose": "印制承诺公开栏",
        },
        {
            "fund_date": dt.date(2012, 3, 1),
            "fund_source": "县管党费扶持",
            "fund_amount": 1234.5,
            "fund_purpose": "党员培训资料",
        },
    ],
}
CLOSURE: Values = {
    "summary_overview": "项目于2011年12月启动，覆盖全镇18个村。",
    "summary_implementation": "一是调研摸底；\n二是建立承诺台帐；\n三是开展评议。",
    "summary_results": "形成“三民两承诺”工作法，编印制度汇编1册。",
    "summary_evaluation": "建议在全县乡镇推广。",
    "acceptance_request_date": dt.date(2012, 7, 10),
}
CLOSURE_ROWS: Rows = {
    "goals": [
        {"goal_text": "党员参与率达到90%以上", "goal_status": "已实现"},
        {"goal_text": "群众满意率达到90%以上", "goal_status": "部分实现"},
    ]
}
ACCEPTANCE: Values = {
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
    "conclusion": "合格",
    "acceptance_remarks": "项目完成预期目标，资料齐全，群众认可。",
    "acceptance_members": "刘志强、陈丽娟、杨国平",
    "acceptance_date": dt.date(2012, 9, 20),
}


def _clean_input(kind: str, config: Config) -> tuple[Values, Rows]:
    if kind in APPLICATION_KINDS:
        return _application(kind, config)
    return {
        "ledger": (LEDGER, LEDGER_ROWS),
        "closure": (CLOSURE, CLOSURE_ROWS),
        "acceptance": (ACCEPTANCE, {}),
    }[kind]


# -- the planted mistakes ---------------------------------------------------------------------

TOO_LONG_NAME = "莲溪镇“三民两承诺”工作法创新探索暨全镇党员群众双向承诺践诺评诺全覆盖示范点建设工程"
# A float: lo_client passes a Python int to setValue as is, and pyuno cannot coerce an
# int beyond 32 bits ("hyper") to the double setValue wants.
PHONE_AS_NUMBER = 13907910001.0


def _mistaken_innovation(config: Config) -> tuple[Values, Rows]:
    values, rows = _application("application_innovation", config)
    values = dict(values)
    del values["lead_title"]  # a required field left blank
    assert (
        len(TOO_LONG_NAME)
        > catalog().form("application_innovation").field("project_name").max_length
    )
    values["project_name"] = TOO_LONG_NAME
    values["direction"] = "Z9 不存在"
    values["signoff_date"] = "2011年12月5日"  # a date typed as text
    values["budget_special"] = "１２０００"  # full-width digits, as text
    values["contact_phone"] = PHONE_AS_NUMBER  # a mobile number stored as a number
    plan = [dict(r) for r in rows["plan"]]
    plan[0]["plan_start"] = values["start_date"] - dt.timedelta(days=5)  # before the project
    plan.append({"plan_phase": "补充阶段", "plan_owner": "赵六"})  # half a row
    return values, {"plan": plan}


def _mistaken_demonstration(config: Config) -> tuple[Values, Rows]:
    values, rows = _application("application_demonstration", config)
    return {**values, "end_date": values["start_date"] - dt.timedelta(days=1)}, rows


def _mistaken_ledger() -> tuple[Values, Rows]:
    tasks = [dict(r) for r in LEDGER_ROWS["tasks"]]
    tasks[2]["task_progress"] = 100  # done, but no completion date
    return LEDGER, {**LEDGER_ROWS, "tasks": tasks}


MISTAKEN_ACCEPTANCE: Values = {**ACCEPTANCE, "goal_rate": 120}


# -- typing into LibreOffice, and what must come back -------------------------------------------


def _typed(value: Any) -> Any:
    """A job value: dates as date serials, everything else as is (str → text, number)."""
    return as_date(value) if isinstance(value, dt.date) else value


def _job_values(spec: FormSpec, values: Values, rows: Rows) -> dict[str, Any]:
    out = {fid: _typed(v) for fid, v in values.items()}
    for table in spec.tables:
        for col in table.columns:
            column = [_typed(r.get(col.id)) for r in rows.get(table.id, [])]
            if any(v is not None for v in column):
                out[col.id] = column
    return out


def _clean(spec: FormSpec, fid: str, typed: Any) -> Any:
    """The clean value the reader must give for what was typed: choices as codes, money,
    percentages and scores as Decimal; dates, integers and texts unchanged."""
    f = spec.field(fid)
    if f.type == "choice":
        assert f.choices is not None
        choices = catalog().choice(f.choices)
        (code,) = [i.code for i in choices.items if choices.display(i) == typed]
        return code
    if f.type in ("money", "percent", "score"):
        return Decimal(str(typed))
    return typed


def _exact(values: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Compare types too: Decimal("12000") == 12000.0 and date != datetime otherwise hide."""
    return {k: (type(v).__name__, v) for k, v in values.items() if not k.startswith("_")}


@dataclass(frozen=True)
class Return:
    name: str
    template: TemplateJob
    values: Values
    rows: Rows
    path: Path
    insert_rows: tuple[tuple[str, int, int], ...] = ()


@dataclass(frozen=True)
class Batch:
    config: Config
    returns: dict[str, Return]
    results: dict[str, FileResult]
    lo: list[dict[str, Any]]
    fill_seconds: float
    read_seconds: float


# A clerk inserts a row above the project's description, and another inside the plan.
INSERTED_ROWS = (("申报表", 12, 1), ("申报表", 26, 1))


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    root = tmp_path_factory.mktemp("returns")
    ws = init_workspace(root / "ws", Config(), sample_roster())
    planned = plan_templates(
        ws.config, ws.roster, ws.outbox, committees=[COMMITTEE], kinds=KINDS, projects=[PROJECT]
    )
    write_templates(planned, ws.config)
    templates = {j.spec.kind: j for j in planned}
    assert sorted(templates) == sorted(KINDS)

    inputs: dict[str, tuple[str, tuple[Values, Rows], str]] = {
        kind: (kind, _clean_input(kind, ws.config), "xlsx") for kind in KINDS
    }
    inputs["innovation.xls"] = (*inputs["application_innovation"][:2], "xls")
    inputs["innovation.ods"] = (*inputs["application_innovation"][:2], "ods")
    inputs["ledger.xls"] = (*inputs["ledger"][:2], "xls")  # names on four sheets, short tables
    bad = "application_innovation"
    inputs["bad_innovation"] = (bad, _mistaken_innovation(ws.config), "xlsx")
    inputs["bad_innovation.xls"] = (*inputs["bad_innovation"][:2], "xls")
    demo = "application_demonstration"
    inputs["bad_demonstration"] = (demo, _mistaken_demonstration(ws.config), "xlsx")
    inputs["bad_ledger"] = ("ledger", _mistaken_ledger(), "xlsx")
    inputs["bad_acceptance"] = ("acceptance", (MISTAKEN_ACCEPTANCE, {}), "xlsx")

    inputs["innovation_inserted"] = inputs["application_innovation"]

    out = root / "returned"  # file names that say nothing: identification is by metadata
    returns = {}
    for i, (name, (kind, (values, rows), suffix)) in enumerate(inputs.items()):
        returns[name] = Return(
            name,
            templates[kind],
            values,
            rows,
            out / f"return_{i:02d}.{suffix}",
            INSERTED_ROWS if name == "innovation_inserted" else (),
        )
    t0 = time.perf_counter()
    lo = fill(
        [
            job(
                r.template.path,
                r.path,
                _job_values(r.template.spec, r.values, r.rows),
                insert_rows=r.insert_rows,
            )
            for r in returns.values()
        ],
        root,
    )
    fill_seconds = time.perf_counter() - t0

    ctx = ValidationContext(ws.config, ws.roster)
    t0 = time.perf_counter()
    results = {name: read_return(r.path, ctx) for name, r in returns.items()}
    read_seconds = time.perf_counter() - t0
    return Batch(ws.config, returns, results, lo, fill_seconds, read_seconds)


def test_libreoffice_saved_every_return_without_complaint(batch):
    assert [r["ok"] for r in batch.lo] == [True] * len(batch.lo)
    assert {r["output"]: r["interactions"] for r in batch.lo if r["interactions"]} == {}
    assert batch.read_seconds < 5, f"reading {len(batch.results)} returns is too slow"


# -- clean returns ----------------------------------------------------------------------------

CLEAN = (*KINDS, "innovation.xls", "innovation.ods", "ledger.xls")


def _problems(result: FileResult) -> list[str]:
    return [f"{p.code} {p.sheet}!{p.cell} ({p.field}): {p.message}" for p in result.problems]


@pytest.mark.parametrize("name", CLEAN)
def test_clean_return_validates_without_problems(batch, name):
    result = batch.results[name]
    assert result.valid, "\n".join(_problems(result))
    assert result.problems == [], "unexpected warnings:\n" + "\n".join(_problems(result))
    assert result.format == batch.returns[name].path.suffix.lstrip(".")


@pytest.mark.parametrize("name", CLEAN)
def test_clean_return_is_identified_by_its_metadata(batch, name):
    ret, result = batch.returns[name], batch.results[name]
    meta = metadata(ret.template, batch.config)
    assert (result.form, result.committee, result.project, result.instance, result.cycle) == (
        meta["xf_form"],
        meta["xf_committee"],
        meta["xf_project"] or None,
        meta["xf_instance"],
        meta["xf_cycle"],
    )
    assert result.committee == COMMITTEE
    expected_project = PROJECT.project_no if ret.template.spec.scope == "project" else None
    assert result.project == expected_project


@pytest.mark.parametrize("name", CLEAN)
def test_clean_return_gives_back_exactly_what_was_typed(batch, name):
    ret, result = batch.returns[name], batch.results[name]
    spec = ret.template.spec
    prefilled = {fid: _clean(spec, fid, v) for fid, v in prefilled_values(ret.template).items()}
    typed = {fid: _clean(spec, fid, v) for fid, v in ret.values.items()}
    assert _exact(result.values) == _exact({**prefilled, **typed})

    for table in spec.tables:
        typed_rows = ret.rows.get(table.id, [])
        wanted = [
            {cid: _clean(spec, cid, v) for cid, v in row.items() if v is not None}
            for row in typed_rows
        ]
        got = result.rows[table.id]
        assert [_exact(row) for row in got] == [_exact(row) for row in wanted], table.id
        assert [row["_row"] for row in got] == list(range(1, len(typed_rows) + 1)), table.id


# -- planted mistakes -------------------------------------------------------------------------


def _at(spec: FormSpec, fid: str, row: int | None = None) -> tuple[str, str]:
    """(sheet, cell) of a field, or of a table column in the 1-based ``row``."""
    form = layout(spec)
    if row is None:
        place = form.fields[fid]
        return place.sheet, place.cell
    table = spec.table_of(fid)
    assert table is not None
    tplace = form.tables[table.id]
    return tplace.sheet, cell_ref(tplace.first_row + row - 1, tplace.column(fid).col)


def _planted(spec: FormSpec, *mistakes: tuple) -> set[tuple[str, str, str, str]]:
    """{(code, sheet, cell, field)} from (code, field) or (code, column, row)."""
    out = set()
    for code, fid, *row in mistakes:
        out.add((code, *_at(spec, fid, *row), fid))
    return out


def _found(result: FileResult) -> set[tuple[str, str, str, str]]:
    found = [(p.code, p.sheet, p.cell, p.field) for p in result.problems]
    assert len(found) == len(set(found)), "a problem was reported twice"
    return set(found)


def _innovation_mistakes(batch: Batch) -> set[tuple[str, str, str, str]]:
    ret = batch.returns["bad_innovation"]
    spec = ret.template.spec
    half = len(ret.rows["plan"])  # the half-filled row, 1-based: the last one typed
    return _planted(
        spec,
        ("value.required", "lead_title"),
        ("value.too_long", "project_name"),
        ("value.choice", "direction"),
        ("rule.rows_within", "plan_start", 1),
        *(
            ("rule.row_incomplete", column, half)
            for column in ("plan_start", "plan_end", "plan_content", "plan_deliverable")
        ),
        ("value.interpreted", "signoff_date"),
        ("value.interpreted", "budget_special"),
        ("value.interpreted", "contact_phone"),
    )


@pytest.mark.parametrize("name", ["bad_innovation", "bad_innovation.xls"])
def test_every_planted_mistake_is_reported_at_its_cell(batch, name):
    result = batch.results[name]
    assert not result.valid
    assert result.form == "application_innovation" and result.committee == COMMITTEE
    assert _found(result) == _innovation_mistakes(batch), "\n".join(_problems(result))


@pytest.mark.parametrize("name", ["bad_innovation", "bad_innovation.xls"])
def test_interpreted_values_are_read_as_meant(batch, name):
    values = batch.results[name].values
    assert values["signoff_date"] == dt.date(2011, 12, 5)
    assert type(values["budget_special"]) is Decimal
    assert values["budget_special"] == Decimal(12000)
    assert values["contact_phone"] == "13907910001"
    # values that are wrong are not passed on as if they were right
    assert not {"project_name", "direction", "lead_title"} & set(values)


def test_mistaken_xls_copy_reports_the_same_problems(batch):
    xlsx, xls = batch.results["bad_innovation"], batch.results["bad_innovation.xls"]
    assert xls.format == "xls"
    assert [(p.code, p.sheet, p.cell, p.field, p.message) for p in xls.problems] == [
        (p.code, p.sheet, p.cell, p.field, p.message) for p in xlsx.problems
    ]


def test_end_before_start_is_reported_at_the_end_date(batch):
    ret, result = batch.returns["bad_demonstration"], batch.results["bad_demonstration"]
    spec = ret.template.spec
    rows = range(1, len(ret.rows["plan"]) + 1)
    # With the period inverted no plan date can lie inside it: each is reported as well.
    consequences = [
        ("rule.rows_within", column, row) for row in rows for column in ("plan_start", "plan_end")
    ]
    assert _found(result) == _planted(spec, ("rule.date_order", "end_date"), *consequences), (
        "\n".join(_problems(result))
    )


def test_task_done_without_date_is_reported_on_its_row(batch):
    ret, result = batch.returns["bad_ledger"], batch.results["bad_ledger"]
    wanted = _planted(ret.template.spec, ("rule.done_needs_date", "task_done_date", 3))
    assert _found(result) == wanted, "\n".join(_problems(result))
    assert result.project == PROJECT.project_no


def test_goal_rate_over_100_is_out_of_range(batch):
    ret, result = batch.returns["bad_acceptance"], batch.results["bad_acceptance"]
    wanted = _planted(ret.template.spec, ("value.out_of_range", "goal_rate"))
    assert _found(result) == wanted, "\n".join(_problems(result))
    assert "goal_rate" not in result.values


def test_an_xls_of_many_sheets_with_far_cells_is_read_in_little_memory(tmp_path: Path) -> None:
    """Found by a review: 40 extra sheets, each with one cell at IV65536, saved by
    LibreOffice as .xls (46 KB), took 6.4 GB to read. Only the form's sheets are loaded
    now, each holding its own cells only."""

    import openpyxl

    ws = init_workspace(tmp_path / "ws", Config(), sample_roster())
    (template,) = plan_templates(
        ws.config, ws.roster, ws.outbox, committees=[COMMITTEE], kinds=["application_innovation"]
    )
    write_templates([template], ws.config)
    book = openpyxl.load_workbook(template.path)
    for i in range(40):
        book.create_sheet(f"附表{i}")["IV65536"] = i
    padded = tmp_path / "padded.xlsx"
    book.save(padded)
    xls = tmp_path / "padded.xls"
    fill([job(padded, xls)], tmp_path / "lo")
    result, peak = with_peak(
        lambda: read_return(xls, ValidationContext(ws.config, ws.roster, ws.root))
    )
    assert result.form == "application_innovation" and result.format == "xls"
    assert peak < 100 * 2**20, f"{peak / 2**20:.0f} MiB"


def test_a_large_xls_from_libreoffice_is_known_as_one(tmp_path: Path) -> None:
    """LibreOffice writes an .xls's directory at its end: past the first 512 KB, which
    were all that was searched, a return with a photo (767 KB) was told it was no
    spreadsheet."""
    import openpyxl

    ws = init_workspace(tmp_path / "ws", Config(), sample_roster())
    (template,) = plan_templates(
        ws.config, ws.roster, ws.outbox, committees=[COMMITTEE], kinds=["application_innovation"]
    )
    write_templates([template], ws.config)
    book = openpyxl.load_workbook(template.path)
    extra = book.create_sheet("附件材料")
    rng = random.Random(5)
    for r in range(1, 6001):
        extra.cell(r, 1, "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(60)))
    big = tmp_path / "big.xlsx"
    book.save(big)
    xls = tmp_path / "big.xls"
    fill([job(big, xls)], tmp_path / "lo")
    assert xls.stat().st_size > 600 * 1024
    result = read_return(xls, ValidationContext(ws.config, ws.roster, ws.root))
    assert (result.form, result.format) == ("application_innovation", "xls")


def test_inserted_rows_are_followed_and_told_once(batch):
    """Two rows inserted in LibreOffice shift 17 names of the main sheet; they are read
    where they went, and the clerk hears it once (it was once per moved column: 17)."""
    result = batch.results["innovation_inserted"]
    assert [(p.code, p.sheet, p.cell, p.field) for p in result.problems] == [
        ("form.names_moved", "申报表", "B15", "background")
    ]
    assert "等 17 栏" in result.problems[0].message
    clean = batch.results["application_innovation"]
    assert result.values == clean.values
    placeless = {
        k: [{c: v for c, v in r.items() if c != "_at"} for r in rows]
        for k, rows in result.rows.items()
    }
    assert placeless == {
        k: [{c: v for c, v in r.items() if c != "_at"} for r in rows]
        for k, rows in clean.rows.items()
    }
    assert result.rows["plan"][0]["_at"] == "申报表!23"  # one row further down than issued
