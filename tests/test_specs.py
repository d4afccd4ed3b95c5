"""The form specs under ``workbook_templates/``: DOMAIN §5 fields, choices, layout, hints."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from xlsxflow.forms import catalog
from xlsxflow.forms.catalog import Catalog, SpecError, templates_dir
from xlsxflow.forms.hints import accepts, input_message
from xlsxflow.forms.layout import abs_ref, cell_ref, col_letter, layout, quote_sheet
from xlsxflow.forms.spec import FORM_KINDS, FieldSpec
from xlsxflow.templates import APPLICATION_KINDS, DEPARTMENT_KINDS, PROJECT_KINDS

APPLICATION_FIELDS = {
    "committee_code",
    "committee_name",
    "project_type",
    "project_name",
    "direction",
    "undertaking_org",
    "lead_name",
    "lead_title",
    "deputy_name",
    "deputy_title",
    "contact_name",
    "contact_phone",
    "start_date",
    "end_date",
    "background",
    "significance",
    "approach",
    "measures",
    "expected_goals",
    "quality_standard",
    "plan_phase",
    "plan_start",
    "plan_end",
    "plan_content",
    "plan_deliverable",
    "plan_owner",
    "budget_special",
    "budget_party_fee",
    "prior_results",
    "signoff_name",
    "signoff_date",
}
# DOMAIN §5: the field ids other tools rely on, per form kind.
DOMAIN_FIELDS = {
    "application_innovation": APPLICATION_FIELDS,
    "application_demonstration": APPLICATION_FIELDS,
    "application_institutional": APPLICATION_FIELDS
    | {"source_project_no", "proposed_by_department"},
    "review": {
        "rv_instance",
        "rv_innovation",
        "rv_feasibility",
        "rv_leading",
        "rv_outcome",
        "rv_decision",
        "rv_remarks",
    },
    "ledger": {
        "team_role",
        "team_name",
        "team_title",
        "team_phone",
        "task_no",
        "task_target",
        "task_owner",
        "task_deadline",
        "task_requirement",
        "task_progress",
        "task_done_date",
        "task_evidence",
        "task_remarks",
        "fund_date",
        "fund_source",
        "fund_amount",
        "fund_purpose",
        "adj_what",
        "adj_why",
        "adj_date",
        "report_date",
    },
    "closure": {
        "summary_overview",
        "summary_implementation",
        "summary_results",
        "summary_evaluation",
        "goal_text",
        "goal_status",
        "acceptance_request_date",
    },
    "acceptance": {
        "method_documents",
        "method_visit",
        "method_forum",
        "method_survey",
        "survey_satisfied",
        "survey_basic",
        "survey_unsatisfied",
        "goal_rate",
        "benefit_score",
        "extensibility_score",
        "conclusion",
        "acceptance_remarks",
        "acceptance_members",
        "acceptance_date",
    },
}


def all_ids(kind: str) -> list[str]:
    spec = catalog().form(kind)
    return [f.id for f in spec.fields] + [c.id for t in spec.tables for c in t.columns]


# -- the catalogue -------------------------------------------------------------------------


def test_every_form_kind_is_described_once():
    forms = catalog().forms
    assert tuple(forms) == FORM_KINDS
    assert set(APPLICATION_KINDS) | set(PROJECT_KINDS) | set(DEPARTMENT_KINDS) == set(FORM_KINDS)
    for kind, spec in forms.items():
        assert spec.kind == kind
        assert spec.version >= 1
        assert spec.name and spec.title
        assert (templates_dir() / f"{kind}.toml").is_file()
    scopes = {k: s.scope for k, s in forms.items()}
    assert {k for k, s in scopes.items() if s == "committee"} == set(APPLICATION_KINDS)
    assert {k for k, s in scopes.items() if s == "project"} == set(PROJECT_KINDS)
    assert {k for k, s in scopes.items() if s == "department"} == set(DEPARTMENT_KINDS)


def test_table_sections_have_short_titles_for_messages():
    """A table is named in messages and instructions by its short title: without a
    leading ordinal and without the brackets, whatever they hold (任务台账's hold 、)."""
    titles = {
        kind: [s.short_title for s in spec.sections if s.table is not None]
        for kind, spec in catalog().forms.items()
    }
    assert titles["ledger"] == ["项目推进小组", "任务台账", "经费台账", "项目调整申请"]
    assert titles["application_innovation"] == ["实施计划"]
    for short in (t for ts in titles.values() for t in ts):
        assert short and not any(c in short for c in "、（）"), short


@pytest.mark.parametrize("kind", FORM_KINDS)
def test_domain_fields_are_present(kind):
    ids = all_ids(kind)
    assert len(ids) == len(set(ids)), "a field id appears twice"
    assert DOMAIN_FIELDS[kind] <= set(ids), DOMAIN_FIELDS[kind] - set(ids)


@pytest.mark.parametrize("kind", FORM_KINDS)
def test_labels_are_chinese_and_unique_per_section(kind):
    spec = catalog().form(kind)
    for section in spec.sections:
        members = [*section.fields, *(section.table.columns if section.table else ())]
        labels = [f.label for f in members]
        assert len(labels) == len(set(labels)), section.id
        for label in labels:
            assert any("\u4e00" <= ch <= "\u9fff" for ch in label), label


def test_application_rules_from_domain():
    innovation = catalog().form("application_innovation")
    demonstration = catalog().form("application_demonstration")
    institutional = catalog().form("application_institutional")
    assert [s.project_type for s in (innovation, demonstration, institutional)] == [
        "innovation",
        "demonstration",
        "institutional",
    ]
    f = innovation.field
    assert f("committee_name").locked and f("committee_code").locked
    assert f("project_type").locked
    assert f("contact_name").prefill == "committee.contact" and not f("contact_name").locked
    assert f("contact_phone").type == "phone" and f("contact_phone").required
    assert f("project_name").max_length == 40 and f("project_name").required
    assert f("direction").choices == "direction" and f("direction").required
    assert f("start_date").bounds == f("end_date").bounds == "implementation"
    assert f("signoff_date").bounds == "application"
    assert f("budget_special").type == f("budget_party_fee").type == "money"
    for fid in ("background", "significance", "approach", "measures", "expected_goals"):
        assert f(fid).required and f(fid).type == "longtext"
    plan = innovation.table_of("plan_start")
    assert plan is not None and plan.min_rows == 3
    # 前期成效: required only for the demonstration type
    assert not innovation.field("prior_results").required
    assert demonstration.field("prior_results").required
    assert not institutional.field("prior_results").required
    # institutional: exactly one of source project and department proposal
    rules = [(r.check, r.fields) for r in institutional.rules]
    assert ("exactly_one", ("source_project_no", "proposed_by_department")) in rules
    assert ("date_order", ("start_date", "end_date")) in rules


def test_project_forms_are_prefilled_from_the_project():
    for kind in PROJECT_KINDS:
        spec = catalog().form(kind)
        assert spec.field("project_no").prefill == "project.no"
        assert spec.field("project_name").prefill == "project.name"
        assert spec.field("project_type").prefill == "project.type"
        assert spec.field("committee_code").prefill == "committee.code"
        assert spec.field("committee_name").label == "领办单位"
        assert all(spec.field(i).locked for i in ("project_no", "project_name", "committee_name"))


def test_ledger_and_review_tables():
    ledger = catalog().form("ledger")
    tasks = ledger.table_of("task_deadline")
    assert tasks is not None and tasks.rows >= 60
    assert ledger.field("task_progress").type == "percent"
    assert ledger.field("fund_source").choices == "fund_source"
    assert ("done_needs_date", ("task_progress", "task_done_date")) in [
        (r.check, r.columns) for r in ledger.rules
    ]
    assert ledger.sheet("tasks").landscape
    review = catalog().form("review")
    for fid in ("rv_innovation", "rv_feasibility", "rv_leading", "rv_outcome"):
        f = review.field(fid)
        assert (f.type, f.min, f.max, f.required) == ("integer", 0, 25, True)
    assert review.field("rv_decision").choices == "decision"
    assert review.field("rv_instance").locked
    acceptance = catalog().form("acceptance")
    assert acceptance.field("conclusion").choices == "conclusion"
    assert acceptance.field("benefit_score").type == "score"
    closure = catalog().form("closure")
    assert closure.field("goal_status").choices == "goal_status"


def test_choice_lists():
    choices = catalog().choices
    direction = choices["direction"]
    assert [i.code for i in direction.items] == [
        "C1",
        "W1",
        "W2",
        "P1",
        "P2",
        "P3",
        "L1",
        "L2",
        "L3",
        "L4",
        "A1",
        "A2",
        "A3",
        "A4",
        "A5",
    ]
    groups = [i.group for i in direction.items]
    assert groups.count("一核") == 1
    assert groups.count("两翼") == 2
    assert groups.count("三点") == 3
    assert groups.count("四线") == 4
    assert groups.count("五片") == 5
    assert direction.display(direction.by_code("W1")).startswith("W1 两翼：服务全县科学发展")
    types = choices["project_type"]
    assert [(i.code, i.text, i.alias, i.letter) for i in types.items] == [
        ("innovation", "创新探索型", "小试", "CX"),
        ("demonstration", "典型示范型", "中试", "SF"),
        ("institutional", "制度推广型", "大试", "TG"),
    ]
    assert types.display(types.items[0]) == "创新探索型"
    assert choices["yes_no"].displays() == ["是", "否"]
    assert choices["decision"].displays() == ["立项", "不立项"]
    assert choices["conclusion"].displays() == ["合格", "不合格"]
    assert choices["fund_source"].displays() == ["党委专项资金", "县管党费扶持"]
    assert choices["goal_status"].displays() == ["已实现", "部分实现", "未实现"]
    for choice in choices.values():
        codes = [i.code for i in choice.items]
        assert len(codes) == len(set(codes)), choice.id
        assert len(set(choice.displays())) == len(codes), choice.id
        # an Excel list source is limited to 255 characters; ours come from a range,
        # but every single entry must fit a cell comfortably
        assert all(len(d) < 255 for d in choice.displays())
    with pytest.raises(KeyError):
        direction.by_code("Z9")


def test_every_choice_list_used_exists_and_every_type_has_its_rules():
    cat = catalog()
    for spec in cat.forms.values():
        for f in [*spec.fields, *(c for t in spec.tables for c in t.columns)]:
            if f.type == "choice":
                assert f.choices in cat.choices
            else:
                assert f.choices is None
            if f.type == "date" and not f.locked:
                assert f.bounds is not None, (spec.kind, f.id)


# -- field ids are Excel names -------------------------------------------------------------


@pytest.mark.parametrize("name", ["a1", "xfd1048576", "abc123", "r1c1", "r", "c", "rc", "r10c2"])
def test_cell_like_ids_are_refused(name):
    with pytest.raises(ValidationError):
        FieldSpec(id=name, label="x", type="text")


@pytest.mark.parametrize("name", ["Name", "1abc", "has-dash", "has space", "_x", "名称", ""])
def test_non_name_ids_are_refused(name):
    with pytest.raises(ValidationError):
        FieldSpec(id=name, label="x", type="text")


@pytest.mark.parametrize("name", ["task_no", "rv_innovation", "committee_code", "abcd1", "r_1"])
def test_good_ids_are_accepted(name):
    assert FieldSpec(id=name, label="x", type="text").id == name


@given(st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True))
def test_accepted_ids_never_look_like_cells(name):
    import re

    try:
        FieldSpec(id=name, label="x", type="text")
    except ValidationError:
        return
    assert not re.fullmatch(r"[a-z]{1,3}[0-9]+", name)
    assert not re.fullmatch(r"r[0-9]*c[0-9]*|r|c", name)


