"""``xlsxflow schedule DIR --as-of DATE``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from xlsxflow.cli.common import as_of_option, json_text, reports_errors, shown, workspace_argument


@click.command("schedule")
@workspace_argument
@as_of_option("调度会日期（按此日期计算进度），格式 2012-03-31。", required=True)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.option("--no-save", is_flag=True, help="只计算，不把结果记入总台账的“调度记录”。")
@reports_errors
def command(workspace: Path, as_of: dt.datetime, as_json: bool, no_save: bool) -> None:
    """计算截至调度会日期各项目的任务进度：按期完成率、逾期任务、经验交流推广、
    限期整改（含整改期限）和调整建议，并按党委和全县汇总。

    结果记入总台账的“调度记录”，作为下次调度会判断“连续两次整改”的依据。
    """
    from xlsxflow.compliance import VERDICT_TEXT
    from xlsxflow.register.meetings import run_schedule
    from xlsxflow.workspace import Workspace

    data = run_schedule(Workspace.open(workspace), as_of.date(), save=not no_save, tasks=as_json)
    if as_json:
        click.echo(json_text(data))
        return
    click.echo(f"截至 {data['as_of']} 的项目进度：")
    for p in data["projects"]:
        if not p["has_ledger"]:
            click.echo(
                click.style(shown(f"  {p['project']} {p['name']}：未报送管理台帐"), fg="yellow")
            )
            continue
        verdict = VERDICT_TEXT[p["verdict"]]
        color = {"rectify": "red", "commend": "green"}.get(p["verdict"])
        extra = f"，整改期限 {p['rectify_by']}" if p["rectify_by"] else ""
        if p.get("adjust"):
            extra += "，连续两次整改，建议调整"
        click.echo(
            f"  {p['project']} {shown(p['name'])}：按期完成率 {p['compliance']}%（到期 "
            f"{p['due']}，按期 {p['on_time']}，逾期完成 {p['late']}，逾期未完成 "
            f"{p['overdue']}）→ " + click.style(verdict + extra, fg=color)
        )
    c = data["county"]
    click.echo(
        f"全县：{c['projects']} 个项目，按期完成率 {c['compliance']}%，经验交流推广 "
        f"{c['commend']} 个，限期整改 {c['rectify']} 个，未报送台帐 "
        f"{len(c['missing_ledger'])} 个。"
    )
