"""The figures of DOMAIN §6 computed from the register: schedule compliance as of a
meeting, and the evaluation of accepted projects."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from xlsxflow.compliance import (
    Aggregate,
    ProjectSchedule,
    Task,
    aggregate,
    as_json_number,
    schedule,
)
from xlsxflow.config import Config
from xlsxflow.forms import catalog
from xlsxflow.register.codec import decode_rows, decode_values
from xlsxflow.register.state import Project, RegisterState
from xlsxflow.register.store import Submission
from xlsxflow.roster import Roster
from xlsxflow.scoring import CommitteeTotal, Evaluation, EvaluationInput, committee_totals
from xlsxflow.scoring import evaluate_all as _evaluate_all


def ledger_as_of(state: RegisterState, project: Project, as_of: dt.date) -> Submission | None:
    """The latest accepted ledger of ``project`` saved on or before ``as_of``."""
    day = as_of.isoformat()
    candidates = [
        s for s in state.accepted_ledgers.get(project.number or "", []) if s.saved_at[:10] <= day
    ]
    return candidates[-1] if candidates else None


def tasks_of(ledger: Submission) -> list[Task]:
    rows = decode_rows(catalog().form("ledger"), ledger.payload, "tasks")
    return [
        Task(
            str(r.get("task_no") or r["_row"]),
            str(r.get("task_target") or ""),
            r["task_deadline"],
            r.get("task_progress"),
            r.get("task_done_date"),
            int(r["_row"]),
        )
        for r in rows
        if r.get("task_deadline") is not None
    ]


@dataclass
class ScheduleReport:
    as_of: dt.date
    projects: list[ProjectSchedule]
    names: dict[str, str]  # project number → project name
    committees: list[Aggregate]
    county: Aggregate
    missing: list[tuple[str, str]]  # (committee, project number) with no ledger this period


def _previous_meeting(config: Config, as_of: dt.date) -> dt.date | None:
    earlier = [m for m in config.cycle.dispatch_meetings if m < as_of]
    return earlier[-1] if earlier else None


def compute_schedule(
    state: RegisterState,
    config: Config,
    roster: Roster | None,
    as_of: dt.date,
    previous: dict[str, str] | None = None,
) -> ScheduleReport:
    """Compliance of every running project as of ``as_of``. ``previous`` maps project
    numbers to the verdict recorded at the previous meeting; when not given it is
    recomputed as of the previous configured dispatch meeting."""
    cfg = config.compliance
    prev_date = _previous_meeting(config, as_of)
    if previous is None:
        previous = {}
        if prev_date is not None:
            earlier = compute_schedule(state, config, roster, prev_date, previous={})
            previous = {p.project: p.verdict(cfg) for p in earlier.projects if p.has_ledger}
    since = (prev_date or config.cycle.notice_date).isoformat()
    results: list[ProjectSchedule] = []
    names: dict[str, str] = {}
    missing: list[tuple[str, str]] = []
    for project in state.projects:
        if project.number is None or project.state == "rejected":
            continue
        if project.closure is not None and project.closure.saved_at[:10] <= as_of.isoformat():
            continue  # concluded before this meeting: no longer dispatched
        ledger = ledger_as_of(state, project, as_of)
        names[project.number] = project.name
        if ledger is None:
            result = ProjectSchedule(project.number, project.committee, as_of, has_ledger=False)
        else:
            result = schedule(
                project.number,
                project.committee,
                tasks_of(ledger),
                as_of,
                previous.get(project.number) == "rectify",
            )
            result.ledger_saved = ledger.saved_at
        results.append(result)
        concluded = project.closure is not None and project.closure.saved_at[:10] <= since
        if not concluded and (ledger is None or ledger.saved_at[:10] <= since):
            missing.append((project.committee, project.number))
    by_committee: dict[str, list[ProjectSchedule]] = defaultdict(list)
    for r in results:
        by_committee[r.committee].append(r)
    missing_of: dict[str, list[str]] = defaultdict(list)
    for code, number in missing:
        missing_of[code].append(number)
    committees = [
        aggregate(code, by_committee[code], cfg, missing_of.get(code, []))
        for code in sorted(by_committee)
    ]
    county = aggregate(config.cycle.county, results, cfg, [p for _, p in missing])
    return ScheduleReport(as_of, results, names, committees, county, missing)


def schedule_json(
    report: ScheduleReport, config: Config, roster: Roster | None, tasks: bool = True
) -> dict[str, Any]:
    cfg, d = config.compliance, config.scoring.decimals

    def pct(v: Decimal) -> Any:
        return as_json_number(v, d)

    def agg(a: Aggregate) -> dict[str, Any]:
        return {
            "due": a.due,
            "on_time": a.on_time,
            "late": a.late,
            "overdue": a.overdue,
            "pending": a.pending,
            "compliance": pct(a.compliance),
            "projects": a.projects,
            "commend": a.commend,
            "rectify": a.rectify,
            "missing_ledger": a.missing_ledger,
        }

    projects = []
    for p in report.projects:
        item: dict[str, Any] = {
            "project": p.project,
            "committee": p.committee,
            "name": report.names.get(p.project, ""),
            "has_ledger": p.has_ledger,
        }
        if p.has_ledger:
            rectify_by = p.rectify_by(cfg)
            item.update(
                due=p.due,
                on_time=p.count("on_time"),
                late=p.count("late"),
                overdue=p.count("overdue"),
                pending=p.count("pending"),
                compliance=pct(p.compliance),
                planned_progress=pct(p.planned_progress),
                reported_progress=pct(p.reported_progress),
                progress="behind" if p.behind else "ahead",
                max_days_overdue=p.max_days_overdue,
                verdict=p.verdict(cfg),
                rectify_by=rectify_by.isoformat() if rectify_by else None,
                adjust=p.adjust(cfg),
                ledger_saved=p.ledger_saved,
                explanation=p.explain(cfg, d),
            )
            if tasks:
                item["tasks"] = [
                    {
                        "task": t.task.number,
                        "row": t.task.row,
                        "target": t.task.target,
                        "deadline": t.task.deadline.isoformat(),
                        "status": t.status,
                        "days_overdue": t.days_overdue,
                    }
                    for t in p.tasks
                ]
        else:
            item.update(
                due=None,
                on_time=None,
                late=None,
                overdue=None,
                pending=None,
                compliance=None,
                verdict=None,
                rectify_by=None,
            )
        projects.append(item)
    committees = []
    for a in report.committees:
        name = roster.committee(a.name).name if roster and roster.has(a.name) else ""
        committees.append({"committee": a.name, "name": name, **agg(a)})
    return {
        "as_of": report.as_of.isoformat(),
        "projects": projects,
        "committees": committees,
        "county": agg(report.county),
        "missing_ledger": [{"committee": c, "project": p} for c, p in report.missing],
    }


# -- evaluation ----------------------------------------------------------------------------


def evaluation_inputs(state: RegisterState) -> list[EvaluationInput]:
    out = []
    for p in state.projects:
        if p.acceptance is None or p.number is None:
            continue
        acc = decode_values(catalog().form("acceptance"), p.acceptance.payload)
        tasks = tasks_of(p.ledger) if p.ledger else []
        done = sum(
            1
            for t in tasks
            if t.done_date is not None or (t.progress is not None and t.progress >= 100)
        )
        out.append(
            EvaluationInput(
                project=p.number,
                committee=p.committee,
                project_type=p.project_type,
                name=p.name,
                goal_rate=acc.get("goal_rate"),
                tasks_done=done,
                tasks_total=len(tasks),
                satisfied=int(acc.get("survey_satisfied") or 0),
                basic=int(acc.get("survey_basic") or 0),
                unsatisfied=int(acc.get("survey_unsatisfied") or 0),
                benefit=acc.get("benefit_score") or Decimal(0),
                extensibility=acc.get("extensibility_score") or Decimal(0),
                passed=acc.get("conclusion") == "pass",
            )
        )
    return out


def evaluate_all(
    state: RegisterState, config: Config
) -> tuple[list[Evaluation], list[CommitteeTotal]]:
    results = _evaluate_all(evaluation_inputs(state), config.scoring)
    return results, committee_totals(results)


def score_json(
    results: list[Evaluation], totals: list[CommitteeTotal], config: Config, roster: Roster | None
) -> dict[str, Any]:
    d = config.scoring.decimals

    def num(v: Decimal | None) -> Any:
        return None if v is None else as_json_number(v, d)

    projects = [
        {
            "project": e.project,
            "committee": e.input.committee,
            "type": e.input.project_type,
            "name": e.input.name,
            "goal_rate": num(e.goal_rate),
            "goal_source": e.goal_source,
            "satisfaction_rate": num(e.satisfaction_rate),
            "benefit": num(e.input.benefit),
            "extensibility": num(e.input.extensibility),
            "score": num(e.score),
            "grade": e.grade,
            "rank_in_type": e.rank_in_type,
            "promotion": e.promotion or None,
            "commend": e.commend,
            "explanation": e.explanation,
        }
        for e in results
    ]
    committees = [
        {
            "committee": t.committee,
            "name": roster.committee(t.committee).name
            if roster and roster.has(t.committee)
            else "",
            "projects": t.projects,
            "average": num(t.average(d)),
            "grades": t.grades,
        }
        for t in totals
    ]
    return {"projects": projects, "committees": committees}
