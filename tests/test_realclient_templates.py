"""Templates as LibreOffice sees them: every form kind prints, a filled form saves cleanly.

One soffice run does everything (about 1 s to start, 0.2 s a document): each of the seven
form kinds printed to PDF, and one application form filled through its defined names and
saved as .xlsx and as .xls. The tests then read the outputs with openpyxl and xlrd.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlrd
from realclient import as_date, fill, job, pdf_job, pdf_pages, pdf_text

from xlsxflow.config import Config
from xlsxflow.forms import catalog
from xlsxflow.forms.layout import layout
from xlsxflow.forms.spec import FORM_KINDS
from xlsxflow.projects import ProjectRef
from xlsxflow.sample_county import sample_roster
from xlsxflow.templates import TemplateJob, metadata, plan_templates, write_templates
from xlsxflow.workspace import init_workspace

pytestmark = pytest.mark.libreoffice

FILLED_KIND = "application_innovation"
PROJECT = ProjectRef(
    project_no="NCX-2011-CX-001",
    project_name="莲溪镇“三民两承诺”示范点建设",
    committee_code="T01",
    project_type="innovation",
    direction="A1",
)
START = dt.date(2012, 3, 5)


def _direction_text(code: str) -> str:
    choices = catalog().choice("direction")
    return choices.display(choices.by_code(code))


# What the committee "types": a scalar per one-cell name, a list per table column.
# None leaves a cell alone (the prefilled phone stays), "" clears it (the prefilled contact).
# Over UNO neither sheet protection nor validation is enforced: the locked committee code
# can be overwritten, as a careless or determined committee could do in some other program.
VALUES: dict[str, Any] = {
    "committee_code": "T99",
    "project_name": "“三民两承诺”工作法示范村创建",
    "direction": _direction_text("A1"),
    "start_date": as_date(START),
    "end_date": as_date(dt.date(2012, 6, 30)),
    "budget_special": 12000.5,
    "contact_name": "",
    "contact_phone": None,
    "plan_phase": ["调研摸底", "组织实施", None, "总结验收"],
    "plan_start": [
        as_date(START),
        as_date(dt.date(2012, 4, 1)),
        None,
        as_date(dt.date(2012, 6, 1)),
    ],
    "plan_owner": ["张三", "李四", None, "王五"],
}


@dataclass(frozen=True)
class Batch:
    config: Config
    jobs: dict[str, TemplateJob]  # form kind → the template written
    pdfs: dict[str, Path]
    xlsx: Path
    xls: Path
    results: list[dict[str, Any]]
    failed: dict[str, Any]  # the result of a job that had to fail


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    root = tmp_path_factory.mktemp("realclient")
    ws = init_workspace(root / "ws", Config(), sample_roster())
    planned = plan_templates(
        ws.config, ws.roster, ws.outbox, committees=["T01"], kinds=FORM_KINDS, projects=[PROJECT]
    )
    write_templates(planned, ws.config)
    jobs = {j.spec.kind: j for j in planned}
    assert sorted(jobs) == sorted(FORM_KINDS) and len(planned) == len(FORM_KINDS)

    out = root / "out"
    pdfs = {kind: out / f"{kind}.pdf" for kind in FORM_KINDS}
    template = jobs[FILLED_KIND].path
    xlsx, xls = out / "filled.xlsx", out / "filled.xls"
    *results, failed = fill(
        [
            *(pdf_job(jobs[kind].path, out, kind) for kind in FORM_KINDS),
            job(template, xlsx, VALUES),
            job(template, xls, VALUES),
            job(template, out / "unknown_name.xlsx", {"no_such_name": "x"}),
        ],
        root,
        check=False,
    )
    return Batch(ws.config, jobs, pdfs, xlsx, xls, results, failed)


def _plain(ref: str) -> str:
    """'申报表'!$B$6 and 申报表!B6 alike → 申报表!B6."""
    sheet, _, cells = ref.rpartition("!")
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    return f"{sheet}!{cells.replace('$', '')}"


def _names(book: openpyxl.Workbook) -> dict[str, str]:
    """Workbook-level defined names, minus LibreOffice's own _xlnm ones."""
    return {
        name: _plain(defn.attr_text)
        for name, defn in book.defined_names.items()
        if not name.lower().startswith("_xlnm")
    }


