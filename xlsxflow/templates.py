"""Form spec + roster (+ projects) → the template workbooks the department sends out.

Every template is fully determined by the workspace: its instance id is derived from the
cycle, form kind, committee, project and copy number, and its timestamps are fixed, so
generating twice gives byte-identical files and a re-sent template is the same form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from xlsxflow.config import Config
from xlsxflow.cycle import windows
from xlsxflow.errors import UsageError
from xlsxflow.filenames import safe_component, safe_filename
from xlsxflow.forms import catalog
from xlsxflow.forms.layout import layout
from xlsxflow.forms.spec import Bounds, FormSpec
from xlsxflow.projects import ProjectRef
from xlsxflow.roster import Committee, Roster

if TYPE_CHECKING:
    from xlsxflow.excel.template_writer import CellValue, TemplateContent

APPLICATION_KINDS = (
    "application_innovation",
    "application_demonstration",
    "application_institutional",
)
PROJECT_KINDS = ("ledger", "closure", "acceptance")
DEPARTMENT_KINDS = ("review",)


def instance_id(
    cycle: int, kind: str, committee: str = "", project: str = "", copy: int = 1
) -> str:
    """A readable id that names the issued form; the same inputs always give the same id."""
    owner = project or committee or "dept"
    return f"{cycle}.{owner}.{kind}.{copy}"


def date_bounds(config: Config) -> dict[Bounds, tuple[dt.date, dt.date]]:
    return {key: (w.low, w.high) for key, w in windows(config).items()}


@dataclass(frozen=True)
class TemplateJob:
    """One workbook to write: which form, for whom, where."""

    spec: FormSpec
    committee: Committee | None
    project: ProjectRef | None
    copy: int
    path: Path
    rows: Mapping[str, Sequence[Mapping[str, str]]] | None = None  # prefilled table rows


def owner_folder(committee: Committee | None, department: str) -> str:
    """The folder (in outbox/ and feedback/) of a form's owner: its committee's, or the
    department's for the forms it fills in itself."""
    return committee.folder if committee is not None else safe_component(department)


def _committee_folder(outbox: Path, committee: Committee | None, department: str) -> Path:
    return outbox / owner_folder(committee, department)


def plan_templates(
    config: Config,
    roster: Roster,
    outbox: Path,
    *,
    committees: Sequence[str] = (),
    kinds: Sequence[str] = APPLICATION_KINDS,
    projects: Sequence[ProjectRef] = (),
    copies: int = 1,
    applications: Sequence[Mapping[str, str]] = (),
) -> list[TemplateJob]:
    """Decide every file to write, in a fixed order, before anything is written."""
    for code in committees:
        if not roster.has(code):
            raise UsageError("templates.unknown_committee", code=code)
    chosen = [c for c in roster.committees if not committees or c.code in committees]
    forms = catalog()
    department = config.cycle.department
    jobs: list[TemplateJob] = []
    for kind in kinds:
        spec = forms.form(kind)
        if spec.scope == "committee":
            for committee in chosen:
                folder = _committee_folder(outbox, committee, department)
                for copy in range(1, copies + 1):
                    # The first copy is named as a single one: generated again with more
                    # copies, it is the same file, never a second file of its number.
                    parts = [committee.code, committee.name, spec.name]
                    if copy > 1:
                        parts.append(f"第{copy}份")
                    jobs.append(
                        TemplateJob(
                            spec, committee, None, copy, folder / safe_filename(parts, ".xlsx")
                        )
                    )
        elif spec.scope == "project":
            wanted = [p for p in projects if not committees or p.committee_code in committees]
            if not wanted:
                raise UsageError("templates.needs_projects", form=spec.name)
            for project in wanted:
                if not roster.has(project.committee_code):
                    raise UsageError("templates.unknown_committee", code=project.committee_code)
                committee = roster.committee(project.committee_code)
                # (the acceptance sheet is the acceptance group's: the department's folder)
                filler = None if spec.department_fills else committee
                folder = _committee_folder(outbox, filler, department)
                parts = [project.project_no, project.project_name[:16], spec.name]
                jobs.append(
                    TemplateJob(spec, committee, project, 1, folder / safe_filename(parts, ".xlsx"))
                )
        else:
            # One sheet holds ``rows`` applications; more applications, more copies.
            folder = _committee_folder(outbox, None, department)
            table = spec.tables[0]
            chunks = [
                list(applications[i : i + table.rows])
                for i in range(0, len(applications), table.rows)
            ] or [[]]
            for copy, chunk in enumerate(chunks, start=1):
                parts = [f"{config.cycle.year}年度{spec.name}"]
                if copy > 1:
                    parts.append(f"第{copy}份")
                name = safe_filename(parts, ".xlsx")
                jobs.append(TemplateJob(spec, None, None, copy, folder / name, {table.id: chunk}))
    return jobs


