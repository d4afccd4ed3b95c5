"""Generated templates, read back with openpyxl: names, metadata, protection, validations,
instructions, print setup, determinism, and safety against hostile roster text."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import openpyxl
import pytest
from openpyxl.cell.cell import MergedCell
from openpyxl.utils import get_column_letter, range_boundaries

from xlsxflow.config import Config, CycleConfig
from xlsxflow.errors import UsageError
from xlsxflow.filenames import MAX_COMPONENT
from xlsxflow.forms import catalog
from xlsxflow.forms.layout import layout
from xlsxflow.forms.spec import FORM_KINDS, META_KEYS, FieldSpec, FormSpec
from xlsxflow.projects import ProjectRef
from xlsxflow.roster import Committee, Roster
from xlsxflow.sample_county import sample_roster
from xlsxflow.templates import (
    APPLICATION_KINDS,
    date_bounds,
    instance_id,
    plan_templates,
    render_job,
    write_templates,
)
from xlsxflow.workspace import init_workspace

META_SHEET = "xf_meta"
LISTS_SHEET = "xf_lists"
INSTRUCTIONS = "填报说明"
COMMITTEE_KINDS = [k for k in FORM_KINDS if catalog().form(k).scope == "committee"]
PROJECT_FORM_KINDS = [k for k in FORM_KINDS if catalog().form(k).scope == "project"]

PROJECT = ProjectRef(
    project_no="NCX-2011-CX-001",
    project_name="村级活动场所标准化建设与管理试点项目",
    committee_code="T01",
    project_type="innovation",
    direction="A2",
)
SECOND_PROJECT = ProjectRef(
    project_no="NCX-2011-SF-002",
    project_name="机关党员积分管理",
    committee_code="O01",
    project_type="demonstration",
    direction="A5",
)
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"{p}{i}" for p in ("COM", "LPT") for i in range(10))}


# -- helpers -------------------------------------------------------------------------------


def all_fields(spec: FormSpec) -> list[FieldSpec]:
    return [*spec.fields, *(c for t in spec.tables for c in t.columns)]


def excel_date(serial: str) -> dt.date:
    return dt.date(1899, 12, 30) + dt.timedelta(days=int(float(serial)))


def cells_of(sqref) -> set[tuple[int, int]]:
    """0-based (row, col) of every cell of a data validation's ranges."""
    out = set()
    for rng in str(sqref).split():
        min_col, min_row, max_col, max_row = range_boundaries(rng)
        for r in range(min_row, max_row + 1):
            for c in range(min_col, max_col + 1):
                out.add((r - 1, c - 1))
    return out


def column_widths(ws) -> dict[int, float]:
    widths = {}
    for dim in ws.column_dimensions.values():
        if dim.width:
            for col in range(dim.min, dim.max + 1):
                widths[col - 1] = dim.width
    return widths


def meta_rows(book) -> dict[str, str]:
    rows = list(book[META_SHEET].iter_rows(values_only=True))
    assert rows[0] == ("key", "value")
    out = {}
    for key, value in rows[1:]:
        if key in META_KEYS:
            out[key] = value or ""
    return out


def custom_props(book) -> dict[str, str]:
    return {p.name: p.value for p in book.custom_doc_props.props}


def input_cells(spec: FormSpec) -> dict[str, set[tuple[int, int]]]:
    """Sheet name → top-left cells a committee may type into, from the layout."""
    form = layout(spec)
    out: dict[str, set[tuple[int, int]]] = {p.spec.name: set() for p in form.sheets.values()}
    for place in form.fields.values():
        if not place.field.locked:
            out[place.sheet].add((place.value.row, place.value.col))
    for table in form.tables.values():
        for col in table.columns:
            for row in range(table.first_row, table.last_row + 1):
                out[table.sheet].add((row, col.col))
    return out


def workspace_for(root: Path, roster: Roster | None = None, config: Config | None = None):
    return init_workspace(root, config or Config(), roster or sample_roster())


# -- one template of every kind ------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    ws = workspace_for(tmp_path_factory.mktemp("templates") / "ws")
    jobs = plan_templates(
        ws.config,
        ws.roster,
        ws.outbox,
        committees=["T01"],
        kinds=FORM_KINDS,
        projects=[PROJECT, SECOND_PROJECT],
    )
    paths = write_templates(jobs, ws.config)
    assert len(paths) == len(FORM_KINDS)
    return ws, {job.spec.kind: (job, path) for job, path in zip(jobs, paths, strict=True)}


