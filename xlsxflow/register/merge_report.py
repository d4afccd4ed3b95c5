"""What a merge did, per form: what the CLI prints and ``--json`` gives.

Standard library only: a merge with nothing new answers with one of these before
anything heavy is imported (``register/nothing_new.py``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


def counts_text(counts: dict[str, int]) -> str:
    """One form's counts (or the totals, of ``as_json``) as the clerk reads them, the
    暂缓 and 已有新版 ones only when there are some (rare, and harmless)."""
    held = f"，暂缓 {counts['held']}" if counts["held"] else ""
    newer = f"，已有新版 {counts['superseded']}" if counts["superseded"] else ""
    return (
        f"新增 {counts['new']}，更新 {counts['updated']}，未变 {counts['unchanged']}，"
        f"退回 {counts['rejected']}{held}{newer}"
    )


@dataclass
class MergeReport:
    files: int = 0
    new: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    rejections: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    # valid, but waiting for its project's earlier stage (e.g. an acceptance sheet for
    # its closure report): takes effect by itself at a later merge, nothing to resend
    held: Counter[str] = field(default_factory=Counter)
    holds: list[tuple[str, str]] = field(default_factory=list)  # (path, what it waits for)
    # refused or held, but a later version of the same form is stored: that one counts
    superseded: Counter[str] = field(default_factory=Counter)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    dept_edits: int = 0
    committee_edits: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    register_written: bool = False
    register: str = ""
    form_names: dict[str, str] = field(default_factory=dict)  # form id → its Chinese name

    @property
    def ok(self) -> bool:
        return not self.rejections

    def as_json(self) -> dict[str, Any]:
        kinds = sorted(
            set(self.new)
            | set(self.updated)
            | set(self.unchanged)
            | set(self.rejected)
            | set(self.held)
            | set(self.superseded)
        )
        return {
            "files": self.files,
            "by_form": {
                k: {
                    "new": self.new[k],
                    "updated": self.updated[k],
                    "unchanged": self.unchanged[k],
                    "rejected": self.rejected[k],
                    "held": self.held[k],
                    "superseded": self.superseded[k],
                }
                for k in kinds
            },
            "totals": {
                "new": sum(self.new.values()),
                "updated": sum(self.updated.values()),
                "unchanged": sum(self.unchanged.values()),
                "rejected": sum(self.rejected.values()),
                "held": sum(self.held.values()),
                "superseded": sum(self.superseded.values()),
            },
            "rejections": [{"path": p, "reason": r} for p, r in self.rejections],
            "held_back": [{"path": p, "reason": r} for p, r in self.holds],
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "department_edits_kept": self.dept_edits,
            "committee_cell_edits": self.committee_edits,
            "notes": self.notes,
            "register": self.register,
            "register_written": self.register_written,
        }
