"""``xlsxflow demo DIR``."""

from __future__ import annotations

from pathlib import Path

import click

from xlsxflow.cli.common import reports_errors, workspace_argument


@click.command("demo")
@workspace_argument
@click.option(
    "--committees",
    type=click.IntRange(1, 10000),
    default=None,
    help="示例县的党委数量（默认为示例名册的 30 个）。",
)
@click.option(
    "--seed", type=int, default=1, show_default=True, help="随机种子：同一种子得到完全相同的示例。"
)
@click.option("-q", "--quiet", is_flag=True, help="不逐步输出。")
@reports_errors
def command(workspace: Path, committees: int | None, seed: int, quiet: bool) -> None:
    """生成一个示例工作区，模拟一个完整年度周期：各党委填写并报送申报表、评审表、
    每季度的管理台帐、结题报告和验收评分表（约五分之一的申报表有常见填写错误），并依次运行
    校验、合并、调度会进度计算和项目评估。"""
    from xlsxflow.demo.cycle import play

    demo = play(workspace, committees, seed, say=(lambda _: None) if quiet else click.echo)
    ws = demo.ws
    click.echo(f"示例工作区：{ws.root}")
    click.echo(f"  报回的表格：{ws.inbox}（{demo.files} 份）")
    click.echo(f"  总台账：{ws.register_path}")
    click.echo(f"  汇总表：{ws.reports}（调度会汇总、年度评估、立项批复名单）")
    click.echo(f"  退回修改：{ws.feedback}（有问题的表格的标注副本）")
    click.echo(
        f"  可继续运行：xlsxflow run {ws.root} --as-of {ws.config.cycle.dispatch_meetings[1]}"
    )
