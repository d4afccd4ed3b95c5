"""The cross-field rules a spec declares (``[[rules]]`` / section ``rules``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from xlsxflow.extract import Found
from xlsxflow.forms.spec import FormSpec, RuleSpec
from xlsxflow.problems import Problem
from xlsxflow.validation.tables import Row
from xlsxflow.validation.values import is_empty


class Facts:
    """The values and locations a rule may look at."""

    def __init__(
        self,
        spec: FormSpec,
        values: Mapping[str, Any],
        found: Mapping[str, Found],
        rows: Mapping[str, list[Row]],
    ) -> None:
        self.spec = spec
        self.values = values
        self.found = found
        self.rows = rows

    def label(self, field_id: str) -> str:
        return self.spec.field(field_id).label

    def where(self, field_id: str) -> dict[str, str]:
        found = self.found.get(field_id)
        if found is None:
            return {"field": field_id}
        return {"sheet": found.sheet, "cell": found.cell, "field": field_id}

    def table_rows(self, column_id: str) -> list[Row]:
        table = self.spec.table_of(column_id)
        return self.rows.get(table.id, []) if table else []


def _row_where(row: Row, column_id: str) -> dict[str, str]:
    found = row.found.get(column_id)
    if found is None:
        return {"field": column_id}
    return {"sheet": found.sheet, "cell": found.cell, "field": column_id}


def date_order(rule: RuleSpec, facts: Facts) -> list[Problem]:
    first, second = rule.fields
    a, b = facts.values.get(first), facts.values.get(second)
    if a is None or b is None or a <= b:
        return []
    return [
        Problem.of(
            "rule.date_order",
            first_label=facts.label(first),
            first=a.isoformat(),
            second_label=facts.label(second),
            second=b.isoformat(),
            **facts.where(second),
        )
    ]


def rows_within(rule: RuleSpec, facts: Facts) -> list[Problem]:
    low, high = (facts.values.get(b) for b in rule.bounds)
    if low is None or high is None:
        return []
    problems = []
    for column in rule.columns:
        label = facts.label(column)
        for row in facts.table_rows(column):
            value = row.values.get(column)
            if value is not None and not low <= value <= high:
                problems.append(
                    Problem.of(
                        "rule.rows_within",
                        label=f"{label}（第 {row.number} 行）",
                        value=value.isoformat(),
                        low=low.isoformat(),
                        high=high.isoformat(),
                        **_row_where(row, column),
                    )
                )
    return problems


def rows_in_order(rule: RuleSpec, facts: Facts) -> list[Problem]:
    start, end = rule.columns
    problems = []
    previous = None
    for row in facts.table_rows(start):
        a, b = row.values.get(start), row.values.get(end)
        if a is not None and b is not None and a > b:
            problems.append(
                Problem.of(
                    "rule.date_order",
                    first_label=f"{facts.label(start)}（第 {row.number} 行）",
                    first=a.isoformat(),
                    second_label=facts.label(end),
                    second=b.isoformat(),
                    **_row_where(row, end),
                )
            )
        if a is not None:
            if previous is not None and a < previous:
                problems.append(
                    Problem.of(
                        "rule.rows_in_order",
                        label=f"{facts.label(start)}（第 {row.number} 行）",
                        value=a.isoformat(),
                        previous=previous.isoformat(),
                        **_row_where(row, start),
                    )
                )
            previous = a
    return problems


def _given(value: Any) -> bool:
    return value is not None and value != "" and value != "no"


def exactly_one(rule: RuleSpec, facts: Facts) -> list[Problem]:
    # A cell filled but unusable (too long, not in the list) counts as given: its own
    # problem is reported at the cell, "fill in one of them" would be wrong.
    given = [
        f
        for f in rule.fields
        if _given(facts.values.get(f))
        or (facts.values.get(f) is None and not is_empty(facts.found.get(f)))
    ]
    if len(given) == 1:
        return []
    labels = "”与“".join(facts.label(f) for f in rule.fields)
    return [Problem.of("rule.exactly_one", labels=labels, **facts.where(rule.fields[0]))]


def done_needs_date(rule: RuleSpec, facts: Facts) -> list[Problem]:
    progress_id, date_id = rule.columns
    problems = []
    for row in facts.table_rows(progress_id):
        progress = row.values.get(progress_id)
        done = row.values.get(date_id)
        # A date that is there but unreadable is reported by its own cell, not as missing.
        blank = is_empty(row.found.get(date_id))
        if progress is not None and progress >= Decimal(100) and done is None and blank:
            problems.append(
                Problem.of(
                    "rule.done_needs_date",
                    row=row.number,
                    label=facts.label(date_id),
                    **_row_where(row, date_id),
                )
            )
        elif done is not None and progress is not None and progress < Decimal(100):
            problems.append(
                Problem.of(
                    "rule.date_without_done",
                    row=row.number,
                    progress=format(progress, "f"),
                    **_row_where(row, progress_id),
                )
            )
    return problems


def required_if(rule: RuleSpec, facts: Facts) -> list[Problem]:
    if rule.when is None or facts.values.get(rule.when) != rule.equals:
        return []
    when = facts.spec.field(rule.when)
    shown = rule.equals or ""
    if when.choices:
        from xlsxflow.forms import catalog

        choices = catalog().choice(when.choices)
        shown = choices.display(choices.by_code(shown))
    return [
        Problem.of(
            "rule.required_if",
            when_label=when.label,
            equals=shown,
            label=facts.label(f),
            **facts.where(f),
        )
        for f in rule.fields
        # Filled but unusable (a negative tally, text) is reported at the cell already.
        if facts.values.get(f) is None and is_empty(facts.found.get(f))
    ]


CHECKS: dict[str, Callable[[RuleSpec, Facts], list[Problem]]] = {
    "date_order": date_order,
    "rows_within": rows_within,
    "rows_in_order": rows_in_order,
    "exactly_one": exactly_one,
    "done_needs_date": done_needs_date,
    "required_if": required_if,
}


def apply_rules(facts: Facts) -> list[Problem]:
    problems: list[Problem] = []
    for rule in facts.spec.rules:
        problems += CHECKS[rule.check](rule, facts)
    return problems
