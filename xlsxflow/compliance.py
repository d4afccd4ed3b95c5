"""Schedule compliance as of a dispatch meeting (DOMAIN §6), exact and explained.

Pure functions over plain task records; the register supplies the ledgers. Percentages
are ``Decimal`` on the 0–100 scale, rounded half-up to the configured decimals only when
shown; comparisons with thresholds use the unrounded figures.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any, Literal

from xlsxflow.config import ComplianceConfig

TaskStatus = Literal["on_time", "late", "overdue", "pending"]
Verdict = Literal["commend", "rectify", "normal"]
HUNDRED = Decimal(100)
VERDICT_TEXT = {"commend": "经验交流推广", "rectify": "限期整改", "normal": "正常推进"}
STATUS_TEXT = {
    "on_time": "按期完成",
    "late": "逾期完成",
    "overdue": "逾期未完成",
    "pending": "未到期",
}


@dataclass(frozen=True, slots=True)
class Task:
    number: str
    target: str
    deadline: dt.date
    progress: Decimal | None = None
    done_date: dt.date | None = None
    row: int = 0


@dataclass(frozen=True, slots=True)
class TaskResult:
    task: Task
    status: TaskStatus
    days_overdue: int = 0
    note: str = ""


def done_as_of(task: Task, as_of: dt.date) -> tuple[bool, dt.date | None]:
    """Done by ``as_of``: a completion date on or before it, or progress 100 % (date
    unknown). A completion date after ``as_of`` does not count yet."""
    if task.done_date is not None:
        return task.done_date <= as_of, task.done_date
    return (task.progress is not None and task.progress >= HUNDRED), None


def classify(task: Task, as_of: dt.date) -> TaskResult:
    if task.deadline > as_of:
        return TaskResult(task, "pending")
    done, when = done_as_of(task, as_of)
    if done and when is None:
        return TaskResult(task, "on_time", note="进度100%但未填完成日期，按按期完成计")
    if done and when is not None:
        return TaskResult(task, "on_time" if when <= task.deadline else "late")
    return TaskResult(task, "overdue", days_overdue=(as_of - task.deadline).days)


def round_half_up(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


@dataclass
class ProjectSchedule:
    project: str
    committee: str
    as_of: dt.date
    tasks: list[TaskResult] = field(default_factory=list)
    has_ledger: bool = True
    ledger_saved: str = ""
    previous_rectify: bool = False

    # A meeting's summary asks these of every project several times (the verdict, its
    # explanation, the committee totals): counted once. ``tasks`` is not changed after.
    @cached_property
    def _counts(self) -> Counter[TaskStatus]:
        return Counter(t.status for t in self.tasks)

    def count(self, status: TaskStatus) -> int:
        return self._counts[status]

    @property
    def due(self) -> int:
        return self.count("on_time") + self.count("late") + self.count("overdue")

    @property
    def compliance(self) -> Decimal:
        """On-time ÷ due × 100; 100 when nothing is due."""
        if self.due == 0:
            return HUNDRED
        return Decimal(self.count("on_time")) * HUNDRED / Decimal(self.due)

    @property
    def planned_progress(self) -> Decimal:
        """Share of tasks whose deadline has passed: what the plan says should be done."""
        if not self.tasks:
            return Decimal(0)
        return Decimal(self.due) * HUNDRED / Decimal(len(self.tasks))

    @cached_property
    def reported_progress(self) -> Decimal:
        """Mean reported progress of all tasks (a done task counts 100)."""
        if not self.tasks:
            return Decimal(0)
        total = Decimal(0)
        for t in self.tasks:
            done, _ = done_as_of(t.task, self.as_of)
            total += HUNDRED if done else min(t.task.progress or Decimal(0), HUNDRED)
        return total / Decimal(len(self.tasks))

    @property
    def behind(self) -> bool:
        return self.reported_progress < self.planned_progress

    @property
    def max_days_overdue(self) -> int:
        return max((t.days_overdue for t in self.tasks), default=0)

    def verdict(self, cfg: ComplianceConfig) -> Verdict:
        if self.compliance < cfg.rectify_below_rate or (
            self.max_days_overdue > cfg.rectify_overdue_days
        ):
            return "rectify"
        if self.compliance >= cfg.commend_min_rate and not self.behind:
            return "commend"
        return "normal"

    def rectify_by(self, cfg: ComplianceConfig) -> dt.date | None:
        if self.verdict(cfg) != "rectify":
            return None
        return self.as_of + dt.timedelta(days=cfg.rectify_period_days)

    def adjust(self, cfg: ComplianceConfig) -> bool:
        """Rectifying at this meeting and at the previous one: propose an adjustment."""
        return self.verdict(cfg) == "rectify" and self.previous_rectify

    def explain(self, cfg: ComplianceConfig, decimals: int) -> str:
        def pct(v: Decimal) -> str:
            return format(round_half_up(v, decimals), "f")

        parts = [
            f"截至 {self.as_of.isoformat()}：任务 {len(self.tasks)} 项，到期 {self.due} 项"
            f"（按期完成 {self.count('on_time')}，逾期完成 {self.count('late')}，"
            f"逾期未完成 {self.count('overdue')}），未到期 {self.count('pending')} 项。",
            "按期完成率 = 按期完成 ÷ 到期任务 × 100%"
            + (
                f" = {self.count('on_time')} ÷ {self.due} × 100% = {pct(self.compliance)}%。"
                if self.due
                else "；无到期任务，按 100% 计。"
            ),
            f"计划进度 {pct(self.planned_progress)}%（到期任务占比），"
            f"实际进度 {pct(self.reported_progress)}%（各任务进度平均），"
            + ("进度滞后。" if self.behind else "进度不滞后。"),
        ]
        verdict = self.verdict(cfg)
        if verdict == "rectify":
            why = []
            if self.compliance < cfg.rectify_below_rate:
                why.append(f"按期完成率低于 {cfg.rectify_below_rate}%")
            if self.max_days_overdue > cfg.rectify_overdue_days:
                why.append(
                    f"有任务逾期 {self.max_days_overdue} 天，超过 {cfg.rectify_overdue_days} 天"
                )
            parts.append(
                f"结论：限期整改（{'；'.join(why)}），整改期限 {self.rectify_by(cfg).isoformat()}。"
            )  # type: ignore[union-attr]
            if self.previous_rectify:
                parts.append("上次调度会已责令整改，连续两次整改，建议调整项目。")
        elif verdict == "commend":
            parts.append(
                f"结论：按期完成率不低于 {cfg.commend_min_rate}% 且进度不滞后，列入经验交流推广。"
            )
        else:
            parts.append("结论：正常推进。")
        notes = sorted({t.note for t in self.tasks if t.note})
        return "".join(parts + notes)


def schedule(
    project: str,
    committee: str,
    tasks: Iterable[Task],
    as_of: dt.date,
    previous_rectify: bool = False,
) -> ProjectSchedule:
    return ProjectSchedule(
        project,
        committee,
        as_of,
        [classify(t, as_of) for t in tasks],
        previous_rectify=previous_rectify,
    )


@dataclass
class Aggregate:
    """The same figures summed over a committee or the county."""

    name: str
    projects: int = 0
    due: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    pending: int = 0
    commend: int = 0
    rectify: int = 0
    missing_ledger: list[str] = field(default_factory=list)

    @property
    def compliance(self) -> Decimal:
        return HUNDRED if self.due == 0 else Decimal(self.on_time) * HUNDRED / Decimal(self.due)

    def add(self, p: ProjectSchedule, cfg: ComplianceConfig) -> None:
        self.projects += 1
        self.due += p.due
        self.on_time += p.count("on_time")
        self.late += p.count("late")
        self.overdue += p.count("overdue")
        self.pending += p.count("pending")
        verdict = p.verdict(cfg)
        self.commend += verdict == "commend"
        self.rectify += verdict == "rectify"


def aggregate(
    name: str,
    projects: Sequence[ProjectSchedule],
    cfg: ComplianceConfig,
    missing: Sequence[str] = (),
) -> Aggregate:
    agg = Aggregate(name, missing_ledger=list(missing))
    for p in projects:
        if p.has_ledger:
            agg.add(p, cfg)
    return agg


def as_json_number(value: Decimal, decimals: int) -> Any:
    return float(round_half_up(value, decimals))
