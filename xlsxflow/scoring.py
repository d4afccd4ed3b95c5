"""Evaluation of accepted projects (DOMAIN §6): indicators, weighted score, grade, ranks,
promotion and commendation candidates, committee totals.

All arithmetic is ``Decimal``. The two computed rates (目标实现率 from a ledger, 群众满意率)
are rounded half-up to ``scoring.decimals`` places first; the score is computed from the
indicators exactly as shown and rounded half-up to the same places; grades and ranks use
that rounded score. So a leader who redoes the sum shown in the explanation by hand gets
the same figure. Each result carries its inputs and the formula in Chinese.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from xlsxflow.compliance import HUNDRED, round_half_up
from xlsxflow.config import ScoringConfig

Grade = Literal["优秀", "良好", "合格", "不合格"]
GRADE_ORDER: tuple[Grade, ...] = ("优秀", "良好", "合格", "不合格")
TYPE_ORDER = ("innovation", "demonstration", "institutional")


@dataclass(frozen=True)
class EvaluationInput:
    project: str
    committee: str
    project_type: str
    name: str
    goal_rate: Decimal | None  # from the acceptance sheet, if given
    tasks_done: int  # from the latest ledger, used when goal_rate is missing
    tasks_total: int
    satisfied: int
    basic: int
    unsatisfied: int
    benefit: Decimal
    extensibility: Decimal
    passed: bool  # acceptance conclusion 合格


@dataclass
class Evaluation:
    input: EvaluationInput
    goal_rate: Decimal
    goal_source: str
    satisfaction_rate: Decimal | None
    score: Decimal
    grade: Grade
    explanation: str
    rank_in_type: int = 0
    promotion: str = ""
    commend: bool = False

    @property
    def project(self) -> str:
        return self.input.project


def _fmt(value: Decimal, decimals: int) -> str:
    return format(round_half_up(value, decimals), "f")


def grade_of(score: Decimal, passed: bool, cfg: ScoringConfig) -> Grade:
    if not passed:
        return "不合格"
    if score >= cfg.grade_excellent:
        return "优秀"
    if score >= cfg.grade_good:
        return "良好"
    if score >= cfg.grade_pass:
        return "合格"
    return "不合格"


def evaluate(data: EvaluationInput, cfg: ScoringConfig) -> Evaluation:
    d = cfg.decimals
    if data.goal_rate is not None:
        goal, source = round_half_up(data.goal_rate, d), "验收评分表"
    elif data.tasks_total:
        goal = round_half_up(Decimal(data.tasks_done) * HUNDRED / Decimal(data.tasks_total), d)
        source = f"管理台帐（完成任务 {data.tasks_done} ÷ 全部任务 {data.tasks_total}）"
    else:
        goal, source = Decimal(0), "无验收评分表和台帐任务，按 0 计"
    answers = data.satisfied + data.basic + data.unsatisfied
    weights = {
        "goal": cfg.weight_goal,
        "satisfaction": cfg.weight_satisfaction,
        "benefit": cfg.weight_benefit,
        "extensibility": cfg.weight_extensibility,
    }
    if answers:
        satisfaction: Decimal | None = round_half_up(
            (Decimal(data.satisfied) + Decimal(data.basic) * cfg.basic_satisfied_weight)
            * HUNDRED
            / Decimal(answers),
            d,
        )
        sat_text = (
            f"群众满意率 =（满意 {data.satisfied} + 基本满意 {data.basic} × "
            f"{cfg.basic_satisfied_weight}）÷ 有效问卷 {answers} × 100% = "
            f"{_fmt(satisfaction, d)}%"
        )
    elif cfg.missing_survey == "zero" or cfg.weight_satisfaction >= HUNDRED:
        # Nothing else to reweight onto when satisfaction carries all the weight.
        satisfaction = Decimal(0)
        sat_text = "未开展问卷调查（无有效问卷），群众满意率按 0 计"
    else:
        satisfaction = None
        sat_text = "未开展问卷调查（无有效问卷），群众满意率不计，其余三项按权重折算"
        weights["satisfaction"] = Decimal(0)
    values = {
        "goal": goal,
        "satisfaction": satisfaction or Decimal(0),
        "benefit": data.benefit,
        "extensibility": data.extensibility,
    }
    total_weight = sum(weights.values())
    weighted = sum(values[k] * weights[k] for k in weights)
    raw = weighted / total_weight
    score = round_half_up(raw, d)
    exact = raw * total_weight == weighted and raw == round_half_up(raw, d + 4)
    raw_text = ("= " if exact else "≈ ") + format(
        raw.normalize() if exact else round_half_up(raw, d + 3), "f"
    )
    grade = grade_of(score, data.passed, cfg)
    names = {
        "goal": "目标实现率",
        "satisfaction": "群众满意率",
        "benefit": "综合效益",
        "extensibility": "经验可推广性",
    }
    terms = " + ".join(
        f"{names[k]} {_fmt(values[k], d)} × {weights[k]}" for k in weights if weights[k]
    )
    explanation = (
        f"目标实现率 {_fmt(goal, d)}%（来源：{source}）；{sat_text}；综合效益 "
        f"{_fmt(data.benefit, d)} 分；经验可推广性 {_fmt(data.extensibility, d)} 分。"
        f"得分 =（{terms}）÷ {total_weight} {raw_text}，四舍五入保留 {d} 位小数为 "
        f"{score}；等次：{grade}" + ("（验收结论为不合格）" if not data.passed else "") + "。"
    )
    return Evaluation(data, goal, source, satisfaction, score, grade, explanation)


def rank(evaluations: Sequence[Evaluation]) -> None:
    """Rank within each type by score, ties sharing a rank (1, 2, 2, 4)."""
    by_type: dict[str, list[Evaluation]] = {}
    for e in evaluations:
        by_type.setdefault(e.input.project_type, []).append(e)
    for group in by_type.values():
        group.sort(key=lambda e: (-e.score, e.project))
        for i, e in enumerate(group):
            e.rank_in_type = (
                group[i - 1].rank_in_type if i and group[i - 1].score == e.score else i + 1
            )


def promote(e: Evaluation) -> None:
    """小试 合格+ → 中试候选; 中试 良好+ → 大试候选 (after feasibility review); 优秀 → 表彰."""
    level = GRADE_ORDER.index(e.grade)
    if e.input.project_type == "innovation" and level <= GRADE_ORDER.index("合格"):
        e.promotion = "中试候选（上升为典型示范型项目）"
    elif e.input.project_type == "demonstration" and level <= GRADE_ORDER.index("良好"):
        e.promotion = "大试候选（经可行性和可操作性论证后上升为制度推广型项目）"
    e.commend = e.grade == "优秀"


@dataclass
class CommitteeTotal:
    committee: str
    projects: int = 0
    scores: list[Decimal] = field(default_factory=list)
    grades: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GRADE_ORDER, 0))

    def average(self, decimals: int) -> Decimal | None:
        if not self.scores:
            return None
        return round_half_up(sum(self.scores) / Decimal(len(self.scores)), decimals)


def evaluate_all(inputs: Sequence[EvaluationInput], cfg: ScoringConfig) -> list[Evaluation]:
    results = [evaluate(i, cfg) for i in inputs]
    rank(results)
    for e in results:
        promote(e)
    order = {t: i for i, t in enumerate(TYPE_ORDER)}
    results.sort(key=lambda e: (order.get(e.input.project_type, 9), e.rank_in_type, e.project))
    return results


def committee_totals(evaluations: Sequence[Evaluation]) -> list[CommitteeTotal]:
    totals: dict[str, CommitteeTotal] = {}
    for e in evaluations:
        t = totals.setdefault(e.input.committee, CommitteeTotal(e.input.committee))
        t.projects += 1
        t.scores.append(e.score)
        t.grades[e.grade] += 1
    return [totals[k] for k in sorted(totals)]