# -- layout --------------------------------------------------------------------------------


def test_cell_reference_helpers():
    assert [col_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]
    assert cell_ref(0, 0) == "A1"
    assert abs_ref(9, 27) == "$AB$10"
    assert quote_sheet("任务台账") == "'任务台账'"
    assert quote_sheet("it's") == "'it''s'"


@pytest.mark.parametrize("kind", FORM_KINDS)
def test_layout_places_nothing_on_top_of_anything(kind):
    spec = catalog().form(kind)
    form = layout(spec)
    used: dict[tuple[str, int, int], str] = {}

    def claim(sheet: str, r0: int, c0: int, r1: int, c1: int, what: str) -> None:
        width = form.sheets[next(k for k, p in form.sheets.items() if p.spec.name == sheet)].width
        assert 0 <= c0 <= c1 < width, what
        assert 2 <= r0 <= r1, what  # rows 0-1 carry the title and form number
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                assert (sheet, r, c) not in used, f"{what} overlaps {used[(sheet, r, c)]}"
                used[(sheet, r, c)] = what

    for plan in form.sheets.values():
        for row, title in plan.section_titles:
            claim(plan.spec.name, row, 0, row, plan.width - 1, title)
        for span, _ in plan.signatures:
            claim(plan.spec.name, span.row, span.col, span.last_row, span.last_col, "signature")
    for fid, place in form.fields.items():
        for span, part in ((place.label, "label"), (place.value, "value")):
            claim(place.sheet, span.row, span.col, span.last_row, span.last_col, f"{fid} {part}")
    for tid, table in form.tables.items():
        for col in table.columns:
            claim(
                table.sheet,
                table.header_row,
                col.col,
                table.last_row,
                col.last_col,
                f"{tid}.{col.field.id}",
            )
        # the columns of a table cover the whole width of its sheet
        plan = next(p for p in form.sheets.values() if p.spec.name == table.sheet)
        assert table.columns[0].col == 0
        assert table.columns[-1].last_col == plan.width - 1
    # every cell claimed lies within the print area
    for (sheet, row, _), _what in used.items():
        plan = next(p for p in form.sheets.values() if p.spec.name == sheet)
        assert row <= plan.last_row


