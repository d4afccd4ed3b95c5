"""What validation needs to know about the cycle: calendar windows and the roster."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from xlsxflow.config import Config
from xlsxflow.cycle import Window, windows
from xlsxflow.forms.spec import Bounds
from xlsxflow.roster import Roster


@dataclass(frozen=True)
class ValidationContext:
    config: Config = field(default_factory=Config)
    roster: Roster | None = None
    workspace: Path | None = None

    @cached_property
    def windows(self) -> dict[Bounds, Window]:
        return windows(self.config)

    def knows_committee(self, code: str) -> bool:
        return self.roster is None or self.roster.has(code)
