"""The files of an inbox (or of any folders and files named), in one fixed order.

Kept apart from reading and validating (standard library only): a merge with nothing new
lists the inbox before anything heavy is imported (see ``register/nothing_new.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from xlsxflow.errors import UsageError


def discover(paths: Iterable[Path]) -> list[Path]:
    """Every file named or inside a named folder (recursively, not through links to
    folders), sorted by path with ``/`` on every system, no duplicates."""
    found: set[str] = set()
    for path in paths:
        if path.is_dir():
            found.update(_files_under(str(path)))
        elif path.is_file():
            found.add(str(path))
        else:
            raise UsageError("validate.no_files", path=path)
    return [Path(p) for p in sorted(found, key=lambda p: p.replace(os.sep, "/"))]


def _files_under(folder: str) -> Iterator[str]:
    """(``os.scandir`` tells files from folders as it lists them, on Windows as on
    Linux: half the time of ``rglob`` and a ``stat`` of each file, for a province's
    10,000 returns listed at every merge.)"""
    pending = [folder]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif entry.is_file():
                    yield entry.path
