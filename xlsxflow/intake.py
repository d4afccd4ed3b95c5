"""One returned file → one ``FileResult``: routed, identified, read, validated.

This is the unit of work for parallel reading. It never raises and never modifies the
file: every failure becomes a problem with a catalogue code, so one bad file cannot stop
the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlsxflow.extract import extract
from xlsxflow.identify import identify
from xlsxflow.problems import FileResult, Problem
from xlsxflow.read.errors import ReadError
from xlsxflow.read.limits import DEFAULT_LIMITS, Limits
from xlsxflow.read.open import classify, open_book
from xlsxflow.read.sniff import looks_like_spreadsheet_name
from xlsxflow.validation import ValidationContext, validate_form

SKIP_LOCK = "Office 或 WPS 的临时锁定文件（文件正被打开时产生），已跳过"
SKIP_OTHER = "不是电子表格文件，已跳过"


def _read_error(err: ReadError) -> Problem:
    return Problem.of(err.code, detail=err.detail or err.code)


def read_return(
    path: Path, ctx: ValidationContext, limits: Limits = DEFAULT_LIMITS, raw: bool = True
) -> FileResult:
    """``raw``: keep what was typed, cell by cell (for feedback copies), as well."""
    result = FileResult(path=str(path))
    try:
        kind = classify(path)
    except ReadError as err:
        result.problems.append(_read_error(err))
        return result
    if kind == "lock":
        result.skipped, result.skip_reason = True, SKIP_LOCK
        return result
    if kind == "not_spreadsheet" and not looks_like_spreadsheet_name(path):
        result.skipped, result.skip_reason = True, SKIP_OTHER
        return result
    try:
        book = open_book(path, kind, limits)
    except ReadError as err:
        result.problems.append(_read_error(err))
        return result
    except Exception as err:  # a reader bug must not stop the run
        result.problems.append(Problem.of("file.crashed", detail=type(err).__name__))
        return result
    try:
        _read_form(book, result, ctx, raw)
    except ReadError as err:
        result.problems.append(_read_error(err))
    except Exception as err:  # the same: report, go on with the next file
        result.problems.append(Problem.of("file.crashed", detail=type(err).__name__))
    finally:
        book.close()
    return result


def _in_reading_order(problems: list[Problem], spec: Any) -> list[Problem]:
    """File-level problems first, then by sheet, row and column, as a person reads."""
    from xlsxflow.read.refs import parse_cell

    sheets = {s.name: i for i, s in enumerate(spec.sheets)}

    def key(p: Problem) -> tuple[int, int, int]:
        if not p.cell:
            return (-1, 0, 0)
        row, col = parse_cell(p.cell) or (0, 0)
        return (sheets.get(p.sheet, len(sheets)), row, col)

    return sorted(problems, key=key)


def _row_at(row: Any) -> str:
    """Where a table row sits in the returned file, e.g. ``任务台账!7`` (sheet, row)."""
    found = next(iter(row.found.values()), None)
    return f"{found.sheet}!{found.row + 1}" if found is not None else ""


def _read_form(book: Any, result: FileResult, ctx: ValidationContext, raw: bool) -> None:
    result.format = book.format
    result.saved_at = book.saved_at
    if book.has_macros:
        result.problems.append(Problem.of("file.macros"))
    if book.has_external_links:
        result.problems.append(Problem.of("file.external_links"))
    identity, problems = identify(book)
    result.problems += problems
    if identity is None:
        return
    result.form = identity.spec.kind
    extracted = extract(book, identity)
    result.problems += extracted.problems
    if extracted.broken:
        return
    ctx = ctx.for_cycle(identity.meta.get("xf_cycle"))
    validated = validate_form(identity, extracted, ctx, book.date1904)
    result.problems += validated.problems
    meta = identity.meta
    result.committee = meta.get("xf_committee") or None
    result.project = meta.get("xf_project") or None
    result.cycle = meta.get("xf_cycle") or None
    result.instance = meta.get("xf_instance") or None
    if result.instance is None and identity.by_labels and result.committee:
        from xlsxflow.templates import instance_id

        result.instance = instance_id(
            ctx.config.cycle.year, identity.spec.kind, result.committee, result.project or ""
        )
    result.problems = _in_reading_order(result.problems, identity.spec)
    result.values = validated.values
    result.rows = {
        tid: [{"_row": row.number, "_at": _row_at(row), **row.values} for row in rows]
        for tid, rows in validated.rows.items()
    }
    result.locations = {fid: f"{f.sheet}!{f.cell}" for fid, f in extracted.fields.items()}
    if not raw:
        return
    result.raw = {
        fid: found.value for fid, found in extracted.fields.items() if found.value is not None
    }
    result.raw_rows = {
        tid: [
            {cid: f.value for cid, f in table.rows.get(i, {}).items() if f.value is not None}
            for i in range(max(table.rows, default=-1) + 1)
        ]
        for tid, table in extracted.tables.items()
    }
