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
    other = _other_committee(identity, values, found, ctx, code)
    typed = values.get("committee_code")
    if other is not None:
        problems.append(other)
    elif code and typed not in (None, code) and not identity.by_labels:
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


def _other_committee(
    identity: Identity,
    values: dict[str, Any],
    found: dict[str, Found],
    ctx: ValidationContext,
    code: str,
) -> Problem | None:
    """A form issued to one committee whose header names another on the roster (its
    code or its name typed over the prefilled ones): another committee filled it in. Not
    a slip to correct silently: its project would be counted as the issuing
    committee's, and replaced when that one sends its own form."""
    roster = ctx.roster
    if roster is None or identity.by_labels or not roster.has(code):
        return None
    issued = roster.committee(code)
    typed_code = str(values.get("committee_code") or "")
    typed_name = str(values.get("committee_name") or "")
    named = roster.named(typed_name) if typed_name != issued.name else None
    coded = roster.coded(typed_code) if typed_code != code else None
    if coded is not None and coded.code != code:
        other, field_id = coded, "committee_code"
    elif named is not None and named.code != code:
        other, field_id = named, "committee_name"
    else:
        return None
    where = found.get(field_id)
    return Problem.of(
        "form.other_committee",
        issued=f"{issued.code} {issued.name}",
        other=f"{other.code} {other.name}",
        field=field_id,
        **({"sheet": where.sheet, "cell": where.cell} if where else {}),
    )


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
