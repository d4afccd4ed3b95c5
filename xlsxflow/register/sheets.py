"""The register's sheets as rows of plain values, built from the derived state.

Column headers come from the form specs' labels wherever a column is a form field, so
the register speaks the same words as the forms. The Excel writer only draws these.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from xlsxflow.compliance import VERDICT_TEXT
from xlsxflow.config import Config
from xlsxflow.forms import catalog
from xlsxflow.register.codec import decode_table
from xlsxflow.register.state import STATE_TEXT, Project, RegisterState
from xlsxflow.roster import Roster
from xlsxflow.scoring import Evaluation

PROJECTS_SHEET = "项目总台账"
TASKS_SHEET = "任务台账"
FUNDS_SHEET = "经费台账"
SUBMISSIONS_SHEET = "提交记录"
MISSING_SHEET = "未报送名单"
CHANGES_SHEET = "变更记录"
MEETINGS_SHEET = "调度记录"
EVALUATION_SHEET = "评估结果"
KEY_HEADER = "申报表编号"
# Columns the department owns: edited in register.xlsx, read back and kept at each merge.
DEPT_COLUMNS = ("督办人", "备注", "整改意见")

Cell = str | int | Decimal | dt.date | None


Lead = tuple[Cell, Cell, Cell]  # project number, project name, committee: a block's first cells


@dataclass(frozen=True)
class Block:
    """One project's rows of a sheet and a key naming everything they are made of:
    a block whose key is unchanged since the last register.xlsx is copied from it (its
    rows renumbered if it moved) instead of being built again (a province's 任务台账
    has 400,000 rows).
    ``source`` (its first cells and the return's hash) lets another process make the
    same rows from the store alone (``TableRows``)."""

    key: str
    rows: Callable[[], list[Sequence[Cell]]]
    source: tuple[Lead, str] | None = None


@dataclass(frozen=True)
class TableRows:
    """Makes one project's rows of a table sheet (任务台账, 经费台账) from its return's
    stored rows. Picklable, with the store's path: a province's task rows are made in
    two processes at once (``excel.chunk_workers``)."""

    form: str
    table: str
    ids: tuple[str, ...]
    shown: tuple[dict[str, str] | None, ...]  # per column: code → text shown, if a choice
    store: Path | None  # where the returns are (None: held in memory, one process only)

    def __call__(self, lead: Lead, sha: str, stored: list[dict[str, Any]]) -> list[list[Cell]]:
        out: list[list[Cell]] = []
        source = sha[:12]
        for r in decode_table(catalog().form(self.form), self.table, stored):
            cells: list[Cell] = list(lead)
            for cid, texts in zip(self.ids, self.shown, strict=True):
                value = r.get(cid)
                if texts is not None:
                    value = _shown(texts, value)
                cells.append(value)
            cells += [source, r.get("_at", "")]
            out.append(cells)
        return out


@dataclass
class Sheet:
    name: str
    headers: list[str]
    rows: Iterable[Sequence[Cell]] = ()
    dept_columns: tuple[str, ...] = ()
    wide: tuple[str, ...] = ()  # columns holding long text
    blocks: Iterable[Block] | None = None  # instead of ``rows``, where rows come per project
    signature: str = ""  # what the blocks' rows depend on besides their keys
    made_by: TableRows | None = None  # how the blocks' rows are made from their source
    one_row_blocks: bool = False  # each block is one row (chunked by more blocks)
    # Rows made of the state, roster and config alone (``plain_sheets``): another process
    # holding those may make them (``excel.chunk_workers.make_plain``).
    plain: bool = False


class Deferred:
    """Rows made when first iterated, then kept: a plain sheet's rows are not made at
    all when another process made them."""

    def __init__(self, make: Callable[[], list[list[Cell]]]) -> None:
        self._make = make
        self._rows: list[list[Cell]] | None = None

    def __iter__(self) -> Iterator[list[Cell]]:
        if self._rows is None:
            self._rows = self._make()
        return iter(self._rows)


@functools.cache
def _label(kind: str, field_id: str) -> str:
    """(Asked for every column of every project row: looked up once.)"""
    return catalog().form(kind).field(field_id).label


@functools.cache
def _choices_shown(list_id: str) -> dict[str, str]:
    """The text shown for each code of a choice list (the catalogue is loaded once per
    process, so this is built once per list; asked for every choice cell)."""
    choices = catalog().choice(list_id)
    return {item.code: choices.display(item) for item in choices.items}


def _shown(texts: dict[str, str], code: Any) -> str:
    """A code as shown (an unknown code as it is, nothing as nothing)."""
    return texts.get(str(code), str(code)) if code else ""


def _choice(list_id: str, code: Any) -> str:
    return _shown(_choices_shown(list_id), code)


def _committee_name(roster: Roster | None, code: str, fallback: str = "") -> str:
    return roster.name_of(code, fallback) if roster is not None else fallback


APPLICATION_FIELDS = (
    "committee_code",
    "committee_name",
    "project_type",
    "direction",
    "project_name",
    "undertaking_org",
    "lead_name",
    "deputy_name",
    "contact_name",
    "contact_phone",
    "start_date",
    "end_date",
    "budget_special",
    "budget_party_fee",
)
REVIEW_SCORES = ("rv_innovation", "rv_feasibility", "rv_leading", "rv_outcome")


@dataclass
class Figures:
    """Computed figures shown next to the data: the latest meeting's record per project
    (as_of, compliance, verdict text) and evaluations by project number."""

    latest_meeting: dict[str, tuple[str, str, str]]
    evaluations: dict[str, Evaluation]


def project_row_values(
    p: Project, roster: Roster | None, figures: Figures | None = None
) -> dict[str, Cell]:
    """The committee-sourced and derived cells of one project row, by header."""
    kind = "application_innovation"
    row: dict[str, Cell] = {KEY_HEADER: p.key, _label("ledger", "project_no"): p.number}
    for fid in APPLICATION_FIELDS:
        value = p.values.get(fid)
        if fid == "project_type":
            value = _choice("project_type", value)
        elif fid == "direction":
            value = _choice("direction", value)
        elif fid == "committee_name":
            value = _committee_name(roster, p.committee, str(value or ""))
        row[_label(kind, fid)] = value
    row["评审得分"] = _review_score(p)
    row["项目状态"] = STATE_TEXT[p.state]
    meeting = figures.latest_meeting.get(p.number or "") if figures else None
    row["最近调度会"] = meeting[0] if meeting else None
    row["按期完成率（%）"] = Decimal(meeting[1]) if meeting and meeting[1] else None
    row["调度结论"] = meeting[2] if meeting else None
    evaluation = figures.evaluations.get(p.number or "") if figures else None
    row["评估得分"] = evaluation.score if evaluation else None
    row["评估等次"] = evaluation.grade if evaluation else None
    row["申报表版本"] = p.application.sha256[:12]
    return row


def _review_score(p: Project) -> Decimal | None:
    """The sum of the project's review scores (None unless it has all of them)."""
    scores = [p.review.get(s) for s in REVIEW_SCORES]
    return sum(scores) if p.review and all(s is not None for s in scores) else None


def projects_sheet(
    state: RegisterState,
    roster: Roster | None,
    notes: dict[tuple[str, str], str],
    figures: Figures | None = None,
) -> Sheet:
    """One block a project, keyed by everything its row is made of: a register rewritten
    from the previous one builds the rows of the projects that changed only, and loads
    only their values (``derive(values=False)``)."""
    own = project_headers()
    figures = figures or Figures({}, {})

    def notes_of(p: Project) -> list[Cell]:
        return [notes.get((p.key, c), "") for c in DEPT_COLUMNS]

    def row_of(p: Project) -> list[Sequence[Cell]]:
        values = project_row_values(p, roster, figures)
        return [[values.get(h) for h in own] + notes_of(p)]

    def blocks() -> Iterator[Block]:
        for p in state.projects:
            evaluation = figures.evaluations.get(p.number or "")
            made_of = (
                p.key,
                p.number,
                p.application.sha256,  # (its values)
                _committee_name(roster, p.committee),
                _review_score(p),
                p.state,
                figures.latest_meeting.get(p.number or ""),
                (evaluation.score, evaluation.grade) if evaluation else None,
                notes_of(p),
            )
            key = hashlib.sha256(repr(made_of).encode()).hexdigest()
            yield Block(key, functools.partial(row_of, p))

    return Sheet(
        PROJECTS_SHEET,
        [*own, *DEPT_COLUMNS],
        dept_columns=DEPT_COLUMNS,
        wide=(_label("application_innovation", "project_name"), "备注", "整改意见"),
        blocks=blocks(),
        one_row_blocks=True,
    )


def project_headers() -> list[str]:
    """Committee-sourced and derived columns of 项目总台账, in order."""
    kind = "application_innovation"
    return [
        KEY_HEADER,
        _label("ledger", "project_no"),
        *(_label(kind, f) for f in APPLICATION_FIELDS),
        "评审得分",
        "项目状态",
        "最近调度会",
        "按期完成率（%）",
        "调度结论",
        "评估得分",
        "评估等次",
        "申报表版本",
    ]


def _table_sheet(
    name: str, state: RegisterState, form: str, table: str, roster: Roster | None
) -> Sheet:
    spec = catalog().form(form)
    columns = next(t.columns for t in spec.tables if t.id == table)
    headers = [
        _label("ledger", "project_no"),
        _label("ledger", "project_name"),
        _label("ledger", "committee_name"),
        *(c.label for c in columns),
        "来源文件",
        "来源位置",
    ]

    # code → shown text per choice column, looked up once (not once per task)
    shown = tuple(_choices_shown(c.choices) if c.choices else None for c in columns)
    ids = tuple(c.id for c in columns)
    subs = [getattr(p, form) for p in state.projects]
    loaders = {s.loader.path if s.loader and s.payload_json is None else None for s in subs if s}
    made_by = TableRows(form, table, ids, shown, next(iter(loaders)) if len(loaders) == 1 else None)

    def project_rows(lead: Lead, sub: Any) -> list[list[Cell]]:
        return made_by(lead, sub.sha256, sub.table(table))

    def blocks() -> Iterator[Block]:
        # A generator: one project's rows at a time (a province has 100,000s of tasks).
        for p, sub in zip(state.projects, subs, strict=True):
            if sub is None:
                continue
            name_ = p.name
            committee = _committee_name(roster, p.committee, p.committee)
            # the rows are made of exactly these (the return's content by its hash)
            made_of = "\x1f".join([name, p.number or "", name_, committee, sub.sha256])
            key = hashlib.sha256(made_of.encode()).hexdigest()
            lead = (p.number, name_, committee)
            yield Block(key, functools.partial(project_rows, lead, sub), (lead, sub.sha256))

    wide = tuple(c.label for c in columns if c.type == "text" and not c.max_length)
    signature = repr((list(ids), list(shown)))  # a changed choice text changes every row
    return Sheet(name, headers, wide=wide, blocks=blocks(), signature=signature, made_by=made_by)


def submissions_sheet(state: RegisterState, roster: Roster | None) -> Sheet:
    headers = [
        "保存时间",
        "原文件名",
        "表格",
        "单位编号",
        "单位名称",
        "立项编号",
        "表单编号",
        "版本",
        "处理结果",
        "说明",
        "SHA-256",
    ]
    rows = Deferred(functools.partial(_submission_rows, state, roster))
    return Sheet(SUBMISSIONS_SHEET, headers, rows, wide=("说明",))


def _submission_rows(state: RegisterState, roster: Roster | None) -> list[list[Cell]]:
    forms = catalog().forms
    rows: list[list[Cell]] = []
    for sub in sorted(state.submissions, key=lambda s: (s.saved_at, s.sha256)):
        status = state.statuses[sub.sha256]
        result = "已接收" if status.accepted else "暂缓" if status.held else "已退回"
        note = status.reason if not status.accepted else status.changes
        rows.append(
            [
                sub.saved_at.replace("T", " ").removesuffix("Z"),
                sub.name,
                forms[sub.form].name if sub.form in forms else "未识别",
                sub.committee or "",
                _committee_name(roster, sub.committee or ""),
                sub.project or "",
                sub.instance or "",
                status.version,
                result,
                note,
                sub.sha256,
            ]
        )
    return rows


def changes_sheet(state: RegisterState, roster: Roster | None) -> Sheet:
    headers = [
        "日期",
        KEY_HEADER,
        _label("ledger", "project_no"),
        _label("ledger", "project_name"),
        "单位名称",
        "类别",
        "内容",
        "来源文件",
    ]
    rows = Deferred(functools.partial(_change_rows, state, roster))
    return Sheet(CHANGES_SHEET, headers, rows, wide=("内容",))


def _change_rows(state: RegisterState, roster: Roster | None) -> list[list[Cell]]:
    # (a project's cells, made once: a province's 5,000 have four changes of state each)
    leads: dict[str, list[Cell]] = {
        p.key: [p.key, p.number, p.name, _committee_name(roster, p.committee, p.committee)]
        for p in state.projects
    }
    became = {code: f"状态变为“{text}”" for code, text in STATE_TEXT.items()}
    # (each row with what it is sorted by: date, project, kind)
    keyed: list[tuple[tuple[str, str, str], list[Cell]]] = []
    for t in state.transitions:
        content = became[t.state] + (f"（{t.note}）" if t.note else "")
        day = t.at[:10]
        keyed.append(
            (
                (day, t.project, "状态变化"),
                [day, *leads[t.project], "状态变化", content, t.sha256[:12]],
            )
        )
    for p in state.projects:
        if p.ledger is None:
            continue
        for adj in state.adjustments(p):
            when = adj.get("adj_date")
            row = [
                when,
                *leads[p.key],
                "项目调整",
                f"{adj.get('adj_what', '')}（原因：{adj.get('adj_why', '')}）",
                p.ledger.sha256[:12],
            ]
            keyed.append(((str(when or ""), p.key, "项目调整"), row))
    # stable: state changes of one day stay in the order they happened
    keyed.sort(key=operator.itemgetter(0))
    return [row for _, row in keyed]


RETURNED = "已报送，未通过校验"  # (the 情况 of a return sent but refused)


def missing_sheet(
    state: RegisterState, roster: Roster | None, config: Config, today: dt.date | None = None
) -> Sheet:
    """Who has not returned what, per deadline. A deadline counts as passed when it is
    before ``today``, by default the latest save date found in the data (so the register
    does not depend on the day it is written)."""
    headers = ["报送事项", "截止日期", "单位编号", "单位名称", "立项编号", "项目名称", "情况"]
    rows = Deferred(functools.partial(_missing_rows, state, roster, config, today))
    return Sheet(MISSING_SHEET, headers, rows)


def _missing_rows(
    state: RegisterState, roster: Roster | None, config: Config, today: dt.date | None
) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    cycle = config.cycle
    as_of = (
        today.isoformat()
        if today
        else max((s.saved_at[:10] for s in state.submissions if s.saved_at), default="")
    )
    applied = {p.committee for p in state.projects if p.cycle == str(cycle.year)}
    # (sent, but refused by validation: told so, not "not sent", which the committee
    # would answer by ignoring the reminder)
    refused_applications = {
        s.committee
        for s in state.submissions
        if not s.valid and s.form and s.form.startswith("application_") and s.committee
    }

    def status_for(deadline: dt.date, refused: bool = False) -> str:
        if refused:
            return RETURNED
        return "逾期未报" if as_of and deadline.isoformat() <= as_of else "尚未报送"

    if roster is not None:
        for c in roster.committees:
            if c.code not in applied:
                rows.append(
                    [
                        "项目申报表",
                        cycle.application_deadline,
                        c.code,
                        c.name,
                        "",
                        "",
                        status_for(cycle.application_deadline, c.code in refused_applications),
                    ]
                )
    active = [p for p in state.projects if p.number and p.state not in ("rejected",)]
    previous = cycle.notice_date
    # Each meeting's period (from the one before it, or the notice): the projects with
    # a ledger saved in it, found in one pass over the ledgers.
    periods = []
    for meeting in cycle.dispatch_meetings:
        periods.append((previous.isoformat(), meeting.isoformat()))
        previous = meeting
    reported: list[set[str]] = [set() for _ in periods]
    refused: list[set[str]] = [set() for _ in periods]
    for s in state.submissions:
        if s.form == "ledger" and s.project:
            day = s.saved_at[:10]
            for found, no, (since, until) in zip(reported, refused, periods, strict=True):
                if since < day <= until:
                    (found if s.valid else no).add(s.project)
    # (a row's cells of each project, made once: a province's 5,000 projects have a row
    # for each of the cycle's meetings)
    going = [
        (p.committee, _committee_name(roster, p.committee, p.committee), p.number, p.name)
        for p in active
        if p.state not in ("concluded", "accepted", "not_accepted")
    ]
    for meeting, (_, until), found, no in zip(
        cycle.dispatch_meetings, periods, reported, refused, strict=True
    ):
        what, status = f"管理台帐（{until} 调度会）", status_for(meeting)
        for code, committee, number, name in going:
            if number not in found:
                told = RETURNED if number in no else status
                rows.append([what, meeting, code, committee, number, name, told])
    # (a closure report held for its project's ledger was sent: the ledger is what is owed)
    held = {
        s.project
        for s in state.submissions
        if s.form == "closure" and state.statuses[s.sha256].held
    }
    for p in active:
        if p.closure is None and p.number not in held:
            rows.append(
                [
                    "项目结题报告",
                    cycle.acceptance_deadline,
                    p.committee,
                    _committee_name(roster, p.committee, p.committee),
                    p.number,
                    p.name,
                    status_for(cycle.acceptance_deadline),
                ]
            )
    return rows


def meetings_sheet(meetings: list[Any], state: RegisterState, roster: Roster | None) -> Sheet:
    """Each dispatch meeting's record, as ``xlsxflow schedule`` saved it."""
    headers = [
        "调度会日期",
        _label("ledger", "project_no"),
        _label("ledger", "project_name"),
        "单位名称",
        "按期完成率（%）",
        "调度结论",
        "整改期限",
        "建议调整",
        "说明",
    ]
    numbers = state.by_number()
    rows: list[list[Cell]] = []
    for as_of, project, compliance, verdict, rectify_by, adjust, explanation in meetings:
        p = numbers.get(project)
        rows.append(
            [
                dt.date.fromisoformat(as_of),
                project,
                p.name if p else "",
                _committee_name(roster, p.committee, p.committee) if p else "",
                Decimal(compliance) if compliance else None,
                VERDICT_TEXT.get(verdict or "", "未报送台帐"),
                dt.date.fromisoformat(rectify_by) if rectify_by else None,
                "是" if adjust else "",
                explanation,
            ]
        )
    return Sheet(MEETINGS_SHEET, headers, rows, wide=("说明",))


def evaluation_sheet(figures: Figures, roster: Roster | None) -> Sheet:
    headers = [
        _label("ledger", "project_no"),
        _label("ledger", "project_name"),
        "单位名称",
        "项目类型",
        "目标实现率（%）",
        "群众满意率（%）",
        "综合效益",
        "经验可推广性",
        "得分",
        "等次",
        "类内排名",
        "推广建议",
        "表彰对象",
        "计算说明",
    ]
    rows: list[list[Cell]] = []
    for e in figures.evaluations.values():
        rows.append(
            [
                e.project,
                e.input.name,
                _committee_name(roster, e.input.committee, e.input.committee),
                _choice("project_type", e.input.project_type),
                e.goal_rate,
                e.satisfaction_rate,
                e.input.benefit,
                e.input.extensibility,
                e.score,
                e.grade,
                e.rank_in_type,
                e.promotion,
                "是" if e.commend else "",
                e.explanation,
            ]
        )
    return Sheet(EVALUATION_SHEET, headers, rows, wide=("计算说明", "推广建议"))


def register_sheets(
    state: RegisterState,
    roster: Roster | None,
    config: Config,
    notes: dict[tuple[str, str], str],
    figures: Figures | None = None,
    meetings: list[Any] | None = None,
) -> list[Sheet]:
    figures = figures or Figures({}, {})
    return [
        projects_sheet(state, roster, notes, figures),
        _table_sheet(TASKS_SHEET, state, "ledger", "tasks", roster),
        _table_sheet(FUNDS_SHEET, state, "ledger", "funds", roster),
        *plain_sheets(state, roster, config),
        meetings_sheet(meetings or [], state, roster),
        evaluation_sheet(figures, roster),
    ]


def plain_sheets(state: RegisterState, roster: Roster | None, config: Config) -> list[Sheet]:
    """The big sheets whose rows are made of the state, roster and config alone, in
    ``register_sheets``' order (marked ``plain``: here, and nowhere else)."""
    sheets = [
        submissions_sheet(state, roster),
        missing_sheet(state, roster, config),
        changes_sheet(state, roster),
    ]
    for sheet in sheets:
        sheet.plain = True
    return sheets
