"""What a version of a return changed since the one before, in its form's words.

提交记录 says it beside every version after the first ("任务台账、经费使用情况"). Working it
out compares the two versions' values, loaded from the store; a register a year old
holds some four versions of each ledger, and comparing them all again at every merge
took 0.195 s of a 0.66 s merge of 1 % resubmitted at 1,000 returns whose ledgers had
been sent twice more (0.023 s with the texts kept: docs/PERFORMANCE.md, 77). The text
of a pair depends on the two returns alone (their hashes name them) and on the form's
spec, so it is worked out once and kept in the store's ``changes_kept``: a cache, not
a fact, under the ``version`` of the code that worked it out, as ``register.facts``
keeps the facts of each return.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from xlsxflow.forms import catalog
from xlsxflow.register.store import PAYLOAD_BATCH, Submission, payloads_of

Pair = tuple[str, str]  # (the earlier version's hash, the later one's)


@functools.cache
def version() -> str:
    """A hash of this code, of the code that reads the form specs and of the specs
    (the text is made of their labels and section titles)."""
    import sys

    from xlsxflow import forms
    from xlsxflow.fingerprint import code_digest

    return code_digest(sys.modules[__name__], forms)


def kept_changes(subs: Iterable[Submission]) -> dict[Pair, str]:
    """The texts kept, of this version, in the stores behind ``subs``."""
    found: dict[Pair, str] = {}
    for loader in {sub.loader for sub in subs if sub.loader is not None}:
        found |= loader.changes(version())
    return found


def work_out(pairs: list[tuple[Submission, Submission]]) -> dict[Pair, str]:
    """The text of each (earlier, later) pair of versions, their values loaded
    ``PAYLOAD_BATCH`` returns at a time (a query each: an upgraded province's
    10,000 pairs asked 20,000 queries)."""
    made: dict[Pair, str] = {}
    step = PAYLOAD_BATCH // 2
    for start in range(0, len(pairs), step):
        batch = pairs[start : start + step]
        payloads = payloads_of({s.sha256: s for pair in batch for s in pair}.values())
        for before, after in batch:
            assert after.form is not None
            made[(before.sha256, after.sha256)] = _changes(
                after.form, payloads[before.sha256], payloads[after.sha256]
            )
    return made


def _changes(form: str, old: dict[str, Any], new: dict[str, Any]) -> str:
    """Which fields and tables differ between two versions' payloads, by their labels."""
    spec = catalog().form(form)
    labels = [
        spec.field(k).label
        for k in sorted(set(old["values"]) | set(new["values"]))
        if old["values"].get(k) != new["values"].get(k)
    ]
    for section in spec.sections:
        if section.table is None:
            continue
        tid = section.table.id
        if _cells(old["rows"].get(tid, [])) != _cells(new["rows"].get(tid, [])):
            labels.append(section.short_title)
    return "、".join(labels) if labels else "内容未变（仅重新保存）"


def _cells(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A table's rows without ``_at``, where each sits in the file (``intake``): the
    texts compare what was typed."""
    return [{k: v for k, v in r.items() if k != "_at"} for r in rows]
