"""Who gets which workbooks: the letters of ``xlsxflow send``.

templates → each committee its own outbox folder; feedback → each committee its marked-up
copies; reminders → committees missing a return (what and by when); summary → the
leaders of the roster, the latest summary workbooks.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from xlsxflow.errors import UsageError
from xlsxflow.mail import Letter, fill, load_templates
from xlsxflow.read.sniff import is_lock_file
from xlsxflow.roster import Committee
from xlsxflow.workspace import Workspace

if TYPE_CHECKING:
    from xlsxflow.register.store import Submission

KINDS = ("templates", "feedback", "reminders", "summary")


def _folder(root: Path, c: Committee) -> Path:
    return root / c.folder


def _workbooks(found: Iterable[Path]) -> list[Path]:
    """The workbooks among ``found``, without the lock files Excel and WPS keep beside
    a workbook while it is open (``~$name.xlsx``): never attached, and never taken for
    the latest summary (a lock file is always newer than its workbook)."""
    return [p for p in found if p.is_file() and not is_lock_file(p)]


def _letter(
    ws: Workspace, kind: str, name: str, addr: str, files: list[Path], **extra: object
) -> Letter:
    template = load_templates(ws.root)[kind]
    fields = {
        "committee": name,
        "leader": name,
        "department": ws.config.cycle.department,
        "year": ws.config.cycle.year,
        "count": len(files),
        "files": "\n".join(f"  {p.name}" for p in files),
        "missing": "",
        **extra,
    }
    return Letter(
        kind,
        name,
        addr,
        fill(template["subject"], **fields).replace("\n", " "),
        fill(template["body"], **fields),
        files,
    )


def _per_committee(
    ws: Workspace,
    kind: str,
    root: Path,
    only: Sequence[str],
    keep: Callable[[Path], bool] = lambda path: True,
) -> list[Letter]:
    letters = []
    for c in ws.roster.committees:
        if only and c.code not in only:
            continue
        folder = _folder(root, c)
        found = sorted(_workbooks(folder.rglob("*.xlsx"))) if folder.is_dir() else []
        files = [p for p in found if keep(p)]
        if files:
            letters.append(_letter(ws, kind, c.name, c.email, files))
    return letters


def _new_templates(
    letters: list[Letter], ws: Workspace, sent: Collection[tuple[str, str]]
) -> list[Letter]:
    """Each committee's letter with only the forms it has not been sent (closure
    reports generated after the applications go out alone); marked as sent before when
    it has had them all (sent over several letters: no letter of them all was sent)."""
    if not sent:
        return letters
    from dataclasses import replace

    from xlsxflow.fsutil import sha256_of

    fresh = []
    for letter in letters:
        new = [p for p in letter.attachments if (letter.to_addr, sha256_of(p)) not in sent]
        if not new:
            letter = replace(letter, already_sent=True)
        elif len(new) < len(letter.attachments):
            letter = _letter(ws, letter.kind, letter.to_name, letter.to_addr, new)
        fresh.append(letter)
    return fresh


def _still_to_fix(ws: Workspace) -> Callable[[Path], bool]:
    """Whether a marked-up copy is still to be sent: not one that lists errors in a form
    whose latest return the register has since accepted (the committee sent it again,
    corrected: telling it to fix the form would be wrong). A copy that cannot be read,
    or of a form the register does not know, is sent."""
    from xlsxflow.register.state import derive
    from xlsxflow.register.store import Store, close_readers

    path = ws.data / "register.sqlite"
    if not path.exists():
        return lambda path: True
    with Store(path, readonly=True) as store:
        state = derive(store.submissions(), ws.config, values=False)  # (statuses only)
        close_readers(state.submissions)
    latest: dict[str, Submission] = {}
    for sub in state.submissions:
        if sub.instance and (
            sub.instance not in latest or sub.order_key > latest[sub.instance].order_key
        ):
            latest[sub.instance] = sub
    settled = {
        i
        for i, s in latest.items()
        if s.valid and (state.statuses[s.sha256].accepted or state.statuses[s.sha256].held)
    }

    def keep(path: Path) -> bool:
        from xlsxflow.excel.template_writer import PROBLEMS_SHEET
        from xlsxflow.feedback import SEVERITY_TEXT
        from xlsxflow.read.errors import ReadError
        from xlsxflow.read.open import classify, open_book

        try:
            book = open_book(path, classify(path))
        except ReadError:
            return True
        try:
            if book.properties.get("xf_instance") not in settled:
                return True
            if PROBLEMS_SHEET not in book.sheets:
                return True
            errors = SEVERITY_TEXT["error"]
            return not any(c.value == errors for c in book.cells(PROBLEMS_SHEET).values())
        except ReadError:
            return True
        finally:
            book.close()

    return keep


def reminders(
    ws: Workspace, today: dt.date, only: Sequence[str], horizon: int = 30
) -> list[Letter]:
    """Committees with a return overdue, or due within ``horizon`` days of ``today``."""
    from xlsxflow.register.query import load_state
    from xlsxflow.register.sheets import RETURNED, missing_sheet
    from xlsxflow.register.state import derive

    state = load_state(ws) or derive([], ws.config)
    sheet = missing_sheet(state, ws.roster, ws.config, today)
    items: dict[str, list[str]] = defaultdict(list)
    for what, deadline, code, _name, number, project, status in sheet.rows:
        assert isinstance(deadline, dt.date)
        if deadline > today + dt.timedelta(days=horizon):
            continue
        late = "（已逾期）" if deadline < today else ""
        label = f"{what}{'：' + str(number) + ' ' + str(project) if number else ''}"
        refused = "（已报送但未通过校验，请按退回的标注副本修改后重新报送）"
        told = refused if status == RETURNED else ""
        items[str(code)].append(f"  · {label}，截止日期 {deadline.isoformat()}{late}{told}")
    letters = []
    for c in ws.roster.committees:
        if c.code in items and (not only or c.code in only):
            letters.append(
                _letter(ws, "reminders", c.name, c.email, [], missing="\n".join(items[c.code]))
            )
    return letters


def summary(ws: Workspace, only: Sequence[str]) -> list[Letter]:
    """The latest summary of each kind (quarterly, annual, approval) to every leader."""
    reports = sorted(
        _workbooks(ws.reports.glob("*.xlsx")), key=lambda p: (p.stat().st_mtime, p.name)
    )
    latest: dict[str, Path] = {}
    for path in reports:
        kind = (
            "quarterly"
            if "调度会" in path.name
            else "annual"
            if "评估" in path.name
            else "approval"
            if "批复" in path.name
            else path.name
        )
        latest[kind] = path
    files = sorted(latest.values(), key=lambda p: p.name)
    if not files:
        return []
    return [
        _letter(ws, "summary", le.name, le.email, files)
        for le in ws.roster.leaders
        if le.receives_summary and (not only or le.name in only)
    ]


def compose(
    ws: Workspace,
    kind: str,
    only: Sequence[str],
    today: dt.date,
    sent: Collection[tuple[str, str]] = (),
) -> list[Letter]:
    """The letters of ``kind``. ``sent``: (address, SHA-256) of the workbooks sent
    before (``mail.files_sent``), which templates letters leave out."""
    known = set(ws.roster.codes()) if kind != "summary" else {le.name for le in ws.roster.leaders}
    for who in only:
        if who not in known:
            raise UsageError("send.unknown_recipient", who=who)
    if kind == "templates":
        return _new_templates(_per_committee(ws, kind, ws.outbox, only), ws, sent)
    if kind == "feedback":
        return _per_committee(ws, kind, ws.feedback, only, _still_to_fix(ws))
    if kind == "reminders":
        return reminders(ws, today, only)
    return summary(ws, only)
