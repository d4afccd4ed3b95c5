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
    help="周期年度；日程按原文件（2011 年）的月日顺延到该年。默认 2011，带入上一年度时为其下一年。",
)
@click.option(
    "--committees",
    type=click.IntRange(1, 100000),
    default=None,
    help="示例名册中的党委数量（默认为示例县的 30 个）。",
)
@click.option(
    "--carry-over",
    "carry",
    type=click.Path(file_okay=False, path_type=Path),
    help="上一年度的工作区：把其中的总台账（项目及历次报送）、名册和设置（县名、编号规则、"
    "评分权重、邮件等，日程除外）带入新年度。",
)
@reports_errors
def command(workspace: Path, year: int | None, committees: int | None, carry: Path | None) -> None:
    """在 WORKSPACE 文件夹创建一个年度周期的工作区。

    写入配置文件 xlsxflow.toml（每项都有中文注释）、名册 roster.xlsx（默认是一个
    示例县，邮箱均为 .invalid 域名，请替换为本县实际名单），以及 outbox（发出的表格）、
    inbox（收回的表格）、feedback（退回修改的表格）、reports（汇总表）四个文件夹。
    """
    from xlsxflow.config import BASE_YEAR, Config
    from xlsxflow.sample_county import sample_roster
    from xlsxflow.workspace import Workspace, init_workspace

    old = Workspace.open(carry) if carry else None
    if old is None:
        config = Config.for_year(year or BASE_YEAR)
    else:
        from xlsxflow.register.carry import carried_config, ensure_carriable

        ensure_carriable(old)  # (before anything is made)
        config = carried_config(old.config, year or old.config.cycle.year + 1)
    roster = old.roster if old else sample_roster(committees)
    existed = workspace.exists()
    ws = init_workspace(workspace, config, roster)
    if old is not None:
        from xlsxflow.register.carry import carry_over
        from xlsxflow.register.merge import write_register

        try:
            count = carry_over(ws, old)
            write_register(ws)
        except BaseException:
            _unmake(ws.root, existed)  # (nothing half-made: the command can run again)
            raise
        click.echo(f"已从 {old.root} 带入 {count} 份报送记录和名册。")
    click.echo(f"已创建工作区：{ws.root}")
    click.echo(f"  配置文件：{ws.config_path.name}（{config.cycle.year} 年度）")
    click.echo(
        f"  名    册：{ws.roster_path.name}（{len(ws.roster.committees)} 个基层党委，"
        f"{len(ws.roster.leaders)} 位领导）"
    )
    click.echo(f"下一步：核对名册和配置后，运行 xlsxflow templates {workspace} 生成申报表。")


def _unmake(root: Path, existed: bool) -> None:
    """Remove what ``init`` made in ``root`` (an empty folder, if it was one before)."""
    import shutil

    if not existed:
        shutil.rmtree(root, ignore_errors=True)
        return
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
