"""Which cell styles show a number as a date, and the date they show, as calamine has
them: our own parser reads a date cell as calamine does (a ``datetime``), so a sheet
reads the same whichever of the two reads it."""

from __future__ import annotations

import datetime as dt
from xml.etree.ElementTree import Element

# Excel's built-in number formats that are dates or times (46, ``[h]:mm:ss``, is a
# duration: calamine gives a ``timedelta``, which sends the sheet to our parser).
_BUILT_IN_DATES = frozenset({*range(14, 23), 45, 47})
_DAY_MS = 86_400_000
_LAST_SERIAL = 2_958_466  # 10000-01-01: past it, calamine gives the number
_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)


def is_date_format(code: str) -> bool:
    """A format code that shows a date or a time: a d, m, y, h or s (or an AM/PM) in
    its first section, outside quotes, escapes and [brackets]. (A duration, ``[h]``,
    is not: calamine reads it as one.)"""
    escaped = quoted = False
    brackets = 0
    after_a = False
    for i, ch in enumerate(code):
        if escaped:
            escaped = False
        elif quoted:
            quoted = ch != '"'
        elif ch in "_\\":
            escaped = True
        elif ch == '"':
            quoted = True
        elif ch == ";":
            return False
        elif ch == "[":
            brackets += 1
            if brackets == 1 and code[i + 1 : i + 2] in tuple("hmsHMS"):
                return False
        elif ch == "]":
            brackets = max(0, brackets - 1)
        elif brackets:
            continue
        elif after_a and ch in "pmPM/":
            return True
        elif ch in "aA":
            after_a = True
        elif ch in "dmhysDMHYS":
            return True
    return False


def date_styles(styles: Element, ns: str) -> frozenset[int]:
    """The indexes (a cell's ``s``) of the cell styles showing a date."""
    codes = {
        f.get("numFmtId", ""): f.get("formatCode", "")
        for f in styles.iterfind(f"{ns}numFmts/{ns}numFmt")
    }
    found = set()
    xfs = styles.find(f"{ns}cellXfs")
    for index, xf in enumerate(xfs if xfs is not None else ()):
        fmt = xf.get("numFmtId", "0")
        if fmt in codes:
            if is_date_format(codes[fmt]):
                found.add(index)
        elif fmt.isdigit() and int(fmt) in _BUILT_IN_DATES:
            found.add(index)
    return frozenset(found)


def as_datetime(serial: float, date1904: bool) -> dt.datetime | float:
    """The date and time a date-styled number shows, to the millisecond, with Excel's
    29 February 1900 (serial 60) shown as the 28th; a number under 1 (a time alone) or
    past the year 9999 stays a number, as the two readers then agree on it."""
    if not 1 <= serial < _LAST_SERIAL:
        return serial
    ms = round(serial * _DAY_MS)
    days, rest = divmod(ms, _DAY_MS)
    if date1904:
        day = _EPOCH_1904 + dt.timedelta(days=days)
    elif days < 61:
        day = _EPOCH_1900 + dt.timedelta(days=days + 1 if days < 60 else days)
    else:
        day = _EPOCH_1900 + dt.timedelta(days=days)
    return day + dt.timedelta(milliseconds=rest)
