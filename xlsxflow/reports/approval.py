"""立项批复名单: the approved projects with their numbers, for the department's document."""

from __future__ import annotations

from pathlib import Path

from xlsxflow.excel.report_book import ReportBook, Table
from xlsxflow.reports.common import context, save
from xlsxflow.workspace import Workspace


def write_approval(ws: Workspace) -> Path:
    ctx = context(ws)
    title = f"{ctx.county}{ctx.year}年度基层党建工作项目立项批复名单"
    book = ReportBook(title, ctx.created, ws.config.cycle.department)
    order = {"innovation": 0, "demonstration": 1, "institutional": 2}
    projects = sorted(
        (p for p in ctx.state.projects if p.number and p.cycle == str(ctx.year)),
        key=lambda p: (order.get(p.project_type, 9), p.number or ""),
    )
    rows = []
    for i, p in enumerate(projects, start=1):
        v = p.values
        rows.append(
            [
                i,
                p.number,
                str(v.get("project_name") or ""),
                ctx.committee_name(p.committee),
                str(v.get("undertaking_org") or ""),
                ctx.type_text(p.project_type),
                ctx.direction_text(str(v.get("direction") or "")),
                v.get("start_date"),
                v.get("end_date"),
                v.get("budget_special"),
                v.get("budget_party_fee"),
            ]
        )
    book.table(
        Table(
            "立项批复名单",
            title,
            [
                "序号",
                "立项编号",
                "项目名称",
                "领办单位",
                "承办党组织",
                "项目类型",
                "项目方向",
                "计划开始",
                "计划完成",
                "党委专项资金（元）",
                "县管党费扶持（元）",
            ],
            rows,
            subtitle=f"共 {len(rows)} 个项目（{ws.config.cycle.department}）",
            wide=("项目名称", "项目方向"),
        )
    )
    return save(ws, f"{ctx.year}年度立项批复名单", book.close())
