"""The workspace configuration ``xlsxflow.toml``: one validated pydantic model.

Defaults are the values of the source document's first cycle (2011). The file a clerk
edits is rendered from this model, so every key carries its Chinese comment and no
default is written twice. Loading errors name the file and the key, in Chinese.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from xlsxflow.errors import UsageError

BASE_YEAR = 2011


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _d(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, day)


class CycleConfig(_Section):
    """年度周期：项目申报、实施、验收的时间安排"""

    year: int = Field(BASE_YEAR, ge=2000, le=2100, description="周期年度（发文、截止申报的年份）")
    county: str = Field("南昌县", min_length=1, max_length=20, description="县名，用于表格标题")
    department: str = Field("县委组织部", min_length=1, max_length=30, description="牵头部门名称")
    notice_date: dt.date = Field(_d(2011, 10, 28), description="发文日期（周期开始）")
    application_deadline: dt.date = Field(
        _d(2011, 12, 31), description="项目申报截止日期（审签日期不得晚于此日）"
    )
    implementation_end: dt.date = Field(
        _d(2012, 6, 30), description="项目实施截止日期（计划起止时间不得晚于此日）"
    )
    dispatch_meetings: tuple[dt.date, ...] = Field(
        (_d(2012, 3, 31), _d(2012, 6, 30), _d(2012, 9, 30), _d(2012, 12, 31)),
        description="季度调度会日期（每季度一次）",
    )
    acceptance_deadline: dt.date = Field(_d(2012, 12, 31), description="项目验收截止日期")

    @model_validator(mode="after")
    def _ordered(self) -> CycleConfig:
        if self.notice_date.year != self.year:
            raise ValueError(f"notice_date（{self.notice_date}）应在 year（{self.year}）年内")
        order = [
            ("notice_date", self.notice_date),
            ("application_deadline", self.application_deadline),
            ("implementation_end", self.implementation_end),
            ("acceptance_deadline", self.acceptance_deadline),
        ]
        for (a, da), (b, db) in itertools.pairwise(order):
            if da > db:
                raise ValueError(f"{a}（{da}）不能晚于 {b}（{db}）")
        meetings = list(self.dispatch_meetings)
        if meetings != sorted(set(meetings)):
            raise ValueError("dispatch_meetings 中的日期须按先后顺序排列且不重复")
        if meetings and meetings[0] <= self.notice_date:
            raise ValueError("dispatch_meetings 中的日期须晚于 notice_date")
        return self

    @property
    def cycle_end(self) -> dt.date:
        """Last day anything of this cycle can be dated (acceptance or last meeting)."""
        return max(self.acceptance_deadline, *self.dispatch_meetings)


class NumberingConfig(_Section):
    """立项编号规则"""

    pattern: str = Field(
        "NCX-{year}-{type}-{seq:03d}",
        description="立项编号格式：{year} 年度，{type} 类型字母（CX/SF/TG），{seq:03d} 三位序号",
    )

    @field_validator("pattern")
    @classmethod
    def _formats(cls, pattern: str) -> str:
        # Any str.format failure (unknown name or index, attribute or item access, bad
        # format spec) is a typo of the clerk: a Chinese message, never a crash.
        try:
            first = pattern.format(year=2011, type="CX", seq=1)
            second = pattern.format(year=2011, type="CX", seq=2)
        except (KeyError, IndexError, ValueError, TypeError, AttributeError):
            raise ValueError(
                "只能使用 {year}、{type}、{seq} 三个占位符，例如 NCX-{year}-{type}-{seq:03d}"
            ) from None
        if first == second:
            raise ValueError("必须包含序号 {seq}")
        return pattern


class ComplianceConfig(_Section):
    """调度会进度考核阈值"""

    commend_min_rate: Decimal = Field(
        Decimal(90),
        ge=0,
        le=100,
        description="按期完成率达到此值（%）且进度不滞后的，列入经验交流推广",
    )
    rectify_below_rate: Decimal = Field(
        Decimal(60), ge=0, le=100, description="按期完成率低于此值（%）的，责令限期整改"
    )
    rectify_overdue_days: int = Field(30, ge=0, description="有任务逾期超过此天数的，责令限期整改")
    rectify_period_days: int = Field(30, ge=1, description="限期整改的期限（天）")


class ScoringConfig(_Section):
    """项目评估权重与等次"""

    weight_goal: Decimal = Field(Decimal(40), ge=0, le=100, description="目标实现率权重（%）")
    weight_satisfaction: Decimal = Field(
        Decimal(30), ge=0, le=100, description="群众满意率权重（%）"
    )
    weight_benefit: Decimal = Field(Decimal(15), ge=0, le=100, description="综合效益权重（%）")
    weight_extensibility: Decimal = Field(
        Decimal(15), ge=0, le=100, description="经验可推广性权重（%）"
    )
    basic_satisfied_weight: Decimal = Field(
        Decimal(1), ge=0, le=1, description="“基本满意”计入满意率的比例（1 表示全额计入）"
    )
    grade_excellent: Decimal = Field(Decimal(90), ge=0, le=100, description="“优秀”最低分")
    grade_good: Decimal = Field(Decimal(80), ge=0, le=100, description="“良好”最低分")
    grade_pass: Decimal = Field(Decimal(60), ge=0, le=100, description="“合格”最低分")
    decimals: int = Field(1, ge=0, le=4, description="得分、比率保留的小数位数（四舍五入）")
    missing_survey: Literal["reweight", "zero"] = Field(
        "reweight",
        description="未开展问卷调查（无有效问卷）时：reweight 按其余三项权重折算，zero 满意率按 0 计",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ScoringConfig:
        total = (
            self.weight_goal
            + self.weight_satisfaction
            + self.weight_benefit
            + self.weight_extensibility
        )
        if total != 100:
            raise ValueError(f"四项权重之和必须为 100，现在是 {total}")
        if not self.grade_excellent >= self.grade_good >= self.grade_pass:
            raise ValueError("等次分数线须满足 优秀 ≥ 良好 ≥ 合格")
        return self


class MailConfig(_Section):
    """电子邮件发送设置（密码不写在这里，只从环境变量读取）"""

    host: str = Field(
        "", description="SMTP 服务器地址，例如 smtp.example.gov.cn；留空则只能用 --dry-run"
    )
    port: int = Field(
        465, ge=1, le=65535, description="SMTP 端口：SSL 通常为 465，STARTTLS 通常为 587"
    )
    security: Literal["ssl", "starttls", "none"] = Field(
        "ssl", description="加密方式：ssl、starttls 或 none（仅限内网测试）"
    )
    username: str = Field("", description="登录用户名（通常是发件邮箱）")
    sender: str = Field("", description="发件人邮箱地址")
    sender_name: str = Field("县委组织部", description="发件人显示名称")
    password_env: str = Field(
        "XLSXFLOW_SMTP_PASSWORD",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="保存 SMTP 密码的环境变量名称",
    )


class Config(_Section):
    """Everything configurable in one workspace."""

    cycle: CycleConfig = CycleConfig()
    numbering: NumberingConfig = NumberingConfig()
    compliance: ComplianceConfig = ComplianceConfig()
    scoring: ScoringConfig = ScoringConfig()
    mail: MailConfig = MailConfig()

    @classmethod
    def for_year(cls, year: int) -> Config:
        """The default calendar moved to ``year`` (same months and days as the source)."""
        base = CycleConfig()
        shift = year - BASE_YEAR

        def move(day: dt.date) -> dt.date:
            return day.replace(year=day.year + shift)

        cycle = base.model_copy(
            update={
                "year": year,
                "notice_date": move(base.notice_date),
                "application_deadline": move(base.application_deadline),
                "implementation_end": move(base.implementation_end),
                "dispatch_meetings": tuple(move(d) for d in base.dispatch_meetings),
                "acceptance_deadline": move(base.acceptance_deadline),
            }
        )
        return cls(cycle=CycleConfig.model_validate(cycle.model_dump()))


# -- loading -------------------------------------------------------------------------------

_PYDANTIC_MESSAGES = {
    "missing": "缺少此项",
    "extra_forbidden": "不认识的配置项，可能拼写错误，请对照注释改正或删除",
    "date_parsing": "不是有效的日期，请写作 2012-03-31 的格式（不加引号）",
    "date_type": "不是有效的日期，请写作 2012-03-31 的格式（不加引号）",
    "date_from_datetime_parsing": "不是有效的日期，请写作 2012-03-31 的格式（不加引号）",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "decimal_parsing": "应为数字",
    "decimal_type": "应为数字",
    "string_type": "应为文字，请用英文双引号括起来",
    "tuple_type": "应为列表，例如 [2012-03-31, 2012-06-30]",
    "model_type": "应为一个 [小节]",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "greater_than": "必须大于 {gt}",
    "string_too_short": "不能为空",
    "string_too_long": "太长，最多 {max_length} 个字",
    "literal_error": "只能是 {expected} 之一",
    "string_pattern_mismatch": "格式不正确",
}


def translate_error(error: Any) -> str:
    """A pydantic error entry as a Chinese phrase a clerk understands."""
    kind = error["type"]
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    template = _PYDANTIC_MESSAGES.get(kind)
    if template is None:
        return error["msg"]
    return template.format(**error.get("ctx", {}))


def parse_config(data: dict[str, Any], path: Path) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "（整个文件）"
        raise UsageError(
            "config.invalid", path=path, key=key, detail=translate_error(first)
        ) from None


def load_config(path: Path) -> Config:
    try:
        text = toml_text(path.read_bytes(), path)
    except OSError as err:
        raise UsageError("config.syntax", path=path, detail=err.strerror or str(err)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UsageError("config.syntax", path=path, detail=str(err)) from None
    return parse_config(data, path)


def toml_text(data: bytes, path: Path) -> str:
    """The text of a TOML file the clerk may have edited in Notepad: saved with a byte
    order mark (Notepad's "UTF-8 with BOM"), read as it is; saved as ANSI (GBK, older
    Notepad's default), told how to save it again."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError("config.encoding", path=path) from None


# -- rendering -----------------------------------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        # TOML basic strings cannot hold line breaks or other control characters raw.
        escaped = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", escaped)
        return f'"{escaped}"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__} as TOML")


def render_config(config: Config) -> str:
    """The commented TOML a clerk edits; loading it gives back ``config``."""
    lines = [
        "# xlsxflow 工作区配置文件。",
        "# 用记事本等文本编辑器修改；“#”开头的行是说明，不影响配置。",
        "# 日期写作 2012-03-31 的格式，文字用英文双引号括起来。",
        "",
    ]
    for name in Config.model_fields:
        section = getattr(config, name)
        lines.append(f"# {type(section).__doc__}")
        lines.append(f"[{name}]")
        for key, field in type(section).model_fields.items():
            lines.append(f"# {field.description}")
            lines.append(f"{key} = {_toml_value(getattr(section, key))}")
        lines.append("")
    return "\n".join(lines)
