"""Values to JSON and back, typed by the form spec (dates, decimals, integers)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

from xlsxflow.forms.spec import FieldSpec, FormSpec

NUMERIC = ("money", "percent", "score")
# Sorted keys, as the store has always kept them; datetimes through ``_json_value``, as
# the standard library encoder hands them (orjson would write them its own way).
_ORJSON = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _json_value(value: Any) -> str:
    """The encoders' hook for what JSON lacks; ``decode`` turns both back by field type."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot store {type(value).__name__}")


def decode(f: FieldSpec, value: Any) -> Any:
    if value is None:
        return None
    if f.type == "date":
        return dt.date.fromisoformat(value)
    if f.type in NUMERIC:
        return Decimal(value)
    return value


def payload_json(
    values: dict[str, Any], rows: dict[str, list[dict[str, Any]]], locations: dict[str, str]
) -> str:
    """A return's clean values as the store keeps them: canonical JSON (sorted keys), made
    in one call — in the worker that read the return."""
    return to_json({"values": values, "rows": rows, "loc": locations})


def to_json(data: Any) -> str:
    """Values (or anything made of them) as the store keeps them: compact JSON with sorted
    keys, by orjson, which took 3.5 times less than ``json.dumps`` with this hook (a
    reader's largest cost after the reading itself: docs/PERFORMANCE.md, 89). What orjson
    refuses (an integer beyond 64 bits, a lone surrogate) the standard library writes.
    Both texts decode to the same values, which are strings, integers, booleans, dates
    and finite decimals (a float that is not finite, which no value is, orjson would
    write as null)."""
    try:
        return orjson.dumps(data, default=_json_value, option=_ORJSON).decode()
    except orjson.JSONEncodeError:
        return json.dumps(data, default=_json_value, ensure_ascii=False, sort_keys=True)


def decode_values(spec: FormSpec, payload: dict[str, Any]) -> dict[str, Any]:
    return {k: decode(spec.field(k), v) for k, v in payload.get("values", {}).items()}


def _converter(f: FieldSpec) -> Callable[[Any], Any] | None:
    if f.type == "date":
        return dt.date.fromisoformat
    if f.type in NUMERIC:
        return Decimal
    return None  # stored as it is shown


def decode_rows(spec: FormSpec, payload: dict[str, Any], table: str) -> list[dict[str, Any]]:
    return decode_table(spec, table, payload.get("rows", {}).get(table, []))


def decode_table(spec: FormSpec, table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Typed rows of ``table``; only dates and numbers need converting (a province's
    register decodes 400,000 task rows, so the converters are looked up once per call).
    Keys starting with ``_`` are row metadata and stay as they are."""
    if not rows:
        return []
    convert = {
        c.id: fn for t in spec.tables if t.id == table for c in t.columns if (fn := _converter(c))
    }
    out = []
    for row in rows:
        typed = dict(row)
        for k, fn in convert.items():
            v = typed.get(k)
            if v is not None:
                typed[k] = fn(v)
        out.append(typed)
    return out
