"""``xlsxflow validate PATH...``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

from xlsxflow.cli.common import json_text, reports_errors, shown


def _track(files: list[Path]) -> Iterator[Path]:
    with click.progressbar(files, label="校验", file=sys.stderr, show_pos=True) as bar:
        yield from bar


@click.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    help="按这个工作区的日程和名册校验（默认：文件所在的工作区）。",
)
@click.option(
    "--json", "as_json", is_flag=True, help="以 JSON 输出结果（格式见 docs/validate-json.md）。"
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="把所有问题写入一个 Excel 问题清单。",
)
@click.option(
    "--feedback",
    type=click.Path(file_okay=False, path_type=Path),
    help="为每个有问题的表格生成标注了问题的副本，放入此文件夹。",
)
@click.option("--values", "with_values", is_flag=True, help="JSON 中同时输出读取到的值。")
@click.option("-q", "--quiet", is_flag=True, help="只输出汇总。")
@reports_errors
def command(
    paths: tuple[Path, ...],
    workspace: Path | None,
    as_json: bool,
    report: Path | None,
    feedback: Path | None,
    with_values: bool,
    quiet: bool,
) -> None:
    """校验报回的表格（文件或文件夹，含子文件夹），逐个单元格指出问题。

    全部合格（允许有提示）时退出码为 0，有不合格或无法读取的文件时为 1（同一表格
    已有后来保存的版本时，旧稿不计），
    用法或配置错误时为 2。Office/WPS 的临时锁定文件和非表格文件会被跳过。
    """
    from xlsxflow.inbox import discover
    from xlsxflow.parallel import readers_ahead

    keep = frozenset({"raw"} if feedback else set()) | frozenset(
        {"values"} if with_values else set()
    )
    files = discover(paths)
    with readers_ahead(len(files)):  # (spawned, on Windows: they start while we import)
        from xlsxflow.validate import validate_paths

        run = validate_paths(
            list(paths), workspace, iter if as_json or quiet else _track, keep, files
        )
    if report is not None or feedback is not None:
        from xlsxflow.validate import write_outputs

        written = write_outputs(run, report, feedback)
    else:
        written = []
    if as_json:
        click.echo(json_text(run.as_json(with_values)))
    else:
        from xlsxflow.cli.validate_text import render_text

        click.echo(render_text(run, quiet=quiet))
        for path in written:
            click.echo(shown(f"已写入：{path}"))  # (named after returned files)
    raise SystemExit(0 if run.ok else 1)
