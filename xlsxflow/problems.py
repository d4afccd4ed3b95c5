"""Problems found in a return, collected as values (never raised), and per-file results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xlsxflow.errors import CATALOGUE, Severity, message


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    message: str
    sheet: str = ""
    cell: str = ""
    field: str = ""

    @property
    def severity(self) -> Severity:
        return CATALOGUE[self.code].severity

    @classmethod
    def of(
        cls, code: str, /, *, sheet: str = "", cell: str = "", field: str = "", **fields: Any
    ) -> Problem:
        """A problem whose message is the catalogue template filled with ``fields``
        (the location is available to the template too)."""
        text = message(code, sheet=sheet, cell=cell, field=field, **fields)
        return cls(code, text, sheet, cell, field)

    def as_json(self) -> dict[str, str]:
        return {
            "code": self.code,
            "severity": self.severity,
            "sheet": self.sheet,
            "cell": self.cell,
            "field": self.field,
            "message": self.message,
        }


@dataclass
class FileResult:
    """Everything learnt from one file: identity, values, problems. Picklable and small."""

    path: str
    skipped: bool = False
    skip_reason: str = ""
    form: str | None = None
    committee: str | None = None
    project: str | None = None
    instance: str | None = None
    cycle: str | None = None
    format: str | None = None
    saved_at: str = ""
    problems: list[Problem] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)  # field id → "sheet!cell"
    raw: dict[str, Any] = field(default_factory=dict)  # field id → typed value, for feedback
    raw_rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    payload_json: str = ""  # values, rows and locations as the store keeps them, if asked
    facts_json: str = ""  # with them, what deriving the register reads (register.facts)
    archived: str = ""  # where merge archived the file, when the reading process did it

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not self.skipped and not self.errors
