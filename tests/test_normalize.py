"""The normalisers: what people type into a return, turned into clean values.

Each parser returns ``(value, note)`` and raises ``Unreadable`` (and nothing else) for
input it cannot understand; hypothesis checks both the round trips and that promise.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, DecimalException

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from xlsxflow.forms import catalog
from xlsxflow.normalize import (
    Unreadable,
    clean_lines,
    clean_text,
    halfwidth,
    is_blank,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_int,
    parse_percent,
    parse_phone,
    tidy,
)

EPOCH_1900 = dt.date(1899, 12, 30)
EPOCH_1904 = dt.date(1904, 1, 1)
FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")

dates = st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2099, 12, 31))
# Anything a cell can hold: text of every kind, numbers, booleans, dates.
cell_values = st.one_of(
    st.text(),
    st.text(alphabet="0123456789０１２３４５６７８９.,-+/年月日号%％万元eE ", max_size=16),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.booleans(),
    st.none(),
    st.datetimes(),
)


def serial(d: dt.date, date1904: bool = False) -> float:
    return float((d - (EPOCH_1904 if date1904 else EPOCH_1900)).days)


# -- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "2012年3月5日",
        "2012年03月05日",
        "2012年3月5号",
        "2012.3.5",
        "2012/3/5",
        "2012-3-5",
        "2012-03-05",
        "20120305",
        " 2012-03-05 ",
        "2012 年 3 月 5 日",
        "２０１２年３月５日",
        "２０１２－０３－０５",
        "2012-03-05 10:30",
        "2012-03-05T10:30:15",
        "2012/3/5 0:00:00",
        "\u00a02012.3.5\u3000",
        20120305.0,
    ],
)
def test_parse_date_accepts_what_people_type(raw: object) -> None:
    value, note = parse_date(raw)
    assert value == dt.date(2012, 3, 5)
    assert note  # always says the value was interpreted


def test_parse_date_of_a_real_date_has_no_note() -> None:
    assert parse_date(dt.datetime(2012, 3, 5, 14, 30)) == (dt.date(2012, 3, 5), None)
    assert parse_date(dt.date(2012, 3, 5)) == (dt.date(2012, 3, 5), None)


def test_parse_date_excel_serials_in_both_date_systems() -> None:
    assert parse_date(40973.0) == (dt.date(2012, 3, 5), None)
    assert parse_date(40973.75) == (dt.date(2012, 3, 5), None)  # a time of day is dropped
    assert parse_date(39511.0, date1904=True) == (dt.date(2012, 3, 5), None)
    assert parse_date(40973.0, date1904=True) == (dt.date(2016, 3, 6), None)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "明年三月",
        "2012-13-01",
        "2012-02-30",
        "2012年2月30日",
        "20121340",
        "12-3-5",
        "2012-3",
        "2012--3-5",
        0.0,
        -5.0,
        3e7,
        float("nan"),
        float("inf"),
        True,
    ],
)
def test_parse_date_rejects_garbage_as_unreadable(raw: object) -> None:
    with pytest.raises(Unreadable):
        parse_date(raw)


@given(dates)
def test_parse_date_round_trips_iso_text(d: dt.date) -> None:
    value, note = parse_date(d.isoformat())
    assert value == d
    assert note is not None


@given(dates)
def test_parse_date_round_trips_chinese_text(d: dt.date) -> None:
    assert parse_date(f"{d.year}年{d.month}月{d.day}日")[0] == d
    fullwidth = f"{d.year}年{d.month}月{d.day}日".translate(FULLWIDTH_DIGITS)
    assert parse_date(fullwidth)[0] == d
    assert parse_date(f"{d.year}.{d.month}.{d.day}")[0] == d
    assert parse_date(f"{d.year}/{d.month}/{d.day}")[0] == d
    assert parse_date(d.strftime("%Y%m%d"))[0] == d


@given(dates)
def test_parse_date_round_trips_excel_serials(d: dt.date) -> None:
    assert parse_date(serial(d)) == (d, None)
    if d > EPOCH_1904:
        assert parse_date(serial(d, date1904=True), date1904=True) == (d, None)


@given(cell_values, st.booleans())
def test_parse_date_raises_only_unreadable(raw: object, date1904: bool) -> None:
    try:
        value, _ = parse_date(raw, date1904)
    except Unreadable as err:
        assert err.args and isinstance(err.args[0], str)
    else:
        assert isinstance(value, dt.date)


# -- numbers and percentages --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "noted"),
    [
        (1000.0, Decimal(1000), False),
        (12.5, Decimal("12.5"), False),
        ("1000", Decimal(1000), True),
        ("1,000", Decimal(1000), True),
        ("1,234,567.50", Decimal("1234567.5"), True),
        ("１２３４", Decimal(1234), True),
        ("１，０００", Decimal(1000), True),
        ("5万", Decimal(50000), True),
        ("1.5万", Decimal(15000), True),
        ("3000元", Decimal(3000), True),
        ("¥3000", Decimal(3000), True),
        (" 3 000 ", Decimal(3000), True),
        ("12.50", Decimal("12.5"), True),
    ],
)
def test_parse_decimal(raw: object, expected: Decimal, noted: bool) -> None:
    value, note = parse_decimal(raw)
    assert value == expected
    assert isinstance(value, Decimal)
    assert (note is not None) == noted


@pytest.mark.parametrize(
    "raw", ["", "abc", "1.2.3", "85%", "nan", "Infinity", "sNaN", True, "1E+30", "9" * 40]
)
def test_parse_decimal_rejects_non_numbers(raw: object) -> None:
    with pytest.raises(Unreadable):
        parse_decimal(raw)


def test_parse_decimal_of_huge_or_odd_numbers_is_unreadable_not_a_crash() -> None:
    """Found by these tests: ``1E+30`` and ``9E+999999万`` raised decimal exceptions."""
    for raw in (1e30, float("nan"), float("inf"), "1e30", "9E+999999万", "1E+999999999"):
        with pytest.raises(Unreadable):
            parse_decimal(raw)


def test_parse_int() -> None:
    assert parse_int(40.0) == (40, None)
    assert parse_int("４０")[0] == 40
    with pytest.raises(Unreadable):
        parse_int("40.5")


@pytest.mark.parametrize(
    ("raw", "noted"),
    [
        ("85%", True),
        ("８５％", True),
        (" 85 % ", True),
        (0.85, True),  # Excel stores a cell typed as 85% as 0.85
        ("0.85", True),
        (85.0, False),
        ("85", True),
    ],
)
def test_parse_percent_reads_85_percent_every_way(raw: object, noted: bool) -> None:
    value, note = parse_percent(raw)
    assert value == Decimal(85)
    assert (note is not None) == noted


def test_parse_percent_keeps_zero_and_hundred() -> None:
    assert parse_percent(0.0) == (Decimal(0), None)
    assert parse_percent(100.0) == (Decimal(100), None)
    assert parse_percent("100%")[0] == Decimal(100)


@pytest.mark.parametrize("parser", [parse_decimal, parse_int, parse_percent])
@given(raw=cell_values)
def test_number_parsers_raise_only_unreadable(parser, raw: object) -> None:  # type: ignore[no-untyped-def]
    try:
        value, _ = parser(raw)
    except Unreadable:
        return
    assert isinstance(value, Decimal | int)
    if isinstance(value, Decimal):
        assert value.is_finite()


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=20))
@example([0.0, -0.0, 0.0])
@example([-0.0, 0.0])
def test_a_number_read_again_is_read_as_the_first_time(numbers: list[float]) -> None:
    """Floats read before come from a cache: each must still be its own number, in value
    and in form (``-0`` and ``0`` are one key of a dict, two decimals)."""
    for _ in range(2):
        for number in numbers:
            try:
                expected = str(tidy(Decimal(repr(number))))
            except DecimalException:  # (beyond 28 digits)
                with pytest.raises(Unreadable):
                    parse_decimal(number)
                continue
            assert (str(parse_decimal(number)[0]), parse_decimal(number)[1]) == (expected, None)


# -- phones -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13079100000", "13079100000"),
        ("130 7910 0000", "13079100000"),
        ("+86 13079100000", "13079100000"),
        ("１３０７９１０００００", "13079100000"),
        ("0791-85712345", "0791-85712345"),
        ("079185712345", "079185712345"),
        ("(0791)85712345", "079185712345"),
        ("（0791）85712345", "079185712345"),
        ("0791—85712345", "0791-85712345"),
        ("010-12345678-801", "010-12345678-801"),
    ],
)
def test_parse_phone_accepts_mobiles_and_landlines(raw: str, expected: str) -> None:
    assert parse_phone(raw) == (expected, None)


def test_parse_phone_stored_as_a_number_is_read_as_text_with_a_note() -> None:
    value, note = parse_phone(13079100000.0)
    assert value == "13079100000"
    assert note is not None and "数字" in note


@pytest.mark.parametrize("raw", ["85712345", "1307910000", "12345", "电话", "", "23079100000"])
def test_parse_phone_rejects_numbers_without_area_code_or_malformed(raw: str) -> None:
    with pytest.raises(Unreadable):
        parse_phone(raw)


@given(cell_values)
def test_parse_phone_raises_only_unreadable(raw: object) -> None:
    try:
        value, _ = parse_phone(raw)
    except Unreadable:
        return
    assert isinstance(value, str)


# -- choices ------------------------------------------------------------------------------


def test_parse_choice_by_display_text_code_label_and_alias() -> None:
    direction = catalog().choice("direction")
    shown = direction.display(direction.by_code("A1"))
    assert parse_choice(shown, direction) == ("A1", None)
    assert parse_choice("A1", direction)[0] == "A1"
    assert parse_choice("a1", direction)[0] == "A1"
    assert parse_choice("Ａ１", direction)[0] == "A1"
    assert parse_choice(direction.by_code("A1").text, direction)[0] == "A1"
    code, note = parse_choice(f" {shown}\u00a0", direction)
    assert code == "A1"
    kinds = catalog().choice("project_type")
    assert parse_choice("创新探索型", kinds) == ("innovation", None)
    code, note = parse_choice("小试", kinds)
    assert (code, note is not None) == ("innovation", True)
    assert parse_choice("innovation", kinds)[0] == "innovation"
    yes_no = catalog().choice("yes_no")
    assert parse_choice("是", yes_no) == ("yes", None)
    assert parse_choice("否", yes_no) == ("no", None)


def _names(choices):  # type: ignore[no-untyped-def]
    """Every text an item of ``choices`` is known by."""
    for item in choices.items:
        yield from (
            choices.display(item),
            item.code,
            item.text,
            *([item.alias] if item.alias else []),
        )


LISTS = sorted(catalog().choices)


@given(
    st.sampled_from(LISTS),
    st.data(),
    st.sampled_from(["", " ", "\u00a0", "（", "：", "Ａ"]),
)
def test_a_choice_is_the_first_item_known_by_the_text(list_id: str, data, noise: str) -> None:
    """The item chosen is the first whose drop-down text is the cell's text, or one of
    whose names (drop-down text, code, label, alias) reads as the same once widths,
    case, spaces and punctuation are set aside; found by the keys of the list's items,
    made once, as by a scan of them all."""
    from xlsxflow.normalize import _key, clean_text

    choices = catalog().choice(list_id)
    names = [n for n in _names(choices) if n]
    raw = data.draw(st.one_of(st.sampled_from(names).map(lambda n: noise + n), st.text()))
    text = clean_text(raw)[0]
    expected = None
    for item in choices.items:
        display = choices.display(item)
        known = {display, item.code, item.text, *([item.alias] if item.alias else [])}
        if text == display or _key(text) in {_key(n) for n in known}:
            expected = item.code
            break
    try:
        got = parse_choice(raw, choices)[0]
    except Unreadable:
        got = None
    if expected is not None or got is None:
        assert got == expected
    else:  # (not by name: by the code at its head, where a list shows codes)
        assert choices.show_code


@pytest.mark.parametrize("raw", ["Z9", "Z9 不存在的方向", "", "乡镇", 12.0])
def test_parse_choice_rejects_values_not_in_the_list(raw: object) -> None:
    with pytest.raises(Unreadable):
        parse_choice(raw, catalog().choice("direction"))


@pytest.mark.parametrize("list_id", ["direction", "project_type", "yes_no", "team_role"])
@given(raw=cell_values)
def test_parse_choice_raises_only_unreadable(list_id: str, raw: object) -> None:
    choices = catalog().choice(list_id)
    try:
        code, _ = parse_choice(raw, choices)
    except Unreadable:
        return
    assert code in {item.code for item in choices.items}


# -- free text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  莲溪镇\u00a0党委 ", "莲溪镇 党委"),
        ("\u3000\u3000莲溪镇党委\u3000", "莲溪镇党委"),
        ("第一行\r\n第二行\r第三行", "第一行\n第二行\n第三行"),
        ("a \u00a0\u3000 b", "a b"),
        ("\ufeff标题", "标题"),
        ("\r\n\r\n正文\r\n\r\n", "正文"),
        (5.0, "5"),
        (2.5, "2.5"),
        (dt.datetime(2012, 3, 5), "2012-03-05"),
    ],
)
def test_clean_text(raw: object, expected: str) -> None:
    assert clean_text(raw) == (expected, None)


@given(cell_values)
def test_clean_text_never_raises_and_is_idempotent(raw: object) -> None:
    text, _ = clean_text(raw)
    assert isinstance(text, str)
    assert clean_text(text)[0] == text
    assert "\r" not in text


def test_blank_and_halfwidth() -> None:
    assert is_blank(None) and is_blank("") and is_blank(" \u00a0\u3000\r\n")
    assert not is_blank("0") and not is_blank(0.0)
    assert halfwidth("２０１２，ＡＢ（）") == "2012,AB()"


SPACEY = st.text(alphabet=st.sampled_from(list("a项  \t\r\n\u00a0\u2003\u200b\u3000\ufeff")))


@given(SPACEY | st.text())
@example("a  b")
@example("项目\u3000名称")
def test_plain_one_line_text_is_only_trimmed_as_the_full_cleaning_would(text: str) -> None:
    """The fast path for text without line breaks or odd spaces gives what the full
    line-by-line cleaning gives."""
    assert clean_text(text)[0] == clean_lines(text)
