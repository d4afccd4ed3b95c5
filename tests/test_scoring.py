"""Evaluation of accepted projects (DOMAIN §6) against scores worked out by hand: weights
40/30/15/15, Decimal arithmetic, half-up rounding to one decimal place, grades, ranks,
promotion and commendation candidates, committee totals."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from pydantic import ValidationError

from xlsxflow.config import ScoringConfig
from xlsxflow.scoring import (
    EvaluationInput,
    committee_totals,
    evaluate,
    evaluate_all,
    grade_of,
)

CFG = ScoringConfig()
MID = "中试候选（上升为典型示范型项目）"
BIG = "大试候选（经可行性和可操作性论证后上升为制度推广型项目）"


def inp(
    project: str = "NCX-2011-CX-001",
    *,
    committee: str = "O01",
    kind: str = "innovation",
    goal: str | None = "92",
    done: int = 0,
    total: int = 0,
    satisfied: int = 45,
    basic: int = 12,
    unsatisfied: int = 3,
    benefit: str = "88.5",
    extensibility: str = "90",
    passed: bool = True,
) -> EvaluationInput:
    return EvaluationInput(
        project=project,
        committee=committee,
        project_type=kind,
        name="项目",
        goal_rate=None if goal is None else Decimal(goal),
        tasks_done=done,
        tasks_total=total,
        satisfied=satisfied,
        basic=basic,
        unsatisfied=unsatisfied,
        benefit=Decimal(benefit),
        extensibility=Decimal(extensibility),
        passed=passed,
    )


def flat(project: str, score: str, survey: tuple[int, int, int], **kw: object) -> EvaluationInput:
    """All four indicators equal to ``score``: the survey tally must give that rate."""
    satisfied, basic, unsatisfied = survey
    return inp(
        project,
        goal=score,
        satisfied=satisfied,
        basic=basic,
        unsatisfied=unsatisfied,
        benefit=score,
        extensibility=score,
        **kw,  # type: ignore[arg-type]
    )


def test_weighted_score_with_default_weights() -> None:
    e = evaluate(inp(), CFG)
    # satisfaction (45 + 12) ÷ (45 + 12 + 3) = 57 ÷ 60 = 95.0 %
    assert e.satisfaction_rate == Decimal("95.0")
    assert (e.goal_rate, e.goal_source) == (Decimal("92.0"), "验收评分表")
    # (92 × 40 + 95 × 30 + 88.5 × 15 + 90 × 15) ÷ 100
    # = (3680 + 2850 + 1327.5 + 1350) ÷ 100 = 9207.5 ÷ 100 = 92.075 → 92.1
    assert e.score == Decimal("92.1")
    assert e.grade == "优秀"


def test_explanation_shows_inputs_formula_and_score() -> None:
    text = evaluate(inp(), CFG).explanation
    for part in (
        "目标实现率 92.0%（来源：验收评分表）",
        "满意 45",
        "基本满意 12",
        "有效问卷 60",
        "= 95.0%",
        "综合效益 88.5 分",
        "经验可推广性 90.0 分",
        "目标实现率 92.0 × 40",
        "群众满意率 95.0 × 30",
        "综合效益 88.5 × 15",
        "经验可推广性 90.0 × 15",
        "÷ 100 = 92.075",
        "四舍五入保留 1 位小数为 92.1",
        "等次：优秀",
    ):
        assert part in text, part


def test_rounding_is_half_up_not_bankers() -> None:
    # satisfaction (80 + 13) ÷ (80 + 13 + 0) = 100 %
    # (100 × 40 + 100 × 30 + 60 × 15 + 67 × 15) ÷ 100 = (4000 + 3000 + 900 + 1005) ÷ 100
    # = 8905 ÷ 100 = 89.05 → half-up 89.1 (banker's rounding would give 89.0)
    e = evaluate(
        inp(goal="100", satisfied=80, basic=13, unsatisfied=0, benefit="60", extensibility="67"),
        CFG,
    )
    assert Decimal("89.05").quantize(Decimal("0.1"), ROUND_HALF_EVEN) == Decimal("89.0")
    assert e.score == Decimal("89.1")
    assert "= 89.05，四舍五入保留 1 位小数为 89.1" in e.explanation
    assert e.grade == "良好"


def test_a_raw_score_of_89_95_rounds_to_90_and_is_excellent() -> None:
    # (100 × 40 + 100 × 30 + 66 × 15 + 67 × 15) ÷ 100 = (7000 + 1995) ÷ 100 = 89.95 → 90.0
    e = evaluate(
        inp(goal="100", satisfied=10, basic=0, unsatisfied=0, benefit="66", extensibility="67"),
        CFG,
    )
    assert e.score == Decimal("90.0")
    assert e.grade == "优秀"  # grades use the rounded score


def test_goal_rate_from_the_ledger_when_the_sheet_has_none() -> None:
    # 7 done ÷ 9 tasks = 77.777…% → 77.8; satisfaction 50 ÷ 50 = 100 %
    # (77.8 × 40 + 100 × 30 + 80 × 15 + 70 × 15) ÷ 100
    # = (3112 + 3000 + 1200 + 1050) ÷ 100 = 83.62 → 83.6
    e = evaluate(
        inp(
            goal=None,
            done=7,
            total=9,
            satisfied=50,
            basic=0,
            unsatisfied=0,
            benefit="80",
            extensibility="70",
        ),
        CFG,
    )
    assert e.goal_rate == Decimal("77.8")
    assert e.goal_source == "管理台帐（完成任务 7 ÷ 全部任务 9）"
    assert "目标实现率 77.8%（来源：管理台帐（完成任务 7 ÷ 全部任务 9））" in e.explanation
    assert e.score == Decimal("83.6")
    assert e.grade == "良好"


def test_the_sheet_goal_rate_wins_over_the_ledger() -> None:
    e = evaluate(inp(goal="85", done=1, total=10), CFG)
    assert (e.goal_rate, e.goal_source) == (Decimal("85.0"), "验收评分表")


def test_no_goal_rate_anywhere_counts_zero_and_says_so() -> None:
    # (0 × 40 + 95 × 30 + 88.5 × 15 + 90 × 15) ÷ 100 = (2850 + 1327.5 + 1350) ÷ 100
    # = 55.275 → 55.3 → 不合格
    e = evaluate(inp(goal=None), CFG)
    assert e.goal_rate == 0
    assert "按 0 计" in e.goal_source
    assert e.score == Decimal("55.3")
    assert e.grade == "不合格"


@pytest.mark.parametrize(
    ("weight", "rate", "score"),
    [
        # (40 + 20 × 1) ÷ 70 = 85.714…% → 85.7;
        # (90 × 40 + 85.7 × 30 + 80 × 15 + 80 × 15) ÷ 100 = (3600 + 2571 + 2400) ÷ 100 = 85.71
        ("1", "85.7", "85.7"),
        # (40 + 20 × 0.5) ÷ 70 = 50 ÷ 70 = 71.428…% → 71.4;
        # (3600 + 71.4 × 30 + 2400) ÷ 100 = (3600 + 2142 + 2400) ÷ 100 = 81.42
        ("0.5", "71.4", "81.4"),
    ],
)
def test_satisfaction_with_basic_satisfied_weight(weight: str, rate: str, score: str) -> None:
    cfg = ScoringConfig(basic_satisfied_weight=Decimal(weight))
    e = evaluate(
        inp(goal="90", satisfied=40, basic=20, unsatisfied=10, benefit="80", extensibility="80"),
        cfg,
    )
    assert e.satisfaction_rate == Decimal(rate)
    assert e.score == Decimal(score)
    assert f"（满意 40 + 基本满意 20 × {weight}）÷ 有效问卷 70 × 100% = {rate}%" in e.explanation


def test_zero_questionnaire_answers_reweights_the_other_three() -> None:
    # (90 × 40 + 80 × 15 + 70 × 15) ÷ (40 + 15 + 15)
    # = (3600 + 1200 + 1050) ÷ 70 = 5850 ÷ 70 = 83.5714… → 83.6
    e = evaluate(
        inp(goal="90", satisfied=0, basic=0, unsatisfied=0, benefit="80", extensibility="70"),
        CFG,
    )
    assert e.satisfaction_rate is None
    assert e.score == Decimal("83.6")
    assert e.grade == "良好"
    assert "群众满意率不计，其余三项按权重折算" in e.explanation
    assert "÷ 70 ≈ 83.5714" in e.explanation
    assert "群众满意率 0.0 × " not in e.explanation


def test_zero_questionnaire_answers_counted_as_zero() -> None:
    # (90 × 40 + 0 × 30 + 80 × 15 + 70 × 15) ÷ 100 = 5850 ÷ 100 = 58.5 → 不合格
    cfg = ScoringConfig(missing_survey="zero")
    e = evaluate(
        inp(goal="90", satisfied=0, basic=0, unsatisfied=0, benefit="80", extensibility="70"),
        cfg,
    )
    assert e.satisfaction_rate == 0
    assert e.score == Decimal("58.5")
    assert e.grade == "不合格"
    assert "群众满意率按 0 计" in e.explanation
    assert "÷ 100 = 58.5" in e.explanation


def test_no_survey_when_satisfaction_carries_all_the_weight() -> None:
    # Nothing to reweight onto: satisfaction counts 0, so 0 × 100 ÷ 100 = 0 (no crash).
    cfg = ScoringConfig(
        weight_goal=Decimal(0),
        weight_satisfaction=Decimal(100),
        weight_benefit=Decimal(0),
        weight_extensibility=Decimal(0),
    )
    e = evaluate(inp(satisfied=0, basic=0, unsatisfied=0), cfg)
    assert e.score == 0
    assert e.grade == "不合格"


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        ("100.0", "优秀"),
        ("90.0", "优秀"),
        ("89.9", "良好"),
        ("80.0", "良好"),
        ("79.9", "合格"),
        ("60.0", "合格"),
        ("59.9", "不合格"),
        ("0.0", "不合格"),
    ],
)
def test_grade_bands_at_their_boundaries(score: str, grade: str) -> None:
    assert grade_of(Decimal(score), True, CFG) == grade
    assert grade_of(Decimal(score), False, CFG) == "不合格"


@pytest.mark.parametrize(
    ("score", "survey", "grade"),
    [
        ("90.0", (9, 0, 1), "优秀"),  # 9 ÷ 10 = 90 %
        ("89.9", (899, 0, 101), "良好"),  # 899 ÷ 1000 = 89.9 %
    ],
)
def test_grade_of_an_evaluated_project(
    score: str, survey: tuple[int, int, int], grade: str
) -> None:
    e = evaluate(flat("P", score, survey), CFG)
    assert (e.score, e.grade) == (Decimal(score), grade)


def test_other_grade_bands() -> None:
    cfg = ScoringConfig(grade_excellent=Decimal(95), grade_good=Decimal(85), grade_pass=Decimal(70))
    e = evaluate(inp(), cfg)  # 92.1 as above
    assert e.grade == "良好"
    assert grade_of(Decimal("69.9"), True, cfg) == "不合格"


def test_failed_acceptance_forces_the_grade() -> None:
    # all four 95 → 95.0, but the acceptance conclusion is 不合格
    [e] = evaluate_all([flat("P", "95", (19, 0, 1), passed=False)], CFG)
    assert e.score == Decimal("95.0")
    assert e.grade == "不合格"
    assert "（验收结论为不合格）" in e.explanation
    assert e.promotion == ""
    assert not e.commend


def test_ranks_within_type_share_ties() -> None:
    results = evaluate_all(
        [
            flat("I-c", "90", (9, 0, 1)),
            flat("D-a", "85", (17, 0, 3), kind="demonstration"),
            flat("I-d", "80", (4, 0, 1)),
            flat("I-b", "90", (9, 0, 1)),
            flat("I-a", "95", (19, 0, 1)),
        ],
        CFG,
    )
    # type order (innovation, demonstration), then rank, then number
    assert [(e.project, e.score, e.rank_in_type) for e in results] == [
        ("I-a", Decimal("95.0"), 1),
        ("I-b", Decimal("90.0"), 2),
        ("I-c", Decimal("90.0"), 2),
        ("I-d", Decimal("80.0"), 4),
        ("D-a", Decimal("85.0"), 1),
    ]


def test_promotion_and_commendation_candidates() -> None:
    results = {
        e.project: e
        for e in evaluate_all(
            [
                flat("I-excellent", "95", (19, 0, 1)),
                flat("I-pass", "60", (3, 0, 2)),
                flat("I-fail", "59", (59, 0, 41)),
                flat("D-good", "80", (4, 0, 1), kind="demonstration"),
                flat("D-pass", "75", (3, 0, 1), kind="demonstration"),
                flat("S-excellent", "95", (19, 0, 1), kind="institutional"),
            ],
            CFG,
        )
    }
    expected = {
        "I-excellent": ("优秀", MID, True),
        "I-pass": ("合格", MID, False),
        "I-fail": ("不合格", "", False),
        "D-good": ("良好", BIG, False),
        "D-pass": ("合格", "", False),
        "S-excellent": ("优秀", "", True),  # already 大试: nothing further, but commended
    }
    assert {k: (e.grade, e.promotion, e.commend) for k, e in results.items()} == expected


def test_committee_totals_average_half_up() -> None:
    results = evaluate_all(
        [
            flat("A1", "85.1", (851, 0, 149), committee="O01"),
            flat("A2", "85", (17, 0, 3), committee="O01"),
            flat("B1", "90", (9, 0, 1), committee="O02"),
            flat("B2", "80", (4, 0, 1), committee="O02"),
            flat("B3", "59", (59, 0, 41), committee="O02"),
        ],
        CFG,
    )
    totals = committee_totals(results)
    assert [t.committee for t in totals] == ["O01", "O02"]
    o01, o02 = totals
    # (85.1 + 85.0) ÷ 2 = 85.05 → half-up 85.1 (banker's would give 85.0)
    assert (o01.projects, o01.average(1)) == (2, Decimal("85.1"))
    assert o01.grades == {"优秀": 0, "良好": 2, "合格": 0, "不合格": 0}
    # (90 + 80 + 59) ÷ 3 = 229 ÷ 3 = 76.333… → 76.3
    assert (o02.projects, o02.average(1)) == (3, Decimal("76.3"))
    assert o02.grades == {"优秀": 1, "良好": 1, "合格": 0, "不合格": 1}
    assert committee_totals([]) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"weight_goal": Decimal(50)}, "四项权重之和必须为 100"),  # 50 + 30 + 15 + 15 = 110
        ({"grade_good": Decimal(95)}, "等次分数线须满足 优秀 ≥ 良好 ≥ 合格"),
        ({"grade_pass": Decimal(85)}, "等次分数线须满足 优秀 ≥ 良好 ≥ 合格"),
    ],
)
def test_invalid_scoring_config(changes: dict[str, Decimal], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScoringConfig(**changes)  # type: ignore[arg-type]
