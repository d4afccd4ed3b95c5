"""Helpers shared by the sub-commands: library errors become messages and exit codes."""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from xlsxflow.errors import XlsxflowError
from xlsxflow.filenames import C1_AND_BIDI
from xlsxflow.fsutil import FileBusyError, output_error

F = TypeVar("F", bound=Callable[..., Any])


class CommandError(click.ClickException):
    """A library error shown as ``错误：…`` with the library's exit code."""

    def __init__(self, error: XlsxflowError) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_code

    def format_message(self) -> str:
        return self.message

    def show(self, file: Any = None) -> None:
        click.echo(f"错误：{shown(self.format_message())}", err=True)  # (names a file)


def reports_errors(func: F) -> F:
    """Turn ``XlsxflowError`` raised by the library, and the failures of files it does
    not own (outputs held open, the store), into a clean CLI error."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except XlsxflowError as err:
            raise CommandError(err) from err
        except FileBusyError as err:
            raise CommandError(output_error(err)) from err
        except sqlite3.Error as err:
            raise CommandError(store_error(err)) from err

    return wrapper  # type: ignore[return-value]


def store_error(err: sqlite3.Error) -> XlsxflowError:
    """What the clerk is told when the workspace's store fails: written by another
    process (``run`` and the reports read it without merge's lock), the disk full, the
    file read-only or not there to open (a sync tool's placeholder), reading or writing
    it failed (a disk, a share), or the file damaged."""
    code = getattr(err, "sqlite_errorcode", -1) & 0xFF  # (the primary of an extended code)
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return XlsxflowError("store.busy")
    if code == sqlite3.SQLITE_FULL:
        return XlsxflowError("store.full")
    # (a read-only file or folder, a sync tool's placeholder, an antivirus holding the
    # journal: not damage, and the clerk must not replace the file with a backup)
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return XlsxflowError("store.unavailable", detail=str(err))
    if code == sqlite3.SQLITE_IOERR:  # (a failing disk, a share gone, a file held)
        return XlsxflowError("store.io_error", detail=str(err))
    return XlsxflowError("store.damaged", detail=str(err))


# C0 and C1 controls but the line feed and the tab: a terminal acts on them (an escape
# sequence typed into a cell could retitle the window, or hide the lines before it).
# And the bidirectional marks, embeddings, overrides and isolates: one in a file name
# ("T01_\u202exslx.exe") shows the rest of the line reversed, the name as another.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f" + C1_AND_BIDI + "]")
_JSON_UNESCAPED = re.compile(f"[{C1_AND_BIDI}]")  # (what ``json`` leaves as it is)


def json_text(data: Any) -> str:
    """``data`` as JSON for the terminal: Chinese as it is, but the controls ``json``
    leaves (C1, bidirectional) as \\u escapes, which a JSON reader decodes the same."""
    import json

    text = json.dumps(data, ensure_ascii=False, indent=2)
    return _JSON_UNESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def shown(text: str) -> str:
    """``text`` holding what a committee typed, safe to print: controls as ``\\x1b``,
    bidirectional controls as ``\\u202e``."""
    return _CONTROLS.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


workspace_argument = click.argument("workspace", type=click.Path(file_okay=False, path_type=Path))


def as_of_option(help: str, *, required: bool = False) -> Callable[[F], F]:
    """``--as-of 2012-03-31``: the day a meeting, a report or a reminder is judged by."""
    return click.option(
        "--as-of", "as_of", required=required, type=click.DateTime(["%Y-%m-%d"]), help=help
    )