@pytest.mark.parametrize("kind", FORM_KINDS)
def test_defined_names_and_fingerprint(kind):
    spec = catalog().form(kind)
    form = layout(spec)
    names = form.defined_names()
    assert list(names) == sorted(names)
    assert set(names) == set(all_ids(kind))
    assert len(form.fingerprint) == 16
    int(form.fingerprint, 16)
    # a fresh load of the same specs gives the same layout and fingerprint
    fresh = Catalog.load(templates_dir()).form(kind)
    assert layout(fresh).fingerprint == form.fingerprint
    # a new version of the form is a different fingerprint
    bumped = spec.model_copy(update={"version": spec.version + 1})
    assert layout(bumped).fingerprint != form.fingerprint


def test_fingerprints_differ_between_kinds():
    prints = {layout(catalog().form(k)).fingerprint for k in FORM_KINDS}
    assert len(prints) == len(FORM_KINDS)


def test_fingerprint_changes_when_a_cell_moves():
    spec = catalog().form("closure")
    sheet = spec.sheets[0]
    wider = sheet.model_copy(update={"columns": (*sheet.columns[:-1], 40)})
    same_names = spec.model_copy(update={"sheets": (wider,)})
    assert layout(same_names).fingerprint == layout(spec).fingerprint  # widths do not matter
    renamed = spec.model_copy(update={"sheets": (sheet.model_copy(update={"name": "结题"}),)})
    # section sheets refer to the sheet id, so the layout still builds, on a renamed sheet
    assert layout(renamed).fingerprint != layout(spec).fingerprint


