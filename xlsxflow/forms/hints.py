"""Chinese descriptions of what a field accepts.

The same sentence appears in the cell's input message, on the 填报说明 sheet and in
validation messages, so it is written once, here, from the spec.
"""

from __future__ import annotations

import datetime as dt

from xlsxflow.forms.spec import ChoiceList, FieldSpec

DATE_EXAMPLE = "2012-03-05"
PHONE_RULE = "11 位手机号，或带区号的固定电话（如 0791-85712345）"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def accepts(
    field: FieldSpec,
    choices: ChoiceList | None = None,
    bounds: tuple[dt.date, dt.date] | None = None,
) -> str:
    """What the field accepts, as one Chinese sentence without a final full stop."""
    kind = field.type
    if kind == "date":
        text = f"日期，格式如 {DATE_EXAMPLE}"
        if bounds is not None:
            text += f"，在 {bounds[0].isoformat()} 至 {bounds[1].isoformat()} 之间"
        return text
    if kind == "money":
        return "金额（元），不小于 0 的数字，不写“元”字"
    if kind == "integer":
        low = _num(field.min) if field.min is not None else None
        high = _num(field.max) if field.max is not None else None
        if low is not None and high is not None:
            return f"{low}—{high} 的整数"
        if low is not None:
            return f"不小于 {low} 的整数"
        return "整数"
    if kind == "percent":
        return "0—100 的数字（百分数，可写 85 或 85%）"
    if kind == "score":
        return "0—100 的分数"
    if kind == "phone":
        return PHONE_RULE
    if kind == "choice":
        assert choices is not None
        if len(choices.items) <= 4:
            return "从下拉列表中选择：" + "、".join(choices.displays())
        return f"从下拉列表中选择{choices.title}"
    if field.max_length:
        return f"文字，不超过 {field.max_length} 个字"
    if kind == "longtext":
        return "文字说明，可分段（单元格内按 Alt+Enter 换行）"
    return "文字内容"


def input_message(field: FieldSpec, accepts_text: str) -> str:
    """Input message shown by Excel when the cell is selected (Excel allows 255 characters)."""
    parts = ["必填。" if field.required else "选填。", accepts_text + "。"]
    if field.help:
        parts.append(field.help)
    text = "".join(parts)
    return text if len(text) <= 255 else text[:254] + "…"
