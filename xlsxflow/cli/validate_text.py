"""The console summary of a validation run (plain text, colour only on a terminal).
What a committee supplied (file names, typed values in messages) goes through ``shown``
before colour is added: its control characters never reach the terminal, ours do."""

from __future__ import annotations

import click

from xlsxflow.cli.common import shown
from xlsxflow.forms import catalog
from xlsxflow.validate import ValidationRun

SEVERITY_TEXT = {"error": "错误", "warning": "提示"}


def render_text(run: ValidationRun, quiet: bool = False) -> str:
    forms = catalog().forms
    lines: list[str] = [*(click.style(f"注意：{n}", fg="yellow") for n in run.notices)]
    for r in run.results:
        if r.skipped:
            if not quiet:
                lines.append(click.style(shown(f"－ 跳过 {r.path}：{r.skip_reason}"), dim=True))
            continue
        form = forms[r.form].name if r.form in forms else "未识别的表格"
        counts = f"错误 {len(r.errors)}，提示 {len(r.warnings)}"
        who = shown(r.committee or "？")
        path = shown(r.path)
        newer = run.superseded.get(r.path)
        if newer is not None:
            if not quiet:
                lines.append(
                    click.style("○ 已有新版 ", dim=True)
                    + f"{who} · {form}（{counts}；不计入，以后来保存的 {shown(newer)} 为准）  {path}"
                )
            continue
        if r.valid:
            head = click.style("✔ 合格   ", fg="green") + f"{who} · {form}（{counts}）  {path}"
        else:
            head = (
                click.style("✘ 不合格 ", fg="red", bold=True)
                + f"{who} · {form}（{counts}）  {path}"
            )
        if quiet and r.valid:
            continue
        lines.append(head)
        if quiet:
            continue
        for p in r.problems:
            where = f"{p.sheet}!{p.cell} " if p.sheet and p.cell else ""
            tag = click.style(
                SEVERITY_TEXT[p.severity], fg="red" if p.severity == "error" else "yellow"
            )
            lines.append(f"    {tag} {shown(where + p.message)}  [{p.code}]")
    s = run.summary()
    replaced = f"，已有新版 {s['superseded']}" if s["superseded"] else ""
    lines.append(
        f"共 {s['files']} 个文件：合格 {s['valid']}，不合格 {s['invalid']}{replaced}，"
        f"跳过 {s['skipped']}；错误 {s['errors']} 处，提示 {s['warnings']} 处。"
    )
    return "\n".join(lines)
