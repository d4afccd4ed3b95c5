"""``xlsxflow merge DIR``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from xlsxflow.cli.common import json_text, reports_errors, shown, workspace_argument
from xlsxflow.register.merge_report import MergeReport, counts_text


@click.command("merge")
@workspace_argument
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出合并结果。")
@click.option("-q", "--quiet", is_flag=True, help="只输出汇总。")
@reports_errors
def command(workspace: Path, as_json: bool, quiet: bool) -> None:
    """把工作区 inbox 中报回的表格合并进总台账（register.xlsx）。

    同一文件重复合并不会产生任何变化；同一份表格修改后重新报送，作为新版本保存，
    以最后保存的版本为准，历次版本都保留在“提交记录”中。有被退回的表格时退出码为 1。
    """
    from xlsxflow.register.nothing_new import nothing_new
    from xlsxflow.workspace import Workspace

    outlook = nothing_new(Workspace(workspace))
    report = outlook.report
    if report is None:
        from xlsxflow.parallel import readers_ahead  # (not for a merge with nothing new)

        with readers_ahead(outlook.new_files):
            report = _merge(workspace, as_json or quiet, outlook.listed)
    if as_json:
        click.echo(json_text(report.as_json()))
        raise SystemExit(0 if report.ok else 1)
    names = report.form_names
    data = report.as_json()
    for kind, counts in data["by_form"].items():
        click.echo(f"{names.get(kind, kind)}：{counts_text(counts)}")
    click.echo(f"合计：{counts_text(data['totals'])}。")
    if not quiet:
        for path, reason in report.rejections:
            click.echo(click.style("退回 ", fg="red") + shown(f"{path}：{reason}"))
        for path, reason in report.holds:
            click.echo(click.style("暂缓 ", fg="yellow") + shown(f"{path}：{reason}"))
        for line in [*report.committee_edits, *report.notes]:  # (quote what was typed)
            click.echo(click.style("注意 ", fg="yellow") + shown(line))
    if report.dept_edits:
        click.echo(f"已保留总台账中部门填写的 {report.dept_edits} 处修改。")
    click.echo(
        ("已更新总台账：" if report.register_written else "总台账无变化：") + report.register
    )
    raise SystemExit(0 if report.ok else 1)


def _merge(workspace: Path, silent: bool, listed: list[str] | None) -> MergeReport:
    """The full merge, with a progress bar unless ``silent``; ``listed``: the inbox as
    ``nothing_new`` listed it."""
    from xlsxflow.register.merge import merge, parse_parallel
    from xlsxflow.workspace import Workspace

    def parse(paths: list[Path], ctx, archive, on):  # type: ignore[no-untyped-def]
        results = parse_parallel(paths, ctx, archive, on)
        if silent or not paths:
            yield from results
            return
        with click.progressbar(
            length=len(paths), label="读取", file=sys.stderr, show_pos=True
        ) as bar:
            for result in results:
                bar.update(1)
                yield result

    return merge(Workspace.open(workspace), parse=parse, listed=listed)
