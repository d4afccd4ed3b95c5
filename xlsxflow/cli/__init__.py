"""The ``xlsxflow`` command line: a thin layer over the library.

Each sub-command lives in its own module and is imported only when it runs, so that
``xlsxflow --help`` starts fast (no pandas, openpyxl or xlsxwriter at start-up).
"""

from __future__ import annotations

import gc
import importlib
import os
import stat
import sys
from typing import Any

import click

from xlsxflow import __version__, collect_less_often
from xlsxflow.cli.chinese import install as _install_chinese

_install_chinese()  # (before the decorators below ask click for its texts)

COMMANDS = {
    "init": ("xlsxflow.cli.init_cmd", "创建一个年度周期的工作区（配置、名册、文件夹）"),
    "templates": ("xlsxflow.cli.templates_cmd", "为每个基层党委生成预填好的 Excel 表格"),
    "validate": ("xlsxflow.cli.validate_cmd", "校验报回的表格，逐个单元格指出问题"),
    "merge": ("xlsxflow.cli.merge_cmd", "把报回的表格合并进总台账（register.xlsx）"),
    "schedule": ("xlsxflow.cli.schedule_cmd", "计算调度会的项目进度、整改和推广名单"),
    "score": ("xlsxflow.cli.score_cmd", "评估已验收项目的得分、等次、排名和推广建议"),
    "report": ("xlsxflow.cli.report_cmd", "生成调度会汇总、年度评估、立项批复名单"),
    "send": ("xlsxflow.cli.send_cmd", "发送表格、退回修改、催报和汇总邮件"),
    "original": ("xlsxflow.cli.original_cmd", "按文件编号从归档中取回报送的原始文件"),
    "run": ("xlsxflow.cli.run_cmd", "调度会前一条命令完成校验、合并、计算、汇总（和发送）"),
    "demo": ("xlsxflow.cli.demo_cmd", "生成示例工作区并模拟一个完整年度周期"),
}


class LazyGroup(click.Group):
    """Lists commands from ``COMMANDS`` and imports a command's module only to run it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0])
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from ``COMMANDS``, without importing any command module."""
        with formatter.section("命令"):
            formatter.write_dl([(name, short) for name, (_, short) in COMMANDS.items()])


def _utf8_console() -> None:
    """Chinese output must not crash on a Windows console set to another code page; and
    output redirected to a file (cmd's ``--json > result.json``) is UTF-8, whatever the
    code page: a committee's name or a file name outside GBK came out as ``?``. A pipe
    keeps the code page: PowerShell 5.1 decodes what a program writes to it (its ``>``
    too) with the console's code page, and would garble every Chinese character."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure: Any = getattr(stream, "reconfigure", None)
        if reconfigure is None or (stream.encoding or "").lower() in ("utf-8", "utf8"):
            continue
        try:
            to_file = stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
        except (OSError, ValueError, AttributeError):
            to_file = False
        if to_file:
            reconfigure(encoding="utf-8", errors="replace")
        else:
            reconfigure(errors="replace")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xlsxflow")
def cli() -> None:
    """xlsxflow：基层党建工作项目化管理的 Excel 表格流转工具。

    生成表格 → 校验回收的表格 → 合并总台账 → 计算进度与评分 → 生成汇总表 → 发送邮件。
    """


def main() -> None:
    _utf8_console()
    collect_less_often()
    try:
        cli(prog_name="xlsxflow")
    finally:
        # The interpreter's last collection at exit walks every object left (a province's
        # roster and specs: 25–50 ms of a merge); they are freed with the process anyway.
        gc.freeze()
