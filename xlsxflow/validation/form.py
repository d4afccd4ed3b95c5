"""Validate one identified, extracted form: every value, table and rule, plus who sent it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xlsxflow.extract import Extracted, Found
from xlsxflow.identify import Identity
from xlsxflow.problems import Problem
from xlsxflow.validation.context import ValidationContext
from xlsxflow.validation.rules import Facts, apply_rules
from xlsxflow.validation.tables import Row, check_table
from xlsxflow.validation.values import convert, is_empty, required_problem


@dataclass
class Validated:
    values: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, list[Row]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _sender(
    identity: Identity, values: dict[str, Any], found: dict[str, Found], ctx: ValidationContext
) -> list[Problem]:
    problems: list[Problem] = []
    meta = identity.meta
    code = meta.get("xf_committee") or ""
    if identity.by_labels:
        code = str(values.get("committee_code") or "")
        meta["xf_committee"] = code
    if code and not ctx.knows_committee(code):
        where = found.get("committee_code")
        loc = {"sheet": where.sheet, "cell": where.cell} if where else {}
        problems.append(
            Problem.of("form.unknown_committee", code=code, field="committee_code", **loc)
        )
    typed = values.get("committee_code")
    if code and typed not in (None, code) and not identity.by_labels:
        where = found["committee_code"]
        problems.append(
            Problem.of(
                "form.prefilled_changed",
                label=identity.spec.field("committee_code").label,
                expected=code,
                found=typed,
                sheet=where.sheet,
                cell=where.cell,
                field="committee_code",
            )
        )
        values["committee_code"] = code
    cycle = meta.get("xf_cycle")
    expected = str(ctx.config.cycle.year)
    if cycle and cycle != expected:
        problems.append(Problem.of("form.wrong_cycle", found=cycle, expected=expected))
    return problems


def validate_form(
    identity: Identity, extracted: Extracted, ctx: ValidationContext, date1904: bool
) -> Validated:
    spec = identity.spec
    out = Validated()
    for f in spec.fields:
        found = extracted.fields.get(f.id)
        value, problems = convert(f, found, ctx, date1904)
        out.problems += problems
        if value is not None:
            out.values[f.id] = value
        elif f.required and not f.locked and not problems and is_empty(found):
            out.problems.append(required_problem(f, found, ctx))
    for section in spec.sections:
        if section.table is None or section.table.id not in extracted.tables:
            continue
        rows, problems = check_table(section, extracted.tables[section.table.id], ctx, date1904)
        out.rows[section.table.id] = rows
        out.problems += problems
    out.problems += apply_rules(Facts(spec, out.values, extracted.fields, out.rows))
    out.problems += _sender(identity, out.values, extracted.fields, ctx)
    return out