@pytest.fixture(scope="module")
def books(generated):
    _, by_kind = generated
    return {kind: openpyxl.load_workbook(path) for kind, (_, path) in by_kind.items()}


@pytest.fixture(params=FORM_KINDS)
def kind(request):
    return request.param


@pytest.fixture
def spec(kind) -> FormSpec:
    return catalog().form(kind)


@pytest.fixture
def book(books, kind):
    return books[kind]


def test_sheets_in_order_with_hidden_system_sheets(book, spec):
    names = [s.name for s in spec.sheets]
    assert book.sheetnames == [*names, INSTRUCTIONS, LISTS_SHEET, META_SHEET]
    for name in (*names, INSTRUCTIONS):
        assert book[name].sheet_state == "visible"
    assert book[LISTS_SHEET].sheet_state == "hidden"
    assert book[META_SHEET].sheet_state == "hidden"
    assert book.active.title == names[0]


def test_every_field_and_column_is_a_workbook_level_defined_name(book, spec):
    form = layout(spec)
    names = dict(book.defined_names.items())
    assert set(names) == {f.id for f in all_fields(spec)}
    for fid, place in form.fields.items():
        dn = names[fid]
        assert dn.localSheetId is None
        cell = f"${get_column_letter(place.value.col + 1)}${place.value.row + 1}"
        assert list(dn.destinations) == [(place.sheet, cell)]
    for table in form.tables.values():
        assert table.last_row - table.first_row + 1 == table.table.rows
        for col in table.columns:
            letter = get_column_letter(col.col + 1)
            expected = f"${letter}${table.first_row + 1}:${letter}${table.last_row + 1}"
            assert list(names[col.field.id].destinations) == [(table.sheet, expected)]
    # exactly what the layout (and so the reader's fingerprint) expects
    assert {k: v.attr_text for k, v in names.items()} == form.defined_names()


def test_labels_sit_next_to_their_named_cells(book, spec):
    form = layout(spec)
    for place in form.fields.values():
        ws = book[place.sheet]
        label = ws.cell(place.label.row + 1, place.label.col + 1)
        assert label.value == place.field.label
        assert label.protection.locked
        assert label.font.b
    for table in form.tables.values():
        ws = book[table.sheet]
        for col in table.columns:
            assert ws.cell(table.header_row + 1, col.col + 1).value == col.field.label


def test_metadata_in_hidden_sheet_and_custom_properties(book, spec):
    committee = {"committee": "T01", "project": "T01", "department": ""}[spec.scope]
    project = PROJECT.project_no if spec.scope == "project" else ""
    owner = project or committee or "dept"
    expected = {
        "xf_form": spec.kind,
        "xf_form_version": str(spec.version),
        "xf_cycle": "2011",
        "xf_committee": committee,
        "xf_project": project,
        "xf_instance": f"2011.{owner}.{spec.kind}.1",
        "xf_fingerprint": layout(spec).fingerprint,
    }
    assert re.fullmatch(r"[0-9a-f]{16}", expected["xf_fingerprint"])
    assert meta_rows(book) == expected
    assert list(meta_rows(book)) == list(META_KEYS)
    # Custom properties cannot be empty strings; an empty value is stored as "-".
    props = custom_props(book)
    assert {k: props[k] for k in META_KEYS} == {k: v or "-" for k, v in expected.items()}
    assert book[META_SHEET].protection.sheet
    # the printed form carries its instance id too
    first = book[spec.sheets[0].name]
    assert first["A2"].value == f"表单编号：{expected['xf_instance']}"


def test_document_properties_are_fixed(book, spec):
    props = book.properties
    assert props.title == spec.display_title("南昌县")
    assert props.creator == "xlsxflow"
    assert props.created == dt.datetime(2011, 10, 28)


def test_form_sheets_are_protected_without_password(book, spec):
    for name in [s.name for s in spec.sheets] + [INSTRUCTIONS, LISTS_SHEET]:
        protection = book[name].protection
        assert protection.sheet, name
        assert not protection.password, name
    for s in spec.sheets:
        protection = book[s.name].protection
        # resizing rows and columns stays allowed so long texts can be shown
        assert not protection.formatRows
        assert not protection.formatColumns


