"""``xlsxflow validate``: find returned files, read and check each, summarise.

The library entry point is ``validate_paths``; the CLI only formats what it returns.
Results come back in a fixed order (sorted paths) whatever the order of reading.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from xlsxflow.errors import message
from xlsxflow.inbox import discover
from xlsxflow.problems import FileResult
from xlsxflow.validation import ValidationContext
from xlsxflow.validation.values import as_json_value
from xlsxflow.workspace import Workspace

JSON_SCHEMA_VERSION = 1


def context_for(
    paths: Sequence[Path], workspace: Path | None
) -> tuple[ValidationContext, list[str]]:
    """The workspace that holds the files (as git finds its repository) or the one given;
    the defaults of the source's first cycle, with a warning, when there is none."""
    ws = Workspace.open(workspace) if workspace else None
    if ws is None:
        for path in paths:
            ws = Workspace.find(path)
            if ws is not None:
                break
    if ws is None:
        return ValidationContext(), [message("workspace.defaults")]
    return ValidationContext(ws.config, ws.roster, ws.root), []


def superseded_by(results: Iterable[FileResult]) -> dict[str, str]:
    """Each file a later-saved return of the same form replaces (path → that return's
    path). An inbox keeps every version a committee sent; the one saved last is the one
    merge keeps (see ``Submission.order_key``) and the only one still to fix, so an
    earlier version's errors must not fail the run or be sent back again."""
    counted = [r for r in results if r.instance and not r.skipped]
    last = last_saved((r.instance, r.saved_at) for r in counted)
    newest: dict[str | None, str] = {}  # (the path of one saved last, by instance)
    for r in counted:
        if r.saved_at == last.get(r.instance or "", ""):
            newest[r.instance] = max(newest.get(r.instance, ""), r.path)
    return {
        r.path: newest[r.instance] for r in counted if r.saved_at < last.get(r.instance or "", "")
    }


def last_saved(versions: Iterable[tuple[str | None, str]]) -> dict[str, str]:
    """When each form's latest version was saved, by instance, from (instance, saved
    time) pairs. Only a version saved before it is replaced (here and at the merge): of
    versions saved at the same moment, none can be told the correction of the other."""
    last: dict[str, str] = {}
    for instance, saved_at in versions:
        if instance and saved_at > last.get(instance, ""):
            last[instance] = saved_at
    return last


@dataclass
class ValidationRun:
    results: list[FileResult]
    notices: list[str] = field(default_factory=list)
    workspace: Path | None = None

    @cached_property
    def superseded(self) -> dict[str, str]:
        return superseded_by(self.results)

    @property
    def checked(self) -> list[FileResult]:
        return [r for r in self.results if not r.skipped]

    @property
    def current(self) -> list[FileResult]:
        """The results that count: all but the versions a later return replaced."""
        return [r for r in self.results if r.path not in self.superseded]

    @property
    def counted(self) -> list[FileResult]:
        """The current results of files that were read (not skipped): what counts."""
        return [r for r in self.current if not r.skipped]

    @property
    def ok(self) -> bool:
        return all(r.valid for r in self.counted)

    def summary(self) -> dict[str, Any]:
        checked = self.checked
        counted = self.counted
        codes = Counter(p.code for r in counted for p in r.problems)
        return {
            "files": len(self.results),
            "checked": len(checked),
            "valid": sum(r.valid for r in counted),
            "invalid": sum(not r.valid for r in counted),
            "superseded": len(self.superseded),
            "skipped": len(self.results) - len(checked),
            "errors": sum(len(r.errors) for r in counted),
            "warnings": sum(len(r.warnings) for r in counted),
            "by_code": dict(sorted(codes.items())),
            "workspace": str(self.workspace) if self.workspace else None,
            "notices": self.notices,
        }

    def as_json(self, with_values: bool = False) -> dict[str, Any]:
        files = []
        for r in self.results:
            item: dict[str, Any] = {"path": r.path}
            if r.skipped:
                item.update(skipped=True, reason=r.skip_reason, valid=None)
            else:
                item.update(
                    skipped=False,
                    valid=r.valid,
                    form=r.form,
                    committee=r.committee,
                    project=r.project,
                    instance=r.instance,
                    format=r.format,
                    superseded_by=self.superseded.get(r.path),
                    issues=[p.as_json() for p in r.problems],
                )
                if with_values:
                    item["values"] = {k: as_json_value(v) for k, v in r.values.items()}
                    item["rows"] = {
                        t: [{k: as_json_value(v) for k, v in row.items()} for row in rows]
                        for t, rows in r.rows.items()
                    }
            files.append(item)
        return {"schema": JSON_SCHEMA_VERSION, "files": files, "summary": self.summary()}


def validate_paths(
    paths: Sequence[Path],
    workspace: Path | None = None,
    track: Callable[[list[Path]], Iterable[Path]] = iter,
    keep: frozenset[str] = frozenset({"raw", "values"}),
    files: Sequence[Path] | None = None,
) -> ValidationRun:
    """Validate every file under ``paths`` (``files``, if the caller listed them);
    ``track`` may wrap the file list in a progress bar."""
    from xlsxflow.parallel import read_many

    ctx, notices = context_for(paths, workspace)
    files = discover(paths) if files is None else list(files)
    done = iter(track(files))
    results = []
    for result in read_many(files, ctx, keep=keep):
        results.append(result)
        next(done, None)  # advance the progress bar as results arrive
    for _ in done:
        pass
    return ValidationRun(results, notices, ctx.workspace)


def write_outputs(run: ValidationRun, report: Path | None, feedback: Path | None) -> list[Path]:
    """The clerk's problem workbook and the committees' marked-up copies, of the
    returns that count (a replaced version has nothing left to fix)."""
    from xlsxflow.feedback import write_feedback
    from xlsxflow.forms import catalog
    from xlsxflow.fsutil import write_atomic

    ctx_ws = Workspace.open(run.workspace) if run.workspace else None
    config = ctx_ws.config if ctx_ws else ValidationContext().config
    roster = ctx_ws.roster if ctx_ws else None
    written: list[Path] = []
    if report is not None:
        from xlsxflow.excel.issue_report import render_issue_report

        forms = catalog().forms
        names = {k: f.name for k, f in forms.items()}
        labels = {
            k: {
                **{x.id: x.label for x in f.fields},
                **{c.id: c.label for t in f.tables for c in t.columns},
            }
            for k, f in forms.items()
        }
        write_atomic(report, render_issue_report(run.current, roster, names, labels))
        written.append(report)
    if feedback is not None:
        written += write_feedback(run.current, feedback, config, roster)
    return written
