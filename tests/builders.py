"""Helpers shared by the validation tests: filled returns built through ``render_job``,
hostile variants made by rewriting their zip, and problems flattened for comparison.

A "return" here is what a committee sends back: the issued template with values typed
in. ``render_job`` writes the values as typed (text stays text, numbers stay numbers),
so planted mistakes reach the reader exactly as a committee would leave them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import struct
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from xlsxflow.forms import catalog
from xlsxflow.forms.layout import cell_ref, layout
from xlsxflow.intake import read_return
from xlsxflow.problems import FileResult
from xlsxflow.projects import ProjectRef
from xlsxflow.read.limits import DEFAULT_LIMITS, Limits
from xlsxflow.templates import TemplateJob, plan_templates, render_job
from xlsxflow.validation import ValidationContext
from xlsxflow.workspace import Workspace

Issue = tuple[str, str, str]  # (code, sheet, cell)

COMMITTEE = "T01"
PROJECT = ProjectRef(
    project_no="NCX-2011-CX-001",
    project_name="村级活动场所标准化建设",
    committee_code=COMMITTEE,
    project_type="innovation",
    direction="A2",
)


def direction_text(code: str) -> str:
    """What the drop-down puts into the cell for ``code``."""
    choices = catalog().choice("direction")
    return choices.display(choices.by_code(code))


# -- valid content of each form (default cycle: notice 2011-10-28, deadline 2011-12-31,
#    implementation until 2012-06-30, cycle until 2012-12-31) ------------------------------

APPLICATION: dict[str, Any] = {
    "direction": direction_text("A1"),
    "project_name": "村级活动场所标准化建设",
    "undertaking_org": "莲溪镇机关党支部",
    "start_date": dt.date(2011, 11, 1),
    "end_date": dt.date(2012, 6, 30),
    "lead_name": "张卫东",
    "lead_title": "党委书记",
    "deputy_name": "李秀英",
    "deputy_title": "党委副书记",
    "contact_name": "王建华",
    "contact_phone": "13079100000",
    "background": "全镇 12 个村级活动场所面积不足、功能单一。",
    "significance": "为全县村级阵地建设提供可复制的经验。",
    "approach": "试点先行，以点带面，分步推进。",
    "measures": "统一标识、统一制度、统一台账。",
    "expected_goals": "年内建成 5 个标准化活动场所。",
    "quality_standard": "对照县委组织部标准逐项验收。",
    "budget_special": 50000,
    "budget_party_fee": 20000.5,
    "signoff_name": "张卫东",
    "signoff_date": dt.date(2011, 12, 20),
}
PLAN: list[dict[str, Any]] = [
    {
        "plan_phase": "调研准备",
        "plan_start": dt.date(2011, 11, 1),
        "plan_end": dt.date(2011, 12, 31),
        "plan_content": "摸清各村活动场所现状",
        "plan_deliverable": "调研报告",
        "plan_owner": "李秀英",
    },
    {
        "plan_phase": "组织实施",
        "plan_start": dt.date(2012, 1, 1),
        "plan_end": dt.date(2012, 4, 30),
        "plan_content": "分批改造 5 个村的活动场所",
        "plan_deliverable": "改造完成",
        "plan_owner": "张卫东",
    },
    {
        "plan_phase": "总结提升",
        "plan_start": dt.date(2012, 5, 1),
        "plan_end": dt.date(2012, 6, 30),
        "plan_content": "总结经验，形成制度",
        "plan_deliverable": "经验材料",
        "plan_owner": "王建华",
    },
]
EXTRA_BY_KIND: dict[str, dict[str, Any]] = {
    "application_innovation": {},
    "application_demonstration": {"prior_results": "2010 年已在 3 个村试点，群众满意度 95%。"},
    "application_institutional": {"source_project_no": "NCX-2010-CX-003"},
}
LEDGER: dict[str, Any] = {"report_date": dt.date(2012, 3, 31)}
LEDGER_ROWS: dict[str, list[dict[str, Any]]] = {
    "team": [
        {
            "team_role": "组长",
            "team_name": "张卫东",
            "team_title": "莲溪镇党委书记",
            "team_phone": "13079100000",
        },
        {"team_role": "成员", "team_name": "李秀英", "team_title": "莲溪镇组织委员"},
    ],
    "tasks": [
        {
            "task_no": "1",
            "task_target": "建成标准化活动场所",
            "task_owner": "张卫东",
            "task_deadline": dt.date(2012, 5, 31),
            "task_requirement": "按县定标准建设",
            "task_progress": 100,
            "task_done_date": dt.date(2012, 3, 1),
        },
        {
            "task_no": "2",
            "task_target": "制度上墙",
            "task_owner": "李秀英",
            "task_deadline": dt.date(2012, 6, 30),
            "task_requirement": "六项制度上墙",
            "task_progress": 50,
        },
    ],
}
ACCEPTANCE: dict[str, Any] = {
    "method_documents": "是",
    "method_visit": "是",
    "method_forum": "否",
    "method_survey": "是",
    "survey_satisfied": 40,
    "survey_basic": 8,
    "survey_unsatisfied": 2,
    "goal_rate": 95,
    "benefit_score": 88,
    "extensibility_score": 90.5,
    "conclusion": "合格",
    "acceptance_remarks": "项目目标全部实现，同意验收。",
    "acceptance_members": "王某、李某、赵某",
    "acceptance_date": dt.date(2012, 12, 10),
}


# -- building returns ---------------------------------------------------------------------


def context(ws: Workspace) -> ValidationContext:
    return ValidationContext(ws.config, ws.roster, ws.root)


def job_for(
    ws: Workspace, kind: str, committee: str = COMMITTEE, project: ProjectRef = PROJECT
) -> TemplateJob:
    jobs = plan_templates(
        ws.config, ws.roster, ws.outbox, committees=[committee], kinds=[kind], projects=[project]
    )
    assert len(jobs) == 1
    return jobs[0]


def write_return(
    ws: Workspace,
    kind: str,
    values: Mapping[str, Any],
    rows: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    *,
    name: str | None = None,
    folder: Path | None = None,
    saved_at: dt.datetime | None = None,
) -> Path:
    """The template of ``kind`` for T01 (and ``PROJECT``), filled with ``values`` and
    ``rows`` and saved as ``folder/name`` (default: the workspace inbox), at ``saved_at``
    (default: the template's fixed time)."""
    data = render_job(
        job_for(ws, kind), ws.config, dict(values), dict(rows or {}), saved_at=saved_at
    )
    path = (folder or ws.inbox) / (name or f"{kind}.xlsx")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def application_values(kind: str = "application_innovation") -> dict[str, Any]:
    return {**APPLICATION, **EXTRA_BY_KIND[kind]}


def filled_application(
    ws: Workspace,
    overrides: Mapping[str, Any] | None = None,
    *,
    rows: Sequence[Mapping[str, Any]] | None = None,
    kind: str = "application_innovation",
    name: str | None = None,
    folder: Path | None = None,
    saved_at: dt.datetime | None = None,
) -> Path:
    """A fully valid application of ``kind``; ``overrides`` replace values (``None``
    leaves the cell blank), ``rows`` replace the plan table."""
    values = {**application_values(kind), **(overrides or {})}
    plan = PLAN if rows is None else rows
    return write_return(
        ws, kind, values, {"plan": plan}, name=name, folder=folder, saved_at=saved_at
    )


def filled_ledger(
    ws: Workspace,
    overrides: Mapping[str, Any] | None = None,
    *,
    tasks: Sequence[Mapping[str, Any]] | None = None,
    name: str | None = None,
) -> Path:
    rows = {**LEDGER_ROWS, **({"tasks": tasks} if tasks is not None else {})}
    return write_return(ws, "ledger", {**LEDGER, **(overrides or {})}, rows, name=name)


def filled_acceptance(
    ws: Workspace, overrides: Mapping[str, Any] | None = None, *, name: str | None = None
) -> Path:
    return write_return(ws, "acceptance", {**ACCEPTANCE, **(overrides or {})}, name=name)


# -- where things are ---------------------------------------------------------------------


def field_at(kind: str, field_id: str) -> tuple[str, str]:
    """(sheet, cell) of a single-cell field, from the form's layout."""
    place = layout(catalog().form(kind)).fields[field_id]
    return place.sheet, place.cell


def row_at(kind: str, column_id: str, number: int) -> tuple[str, str]:
    """(sheet, cell) of ``column_id`` in the ``number``-th (1-based) row of its table."""
    spec = catalog().form(kind)
    table = spec.table_of(column_id)
    assert table is not None, column_id
    place = layout(spec).tables[table.id]
    return place.sheet, cell_ref(place.first_row + number - 1, place.column(column_id).col)


def at(code: str, kind: str, field_id: str, row: int | None = None) -> Issue:
    sheet, cell = field_at(kind, field_id) if row is None else row_at(kind, field_id, row)
    return (code, sheet, cell)


# -- reading ------------------------------------------------------------------------------


def read(path: Path, ws: Workspace | None = None, limits: Limits = DEFAULT_LIMITS) -> FileResult:
    ctx = context(ws) if ws is not None else ValidationContext()
    return read_return(path, ctx, limits)


def issues(result: FileResult, severity: str | None = None) -> list[Issue]:
    """The problems as sorted ``(code, sheet, cell)`` tuples (optionally one severity)."""
    return sorted(
        (p.code, p.sheet, p.cell)
        for p in result.problems
        if severity is None or p.severity == severity
    )


def codes(result: FileResult) -> list[str]:
    return sorted(p.code for p in result.problems)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


T = TypeVar("T")


def with_peak(call: Callable[[], T]) -> tuple[T, int]:
    """What ``call`` returns, and the most memory Python held while it ran."""
    tracemalloc.start()
    try:
        return call(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- rewriting the zip of a generated return ----------------------------------------------

Edit = bytes | Callable[[bytes], bytes]


def rewrite_zip(
    src: Path,
    dst: Path,
    *,
    edit: Mapping[str, Edit] | None = None,
    drop: Iterable[str] = (),
    add: Iterable[tuple[str, bytes]] = (),
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """A copy of ``src`` with members replaced, dropped or added (duplicates allowed)."""
    edit = dict(edit or {})
    dropped = set(drop)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression) as zout:
        for info in zin.infolist():
            if info.filename in dropped:
                continue
            data = zin.read(info.filename)
            change = edit.pop(info.filename, None)
            if change is not None:
                data = change(data) if callable(change) else change
            zout.writestr(info.filename, data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about duplicate names
            for name, data in [*edit.items(), *add]:
                zout.writestr(name, data)
    return dst


def sheet_part(path: Path, sheet: str) -> str:
    """The zip member holding ``sheet`` (via workbook.xml and its relationships)."""
    with zipfile.ZipFile(path) as z:
        book = z.read("xl/workbook.xml").decode("utf-8")
        rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    m = re.search(rf'<sheet name="{re.escape(sheet)}"[^>]*r:id="(rId\d+)"', book)
    assert m, sheet
    t = re.search(rf'<Relationship Id="{m.group(1)}"[^>]*Target="([^"]+)"', rels)
    if t is None:
        t = re.search(rf'Target="([^"]+)"[^>]*Id="{m.group(1)}"', rels)
    assert t, m.group(1)
    target = t.group(1)
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def set_cell(ref: str, xml: str) -> Callable[[bytes], bytes]:
    """An edit of a sheet part replacing cell ``ref`` (keeping its style) by ``<c r=ref
    s=…` + ``xml``; ``xml`` continues the start tag, e.g. ``'><f>1+2</f></c>'``."""
    pattern = re.compile(rf'<c r="{ref}"( s="\d+")?[^>]*?(?:/>|>.*?</c>)'.encode(), re.DOTALL)

    def apply(data: bytes) -> bytes:
        def repl(m: re.Match[bytes]) -> bytes:
            return f'<c r="{ref}"'.encode() + (m.group(1) or b"") + xml.encode()

        out, n = pattern.subn(repl, data, count=1)
        assert n == 1, f"cell {ref} not found"
        return out

    return apply


def patch_declared_size(path: Path, member: str, size: int) -> None:
    """Make the zip directory (central and local headers) lie about ``member``'s size."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if bytes(data[central + 46 : central + 46 + name_len]) == name:
            struct.pack_into("<I", data, central + 24, size)
            local = struct.unpack_from("<I", data, central + 42)[0]
            struct.pack_into("<I", data, local + 22, size)
            path.write_bytes(bytes(data))
            return
        central = data.find(b"PK\x01\x02", central + 4)
    raise AssertionError(f"{member} not in {path}")


# -- an encrypted OOXML package: an OLE2 compound file (CFB v3) ---------------------------

_FREE, _END, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _dir_entry(name: str, kind: int, start: int, size: int, right: int, child: int) -> bytes:
    encoded = (name + "\0").encode("utf-16-le") if name else b""
    entry = bytearray(128)
    entry[: len(encoded)] = encoded
    struct.pack_into("<HBB", entry, 64, len(encoded), kind, 1 if name else 0)
    struct.pack_into("<III", entry, 68, _NOSTREAM, right, child)
    struct.pack_into("<IQ", entry, 116, start, size)
    return bytes(entry)


def encrypted_ooxml(path: Path) -> Path:
    """What Excel writes for a workbook with an open password: an OLE2 container holding
    the streams ``EncryptionInfo`` and ``EncryptedPackage`` (contents are random here)."""
    stream = 4096  # at the mini-stream cutoff, so both live in regular 512-byte sectors
    per = stream // 512
    info_start, package_start = 2, 2 + per
    fat = [_FATSECT, _END]
    for start in (info_start, package_start):
        fat += [start + i + 1 for i in range(per - 1)] + [_END]
    fat += [_FREE] * (128 - len(fat))
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 40, 0, 1, 1, 0, 4096, _END, 0, _END, 0)
    struct.pack_into("<I", header, 76, 0)  # DIFAT[0]: the FAT is sector 0
    header[80:512] = b"\xff" * 432
    directory = (
        _dir_entry("Root Entry", 5, _END, 0, _NOSTREAM, 1)
        + _dir_entry("EncryptionInfo", 2, info_start, stream, 2, _NOSTREAM)
        + _dir_entry("EncryptedPackage", 2, package_start, stream, _NOSTREAM, _NOSTREAM)
        + _dir_entry("", 0, 0, 0, _NOSTREAM, _NOSTREAM)
    )
    body = struct.pack("<128I", *fat) + directory
    body += b"\x04\x00\x04\x00\x40\x00\x00\x00" + b"\x5a" * (stream - 8)
    body += bytes(range(256)) * (stream // 256)
    path.write_bytes(bytes(header) + body)
    return path