def test_only_input_cells_are_unlocked(book, spec):
    expected = input_cells(spec)
    for name, cells in expected.items():
        ws = book[name]
        unlocked = {
            (c.row - 1, c.column - 1)
            for row in ws.iter_rows()
            for c in row
            if not isinstance(c, MergedCell) and not c.protection.locked
        }
        assert unlocked == cells, name


def test_prefilled_cells(book, spec):
    form = layout(spec)
    committee = sample_roster().committee("T01")

    def value(fid):
        place = form.fields[fid]
        cell = book[place.sheet].cell(place.value.row + 1, place.value.col + 1)
        return cell.value, cell.protection.locked

    if spec.scope == "department":
        assert not form.fields
        return
    assert value("committee_name") == (committee.name, True)
    assert value("committee_code") == ("T01", True)
    if spec.scope == "committee":
        assert value("project_type") == (
            {
                "innovation": "创新探索型",
                "demonstration": "典型示范型",
                "institutional": "制度推广型",
            }[spec.project_type],
            True,
        )
        assert value("contact_name") == (committee.contact, False)
        assert value("contact_phone") == (committee.phone, False)
        assert value("project_name") == (None, False)
        assert value("direction") == (None, False)
    else:
        assert value("project_no") == (PROJECT.project_no, True)
        assert value("project_name") == (PROJECT.project_name, True)
        assert value("project_type") == ("创新探索型", True)
        direction, locked = value("direction")
        assert locked
        assert direction == "A2 五片：村级党建（“四议两公开”、“一定三有”、大学生村干部）"


def validations(book, spec):
    out = {}
    for s in spec.sheets:
        out[s.name] = list(book[s.name].data_validations.dataValidation)
    return out


def find_validation(dvs, cells: set[tuple[int, int]]):
    found = [dv for dv in dvs if cells <= cells_of(dv.sqref)]
    assert len(found) == 1, (cells, [str(dv.sqref) for dv in dvs])
    return found[0]


# DOMAIN §4 with the default (2011) calendar: notice 2011-10-28, applications until
# 2011-12-31, implementation until 2012-06-30, the cycle (acceptance, last meeting) 2012-12-31.
DEFAULT_BOUNDS = {
    "application": (dt.date(2011, 10, 28), dt.date(2011, 12, 31)),
    "implementation": (dt.date(2011, 10, 28), dt.date(2012, 6, 30)),
    "cycle": (dt.date(2011, 10, 28), dt.date(2012, 12, 31)),
}


def test_date_bounds_follow_the_calendar():
    assert date_bounds(Config()) == DEFAULT_BOUNDS


def test_every_unlocked_input_has_a_validation(book, spec):
    bounds = DEFAULT_BOUNDS
    form = layout(spec)
    by_sheet = validations(book, spec)
    lists = book[LISTS_SHEET]

    targets: list[tuple[FieldSpec, str, set[tuple[int, int]]]] = []
    for place in form.fields.values():
        cell = {(place.value.row, place.value.col)}
        if place.field.locked:
            assert not [dv for dv in by_sheet[place.sheet] if cell <= cells_of(dv.sqref)]
        else:
            targets.append((place.field, place.sheet, cell))
    for table in form.tables.values():
        for col in table.columns:
            rows = range(table.first_row, table.last_row + 1)
            targets.append((col.field, table.sheet, {(r, col.col) for r in rows}))

    for f, sheet, cells in targets:
        dv = find_validation(by_sheet[sheet], cells)
        assert dv.showInputMessage
        assert dv.promptTitle == f.label[:32]
        assert dv.prompt.startswith("必填。" if f.required else "选填。")
        assert len(dv.prompt) <= 255
        assert dv.allow_blank
        if f.type == "choice":
            assert dv.type == "list"
            m = re.fullmatch(rf"{LISTS_SHEET}!\$([A-Z]+)\$2:\$\1\$(\d+)", dv.formula1)
            assert m, dv.formula1
            col = openpyxl.utils.column_index_from_string(m.group(1))
            shown = [lists.cell(r, col).value for r in range(2, int(m.group(2)) + 1)]
            assert lists.cell(1, col).value == f.choices
            assert shown == catalog().choice(f.choices).displays()
        elif f.type == "date":
            assert dv.type == "date"
            assert dv.operator in (None, "between")
            low, high = bounds[f.bounds]
            assert (excel_date(dv.formula1), excel_date(dv.formula2)) == (low, high)
        elif f.type == "integer":
            assert dv.type == "whole"
            assert float(dv.formula1) == (f.min if f.min is not None else 0)
            if f.max is not None:
                assert float(dv.formula2) == f.max
        elif f.type in ("money", "percent", "score"):
            assert dv.type == "decimal"
            assert float(dv.formula1) == 0
            assert float(dv.formula2) == (999999999 if f.type == "money" else 100)
        elif f.type == "phone":
            assert dv.type == "textLength"
            assert (dv.formula1, dv.formula2) == ("7", "20")
        elif f.max_length:
            assert dv.type == "textLength"
            assert dv.operator == "lessThanOrEqual"
            assert dv.formula1 == str(f.max_length)
        else:
            assert dv.type in (None, "any")
        if dv.type not in (None, "any"):
            assert dv.showErrorMessage
            assert f"“{f.label}”" in dv.error

    # and no validation reaches a locked cell
    inputs = input_cells(spec)
    for sheet, dvs in by_sheet.items():
        for dv in dvs:
            assert cells_of(dv.sqref) <= inputs[sheet], str(dv.sqref)


