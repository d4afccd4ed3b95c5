"""File names that Windows, macOS and Linux all accept, built from untrusted roster text.

Roster and project names are typed by people: they may contain slashes, ``..``, reserved
device names (``CON``, ``LPT1``), trailing dots or absurd lengths. ``safe_component``
turns any text into one path component that cannot escape its folder.
"""

from __future__ import annotations

import re
import unicodedata

MAX_COMPONENT = 80  # characters; keeps full paths well under Windows' 260 limit
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]+')
_SPACES = re.compile(r"[\s\u3000]+")
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
    "COM¹",
    "COM²",
    "COM³",
    "LPT¹",
    "LPT²",
    "LPT³",
}


def safe_component(text: str, max_length: int = MAX_COMPONENT) -> str:
    """One file or folder name made of ``text``; never empty, never a path."""
    name = unicodedata.normalize("NFC", text)
    name = _FORBIDDEN.sub("_", name)
    name = _SPACES.sub(" ", name).strip()
    name = re.sub(r"\.{2,}", ".", name)
    name = name[:max_length].strip(" .")
    if not name:
        return "_"
    stem = name.split(".", 1)[0].strip().upper()
    if stem in _RESERVED:
        name = "_" + name
    return name


def safe_filename(parts: list[str], suffix: str, max_length: int = MAX_COMPONENT) -> str:
    """``part1_part2_….suffix`` with every part made safe and the whole kept short."""
    room = max_length - len(suffix)
    stem = "_".join(safe_component(p) for p in parts if p)
    stem = safe_component(stem, room)
    return stem + suffix
