"""年度评估: scores with their inputs, grades per type, rankings, promotion and
commendation lists, committee totals for the annual assessment."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from xlsxflow.excel.report_book import ChartSpec, Overview, ReportBook, Table
from xlsxflow.register.figures import evaluate_all
from xlsxflow.reports.common import context, save
from xlsxflow.scoring import GRADE_ORDER, TYPE_ORDER
from xlsxflow.workspace import Workspace


def write_annual(ws: Workspace) -> Path:
    ctx = context(ws)
    config = ws.config
    results, totals = evaluate_all(ctx.state, config)
    d = config.scoring.decimals
    title = f"{ctx.county}{ctx.year}年度基层党建工作项目评估结果"
    book = ReportBook(title, ctx.created, config.cycle.department)
    grades = Counter(e.grade for e in results)
    figures = [
        ("参评项目", len(results)),
        ("优秀", grades["优秀"]),
        ("良好", grades["良好"]),
        ("合格", grades["合格"]),
        ("不合格", grades["不合格"]),
        (
            "中试候选",
            sum(1 for e in results if e.input.project_type == "innovation" and e.promotion),
        ),
        (
            "大试候选",
            sum(1 for e in results if e.input.project_type == "demonstration" and e.promotion),
        ),
        ("表彰对象", sum(1 for e in results if e.commend)),
    ]
    type_names = [ctx.type_text(t) for t in TYPE_ORDER]
    charts = [
        ChartSpec(
            "各类项目等次分布",
            "column",
            type_names,
            [
                (
                    g,
                    [
                        sum(1 for e in results if e.grade == g and e.input.project_type == t)
                        for t in TYPE_ORDER
                    ],
                )
                for g in GRADE_ORDER
            ],
        ),
        ChartSpec(
            "等次分布", "pie", list(GRADE_ORDER), [("项目数", [grades[g] for g in GRADE_ORDER])]
        ),
    ]
    book.overview(
        Overview(
            "概览",
            title,
            f"{config.cycle.department}（按项目评估办法，"
            f"权重 {config.scoring.weight_goal}/{config.scoring.weight_satisfaction}/"
            f"{config.scoring.weight_benefit}/{config.scoring.weight_extensibility}）",
            figures,
            charts,
        )
    )
    rows = [
        [
            e.project,
            e.input.name,
            ctx.committee_name(e.input.committee),
            ctx.type_text(e.input.project_type),
            e.goal_rate,
            e.goal_source,
            e.satisfaction_rate,
            e.input.benefit,
            e.input.extensibility,
            e.score,
            e.grade,
            e.rank_in_type,
            e.explanation,
        ]
        for e in results
    ]
    book.table(
        Table(
            "评估得分",
            "项目评估得分（分类分级）",
            [
                "立项编号",
                "项目名称",
                "领办单位",
                "项目类型",
                "目标实现率（%）",
                "目标实现率来源",
                "群众满意率（%）",
                "综合效益",
                "经验可推广性",
                "得分",
                "等次",
                "类内排名",
                "计算说明",
            ],
            rows,
            wide=("项目名称", "计算说明", "目标实现率来源"),
            subtitle=f"得分保留 {d} 位小数，四舍五入；同分并列排名",
        )
    )
    promotion = [
        [
            e.project,
            e.input.name,
            ctx.committee_name(e.input.committee),
            ctx.type_text(e.input.project_type),
            e.score,
            e.grade,
            e.promotion,
        ]
        for e in results
        if e.promotion
    ]
    book.table(
        Table(
            "推广名单",
            "项目推广建议名单（小试→中试、中试→大试）",
            ["立项编号", "项目名称", "领办单位", "项目类型", "得分", "等次", "推广建议"],
            promotion,
            wide=("项目名称", "推广建议"),
        )
    )
    commend = [
        [
            e.project,
            e.input.name,
            ctx.committee_name(e.input.committee),
            ctx.type_text(e.input.project_type),
            e.score,
        ]
        for e in results
        if e.commend
    ]
    book.table(
        Table(
            "表彰名单",
            "表彰对象建议名单（评估等次为优秀）",
            ["立项编号", "项目名称", "领办单位", "项目类型", "得分"],
            commend,
            wide=("项目名称",),
        )
    )
    committee_rows = [
        [
            t.committee,
            ctx.committee_name(t.committee),
            t.projects,
            t.average(d),
            *(t.grades[g] for g in GRADE_ORDER),
        ]
        for t in totals
    ]
    book.table(
        Table(
            "党委汇总",
            "各基层党委项目评估汇总（纳入党建工作考核）",
            ["单位编号", "单位名称", "参评项目", "平均得分", *GRADE_ORDER],
            committee_rows,
        )
    )
    return save(ws, f"{ctx.year}年度项目评估", book.close())
