"""What other commands need from the register: projects to issue forms for, and the
applications to put on the review sheet."""

from __future__ import annotations

from xlsxflow.forms import catalog
from xlsxflow.projects import ProjectRef
from xlsxflow.register.state import RegisterState, derive
from xlsxflow.register.store import Store
from xlsxflow.roster import Roster
from xlsxflow.workspace import Workspace


def load_state(ws: Workspace) -> RegisterState | None:
    """The derived register, or None when nothing was ever merged."""
    path = ws.data / "register.sqlite"
    if not path.exists():
        return None
    with Store(path) as store:
        return derive(store.submissions(), ws.config)


def approved_projects(state: RegisterState) -> list[ProjectRef]:
    """Approved projects still running, for ledger, closure and acceptance templates."""
    refs = []
    for p in state.projects:
        if p.number is None or p.state in ("rejected",):
            continue
        refs.append(
            ProjectRef(
                project_no=p.number,
                project_name=p.name[:60],
                committee_code=p.committee,
                project_type=p.project_type,
                direction=str(p.values.get("direction") or ""),
            )
        )
    return refs


def review_rows(state: RegisterState, roster: Roster | None, cycle: int) -> list[dict[str, str]]:
    """One row per application of ``cycle`` for the review group, prefilled."""
    types = catalog().choice("project_type")
    directions = catalog().choice("direction")
    rows = []
    for p in sorted(state.projects, key=lambda p: (p.committee, p.key)):
        if p.cycle != str(cycle):
            continue
        name = (
            roster.committee(p.committee).name
            if roster and roster.has(p.committee)
            else str(p.values.get("committee_name") or p.committee)
        )
        direction = str(p.values.get("direction") or "")
        rows.append(
            {
                "rv_instance": p.key,
                "rv_committee": name,
                "rv_project_name": p.name,
                "rv_type": types.display(types.by_code(p.project_type)),
                "rv_direction": directions.display(directions.by_code(direction))
                if direction
                else "",
            }
        )
    return rows
