"""The little that deriving the register reads of every return, kept beside it.

Deriving a province's register asked the store for three small things of each return —
an application's name, type and source project; whether a ledger's work has started;
a ledger's adjustments — and SQLite read all of the returns' values to find them (50 MB
at every merge, an eighth of a merge of 1 % resubmitted). They depend on the return's
values alone, so they are worked out once, in the process that reads the return, and
kept in the store's ``return_facts``: a cache, not a fact, each under the ``version``
of the code that worked it out. A return without them (in a store made by an older
xlsxflow, or by other code) has them worked out from its stored values, which give the
same (held by a test); merge keeps those.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from xlsxflow.register.codec import to_json
from xlsxflow.register.store import PAYLOAD_BATCH, Submission, by_store, payloads_of
from xlsxflow.templates import APPLICATION_KINDS

# The application's values that deriving the register asks of every project (the rest
# are loaded when a project's rows are built: see ``state.derive``).
LIGHT_FIELDS = ("project_name", "project_type", "source_project_no")

Facts = dict[str, Any]


@functools.cache
def version() -> str:
    """A hash of the code that works out and encodes the facts (and of the form specs):
    facts kept by other code are worked out again, whatever the version number says."""
    import sys

    from xlsxflow import templates
    from xlsxflow.fingerprint import code_digest
    from xlsxflow.register import codec

    return code_digest(sys.modules[__name__], codec, templates)


def facts_of(form: str | None, values: dict[str, Any], rows: dict[str, list[Any]]) -> Facts:
    """The facts of a return of ``form`` with these ``values`` and table ``rows``
    (typed as read, or as stored: both give the same JSON)."""
    if form in APPLICATION_KINDS:
        return {"light": {k: values[k] for k in LIGHT_FIELDS if values.get(k) is not None}}
    if form == "ledger":
        return {
            "started": any(_started(task) for task in rows.get("tasks", [])),
            "adjustments": rows.get("adjustments", []),
        }
    return {}


def _started(task: dict[str, Any]) -> bool:
    """Whether a task shows progress or a completion date."""
    progress = task.get("task_progress")
    return (progress is not None and Decimal(progress) > 0) or bool(task.get("task_done_date"))


def facts_json(form: str | None, values: dict[str, Any], rows: dict[str, list[Any]]) -> str:
    """``facts_of``, as the store keeps them."""
    return to_json(facts_of(form, values, rows))


def facts_for(subs: Iterable[Submission]) -> dict[str, Facts]:
    """Each submission's facts (as stored: JSON types): those kept in its store asked of
    it in one query, the others worked out from the values, ``PAYLOAD_BATCH`` at a time."""
    subs = list(subs)
    held, stored = by_store(subs)
    found: dict[str, Facts] = {s.sha256: json.loads(s.facts_json) for s in held if s.facts_json}
    for loader, shas in stored.items():
        found |= loader.facts(shas, version())
    missing = [s for s in subs if s.sha256 not in found]
    for sha, facts in worked_out(missing):
        found[sha] = json.loads(facts)
    return found


def worked_out(subs: list[Submission]) -> Iterable[tuple[str, str]]:
    """(hash, facts as stored) of each of ``subs``, from its stored values."""
    for start in range(0, len(subs), PAYLOAD_BATCH):
        batch = subs[start : start + PAYLOAD_BATCH]
        payloads = payloads_of(batch)
        for sub in batch:
            payload = payloads[sub.sha256]
            yield (
                sub.sha256,
                facts_json(sub.form, payload.get("values", {}), payload.get("rows", {})),
            )
