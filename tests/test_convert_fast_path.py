"""``convert`` answers most cells without building any message; it must give exactly
what the full conversion gives, for any value in any field."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from xlsxflow.extract import Found
from xlsxflow.forms import catalog
from xlsxflow.validation import ValidationContext
from xlsxflow.validation.values import _convert_at_length, convert

FIELDS = sorted(
    {
        (f.id, f)
        for form in catalog().forms.values()
        for f in (*form.fields, *(c for t in form.tables for c in t.columns))
    },
    key=lambda pair: pair[0],
)
CONTEXT = ValidationContext()

raw_values = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.sampled_from(["2012-03-05", "2012年3月5日", "85%", "0.85", "1,200元", "3万", " 甲 ", "是"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**12), 10**12).map(float),
    st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2040, 12, 31)),
    st.booleans(),
)


@settings(max_examples=800, deadline=None)
@given(
    pair=st.sampled_from(FIELDS),
    raw=raw_values,
    row=st.one_of(st.none(), st.integers(1, 40)),
    date1904=st.booleans(),
)
def test_the_quick_answer_is_the_full_one(pair, raw, row, date1904) -> None:
    _id, spec = pair
    found = Found(raw, "表", 4, 2)
    assert convert(spec, found, CONTEXT, date1904, row) == (
        _convert_at_length(spec, found, CONTEXT, date1904, row)
    )
