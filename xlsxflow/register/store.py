"""The embedded store (SQLite, standard library): append-only facts, one transaction per
merge, so a crash at any point leaves the previous state intact."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any, NamedTuple

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    sha256 TEXT PRIMARY KEY,          -- the file's content hash: its identity
    size INTEGER NOT NULL,
    name TEXT NOT NULL,               -- file name as first received
    archived TEXT NOT NULL,           -- in the archive: packs/<id>.zip!<sha>.xlsx
    format TEXT,
    form TEXT,
    instance TEXT,
    committee TEXT,
    project TEXT,
    cycle TEXT,
    saved_at TEXT NOT NULL DEFAULT '',
    valid INTEGER NOT NULL,
    problems TEXT NOT NULL,           -- JSON list of problems
    payload TEXT NOT NULL             -- JSON {values, rows, raw locations}
);
CREATE INDEX IF NOT EXISTS submissions_instance ON submissions(instance);
-- Every column but the payload, for ``briefs`` and ``submissions``: a row holds its
-- payload, so listing a province's 10,000 from the table read 10,000 pages (0.03 s).
CREATE INDEX IF NOT EXISTS submissions_listed ON submissions(
    sha256, size, name, archived, format, form, instance, committee, project, cycle,
    saved_at, valid, problems
);
CREATE TABLE IF NOT EXISTS names (    -- every file name a content was received under
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (sha256, name)
);
CREATE TABLE IF NOT EXISTS dept_notes (
    project TEXT NOT NULL,            -- application instance id of the project
    column TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (project, column)
);
CREATE TABLE IF NOT EXISTS meetings (  -- each dispatch meeting's result, as presented
    as_of TEXT NOT NULL,
    project TEXT NOT NULL,
    compliance TEXT,
    verdict TEXT,
    rectify_by TEXT,
    adjust INTEGER NOT NULL DEFAULT 0,
    explanation TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (as_of, project)
);
CREATE TABLE IF NOT EXISTS inbox_files (  -- a cache, not a fact: see register/hashes.py
    path TEXT PRIMARY KEY,            -- relative to the inbox, with /
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    file_id INTEGER NOT NULL,
    tail INTEGER NOT NULL,            -- CRC of the last 4 KB (Windows only, else 0)
    sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS return_facts (  -- a cache, not a fact: see register/facts.py
    sha256 TEXT PRIMARY KEY,
    version TEXT NOT NULL,            -- of the code that worked them out
    facts TEXT NOT NULL               -- JSON
);
CREATE TABLE IF NOT EXISTS changes_kept (  -- a cache: see register/changes.py
    earlier TEXT NOT NULL,            -- the earlier version's hash
    later TEXT NOT NULL,              -- the later one's
    version TEXT NOT NULL,            -- of the code that worked it out
    text TEXT NOT NULL,
    PRIMARY KEY (earlier, later)
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""


def connect_readonly(
    path: Path, *, any_thread: bool = False, wait: float = 5.0
) -> sqlite3.Connection:
    """A connection to an existing store that cannot write to it. (Not through a
    ``file:`` URI with ``mode=ro``: a workspace on a Windows share, ``\\\\server\\share``,
    has a URI naming a host, which SQLite refuses.) ``any_thread``: it may be closed on
    another thread than the one that opened it. ``wait``: the seconds to wait for a
    merge writing it (SQLite's default)."""
    if not path.is_file():
        raise sqlite3.OperationalError(f"no store at {path}")
    db = sqlite3.connect(path, timeout=wait, check_same_thread=not any_thread)
    db.execute("PRAGMA query_only = ON")
    return db


# Returns whose values are loaded at a time where many are (``payloads_of``): a query
# each was most of the cost for a province's 5,000 applications, and all at once would
# be held in memory together.
PAYLOAD_BATCH = 500

# Which submissions a query is about: their hashes, given as one JSON array.
_AMONG = "sha256 IN (SELECT value FROM json_each(?))"


def _rows_of(table: str) -> str:
    """The JSON path of one table's rows in a stored payload (quoted: any table id)."""
    return f'$.rows."{table}"'


class PayloadReader:
    """Reads one submission's values on demand, through its own read-only connection, so
    that the register never needs every return's values in memory at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            # (used by one thread at a time; closed by whichever frees the reader)
            self._db = connect_readonly(self.path, any_thread=True)
        return self._db

    def __call__(self, sha: str) -> dict[str, Any]:
        row = (
            self._connection()
            .execute("SELECT payload FROM submissions WHERE sha256 = ?", (sha,))
            .fetchone()
        )
        return json.loads(row[0])

    def table(self, sha: str, table: str) -> list[dict[str, Any]]:
        """One table's rows, cut out of the stored JSON by SQLite (in C): for the small
        tables of a ledger (adjustments, funds) a third of the cost of loading it all."""
        row = (
            self._connection()
            .execute(
                "SELECT json_extract(payload, ?) FROM submissions WHERE sha256 = ?",
                (_rows_of(table), sha),
            )
            .fetchone()
        )
        return json.loads(row[0]) if row and row[0] else []

    def many(self, shas: list[str]) -> dict[str, dict[str, Any]]:
        """The values of many returns, in one query (a province's 5,000 applications
        one by one cost a query each)."""
        found = self._connection().execute(
            f"SELECT sha256, payload FROM submissions WHERE {_AMONG}", (json.dumps(shas),)
        )
        return {sha: json.loads(payload) for sha, payload in found}

    def facts(self, shas: list[str], version: str) -> dict[str, dict[str, Any]]:
        """The facts kept of those of ``shas`` that have them (``register.facts``). All
        of this version's are read, as one JSON object made by SQLite, and those asked
        kept: deriving asks of nearly every return, and a province's 10,000 decoded one
        by one, or named in the query, cost twice as much."""
        ((found,),) = self._connection().execute(
            "SELECT json_group_object(sha256, json(facts)) FROM return_facts WHERE version = ?",
            (version,),
        )
        asked = set(shas)
        return {sha: facts for sha, facts in json.loads(found).items() if sha in asked}

    def changes(self, version: str) -> dict[tuple[str, str], str]:
        """What each pair of versions changed, as kept of ``version``
        (``register.changes``). (Nothing from a store an older xlsxflow made and no
        newer one has opened to write: it has no such table.)"""
        try:
            found = self._connection().execute(
                "SELECT earlier, later, text FROM changes_kept WHERE version = ?", (version,)
            )
        except sqlite3.OperationalError as err:
            if "no such table" not in str(err):
                raise
            return {}
        return {(earlier, later): text for earlier, later, text in found}

    def table_lengths(self, shas: list[str], table: str) -> dict[str, int]:
        """How many rows ``table`` has in each of these returns (counted by SQLite, in C:
        where a province's task rows will go is planned before any is made)."""
        found = self._connection().execute(
            f"SELECT sha256, json_array_length(payload, ?) FROM submissions WHERE {_AMONG}",
            (_rows_of(table), json.dumps(shas)),
        )
        return {sha: count or 0 for sha, count in found}

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __del__(self) -> None:
        self.close()  # (maybe by the collector, on another thread: allowed, see above)


class Brief(NamedTuple):
    """A stored return, by what ``Store.briefs`` tells of it."""

    sha256: str
    form: str | None
    instance: str | None
    valid: bool
    archived: str


# (not frozen, though never changed: a frozen dataclass sets each of its 16 fields
# through ``object.__setattr__``, and making a province's 10,000 took 36 ms against
# 9 ms, in every command that derives the register, twice in a merge)
@dataclass(slots=True)
class Submission:
    sha256: str
    size: int
    name: str
    archived: str
    format: str | None
    form: str | None
    instance: str | None
    committee: str | None
    project: str | None
    cycle: str | None
    saved_at: str
    valid: bool
    problems: list[dict[str, str]]
    payload_json: str | None = field(default=None, compare=False, repr=False)  # when new
    facts_json: str | None = field(default=None, compare=False, repr=False)  # when new
    loader: PayloadReader | None = field(default=None, compare=False, repr=False)

    @property
    def payload(self) -> dict[str, Any]:
        """The clean values of the return (loaded from the store when not held)."""
        if self.payload_json is not None:
            return json.loads(self.payload_json)
        assert self.loader is not None
        return self.loader(self.sha256)

    def table(self, table: str) -> list[dict[str, Any]]:
        """The stored rows of one table of the return (as ``payload["rows"][table]``)."""
        if self.payload_json is not None or self.loader is None:
            return self.payload.get("rows", {}).get(table, [])
        return self.loader.table(self.sha256, table)

    @property
    def order_key(self) -> tuple[str, str]:
        """'Latest' means saved last; ties (or no saved time) go by content hash."""
        return ORDER(self)


# ``Submission.order_key`` as a sort key (in C: deriving sorts a province's 10,000)
ORDER: Callable[[Submission], tuple[str, str]] = attrgetter("saved_at", "sha256")


def close_readers(subs: Iterable[Submission]) -> None:
    """Close the store connections behind ``subs`` (opened again if asked for more)."""
    for loader in {sub.loader for sub in subs if sub.loader is not None}:
        loader.close()


def by_store(subs: Iterable[Submission]) -> tuple[list[Submission], dict[PayloadReader, list[str]]]:
    """The submissions whose values are held in memory (new ones), and the hashes of
    the others by the store they are in: those are asked of it in one query."""
    held: list[Submission] = []
    stored: dict[PayloadReader, list[str]] = defaultdict(list)
    for sub in subs:
        if sub.payload_json is None and sub.loader is not None:
            stored[sub.loader].append(sub.sha256)
        else:
            held.append(sub)
    return held, stored


def payloads_of(subs: Iterable[Submission]) -> dict[str, dict[str, Any]]:
    """``payload`` of each submission."""
    held, stored = by_store(subs)
    found = {sub.sha256: sub.payload for sub in held}
    for loader, shas in stored.items():
        found |= loader.many(shas)
    return found


class Store:
    def __init__(self, path: Path, *, readonly: bool = False, wait: float = 5.0) -> None:
        """``readonly``: an existing store, only looked at (``sqlite3.Error`` if it is not
        there or not one, or if a merge writing it takes longer than ``wait`` seconds)."""
        self.path = path
        if readonly:
            self.db = connect_readonly(path, wait=wait)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=DELETE")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @property
    def generation(self) -> int:
        """Bumped by every change of the facts, so a writer can tell it is up to date."""
        return int(self.meta("generation") or 0)

    def _bump(self) -> None:
        self.set_meta("generation", str(self.generation + 1))

    def known_hashes(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT sha256 FROM submissions")}

    def briefs(self) -> list[Brief]:
        """What a merge needs to know of every stored return before reading new ones
        (a third of the cost of ``submissions``, which it asks again to derive)."""
        return [
            Brief(sha, form, instance, bool(valid), archived)
            for sha, form, instance, valid, archived in self.db.execute(
                "SELECT sha256, form, instance, valid, archived FROM submissions"
            )
        ]

    def lacking_facts(self, version: str) -> set[str]:
        """The returns with no facts kept of ``version`` (``register.facts``). (Counted
        first: facts are kept only of stored returns, so equal counts say none lacks
        them, at every merge, without listing both tables.)"""
        (kept,) = self.db.execute(
            "SELECT count(*) FROM return_facts WHERE version = ?", (version,)
        ).fetchone()
        (stored,) = self.db.execute("SELECT count(*) FROM submissions").fetchone()
        if kept == stored:
            return set()
        rows = self.db.execute(
            "SELECT sha256 FROM submissions EXCEPT"
            " SELECT sha256 FROM return_facts WHERE version = ?",
            (version,),
        )
        return {sha for (sha,) in rows}

    def keep_facts(self, sha: str, version: str, facts: str) -> None:
        """(Not a change of the facts of the register: the generation stays.)"""
        self.db.execute(
            "INSERT OR REPLACE INTO return_facts VALUES (?, ?, ?)", (sha, version, facts)
        )

    def keep_changes(self, version: str, made: dict[tuple[str, str], str]) -> None:
        """(Not a change of the facts of the register: the generation stays.)"""
        self.db.executemany(
            "INSERT OR REPLACE INTO changes_kept VALUES (?, ?, ?, ?)",
            [(earlier, later, version, text) for (earlier, later), text in made.items()],
        )

    def forms(self) -> dict[str, str | None]:
        """SHA-256 → form of every submission (without loading any of them)."""
        return dict(self.db.execute("SELECT sha256, form FROM submissions"))

    def add(self, s: Submission) -> bool:
        """Insert a submission; False when the same content was already there."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO submissions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                s.sha256,
                s.size,
                s.name,
                s.archived,
                s.format,
                s.form,
                s.instance,
                s.committee,
                s.project,
                s.cycle,
                s.saved_at,
                int(s.valid),
                json.dumps(s.problems, ensure_ascii=False, sort_keys=True),
                s.payload_json
                if s.payload_json is not None
                else json.dumps(s.payload, ensure_ascii=False, sort_keys=True),
            ),
        )
        return cur.rowcount == 1

    def inbox_hashes(self) -> dict[str, tuple[tuple[int, ...], str]]:
        """Path in the inbox → (what ``stat`` said of it, its SHA-256): see
        ``register.hashes``."""
        rows = self.db.execute(
            "SELECT path, size, mtime_ns, ctime_ns, file_id, tail, sha256 FROM inbox_files"
        )
        return {path: (tuple(stat), sha) for path, *stat, sha in rows}

    def inbox_count(self) -> tuple[int, int]:
        """How many inbox files ``inbox_hashes`` holds, and how many of them its
        ``stat`` may vouch for (not ``hashes.UNTRUSTED``)."""
        row = self.db.execute(
            "SELECT count(*), coalesce(sum(size >= 0), 0) FROM inbox_files"
        ).fetchone()
        return int(row[0]), int(row[1])

    def update_inbox_hashes(
        self, upsert: dict[str, tuple[tuple[int, ...], str]], forget: set[str]
    ) -> None:
        """(Not a change of the facts: the generation stays.) Written only by merge, in
        the transaction that records the names of the files it lists (``add_names``):
        merge records the name of a file kept here, unchanged, no more."""
        self.db.executemany(
            "DELETE FROM inbox_files WHERE path = ?", [(p,) for p in sorted(forget)]
        )
        self.db.executemany(
            "INSERT OR REPLACE INTO inbox_files VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(path, *stat, sha) for path, (stat, sha) in sorted(upsert.items())],
        )

    def add_names(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Record the names (sha256, name) contents were received under (one statement:
        a merge gives only the names of files new or changed since it last ran, and of
        contents it stores; ``update_inbox_hashes``)."""
        cur = self.db.executemany("INSERT OR IGNORE INTO names VALUES (?, ?)", pairs)
        if cur.rowcount > 0:
            self._bump()

    def submissions(self) -> list[Submission]:
        """Every submission, values loaded on demand; ``name`` is the smallest name its
        content came under, so the register does not depend on which copy came first."""
        rows = self.db.execute(
            "SELECT sha256, size, COALESCE((SELECT MIN(name) FROM names n"
            " WHERE n.sha256 = s.sha256), name), archived, format, form, instance, committee,"
            " project, cycle, saved_at, valid, problems FROM submissions s ORDER BY sha256"
        ).fetchall()
        reader = PayloadReader(self.path)
        return [
            # (most returns have no problems: "[]" is not parsed 10,000 times)
            Submission(
                *r[:11], bool(r[11]), [] if r[12] == "[]" else json.loads(r[12]), loader=reader
            )
            for r in rows
        ]

    def dept_notes(self) -> dict[tuple[str, str], str]:
        return {
            (p, c): v
            for p, c, v in self.db.execute("SELECT project, column, value FROM dept_notes")
        }

    def set_dept_note(self, project: str, column: str, value: str) -> None:
        self._bump()
        if value:
            self.db.execute(
                "INSERT OR REPLACE INTO dept_notes VALUES (?,?,?)", (project, column, value)
            )
        else:
            self.db.execute(
                "DELETE FROM dept_notes WHERE project=? AND column=?", (project, column)
            )

    def save_meeting(
        self,
        as_of: str,
        rows: list[tuple[str, str | None, str | None, str | None, bool, str]],
        county: tuple[int, int] | None = None,
    ) -> None:
        """Replace the snapshot of the meeting held on ``as_of``; ``county``: the
        county's tasks due and done on time then (its compliance, as presented)."""
        self._bump()
        self.db.execute("DELETE FROM meetings WHERE as_of = ?", (as_of,))
        self.db.executemany(
            "INSERT INTO meetings VALUES (?,?,?,?,?,?,?)",
            [(as_of, p, c, v, r, int(a), e) for p, c, v, r, a, e in rows],
        )
        if county is not None:
            counties = self.meeting_counties() | {as_of: county}
            self.set_meta("meeting_county", json.dumps(counties, sort_keys=True))

    def meeting_counties(self) -> dict[str, tuple[int, int]]:
        """(tasks due, on time) of the county at each meeting recorded with them (kept
        in ``meta``: a store of an older xlsxflow, read-only, has no table for them)."""
        kept = json.loads(self.meta("meeting_county") or "{}")
        return {day: (int(due), int(on_time)) for day, (due, on_time) in kept.items()}

    def meetings(self) -> list[tuple[str, str, str | None, str | None, str | None, bool, str]]:
        return [
            (a, p, c, v, r, bool(j), e)
            for a, p, c, v, r, j, e in self.db.execute(
                "SELECT as_of, project, compliance, verdict, rectify_by, adjust, explanation"
                " FROM meetings ORDER BY as_of, project"
            )
        ]

    def log(self, at: str, event: str, detail: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO audit (at, event, detail) VALUES (?,?,?)",
            (at, event, json.dumps(detail, ensure_ascii=False, sort_keys=True)),
        )
