"""A merge with nothing to do, told from the store alone.

A clerk re-runs merge many times a day, mostly with nothing new in the inbox. Proving
that takes only the store, ``stat`` of each inbox file and the register's hash; for a
county, loading the config, the roster and the form specifications (pydantic) was two
thirds of such a run. So this module uses the standard library only, and any doubt —
a file not seen before or changed, a file that was skipped, a register saved by the
clerk, a changed config or roster, another merge running — falls through to the full
merge, which reaches the same answer the long way (and reports what needs reporting).
It also counts the inbox files new to the store, for merge and for run to start their
readers early (``parallel.readers_ahead``).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field

from xlsxflow.errors import UsageError
from xlsxflow.fsutil import FileBusyError, LockedError, ensure_writable, exclusive_lock, sha256_of
from xlsxflow.inbox import listing
from xlsxflow.register.hashes import InboxHashes
from xlsxflow.register.merge_report import MergeReport
from xlsxflow.register.store import Store
from xlsxflow.workspace import Workspace


def register_inputs(ws: Workspace, generation: int) -> str:
    """What register.xlsx is made of besides the store: config, roster, our version."""
    from xlsxflow import __version__

    digest = hashlib.sha256(f"{__version__}|{generation}|".encode())
    for path in (ws.config_path, ws.roster_path):
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Outlook:
    """What the store alone tells of the merge about to run."""

    report: MergeReport | None  # the merge's report, when it would change nothing
    # inbox files surely new (by their number: files changed in place are not counted),
    # for the merge to start its readers early (``parallel.readers_ahead``)
    new_files: int = 0
    # the inbox as listed here: the merge that follows at once goes through it rather
    # than listing a province's 10,000 files again (20–35 ms; a file gone meanwhile is
    # left out by the merge)
    listed: list[str] | None = field(default=None, compare=False)


def nothing_new(ws: Workspace) -> Outlook:
    """The report of a merge of ``ws`` that would change nothing, or none when a merge
    may have something to do. Like a merge, fails if register.xlsx is held open."""
    store_path = ws.data / "register.sqlite"
    if not ws.inbox.is_dir():
        return Outlook(None)
    if not store_path.is_file():
        paths = _listed(ws)
        return Outlook(None, len(paths or ()), paths)
    if not ws.register_path.is_file():
        return Outlook(None)
    try:
        with exclusive_lock(ws.data / "merge.lock"):
            # (checked with the lock held, as a merge does: opening the file could make
            # a running merge fail to replace it on Windows)
            ensure_writable(ws.register_path)
            with Store(store_path, readonly=True) as store:
                return _unchanged(ws, store)
    except FileBusyError:
        raise
    except (LockedError, sqlite3.Error, OSError, ValueError):
        return Outlook(None)  # (the full merge says what is wrong, if anything is)


def surely_new(ws: Workspace) -> int:
    """How many more files the inbox holds than the store's inbox cache knows (all of
    them before the first merge): the new files ``run`` will read, by their number only,
    as ``nothing_new`` counts them for merge. A copy of a merged return under another
    name counts, and a new file that replaced a removed one does not (the readers then
    started ahead are let go, or the read starts its own). ``run`` reads before it
    merges, whatever the register's state, so this asks nothing else, takes no lock (a
    merge running now is told by run's merge) and waits for none: any doubt counts
    none."""
    store_path = ws.data / "register.sqlite"
    if not ws.inbox.is_dir():
        return 0
    if not store_path.is_file():
        return _count(ws)
    try:
        with Store(store_path, readonly=True, wait=0) as store:
            return max(0, len(listing([ws.inbox])) - store.inbox_count()[0])
    except (sqlite3.Error, OSError, ValueError, UsageError):
        return 0


def _count(ws: Workspace) -> int:
    """How many files a workspace's first merge will read: all of the inbox's."""
    return len(_listed(ws) or ())


def _listed(ws: Workspace) -> list[str] | None:
    """The inbox's files, or None if it cannot be listed (the merge says why)."""
    try:
        return listing([ws.inbox])
    except (OSError, UsageError):
        return None


def _unchanged(ws: Workspace, store: Store) -> Outlook:
    """(The cheapest checks first: with new files in the inbox, as mostly when this
    fails, listing it is enough to tell; with a file resubmitted, its ``stat``.)"""
    names = store.meta("form_names")
    if names is None or store.meta("register_inputs") != register_inputs(ws, store.generation):
        return Outlook(None)
    paths = listing([ws.inbox])
    held, trusted = store.inbox_count()
    if len(paths) != trusted:
        # new files, files gone since (the cache is to be trimmed), or files too recent
        # to be trusted by their stat when they were hashed (read again: not new)
        return Outlook(None, max(0, len(paths) - held), paths)
    hashes = InboxHashes(ws.inbox, store.inbox_hashes())
    forms = store.forms()
    report = MergeReport(register=str(ws.register_path), form_names=json.loads(names))
    for path in paths:
        sha = hashes.cached(path)
        if sha is None or sha not in forms:  # new, changed, or read and skipped before
            return Outlook(None, listed=paths)
        report.unchanged[forms[sha] or "unknown"] += 1
    # (last: a resubmitted file usually tells sooner than hashing a province's register)
    if sha256_of(ws.register_path) != store.meta("register_sha"):
        return Outlook(None, listed=paths)
    report.files = len(paths)
    return Outlook(report)
