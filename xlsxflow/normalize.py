"""Turn what people type into clean values, and say when a value had to be interpreted.

Pure functions, no I/O. Each parser returns ``(value, note)``: ``note`` is a Chinese
sentence when the input was not already in canonical form (a date typed as text, a
number stored as text, full-width digits, a fraction read as a percentage), else None.
A value that cannot be understood raises ``Unreadable`` with a Chinese reason.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, DecimalException

from xlsxflow.forms.spec import ChoiceList, per_spec
from xlsxflow.read.number_formats import EXCEL_EPOCH, EXCEL_EPOCH_1904

Note = str | None

_SPACE = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000\ufeff]+")
# Text that ``clean_lines`` would only trim: no line break, odd space or repeated space.
_ONE_LINE_PLAIN = re.compile(r"[\r\n\t\u00a0\u2000-\u200b\u3000\ufeff]|  ")
_TRIM = " \t\r\n\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u3000\ufeff"
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_DATETIME_TAIL = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


# Numbers read before, as ``parse_decimal`` reads them (bounded: most repeat).
_DECIMALS: dict[float, Decimal] = {}


class Unreadable(ValueError):
    """The value cannot be understood; ``args[0]`` says why, in Chinese."""


def is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip(_TRIM))


def halfwidth(text: str) -> str:
    """Full-width digits, letters and punctuation as their ASCII forms (NFKC)."""
    return unicodedata.normalize("NFKC", text)


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def one_line(text: str) -> str | None:
    """``clean_text(text)`` for text on one line with plain spaces (most cells: only its
    ends to trim), else None."""
    return text.strip(_TRIM) if _ONE_LINE_PLAIN.search(text) is None else None


def clean_text(raw: object) -> tuple[str, Note]:
    """Free text: trimmed, odd spaces made plain; numbers shown as typed."""
    if isinstance(raw, float):
        return _number_text(raw), None
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat() if raw.time() == dt.time() else raw.isoformat(" "), None
    text = str(raw)
    trimmed = one_line(text)
    return (clean_lines(text) if trimmed is None else trimmed), None


def clean_lines(text: str) -> str:
    """Line breaks made ``\n``; in each line, runs of odd or repeated spaces made one
    plain space, the ends trimmed; blank lines at either end dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACE.sub(" ", line).strip(_TRIM) for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


def _serial_to_date(serial: float, date1904: bool) -> dt.date:
    if not 1 <= serial < 2958466:
        raise Unreadable("不是有效的日期")
    epoch = EXCEL_EPOCH_1904 if date1904 else EXCEL_EPOCH
    return epoch + dt.timedelta(days=int(serial))


def parse_date(raw: object, date1904: bool = False) -> tuple[dt.date, Note]:
    if isinstance(raw, dt.datetime):
        return raw.date(), None
    if isinstance(raw, dt.date):
        return raw, None
    if isinstance(raw, float | int) and not isinstance(raw, bool):
        if float(raw).is_integer() and 19000101 <= raw <= 21001231:
            return parse_date(str(int(raw)), date1904)  # 20120305 typed as a number
        return _serial_to_date(float(raw), date1904), None
    text = halfwidth(str(raw)).strip(_TRIM)
    text = _DATETIME_TAIL.sub("", text)
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            year, month, day = (int(g) for g in m.groups())
            try:
                value = dt.date(year, month, day)
            except ValueError:
                raise Unreadable(f"“{raw}”不是存在的日期") from None
            if value.isoformat() == text:
                return value, "日期是以文字形式填写的，已按日期读取"
            return value, f"已将“{raw}”理解为 {value.isoformat()}"
    raise Unreadable(f"“{raw}”不是日期，请按 2012-03-05 的格式填写")


def parse_decimal(raw: object) -> tuple[Decimal, Note]:
    """Numbers, also typed as text: full-width digits, thousands separators, 元, 万."""
    if type(raw) is float:  # most numbers: seen before, in this column or another
        value = _DECIMALS.get(raw)
        if value is None:
            value = _finite(Decimal(repr(raw)), raw)
            if raw and len(_DECIMALS) < 4096:  # (not 0.0: -0.0 is the same key)
                _DECIMALS[raw] = value
        return value, None
    if isinstance(raw, bool):
        raise Unreadable("应填写数字")
    if isinstance(raw, float | int):
        return _finite(Decimal(repr(float(raw))), raw), None
    original = str(raw)
    text = halfwidth(original).strip(_TRIM).replace(" ", "")
    text = text.lstrip("¥$").removesuffix("元")
    scale = Decimal(1)
    if text.endswith("万"):
        text, scale = text[:-1], Decimal(10000)
    text = re.sub(r"(?<=\d),(?=\d{3}(\D|$))", "", text)
    try:
        value = Decimal(text) * scale
    except DecimalException:  # not a number, or one that overflows (9E+999999万)
        raise Unreadable(f"“{original}”不是数字") from None
    value = _finite(value, original)
    return value, f"数字是以文字形式填写的，已将“{original}”读作 {_plain(value)}"


