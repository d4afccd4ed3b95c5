"""``xlsxflow run DIR --as-of DATE [--send]``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from xlsxflow.cli.common import as_of_option, json_text, reports_errors, shown, workspace_argument


@click.command("run")
@workspace_argument
@as_of_option("调度会日期，格式 2012-03-31。", required=True)
@click.option("--send", is_flag=True, help="同时把退回修改的表格发给各党委、把汇总表发给领导。")
@click.option("--dry-run", is_flag=True, help="与 --send 一起使用：只生成邮件草稿，不发送。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出各步骤的结果。")
@click.option("-q", "--quiet", is_flag=True, help="只输出失败的步骤。")
@reports_errors
def command(
    workspace: Path, as_of: dt.datetime, send: bool, dry_run: bool, as_json: bool, quiet: bool
) -> None:
    """调度会前一条命令完成：校验新收到的表格并生成退回修改的副本，合并总台账，
    计算进度，生成调度会汇总表；加 --send 时发送邮件。某一步失败时，依赖它的
    后续步骤不再执行，并说明原因；有失败步骤时退出码为 1。"""
    from xlsxflow.errors import UsageError
    from xlsxflow.parallel import readers_ahead, spawning

    if dry_run and not send:  # (it was ignored: the clerk expected drafts)
        raise UsageError("run.dry_run_without_send")
    from xlsxflow.register.nothing_new import surely_new
    from xlsxflow.workspace import Workspace

    def say(line: str) -> None:
        if not as_json and (not quiet or line.startswith("✘")):
            click.echo(shown(line))  # (names files, and says what was typed)

    # (spawned, on Windows: they start while the steps' modules are imported)
    with readers_ahead(surely_new(Workspace(workspace)) if spawning() else 0):
        from xlsxflow.pipeline import run

        report = run(Workspace.open(workspace), as_of.date(), send=send, say=say, dry_run=dry_run)
    if as_json:
        steps = [{"step": s.name, "ok": s.ok, "summary": s.summary} for s in report.steps]
        click.echo(json_text({"ok": report.ok, "steps": steps}))
    raise SystemExit(0 if report.ok else 1)