def test_drop_down_lists_hold_every_choice(books):
    lists = books["application_innovation"][LISTS_SHEET]
    columns = {col[0].value: [c.value for c in col[1:] if c.value] for col in lists.iter_cols()}
    assert len(columns["direction"]) == 15
    assert columns["direction"][0].startswith("C1 一核：")
    assert columns["project_type"] == ["创新探索型", "典型示范型", "制度推广型"]
    institutional = books["application_institutional"][LISTS_SHEET]
    yes_no = next(col for col in institutional.iter_cols() if col[0].value == "yes_no")
    assert [c.value for c in yes_no[1:3]] == ["是", "否"]
    acceptance = books["acceptance"][LISTS_SHEET]
    names = {col[0].value for col in acceptance.iter_cols()}
    assert {"yes_no", "conclusion", "direction", "project_type"} <= names
    ledger = books["ledger"][LISTS_SHEET]
    assert {"fund_source", "team_role"} <= {col[0].value for col in ledger.iter_cols()}


def test_instructions_sheet_explains_every_field(book, spec):
    ws = book[INSTRUCTIONS]
    rows = [tuple(r[:3]) for r in ws.iter_rows(values_only=True)]
    assert rows[0][0] == f"{spec.name}填报说明"
    text = "\n".join(str(v) for r in rows for v in r if v)
    for line in spec.instructions:
        assert line in text
    start = rows.index(("栏目", "是否必填", "填写要求"))
    listed = [(r[0], r[1]) for r in rows[start + 1 :] if r[1] in ("必填", "选填", "—")]
    expected = []
    for section in spec.sections:
        for f in [*section.fields, *(section.table.columns if section.table else ())]:
            need = "—" if f.locked else ("必填" if f.required else "选填")
            expected.append((f.label, need))
    assert listed == expected
    for table in spec.tables:
        if table.min_rows:
            assert f"至少填写 {table.min_rows} 行" in text


def test_print_setup(book, spec):
    form = layout(spec)
    for sheet in spec.sheets:
        ws = book[sheet.name]
        assert ws.page_setup.paperSize == 9  # A4
        assert ws.page_setup.orientation == ("landscape" if sheet.landscape else "portrait")
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth in (None, 1)
        assert ws.page_setup.fitToHeight == 0
        plan = form.sheets[sheet.id]
        last = get_column_letter(plan.width)
        assert ws.print_area == [f"'{sheet.name}'!$A$1:${last}${plan.last_row + 1}"] or (
            ws.print_area == f"'{sheet.name}'!$A$1:${last}${plan.last_row + 1}"
        )
        assert "&P" in ws.oddFooter.center.text
        if plan.repeat_row is not None:
            assert ws.print_title_rows == f"${plan.repeat_row + 1}:${plan.repeat_row + 1}"
    assert book[INSTRUCTIONS].page_setup.paperSize == 9


