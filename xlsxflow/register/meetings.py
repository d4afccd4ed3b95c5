"""``schedule`` and ``score`` against a workspace: compute, keep each meeting's snapshot,
and refresh register.xlsx so the figures appear there too."""

from __future__ import annotations

import datetime as dt
from typing import Any

from xlsxflow.compliance import round_half_up
from xlsxflow.errors import UsageError
from xlsxflow.fsutil import LockedError, exclusive_lock
from xlsxflow.register.figures import (
    ScheduleReport,
    compute_schedule,
    evaluate_all,
    schedule_json,
    score_json,
)
from xlsxflow.register.state import RegisterState, derive
from xlsxflow.register.store import Store
from xlsxflow.workspace import Workspace


def _open_store(ws: Workspace) -> Store:
    path = ws.data / "register.sqlite"
    if not path.exists():
        raise UsageError("register.empty", path=ws.root)
    return Store(path)


def previous_verdicts(store: Store, as_of: dt.date) -> dict[str, str] | None:
    """Verdicts recorded at the last meeting before ``as_of`` (None: none recorded)."""
    recorded = [m for m in store.meetings() if m[0] < as_of.isoformat()]
    if not recorded:
        return None
    last = max(m[0] for m in recorded)
    return {m[1]: m[3] or "" for m in recorded if m[0] == last}


def recorded_counties(ws: Workspace) -> dict[str, tuple[int, int]]:
    """The county's (tasks due, on time) at each meeting as it was recorded then."""
    with _open_store(ws) as store:
        return store.meeting_counties()


def schedule_report(ws: Workspace, as_of: dt.date, state: RegisterState) -> ScheduleReport:
    """Compliance as of ``as_of`` without recording it (for summaries)."""
    with _open_store(ws) as store:
        previous = previous_verdicts(store, as_of)
    return compute_schedule(state, ws.config, ws.roster, as_of, previous)


def run_schedule(
    ws: Workspace, as_of: dt.date, save: bool = True, tasks: bool = True
) -> dict[str, Any]:
    """Compliance as of ``as_of``; the previous meeting's recorded verdicts (if any)
    decide the adjustment flag. With ``save`` the result becomes this meeting's record.
    ``tasks=False`` leaves out each project's task list (a province's 400,000 tasks)."""
    from xlsxflow.register.merge import ensure_register_read, write_register

    config, roster = ws.config, ws.roster
    try:
        with exclusive_lock(ws.data / "merge.lock"):
            with _open_store(ws) as store:
                if save:
                    ensure_register_read(ws, store)
                state = derive(store.submissions(), config)
                report = compute_schedule(
                    state, config, roster, as_of, previous_verdicts(store, as_of)
                )
                data = schedule_json(report, config, roster, tasks=tasks)
                if save:
                    d = config.scoring.decimals
                    rows = [
                        (
                            p.project,
                            format(round_half_up(p.compliance, d), "f") if p.has_ledger else None,
                            p.verdict(config.compliance) if p.has_ledger else None,
                            r.isoformat()
                            if p.has_ledger and (r := p.rectify_by(config.compliance))
                            else None,
                            p.has_ledger and p.adjust(config.compliance),
                            p.explain(config.compliance, d) if p.has_ledger else "未报送管理台帐",
                        )
                        for p in report.projects
                    ]
                    county = (report.county.due, report.county.on_time)
                    with store.transaction():
                        store.save_meeting(as_of.isoformat(), rows, county)
            del report  # (a province's 400,000 task results: not held through the rewrite)
            if save:  # the register shows the meeting too; same facts, same state
                write_register(ws, state)
    except LockedError:
        raise UsageError("merge.locked", path=ws.root) from None
    return data


def run_score(ws: Workspace) -> dict[str, Any]:
    """Evaluate accepted projects; the register's 评估结果 is refreshed to match."""
    from xlsxflow.register.merge import ensure_register_read, write_register

    config, roster = ws.config, ws.roster
    try:
        with exclusive_lock(ws.data / "merge.lock"):
            with _open_store(ws) as store:
                ensure_register_read(ws, store)
                state = derive(store.submissions(), config)
            results, totals = evaluate_all(state, config)
            write_register(ws, state)
    except LockedError:
        raise UsageError("merge.locked", path=ws.root) from None
    return score_json(results, totals, config, roster)
