"""The files of an inbox (or of any folders and files named), in one fixed order.

Kept apart from reading and validating (standard library only): a merge with nothing new
lists the inbox before anything heavy is imported (see ``register/nothing_new.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from xlsxflow.errors import UsageError


def discover(paths: Iterable[Path]) -> list[Path]:
    """Every file named or inside a named folder (recursively), sorted, no duplicates."""
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found.update(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            found.add(path)
        else:
            raise UsageError("validate.no_files", path=path)
    return sorted(found, key=lambda p: p.as_posix())
