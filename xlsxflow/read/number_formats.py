"""Which number formats show a date, and the date they show, as calamine has them: our
own parser reads a date cell as calamine does (a ``datetime``), so a sheet reads the
same whichever of the two reads it (the styles part itself is read in ``read.xlsx``)."""

from __future__ import annotations

import datetime as dt

# Excel's built-in number formats that are dates or times, by id as written (the CJK
# ones, 27–36 and 50–58, are what a Chinese Excel writes for 2012年3月5日); 46,
# ``[h]:mm:ss``, is a duration: calamine gives a ``timedelta``, which sends the sheet
# to our parser.
BUILT_IN_DATES = frozenset(str(i) for i in (*range(14, 23), *range(27, 37), 45, 47, *range(50, 59)))
_DAY_MS = 86_400_000
# Day 0 of Excel's two date systems (its 1900 system counts a 29 February 1900 that
# never was: day 0 is 30 December 1899 for every date after it)
EXCEL_EPOCH = dt.date(1899, 12, 30)
EXCEL_EPOCH_1904 = dt.date(1904, 1, 1)
_EPOCH_1900 = dt.datetime.combine(EXCEL_EPOCH, dt.time())
_EPOCH_1904 = dt.datetime.combine(EXCEL_EPOCH_1904, dt.time())
_ESCAPES = "_\\*"  # (each takes the next character as it is, in quotes too)


def is_date_format(code: str) -> bool:
    """A format code that shows a date or a time, as calamine tells it: a d, m, y, h or
    s in its first section, outside quotes, escapes and [brackets] (after an a, as in
    AM/PM, only a p, m or /). A duration, ``[h]``, ``[mm]``, is not one."""
    escaped = quoted = after_a = False
    brackets = 0
    for i, ch in enumerate(code):
        if escaped:
            escaped = False
        elif ch in _ESCAPES:
            escaped = True
        elif quoted:
            quoted = ch != '"'
        elif ch == '"':
            quoted = True
        elif ch == ";":
            return False
        elif ch == "[":
            brackets += 1
            inside = code[i + 1 : code.find("]", i)] if "]" in code[i:] else ""
            if brackets == 1 and inside and len(set(inside.lower())) == 1 and inside[0] in "hmsHMS":
                return False
        elif ch == "]":
            brackets = max(0, brackets - 1)
        elif brackets:
            continue
        elif after_a:
            if ch in "pmPM/":
                return True
        elif ch in "aA":
            after_a = True
        elif ch in "dmhysDMHYS":
            return True
    return False


def as_datetime(serial: float, date1904: bool) -> dt.datetime | float:
    """The date and time a date-styled number shows, to the millisecond, counted as
    calamine counts it (Excel's 29 February 1900, serial 60, is the 28th); a number
    under 1 (a time alone) or past the year 9999 stays a number, as calamine has it."""
    if not serial >= 1:
        return serial
    days = serial if date1904 or serial >= 60 else serial + 1
    try:
        return (_EPOCH_1904 if date1904 else _EPOCH_1900) + dt.timedelta(
            milliseconds=round(days * _DAY_MS)
        )
    except OverflowError:
        return serial
