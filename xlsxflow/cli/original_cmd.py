"""``xlsxflow original DIR HASH``."""

from __future__ import annotations

from pathlib import Path

import click

from xlsxflow.cli.common import reports_errors, shown, workspace_argument


@click.command("original")
@workspace_argument
@click.argument("file_hash", metavar="编号")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="保存到哪个文件夹（默认：工作区中的“原件”文件夹）。",
)
@reports_errors
def command(workspace: Path, file_hash: str, out: Path | None) -> None:
    """按编号取回报送的原始文件（编号见总台账“来源文件”列，或“提交记录”表 SHA-256 列，
    至少前 6 位）：从 data/archive 中原样取出，以“编号_原文件名”保存。"""
    from xlsxflow.register.originals import restore_originals
    from xlsxflow.workspace import Workspace

    ws = Workspace.open(workspace)
    for path in restore_originals(ws, file_hash, out or ws.root / "原件"):
        click.echo(shown(f"已取回：{path}"))
