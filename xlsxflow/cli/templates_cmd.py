"""``xlsxflow templates DIR``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from xlsxflow.cli.common import reports_errors, workspace_argument
from xlsxflow.forms.spec import FORM_KINDS


@click.command("templates")
@workspace_argument
@click.option(
    "--committee",
    "committees",
    multiple=True,
    metavar="CODE",
    help="只为这个党委生成（可重复使用）。",
)
@click.option(
    "--form",
    "kinds",
    multiple=True,
    type=click.Choice(FORM_KINDS),
    help="只生成这种表格（可重复使用）；默认生成三种申报表。",
)
@click.option(
    "--projects",
    "projects_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="项目清单（UTF-8 CSV，列：project_no, project_name, committee_code, "
    "project_type, direction），用于生成台帐、结题报告、验收评分表；默认取总台账中已立项的项目。",
)
@click.option(
    "--copies",
    type=click.IntRange(1, 9),
    default=1,
    show_default=True,
    help="每种申报表生成几份（一个党委申报多个同类项目时使用）。",
)
@reports_errors
def command(
    workspace: Path,
    committees: tuple[str, ...],
    kinds: tuple[str, ...],
    projects_file: Path | None,
    copies: int,
) -> None:
    """生成预填好的表格，放入工作区的 outbox 文件夹（每个党委一个子文件夹）。

    表格按名册预填党委名称、编号和联系人，单元格已锁定、带下拉列表和填写提示。
    同一工作区重复生成，得到的文件完全相同。
    """
    from xlsxflow.projects import read_projects
    from xlsxflow.register.query import approved_projects, load_state, review_rows
    from xlsxflow.templates import APPLICATION_KINDS, plan_templates, write_templates
    from xlsxflow.workspace import Workspace

    ws = Workspace.open(workspace)
    state = load_state(ws)
    if projects_file:
        projects = read_projects(projects_file)
    else:
        projects = approved_projects(state) if state else []
    applications = review_rows(state, ws.roster, ws.config.cycle.year) if state else []
    jobs = plan_templates(
        ws.config,
        ws.roster,
        ws.outbox,
        committees=committees,
        kinds=kinds or APPLICATION_KINDS,
        projects=projects,
        copies=copies,
        applications=applications,
    )
    with click.progressbar(jobs, label="生成表格", file=sys.stderr, show_pos=True) as bar:
        written = write_templates(bar, ws.config)
    folders = sorted({p.parent for p in written})
    click.echo(f"已生成 {len(written)} 个表格，位于 {ws.outbox}（{len(folders)} 个文件夹）。")