def test_ledger_tasks_print_landscape_with_60_rows(books):
    book = books["ledger"]
    tasks = book["任务台账"]
    assert tasks.page_setup.orientation == "landscape"
    assert book["项目信息"].page_setup.orientation == "portrait"
    _, ref = next(iter(book.defined_names["task_deadline"].destinations))
    _, min_row, _, max_row = range_boundaries(ref)
    assert max_row - min_row + 1 == 60
    assert books["review"]["评审表"].page_setup.orientation == "landscape"


def test_looks_like_a_government_form(book, spec):
    form = layout(spec)
    for sheet in spec.sheets:
        ws = book[sheet.name]
        plan = form.sheets[sheet.id]
        title = ws["A1"]
        assert title.value == spec.display_title("南昌县")
        assert title.font.name == "宋体"
        assert title.font.sz >= 16
        assert f"A1:{get_column_letter(plan.width)}1" in {str(r) for r in ws.merged_cells.ranges}
        widths = column_widths(ws)
        for col, chars in enumerate(sheet.columns):
            assert abs(widths[col] - chars) < 1, (sheet.name, col)
        assert not ws.sheet_view.showGridLines
    for place in form.fields.values():
        ws = book[place.sheet]
        value = ws.cell(place.value.row + 1, place.value.col + 1)
        label = ws.cell(place.label.row + 1, place.label.col + 1)
        assert value.font.name == "仿宋"
        assert label.font.name == "宋体"
        assert label.border.left.style == "thin"
        if place.value.merged:
            last = f"{get_column_letter(place.value.last_col + 1)}{place.value.last_row + 1}"
            first = f"{get_column_letter(place.value.col + 1)}{place.value.row + 1}"
            assert f"{first}:{last}" in {str(r) for r in ws.merged_cells.ranges}
    texts = [
        str(c.value)
        for s in spec.sheets
        for row in book[s.name].iter_rows()
        for c in row
        if c.value
    ]
    if spec.scope == "committee" or spec.kind == "closure":
        assert any("盖章" in t for t in texts)
    if spec.kind != "ledger":  # the ledger is a working list, not a signed form
        assert any("签字" in t for t in texts)


def test_no_formula_anywhere(book):
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate)


# -- determinism and instance ids ----------------------------------------------------------


def test_two_runs_give_identical_bytes(tmp_path, generated):
    ws, by_kind = generated
    jobs = plan_templates(
        ws.config,
        ws.roster,
        ws.outbox,
        committees=["T01"],
        kinds=FORM_KINDS,
        projects=[PROJECT, SECOND_PROJECT],
    )
    for job in jobs:
        assert render_job(job, ws.config) == by_kind[job.spec.kind][1].read_bytes()
    # a second workspace made the same way gives the same files
    other = workspace_for(tmp_path / "other")
    jobs = plan_templates(
        other.config,
        other.roster,
        other.outbox,
        committees=["T01"],
        kinds=FORM_KINDS,
        projects=[PROJECT, SECOND_PROJECT],
    )
    paths = write_templates(jobs, other.config)
    for path in paths:
        rel = path.relative_to(other.outbox)
        assert path.read_bytes() == (ws.outbox / rel).read_bytes(), rel


def test_rewriting_a_workspace_leaves_files_identical(tmp_path):
    ws = workspace_for(tmp_path / "ws", sample_roster(3))
    jobs = plan_templates(ws.config, ws.roster, ws.outbox)
    first = {p: p.read_bytes() for p in write_templates(jobs, ws.config)}
    second = {p: p.read_bytes() for p in write_templates(jobs, ws.config)}
    assert first == second
    on_disk = sorted(p for p in ws.outbox.rglob("*") if p.is_file())
    assert on_disk == sorted(first)  # no temporary files left behind


