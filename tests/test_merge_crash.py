"""``xlsxflow merge`` killed with SIGKILL at random moments loses nothing.

A county's returns (40 files: applications, a resubmission, an invalid return, the review
sheet, ledgers, closures, acceptances) arrive in five batches. For each batch an
uninterrupted reference run (a subprocess, in its own workspace) gives the expected
register and the run's duration; then the same batch is merged in the test workspace by
``python -m xlsxflow merge`` killed with SIGKILL after a seeded random delay spread over
that duration, again and again on the same workspace, before one run is let finish.

After every kill: the SQLite store passes ``PRAGMA integrity_check``; the store holds
either what it held before the run or everything in the inbox (one transaction);
every archived file is whole; ``register.xlsx`` opens and is byte for byte either the
register from before the run or the expected new one. After every batch and at the end
the register is byte-identical to the reference's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from registerkit import (
    DEMONSTRATION,
    INNOVATION,
    INSTITUTIONAL,
    PROJECTS,
    Department,
    Return,
    acceptance,
    application,
    archive_contents,
    closure,
    instance,
    ledger,
    new_workspace,
    put_all,
    review,
    stored,
)

from xlsxflow.register.merge import BACKUPS_KEPT, merge
from xlsxflow.workspace import Workspace

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")

SEED = 20111028
BATCH = 8
KILLS_PER_BATCH = 4  # five batches: at least 20 kills
MAX_ATTEMPTS_PER_BATCH = 10
FRESH_COPY_KILLS = 6

KINDS = {"T02": DEMONSTRATION, "T09": DEMONSTRATION, "Z01": DEMONSTRATION, "O03": INSTITUTIONAL}
APPLICANTS = [
    *(f"T{i:02d}" for i in range(1, 19)),
    "Z01",
    "Z02",
    "O01",
    "O02",
    "O03",
    "O04",
]  # 24 committees
REJECTED_BY_REVIEW = {"T04", "T11", "O02"}


def county_returns(root: Path) -> list[Return]:
    """40 returns in the order they were saved (see the module docstring)."""
    dept = Department(root)
    ws = dept.ws
    rng = random.Random(SEED)

    def day(month: int, d: int, year: int = 2012) -> dt.datetime:
        return dt.datetime(year, month, d, rng.randint(8, 17), rng.randint(0, 59))

    apps = [
        application(ws, code, KINDS.get(code, INNOVATION), saved_at=day(12, 1 + i, 2011))
        for i, code in enumerate(APPLICANTS)
    ]
    apps.append(
        application(
            ws,
            "T01",
            saved_at=day(12, 28, 2011),
            overrides={"budget_special": 88000},
            name="T01_resubmitted",
        )
    )
    apps.append(
        application(
            ws, "O05", saved_at=day(12, 29, 2011), overrides={"lead_name": None}, name="O05_bad"
        )
    )
    dept.receive(*apps)
    decisions = {
        row["rv_instance"]: "不立项"
        if row["rv_instance"].split(".")[1] in REJECTED_BY_REVIEW
        else "立项"
        for row in dept.review_rows()
    }
    sheet = review(ws, dept.review_rows(), decisions, saved_at=day(1, 6))
    dept.receive(sheet)
    launched = ["T01", "T02", "T03", "T05", "T06", "T07", "T08", "T09"]
    refs = {code: dept.project(code, KINDS.get(code, INNOVATION)) for code in launched}
    ledgers = [
        ledger(ws, refs[code], saved_at=day(3, 20 + i), progress=i % 3 != 2)
        for i, code in enumerate(launched)
    ]
    closures = [
        closure(ws, refs[code], saved_at=day(7, 5 + i)) for i, code in enumerate(launched[:3])
    ]
    acceptances = [
        acceptance(ws, refs[code], saved_at=day(9, 10 + i)) for i, code in enumerate(launched[:2])
    ]
    returns = [*apps, sheet, *ledgers, *closures, *acceptances]
    assert len(returns) == 40
    assert len({r.sha for r in returns}) == 40
    return returns


def batches(returns: list[Return]) -> list[list[Return]]:
    return [returns[i : i + BATCH] for i in range(0, len(returns), BATCH)]


def merge_command(ws: Workspace) -> list[str]:
    return [sys.executable, "-m", "xlsxflow", "merge", str(ws.root), "-q"]


def run_merge(ws: Workspace) -> float:
    """One uninterrupted run; its duration in seconds."""
    start = time.perf_counter()
    proc = subprocess.run(merge_command(ws), capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    assert proc.returncode in (0, 1), proc.stderr  # 1: the batch held a rejected return
    return elapsed


def run_and_kill(ws: Workspace, delay: float) -> bool:
    """Start a merge, SIGKILL it after ``delay`` s; False when it finished first."""
    proc = subprocess.Popen(merge_command(ws), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(delay)
        if proc.poll() is not None:
            return False
        os.kill(proc.pid, signal.SIGKILL)
        return proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def edit_owner(ws: Workspace, key: str, owner: str) -> None:
    """The clerk notes a supervisor in register.xlsx (openpyxl) between two merges."""
    book = openpyxl.load_workbook(ws.register_path)
    sheet = book[PROJECTS]
    header = [c.value for c in sheet[1]]
    line = 1 + [c.value for c in sheet["A"]].index(key)
    sheet.cell(line, header.index("督办人") + 1).value = owner
    book.save(ws.register_path)


EDIT_AFTER_BATCH = 1  # a department edit waits in register.xlsx when batch 2 is merged
EDIT = (instance("T03", INNOVATION), "刘志强")


@dataclass
class Reference:
    registers: list[bytes]  # after each batch
    durations: list[float]
    startup: float  # an uninterrupted run with nothing to do
    workspace: Workspace


@pytest.fixture(scope="module")
def returns(tmp_path_factory: pytest.TempPathFactory) -> list[Return]:
    return county_returns(tmp_path_factory.mktemp("county") / "dept")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, returns: list[Return]) -> Reference:
    ws = new_workspace(tmp_path_factory.mktemp("reference") / "ws")
    startup = min(run_merge(ws) for _ in range(2))
    registers, durations = [], []
    for b, batch in enumerate(batches(returns)):
        put_all(batch, ws.inbox)
        durations.append(run_merge(ws))
        registers.append(ws.register_path.read_bytes())
        if b == EDIT_AFTER_BATCH:
            edit_owner(ws, *EDIT)
    # the batches, merged all at once in-process, give the same register
    once = new_workspace(tmp_path_factory.mktemp("once") / "ws")
    put_all(returns, once.inbox)
    merge(once)
    edit_owner(once, *EDIT)
    merge(once)
    assert once.register_path.read_bytes() == registers[-1]
    return Reference(registers, durations, startup, ws)


def kill_delay(rng: random.Random, startup: float, duration: float) -> float:
    """Spread over the run; three kills in four aimed past the interpreter's start-up,
    where the work (hashing, archiving, parsing, the transaction, the register) is."""
    if rng.random() < 0.25:
        return rng.uniform(0, duration)
    return rng.uniform(min(startup * 0.8, duration * 0.8), duration)


def archive_whole(ws: Workspace) -> set[str]:
    """Every archived file is complete: its content hashes to its name (a pack left by a
    kill is whole too: packs are written to a temporary file and renamed)."""
    found = set()
    for member, data in archive_contents(ws).items():
        sha = member.split(".")[0]
        assert hashlib.sha256(data).hexdigest() == sha, member
        found.add(sha)
    return found


def temporaries(ws: Workspace) -> list[Path]:
    """Temporary files of ``write_atomic`` (a kill inside it leaves one)."""
    return sorted(ws.root.rglob(".*.tmp"))


def integrity(ws: Workspace) -> None:
    db = ws.data / "register.sqlite"
    if not db.exists():
        return
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def inbox_shas(ws: Workspace) -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in ws.inbox.rglob("*") if p.is_file()}


def check_after_kill(
    ws: Workspace, before_register: bytes | None, before_store: set[str], expected: bytes
) -> str:
    """The checks after one kill; where the kill landed, as far as the files tell."""
    integrity(ws)
    now = {s.sha256 for s in stored(ws)} if (ws.data / "register.sqlite").exists() else set()
    everything = inbox_shas(ws)
    assert now in (before_store, everything), "the store holds part of a merge"
    archived = archive_whole(ws)
    assert now <= archived, "a stored return is missing from the archive"
    backups = ws.data / "backups"
    assert not backups.exists() or len(list(backups.glob("*.xlsx"))) <= BACKUPS_KEPT + 1
    if not ws.register_path.exists():
        assert before_register is None
        return _stage(now, before_store, archived)
    data = ws.register_path.read_bytes()
    assert data in (before_register, expected), "register.xlsx is neither the old nor the new"
    openpyxl.load_workbook(ws.register_path, read_only=True).close()
    if data == expected and data != before_register:
        return "register written"
    return _stage(now, before_store, archived)


def _stage(now: set[str], before: set[str], archived: set[str]) -> str:
    if now != before:
        return "store committed"
    return "archiving" if archived - before else "nothing yet"


def test_sigkill_at_random_moments_on_the_same_workspace(tmp_path, returns, reference):
    rng = random.Random(SEED)
    ws = new_workspace(tmp_path / "ws")
    outcomes: Counter[str] = Counter()
    kills = left = 0
    for b, batch in enumerate(batches(returns)):
        put_all(batch, ws.inbox)
        expected = reference.registers[b]
        batch_kills = attempts = 0
        snapshot = tmp_path / f"before-batch-{b}"
        shutil.copytree(ws.root, snapshot)
        while batch_kills < KILLS_PER_BATCH and attempts < MAX_ATTEMPTS_PER_BATCH:
            attempts += 1
            before_register = ws.register_path.read_bytes() if ws.register_path.exists() else None
            before_store = (
                {s.sha256 for s in stored(ws)} if (ws.data / "register.sqlite").exists() else set()
            )
            delay = kill_delay(rng, reference.startup, reference.durations[b])
            killed = run_and_kill(ws, delay)
            outcome = check_after_kill(ws, before_register, before_store, expected)
            left += len(temporaries(ws))
            if killed:
                batch_kills += 1
                outcomes[outcome] += 1
            else:
                # The batch got merged; put the workspace back so that the next attempt
                # has the same work to be interrupted in.
                outcomes["finished first"] += 1
                shutil.rmtree(ws.root)
                shutil.copytree(snapshot, ws.root)
        kills += batch_kills
        run_merge(ws)  # then one uninterrupted run completes the batch
        assert ws.register_path.read_bytes() == expected, f"batch {b}"
        assert temporaries(ws) == [], "the next merge clears what a killed one left"
        if b == EDIT_AFTER_BATCH:
            edit_owner(ws, *EDIT)
    print(f"\nSIGKILL outcomes: {dict(outcomes)}; temporary files left by kills: {left}")
    assert kills >= 20, outcomes
    assert ws.register_path.read_bytes() == reference.registers[-1]
    assert stored(ws) == stored(reference.workspace)
    integrity(ws)
    assert inbox_shas(ws) == {r.sha for r in returns}  # the inbox is never touched


def test_sigkill_on_fresh_copies_then_one_merge_completes(tmp_path, returns, reference):
    """Each kill on its own copy of a workspace holding a register and 24 new returns."""
    rng = random.Random(SEED + 1)
    base = new_workspace(tmp_path / "base")
    first, rest = returns[:16], returns[16:]
    put_all(first, base.inbox)
    run_merge(base)
    edit_owner(base, *EDIT)
    merge(base)
    put_all(rest, base.inbox)
    old = base.register_path.read_bytes()
    old_store = {s.sha256 for s in stored(base)}
    expected = reference.registers[-1]
    duration = run_merge(copy := _copy(base, tmp_path / "timing"))
    assert copy.register_path.read_bytes() == expected
    outcomes: Counter[str] = Counter()
    for i in range(FRESH_COPY_KILLS):
        ws = _copy(base, tmp_path / f"copy{i}")
        killed = run_and_kill(ws, kill_delay(rng, reference.startup, duration))
        outcomes[
            check_after_kill(ws, old, old_store, expected) if killed else "finished first"
        ] += 1
        run_merge(ws)
        assert ws.register_path.read_bytes() == expected, i
        assert temporaries(ws) == []
        integrity(ws)
    print(f"\nSIGKILL outcomes on fresh copies: {dict(outcomes)}")


def _copy(ws: Workspace, dst: Path) -> Workspace:
    shutil.copytree(ws.root, dst)
    return Workspace.open(dst)
