"""``xlsxflow score DIR``."""

from __future__ import annotations

from pathlib import Path

import click

from xlsxflow.cli.common import json_text, reports_errors, shown, workspace_argument


@click.command("score")
@workspace_argument
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（含每个项目的计算说明）。")
@reports_errors
def command(workspace: Path, as_json: bool) -> None:
    """评估已验收的项目：目标实现率、群众满意率、综合效益、经验可推广性，加权得分、等次、
    类内排名，推广（小试→中试、中试→大试）和表彰建议，以及各党委汇总。"""
    from xlsxflow.register.meetings import run_score
    from xlsxflow.workspace import Workspace

    data = run_score(Workspace.open(workspace))
    if as_json:
        click.echo(json_text(data))
        return
    if not data["projects"]:
        click.echo("还没有已验收的项目。")
        return
    for p in data["projects"]:
        tags = [t for t in (p["promotion"], "表彰对象" if p["commend"] else None) if t]
        click.echo(
            f"{p['project']} {shown(p['name'])}：{p['score']} 分，{p['grade']}，类内第 "
            f"{p['rank_in_type']} 名" + (f"（{'；'.join(tags)}）" if tags else "")
        )
    for c in data["committees"]:
        click.echo(
            f"  {c['committee']} {shown(c['name'])}：{c['projects']} 个项目，平均 {c['average']} 分"
        )