def test_instance_ids_are_stable_and_distinct(tmp_path):
    config = Config()
    roster = sample_roster()
    projects = [PROJECT, SECOND_PROJECT]
    jobs = [
        *plan_templates(config, roster, tmp_path, copies=3),
        *plan_templates(config, roster, tmp_path, kinds=PROJECT_FORM_KINDS, projects=projects),
        *plan_templates(config, roster, tmp_path, kinds=["review"]),
    ]
    ids = [
        instance_id(
            2011,
            j.spec.kind,
            j.committee.code if j.committee else "",
            j.project.project_no if j.project else "",
            j.copy,
        )
        for j in jobs
    ]
    assert len(jobs) == 30 * 3 * 3 + 2 * 3 + 1
    assert len(set(ids)) == len(ids)
    assert len({j.path for j in jobs}) == len(jobs)
    assert instance_id(2011, "ledger", "T01", "NCX-2011-CX-001") == instance_id(
        2011, "ledger", "T01", "NCX-2011-CX-001"
    )
    assert instance_id(2011, "application_innovation", "T01", copy=2) == (
        "2011.T01.application_innovation.2"
    )
    assert instance_id(2012, "application_innovation", "T01") != instance_id(
        2011, "application_innovation", "T01"
    )
    assert instance_id(2011, "review") == "2011.dept.review.1"


def test_copies_are_distinct_forms(tmp_path):
    ws = workspace_for(tmp_path / "ws", sample_roster(2))
    jobs = plan_templates(
        ws.config,
        ws.roster,
        ws.outbox,
        committees=["T02"],
        kinds=["application_demonstration"],
        copies=2,
    )
    paths = write_templates(jobs, ws.config)
    assert [p.name for p in paths] == [
        "T02_青岚镇党委_典型示范型项目申报表.xlsx",
        "T02_青岚镇党委_典型示范型项目申报表_第2份.xlsx",
    ]
    metas = [meta_rows(openpyxl.load_workbook(p)) for p in paths]
    assert [m["xf_instance"] for m in metas] == [
        "2011.T02.application_demonstration.1",
        "2011.T02.application_demonstration.2",
    ]
    assert metas[0]["xf_fingerprint"] == metas[1]["xf_fingerprint"]


def test_same_kind_for_two_committees_differs_only_in_prefill(generated, tmp_path):
    ws, by_kind = generated
    jobs = plan_templates(
        ws.config, ws.roster, tmp_path, committees=["T02"], kinds=["application_innovation"]
    )
    other = openpyxl.load_workbook(write_templates(jobs, ws.config)[0])
    mine = openpyxl.load_workbook(by_kind["application_innovation"][1])
    assert meta_rows(other)["xf_fingerprint"] == meta_rows(mine)["xf_fingerprint"]
    assert meta_rows(other)["xf_committee"] == "T02"
    assert meta_rows(other)["xf_instance"] != meta_rows(mine)["xf_instance"]
    sheet = other["申报表"]
    place = layout(catalog().form("application_innovation")).fields["committee_name"]
    assert sheet.cell(place.value.row + 1, place.value.col + 1).value == "青岚镇党委"


def test_config_year_and_dates_reach_the_template(tmp_path):
    config = Config.for_year(2026)
    ws = workspace_for(tmp_path / "ws", sample_roster(1), config)
    job = plan_templates(ws.config, ws.roster, ws.outbox, kinds=["application_innovation"])[0]
    book = openpyxl.load_workbook(write_templates([job], ws.config)[0])
    meta = meta_rows(book)
    assert meta["xf_cycle"] == "2026"
    assert meta["xf_instance"] == "2026.T01.application_innovation.1"
    place = layout(job.spec).fields["signoff_date"]
    sheet = book["申报表"]
    cell = {(place.value.row, place.value.col)}
    dv = find_validation(list(sheet.data_validations.dataValidation), cell)
    assert (excel_date(dv.formula1), excel_date(dv.formula2)) == (
        dt.date(2026, 10, 28),
        dt.date(2026, 12, 31),
    )


# -- planning ------------------------------------------------------------------------------


def test_default_plan_is_three_applications_per_committee(tmp_path):
    jobs = plan_templates(Config(), sample_roster(), tmp_path)
    assert len(jobs) == 90
    assert {j.spec.kind for j in jobs} == set(APPLICATION_KINDS)
    first = [j for j in jobs if j.committee.code == "T01"]
    assert [j.path.relative_to(tmp_path).as_posix() for j in first] == [
        "T01_莲溪镇党委/T01_莲溪镇党委_创新探索型项目申报表.xlsx",
        "T01_莲溪镇党委/T01_莲溪镇党委_典型示范型项目申报表.xlsx",
        "T01_莲溪镇党委/T01_莲溪镇党委_制度推广型项目申报表.xlsx",
    ]


