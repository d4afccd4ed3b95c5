"""Play a whole cycle as the committees and the department would, into a workspace.

Stage by stage, returns are written into ``inbox/`` (dated as people would save them),
then the department's commands run: merge after applications, the review sheet, each
quarter's ledgers (with ``schedule`` on the meeting day), closure reports and acceptance
sheets, then ``score``. About one application in five carries a realistic mistake;
those rejected for errors are corrected and sent again a few days later.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlsxflow.config import Config
from xlsxflow.demo import content
from xlsxflow.filenames import safe_filename
from xlsxflow.projects import ProjectRef
from xlsxflow.register.query import approved_projects, load_state, review_rows
from xlsxflow.sample_county import sample_roster
from xlsxflow.templates import TemplateJob, plan_templates, render_job
from xlsxflow.workspace import Workspace, init_workspace

APPLICATION_KINDS = ("application_innovation", "application_demonstration")
Say = Callable[[str], None]


def _render(work: tuple[Any, ...]) -> None:
    """Worker: render one filled form to its file (top-level and picklable: spawn-safe)."""
    job, config, values, rows, saved, path = work
    Path(path).write_bytes(render_job(job, config, values, rows, saved_at=saved))


@dataclass
class Demo:
    ws: Workspace
    seed: int
    rng: random.Random
    say: Say
    files: int = 0
    mistakes: int = 0
    steps: list[str] = field(default_factory=list)
    queue: list[tuple[Any, ...]] = field(default_factory=list)

    def write(
        self,
        folder: str,
        name: str,
        job: TemplateJob,
        values: Any = None,
        rows: Any = None,
        saved_at: dt.datetime | None = None,
    ) -> Path:
        """Queue a filled form; ``flush`` renders the queue on all cores."""
        path = self.ws.inbox / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self.queue.append((job, self.ws.config, values, rows, saved_at, str(path)))
        self.files += 1
        return path

    def flush(self) -> None:
        work, self.queue = self.queue, []
        if len(work) < 64:
            for item in work:
                _render(item)
            return
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor() as pool:
            list(pool.map(_render, work, chunksize=32))


def _at(day: dt.date, rng: random.Random) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(rng.randint(8, 17), rng.randint(0, 59)))


def _mistake(
    demo: Demo,
    values: dict[str, Any],
    rows: dict[str, list[dict[str, Any]]],
) -> bool:
    """Spoil about one application in five the way people do; True if it makes it invalid."""
    rng = demo.rng
    if rng.random() >= 0.2:
        return False
    demo.mistakes += 1
    kind = rng.choice(["blank", "fullwidth", "text_date", "choice", "plan"])
    if kind == "blank" and "undertaking_org" in values:
        values["undertaking_org"] = ""
        return True
    if kind == "fullwidth" and "budget_special" in values:
        values["budget_special"] = (
            str(int(values["budget_special"])).translate(
                str.maketrans("0123456789", "０１２３４５６７８９")
            )
            + "元"
        )
        return False
    if kind == "text_date" and "signoff_date" in values:
        d = values["signoff_date"]
        values["signoff_date"] = f"{d.year}年{d.month}月{d.day}日"
        return False
    if kind == "choice" and "direction" in values:
        values["direction"] = "党建品牌建设"
        return True
    if "plan" in rows and len(rows["plan"]) > 3:
        rows["plan"][-1] = {"plan_phase": rows["plan"][-1]["plan_phase"]}
        return True
    values["contact_phone"] = float(values.get("contact_phone") or 13900000000)
    return False


def _applications(demo: Demo) -> None:
    ws, rng, config = demo.ws, demo.rng, demo.ws.config
    jobs = plan_templates(config, ws.roster, ws.outbox, kinds=list(APPLICATION_KINDS))
    by_committee: dict[str, list[TemplateJob]] = {}
    for job in jobs:
        assert job.committee is not None
        by_committee.setdefault(job.committee.code, []).append(job)
    cycle = config.cycle
    for code, options in by_committee.items():
        if rng.random() < 0.05:
            continue  # a committee that never applies: shows up in 未报送名单
        for job in rng.sample(options, rng.choice([1, 1, 2])):
            assert job.committee is not None
            values, rows = content.application_values(rng, job.committee, job.spec.kind, config)
            saved = _at(values["signoff_date"], rng)
            broken = _mistake(demo, values, rows)
            name = safe_filename([job.committee.name, job.spec.name], ".xlsx")
            demo.write("01-申报", name, job, values, rows, saved_at=saved)
            if broken:  # corrected and sent again three days later, under another name
                good, good_rows = content.application_values(
                    random.Random(f"{demo.seed}-{code}-{job.spec.kind}"),
                    job.committee,
                    job.spec.kind,
                    config,
                )
                good["signoff_date"] = min(
                    values["signoff_date"]
                    if isinstance(values["signoff_date"], dt.date)
                    else cycle.application_deadline,
                    cycle.application_deadline,
                )
                demo.write(
                    "01-申报",
                    "修改后-" + name,
                    job,
                    good,
                    good_rows,
                    saved_at=saved + dt.timedelta(days=3),
                )
    (ws.inbox / "01-申报" / "~$临时文件.xlsx").write_bytes(b"\0" * 165)


def _review(demo: Demo) -> None:
    ws, rng, config = demo.ws, demo.rng, demo.ws.config
    state = load_state(ws)
    assert state is not None
    apps = review_rows(state, ws.roster, config.cycle.year)
    rows = []
    for app in apps:
        approve = rng.random() < 0.85
        rows.append(
            {
                **app,
                "rv_innovation": rng.randint(14, 25),
                "rv_feasibility": rng.randint(14, 25),
                "rv_leading": rng.randint(12, 25),
                "rv_outcome": rng.randint(14, 25),
                "rv_decision": "立项" if approve else "不立项",
            }
        )
    decided = {r["rv_instance"]: r for r in rows}
    day = config.cycle.application_deadline + dt.timedelta(days=10)
    jobs = plan_templates(config, ws.roster, ws.outbox, kinds=["review"], applications=apps)
    for job in jobs:  # one sheet per 200 applications
        assert job.rows is not None
        demo.write(
            "02-评审",
            job.path.name.replace("项目评审表", "项目评审表（评估小组）"),
            job,
            rows={"reviews": [decided[r["rv_instance"]] for r in job.rows["reviews"]]},
            saved_at=_at(day, rng),
        )


def _project_jobs(demo: Demo, kind: str) -> list[tuple[TemplateJob, ProjectRef]]:
    state = load_state(demo.ws)
    assert state is not None
    refs = approved_projects(state)
    jobs = plan_templates(
        demo.ws.config, demo.ws.roster, demo.ws.outbox, kinds=[kind], projects=refs
    )
    return list(zip(jobs, refs, strict=True))


def _ledgers(demo: Demo, plans: dict[str, dict[str, Any]], meeting: dt.date) -> None:
    rng = demo.rng
    state = load_state(demo.ws)
    assert state is not None
    numbers = state.by_number()
    for job, ref in _project_jobs(demo, "ledger"):
        if ref.project_no not in plans:
            plans[ref.project_no] = _plan(demo, numbers[ref.project_no].values)
        plan = plans[ref.project_no]
        if plan["start"] > meeting or plan.get("closed"):
            continue
        if rng.random() < 0.07:
            continue  # late with the ledger: shows in 未报送名单
        day = meeting - dt.timedelta(days=rng.randint(2, 8))
        values = {"report_date": day}
        rows = {
            "team": content.team_rows(rng, plan["values"]),
            "tasks": content.progress(plan["tasks"], day, rng),
            "funds": content.fund_rows(rng, plan["start"], plan["budget"]),
        }
        if plan.get("adjust") and meeting >= plan["adjust"]:
            rows["adjustments"] = [
                {
                    "adj_what": "调整部分任务完成时限",
                    "adj_why": "受汛期影响",
                    "adj_date": plan["adjust"],
                }
            ]
        name = safe_filename([ref.project_no, "管理台帐", meeting.isoformat()], ".xlsx")
        demo.write(
            f"03-台帐-{meeting.isoformat()}",
            name,
            job,
            values,
            rows,
            saved_at=_at(day, rng),
        )


def _plan(demo: Demo, values: dict[str, Any]) -> dict[str, Any]:
    """How a project's tasks will go: deadlines over its period, each task's fate."""
    start, end = values["start_date"], values["end_date"]
    rng = random.Random(f"{demo.seed}-{values.get('project_name')}-{start}")
    budget = float(values.get("budget_special") or 10000)
    plan: dict[str, Any] = {
        "start": start,
        "end": end,
        "values": values,
        "budget": budget,
        "tasks": content.ledger_rows(rng, start, end, rng.randint(6, 14)),
    }
    if rng.random() < 0.1:
        plan["adjust"] = start + (end - start) / 2
    return plan


def _closures(demo: Demo, plans: dict[str, dict[str, Any]]) -> None:
    rng, config = demo.rng, demo.ws.config
    day0 = config.cycle.implementation_end + dt.timedelta(days=10)
    for job, ref in _project_jobs(demo, "closure"):
        if rng.random() < 0.1:
            continue  # not concluded yet
        day = day0 + dt.timedelta(days=rng.randint(0, 30))
        values, rows = content.closure_values(rng, ref.project_name, day)
        plans.setdefault(ref.project_no, {})["closed"] = True
        demo.write(
            "04-结题",
            safe_filename([ref.project_no, "结题报告"], ".xlsx"),
            job,
            values,
            rows,
            saved_at=_at(day, rng),
        )


def _acceptances(demo: Demo) -> None:
    ws, rng, config = demo.ws, demo.rng, demo.ws.config
    state = load_state(ws)
    assert state is not None
    concluded = {p.number for p in state.projects if p.closure is not None}
    day0 = config.cycle.acceptance_deadline - dt.timedelta(days=60)
    for job, ref in _project_jobs(demo, "acceptance"):
        if ref.project_no not in concluded:
            continue
        day = day0 + dt.timedelta(days=rng.randint(0, 40))
        demo.write(
            "05-验收",
            safe_filename([ref.project_no, "验收评分表"], ".xlsx"),
            job,
            content.acceptance_values(rng, day),
            saved_at=_at(day, rng),
        )


def play(
    root: Path,
    committees: int | None = None,
    seed: int = 1,
    say: Say = lambda _: None,
    year: int | None = None,
) -> Demo:
    """Build a workspace at ``root`` and play a full cycle into it."""
    from xlsxflow.register.meetings import run_schedule
    from xlsxflow.register.merge import merge

    config = Config.for_year(year) if year else Config()
    ws = init_workspace(root, config, sample_roster(committees))
    demo = Demo(ws, seed, random.Random(seed), say)

    def step(text: str) -> None:
        demo.steps.append(text)
        say(text)

    _applications(demo)
    demo.flush()
    report = merge(ws)
    step(
        f"申报：收到 {demo.files} 份文件，合并后新增 {sum(report.new.values())} 个项目，"
        f"退回 {len(report.rejections)} 份"
    )
    _review(demo)
    demo.flush()
    merge(ws)
    state = load_state(ws)
    assert state is not None
    step(f"评审：立项 {sum(1 for p in state.projects if p.number)} 个")
    plans: dict[str, dict[str, Any]] = {}
    concluded = False
    for meeting in ws.config.cycle.dispatch_meetings:
        if meeting > ws.config.cycle.implementation_end and not concluded:
            _closures(demo, plans)
            demo.flush()
            merge(ws)  # closure reports come in before the next ledgers
            concluded = True
        _ledgers(demo, plans, meeting)
        demo.flush()
        merge(ws)
        data = run_schedule(ws, meeting)
        c = data["county"]
        step(
            f"{meeting.isoformat()} 调度会：按期完成率 {c['compliance']}%，限期整改 "
            f"{c['rectify']} 个，经验交流推广 {c['commend']} 个"
        )
    _acceptances(demo)
    demo.flush()
    merge(ws)
    step(f"校验：共 {demo.files} 份文件，其中 {demo.mistakes} 份申报表有常见填写错误")
    _department_outputs(demo)
    return demo


def _department_outputs(demo: Demo) -> None:
    """What the department has at the end of the year: feedback copies, the evaluation
    and the summary workbooks."""
    from xlsxflow.feedback import write_feedback
    from xlsxflow.register.meetings import run_score
    from xlsxflow.reports.annual import write_annual
    from xlsxflow.reports.approval import write_approval
    from xlsxflow.reports.quarterly import write_quarterly
    from xlsxflow.validate import validate_paths

    ws = demo.ws
    run = validate_paths([ws.inbox], ws.root)
    copies = write_feedback(run.results, ws.feedback, ws.config, ws.roster)
    demo.say(f"退回修改：{len(copies)} 份标注副本，位于 {ws.feedback}")
    scores = run_score(ws)["projects"]
    excellent = sum(1 for p in scores if p["grade"] == "优秀")
    demo.say(f"评估：{len(scores)} 个项目，优秀 {excellent} 个")
    reports = [write_quarterly(ws, m) for m in ws.config.cycle.dispatch_meetings]
    reports += [write_annual(ws), write_approval(ws)]
    demo.say(f"汇总表：{len(reports)} 份，位于 {ws.reports}")
