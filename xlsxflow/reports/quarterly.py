"""调度会汇总: what leaders see at a quarterly dispatch meeting."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from pathlib import Path

from xlsxflow.compliance import STATUS_TEXT, VERDICT_TEXT, Aggregate, round_half_up
from xlsxflow.excel.report_book import ChartSpec, Overview, ReportBook, Table
from xlsxflow.forms import catalog
from xlsxflow.register.figures import ScheduleReport, compute_schedule
from xlsxflow.register.meetings import recorded_counties, schedule_report
from xlsxflow.register.state import STATE_TEXT, RegisterState
from xlsxflow.reports.common import context, save
from xlsxflow.workspace import Workspace


def _pct(value: Decimal, d: int) -> Decimal:
    return round_half_up(value, d)


def meeting_label(ws: Workspace, as_of: dt.date) -> str:
    meetings = list(ws.config.cycle.dispatch_meetings)
    if as_of in meetings:
        return f"第{meetings.index(as_of) + 1}次调度会"
    return "调度"


def _history(
    ws: Workspace, state: RegisterState, current: ScheduleReport
) -> list[tuple[str, Decimal]]:
    """County compliance at each meeting up to this one (for the change chart): as it
    was recorded at that meeting (``schedule``, ``run``), else worked out from the
    register as it is now (which counts ledgers that came after that meeting)."""
    points = []
    recorded = recorded_counties(ws)
    for meeting in ws.config.cycle.dispatch_meetings:
        if meeting >= current.as_of:
            break
        if meeting.isoformat() in recorded:
            due, on_time = recorded[meeting.isoformat()]
            figure = Aggregate("", due=due, on_time=on_time).compliance
        else:
            figure = compute_schedule(state, ws.config, ws.roster, meeting, {}).county.compliance
        points.append((meeting.isoformat(), figure))
    points.append((current.as_of.isoformat(), current.county.compliance))
    return points


def write_quarterly(ws: Workspace, as_of: dt.date) -> Path:
    ctx = context(ws)
    state = ctx.state
    report = schedule_report(ws, as_of, state)
    cfg, d = ws.config.compliance, ws.config.scoring.decimals
    label = meeting_label(ws, as_of)
    title = f"{ctx.county}{ctx.year}年度基层党建项目{label}汇总"
    book = ReportBook(title, ctx.created, ws.config.cycle.department)
    numbers = state.by_number()
    running = [p for p in report.projects if p.has_ledger]
    history = _history(ws, state, report)
    change = (history[-1][1] - history[-2][1]) if len(history) > 1 else None
    verdicts = Counter(p.verdict(cfg) for p in running)
    figures = [
        ("申报项目", len(state.projects)),
        ("立项项目", sum(1 for p in state.projects if p.number)),
        ("本次调度项目", len(report.projects)),
        ("全县按期完成率（%）", _pct(report.county.compliance, d)),
        ("经验交流推广", verdicts["commend"]),
        ("限期整改", verdicts["rectify"]),
        ("未报送台帐", len(report.missing)),
        (
            "较上次变化（百分点）",
            "—" if change is None else f"{'+' if change >= 0 else ''}{_pct(change, d)}",
        ),
    ]
    types = catalog().choice("project_type")
    by_type = Counter(p.project_type for p in state.projects if p.number)
    groups: Counter[str] = Counter()
    directions = catalog().choice("direction")
    group_of = {i.code: i.group or "" for i in directions.items}
    for p in state.projects:
        if p.number:
            groups[group_of.get(str(p.values.get("direction") or ""), "其他")] += 1
    states = Counter(STATE_TEXT[p.state] for p in state.projects)
    group_order = ["一核", "两翼", "三点", "四线", "五片"]
    # (a committee none of whose projects sent a ledger has no figure: shown at 100 % it
    # looked best; it is in 未报送名单 instead)
    committees = sorted((a for a in report.committees if a.projects), key=lambda a: a.name)
    charts = [
        ChartSpec(
            "立项项目类型分布",
            "pie",
            [i.text for i in types.items],
            [("项目数", [by_type[i.code] for i in types.items])],
        ),
        ChartSpec(
            "项目方向分布（立项）",
            "column",
            group_order,
            [("项目数", [groups[g] for g in group_order])],
        ),
        ChartSpec(
            "项目状态",
            "column",
            list(STATE_TEXT.values()),
            [("项目数", [states[s] for s in STATE_TEXT.values()])],
        ),
        ChartSpec(
            "全县按期完成率变化（%）",
            "line",
            [h[0] for h in history],
            [("按期完成率", [float(_pct(h[1], d)) for h in history])],
            percent=True,
        ),
        ChartSpec(
            "各党委按期完成率（%）",
            "bar",
            [ctx.committee_name(a.name) for a in committees],
            [("按期完成率", [float(_pct(a.compliance, d)) for a in committees])],
            percent=True,
            full_width=True,
        ),
    ]
    book.overview(
        Overview(
            "概览",
            title,
            f"截至 {as_of.isoformat()}（{ws.config.cycle.department}）",
            figures,
            charts,
        )
    )

    def name(number: str) -> str:
        return report.names.get(number, "")

    def who(code: str) -> str:
        return ctx.committee_name(code)

    detail = []
    for p in report.projects:
        if not p.has_ledger:
            detail.append(
                [
                    p.project,
                    name(p.project),
                    who(p.committee),
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    "未报送台帐",
                    None,
                ]
            )
            continue
        detail.append(
            [
                p.project,
                name(p.project),
                who(p.committee),
                len(p.tasks),
                p.due,
                p.count("on_time"),
                p.count("late"),
                p.count("overdue"),
                p.count("pending"),
                _pct(p.compliance, d),
                _pct(p.planned_progress, d),
                _pct(p.reported_progress, d),
                VERDICT_TEXT[p.verdict(cfg)],
                p.rectify_by(cfg),
            ]
        )
    book.table(
        Table(
            "项目进度明细",
            "项目进度明细",
            [
                "立项编号",
                "项目名称",
                "领办单位",
                "任务数",
                "到期",
                "按期完成",
                "逾期完成",
                "逾期未完成",
                "未到期",
                "按期完成率（%）",
                "计划进度（%）",
                "实际进度（%）",
                "调度结论",
                "整改期限",
            ],
            detail,
            subtitle=f"截至 {as_of.isoformat()}",
            wide=("项目名称",),
        )
    )
    overdue = []
    for p in report.projects:
        for t in p.tasks:
            if t.status == "overdue":
                overdue.append(
                    [
                        p.project,
                        name(p.project),
                        who(p.committee),
                        t.task.number,
                        t.task.target,
                        t.task.deadline,
                        t.days_overdue,
                        STATUS_TEXT[t.status],
                    ]
                )
    overdue.sort(key=lambda r: (-int(r[6]), str(r[0]), str(r[3])))  # type: ignore[call-overload]
    book.table(
        Table(
            "逾期任务清单",
            "逾期任务清单",
            [
                "立项编号",
                "项目名称",
                "领办单位",
                "任务序号",
                "任务目标",
                "完成时限",
                "逾期天数",
                "状态",
            ],
            overdue,
            subtitle=f"逾期超过 {cfg.rectify_overdue_days} 天的标红",
            wide=("任务目标", "项目名称"),
            red_when=("逾期天数", cfg.rectify_overdue_days),
        )
    )
    rectify = [
        [
            p.project,
            name(p.project),
            who(p.committee),
            _pct(p.compliance, d),
            p.max_days_overdue,
            p.rectify_by(cfg),
            "是" if p.adjust(cfg) else "",
            p.explain(cfg, d),
        ]
        for p in running
        if p.verdict(cfg) == "rectify"
    ]
    book.table(
        Table(
            "限期整改名单",
            "限期整改名单",
            [
                "立项编号",
                "项目名称",
                "领办单位",
                "按期完成率（%）",
                "最长逾期天数",
                "整改期限",
                "连续两次整改",
                "说明",
            ],
            rectify,
            wide=("说明", "项目名称"),
            subtitle=f"整改期限为调度会后 {cfg.rectify_period_days} 天",
        )
    )
    commend = [
        [
            p.project,
            name(p.project),
            who(p.committee),
            _pct(p.compliance, d),
            _pct(p.reported_progress, d),
        ]
        for p in running
        if p.verdict(cfg) == "commend"
    ]
    book.table(
        Table(
            "经验交流推广名单",
            "经验交流推广名单",
            ["立项编号", "项目名称", "领办单位", "按期完成率（%）", "实际进度（%）"],
            commend,
            wide=("项目名称",),
        )
    )
    roster = ws.roster
    missing = [
        [
            p,
            name(p),
            who(c),
            str(numbers[p].values.get("contact_name") or ""),
            roster.committee(c).phone if roster.has(c) else "",
        ]
        for c, p in report.missing
    ]
    book.table(
        Table(
            "未报送名单",
            "本次未报送管理台帐名单",
            ["立项编号", "项目名称", "领办单位", "联系人", "联系电话"],
            missing,
            wide=("项目名称",),
        )
    )
    adjust = [
        [
            p.project,
            name(p.project),
            who(p.committee),
            "连续两次限期整改",
            "建议对项目主体和内容进行适当调整",
        ]
        for p in running
        if p.adjust(cfg)
    ]
    for number, project in sorted(numbers.items()):
        for adj in state.adjustments(project):
            adjust.append(
                [
                    number,
                    name(number),
                    who(project.committee),
                    "基层党委申请调整",
                    f"{adj.get('adj_what', '')}（原因：{adj.get('adj_why', '')}）",
                ]
            )
    book.table(
        Table(
            "调整建议",
            "项目调整建议",
            ["立项编号", "项目名称", "领办单位", "来由", "内容"],
            adjust,
            wide=("内容", "项目名称"),
        )
    )
    return save(ws, f"{ctx.year}年度{label}汇总（{as_of.isoformat()}）", book.close())
