"""Projects known outside the register: a small list file the clerk can give to
``xlsxflow templates --projects`` (for example last cycle's approval list).

Until the register exists this is how project-level forms get their prefilled project.
"""

from __future__ import annotations

import csv
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xlsxflow.config import translate_error
from xlsxflow.errors import UsageError
from xlsxflow.roster import CODE_PATTERN

PROJECT_COLUMNS = ("project_no", "project_name", "committee_code", "project_type", "direction")


class ProjectRef(BaseModel):
    """What a project-level template needs to know about its project."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    project_no: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
    project_name: str = Field(min_length=1, max_length=60)
    committee_code: str = Field(pattern=CODE_PATTERN)
    project_type: str
    direction: str = ""


def read_projects(path: Path) -> list[ProjectRef]:
    """Read a UTF-8 CSV (with or without BOM) whose header names ``PROJECT_COLUMNS``."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError("projects.invalid", path=path, row=1, detail=str(err)) from None
    projects = []
    for number, row in enumerate(rows, start=2):
        try:
            projects.append(
                ProjectRef.model_validate({k: (row.get(k) or "") for k in PROJECT_COLUMNS})
            )
        except ValidationError as err:
            first = err.errors()[0]
            detail = f"{first['loc'][0]}：{translate_error(first)}"
            raise UsageError("projects.invalid", path=path, row=number, detail=detail) from None
    return projects