def _finite(value: Decimal, original: object) -> Decimal:
    """``tidy(value)``; NaN, infinity and numbers too long to write out are unreadable
    (``quantize`` raises ``InvalidOperation`` beyond 28 digits, e.g. for ``1E+30``)."""
    if not value.is_finite():
        raise Unreadable(f"“{original}”不是数字")
    try:
        return tidy(value)
    except DecimalException:
        raise Unreadable(f"“{original}”数值过大，不是有效的数字") from None


def _plain(value: Decimal) -> str:
    return format(value, "f")


def tidy(value: Decimal) -> Decimal:
    """``Decimal('1E+2')`` → ``Decimal('100')``; ``2.50`` → ``2.5``: one form per number."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def parse_int(raw: object) -> tuple[int, Note]:
    value, note = parse_decimal(raw)
    if value != value.to_integral_value():
        raise Unreadable(f"“{raw}”不是整数")
    return int(value), note


def parse_percent(raw: object) -> tuple[Decimal, Note]:
    """A percentage on the 0–100 scale; ``85%``, ``85`` and ``0.85`` all give 85."""
    if isinstance(raw, str):
        text = halfwidth(raw).strip(_TRIM)
        if text.endswith("%"):
            value, _ = parse_decimal(text[:-1])
            return value, f"已将“{raw}”读作 {_plain(value)}"
    value, note = parse_decimal(raw)
    if 0 < value <= 1:
        # Excel stores "85%" typed into a cell as 0.85: read fractions as percentages.
        scaled = tidy(value * 100)
        return scaled, (
            f"已将 {_plain(value)} 理解为 {_plain(scaled)}%（如实为 {_plain(value)}%，请改正）"
        )
    return value, note


def parse_phone(raw: object) -> tuple[str, Note]:
    """A mobile (11 digits) or a landline with area code; spaces and brackets dropped."""
    if isinstance(raw, float):
        text = _number_text(raw)
        note: Note = "电话号码是以数字形式保存的，已按文字读取"
    else:
        text = halfwidth(str(raw)).strip(_TRIM)
        note = None
    compact = re.sub(r"[\s()（）]", "", text).replace("—", "-").replace("－", "-")
    if compact.startswith("+86"):
        compact = compact[3:]
    if _MOBILE.match(compact) or _LANDLINE.match(compact):
        return compact, note
    if re.fullmatch(r"[1-9]\d{9,11}", compact):
        raise Unreadable(f"“{text}”不是有效的电话号码（固定电话请带区号，如 0791-85712345）")
    raise Unreadable(f"“{text}”不是有效的电话号码")  # (what is: the message's 应填写)


def _key(text: str) -> str:
    return re.sub(r"[\s:：、,，.。()（）“”\"']", "", halfwidth(text)).lower()


@per_spec
def _known_as(choices: ChoiceList) -> list[tuple[str, str, frozenset[str]]]:
    """Each item's code, drop-down text and the keys it is known by, made once per
    list: a ledger's task table has a choice in every row, and making the keys of the
    items before the chosen one, cell by cell, was 8 % of reading it."""
    made = []
    for item in choices.items:
        display = choices.display(item)
        names = [display, item.code, item.text, *([item.alias] if item.alias else [])]
        made.append((item.code, display, frozenset(_key(n) for n in names)))
    return made


def parse_choice(raw: object, choices: ChoiceList) -> tuple[str, Note]:
    """The code of the chosen item: accepts the drop-down text, the code, or the label."""
    text = clean_text(raw)[0]
    key = _key(text)
    for code, display, keys in _known_as(choices):
        if text == display:
            return code, None
        if key in keys:
            return code, f"已将“{text}”理解为“{display}”"
    if choices.show_code:
        head = _key(text)[:2].upper()
        for item in choices.items:
            if head == item.code.upper() and len(text) >= 2:
                return item.code, f"已按编号 {item.code} 理解为“{choices.display(item)}”"
    options = "、".join(choices.displays()) if len(choices.items) <= 5 else "下拉列表中的选项"
    raise Unreadable(f"“{text}”不在可选范围内，请从{options}中选择")
