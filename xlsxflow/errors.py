"""The error catalogue: every problem xlsxflow reports has a stable code here.

A code never changes meaning once released; messages are Chinese templates for the
clerk, filled with ``str.format`` fields. ``docs/errors.md`` is generated from this table.
Problems found in data are collected as values (see ``Problem``); ``XlsxflowError`` is
kept for "cannot go on" situations such as a broken configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class ErrorType:
    code: str
    severity: Severity
    title: str
    template: str


def _catalogue(*entries: ErrorType) -> dict[str, ErrorType]:
    table: dict[str, ErrorType] = {}
    for entry in entries:
        if entry.code in table:
            raise AssertionError(f"duplicate error code {entry.code}")
        table[entry.code] = entry
    return table


CATALOGUE = _catalogue(
    # -- workspace, configuration, roster (exit code 2) --------------------------------
    ErrorType(
        "workspace.not_found",
        "error",
        "找不到工作区",
        "在 {path} 及其上级文件夹中找不到 xlsxflow.toml。请先运行 xlsxflow init 创建工作区，"
        "或用 --workspace 指定工作区文件夹。",
    ),
    ErrorType(
        "workspace.exists",
        "error",
        "工作区已存在",
        "{path} 已经存在且不是空文件夹。请换一个文件夹名称，或删除其中的文件后重试。",
    ),
    ErrorType(
        "config.syntax",
        "error",
        "配置文件格式错误",
        "配置文件 {path} 格式错误：{detail}。请对照注释改正后重试。",
    ),
    ErrorType("config.invalid", "error", "配置项有误", "配置文件 {path} 中“{key}”：{detail}"),
    ErrorType(
        "roster.unreadable",
        "error",
        "名册无法打开",
        "名册 {path} 无法打开：{detail}。请确认文件是用 Excel 或 WPS 保存的 .xlsx 文件，且没有被其他程序占用。",
    ),
    ErrorType(
        "roster.sheet_missing",
        "error",
        "名册缺少工作表",
        "名册 {path} 中找不到工作表“{sheet}”。请不要修改工作表名称。",
    ),
    ErrorType(
        "roster.column_missing",
        "error",
        "名册缺少列",
        "名册 {path} 工作表“{sheet}”第 1 行找不到列“{column}”。请不要修改表头。",
    ),
    ErrorType(
        "roster.invalid",
        "error",
        "名册内容有误",
        "名册 {path} 工作表“{sheet}”第 {row} 行“{column}”：{detail}",
    ),
    ErrorType(
        "roster.duplicate_code",
        "error",
        "党委编号重复",
        "名册 {path} 工作表“{sheet}”第 {row} 行：编号“{code}”与第 {first_row} 行重复，每个党委的编号必须唯一。",
    ),
    ErrorType(
        "roster.empty", "error", "名册为空", "名册 {path} 中没有任何基层党委。请至少填写一行。"
    ),
    ErrorType("projects.invalid", "error", "项目清单有误", "项目清单 {path} 第 {row} 行：{detail}"),
    ErrorType(
        "templates.unknown_committee",
        "error",
        "没有这个党委",
        "名册中没有编号为“{code}”的党委。可用的编号见 roster.xlsx。",
    ),
    ErrorType(
        "templates.needs_projects",
        "error",
        "缺少项目",
        "“{form}”按项目生成，需要已立项的项目。请用 --projects 指定项目清单。",
    ),
)


def message(code: str, **fields: object) -> str:
    """The Chinese message of ``code`` with its fields filled in."""
    return CATALOGUE[code].template.format(**fields)


class XlsxflowError(Exception):
    """A condition that stops a command; carries a catalogue code and a Chinese message."""

    exit_code = 1

    def __init__(self, code: str, text: str | None = None, **fields: object) -> None:
        self.code = code
        self.fields = fields
        super().__init__(text if text is not None else message(code, **fields))


class UsageError(XlsxflowError):
    """Wrong configuration, roster or arguments: exit code 2."""

    exit_code = 2
