"""``xlsxflow report DIR quarterly|annual|approval``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from xlsxflow.cli.common import as_of_option, reports_errors, workspace_argument


@click.command("report")
@workspace_argument
@click.argument("kind", type=click.Choice(["quarterly", "annual", "approval"]))
@as_of_option("调度会日期（quarterly 必填），格式 2012-03-31。")
@reports_errors
def command(workspace: Path, kind: str, as_of: dt.datetime | None) -> None:
    """生成汇总表，放入工作区的 reports 文件夹：

    quarterly 调度会汇总（概览图表、项目进度明细、逾期任务、限期整改、经验交流推广、
    未报送、调整建议）；annual 年度评估（得分、等次、排名、推广和表彰名单、党委汇总）；
    approval 立项批复名单。均按 A4 打印设置。
    """
    from xlsxflow.workspace import Workspace

    ws = Workspace.open(workspace)
    if kind == "quarterly":
        if as_of is None:
            raise click.UsageError("quarterly 需要 --as-of（调度会日期）。")
        from xlsxflow.reports.quarterly import write_quarterly

        path = write_quarterly(ws, as_of.date())
    elif kind == "annual":
        from xlsxflow.reports.annual import write_annual

        path = write_annual(ws)
    else:
        from xlsxflow.reports.approval import write_approval

        path = write_approval(ws)
    click.echo(f"已生成：{path}")
