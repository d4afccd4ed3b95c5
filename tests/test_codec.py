"""The store's JSON: what orjson writes decodes to what the standard library's did."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlsxflow.forms import catalog
from xlsxflow.register.codec import _json_value, decode_table, to_json

# What a return's clean values are made of (``validation.values``), and what orjson
# handles differently from ``json.dumps``: integers beyond 64 bits, lone surrogates,
# datetimes, non-ASCII keys to sort.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**65),
    st.text(),
    st.dates(),
    st.datetimes(),
    st.decimals(allow_nan=False, allow_infinity=False),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _standard(data: Any) -> str:
    return json.dumps(data, default=_json_value, ensure_ascii=False, sort_keys=True)


@given(values)
def test_decodes_as_the_standard_encoding_did(data: Any) -> None:
    assert json.loads(to_json(data)) == json.loads(_standard(data))


@given(st.dictionaries(st.text(), st.integers(), max_size=6))
def test_keys_sorted_as_before(data: dict[str, int]) -> None:
    # (a store's older payloads and newer ones list their keys in one order)
    assert list(json.loads(to_json(data))) == list(json.loads(_standard(data)))


def test_a_ledger_row_round_trips_to_its_typed_values() -> None:
    row = {
        "task_target": "“两学一做”学习\t教育",
        "task_done_date": dt.date(2011, 11, 1),
        "task_progress": Decimal("85.5"),
        "_row": 7,
        "_at": "任务台账!8",
    }
    spec = catalog().forms["ledger"]
    table = "tasks"
    stored = to_json({"rows": {table: [row]}})
    assert stored.startswith('{"rows":')  # (compact: orjson wrote it)
    typed = decode_table(spec, table, json.loads(stored)["rows"][table])
    assert typed == [row]


def test_what_no_encoder_can_store_is_refused() -> None:
    with pytest.raises(TypeError):
        to_json({"x": object()})
