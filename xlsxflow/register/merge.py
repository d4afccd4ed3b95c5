"""``xlsxflow merge``: ingest the inbox into the store, rewrite ``register.xlsx``.

Order of work, chosen so that a crash at any point loses nothing:
1. lock the workspace; make sure register.xlsx is not held open by Excel;
2. read the clerk's edits of department-owned columns back from register.xlsx;
3. hash every inbox file whose ``stat`` changed (``register.hashes``); files already in
   the store are skipped without parsing;
4. parse and validate each new file, then archive it byte for byte under its hash (in
   packs of a few dozen; both in the worker process that reads it);
5. one SQLite transaction adds the new submissions and the department edits; it commits
   only once every archived copy (and its folder) is on disk;
6. the register is derived from all facts and written atomically (previous copy kept
   as a backup), its unchanged rows copied from the previous one, while a reader makes
   the plain sheets (``excel.chunk_workers.make_plain``); if a crash hits between 5 and
   6 the next merge writes it. A save of
   register.xlsx by the clerk during the merge is never overwritten: the merge stops
   and the next one reads the save's edits.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from xlsxflow import collector_paused
from xlsxflow.config import Config
from xlsxflow.errors import UsageError, XlsxflowError
from xlsxflow.fsutil import (
    LockedError,
    atomic_file,
    ensure_writable,
    exclusive_lock,
    flush_batch,
    fsync_dirs,
    sha256_of,
    write_atomic,
)
from xlsxflow.inbox import listing
from xlsxflow.parallel import idle_readers
from xlsxflow.problems import FileResult
from xlsxflow.register.archive import PACKS, Archive, Archiver, locate
from xlsxflow.register.changes import version as changes_version
from xlsxflow.register.codec import payload_json
from xlsxflow.register.facts import facts_json, worked_out
from xlsxflow.register.facts import version as facts_version
from xlsxflow.register.hashes import InboxHashes, Stat
from xlsxflow.register.merge_report import MergeReport
from xlsxflow.register.nothing_new import register_inputs
from xlsxflow.register.state import RegisterState, derive
from xlsxflow.register.store import Brief, Store, Submission, close_readers
from xlsxflow.validate import last_saved
from xlsxflow.validation import ValidationContext
from xlsxflow.workspace import ROSTER_KEPT, Workspace

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future, ProcessPoolExecutor

    from xlsxflow.excel.bulk_rows import PlainMade
    from xlsxflow.register.edits import Edits
    from xlsxflow.register.sheets import Figures
    from xlsxflow.register.state import RegisterState

BACKUPS_KEPT = 5
# The register as last written (by merge, schedule or score), linked, not copied, under
# data/: once the clerk has saved register.xlsx, its rows are still copied from this one.
LAST_WRITTEN = "last-written.xlsx"


def _submission(result: FileResult, sha: str, size: int, archived: str) -> Submission:
    return Submission(
        sha256=sha,
        size=size,
        name=os.path.basename(result.path),
        archived=archived,
        format=result.format,
        form=result.form,
        instance=result.instance,
        committee=result.committee,
        project=result.project,
        cycle=result.cycle,
        saved_at=result.saved_at,
        valid=result.valid,
        problems=[p.as_json() for p in result.problems],
        payload_json=result.payload_json
        or payload_json(result.values, result.rows, result.locations),
        facts_json=result.facts_json or facts_json(result.form, result.values, result.rows),
    )


# A parser reads the paths and yields their results in the order of the paths; it may
# archive what it read with ``archive`` (in the process that read it) and set each
# result's ``archived`` from what that returns.
# (the files, the context, the archive, and the processes to read on, if any)
Parser = Callable[[list[Path], ValidationContext, Archive, "Executor | None"], Iterable[FileResult]]


def parse_parallel(
    paths: list[Path], ctx: ValidationContext, archive: Archive, on: Executor | None
) -> Iterable[FileResult]:
    from xlsxflow.parallel import read_many

    # (no processes of its own: merge decided none pay, and may have a store open now)
    workers = None if on is not None else 1
    return read_many(paths, ctx, workers, keep=frozenset({"json"}), archive=archive, on=on)


def merge(
    ws: Workspace,
    parse: Parser = parse_parallel,
    now: Callable[[], dt.datetime] = dt.datetime.now,
    read_on_workers: bool = True,
    hashed: dict[str, tuple[Stat, str]] | None = None,
    listed: list[str] | None = None,
) -> MergeReport:
    """``read_on_workers``: ``parse`` reads on the processes merge starts for it (False:
    it has the results already, as ``run``'s has; none are started). ``hashed``: the
    inbox's files as the caller hashed them (``InboxHashes.trusted``), taken where their
    ``stat`` still vouches for them. ``listed``: the inbox as the caller listed it just
    before (``nothing_new``), gone through instead of listing it again."""
    report = MergeReport(register=str(ws.register_path), form_names=form_names())
    try:
        with exclusive_lock(ws.data / "merge.lock"), collector_paused():
            _merge_locked(ws, report, parse, now, read_on_workers, hashed, listed)
    except LockedError:
        raise UsageError("merge.locked", path=ws.root) from None
    return report


def _merge_locked(
    ws: Workspace,
    report: MergeReport,
    parse: Parser,
    now: Callable[[], dt.datetime],
    read_on_workers: bool,
    hashed: dict[str, tuple[Stat, str]] | None,
    listed: list[str] | None,
) -> None:
    ensure_writable(ws.register_path)
    _remove_stale_temporaries(ws)
    ws.keep_roster()  # (the data folder exists now: the lock is in it)
    ctx = ValidationContext(ws.config, ws.roster, ws.root)
    with Store(ws.data / "register.sqlite") as store:
        before = store.briefs()
        _remove_orphan_packs(ws.data / "archive", before)
        edits = None  # (edits.py, with the reader behind it, is imported only when needed)
        # (what rows are copied from when register.xlsx is the clerk's: see below)
        source: tuple[bytes, str] | None = None
        # (read once: its unchanged rows are copied from these bytes into the new one,
        # if it is still the file we wrote; else from ``source``)
        previous = ws.register_path.read_bytes() if ws.register_path.exists() else None
        on_disk = _sha_or_empty(previous) if previous is not None else None
        edited = on_disk is not None and on_disk != store.meta("register_sha")
        if edited:  # the clerk saved register.xlsx since we wrote it: read the edits
            edits = _clerk_edits(ws, store)
            source = _last_written(ws, store.meta("register_sha"))
        hashes = InboxHashes(ws.inbox, store.inbox_hashes(), hashed)
        generation = store.generation
    report.committee_edits = edits.committee_cells if edits else []
    plain: Future[dict[str, PlainMade]] | None = None
    known = {s.sha256: s for s in before}
    instances = {s.instance for s in before if s.valid and s.instance}
    # (by the listing's text, as results name them: a ``Path`` made, hashed and named
    # again for each of a province's 10,000 new returns cost the merge's own process
    # 0.12 s while the readers read, on the cores they read on)
    fresh: dict[str, tuple[str, int]] = {}
    fresh_shas: set[str] = set()
    # (sha256, name, already recorded if its content is stored): see the names below
    seen: list[tuple[str, str, bool]] = []
    texts = listing([ws.inbox]) if listed is None else listed
    hashes.share(texts, idle_readers())  # (those started to read the new files)
    for text in texts:
        try:
            sha, size = hashes.sha256(text)
        except XlsxflowError:
            if os.path.lexists(text):
                raise
            # Gone since it was listed (a second before, by ``nothing_new``): as if
            # listed a moment later. Closing a return opened from the inbox removes
            # Excel's lock file (``~$…``) beside it.
            continue
        seen.append((sha, os.path.basename(text), hashes.as_known(text)))
        if sha in known:
            report.unchanged[known[sha].form or "unknown"] += 1
        elif sha not in fresh_shas:
            fresh[text] = (sha, size)
            fresh_shas.add(sha)
    report.files = len(fresh) + sum(report.unchanged.values())
    paths = [Path(text) for text in fresh]  # (what a result's ``path`` is the text of)
    fresh = dict(zip(map(str, paths), fresh.values(), strict=True))
    folder = ws.data / "archive"
    archiver = Archiver(folder, {text: sha for text, (sha, _) in fresh.items()})
    # The processes that read the new files start here, with no store open in this
    # process (``parallel.workers_to_read``), and stay to help write the register.
    with _workers(len(fresh) if read_on_workers else 0, ctx, archiver) as workers:
        # Results go into the store as they come (one transaction for the whole merge):
        # only a small record of each new file stays in memory.
        new_subs: list[tuple[str, Submission]] = []
        stamp = now().isoformat(timespec="seconds")
        with Store(ws.data / "register.sqlite") as store:
            with store.transaction():
                for result in parse(paths, ctx, archiver, workers):
                    text = result.path
                    if result.skipped:
                        report.skipped.append((text, result.skip_reason))
                        continue
                    # (archived here if the parser did not)
                    archived = result.archived or archiver([Path(text)])[text]
                    sha, size = fresh[text]
                    sub = _submission(result, sha, size, archived)
                    store.add(sub)
                    assert sub.facts_json is not None
                    store.keep_facts(sha, facts_version(), sub.facts_json)
                    new_subs.append((text, replace(sub, payload_json=None, facts_json=None)))
                # A file the store knew, unchanged, had its name recorded by the merge
                # that stored its content (or, if that came later, by that one): only
                # the others' names are recorded (a province's 10,000 each time cost
                # 15 ms, and more as an inbox grows).
                added = {sub.sha256 for _, sub in new_subs}
                store.add_names(
                    (sha, name)
                    for sha, name, recorded in seen
                    if sha in added or (sha in known and not recorded)
                )
                for (project, column), value in sorted(edits.dept_notes.items() if edits else []):
                    store.set_dept_note(project, column, value)
                changed = edits.changed if edits else []
                report.dept_edits = len(changed)
                # The packs and their folder reach the disk before the commit.
                if new_subs:
                    flush_batch({folder / locate(sub.archived)[0] for _, sub in new_subs})
                    fsync_dirs({folder, folder / PACKS})
                store.update_inbox_hashes(*hashes.changes())
                store.set_meta("form_names", json.dumps(report.form_names, ensure_ascii=False))
                store.log(
                    stamp,
                    "merge",
                    {"new": [s.sha256 for _, s in new_subs], "dept_edits": changed},
                )
            if (
                not edited
                and on_disk is not None
                and store.generation == generation
                and store.meta("register_inputs") == register_inputs(ws, generation)
            ):
                # nothing new and register.xlsx is what we last wrote: nothing to do (but
                # keep it linked, if an older xlsxflow wrote it and did not)
                _keep_written(ws.register_path, ws.data)
                return
            # Rewritten from the previous register, by the same code: only the changed
            # projects' rows are built, and only their values loaded. (Saved by the
            # clerk since, its rows are copied from the one we wrote, if it is kept.)
            reusable = not edited or source is not None
            copies = reusable and store.meta("register_code") == rows_code()
            copied_sha = ""  # (of the register whose rows are copied; none: written whole)
            if on_disk is not None and copies:
                copied_sha = source[1] if source is not None else on_disk
            if workers is not None:
                # A reader makes the plain sheets meanwhile, from the store as committed:
                # the chunks the copied register lacks (all, written whole, when another
                # reader helps with the block sheets; else they all exit once it is done).
                plain = _plain_on(workers, store.path, copied_sha)
                if copied_sha:
                    workers.shutdown(wait=False)
                    workers = None
            subs = store.submissions()
            _keep_facts(store, subs)
            state = derive(subs, ws.config, values=not copied_sha)
            was_held = set(json.loads(store.meta("held") or "[]"))
        report.notes = [*state.notes, *_took_effect(state, was_held, report.form_names)]
        last = last_saved((s.instance, s.saved_at) for s in state.submissions)
        for text, sub in new_subs:
            kind = sub.form or "unknown"
            status = state.statuses[sub.sha256]
            if not status.accepted and sub.instance and sub.saved_at < last.get(sub.instance, ""):
                # a later version of the form is stored: it is the one that counts (as
                # validate tells it, 已有新版), and this one's refusal is no longer news
                report.superseded[kind] += 1
            elif status.held:
                report.held[kind] += 1
                report.holds.append((text, status.reason))
            elif not status.accepted:
                report.rejected[kind] += 1
                report.rejections.append((text, status.reason))
            elif sub.instance in instances:
                report.updated[kind] += 1
            else:
                report.new[kind] += 1
                instances.add(sub.instance)
        try:
            write_register(ws, state, report, on_disk or "", workers, previous, plain, source)
        finally:
            close_readers(state.submissions)


def _took_effect(state: RegisterState, was_held: set[str], names: dict[str, str]) -> list[str]:
    """What was held (暂缓) when the register was last written and is accepted now: the
    clerk was told it would take effect by itself, and is told when it did."""
    done = sorted(
        {
            (names.get(s.form or "", s.form or ""), s.project or "")
            for s in state.submissions
            if s.sha256 in was_held and state.statuses[s.sha256].accepted
        }
    )
    return [f"此前暂缓的{form}（{project}）已生效。" for form, project in done]


def _clerk_edits(ws: Workspace, store: Store) -> Edits:
    """The department's edits in register.xlsx, read against the register as it was
    shown. (A function of its own: the state derived for it, ~45 MiB at 10,000 returns,
    is freed before the merge derives the new one, not held to the end of the merge.)"""
    from xlsxflow.register.edits import read_edits

    shown = derive(store.submissions(), ws.config)
    try:
        figures = figures_for(shown, ws.config, store.meetings())
        return read_edits(ws.register_path, shown, ws.roster, store.dept_notes(), figures)
    finally:
        close_readers(shown.submissions)


def _plain_on(workers: Executor, store: Path, register_sha: str) -> Future[dict[str, PlainMade]]:
    """``excel.chunk_workers.make_plain`` on one of the readers (imported only then)."""
    from xlsxflow.excel.chunk_workers import make_plain
    from xlsxflow.excel.register_book import ROWS_PER_SHEET, SAMPLE_ROWS

    return workers.submit(make_plain, store, register_sha, ROWS_PER_SHEET, SAMPLE_ROWS)


def _keep_facts(store: Store, subs: list[Submission]) -> None:
    """Work out and keep the facts of returns stored without them (by an older xlsxflow,
    or of another version): once, not at every merge."""
    lacking = store.lacking_facts(facts_version())
    if lacking:
        made = list(worked_out([s for s in subs if s.sha256 in lacking]))
        with store.transaction():
            for sha, facts in made:
                store.keep_facts(sha, facts_version(), facts)


def rows_code() -> str:
    """``excel.register_book.rows_code`` (imported only when needed: xlsxwriter)."""
    from xlsxflow.excel import register_book

    return register_book.rows_code()


def _workers(
    files: int, ctx: ValidationContext, archiver: Archiver
) -> AbstractContextManager[ProcessPoolExecutor | None]:
    """``parallel.workers_to_read`` (imported only with files to read)."""
    if not files:
        return contextlib.nullcontext(None)
    from xlsxflow.parallel import workers_to_read

    return workers_to_read(files, ctx, archiver)


def form_names() -> dict[str, str]:
    """Form id → its Chinese name, for the report (kept in the store for nothing_new)."""
    from xlsxflow.forms import catalog

    return {k: f.name for k, f in catalog().forms.items()} | {"unknown": "未识别的文件"}


def figures_for(state: RegisterState, config: Config, meetings: list[Any]) -> Figures:
    """Latest recorded meeting per project and the evaluation of accepted projects."""
    from xlsxflow.compliance import VERDICT_TEXT
    from xlsxflow.register.figures import evaluate_all
    from xlsxflow.register.sheets import Figures

    latest: dict[str, tuple[str, str, str]] = {}
    for as_of, project, compliance, verdict, *_ in meetings:
        latest[project] = (as_of, compliance or "", VERDICT_TEXT.get(verdict or "", "未报送台帐"))
    evaluations, _totals = evaluate_all(state, config)
    return Figures(latest, {e.project: e for e in evaluations})


def write_register(
    ws: Workspace,
    state: RegisterState | None = None,
    report: MergeReport | None = None,
    expected: str | None = None,
    workers: Executor | None = None,
    read: bytes | None = None,
    plain: Future[dict[str, PlainMade]] | None = None,
    source: tuple[bytes, str] | None = None,
) -> bool:
    """Derive (unless given) and write register.xlsx; False when it was already current.
    The caller holds the workspace lock.

    The lock cannot stop a clerk saving register.xlsx from Excel or WPS meanwhile; such
    a save is never overwritten (``register.saved_meanwhile``): the next merge reads its
    edits. ``expected`` is the SHA-256 the caller saw when it started ("" for no file):
    merge read the clerk's edits from that file. Other callers rewrite it from the store
    alone, so a register the clerk saved since it was written must go through a merge
    first (``register.unread_edits``). ``workers``: merge's readers, done reading, which
    may make part of the rows. ``read``: the bytes whose hash is ``expected``, as the
    caller read them (not read again: a save since is caught just before the replace).
    ``plain``: the plain sheets as a reader makes them (``_plain_on``), used where they
    fit the register read (else made here, to the same bytes). ``source``: the register
    as we last wrote it and its hash (``_last_written``), to copy rows from when
    register.xlsx is the clerk's."""
    from xlsxflow.excel.bulk_rows import BlockCache
    from xlsxflow.excel.chunk_workers import helper
    from xlsxflow.excel.register_book import render_register_indexed
    from xlsxflow.register.sheets import register_sheets

    config = ws.config
    target = ws.register_path
    with Store(ws.data / "register.sqlite") as store:
        if state is None:
            state = derive(store.submissions(), config)
        notes = store.dept_notes()
        meetings = store.meetings()
        inputs = register_inputs(ws, store.generation)
        # Rows of register.xlsx as we last wrote it can be copied into the new one: only
        # if it is still byte for byte that file (not saved by the clerk since), or from
        # ``source``, which is.
        # (none if other code wrote it, an older xlsxflow: no row of it could be copied,
        # and a province's rows are then shared with a helper, as when built from none)
        index = (
            store.meta("register_blocks") if store.meta("register_code") == rows_code() else None
        )
        recorded = store.meta("register_sha")
    created = dt.datetime.combine(config.cycle.notice_date, dt.time())
    # One reading of the register on disk serves both the copying of unchanged rows and
    # the check whether anything changed (a save by the clerk meanwhile cannot mix in).
    if read is not None and expected:
        previous, previous_sha = read, expected
    else:
        previous = target.read_bytes() if target.exists() else None
        previous_sha = _sha_or_empty(previous)
    if expected is None and previous is not None and previous_sha != recorded:
        raise UsageError("register.unread_edits", path=target)
    if expected is not None and previous_sha != expected:
        raise XlsxflowError("register.saved_meanwhile", path=target)
    copied, copied_sha = source if source is not None else (previous, previous_sha)
    cache = BlockCache.load(copied, index, copied_sha) if copied is not None and index else None
    # Built from nothing, a province's task rows are shared with a helper process
    # (started now, so that its start-up overlaps the building of the sheets).
    projects = 0 if cache is not None else len(state.projects)
    with helper(projects, workers, plain_elsewhere=plain is not None) as pool:
        sheets = register_sheets(
            state, ws.roster, config, notes, figures_for(state, config, meetings), meetings
        )
        data, blocks = render_register_indexed(
            sheets,
            created,
            f"{config.cycle.county}基层党建项目总台账",
            cache,
            pool,
            None if plain is None else functools.partial(_made, plain),
        )
    written = data != previous
    if written:
        backups = ws.data / "backups"
        kept: list[Path] = []

        def last_moment() -> None:
            # Checked as late as can be, just before the new file replaces it (hashed
            # as it is read: a province's register held again would cost 21 MB).
            if previous is None:
                if target.exists():
                    raise XlsxflowError("register.saved_meanwhile", path=target)
                return
            backup, linked = _backup(target, previous, backups)
            kept.append(backup)
            # (linked: the register's own file, hashed through the backup's name, which
            # checks both; else the copy is what was read, and the register is hashed)
            seen = backup if linked else target
            if (sha256_of(seen) if seen.exists() else "") != previous_sha:
                raise XlsxflowError("register.saved_meanwhile", path=target)

        try:
            with atomic_file(target, before_replace=last_moment) as fh:
                fh.write(data)
        except BaseException:
            # Not replaced (held open by Excel, saved meanwhile…): the previous register
            # is still register.xlsx, and its backup must not stay linked to it.
            for path in kept:
                with contextlib.suppress(OSError):
                    path.unlink()
            raise
        _trim(backups)
        if report is not None:
            report.register_written = True
    sha = hashlib.sha256(data).hexdigest()
    with Store(ws.data / "register.sqlite") as store, store.transaction():
        store.set_meta("register_sha", sha)
        store.set_meta("register_inputs", inputs)
        described = {"sha256": sha, "parts": blocks}
        # (by orjson: a province's index is 1.7 MB, 15 ms through ``json.dumps``, 3 here)
        store.set_meta(
            "register_blocks", orjson.dumps(described, option=orjson.OPT_SORT_KEYS).decode()
        )
        store.set_meta("register_code", rows_code())
        # (what is held now: the next merge tells what of it took effect)
        held = sorted(sha for sha, status in state.statuses.items() if status.held)
        store.set_meta("held", json.dumps(held))
        if state.made_changes:  # (kept once the register showing them is written)
            store.keep_changes(changes_version(), state.made_changes)
    _keep_written(target, ws.data)
    return written


def ensure_register_read(ws: Workspace, store: Store) -> None:
    """For commands that rewrite register.xlsx from the store alone (schedule, score):
    before they record anything, the register must be writable and hold no edits the
    clerk saved since it was written (a merge reads those)."""
    ensure_writable(ws.register_path)
    if ws.register_path.exists() and sha256_of(ws.register_path) != store.meta("register_sha"):
        raise UsageError("register.unread_edits", path=ws.register_path)


def _made(plain: Future[dict[str, PlainMade]]) -> dict[str, PlainMade] | None:
    """What the reader made, or None if it failed (the plain sheets are made here)."""
    try:
        return plain.result()
    except Exception:  # (BrokenProcessPool, or whatever it raised)
        return None


def _keep_written(target: Path, data: Path) -> None:
    """Link register.xlsx, as just written, under ``LAST_WRITTEN``. We never write the
    file in place, nor does LibreOffice (checked: its save replaces the file) nor, as
    far as we know, Excel: the link then keeps our bytes once the clerk has saved over
    it. A program that writes in place (openpyxl does; WPS is untested) changes them
    too, which ``_last_written`` tells by their hash. Where there are no links (FAT,
    some shares) or the file cannot be linked now, none is kept: a merge after the
    clerk's save then builds every row, as it did before (about twice as long at
    10,000 returns: docs/PERFORMANCE.md, 73)."""
    kept = data / LAST_WRITTEN
    temporary = data / f".{LAST_WRITTEN}.{os.getpid()}.tmp"
    try:
        if kept.exists() and kept.samefile(target):
            return  # (rewritten to the same bytes: not replaced, still linked)
        temporary.unlink(missing_ok=True)
        os.link(target, temporary)
        os.replace(temporary, kept)
    except OSError:
        for path in (temporary, kept):
            with contextlib.suppress(OSError):
                path.unlink()


def _last_written(ws: Workspace, recorded: str | None) -> tuple[bytes, str] | None:
    """The register as we last wrote it (``_keep_written``) and its hash, if it is still
    that file."""
    try:
        data = (ws.data / LAST_WRITTEN).read_bytes()
    except OSError:
        return None
    sha = hashlib.sha256(data).hexdigest()
    return (data, sha) if sha == recorded else None


def _sha_or_empty(data: bytes | None) -> str:
    return "" if data is None else hashlib.sha256(data).hexdigest()


def _remove_stale_temporaries(ws: Workspace) -> None:
    """A merge killed inside ``write_atomic`` leaves its temporary file behind; with the
    lock held, any such file of the register, its backups or the archive is stale."""
    patterns = [(ws.root, f".{ws.register_path.name}.*.tmp"), (ws.data / "backups", ".*.tmp")]
    patterns.append((ws.data, f".{ROSTER_KEPT}.*.tmp"))  # (the roster as read)
    patterns.append((ws.data, f".{LAST_WRITTEN}.*.tmp"))
    patterns.append((ws.data / "archive" / PACKS, ".*.tmp"))
    for folder, pattern in patterns:
        for tmp in folder.glob(pattern):
            tmp.unlink(missing_ok=True)


def _remove_orphan_packs(folder: Path, stored: list[Brief]) -> None:
    """A merge killed before its commit leaves packs no submission names; the next merge
    may pack the same files differently. With the lock held, such packs are leftovers."""
    named = {locate(s.archived)[0] for s in stored}
    for pack in (folder / PACKS).glob("*.zip"):
        if f"{PACKS}/{pack.name}" not in named:
            with contextlib.suppress(OSError):  # held open by a viewer: next time
                pack.unlink()


def _backup(target: Path, previous: bytes, folder: Path) -> tuple[Path, bool]:
    """Keep the previous register, named by when it was replaced: where it is kept, and
    whether it is the register's own file, linked in (a province's register is 22 MB to
    copy at every merge; it is then replaced by a new file, never written in place by
    us, so the link keeps its bytes; the caller hashes it once linked, which checks
    that it is still the register read). Else ``previous``, copied (FAT and some shares
    have no links)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    kept = folder / f"register-{stamp}.xlsx"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        os.link(target, kept)
    except OSError:
        write_atomic(kept, previous)
        return kept, False
    fsync_dirs({folder})
    return kept, True


def _trim(folder: Path) -> None:
    """Only the last ``BACKUPS_KEPT`` backups are kept. One that cannot be removed (open
    in Excel, on Windows) stays until a later merge: the new register is in place by
    now, and the merge must still record it."""
    old = sorted(folder.glob("register-*.xlsx"))
    for extra in old[:-BACKUPS_KEPT]:
        with contextlib.suppress(OSError):
            extra.unlink(missing_ok=True)
