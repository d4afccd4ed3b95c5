"""What validation needs to know about the cycle: calendar windows and the roster."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
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

    def for_cycle(self, cycle: str | None) -> ValidationContext:
        """The context to check a file of ``cycle`` (its ``xf_cycle``) with: this one,
        except outside any workspace, where the defaults are moved to the file's own
        year (a 2026 form checked against 2026's calendar, not the source's 2011)."""
        if self.workspace is not None or self.roster is not None or not cycle:
            return self
        if not cycle.isdigit() or not 2000 <= int(cycle) <= 2100:
            return self
        year = int(cycle)
        return self if year == self.config.cycle.year else _defaults_for(year)

    def knows_committee(self, code: str) -> bool:
        return self.roster is None or self.roster.has(code)


@lru_cache(maxsize=8)
def _defaults_for(year: int) -> ValidationContext:
    return ValidationContext(Config.for_year(year))