# -- hints ---------------------------------------------------------------------------------


def test_hint_sentences():
    cat = catalog()
    f = cat.form("application_innovation").field
    bounds = (dt.date(2011, 10, 28), dt.date(2012, 6, 30))
    assert accepts(f("start_date"), bounds=bounds) == (
        "日期，格式如 2012-03-05，在 2011-10-28 至 2012-06-30 之间"
    )
    assert accepts(f("project_name")) == "文字，不超过 40 个字"
    assert accepts(f("undertaking_org")).startswith("文字")
    assert "不超过" not in accepts(f("undertaking_org"))
    assert "手机号" in accepts(f("contact_phone"))
    assert "金额" in accepts(f("budget_special"))
    assert accepts(f("direction"), cat.choice("direction")) == "从下拉列表中选择项目方向"
    review = cat.form("review")
    assert accepts(review.field("rv_innovation")) == "0—25 的整数"
    assert accepts(review.field("rv_decision"), cat.choice("decision")) == (
        "从下拉列表中选择：立项、不立项"
    )
    acceptance = cat.form("acceptance")
    assert accepts(acceptance.field("survey_basic")) == "不小于 0 的整数"
    assert "百分数" in accepts(acceptance.field("goal_rate"))


def test_input_messages_fit_excel_limits():
    cat = catalog()
    for spec in cat.forms.values():
        for f in [*spec.fields, *(c for t in spec.tables for c in t.columns)]:
            choices = cat.choices.get(f.choices) if f.choices else None
            bounds = (dt.date(2011, 10, 28), dt.date(2012, 12, 31)) if f.bounds else None
            message = input_message(f, accepts(f, choices, bounds))
            assert message.startswith("必填。" if f.required else "选填。")
            assert len(message) <= 255
            if f.help:
                assert f.help[:20] in message
    long = FieldSpec(id="long_help", label="x", type="text", help="很" * 400)
    message = input_message(long, accepts(long))
    assert len(message) == 255
    assert message.endswith("…")


