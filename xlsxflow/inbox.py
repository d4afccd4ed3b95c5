"""The files of an inbox (or of any folders and files named), in one fixed order.

Kept apart from reading and validating (standard library only): a merge with nothing new
lists the inbox before anything heavy is imported (see ``register/nothing_new.py``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from xlsxflow.errors import UsageError


def discover(paths: Iterable[Path]) -> list[Path]:
    """``listing``, as paths."""
    return [Path(p) for p in listing(paths)]


def listing(paths: Iterable[Path]) -> list[str]:
    """Every file named or inside a named folder (recursively, not through links or
    junctions, to folders or to files), sorted by path with ``/`` on every system, each
    path once.
    (Names are not compared case-insensitively: a folder on Windows may be case
    sensitive, and two returns in it must not become one. The same file named twice in
    another letter case is read twice and merged once: by its hash.) A folder that
    cannot be listed stops the run (``inbox.unreadable``): its returns would be missed.
    (As text: making a ``Path`` of each of a province's 10,000 returns cost more than
    listing them, at every merge, for files that are mostly known by their ``stat``.)"""
    found: set[str] = set()
    for path in paths:
        if path.is_dir():
            found.update(_files_under(str(path)))
        elif path.is_file():
            found.add(str(path))
        else:
            raise UsageError("validate.no_files", path=path)
    return sorted(found, key=lambda p: p.replace(os.sep, "/"))


def _files_under(folder: str) -> Iterator[str]:
    """(``os.scandir`` tells files from folders as it lists them, on Windows as on
    Linux: half the time of ``rglob`` and a ``stat`` of each file, for a province's
    10,000 returns listed at every merge.)"""
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        if not _is_junction(entry):
                            pending.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        # (a link to a file is not followed either: it may point
                        # anywhere, and merge would read and archive that file)
                        yield entry.path
        except OSError as err:
            raise UsageError(
                "inbox.unreadable", path=current, reason=err.strerror or type(err).__name__
            ) from None


def _is_junction(entry: os.DirEntry[str]) -> bool:
    """A junction (Windows) is a folder to ``is_dir`` but points elsewhere, maybe to a
    folder above it: not followed, as symbolic links are not. (Other reparse points,
    such as OneDrive's folders, are listed.)"""
    if os.name != "nt":
        return False
    attributes = entry.stat(follow_symlinks=False).st_file_attributes  # type: ignore[attr-defined]
    if not attributes & stat.FILE_ATTRIBUTE_REPARSE_POINT:  # type: ignore[attr-defined]
        return False
    return os.lstat(entry.path).st_reparse_tag == stat.IO_REPARSE_TAG_MOUNT_POINT  # type: ignore[attr-defined]
