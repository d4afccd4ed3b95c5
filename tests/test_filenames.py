"""Safe file names from untrusted roster text (``xlsxflow.filenames``)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from xlsxflow.filenames import MAX_COMPONENT, _made_safe, safe_component, safe_filename

FORBIDDEN = set('<>:"/\\|?*')
# Windows device names (naming-a-file, plus the console names and the COM0/LPT0 aliases
# that Windows 11 and Go's filepath treat as reserved); checked case-insensitively on the
# part before the first dot, as Windows does ("nul.txt" is the NUL device too).
RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    "CONIN$",
    "CONOUT$",
    *(f"COM{i}" for i in range(10)),
    *(f"LPT{i}" for i in range(10)),
    *(f"{p}{s}" for p in ("COM", "LPT") for s in "¹²³"),
}
# Linux and macOS limit a name to 255 bytes; the atomic writer adds ".", "." + 8 random
# characters and ".tmp" around it, so a name must stay well below that.
MAX_BYTES = 240

HOSTILE = [
    "../../etc/passwd",
    "..\\..\\Windows\\system32",
    "a/b/c",
    "/absolute",
    "\\\\server\\share",
    "CON",
    "con",
    "nul.txt",
    "NUL.tar.gz",
    "COM1",
    "lpt9.xlsx",
    "CON .txt",
    "名称...",
    "名称 . . ",
    "   ",
    "...",
    "..",
    ".",
    "",
    "\x00\x01\x1f\x7f",
    "T01_\u202exslx.exe\x9b31m",  # shown reversed, and a C1 escape
    "\u2066名称\u2069\u200f\u061c",
    "第一行\n第二行\r\t",
    'a<b>c:d"e|f?g*h',
    "党" * 500,
    "x" * 500,
    "𠀀" * 500,  # CJK extension B: four bytes each in UTF-8
    "CON." + "a" * 200,
    "\u3000全角空格\u3000",
    '=HYPERLINK("http://x","y")',
]


def short_id(text: str) -> str:
    return ascii(text[:12]) + (f"x{len(text)}" if len(text) > 12 else "")


def is_control(ch: str) -> bool:
    """C0, DEL, C1, and the bidirectional controls (which show a name as another)."""
    return ord(ch) < 32 or 127 <= ord(ch) <= 159 or ch in BIDI_CONTROLS


# the marks (ALM, LRM, RLM), embeddings and overrides, and isolates
BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def assert_safe_name(name: str, max_length: int = MAX_COMPONENT) -> None:
    assert name, "empty name"
    assert not FORBIDDEN & set(name), name
    assert not any(is_control(ch) for ch in name), repr(name)
    assert ".." not in name, name
    assert name not in (".", "..")
    assert not name[0].isspace() and not name[-1].isspace(), repr(name)
    assert name[0] != "." and name[-1] != ".", name
    assert len(name) <= max_length, (len(name), name)
    assert len(name.encode("utf-8")) <= MAX_BYTES, len(name.encode("utf-8"))
    stem = name.split(".", 1)[0].strip().upper()
    assert stem not in RESERVED, name


# -- safe_component ------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE, ids=short_id)
def test_hostile_texts_become_safe_components(text):
    name = safe_component(text)
    assert_safe_name(name)
    assert safe_component(name) == name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("莲溪镇党委", "莲溪镇党委"),
        ("T01_莲溪镇党委", "T01_莲溪镇党委"),
        ("../../etc/passwd", "_._etc_passwd"),
        ("a/b", "a_b"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("COM1", "_COM1"),
        ("名称...", "名称"),
        ("  名称  ", "名称"),
        ("甲\n乙", "甲_乙"),
        ("甲  \u3000 乙", "甲 乙"),
        ("", "_"),
        ("...", "_"),
        ("CONSOLE", "CONSOLE"),
        ("COM10", "COM10"),
    ],
)
def test_safe_component_examples(text, expected):
    assert safe_component(text) == expected


def test_reserved_prefix_keeps_the_length_bound():
    name = safe_component("CON." + "a" * (MAX_COMPONENT - 4))
    assert name.startswith("_CON.")
    assert len(name) <= MAX_COMPONENT


def test_four_byte_characters_keep_the_byte_bound():
    name = safe_component("𠀀" * 500)
    assert len(name.encode("utf-8")) <= MAX_BYTES
    assert set(name) == {"𠀀"}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
@example("CON." + "a" * 76)
@example("a" * 79 + "..")
@example(" " * 10 + "." * 10)
def test_safe_component_properties(text):
    name = safe_component(text)
    assert_safe_name(name)
    assert safe_component(name) == name  # idempotent


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list('./\\ .:*?"<>|\x00\n\tCONULPTcomnulx1党')), max_size=60),
    st.integers(min_value=1, max_value=120),
)
def test_safe_component_respects_any_length_bound(text, limit):
    name = safe_component(text, limit)
    assert_safe_name(name, max(limit, 1))


# -- safe_filename -------------------------------------------------------------------------


def test_safe_filename_joins_parts_with_underscores():
    assert (
        safe_filename(["T01", "莲溪镇党委", "创新探索型项目申报表"], ".xlsx")
        == "T01_莲溪镇党委_创新探索型项目申报表.xlsx"
    )
    assert safe_filename(["T01", "", "表"], ".xlsx") == "T01_表.xlsx"
    assert safe_filename([], ".xlsx") == "_.xlsx"


@pytest.mark.parametrize("text", HOSTILE, ids=short_id)
def test_hostile_parts_make_safe_filenames(text):
    name = safe_filename(["T01", text, "创新探索型项目申报表"], ".xlsx")
    assert name.endswith(".xlsx")
    assert_safe_name(name)


@pytest.mark.parametrize("text", ["CON", "nul", "Aux.txt", "lpt1"])
def test_reserved_first_part_is_escaped(text):
    name = safe_filename([text], ".xlsx")
    assert_safe_name(name)
    assert name.upper().endswith(".XLSX")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=120), max_size=5))
def test_safe_filename_properties(parts):
    name = safe_filename(parts, ".xlsx")
    assert name.endswith(".xlsx")
    assert_safe_name(name)
    stem = name.removesuffix(".xlsx")
    assert safe_component(stem) == stem


LABELS = st.sampled_from(
    [
        "创新探索型项目申报表",
        "典型示范型项目申报表",
        "制度推广型项目申报表",
        "项目管理台帐",
        "项目结题报告",
        "项目验收评分表",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,19}", fullmatch=True),
    st.text(min_size=1, max_size=500),
    st.lists(LABELS, min_size=2, max_size=2, unique=True),
    st.integers(min_value=1, max_value=9),
)
def test_long_names_never_make_two_forms_share_a_file(code, name, labels, copies):
    """The distinguishing tail (form name, copy number) survives any truncation."""
    first = safe_filename([code, name, labels[0], f"第{copies}份"], ".xlsx")
    second = safe_filename([code, name, labels[1], f"第{copies}份"], ".xlsx")
    other_copy = safe_filename([code, name, labels[0], f"第{copies % 9 + 1}份"], ".xlsx")
    assert len({first, second, other_copy}) == 3
    for n in (first, second, other_copy):
        assert_safe_name(n)
        assert n.startswith(safe_component(code))


@given(
    st.text(max_size=100)
    | st.from_regex(r"[A-Za-z0-9_一-龥]{0,90}", fullmatch=True)
    | st.sampled_from(["CON", "con", "LPT¹", "COM1", "A" * 81, "𠀀" * 70, "e\u0301"]),
    st.integers(1, 120),
)
def test_the_shortcut_for_plain_names_gives_what_the_long_way_gives(text, limit):
    """Names with nothing to change skip the long way; it would give the same name."""
    assert safe_component(text, limit) == _made_safe(text, limit, 240)