def test_project_and_department_forms_are_placed_by_owner(generated):
    ws, by_kind = generated
    rel = {k: p.relative_to(ws.outbox).as_posix() for k, (_, p) in by_kind.items()}
    assert rel["review"] == "县委组织部/2011年度项目评审表.xlsx"
    assert rel["ledger"] == (
        "T01_莲溪镇党委/NCX-2011-CX-001_村级活动场所标准化建设与管理试点_项目管理台帐.xlsx"
    )
    assert rel["closure"].endswith("_项目结题报告.xlsx")
    # (filled by the acceptance group: the department's, never mailed to the committee)
    assert rel["acceptance"] == (
        "县委组织部/NCX-2011-CX-001_村级活动场所标准化建设与管理试点_项目验收评分表.xlsx"
    )


def test_project_forms_for_every_project(tmp_path):
    jobs = plan_templates(
        Config(), sample_roster(), tmp_path, kinds=["ledger"], projects=[PROJECT, SECOND_PROJECT]
    )
    assert [(j.project.project_no, j.committee.code) for j in jobs] == [
        ("NCX-2011-CX-001", "T01"),
        ("NCX-2011-SF-002", "O01"),
    ]
    narrowed = plan_templates(
        Config(),
        sample_roster(),
        tmp_path,
        committees=["O01"],
        kinds=["ledger"],
        projects=[PROJECT, SECOND_PROJECT],
    )
    assert [j.project for j in narrowed] == [SECOND_PROJECT]


@pytest.mark.parametrize("kind", PROJECT_FORM_KINDS)
def test_project_forms_need_projects(tmp_path, kind):
    with pytest.raises(UsageError) as info:
        plan_templates(Config(), sample_roster(), tmp_path, kinds=[kind])
    assert info.value.exit_code == 2
    assert info.value.code == "templates.needs_projects"
    assert catalog().form(kind).name in str(info.value)


def test_unknown_committee_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as info:
        plan_templates(Config(), sample_roster(), tmp_path, committees=["T01", "ZZZ"])
    assert info.value.exit_code == 2
    assert "“ZZZ”" in str(info.value)


def test_project_of_a_committee_not_in_the_roster(tmp_path):
    stray = PROJECT.model_copy(update={"committee_code": "Q99"})
    with pytest.raises(UsageError) as info:
        plan_templates(Config(), sample_roster(), tmp_path, kinds=["ledger"], projects=[stray])
    assert info.value.exit_code == 2
    assert "Q99" in str(info.value)


# -- hostile roster and project text -------------------------------------------------------

INJECTIONS = ['=HYPERLINK("http://x","y")', "+1+1", "@SUM(A1)", "-2+3", "=cmd|' /C calc'!A0"]


def test_formula_like_text_stays_plain_text(tmp_path):
    committees = tuple(
        Committee(
            code=f"F{i}",
            name=text,
            kind="township",
            contact=text[:20],
            phone="+8613800000000",
            email=f"f{i}@example.invalid",
        )
        for i, text in enumerate(INJECTIONS)
    )
    projects = [
        ProjectRef(
            project_no=f"NCX-2011-CX-00{i}",
            project_name=text,
            committee_code=f"F{i}",
            project_type="innovation",
        )
        for i, text in enumerate(INJECTIONS)
    ]
    config = Config(cycle=CycleConfig(county="=1+1", department="+SUM(1,2)"))
    ws = workspace_for(tmp_path / "ws", Roster(committees=committees), config)
    jobs = plan_templates(ws.config, ws.roster, ws.outbox, kinds=FORM_KINDS, projects=projects)
    paths = write_templates(jobs, ws.config)
    assert len(paths) == len(INJECTIONS) * 6 + 1
    for job, path in zip(jobs, paths, strict=True):
        book = openpyxl.load_workbook(path)
        form = layout(job.spec)
        for ws_ in book.worksheets:
            for row in ws_.iter_rows():
                for c in row:
                    assert c.data_type != "f", (path.name, ws_.title, c.coordinate)
        title = book[job.spec.sheets[0].name]["A1"]
        assert title.value == job.spec.display_title("=1+1")
        assert title.data_type == "s"
        if job.committee is None:
            continue
        place = form.fields["committee_name"]
        cell = book[place.sheet].cell(place.value.row + 1, place.value.col + 1)
        assert cell.value == job.committee.name
        assert cell.data_type == "s"
        if job.project is not None:
            place = form.fields["project_name"]
            cell = book[place.sheet].cell(place.value.row + 1, place.value.col + 1)
            assert (cell.value, cell.data_type) == (job.project.project_name, "s")
        else:
            place = form.fields["contact_phone"]
            cell = book[place.sheet].cell(place.value.row + 1, place.value.col + 1)
            assert (cell.value, cell.data_type) == ("+8613800000000", "s")
            place = form.fields["contact_name"]
            cell = book[place.sheet].cell(place.value.row + 1, place.value.col + 1)
            assert (cell.value, cell.data_type) == (job.committee.contact, "s")


