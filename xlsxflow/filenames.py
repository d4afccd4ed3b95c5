"""File names that Windows, macOS and Linux all accept, built from untrusted roster text.

Roster and project names are typed by people: they may contain slashes, ``..``, reserved
device names (``CON``, ``LPT1``), trailing dots or absurd lengths. ``safe_component``
turns any text into one path component that cannot escape its folder.
"""

from __future__ import annotations

import re
import unicodedata

MAX_COMPONENT = 80  # characters; keeps full paths well under Windows' 260 limit
# UTF-8 bytes: Linux and macOS allow 255 per name, and ``write_atomic`` puts "." before and
# ".<8 random>.tmp" after the name of its temporary file. 80 CJK characters (3 bytes each)
# still fit; only four-byte characters (CJK extension B, emoji) make a name shorter.
MAX_BYTES = 240
# The C1 controls and the bidirectional ones (marks, embeddings, overrides, isolates), as
# a pattern's character ranges: one in a name shows it as another ("T01_\u202exslx.exe"
# as "T01_exe.xlsx"), and a terminal acts on them (``cli.common.shown``).
C1_AND_BIDI = r"\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Characters Windows refuses in a name, and controls.
_UNSAFE = r'<>:"/\\|?*\x00-\x1f' + C1_AND_BIDI
_FORBIDDEN = re.compile(f"[{_UNSAFE}]+")
_SPACES = re.compile(r"[\s\u3000]+")
# A name with none of what ``_made_safe`` changes (forbidden characters, whitespace, dots)
# is its own safe component if short, NFC and not a device name: every committee's is,
# and a province's roster makes 5,000 of them at each command (9 ms, now 3).
_PLAIN = re.compile(f"[^{_UNSAFE}\\s\u3000.]+")
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    "CONIN$",
    "CONOUT$",
    *(f"COM{i}" for i in range(10)),
    *(f"LPT{i}" for i in range(10)),
    "COM¹",
    "COM²",
    "COM³",
    "LPT¹",
    "LPT²",
    "LPT³",
}


def _fit(name: str, max_length: int, max_bytes: int) -> str:
    name = name[:max_length]
    while len(name.encode("utf-8")) > max_bytes:
        name = name[:-1]
    return name.strip(" .")


def safe_component(text: str, max_length: int = MAX_COMPONENT, max_bytes: int = MAX_BYTES) -> str:
    """One file or folder name made of ``text``; never empty, never a path."""
    if (
        len(text) <= max_length
        and _PLAIN.fullmatch(text)
        and unicodedata.is_normalized("NFC", text)
        and len(text.encode("utf-8")) <= max_bytes
        and text.upper() not in _RESERVED
    ):
        return text
    return _made_safe(text, max_length, max_bytes)


def _made_safe(text: str, max_length: int, max_bytes: int) -> str:
    name = unicodedata.normalize("NFC", text)
    name = _FORBIDDEN.sub("_", name)
    name = _SPACES.sub(" ", name).strip()
    name = re.sub(r"\.{2,}", ".", name)
    name = _fit(name, max_length, max_bytes)
    if not name:
        return "_"
    stem = name.split(".", 1)[0].strip().upper()
    if stem in _RESERVED:
        # The prefix must not push the name past the bounds.
        name = _fit("_" + name, max_length, max_bytes) or "_"
    return name


def safe_filename(parts: list[str], suffix: str, max_length: int = MAX_COMPONENT) -> str:
    """``part1_part2_….suffix`` with every part made safe and the whole kept short.

    When the whole is too long the longest part is shortened, not the end of the name, so
    the parts that tell two files apart (form name, copy number) survive a long roster name.
    """
    room = max_length - len(suffix)
    byte_room = MAX_BYTES - len(suffix.encode("utf-8"))
    pieces = [safe_component(p) for p in parts if p]

    def excess() -> int:
        joined = "_".join(pieces)
        return max(len(joined) - room, len(joined.encode("utf-8")) - byte_room, 0)

    while pieces and excess() and max(map(len, pieces)) > 1:
        longest = max(range(len(pieces)), key=lambda i: len(pieces[i]))
        pieces[longest] = safe_component(pieces[longest][:-1])
    stem = safe_component("_".join(pieces), room, byte_room)
    return stem + suffix
