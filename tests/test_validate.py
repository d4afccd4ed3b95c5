"""Validating filled returns: a clean form reads back exactly, and each planted mistake
is reported with its catalogue code at its cell (compared as (code, sheet, cell))."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from builders import (
    ACCEPTANCE,
    APPLICATION,
    LEDGER_ROWS,
    PLAN,
    PROJECT,
    application_values,
    at,
    codes,
    filled_acceptance,
    filled_application,
    filled_ledger,
    issues,
    read,
    row_at,
    write_return,
)
from hypothesis import given
from hypothesis import strategies as st

from xlsxflow.errors import CATALOGUE
from xlsxflow.forms import catalog
from xlsxflow.forms.layout import layout
from xlsxflow.workspace import Workspace

INNOVATION = "application_innovation"
APPLICATION_KINDS = [
    "application_innovation",
    "application_demonstration",
    "application_institutional",
]


def plan_with(number: int, **changes: Any) -> list[dict[str, Any]]:
    rows = [dict(row) for row in PLAN]
    rows[number - 1].update(changes)
    return rows


# -- clean returns ------------------------------------------------------------------------


def test_valid_application_reads_back_exactly_what_was_typed(workspace: Workspace) -> None:
    result = read(filled_application(workspace), workspace)
    assert result.problems == []
    assert result.valid
    assert (result.form, result.committee, result.project) == (INNOVATION, "T01", None)
    assert result.instance == "2011.T01.application_innovation.1"
    assert result.format == "xlsx"
    expected = {
        **APPLICATION,
        "committee_name": "莲溪镇党委",
        "committee_code": "T01",
        "project_type": "innovation",
        "direction": "A1",
        "budget_special": Decimal(50000),
        "budget_party_fee": Decimal("20000.5"),
    }
    assert result.values == expected
    assert type(result.values["start_date"]) is dt.date
    assert type(result.values["signoff_date"]) is dt.date
    assert all(
        isinstance(result.values[k], Decimal) for k in ("budget_special", "budget_party_fee")
    )
    first = int(row_at(INNOVATION, "plan_phase", 1)[1][1:])
    assert result.rows == {
        "plan": [
            {"_row": n, "_at": f"申报表!{first + n - 1}", **row}
            for n, row in enumerate(PLAN, start=1)
        ]
    }


@pytest.mark.parametrize("kind", APPLICATION_KINDS)
def test_every_application_kind_validates_clean(workspace: Workspace, kind: str) -> None:
    result = read(filled_application(workspace, kind=kind), workspace)
    assert issues(result) == []
    assert result.form == kind
    assert result.values["project_type"] == catalog().form(kind).project_type


def test_valid_ledger_reads_tables_and_choice_codes(workspace: Workspace) -> None:
    result = read(filled_ledger(workspace), workspace)
    assert issues(result) == []
    assert (result.form, result.committee, result.project) == ("ledger", "T01", PROJECT.project_no)
    assert result.values["project_name"] == PROJECT.project_name
    assert result.values["direction"] == "A2"
    assert result.values["report_date"] == dt.date(2012, 3, 31)
    team = result.rows["team"]
    assert [r["team_role"] for r in team] == ["leader", "member"]
    tasks = result.rows["tasks"]
    assert tasks[0]["task_progress"] == Decimal(100)
    assert tasks[0]["task_done_date"] == dt.date(2012, 3, 1)
    assert tasks[1]["task_progress"] == Decimal(50)
    assert len(tasks) == len(LEDGER_ROWS["tasks"])
    assert result.rows["funds"] == [] and result.rows["adjustments"] == []


def test_valid_acceptance_reads_tallies_and_scores(workspace: Workspace) -> None:
    result = read(filled_acceptance(workspace), workspace)
    assert issues(result) == []
    values = result.values
    assert values["method_survey"] == "yes" and values["method_forum"] == "no"
    assert (values["survey_satisfied"], values["survey_basic"], values["survey_unsatisfied"]) == (
        40,
        8,
        2,
    )
    assert values["goal_rate"] == Decimal(95)
    assert values["extensibility_score"] == Decimal("90.5")
    assert values["conclusion"] == "pass"
    assert values["acceptance_date"] == ACCEPTANCE["acceptance_date"]


# -- one planted mistake each, reported at its cell -----------------------------------------


def test_missing_project_name(workspace: Workspace) -> None:
    result = read(filled_application(workspace, {"project_name": None}), workspace)
    assert issues(result) == [at("value.required", INNOVATION, "project_name")]
    assert not result.valid
    sheet, cell = at("value.required", INNOVATION, "project_name")[1:]
    place = layout(catalog().form(INNOVATION)).fields["project_name"]
    assert (sheet, cell) == (place.sheet, place.cell)
    problem = result.problems[0]
    assert problem.field == "project_name" and "项目名称" in problem.message


def test_blank_text_of_spaces_counts_as_missing(workspace: Workspace) -> None:
    result = read(filled_application(workspace, {"project_name": " \u3000\u00a0"}), workspace)
    assert issues(result) == [at("value.required", INNOVATION, "project_name")]


def test_project_name_too_long(workspace: Workspace) -> None:
    result = read(filled_application(workspace, {"project_name": "长" * 41}), workspace)
    assert issues(result) == [at("value.too_long", INNOVATION, "project_name")]
    exactly = read(filled_application(workspace, {"project_name": "长" * 40}), workspace)
    assert issues(exactly) == []


def test_direction_not_in_the_list(workspace: Workspace) -> None:
    result = read(filled_application(workspace, {"direction": "Z9"}), workspace)
    assert issues(result) == [at("value.choice", INNOVATION, "direction")]
    assert "direction" not in result.values


def test_start_after_end(workspace: Workspace) -> None:
    result = read(
        filled_application(
            workspace, {"start_date": dt.date(2012, 5, 1), "end_date": dt.date(2012, 3, 1)}
        ),
        workspace,
    )
    errors = issues(result)
    assert at("rule.date_order", INNOVATION, "end_date") in errors
    # With an inverted period no plan date can lie inside it: each one is reported too.
    within = [
        at("rule.rows_within", INNOVATION, col, row)
        for row in (1, 2, 3)
        for col in ("plan_start", "plan_end")
    ]
    assert errors == sorted([at("rule.date_order", INNOVATION, "end_date"), *within])


def test_plan_row_outside_the_project_period(workspace: Workspace) -> None:
    # The project ends 2012-05-31; row 3 ends 2012-06-30, still inside the cycle window.
    result = read(filled_application(workspace, {"end_date": dt.date(2012, 5, 31)}), workspace)
    assert issues(result) == [at("rule.rows_within", INNOVATION, "plan_end", 3)]


def test_plan_rows_out_of_order_is_a_warning(workspace: Workspace) -> None:
    rows = [PLAN[1], PLAN[0], PLAN[2]]
    result = read(filled_application(workspace, rows=rows), workspace)
    assert issues(result) == [at("rule.rows_in_order", INNOVATION, "plan_start", 2)]
    assert result.valid


def test_plan_row_ending_before_it_starts(workspace: Workspace) -> None:
    rows = plan_with(2, plan_end=dt.date(2011, 12, 15))
    result = read(filled_application(workspace, rows=rows), workspace)
    assert issues(result) == [at("rule.date_order", INNOVATION, "plan_end", 2)]


def test_partially_filled_plan_row(workspace: Workspace) -> None:
    rows = [*PLAN, {"plan_phase": "验收"}]
    result = read(filled_application(workspace, rows=rows), workspace)
    missing = ("plan_start", "plan_end", "plan_content", "plan_deliverable", "plan_owner")
    assert issues(result) == sorted(at("rule.row_incomplete", INNOVATION, c, 4) for c in missing)


def test_only_two_plan_rows(workspace: Workspace) -> None:
    result = read(filled_application(workspace, rows=PLAN[:2]), workspace)
    assert issues(result) == [at("rule.min_rows", INNOVATION, "plan_phase", 1)]
    assert "3" in result.problems[0].message and "2" in result.problems[0].message


def test_blank_rows_between_filled_rows_are_ignored(workspace: Workspace) -> None:
    rows = [PLAN[0], {}, PLAN[1], {}, PLAN[2]]
    result = read(filled_application(workspace, rows=rows), workspace)
    assert issues(result) == []
    assert [r["_row"] for r in result.rows["plan"]] == [1, 3, 5]


def test_signoff_after_the_application_deadline(workspace: Workspace) -> None:
    result = read(filled_application(workspace, {"signoff_date": dt.date(2012, 1, 5)}), workspace)
    assert issues(result) == [at("rule.date_bounds", INNOVATION, "signoff_date")]
    assert "2011-12-31" in result.problems[0].message


def test_signoff_on_the_deadline_and_on_the_notice_date_are_fine(workspace: Workspace) -> None:
    for day in (dt.date(2011, 12, 31), dt.date(2011, 10, 28)):
        result = read(filled_application(workspace, {"signoff_date": day}), workspace)
        assert issues(result) == [], day
    early = read(filled_application(workspace, {"signoff_date": dt.date(2011, 10, 27)}), workspace)
    assert issues(early) == [at("rule.date_bounds", INNOVATION, "signoff_date")]


def test_interpreted_values_warn_but_stay_valid(workspace: Workspace) -> None:
    path = filled_application(
        workspace,
        {
            "budget_special": "５００００",
            "start_date": "2011年11月1日",
            "end_date": "2012.6.30",
            "contact_phone": 13079100000,
            "budget_party_fee": "2万",
        },
        rows=plan_with(1, plan_start="20111101"),
    )
    result = read(path, workspace)
    assert issues(result) == sorted(
        [
            at("value.interpreted", INNOVATION, "budget_special"),
            at("value.interpreted", INNOVATION, "start_date"),
            at("value.interpreted", INNOVATION, "end_date"),
            at("value.interpreted", INNOVATION, "contact_phone"),
            at("value.interpreted", INNOVATION, "budget_party_fee"),
            at("value.interpreted", INNOVATION, "plan_start", 1),
        ]
    )
    assert all(p.severity == "warning" for p in result.problems)
    assert result.valid
    values = result.values
    assert values["budget_special"] == Decimal(50000)
    assert values["budget_party_fee"] == Decimal(20000)
    assert values["start_date"] == dt.date(2011, 11, 1)
    assert values["end_date"] == dt.date(2012, 6, 30)
    assert values["contact_phone"] == "13079100000"
    assert result.rows["plan"][0]["plan_start"] == dt.date(2011, 11, 1)
    # The raw values are kept as typed, for the feedback copy.
    assert result.raw["budget_special"] == "５００００"
    assert result.raw["contact_phone"] == 13079100000


def test_unreadable_values_are_type_errors(workspace: Workspace) -> None:
    result = read(
        filled_application(
            workspace,
            {"budget_special": "五万元", "start_date": "明年春天", "contact_phone": "85712345"},
        ),
        workspace,
    )
    assert issues(result) == sorted(
        [
            at("value.type", INNOVATION, "budget_special"),
            at("value.type", INNOVATION, "start_date"),
            at("value.type", INNOVATION, "contact_phone"),
        ]
    )


def test_a_bound_is_told_as_a_clerk_writes_it(workspace: Workspace) -> None:
    """Scores are 0–25: "不能大于 25", not "25.0"."""
    from xlsxflow.validation.values import _num

    assert [_num(Decimal(v)) for v in ("25.0", "1E+2", "0.5", "2.50")] == [
        "25",
        "100",
        "0.5",
        "2.50",
    ]


def test_negative_budget_is_out_of_range(workspace: Workspace) -> None:
    result = read(filled_application(workspace, {"budget_special": -100}), workspace)
    assert issues(result) == [at("value.out_of_range", INNOVATION, "budget_special")]


def test_prefilled_committee_code_mistyped_is_a_warning(workspace: Workspace) -> None:
    result = read(filled_application(workspace, {"committee_code": "T1"}), workspace)
    assert issues(result) == [at("form.prefilled_changed", INNOVATION, "committee_code")]
    assert result.committee == "T01" and result.values["committee_code"] == "T01"


@pytest.mark.parametrize("field_id", ["committee_code", "committee_name"])
def test_a_form_filled_by_another_committee_is_an_error(
    workspace: Workspace, field_id: str
) -> None:
    """T02 filled in the form issued to T01, with its own code or name in the header:
    not credited to T01 (whose own form would later replace T02's project)."""
    t02 = workspace.roster.committee("T02")
    typed = {"committee_code": "t02", "committee_name": t02.name}[field_id]
    result = read(filled_application(workspace, {field_id: typed}), workspace)
    assert issues(result) == [at("form.other_committee", INNOVATION, field_id)]
    assert not result.valid
    t01 = workspace.roster.committee("T01")
    assert f"下发给“T01 {t01.name}”" in result.problems[0].message
    assert f"“T02 {t02.name}”" in result.problems[0].message


def test_all_problems_are_collected_in_one_run(workspace: Workspace) -> None:
    path = filled_application(
        workspace,
        {"project_name": None, "direction": "Z9", "signoff_date": dt.date(2012, 1, 5)},
        rows=PLAN[:2],
    )
    result = read(path, workspace)
    assert issues(result) == sorted(
        [
            at("value.required", INNOVATION, "project_name"),
            at("value.choice", INNOVATION, "direction"),
            at("rule.date_bounds", INNOVATION, "signoff_date"),
            at("rule.min_rows", INNOVATION, "plan_phase", 1),
        ]
    )
    # Reported in reading order: top to bottom, left to right.
    rows = [int("".join(ch for ch in p.cell if ch.isdigit())) for p in result.problems]
    assert rows == sorted(rows)


def test_every_reported_code_is_in_the_catalogue(workspace: Workspace) -> None:
    path = filled_application(workspace, {"project_name": "长" * 50, "direction": "Z9"})
    for problem in read(path, workspace).problems:
        assert problem.code in CATALOGUE
        assert problem.message and "{" not in problem.message


# -- form-specific rules --------------------------------------------------------------------


def test_demonstration_needs_prior_results(workspace: Workspace) -> None:
    kind = "application_demonstration"
    result = read(filled_application(workspace, {"prior_results": None}, kind=kind), workspace)
    assert issues(result) == [at("value.required", kind, "prior_results")]


def test_innovation_does_not_need_prior_results(workspace: Workspace) -> None:
    assert "prior_results" not in application_values(INNOVATION)
    assert issues(read(filled_application(workspace), workspace)) == []


@pytest.mark.parametrize(
    ("source", "department", "ok"),
    [
        ("NCX-2010-CX-003", None, True),
        (None, "是", True),
        ("NCX-2010-CX-003", "否", True),
        ("NCX-2010-CX-003", "是", False),
        (None, None, False),
        (None, "否", False),
    ],
)
def test_institutional_needs_exactly_one_source(
    workspace: Workspace, source: str | None, department: str | None, ok: bool
) -> None:
    kind = "application_institutional"
    path = filled_application(
        workspace,
        {"source_project_no": source, "proposed_by_department": department},
        kind=kind,
    )
    result = read(path, workspace)
    expected = [] if ok else [at("rule.exactly_one", kind, "source_project_no")]
    assert issues(result) == expected


def test_ledger_task_done_needs_a_date(workspace: Workspace) -> None:
    tasks = [dict(row) for row in LEDGER_ROWS["tasks"]]
    tasks[0]["task_done_date"] = None
    result = read(filled_ledger(workspace, tasks=tasks), workspace)
    assert issues(result) == [at("rule.done_needs_date", "ledger", "task_done_date", 1)]


def test_ledger_done_date_with_progress_below_100_is_a_warning(workspace: Workspace) -> None:
    tasks = [dict(row) for row in LEDGER_ROWS["tasks"]]
    tasks[1]["task_done_date"] = dt.date(2012, 4, 1)
    result = read(filled_ledger(workspace, tasks=tasks), workspace)
    assert issues(result) == [at("rule.date_without_done", "ledger", "task_progress", 2)]
    assert result.valid


def test_ledger_unreadable_done_date_is_reported_once(workspace: Workspace) -> None:
    """Found by these tests: an unreadable date was also reported as missing."""
    tasks = [dict(row) for row in LEDGER_ROWS["tasks"]]
    tasks[0]["task_done_date"] = "上个月"
    result = read(filled_ledger(workspace, tasks=tasks), workspace)
    assert issues(result) == [at("value.type", "ledger", "task_done_date", 1)]


def test_ledger_progress_above_100_is_out_of_range(workspace: Workspace) -> None:
    tasks = [dict(row) for row in LEDGER_ROWS["tasks"]]
    tasks[1]["task_progress"] = 120
    result = read(filled_ledger(workspace, tasks=tasks), workspace)
    assert issues(result) == [at("value.out_of_range", "ledger", "task_progress", 2)]


def test_ledger_progress_as_percent_text(workspace: Workspace) -> None:
    tasks = [dict(row) for row in LEDGER_ROWS["tasks"]]
    tasks[1]["task_progress"] = "50%"
    result = read(filled_ledger(workspace, tasks=tasks), workspace)
    assert issues(result) == [at("value.interpreted", "ledger", "task_progress", 2)]
    assert result.rows["tasks"][1]["task_progress"] == Decimal(50)


def test_ledger_incomplete_task_row(workspace: Workspace) -> None:
    tasks = [*LEDGER_ROWS["tasks"], {"task_target": "建立台账"}]
    result = read(filled_ledger(workspace, tasks=tasks), workspace)
    missing = ("task_owner", "task_deadline", "task_requirement")
    assert issues(result) == sorted(at("rule.row_incomplete", "ledger", c, 3) for c in missing)


def test_acceptance_survey_needs_tallies(workspace: Workspace) -> None:
    tallies = ("survey_satisfied", "survey_basic", "survey_unsatisfied")
    result = read(filled_acceptance(workspace, dict.fromkeys(tallies)), workspace)
    assert issues(result) == sorted(at("rule.required_if", "acceptance", f) for f in tallies)
    without = read(
        filled_acceptance(workspace, {"method_survey": "否", **dict.fromkeys(tallies)}),
        workspace,
    )
    assert issues(without) == []


def test_acceptance_negative_tallies(workspace: Workspace) -> None:
    result = read(
        filled_acceptance(workspace, {"method_survey": "否", "survey_basic": -3}), workspace
    )
    assert issues(result) == [at("value.out_of_range", "acceptance", "survey_basic")]


def test_acceptance_negative_tally_with_survey_is_reported_once(workspace: Workspace) -> None:
    """Found by these tests: a filled but negative tally was also called "not filled"."""
    result = read(filled_acceptance(workspace, {"survey_unsatisfied": -1}), workspace)
    assert issues(result) == [at("value.out_of_range", "acceptance", "survey_unsatisfied")]


def test_acceptance_score_above_100(workspace: Workspace) -> None:
    result = read(filled_acceptance(workspace, {"benefit_score": 101}), workspace)
    assert issues(result) == [at("value.out_of_range", "acceptance", "benefit_score")]


def test_acceptance_outside_the_cycle(workspace: Workspace) -> None:
    result = read(filled_acceptance(workspace, {"acceptance_date": dt.date(2013, 1, 5)}), workspace)
    assert issues(result) == [at("rule.date_bounds", "acceptance", "acceptance_date")]


# -- who sent it ---------------------------------------------------------------------------


def test_committee_not_in_the_roster(workspace: Workspace, tmp_path: Any) -> None:
    from xlsxflow.config import Config
    from xlsxflow.roster import Roster
    from xlsxflow.sample_county import sample_roster
    from xlsxflow.workspace import init_workspace

    path = filled_application(workspace)
    others = sample_roster()
    smaller = Roster(committees=[c for c in others.committees if c.code != "T01"])
    other = init_workspace(tmp_path / "other", Config(), smaller)
    result = read(path, other)
    assert "form.unknown_committee" in codes(result)
    assert not result.valid


def test_return_of_another_cycle_is_a_warning(workspace: Workspace, tmp_path: Any) -> None:
    from xlsxflow.config import Config, CycleConfig
    from xlsxflow.sample_county import sample_roster
    from xlsxflow.workspace import init_workspace

    path = write_return(workspace, INNOVATION, application_values(), {"plan": PLAN})
    cycle = CycleConfig(
        year=2012,
        notice_date=dt.date(2012, 10, 28),
        application_deadline=dt.date(2012, 12, 31),
        implementation_end=dt.date(2013, 6, 30),
        dispatch_meetings=(dt.date(2013, 3, 31),),
        acceptance_deadline=dt.date(2013, 12, 31),
    )
    later = init_workspace(tmp_path / "later", Config(cycle=cycle), sample_roster())
    result = read(path, later)
    assert "form.wrong_cycle" in codes(result)


def test_institutional_unusable_source_is_reported_once(workspace: Workspace) -> None:
    """Found by these tests: a source number that is too long was also called missing."""
    kind = "application_institutional"
    path = filled_application(workspace, {"source_project_no": "X" * 31}, kind=kind)
    assert issues(read(path, workspace)) == [at("value.too_long", kind, "source_project_no")]


@given(
    st.lists(
        st.tuples(st.sampled_from(["", "a", "b"]), st.sampled_from(["", "t1", "t2", "t3"])),
        max_size=8,
    ),
    st.randoms(use_true_random=False),
)
def test_superseded_files_are_those_saved_before_another_of_their_form(versions, rnd):
    """Order-independent; a file is replaced exactly when a file of its form was saved
    later, and then by one saved last."""
    from xlsxflow.problems import FileResult
    from xlsxflow.validate import superseded_by

    results = [
        FileResult(path=f"f{i}.xlsx", instance=inst or None, saved_at=at)
        for i, (inst, at) in enumerate(versions)
    ]
    found = superseded_by(results)
    shuffled = results[:]
    rnd.shuffle(shuffled)
    assert superseded_by(shuffled) == found
    saved = {r.path: r for r in results}
    for r in results:
        last = max((o.saved_at for o in results if o.instance == r.instance), default="")
        assert (r.path in found) == bool(r.instance and r.saved_at < last)
        if r.path in found:
            newer = saved[found[r.path]]
            assert (newer.instance, newer.saved_at) == (r.instance, last)
