"""One cell → one clean value: type, length, range, choice list and date window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from xlsxflow.extract import Found
from xlsxflow.forms import catalog
from xlsxflow.forms.hints import accepts
from xlsxflow.forms.spec import FieldSpec
from xlsxflow.normalize import (
    Unreadable,
    clean_text,
    is_blank,
    one_line,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_int,
    parse_percent,
    parse_phone,
)
from xlsxflow.problems import Problem
from xlsxflow.validation.context import ValidationContext


def _accepts(f: FieldSpec, ctx: ValidationContext) -> str:
    choices = catalog().choice(f.choices) if f.choices else None
    window = ctx.windows.get(f.bounds) if f.bounds else None
    return accepts(f, choices, (window.low, window.high) if window else None)


_TEXT = frozenset({"text", "longtext"})


def is_empty(found: Found | None) -> bool:
    return found is None or (is_blank(found.value) and not found.formula and not found.error)


def _choice(raw: object, f: FieldSpec) -> tuple[str, str | None]:
    assert f.choices is not None
    return parse_choice(raw, catalog().choice(f.choices))


# Field type → its parser, given the raw value and the field (dates take the workbook's
# date system instead: ``_parse``).
_PARSERS: dict[str, Callable[[object, FieldSpec], tuple[Any, str | None]]] = {
    "text": lambda raw, f: clean_text(raw),
    "longtext": lambda raw, f: clean_text(raw),
    "money": lambda raw, f: parse_decimal(raw),
    "score": lambda raw, f: parse_decimal(raw),
    "integer": lambda raw, f: parse_int(raw),
    "percent": lambda raw, f: parse_percent(raw),
    "phone": lambda raw, f: parse_phone(raw),
    "choice": _choice,
}


def _parse(f: FieldSpec, raw: object, date1904: bool) -> tuple[Any, str | None]:
    if f.type == "date":
        return parse_date(raw, date1904)
    return _PARSERS[f.type](raw, f)


def _num(value: Decimal | int) -> str:
    """A bound as a clerk writes it: 25, not 25.0; 0.5 as it is."""
    if isinstance(value, Decimal):
        return format(value.normalize() if value == value.to_integral() else value, "f")
    return str(value)


def _range_problem(f: FieldSpec, value: Any) -> str | None:
    if f.type in ("text", "longtext") and f.max_length and len(value) > f.max_length:
        return "too_long"
    if f.type in ("integer", "money", "percent", "score"):
        low, high = f.number_bounds
        if value < low:
            return f"不能小于 {_num(low)}"
        if high is not None and value > high:
            return f"不能大于 {_num(high)}"
    return None


def convert(
    f: FieldSpec,
    found: Found | None,
    ctx: ValidationContext,
    date1904: bool,
    row: int | None = None,
) -> tuple[Any, list[Problem]]:
    """The clean value (``None`` when blank or unusable) and what was wrong with it.

    ``required`` is not judged here: a blank single field and a blank cell in a row need
    different messages, so the callers decide.
    """
    if found is None:
        return None, []
    raw = found.value
    if found.error or found.formula or found.truncated:
        return _convert_at_length(f, found, ctx, date1904, row)
    # Most cells: blank, or a value as it should be. Checked here without building the
    # messages a problem would need (400 cells a ledger); any doubt goes the long way.
    kind = f.type
    if type(raw) is str and kind in _TEXT:
        text = one_line(raw)
        if text is not None and (not f.max_length or len(text) <= f.max_length):
            return text or None, []
    elif type(raw) is dt.datetime and kind == "date":
        day = raw.date()
        if _in_window(f, day, ctx):
            return day, []
    if is_blank(raw):
        return None, []
    try:
        value, note = _parse(f, raw, date1904)
    except Unreadable:
        pass
    else:
        if note is None and _range_problem(f, value) is None and _in_window(f, value, ctx):
            return value, []
    return _convert_at_length(f, found, ctx, date1904, row)


def _in_window(f: FieldSpec, value: Any, ctx: ValidationContext) -> bool:
    if f.type != "date" or not f.bounds:
        return True
    window = ctx.windows[f.bounds]
    return bool(window.low <= value <= window.high)


def _convert_at_length(
    f: FieldSpec, found: Found, ctx: ValidationContext, date1904: bool, row: int | None
) -> tuple[Any, list[Problem]]:
    """``convert`` for a value with something to say about it."""
    raw = found.value
    # A cell of a table row is named with its row, e.g. 计划进度（第 3 行）
    label = f"{f.label}（第 {row} 行）" if row is not None else f.label

    def where() -> dict[str, str]:  # built only when there is a problem to place
        return {"sheet": found.sheet, "cell": found.cell, "field": f.id}

    if found.error:
        return None, [Problem.of("value.cell_error", label=label, error=found.error, **where())]
    if found.formula and found.value is None:
        return None, [Problem.of("value.formula_no_value", label=label, **where())]
    if is_blank(raw):
        return None, []
    problems: list[Problem] = []
    if found.truncated and not f.max_length:  # with a limit, value.too_long says it
        problems.append(Problem.of("value.truncated", label=label, **where()))
    if found.formula:
        problems.append(Problem.of("value.formula", label=label, value=raw, **where()))
    try:
        value, note = _parse(f, raw, date1904)
    except Unreadable as err:
        code = "value.choice" if f.type == "choice" else "value.type"
        problems.append(
            Problem.of(code, label=label, reason=str(err), accepts=_accepts(f, ctx), **where())
        )
        return None, problems
    if note:
        problems.append(Problem.of("value.interpreted", label=label, note=note, **where()))
    reason = _range_problem(f, value)
    if reason == "too_long":
        problems.append(
            Problem.of(
                "value.too_long", label=label, length=len(value), max_length=f.max_length, **where()
            )
        )
        return None, problems
    if reason:
        problems.append(
            Problem.of(
                "value.out_of_range", label=label, value=_num(value), reason=reason, **where()
            )
        )
        return None, problems
    if f.type == "date" and f.bounds:
        window = ctx.windows[f.bounds]
        if not window.low <= value <= window.high:
            problems.append(
                Problem.of(
                    "rule.date_bounds",
                    label=label,
                    value=value.isoformat(),
                    low=window.low.isoformat(),
                    high=window.high.isoformat(),
                    why=window.why,
                    **where(),
                )
            )
    return value, problems


def required_problem(f: FieldSpec, found: Found | None, ctx: ValidationContext) -> Problem:
    where = {"sheet": found.sheet, "cell": found.cell} if found else {}
    return Problem.of(
        "value.required", label=f.label, accepts=_accepts(f, ctx), field=f.id, **where
    )


def as_json_value(value: Any) -> Any:
    """Values as JSON can hold them: dates ISO, decimals as numbers."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
