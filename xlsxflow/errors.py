"""The error catalogue: every problem xlsxflow reports has a stable code here.

A code never changes meaning once released; messages are Chinese templates for the
clerk, filled with ``str.format`` fields. ``docs/errors.md`` is generated from this table.
Problems found in data are collected as values (see ``Problem``); ``XlsxflowError`` is
kept for "cannot go on" situations such as a broken configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

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
        "或检查命令中的工作区文件夹是否写对。",
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
    ErrorType(
        "config.encoding",
        "error",
        "配置文件不是 UTF-8 编码",
        "配置文件 {path} 不是 UTF-8 编码（可能用记事本保存成了 ANSI）。请用记事本打开它，"
        "“另存为”时在“编码”中选择“UTF-8”，保存后重试。",
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
        "roster.duplicate_folder",
        "error",
        "两个党委的文件夹重名",
        "名册 {path} 工作表“{sheet}”第 {row} 行：编号和名称合成的文件夹名“{folder}”与第 "
        "{first_row} 行的党委相同（不区分大小写），两个党委的表格会放进同一个文件夹。"
        "请修改其中一个党委的编号或名称。",
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
    ErrorType(
        "workspace.defaults",
        "warning",
        "未找到工作区",
        "这些文件不在任何工作区中，已按各文件所属年度的默认日程校验（未注明年度的按 2011 年度），"
        "不核对名册。"
        "请用 --workspace 指定工作区，以按本年度的日程和名册校验。",
    ),
    ErrorType(
        "validate.no_files",
        "error",
        "没有找到文件",
        "{path} 中没有找到任何文件。请检查路径是否正确。",
    ),
    ErrorType(
        "inbox.file_unreadable",
        "error",
        "收件文件无法读取",
        "无法读取收件文件 {path}（{reason}）。它可能正被其他程序（Excel、WPS、杀毒软件）占用，"
        "或在同步文件夹（如 OneDrive）中尚未下载到本机。请关闭该程序或等下载完成后重新运行；"
        "总台账和数据库都没有改动。",
    ),
    ErrorType(
        "inbox.file_changed",
        "error",
        "收件文件在合并时被改动",
        "收件文件 {path} 在合并过程中被改动（可能正在保存或复制）。请等它保存完毕后重新运行；"
        "总台账和数据库都没有改动。",
    ),
    ErrorType(
        "inbox.unreadable",
        "error",
        "文件夹无法读取",
        "无法读取文件夹 {path}（{reason}），其中的表格未处理。请检查该文件夹的访问权限，"
        "或把其中的文件移到收件文件夹中可以读取的位置后重新运行。",
    ),
    ErrorType(
        "output.read_only",
        "error",
        "文件是只读的",
        "{path} 被设为只读，无法写入（例如从光盘或 U 盘复制来的文件）。请在该文件的“属性”中"
        "取消勾选“只读”后重试，已有内容没有改动。",
    ),
    ErrorType(
        "output.busy",
        "error",
        "文件被占用",
        "{path} 正被其他程序（例如 Excel 或 WPS）打开，无法写入。请关闭该文件后重试，已有内容没有改动。",
    ),
    ErrorType(
        "merge.locked",
        "error",
        "正在合并",
        "工作区 {path} 正在由另一个 xlsxflow 进程合并。请等它结束后再运行。",
    ),
    ErrorType(
        "store.busy",
        "error",
        "数据库正被写入",
        "工作区 data 文件夹中的 register.sqlite 正被另一个 xlsxflow 进程写入（例如正在合并）。"
        "请等它结束后再运行。",
    ),
    ErrorType(
        "store.full",
        "error",
        "磁盘空间不足",
        "磁盘空间不足，无法写入工作区 data 文件夹中的 register.sqlite。请清理磁盘后重试，"
        "已有内容没有改动。",
    ),
    ErrorType(
        "store.unavailable",
        "error",
        "数据库暂时无法打开或写入",
        "工作区 data 文件夹中的 register.sqlite 暂时无法打开或写入（{detail}）。请检查：该文件或 "
        "data 文件夹是否被设为只读，是否在尚未下载到本机的同步文件夹（如 OneDrive）中，是否被"
        "杀毒软件占用。处理后重新运行即可；这不是文件损坏，请不要用备份替换它。",
    ),
    ErrorType(
        "store.io_error",
        "error",
        "数据库读写出错",
        "读写工作区 data 文件夹中的 register.sqlite 时出错（{detail}）。可能是磁盘、U 盘或"
        "网络盘出了问题，或文件正被其他程序占用。请先把整个工作区文件夹复制一份作为备份，"
        "稍后重试；如果反复出现，再用备份的 data 文件夹替换。",
    ),
    ErrorType(
        "store.damaged",
        "error",
        "数据库无法读取",
        "工作区 data 文件夹中的 register.sqlite 无法读取或已损坏（{detail}）。请用备份的 data "
        "文件夹替换后重试；inbox 中报回的表格没有改动。",
    ),
    ErrorType(
        "register.empty",
        "error",
        "总台账为空",
        "工作区 {path} 还没有合并过任何表格。请先运行 xlsxflow merge。",
    ),
    ErrorType(
        "register.saved_meanwhile",
        "error",
        "总台账在合并时被保存",
        "合并过程中 {path} 被保存过（例如在 Excel 或 WPS 中），为保留其中的修改，本次没有覆盖它。"
        "新收到的表格已经入库；请关闭该文件后再运行一次 xlsxflow merge，总台账会读入修改后更新。",
    ),
    ErrorType(
        "register.unread_edits",
        "error",
        "总台账有未读入的修改",
        "{path} 在上次生成后被修改并保存过，这些修改还没有读入。请先运行 xlsxflow merge"
        "（会读入组织部填写的列），再运行本命令。",
    ),
    ErrorType(
        "archive.bad_hash",
        "error",
        "文件编号有误",
        "“{hash}”不是文件编号。请输入总台账“来源文件”列中的编号，或“提交记录”表 SHA-256 列的前 {min} 位以上。",
    ),
    ErrorType(
        "archive.not_found",
        "error",
        "没有这个文件",
        "总台账中没有编号以“{hash}”开头的文件。请核对“来源文件”列或“提交记录”表 SHA-256 列中的编号。",
    ),
    ErrorType(
        "archive.damaged",
        "error",
        "归档文件已损坏",
        "归档中的 {name} 无法完整读出（{detail}）。请从原始邮件中找回该文件。",
    ),
    ErrorType(
        "mail.no_sender",
        "error",
        "未设置发件人",
        "配置文件 xlsxflow.toml 的 [mail] 中没有设置 sender（发件人邮箱地址）。请填写本部门的"
        "邮箱后重试，或先用 --dry-run 生成邮件草稿。",
    ),
    ErrorType(
        "mail.no_host",
        "error",
        "未设置邮件服务器",
        "配置文件 xlsxflow.toml 的 [mail] 中没有设置 host（SMTP 服务器）。请填写后重试，或先用 --dry-run 生成邮件草稿。",
    ),
    ErrorType(
        "mail.no_password",
        "error",
        "缺少邮箱密码",
        "没有找到环境变量 {env}（SMTP 登录密码）。请先设置该环境变量（Windows：set {env}=密码），密码不要写进配置文件。",
    ),
    ErrorType(
        "mail.password_encoding",
        "error",
        "邮箱密码无法使用",
        "环境变量 {env} 中的密码含有中文或其他非英文字符，邮件服务器登录只接受英文字母、数字和符号。请使用邮箱的“客户端授权码”。",
    ),
    ErrorType(
        "run.dry_run_without_send",
        "error",
        "--dry-run 需与 --send 一起使用",
        "--dry-run 的作用是只生成邮件草稿、不发送，需与 --send 一起使用。请加上 --send，"
        "或去掉 --dry-run。",
    ),
    ErrorType(
        "send.unknown_recipient",
        "error",
        "没有这个收件人",
        "“{who}”不在名册中（党委按编号，领导按姓名）。请核对 roster.xlsx 后重试。",
    ),
    ErrorType(
        "mail.template",
        "error",
        "邮件模板有误",
        "邮件模板中的 {key} 无法替换（{template}…）。请对照 mail_templates.toml 开头的说明修改。",
    ),
    ErrorType(
        "mail.log_unusable",
        "error",
        "邮件发送记录无法读写",
        "邮件发送记录 {path} 无法读写或已损坏（{detail}）。请用备份的 data 文件夹中的同名文件"
        "替换后重试（删除它会使已发送过的邮件再发一次）。",
    ),
    # -- the file as a whole (the return cannot be read) ----------------------------------
    ErrorType(
        "file.unreadable",
        "error",
        "文件无法读取",
        "文件无法读取：{detail}。请确认文件没有被其他程序占用后重试。",
    ),
    ErrorType(
        "file.empty",
        "error",
        "空文件",
        "文件是空的（0 字节），可能在保存或发送时出错。请重新保存后再报送。",
    ),
    ErrorType(
        "file.not_spreadsheet",
        "error",
        "不是电子表格",
        "文件不是 Excel 或 WPS 表格，无法识别。请报送下发的 .xlsx 表格。",
    ),
    ErrorType(
        "file.corrupt",
        "error",
        "文件已损坏",
        "文件已损坏或不完整（{detail}）。请用 Excel 或 WPS 打开确认能正常显示，另存为 .xlsx 后重新报送。",
    ),
    ErrorType(
        "file.encrypted",
        "error",
        "文件设置了密码",
        "文件设置了打开密码，系统无法读取。请在 Excel 或 WPS 中取消密码（文件→信息→保护工作簿→用密码进行加密，清空密码）后重新报送。",
    ),
    ErrorType(
        "file.too_large",
        "error",
        "文件过大",
        "文件内容过多（{detail}），超出一份报表的正常范围。请使用下发的原表格填写，不要粘贴大量数据或图片。",
    ),
    ErrorType(
        "file.zip_bomb",
        "error",
        "文件结构异常",
        "文件结构异常（{detail}），为安全起见未读取。请用下发的原表格重新填写。",
    ),
    ErrorType(
        "file.xml_attack",
        "error",
        "文件含有不安全内容",
        "文件中含有不安全的 XML 内容（{detail}），为安全起见未读取。请用下发的原表格重新填写。",
    ),
    ErrorType(
        "file.duplicate_member",
        "error",
        "文件结构异常",
        "文件内部有重复的部件（{detail}），无法确定以哪个为准。请用 Excel 或 WPS 另存为 .xlsx 后重新报送。",
    ),
    ErrorType(
        "file.duplicate_sheet",
        "error",
        "工作表重名",
        "文件中有两个名为“{sheet}”的工作表，无法确定以哪个为准。请删除多余的工作表后重新报送。",
    ),
    ErrorType(
        "file.macros",
        "warning",
        "文件含有宏",
        "文件含有宏代码。系统只读取单元格的值，不运行宏；今后请保存为不含宏的 .xlsx 格式。",
    ),
    ErrorType(
        "file.external_links",
        "warning",
        "文件含有外部链接",
        "文件含有指向其他文件的链接。系统不会打开这些链接，只读取单元格中保存的值。",
    ),
    ErrorType(
        "file.crashed",
        "error",
        "读取时出错",
        "读取文件时出错（{detail}）。请用 Excel 或 WPS 另存为 .xlsx 后重新报送；如仍有问题请联系县委组织部。",
    ),
    # -- identifying the form ---------------------------------------------------------------
    ErrorType(
        "form.unknown",
        "error",
        "无法识别表格",
        "无法识别这是哪一种表格：文件中没有系统标识，也找不到表格标题。请使用县委组织部下发的表格填写，不要新建文件。",
    ),
    ErrorType(
        "form.metadata_lost",
        "warning",
        "表格标识丢失",
        "文件中的系统标识丢失（可能是把内容复制到了新文件），已根据表格标题识别为“{form}”。今后请直接在下发的表格中填写。",
    ),
    ErrorType(
        "form.version",
        "error",
        "表格版本不符",
        "这份“{form}”是第 {version} 版，系统只支持第 {expected} 版。请使用县委组织部最新下发的表格。",
    ),
    ErrorType(
        "form.fingerprint",
        "error",
        "表格结构被改动",
        "表格结构与下发时不一致（标识 {found}，应为 {expected}），系统无法可靠读取。请使用下发的原表格重新填写。",
    ),
    ErrorType(
        "form.sheet_missing",
        "error",
        "工作表缺失或被改名",
        "找不到工作表“{sheet}”，可能被删除或改名。请恢复原名称（或使用下发的原表格）后重新报送。",
    ),
    ErrorType(
        "form.name_missing",
        "error",
        "表格结构被改动",
        "“{label}”一栏的位置标记（名称 {name}）丢失，可能删除或移动了单元格。请使用下发的原表格重新填写。",
    ),
    ErrorType(
        "form.name_moved",
        "warning",
        "表格结构有变动",
        "“{label}”一栏的位置与下发时不同（现在在 {cell}），已按新位置读取。请勿插入或删除行列。",
    ),
    ErrorType(
        "form.names_moved",
        "warning",
        "表格结构有变动",
        "“{label}”等 {count} 栏的位置与下发时不同（可能插入或删除了行列，“{label}”现在在 {cell}），"
        "已按新位置读取。请勿插入或删除行列。",
    ),
    ErrorType(
        "form.unknown_committee",
        "error",
        "党委编号不在名册中",
        "表格中的党委编号“{code}”不在名册中。请使用县委组织部为本单位下发的表格。",
    ),
    ErrorType(
        "form.wrong_cycle",
        "warning",
        "年度不符",
        "这是 {found} 年度的表格，当前工作区是 {expected} 年度。请确认没有报错年度。",
    ),
    ErrorType(
        "form.metadata_conflict",
        "warning",
        "表格标识不一致",
        "表格的系统标识前后不一致（{key}：{first} / {second}），已以隐藏工作表中的为准。",
    ),
    ErrorType(
        "form.other_committee",
        "error",
        "用了其他党委的表格",
        "这份表格是下发给“{issued}”的，表头却填成了“{other}”。请使用县委组织部下发给本单位的"
        "表格填写；如确需代其他党委填报，请先联系县委组织部。",
    ),
    ErrorType(
        "form.prefilled_changed",
        "warning",
        "预填内容被修改",
        "“{label}”是系统预填的内容，原为“{expected}”，现为“{found}”。已按原内容处理；如原内容有误，请联系县委组织部。",
    ),
    # -- one value ----------------------------------------------------------------------------
    ErrorType("value.required", "error", "必填项未填", "“{label}”未填写。请填写：{accepts}。"),
    ErrorType("value.type", "error", "格式不正确", "“{label}”：{reason}。应填写：{accepts}。"),
    ErrorType(
        "value.too_long",
        "error",
        "内容过长",
        "“{label}”有 {length} 个字，超过了 {max_length} 个字的限制。请精简。",
    ),
    ErrorType("value.out_of_range", "error", "超出范围", "“{label}”为 {value}，{reason}。"),
    ErrorType("value.choice", "error", "不在可选范围内", "“{label}”填写有误：{reason}。"),
    ErrorType(
        "value.truncated",
        "warning",
        "内容超长",
        "“{label}”超过了 Excel 单元格 32,767 个字的上限，只读取了前 32,767 个字。请精简后重新报送。",
    ),
    ErrorType("value.interpreted", "warning", "已自动识别", "“{label}”：{note}。如有误请改正。"),
    ErrorType(
        "value.formula",
        "warning",
        "单元格是公式",
        "“{label}”是公式，已读取其计算结果“{value}”。请直接填写数值。",
    ),
    ErrorType(
        "value.formula_no_value",
        "error",
        "公式没有结果",
        "“{label}”是公式，但文件中没有保存计算结果，系统无法读取。请把公式改为直接填写的数值。",
    ),
    ErrorType(
        "value.cell_error",
        "error",
        "单元格显示错误",
        "“{label}”显示为错误值 {error}。请改为正确的数值。",
    ),
    # -- rules across fields and rows ---------------------------------------------------------
    ErrorType(
        "rule.date_order",
        "error",
        "日期先后顺序不对",
        "“{first_label}”（{first}）晚于“{second_label}”（{second}）。请检查日期。",
    ),
    ErrorType(
        "rule.date_bounds",
        "error",
        "日期超出范围",
        "“{label}”为 {value}，应在 {low} 至 {high} 之间（{why}）。",
    ),
    ErrorType(
        "rule.rows_within",
        "error",
        "计划时间超出项目起止时间",
        "“{label}”（{value}）不在项目计划起止时间（{low} 至 {high}）之内。",
    ),
    ErrorType(
        "rule.rows_in_order",
        "warning",
        "计划顺序",
        "“{label}”（{value}）早于上一行（{previous}）。请按时间先后排列实施计划。",
    ),
    ErrorType(
        "rule.exactly_one", "error", "只能填写其中一项", "“{labels}”必须且只能填写其中一项。"
    ),
    ErrorType(
        "rule.row_incomplete",
        "error",
        "本行填写不完整",
        "“{table}”第 {row} 行已填写了部分内容，但“{label}”未填写。请补全该行或清空整行。",
    ),
    ErrorType(
        "rule.min_rows",
        "error",
        "行数不足",
        "“{table}”至少需要填写 {min_rows} 行，现在只有 {rows} 行。",
    ),
    ErrorType(
        "rule.done_needs_date",
        "error",
        "缺少完成时间",
        "第 {row} 行任务的完成进度为 100%，但没有填写“{label}”。请填写实际完成时间。",
    ),
    ErrorType(
        "rule.date_without_done",
        "warning",
        "进度与完成时间不符",
        "第 {row} 行任务填写了实际完成时间，但完成进度为 {progress}%。如已完成请把进度改为 100。",
    ),
    ErrorType(
        "rule.required_if",
        "error",
        "缺少相关内容",
        "“{when_label}”选择了“{equals}”，因此“{label}”必须填写。",
    ),
)


def message(code: str, /, **fields: object) -> str:
    """The Chinese message of ``code`` with its fields filled in."""
    return CATALOGUE[code].template.format(**fields)


def severity(code: str) -> Severity:
    return CATALOGUE[code].severity


class XlsxflowError(Exception):
    """A condition that stops a command; carries a catalogue code and a Chinese message."""

    exit_code = 1

    def __init__(self, code: str, text: str | None = None, /, **fields: object) -> None:
        # Positional-only, so that a message field may itself be called ``code``.
        self.code = code
        self.fields = fields
        super().__init__(text if text is not None else message(code, **fields))

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in a reading process too: sent back whole (code, message, fields).
        return type(self), (self.code, str(self)), self.__dict__


class UsageError(XlsxflowError):
    """Wrong configuration, roster or arguments: exit code 2."""

    exit_code = 2


def render_markdown() -> str:
    """``docs/errors.md``: the catalogue as a table (regenerate with
    ``python -m xlsxflow.errors > docs/errors.md``; a test keeps it current)."""
    lines = [
        "# Error catalogue",
        "",
        "Every problem xlsxflow reports carries one of these stable codes. Codes never change",
        "meaning; messages are shown to clerks in Chinese with the placeholders filled in.",
        "`error` makes a return invalid (exit code 1); `warning` is shown but accepted.",
        "Generated from `xlsxflow/errors.py`.",
        "",
        "| code | severity | title | message |",
        "|---|---|---|---|",
    ]
    for entry in CATALOGUE.values():
        template = entry.template.replace("|", "\\|")
        lines.append(f"| `{entry.code}` | {entry.severity} | {entry.title} | {template} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    sys.stdout.write(render_markdown())
