"""Read and write ``roster.xlsx``, the roster the clerk maintains in Excel."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from xlsxflow.config import translate_error
from xlsxflow.errors import CATALOGUE, UsageError
from xlsxflow.forms import catalog
from xlsxflow.fsutil import write_atomic
from xlsxflow.read.book import RawBook
from xlsxflow.read.errors import ReadError
from xlsxflow.roster import (
    COMMITTEE_COLUMNS,
    COMMITTEE_SHEET,
    LEADER_COLUMNS,
    LEADER_SHEET,
    Committee,
    Leader,
    Roster,
)

FIXED_TIME = dt.datetime(2000, 1, 1)
YES, NO = "是", "否"


def write_roster(path: Path, roster: Roster) -> None:
    from xlsxflow.excel.inert import new_workbook

    kinds = catalog().choice("committee_kind")
    buffer = io.BytesIO()
    book = new_workbook(buffer)
    book.set_properties({"title": "基层党委名册", "created": FIXED_TIME, "author": "xlsxflow"})
    header = book.add_format(
        {
            "bold": True,
            "font_name": "宋体",
            "bg_color": "#D9E1F2",
            "border": 1,
            "align": "center",
            "valign": "vcenter",
        }
    )
    body = book.add_format({"font_name": "宋体", "border": 1, "num_format": "@"})

    def sheet(name: str, columns: tuple[tuple[str, str, int], ...], rows: list[list[str]]):
        ws = book.add_worksheet(name)
        for col, (_, label, width) in enumerate(columns):
            ws.set_column(col, col, width)
            ws.write_string(0, col, label, header)
        for r, values in enumerate(rows, start=1):
            for col, value in enumerate(values):
                ws.write_string(r, col, value, body)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
        return ws

    ws = sheet(
        COMMITTEE_SHEET,
        COMMITTEE_COLUMNS,
        [
            [
                c.code,
                c.name,
                kinds.display(kinds.by_code(c.kind)),
                c.contact,
                c.phone,
                c.email,
                c.leader,
            ]
            for c in roster.committees
        ],
    )
    kind_col = [k for k, _, _ in COMMITTEE_COLUMNS].index("kind")
    ws.data_validation(
        1,
        kind_col,
        2000,
        kind_col,
        {
            "validate": "list",
            "source": kinds.displays(),
            "error_message": "请从下拉列表中选择党委类别。",
        },
    )
    ws = sheet(
        LEADER_SHEET,
        LEADER_COLUMNS,
        [
            [le.name, le.title, le.email, YES if le.receives_summary else NO]
            for le in roster.leaders
        ],
    )
    flag_col = [k for k, _, _ in LEADER_COLUMNS].index("receives_summary")
    ws.data_validation(1, flag_col, 500, flag_col, {"validate": "list", "source": [YES, NO]})
    book.close()
    write_atomic(path, buffer.getvalue())


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _unreadable(path: Path, err: ReadError) -> UsageError:
    """``roster.unreadable`` saying in Chinese what the reader found (say, 文件设置了密码)."""
    what = CATALOGUE[err.code].title
    return UsageError(
        "roster.unreadable", path=path, detail=f"{what}（{err.detail}）" if err.detail else what
    )


def _rows(book: RawBook, path: Path, sheet: str, columns: tuple[tuple[str, str, int], ...]):
    if sheet not in book.sheets:
        raise UsageError("roster.sheet_missing", path=path, sheet=sheet)
    try:
        cells = book.cells(sheet)
    except ReadError as err:
        raise _unreadable(path, err) from None
    by_row: dict[int, dict[int, Any]] = {}
    for (r, c), cell in cells.items():
        by_row.setdefault(r, {})[c] = cell.value
    first = by_row.get(0, {})
    header = [_cell_text(first.get(c)) for c in range(max(first, default=-1) + 1)]
    index: dict[str, int] = {}
    for key, label, _ in columns:
        if label not in header:
            raise UsageError("roster.column_missing", path=path, sheet=sheet, column=label)
        index[key] = header.index(label)
    for r in sorted(by_row):
        if r == 0:
            continue
        row = by_row[r]
        values = {key: _cell_text(row.get(i)) for key, i in index.items()}
        if any(values.values()):
            yield r + 1, values  # the row number the clerk sees


def _invalid(err: ValidationError, path: Path, sheet: str, row: int, columns) -> UsageError:
    first = err.errors()[0]
    labels = {key: label for key, label, _ in columns}
    key = str(first["loc"][0]) if first["loc"] else ""
    return UsageError(
        "roster.invalid",
        path=path,
        sheet=sheet,
        row=row,
        column=labels.get(key, key),
        detail=translate_error(first),
    )


def read_roster_kept(path: Path, kept: Path) -> Roster:
    """``read_roster``, kept as JSON in ``kept`` (in the workspace's data folder) under
    the hash of the file and of the code that read it: reading a province's roster of
    5,000 committees cost 0.09 s of every command, loading it back 0.015 s. (Kept only
    once the data folder exists, and only if the file did not change while read; a
    folder that cannot be written to just goes without.)"""
    import hashlib
    import sys

    from xlsxflow import read
    from xlsxflow import roster as roster_module
    from xlsxflow.fingerprint import code_digest

    def key_of() -> str | None:
        try:
            data = path.read_bytes()
        except OSError:
            return None  # (read_roster says what is wrong)
        made_by = code_digest(roster_module, read, sys.modules[__name__])
        return hashlib.sha256(data + made_by.encode()).hexdigest()

    key = key_of()
    try:
        found = _Kept.model_validate_json(kept.read_bytes())
        if key is not None and found.key == key:
            roster = found.roster
            # (what read_roster checks beyond each row, checked again: the file is ours
            # but sits in a folder the clerk can reach)
            codes = {c.code.casefold() for c in roster.committees}
            folders = {c.folder.casefold() for c in roster.committees}
            if roster.committees and len(codes) == len(folders) == len(roster.committees):
                return roster
    except (OSError, ValueError):  # (pydantic's ValidationError is a ValueError)
        pass  # (none kept, or not usable: read again)
    roster = read_roster(path)
    if key is not None and key_of() == key:
        if kept.parent.is_dir():
            _keep(kept, key, roster)
        else:
            _PENDING[kept] = (key, roster)
    return roster


class _Kept(BaseModel):
    """What ``read_roster_kept`` keeps, validated as it is parsed: a province's 5,000
    committees in 38 ms, against 50 ms through ``json.loads`` and ``model_validate``,
    at every command that opens its workspace."""

    key: str
    roster: Roster


# Rosters read before the data folder they are to be kept in existed (a workspace's
# first merge makes it), by where they are to be kept: see ``keep_pending``.
_PENDING: dict[Path, tuple[str, Roster]] = {}


def keep_pending(kept: Path) -> None:
    """Keep the roster read for ``kept`` before its folder existed, now that it does:
    else the first merge of a workspace left none, and the next one read the roster
    again (0.09 s for a province)."""
    pending = _PENDING.pop(kept, None)
    if pending is not None and kept.parent.is_dir():
        _keep(kept, *pending)


def _keep(kept: Path, key: str, roster: Roster) -> None:
    import json

    keep = {"key": key, "roster": roster.model_dump(mode="json")}
    with contextlib.suppress(OSError):  # (a folder that cannot be written to goes without)
        write_atomic(kept, json.dumps(keep, ensure_ascii=False).encode(), sync=False)


def read_roster(path: Path) -> Roster:
    """The clerk's roster, read by the same guarded reader as the returns (limits, far
    cells, any format by content) — and without importing openpyxl, whose import alone
    took longer than the rest of a small merge."""
    from xlsxflow.read.open import classify, open_book

    try:
        book = open_book(path, classify(path))
    except ReadError as err:
        raise _unreadable(path, err) from None
    try:
        kinds = catalog().choice("committee_kind")
        by_text = {kinds.display(i): i.code for i in kinds.items} | {
            i.code: i.code for i in kinds.items
        }
        committees: list[Committee] = []
        # (by check: a committee's code or folder name, ignoring case → its first row)
        first_rows: dict[str, dict[str, int]] = {
            "roster.duplicate_code": {},
            "roster.duplicate_folder": {},
        }
        for row, values in _rows(book, path, COMMITTEE_SHEET, COMMITTEE_COLUMNS):
            if values["kind"] not in by_text:
                # The clerk sees the Chinese kinds of the drop-down, not the internal codes.
                raise UsageError(
                    "roster.invalid",
                    path=path,
                    sheet=COMMITTEE_SHEET,
                    row=row,
                    column={k: label for k, label, _ in COMMITTEE_COLUMNS}["kind"],
                    detail="只能是 " + "、".join(kinds.displays()) + " 之一，请从下拉列表中选择",
                )
            values["kind"] = by_text[values["kind"]]
            try:
                committee = Committee.model_validate(values)
            except ValidationError as err:
                raise _invalid(err, path, COMMITTEE_SHEET, row, COMMITTEE_COLUMNS) from None
            # Codes and folders name files: "T01" and "t01" would share them on Windows.
            for code, field, value in (
                ("roster.duplicate_code", "code", committee.code),
                ("roster.duplicate_folder", "folder", committee.folder),
            ):
                seen = first_rows[code]
                if value.casefold() in seen:
                    raise UsageError(
                        code,
                        path=path,
                        sheet=COMMITTEE_SHEET,
                        row=row,
                        first_row=seen[value.casefold()],
                        **{field: value},
                    )
                seen[value.casefold()] = row
            committees.append(committee)
        if not committees:
            raise UsageError("roster.empty", path=path)
        leaders: list[Leader] = []
        if LEADER_SHEET in book.sheets:
            for row, values in _rows(book, path, LEADER_SHEET, LEADER_COLUMNS):
                values_any: dict[str, Any] = dict(values)
                values_any["receives_summary"] = values["receives_summary"] != NO
                try:
                    leaders.append(Leader.model_validate(values_any))
                except ValidationError as err:
                    raise _invalid(err, path, LEADER_SHEET, row, LEADER_COLUMNS) from None
        return Roster(committees=tuple(committees), leaders=tuple(leaders))
    finally:
        book.close()