def _choice_text(list_id: str, code: str) -> str:
    choices = catalog().choice(list_id)
    try:
        return choices.display(choices.by_code(code))
    except KeyError:
        return code


def _prefill(job: TemplateJob, source: str) -> str:
    committee, project = job.committee, job.project
    if source.startswith("committee.") and committee is not None:
        return {
            "committee.code": committee.code,
            "committee.name": committee.name,
            "committee.contact": committee.contact,
            "committee.phone": committee.phone,
        }[source]
    if source == "form.project_type" and job.spec.project_type:
        return _choice_text("project_type", job.spec.project_type)
    if source.startswith("project.") and project is not None:
        return {
            "project.no": project.project_no,
            "project.name": project.project_name,
            "project.type": _choice_text("project_type", project.project_type),
            "project.direction": _choice_text("direction", project.direction)
            if project.direction
            else "",
        }[source]
    return ""


def metadata(job: TemplateJob, config: Config) -> dict[str, str]:
    committee = job.committee.code if job.committee else ""
    project = job.project.project_no if job.project else ""
    year = config.cycle.year
    return {
        "xf_form": job.spec.kind,
        "xf_form_version": str(job.spec.version),
        "xf_cycle": str(year),
        "xf_committee": committee,
        "xf_project": project,
        "xf_instance": instance_id(year, job.spec.kind, committee, project, job.copy),
        "xf_fingerprint": layout(job.spec).fingerprint,
    }


def form_content(spec: FormSpec, config: Config, meta: dict[str, str]) -> TemplateContent:
    """What every workbook of this form and cycle shares: title, metadata, date windows,
    fixed timestamps. Templates, filled samples and feedback copies all start here."""
    from xlsxflow.excel.template_writer import TemplateContent

    return TemplateContent(
        title=spec.display_title(config.cycle.county),
        subtitle=f"表单编号：{meta['xf_instance']}",
        meta=meta,
        bounds=date_bounds(config),
        created=dt.datetime.combine(config.cycle.notice_date, dt.time()),
        department=config.cycle.department,
    )


def prefilled_values(job: TemplateJob) -> dict[str, str]:
    values = {f.id: _prefill(job, f.prefill) for f in job.spec.fields if f.prefill}
    return {k: v for k, v in values.items() if v}


def render_job(
    job: TemplateJob,
    config: Config,
    values: Mapping[str, CellValue] | None = None,
    rows: Mapping[str, Sequence[Mapping[str, CellValue]]] | None = None,
    saved_at: dt.datetime | None = None,
) -> bytes:
    """The template of ``job``; with ``values``/``rows`` (and the time the committee saved
    it), the same form filled in."""
    from xlsxflow.excel.template_writer import render_template

    content = form_content(job.spec, config, metadata(job, config))
    if saved_at is not None:
        content.created = saved_at
    content.values = {**prefilled_values(job), **(values or {})}
    content.table_rows = dict(rows or {})
    return render_template(layout(job.spec), content)


def write_templates(jobs: Iterable[TemplateJob], config: Config) -> list[Path]:
    from xlsxflow.fsutil import write_atomic

    written = []
    for job in jobs:
        write_atomic(job.path, render_job(job, config, rows=job.rows))
        written.append(job.path)
    return written
