"""Carry the register over into a new cycle's workspace.

"原则上每年集中开展一次": each year gets its own workspace, but projects and their history
go on (an institutional project cites last year's demonstration project; a project
still running reports at the new cycle's meetings). Carrying over copies every stored
submission, with its archived file and the names it came under, into the new store;
returns are not re-validated against the new cycle's calendar.
"""

from __future__ import annotations

from xlsxflow.config import Config
from xlsxflow.errors import UsageError
from xlsxflow.fsutil import write_atomic
from xlsxflow.register.archive import locate
from xlsxflow.register.store import Store
from xlsxflow.workspace import Workspace


def carried_config(old: Config, year: int) -> Config:
    """The new cycle's settings: the calendar of ``year`` (the source's months and
    days), everything else as the department set it last year (county, department,
    numbering, thresholds, weights, mail)."""
    fresh = Config.for_year(year)
    cycle = fresh.cycle.model_copy(
        update={"county": old.cycle.county, "department": old.cycle.department}
    )
    return old.model_copy(update={"cycle": cycle})


def ensure_carriable(old: Workspace) -> None:
    """``old`` has a register to carry over (told before the new workspace is made)."""
    if not (old.data / "register.sqlite").exists():
        raise UsageError("register.empty", path=old.root)


def carry_over(new: Workspace, old: Workspace) -> int:
    """Copy ``old``'s register into ``new``; returns the number of submissions added.
    ``old`` is only read (its store may be read-only: last year's, kept on a USB stick)."""
    ensure_carriable(old)
    source = old.data / "register.sqlite"
    added = 0
    with Store(source, readonly=True) as before, Store(new.data / "register.sqlite") as after:
        subs = before.submissions()
        names = before.db.execute("SELECT sha256, name FROM names").fetchall()
        notes = before.dept_notes()
        for file in sorted({locate(sub.archived)[0] for sub in subs}):  # whole packs
            src = old.data / "archive" / file
            dst = new.data / "archive" / file
            if src.exists() and not dst.exists():
                write_atomic(dst, src.read_bytes())  # (whole, flushed, before the store)
        with after.transaction():
            for sub in subs:
                added += after.add(sub)
            after.add_names(names)
            for (project, column), value in notes.items():
                after.set_dept_note(project, column, value)
    return added