# -- broken specs are caught when loading --------------------------------------------------


@pytest.fixture
def spec_copy(tmp_path) -> Path:
    folder = tmp_path / "workbook_templates"
    shutil.copytree(templates_dir(), folder)
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_copied_specs_load(spec_copy):
    loaded = Catalog.load(spec_copy)
    assert set(loaded.forms) == set(FORM_KINDS)
    with pytest.raises(KeyError):
        loaded.form("budget")


@pytest.mark.parametrize(
    ("file", "old", "new", "phrase"),
    [
        (
            "closure.toml",
            '{ id = "summary_results"',
            '{ id = "summary_overview"',
            "appears twice",
        ),
        ("closure.toml", 'choices = "goal_status"', 'choices = "nope"', "unknown list"),
        ("closure.toml", "span = 3", "span = 2", "spans 3 columns, sheet has 4"),
        ("closure.toml", 'kind = "closure"', 'kind = "acceptance"', "expected 'closure'"),
        ("closure.toml", '{ id = "summary_overview"', '{ id = "a1"', "Excel defined name"),
        ("closure.toml", 'type = "longtext", required', 'type = "memo", required', "closure.toml"),
        ("ledger.toml", 'columns = ["task_progress"', 'columns = ["task_nope"', "unknown field"),
        ("acceptance.toml", 'when = "method_survey"', 'when = "nope"', "unknown field"),
        ("review.toml", ', choices = "decision"', "", "choice fields need a list"),
        ("review.toml", 'type = "text" }', 'type = "text", choices = "yes_no" }', "others none"),
        ("_shared.toml", 'prefill = "project.no" }', 'prefill = "project.no" }\n', None),
        ("ledger.toml", 'use = "project_header"', 'use = "nope"', "not in _shared.toml"),
        (
            "ledger.toml",
            'use = "project_header"',
            'use = "project_header"\ncolor = 1',
            "unknown keys",
        ),
        ("ledger.toml", 'sheet = "tasks"', 'sheet = "nope"', "unknown sheet"),
        (
            "application_innovation.toml",
            'project_type = "innovation"',
            'project_type = "x"',
            "project_type",
        ),
        ("choices.toml", 'title = "是/否"', 'title = "是/否"\ncolour = 1', "choices.toml"),
        ("closure.toml", "[[sheets]]", "[[sheets]", "closure.toml"),
    ],
)
def test_broken_specs_are_refused(spec_copy, file, old, new, phrase):
    edit(spec_copy / file, old, new)
    if phrase is None:  # a harmless edit still loads
        Catalog.load(spec_copy)
        return
    with pytest.raises(SpecError) as info:
        Catalog.load(spec_copy)
    assert phrase in str(info.value)


def test_unknown_ref_is_refused(spec_copy):
    edit(spec_copy / "_shared.toml", '{ ref = "project_name"', '{ ref = "nope"')
    with pytest.raises(SpecError, match="ref 'nope'"):
        Catalog.load(spec_copy)


def test_missing_spec_file_is_refused(spec_copy):
    (spec_copy / "acceptance.toml").unlink()
    with pytest.raises(SpecError, match=r"acceptance\.toml"):
        Catalog.load(spec_copy)
