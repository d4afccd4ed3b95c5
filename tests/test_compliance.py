"""Schedule compliance as of a dispatch meeting (DOMAIN §6), against figures worked out by
hand: the pure functions of ``xlsxflow.compliance`` over plain ``Task`` records.

Every expected figure below is written as the arithmetic a leader would do on paper.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlsxflow.compliance import (
    ProjectSchedule,
    Task,
    aggregate,
    as_json_number,
    classify,
    done_as_of,
    schedule,
)
from xlsxflow.config import ComplianceConfig

D = dt.date
AS_OF = D(2012, 3, 31)  # the first quarterly dispatch meeting of the default cycle
CFG = ComplianceConfig()  # defaults: commend ≥ 90, rectify < 60 or > 30 days, 30 days period

ON_TIME_DEADLINE = D(2012, 3, 1)
PENDING_DEADLINE = D(2012, 6, 30)
TEN_DAYS_OVERDUE = D(2012, 3, 21)  # 31 March − 21 March = 10 days


def task(
    deadline: dt.date,
    *,
    done: dt.date | None = None,
    progress: int | str | None = None,
    number: str = "1",
) -> Task:
    return Task(number, "任务", deadline, None if progress is None else Decimal(progress), done)


def project(
    *,
    on_time: int = 0,
    late: int = 0,
    overdue: int = 0,
    overdue_deadline: dt.date = TEN_DAYS_OVERDUE,
    overdue_progress: int = 0,
    pending: int = 0,
    pending_progress: int | None = None,
    previous_rectify: bool = False,
    name: str = "NCX-2011-CX-001",
    committee: str = "O01",
) -> ProjectSchedule:
    """A project with that many tasks of each kind as of ``AS_OF``."""
    tasks = (
        [task(ON_TIME_DEADLINE, done=ON_TIME_DEADLINE, progress=100)] * on_time
        + [task(ON_TIME_DEADLINE, done=D(2012, 3, 5), progress=100)] * late
        + [task(overdue_deadline, progress=overdue_progress)] * overdue
        + [task(PENDING_DEADLINE, progress=pending_progress)] * pending
    )
    return schedule(name, committee, tasks, AS_OF, previous_rectify)


def counts(p: ProjectSchedule) -> dict[str, int]:
    return {
        "due": p.due,
        "on_time": p.count("on_time"),
        "late": p.count("late"),
        "overdue": p.count("overdue"),
        "pending": p.count("pending"),
    }


# -- single tasks ----------------------------------------------------------------------------


def test_completion_on_the_deadline_is_on_time_and_a_day_later_is_late() -> None:
    deadline = D(2012, 3, 15)
    assert classify(task(deadline, done=D(2012, 3, 15)), AS_OF).status == "on_time"
    assert classify(task(deadline, done=D(2012, 3, 14)), AS_OF).status == "on_time"
    late = classify(task(deadline, done=D(2012, 3, 16)), AS_OF)
    assert late.status == "late"
    assert late.days_overdue == 0  # late is done: it is not counted as overdue


def test_a_task_due_on_the_meeting_day_is_due() -> None:
    assert classify(task(AS_OF), AS_OF).status == "overdue"
    assert classify(task(AS_OF), AS_OF).days_overdue == 0
    assert classify(task(D(2012, 4, 1)), AS_OF).status == "pending"


def test_completion_date_after_the_meeting_does_not_count_yet() -> None:
    # due 20 March, reported done 5 April: at the 31 March meeting it is still open,
    # 31 − 20 = 11 days overdue, even though progress says 100.
    t = task(D(2012, 3, 20), done=D(2012, 4, 5), progress=100)
    assert done_as_of(t, AS_OF) == (False, D(2012, 4, 5))
    result = classify(t, AS_OF)
    assert (result.status, result.days_overdue) == ("overdue", 11)
    # on 5 April it is done, 16 days after its deadline: late
    assert classify(t, D(2012, 4, 5)).status == "late"
    # not yet due and done later: pending, then on time at its deadline
    early = task(D(2012, 4, 10), done=D(2012, 4, 5))
    assert classify(early, AS_OF).status == "pending"
    assert classify(early, D(2012, 4, 10)).status == "on_time"


def test_progress_100_without_a_date_counts_on_time_with_a_note() -> None:
    result = classify(task(D(2012, 3, 1), progress=100), AS_OF)
    assert result.status == "on_time"
    assert "进度100%但未填完成日期" in result.note
    # 99.5 % is not done: overdue since 1 March, 31 March − 1 March = 30 days
    almost = classify(task(D(2012, 3, 1), progress="99.5"), AS_OF)
    assert (almost.status, almost.days_overdue) == ("overdue", 30)
    p = schedule("P", "O01", [task(D(2012, 3, 1), progress=100)], AS_OF)
    assert counts(p) == {"due": 1, "on_time": 1, "late": 0, "overdue": 0, "pending": 0}
    assert "进度100%但未填完成日期，按按期完成计" in p.explain(CFG, 1)


@pytest.mark.parametrize(
    ("deadline", "days"),
    [
        (D(2012, 3, 31), 0),
        (D(2012, 3, 30), 1),
        (D(2012, 3, 1), 30),  # 31 − 1
        (D(2012, 2, 29), 31),  # leap day: 29 Feb → 31 Mar = 1 + 30
        (D(2011, 12, 31), 91),  # 31 (Jan) + 29 (Feb) + 31 (Mar)
    ],
)
def test_days_overdue_is_meeting_day_minus_deadline(deadline: dt.date, days: int) -> None:
    result = classify(task(deadline, progress=40), AS_OF)
    assert (result.status, result.days_overdue) == ("overdue", days)


# -- projects --------------------------------------------------------------------------------


def test_no_task_due_is_100_percent_and_the_verdict_follows_the_thresholds() -> None:
    tasks = [
        task(D(2012, 4, 10), progress=0, number="1"),
        task(D(2012, 5, 10), progress=20, number="2"),
        task(D(2012, 6, 10), number="3"),
    ]
    p = schedule("P", "O01", tasks, AS_OF)
    assert counts(p) == {"due": 0, "on_time": 0, "late": 0, "overdue": 0, "pending": 3}
    assert p.compliance == 100
    # planned 0 ÷ 3 = 0 %; reported (0 + 20 + 0) ÷ 3 = 6.67 %: not behind
    assert p.planned_progress == 0
    assert as_json_number(p.reported_progress, 1) == 6.7
    assert not p.behind
    assert p.verdict(CFG) == "commend"  # 100 ≥ 90 and not behind
    assert p.rectify_by(CFG) is None
    assert "无到期任务，按 100% 计" in p.explain(CFG, 1)
    # even the strictest commend threshold is met by 100 %
    strict = ComplianceConfig(commend_min_rate=Decimal(100))
    assert p.verdict(strict) == "commend"
    # no tasks at all: still nothing due
    empty = schedule("P", "O01", [], AS_OF)
    assert (empty.due, empty.compliance, empty.max_days_overdue) == (0, 100, 0)


def test_all_tasks_late() -> None:
    tasks = [
        task(D(2012, 1, 10), done=D(2012, 1, 20), number="1"),
        task(D(2012, 2, 10), done=D(2012, 2, 11), number="2"),
        task(D(2012, 3, 10), done=D(2012, 3, 31), number="3"),
    ]
    p = schedule("P", "O01", tasks, AS_OF)
    assert counts(p) == {"due": 3, "on_time": 0, "late": 3, "overdue": 0, "pending": 0}
    assert p.compliance == 0  # 0 ÷ 3
    assert p.max_days_overdue == 0  # all done, none overdue
    assert p.verdict(CFG) == "rectify"  # 0 < 60
    assert p.rectify_by(CFG) == D(2012, 4, 30)  # 31 March + 30 days
    text = p.explain(CFG, 1)
    assert "0 ÷ 3 × 100% = 0.0%" in text
    assert "按期完成率低于 60%" in text
    assert "整改期限 2012-04-30" in text


def test_exactly_90_percent_and_not_behind_is_commended() -> None:
    # 9 on time + 1 overdue (10 days, 50 %) due; 2 pending at 80 %.
    # compliance 9 ÷ 10 = 90 %; planned 10 ÷ 12 = 83.33 %;
    # reported (9 × 100 + 50 + 80 + 80) ÷ 12 = 1110 ÷ 12 = 92.5 % → not behind.
    p = project(on_time=9, overdue=1, overdue_progress=50, pending=2, pending_progress=80)
    assert p.compliance == 90
    assert as_json_number(p.planned_progress, 1) == 83.3
    assert p.reported_progress == Decimal("92.5")
    assert not p.behind
    assert p.verdict(CFG) == "commend"
    assert p.rectify_by(CFG) is None
    assert "9 ÷ 10 × 100% = 90.0%" in p.explain(CFG, 1)
    assert "经验交流推广" in p.explain(CFG, 1)


def test_90_percent_but_behind_is_normal() -> None:
    # 9 on time + 1 overdue at 0 %, nothing pending: planned 10 ÷ 10 = 100 %,
    # reported 900 ÷ 10 = 90 % < 100 % → behind, so no commendation.
    p = project(on_time=9, overdue=1)
    assert (p.compliance, p.planned_progress, p.reported_progress) == (90, 100, 90)
    assert p.behind
    assert p.verdict(CFG) == "normal"
    assert "进度滞后" in p.explain(CFG, 1)


def test_just_under_90_is_compared_unrounded() -> None:
    # 359 ÷ 399 = 89.9749…%: shown as 90.0 (half-up) but below the 90 % threshold.
    p = project(on_time=359, overdue=40, pending=100, pending_progress=100)
    assert as_json_number(p.compliance, 1) == 90.0
    assert p.compliance < 90
    assert p.verdict(CFG) == "normal"
    assert "359 ÷ 399 × 100% = 90.0%" in p.explain(CFG, 1)


def test_exactly_60_percent_is_not_rectified() -> None:
    p = project(on_time=3, overdue=2)  # 3 ÷ 5 = 60 %, overdue 10 days
    assert p.compliance == 60
    assert p.verdict(CFG) == "normal"
    assert p.rectify_by(CFG) is None


def test_under_60_percent_is_rectified_even_when_only_late() -> None:
    # 179 ÷ (179 + 121) = 179 ÷ 300 = 59.67 % → rectify; nothing is overdue.
    p = project(on_time=179, late=121)
    assert as_json_number(p.compliance, 1) == 59.7
    assert p.max_days_overdue == 0
    assert p.verdict(CFG) == "rectify"
    assert p.rectify_by(CFG) == D(2012, 4, 30)


def test_overdue_exactly_30_days_is_not_rectified_but_31_is() -> None:
    # 9 ÷ 10 = 90 % both times; behind (planned 100, reported 90), so "normal" at best.
    thirty = project(on_time=9, overdue=1, overdue_deadline=D(2012, 3, 1))  # 31 − 1 = 30
    assert thirty.max_days_overdue == 30
    assert thirty.verdict(CFG) == "normal"
    thirty_one = project(on_time=9, overdue=1, overdue_deadline=D(2012, 2, 29))  # 31
    assert thirty_one.max_days_overdue == 31
    assert thirty_one.verdict(CFG) == "rectify"
    assert thirty_one.rectify_by(CFG) == D(2012, 4, 30)
    text = thirty_one.explain(CFG, 1)
    assert "有任务逾期 31 天，超过 30 天" in text
    assert "按期完成率低于" not in text


def test_planned_versus_reported_progress() -> None:
    # 1: due 1 Feb, done 30 Jan (100); 2: due 1 Mar, 40 % (overdue);
    # 3: due 1 May, 60 %; 4: due 1 Jun, nothing reported.
    def tasks(third: int) -> list[Task]:
        return [
            task(D(2012, 2, 1), done=D(2012, 1, 30), progress=100, number="1"),
            task(D(2012, 3, 1), progress=40, number="2"),
            task(D(2012, 5, 1), progress=third, number="3"),
            task(D(2012, 6, 1), number="4"),
        ]

    level = schedule("P", "O01", tasks(60), AS_OF)
    # planned: 2 of 4 due = 50 %; reported (100 + 40 + 60 + 0) ÷ 4 = 50 % → not behind
    assert (level.planned_progress, level.reported_progress) == (50, 50)
    assert not level.behind
    behind = schedule("P", "O01", tasks(50), AS_OF)
    # reported (100 + 40 + 50 + 0) ÷ 4 = 47.5 % < 50 % → behind
    assert behind.reported_progress == Decimal("47.5")
    assert behind.behind
    assert "计划进度 50.0%（到期任务占比），实际进度 47.5%" in behind.explain(CFG, 1)
    assert "进度滞后" in behind.explain(CFG, 1)


def test_adjustment_flag_needs_rectify_at_two_meetings_in_a_row() -> None:
    twice = project(on_time=1, overdue=2, previous_rectify=True)  # 1 ÷ 3 = 33.3 % → rectify
    assert twice.verdict(CFG) == "rectify"
    assert twice.adjust(CFG)
    assert "连续两次整改，建议调整项目" in twice.explain(CFG, 1)
    first_time = project(on_time=1, overdue=2, previous_rectify=False)
    assert first_time.verdict(CFG) == "rectify"
    assert not first_time.adjust(CFG)
    recovered = project(on_time=3, overdue=2, previous_rectify=True)  # 60 % → normal
    assert recovered.verdict(CFG) == "normal"
    assert not recovered.adjust(CFG)
    assert "建议调整" not in recovered.explain(CFG, 1)


def test_other_thresholds_change_the_verdicts() -> None:
    other = ComplianceConfig(
        commend_min_rate=Decimal(80),
        rectify_below_rate=Decimal(70),
        rectify_overdue_days=10,
        rectify_period_days=15,
    )
    # 8 ÷ 10 = 80 %, two tasks 31 − 19 = 12 days overdue
    twelve_days = project(on_time=8, overdue=2, overdue_deadline=D(2012, 3, 19))
    assert twelve_days.verdict(CFG) == "normal"  # 80 ≥ 60, 12 ≤ 30, 80 < 90
    assert twelve_days.verdict(other) == "rectify"  # 12 > 10
    assert twelve_days.rectify_by(other) == D(2012, 4, 15)  # 31 March + 15 days
    # 2 ÷ 3 = 66.67 %, 5 days overdue
    two_thirds = project(on_time=2, overdue=1, overdue_deadline=D(2012, 3, 26))
    assert two_thirds.verdict(CFG) == "normal"
    assert two_thirds.verdict(other) == "rectify"  # 66.67 < 70
    assert "按期完成率低于 70%" in two_thirds.explain(other, 1)
    # 17 ÷ 20 = 85 %, 5 days overdue; 5 pending reported 100 % without a date:
    # planned 20 ÷ 25 = 80 %, reported (1700 + 3 × 0 + 5 × 100) ÷ 25 = 88 % → not behind
    eighty_five = project(
        on_time=17,
        overdue=3,
        overdue_deadline=D(2012, 3, 26),
        pending=5,
        pending_progress=100,
    )
    assert (eighty_five.planned_progress, eighty_five.reported_progress) == (80, 88)
    assert eighty_five.verdict(CFG) == "normal"  # 85 < 90
    assert eighty_five.verdict(other) == "commend"  # 85 ≥ 80 and not behind


def test_aggregate_per_committee_and_county() -> None:
    # O01: P1 2 on time, 1 late, 1 overdue 40 days, 1 pending → 2 ÷ 4 = 50 % → rectify
    p1 = project(
        name="P1", on_time=2, late=1, overdue=1, overdue_deadline=D(2012, 2, 20), pending=1
    )
    assert p1.max_days_overdue == 40  # 9 (20 → 29 February) + 31
    #      P2 9 on time, 1 pending at 0: 100 %, planned 90 %, reported 90 % → commend
    p2 = project(name="P2", on_time=9, pending=1, pending_progress=0)
    # O02: P3 returned no ledger; P4 two pending tasks → 100 % → commend
    p3 = ProjectSchedule("P3", "O02", AS_OF, has_ledger=False)
    p4 = project(name="P4", committee="O02", pending=2)
    assert [p.verdict(CFG) for p in (p1, p2, p4)] == ["rectify", "commend", "commend"]

    o01 = aggregate("O01", [p1, p2], CFG)
    assert (o01.projects, o01.due, o01.on_time, o01.late, o01.overdue, o01.pending) == (
        2,
        4 + 9,
        2 + 9,
        1,
        1,
        1 + 1,
    )
    # 11 ÷ 13 = 84.615…%, not the mean of 50 % and 100 %
    assert as_json_number(o01.compliance, 1) == 84.6
    assert (o01.commend, o01.rectify, o01.missing_ledger) == (1, 1, [])

    o02 = aggregate("O02", [p3, p4], CFG, ["P3"])
    assert (o02.projects, o02.due, o02.pending) == (1, 0, 2)  # P3 is not counted
    assert o02.compliance == 100
    assert (o02.commend, o02.rectify, o02.missing_ledger) == (1, 0, ["P3"])

    county = aggregate("南昌县", [p1, p2, p3, p4], CFG, ["P3"])
    assert (county.projects, county.due, county.on_time, county.late, county.overdue) == (
        3,
        13,
        11,
        1,
        1,
    )
    assert county.pending == 4
    assert as_json_number(county.compliance, 1) == 84.6
    assert (county.commend, county.rectify, county.missing_ledger) == (2, 1, ["P3"])


# -- properties ------------------------------------------------------------------------------

dates = st.dates(min_value=D(2011, 10, 1), max_value=D(2013, 3, 31))
progresses = st.none() | st.integers(0, 100).map(Decimal)
tasks = st.builds(
    Task,
    number=st.just("1"),
    target=st.just("任务"),
    deadline=dates,
    progress=progresses,
    done_date=st.none() | dates,
)


@given(st.lists(tasks, max_size=25), dates, st.booleans())
def test_compliance_and_progress_stay_within_0_and_100(
    items: list[Task], as_of: dt.date, previous: bool
) -> None:
    p = schedule("P", "O01", items, as_of, previous)
    assert 0 <= p.compliance <= 100
    assert 0 <= p.planned_progress <= 100
    assert 0 <= p.reported_progress <= 100
    c = counts(p)
    assert c["on_time"] + c["late"] + c["overdue"] == c["due"]
    assert c["due"] + c["pending"] == len(items)
    verdict = p.verdict(CFG)
    assert (p.rectify_by(CFG) is not None) == (verdict == "rectify")
    assert p.adjust(CFG) == (verdict == "rectify" and previous)


@given(tasks, dates, st.integers(0, 400))
def test_moving_the_meeting_forward_never_reopens_a_task(
    t: Task, as_of: dt.date, later_by: int
) -> None:
    later = as_of + dt.timedelta(days=later_by)
    before, after = classify(t, as_of), classify(t, later)
    if before.status == "overdue":
        # still overdue (and by more days) or done since — late, never pending
        assert after.status in ("overdue", "late")
        if after.status == "overdue":
            assert after.days_overdue == before.days_overdue + later_by
    if before.status in ("on_time", "late"):
        assert after.status == before.status
    if done_as_of(t, as_of)[0]:
        assert done_as_of(t, later)[0]
