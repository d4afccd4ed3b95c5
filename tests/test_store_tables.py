"""A table cut out of a stored return by SQLite is the table of the whole return."""

from __future__ import annotations

import dataclasses
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
DONE = st.just("2012-01-31")
TASK = st.fixed_dictionaries(
    {"task_no": st.just("1")},
    optional={
        "task_progress": st.one_of(st.none(), PROGRESS),
        "task_done_date": st.one_of(st.none(), DONE),
    },
)
ADJUSTMENT = st.fixed_dictionaries(
    {"adj_what": st.text(max_size=5), "adj_date": st.sampled_from(["2012-02-01", "2012-03-05"])}
)
LEDGER = st.fixed_dictionaries(
    {"tasks": st.lists(TASK, max_size=4)}, optional={"adjustments": st.lists(ADJUSTMENT)}
)


def started_by_hand(tasks: list[dict]) -> bool:
    return any(
        float(t.get("task_progress") or 0) > 0 or bool(t.get("task_done_date")) for t in tasks
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(LEDGER, min_size=1, max_size=6), st.sets(st.integers(0, 5)))
def test_facts_kept_and_facts_worked_out_from_the_values_agree(
    tmp_path_factory, ledgers: list[dict], kept: set[int]
) -> None:
    """Whether a ledger's work started and its adjustments, as the register reads them
    (``register.facts``): kept by merge for some returns, worked out from the stored
    values for the others, worked out from the typed values for returns held in
    memory; every way gives what the ledger says."""
    from xlsxflow.forms import catalog
    from xlsxflow.register.codec import decode_table
    from xlsxflow.register.facts import facts_for, facts_json, version

    spec = catalog().form("ledger")
    path: Path = tmp_path_factory.mktemp("store") / "register.sqlite"
    held = [
        submission(f"{i:064d}", {"values": {}, "rows": rows, "locations": {}})
        for i, rows in enumerate(ledgers)
    ]
    with Store(path) as store, store.transaction():
        for i, sub in enumerate(held):
            store.add(sub)
            if i in kept:  # as the reading process works them out: from typed values
                typed = {t: decode_table(spec, t, r) for t, r in ledgers[i].items()}
                store.keep_facts(sub.sha256, version(), facts_json("ledger", {}, typed))
    with Store(path) as store:
        assert store.lacking_facts(version()) == {
            s.sha256 for i, s in enumerate(held) if i not in kept
        }
        stored = store.submissions()
    for subs in (stored, held):
        facts = facts_for(subs)
        for sub, rows in zip(subs, ledgers, strict=True):
            assert facts[sub.sha256] == {
                "started": started_by_hand(rows["tasks"]),
                "adjustments": rows.get("adjustments", []),
            }
    assert facts_for(stored[-1:]).keys() == {stored[-1].sha256}  # those asked, only


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.dictionaries(st.sampled_from(["tasks", "adjustments", "表"]), ROWS), max_size=6),
    st.sets(st.integers(0, 5)),
)
def test_values_of_many_returns_at_once_are_those_of_each(
    tmp_path_factory, returns: list[dict], held_ones: set[int]
) -> None:
    """``payloads_of`` asks a store once for all of its returns; returns held in memory
    (new in this merge) are mixed in. Each answer is the return's own."""
    from xlsxflow.register.store import payloads_of

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


def test_an_empty_completion_date_is_no_sign_of_work() -> None:
    """(As a stored ledger could hold it: the typed values never do.)"""
    from xlsxflow.register.facts import facts_of

    assert not facts_of("ledger", {}, {"tasks": [{"task_done_date": ""}]})["started"]
    assert facts_of("ledger", {}, {"tasks": [{"task_done_date": "2012-01-31"}]})["started"]
    assert not facts_of("ledger", {}, {"tasks": [{"task_progress": "0.00"}]})["started"]


def test_returns_are_listed_from_an_index_without_their_payloads(tmp_path) -> None:
    """``briefs`` and ``submissions`` run at every merge over every stored return; each
    row of the table holds its payload, so they read a covering index instead, and get
    what was stored."""
    path = tmp_path / "register.sqlite"
    made = submission("a" * 64, {"values": {}, "rows": {}, "locations": {}})
    problem = {"code": "x", "severity": "error", "message": "错"}
    with Store(path) as store, store.transaction():
        store.add(made)
        store.add(dataclasses.replace(made, sha256="b" * 64, valid=False, problems=[problem]))
    with Store(path) as store:
        asked: list[str] = []
        store.db.set_trace_callback(asked.append)
        briefs = store.briefs()
        listed = store.submissions()
        store.db.set_trace_callback(None)
        plans = [
            " ".join(str(step[-1]) for step in store.db.execute(f"EXPLAIN QUERY PLAN {sql}"))
            for sql in asked
            if sql.lstrip().upper().startswith("SELECT")
        ]
    assert len(plans) == 2
    for plan in plans:
        assert "COVERING INDEX submissions_listed" in plan, plan
    assert [(b.sha256, b.valid) for b in briefs] == [("a" * 64, True), ("b" * 64, False)]
    assert [(s.sha256, s.name, s.valid, s.problems) for s in listed] == [
        ("a" * 64, "a.xlsx", True, []),
        ("b" * 64, "a.xlsx", False, [problem]),
    ]
