"""Values to JSON and back, typed by the form spec (dates, decimals, integers)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from xlsxflow.forms.spec import FieldSpec, FormSpec

NUMERIC = ("money", "percent", "score")


def encode(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def decode(f: FieldSpec, value: Any) -> Any:
    if value is None:
        return None
    if f.type == "date":
        return dt.date.fromisoformat(value)
    if f.type in NUMERIC:
        return Decimal(value)
    return value


def encode_payload(
    values: dict[str, Any], rows: dict[str, list[dict[str, Any]]], locations: dict[str, str]
) -> dict[str, Any]:
    return {
        "values": {k: encode(v) for k, v in values.items()},
        "rows": {
            t: [{k: encode(v) for k, v in row.items()} for row in rs] for t, rs in rows.items()
        },
        "loc": locations,
    }


def decode_values(spec: FormSpec, payload: dict[str, Any]) -> dict[str, Any]:
    return {k: decode(spec.field(k), v) for k, v in payload.get("values", {}).items()}


def decode_rows(spec: FormSpec, payload: dict[str, Any], table: str) -> list[dict[str, Any]]:
    out = []
    for row in payload.get("rows", {}).get(table, []):
        out.append(
            {k: (v if k.startswith("_") else decode(spec.field(k), v)) for k, v in row.items()}
        )
    return out
