"""A table cut out of a stored return by SQLite is the table of the whole return."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from xlsxflow.register.store import Store, Submission

CELL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
ROWS = st.lists(st.dictionaries(st.text(min_size=1, max_size=8), CELL, max_size=6), max_size=5)


def submission(sha: str, payload: dict) -> Submission:
    return Submission(
        sha256=sha,
        size=1,
        name="a.xlsx",
        archived="packs/x.zip!a.xlsx",
        format="xlsx",
        form="ledger",
        instance="i",
        committee="T01",
        project="P",
        cycle="2011",
        saved_at="",
        valid=True,
        problems=[],
        payload_json=json.dumps(payload, ensure_ascii=False, sort_keys=True),
    )


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["tasks", "funds", "adjustments", "a.b", "表"]), ROWS))
def test_each_table_comes_out_as_stored(tmp_path_factory, tables: dict) -> None:
    path: Path = tmp_path_factory.mktemp("store") / "register.sqlite"
    payload = {"values": {"x": "项目"}, "rows": tables, "locations": {}}
    with Store(path) as store, store.transaction():
        store.add(submission("s" * 64, payload))
    with Store(path) as store:
        [sub] = store.submissions()
        for table in ("tasks", "funds", "adjustments", "a.b", "表", "missing"):
            assert sub.table(table) == payload["rows"].get(table, []), table


PROGRESS = st.sampled_from(["0", "100", "50.5", "0.000001", "0.00", "1"])
DONE = st.sampled_from(["", "2012-01-31"])
TASK = st.fixed_dictionaries(
    {"task_no": st.just("1")},
    optional={
        "task_progress": st.one_of(st.none(), PROGRESS),
        "task_done_date": st.one_of(st.none(), DONE),
    },
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(TASK, max_size=4), min_size=1, max_size=6))
def test_sqlite_finds_the_ledgers_whose_work_started_as_the_state_machine_does(
    tmp_path_factory, ledgers: list[list[dict]]
) -> None:
    """The state machine asks SQLite which stored ledgers show progress or a completion
    date (``state.STARTED_TASK``); a ledger held in memory is looked at in Python."""
    from xlsxflow.register.state import _ledgers_with_work, _work_started

    path: Path = tmp_path_factory.mktemp("store") / "register.sqlite"
    held = [
        submission(f"{i:064d}", {"values": {}, "rows": {"tasks": tasks}, "locations": {}})
        for i, tasks in enumerate(ledgers)
    ]
    with Store(path) as store, store.transaction():
        for sub in held:
            store.add(sub)
    expected = {s.sha256 for s in held if _work_started(s)}
    with Store(path) as store:
        stored = store.submissions()
        assert _ledgers_with_work(stored) == expected
    assert _ledgers_with_work(held) == expected


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.dictionaries(st.sampled_from(["tasks", "adjustments", "表"]), ROWS), max_size=6),
    st.sets(st.integers(0, 5)),
)
def test_values_and_tables_of_many_returns_at_once_are_those_of_each(
    tmp_path_factory, returns: list[dict], held_ones: set[int]
) -> None:
    """``payloads_of`` and ``tables_of`` ask a store once for all of its returns; returns
    held in memory (new in this merge) are mixed in. Each answer is the return's own."""
    from xlsxflow.register.store import payloads_of, tables_of

    path: Path = tmp_path_factory.mktemp("store") / "register.sqlite"
    made = [
        submission(f"{i:064d}", {"values": {"n": i}, "rows": rows, "locations": {}})
        for i, rows in enumerate(returns)
    ]
    with Store(path) as store, store.transaction():
        for sub in made:
            store.add(sub)
    with Store(path) as store:
        stored = {s.sha256: s for s in store.submissions()}
    mixed = [sub if i in held_ones else stored[sub.sha256] for i, sub in enumerate(made)]
    assert sum(s.payload_json is None for s in mixed) == len(made) - len(
        held_ones & set(range(len(made)))
    )
    assert payloads_of(mixed) == {s.sha256: s.payload for s in made}
    for table in ("tasks", "adjustments", "表", "missing"):
        expected = {s.sha256: s.table(table) for s in made if s.table(table)}
        assert tables_of(mixed, table) == expected, table
