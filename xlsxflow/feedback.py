"""Feedback copies: the committee's own form, rebuilt with its values, bad cells marked.

The copy is regenerated from the form spec rather than edited in place, so it keeps the
drop-downs, protection and metadata of the original template (the committee can fix it
and send it back as the same form), it works the same for .xlsx, .xls and .ods returns,
and nothing the committee typed can turn into a formula. The returned file itself is
never opened for writing.
"""

from __future__ import annotations

from pathlib import Path

from xlsxflow.config import Config
from xlsxflow.filenames import safe_component, safe_filename
from xlsxflow.forms import catalog
from xlsxflow.forms.layout import layout
from xlsxflow.forms.spec import META_KEYS
from xlsxflow.fsutil import write_atomic
from xlsxflow.problems import FileResult
from xlsxflow.roster import Roster
from xlsxflow.templates import form_content, owner_folder

SEVERITY_TEXT = {"error": "错误", "warning": "提示"}


def feedback_path(
    result: FileResult, folder: Path, roster: Roster | None, department: str, number: int = 1
) -> Path:
    """Where the marked-up copy of ``result`` goes: its owner's folder, as in outbox/
    (the department's, for the forms it fills in itself; a code not on the roster
    names its own), named after the return (``number`` > 1: the name was taken by
    another return of this run)."""
    code = result.committee or "未知单位"
    own = result.form is not None and catalog().form(result.form).department_fills
    if own:
        sub = owner_folder(None, department)
    elif roster is not None and roster.has(code):
        sub = owner_folder(roster.committee(code), department)
    else:
        sub = safe_component(code)
    stem = Path(result.path).stem
    parts = [stem, "问题标注", str(number) if number > 1 else ""]
    return folder / sub / safe_filename(parts, ".xlsx")


def render_feedback(result: FileResult, config: Config) -> bytes:
    from xlsxflow.excel.template_writer import render_template

    assert result.form is not None
    spec = catalog().form(result.form)
    form = layout(spec)
    meta = {
        "xf_form": spec.kind,
        "xf_form_version": str(spec.version),
        "xf_cycle": result.cycle or str(config.cycle.year),
        "xf_committee": result.committee or "",
        "xf_project": result.project or "",
        "xf_instance": result.instance or "",
        "xf_fingerprint": form.fingerprint,
    }
    assert tuple(meta) == META_KEYS
    content = form_content(spec, config, meta)
    content.values = dict(result.raw)
    content.table_rows = {t: list(rows) for t, rows in result.raw_rows.items()}
    marks: dict[tuple[str, str], list[str]] = {}
    labels = {f.id: f.label for f in spec.fields}
    labels.update({c.id: c.label for t in spec.tables for c in t.columns})
    listing = []
    for number, problem in enumerate(result.problems, start=1):
        if problem.sheet and problem.cell:
            marks.setdefault((problem.sheet, problem.cell), []).append(problem.message)
        listing.append(
            (
                str(number),
                problem.sheet,
                problem.cell,
                labels.get(problem.field, ""),
                SEVERITY_TEXT[problem.severity],
                problem.message,
            )
        )
    content.marks = {k: "\n".join(v) for k, v in marks.items()}
    content.problem_list = listing
    return render_template(form, content)


def write_feedback(
    results: list[FileResult], folder: Path, config: Config, roster: Roster | None
) -> list[Path]:
    """A marked-up copy for each identified return that has problems."""
    written = []
    # Two returns of one name (申报表.xlsx in inbox/3月 and inbox/4月), or names that
    # differ in case only (one file on Windows), each get a copy, numbered in the order
    # of the results (the inbox's): the same for the same returns with problems.
    taken: set[str] = set()
    department = config.cycle.department
    for result in results:
        if result.skipped or result.form is None or not result.problems:
            continue
        number = 1
        path = feedback_path(result, folder, roster, department)
        while str(path).casefold() in taken:
            number += 1
            path = feedback_path(result, folder, roster, department, number)
        taken.add(str(path).casefold())
        write_atomic(path, render_feedback(result, config))
        written.append(path)
    return written