HOSTILE_NAMES = [
    "../../../evil",
    "..\\..\\..\\evil",
    "a/b/c",
    "/etc/passwd",
    "CON",
    "nul.txt",
    "COM1",
    "名称. . .",
    "名称...",
    " 前后空格 ",
    '<>:"|?*',
    "..",
]


def hostile_roster() -> Roster:
    committees = [
        Committee(code=f"H{i:02d}", name=name, kind="organ", email=f"h{i}@example.invalid")
        for i, name in enumerate(HOSTILE_NAMES)
    ]
    # Texts the roster reader would refuse, as if a future source skipped validation.
    unchecked = ["带\n换行\t和\x00控制字符", "党" * 500, "𠀀" * 500, "x" * 500 + "/../.."]
    committees += [
        Committee.model_construct(
            code=code,
            name=name,
            kind="organ",
            contact="",
            phone="",
            email="u@example.invalid",
            leader="",
        )
        for code, name in zip(["CON", "nul", "COM1", "A" * 20], unchecked, strict=True)
    ]
    return Roster.model_construct(committees=tuple(committees), leaders=())


def test_hostile_names_make_safe_files_inside_the_outbox(tmp_path):
    roster = hostile_roster()
    config = Config(cycle=CycleConfig(department="../../部门"))
    ws = workspace_for(tmp_path / "ws", sample_roster(1), config)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if "outbox" not in p.parts)
    projects = [
        ProjectRef(
            project_no=f"NCX-2011-CX-{i:03d}",
            project_name=(c.name[:60] if "\n" not in c.name else "正常名称"),
            committee_code=c.code,
            project_type="innovation",
        )
        for i, c in enumerate(roster.committees)
        if len(c.name) <= 60 and c.name.strip()
    ]
    jobs = plan_templates(
        ws.config,
        roster,
        ws.outbox,
        kinds=[*APPLICATION_KINDS, "ledger", "review"],
        projects=projects,
        copies=2,
    )
    paths = write_templates(jobs, ws.config)
    outbox = ws.outbox.resolve()
    assert len(set(paths)) == len(jobs), "two forms were written to the same file"
    on_disk = sorted(p for p in ws.outbox.rglob("*") if p.is_file())
    assert on_disk == sorted(paths)
    for path in paths:
        resolved = path.resolve()
        assert resolved.is_relative_to(outbox)
        rel = resolved.relative_to(outbox)
        assert len(rel.parts) == 2
        for part in rel.parts:
            assert 0 < len(part) <= MAX_COMPONENT
            assert len(part.encode("utf-8")) <= 240
            assert part.split(".", 1)[0].strip().upper() not in RESERVED, part
            assert not re.search(r'[<>:"/\\|?*\x00-\x1f\x7f]', part)
            assert part[-1] not in ". " and part[0] not in ". "
            assert ".." not in part
    # the review form lands in the (sanitised) department folder, inside the outbox
    review = [p for j, p in zip(jobs, paths, strict=True) if j.spec.kind == "review"]
    assert review[0].parent.parent == ws.outbox
    # nothing was written outside the outbox
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if "outbox" not in p.parts)
    assert after == before
    # every file is still the form of its committee
    for job, path in zip(jobs, paths, strict=True):
        if job.spec.kind == "application_innovation" and job.copy == 1:
            meta = meta_rows(openpyxl.load_workbook(path))
            assert meta["xf_committee"] == job.committee.code