def _cells(book: openpyxl.Workbook, name: str) -> list[Any]:
    """The values of the cells a defined name covers, top-down; empty cells as None.

    The templates hold empty input cells as empty strings (xlsxwriter's write_string("")),
    which LibreOffice loads, and saves, as truly empty cells: both mean "not filled".
    """
    ((sheet, ref),) = book.defined_names[name].destinations
    cells = book[sheet][ref.replace("$", "")]
    found = [cells] if not isinstance(cells, tuple) else [row[0] for row in cells]
    return [None if c.value == "" else c.value for c in found]


def _expected(value: Any, before: Any) -> Any:
    if value is None:
        return before
    if value == "":
        return None
    if isinstance(value, dict):
        return dt.datetime.combine(dt.date.fromisoformat(value["date"]), dt.time())
    return value


def test_libreoffice_took_every_document_without_complaint(batch):
    assert [r["ok"] for r in batch.results] == [True] * len(batch.results)
    assert {r["output"]: r["interactions"] for r in batch.results if r["interactions"]} == {}


def test_a_job_that_cannot_be_done_is_reported_not_saved(batch):
    assert not batch.failed["ok"]
    assert "no_such_name" in batch.failed["error"]
    assert not Path(batch.failed["output"]).exists()


@pytest.mark.parametrize("kind", FORM_KINDS)
def test_every_form_kind_prints_to_pdf(batch, kind):
    pdf = batch.pdfs[kind]
    assert pdf.is_file()
    assert pdf_pages(pdf) >= 1
    # the form sheet was printed, in Chinese, not just the instructions sheet
    text = re.sub(r"\s+", "", pdf_text(pdf))
    title = batch.jobs[kind].spec.display_title(batch.config.cycle.county)
    assert title in text
    assert metadata(batch.jobs[kind], batch.config)["xf_instance"] in text


def test_filled_values_sit_in_the_named_cells(batch):
    template = openpyxl.load_workbook(batch.jobs[FILLED_KIND].path)
    book = openpyxl.load_workbook(batch.xlsx)
    for name, value in VALUES.items():
        before = _cells(template, name)
        after = _cells(book, name)
        if isinstance(value, list):
            wanted = [_expected(v, b) for v, b in zip(value, before, strict=False)]
            wanted += before[len(value) :]
        else:
            wanted = [_expected(value, before[0])]
        assert after == wanted, name
    # the prefilled cells nobody typed in are still there
    committee = sample_roster().committee("T01")
    assert _cells(book, "committee_name") == [committee.name]
    assert _cells(book, "contact_phone") == [committee.phone]
    assert _cells(template, "contact_name") == [committee.contact]


def test_xlsx_keeps_names_meta_sheet_and_properties(batch):
    job_ = batch.jobs[FILLED_KIND]
    meta = metadata(job_, batch.config)
    template = openpyxl.load_workbook(job_.path)
    book = openpyxl.load_workbook(batch.xlsx)

    wanted = {name: _plain(ref) for name, ref in layout(job_.spec).defined_names().items()}
    assert _names(template) == wanted
    assert _names(book) == wanted

    assert book.sheetnames == template.sheetnames
    sheet = book["xf_meta"]
    assert sheet.sheet_state == "hidden"
    rows = {
        row[0]: row[1] or ""
        for row in sheet.iter_rows(min_row=2, max_col=2, values_only=True)
        if row[0] in meta
    }
    assert rows == meta

    props = {p.name: p.value for p in book.custom_doc_props.props}
    assert props == {key: value or "-" for key, value in meta.items()}

    form = book[job_.spec.sheets[0].name]
    assert form.protection.sheet


def test_xls_keeps_meta_sheet_and_values(batch):
    meta = metadata(batch.jobs[FILLED_KIND], batch.config)
    book = xlrd.open_workbook(str(batch.xls))
    sheet = book.sheet_by_name("xf_meta")
    assert sheet.visibility == 1  # hidden, as in the template
    rows = {
        sheet.cell_value(r, 0): sheet.cell_value(r, 1)
        for r in range(1, sheet.nrows)
        if sheet.cell_value(r, 0) in meta
    }
    assert rows == meta

    def named(name: str) -> Any:
        (defn,) = [n for n in book.name_map[name] if n.scope == -1]  # workbook level
        return defn.cell().value

    assert named("project_name") == VALUES["project_name"]
    assert named("direction") == VALUES["direction"]
    assert xlrd.xldate.xldate_as_datetime(named("start_date"), book.datemode).date() == START
    assert named("contact_name") == ""
