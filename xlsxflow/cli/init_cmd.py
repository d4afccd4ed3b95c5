"""``xlsxflow init DIR``."""

from __future__ import annotations

from pathlib import Path

import click

from xlsxflow.cli.common import reports_errors, workspace_argument


@click.command("init")
@workspace_argument
@click.option(
    "--year",
    type=click.IntRange(2000, 2100),
    default=None,
    help="周期年度；日程按原文件（2011 年）的月日顺延到该年。默认 2011。",
)
@click.option(
    "--committees",
    type=click.IntRange(1, 100000),
    default=None,
    help="示例名册中的党委数量（默认为示例县的 30 个）。",
)
@reports_errors
def command(workspace: Path, year: int | None, committees: int | None) -> None:
    """在 WORKSPACE 文件夹创建一个年度周期的工作区。

    写入配置文件 xlsxflow.toml（每项都有中文注释）、名册 roster.xlsx（默认是一个
    示例县，邮箱均为 .invalid 域名，请替换为本县实际名单），以及 outbox（发出的表格）、
    inbox（收回的表格）、feedback（退回修改的表格）、reports（汇总表）四个文件夹。
    """
    from xlsxflow.config import BASE_YEAR, Config
    from xlsxflow.sample_county import sample_roster
    from xlsxflow.workspace import init_workspace

    config = Config.for_year(year or BASE_YEAR)
    ws = init_workspace(workspace, config, sample_roster(committees))
    click.echo(f"已创建工作区：{ws.root}")
    click.echo(f"  配置文件：{ws.config_path.name}（{config.cycle.year} 年度）")
    click.echo(
        f"  名    册：{ws.roster_path.name}（{len(ws.roster.committees)} 个基层党委，"
        f"{len(ws.roster.leaders)} 位领导）"
    )
    click.echo(f"下一步：核对名册和配置后，运行 xlsxflow templates {workspace} 生成申报表。")
