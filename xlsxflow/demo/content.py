"""Invent plausible filled-in forms: Chinese project names, plans, teams, tasks.

Everything is derived from a ``random.Random`` seeded by the caller, so the same seed
gives the same county, the same returns and the same figures.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from xlsxflow.config import Config
from xlsxflow.forms import catalog
from xlsxflow.roster import Committee

_TOPICS = [
    ("三民两承诺", "A1"),
    ("四议两公开", "A2"),
    ("大学生村干部培养", "A2"),
    ("农村社区2+5机制", "A3"),
    ("流动党员服务站", "A4"),
    ("非公企业党建12345", "A4"),
    ("机关效能建设", "A5"),
    ("党员先锋岗", "C1"),
    ("城乡党建结对共建", "W1"),
    ("网格化社会管理", "W2"),
    ("党员活动阵地标准化", "P1"),
    ("党建品牌示范带", "P2"),
    ("信访难题破解", "P3"),
    ("创先争优擂台", "L1"),
    ("党建责任清单", "L2"),
    ("区域化党建联盟", "L3"),
    ("便民服务代办", "L4"),
]
_SUFFIX = ["工程", "行动", "示范点建设", "机制探索", "试点", "提升计划"]
_PHASES = ["调研摸底", "制定方案", "组织动员", "全面实施", "督查推进", "总结提炼", "巩固提升"]
_TITLES = ["党委书记", "党委副书记", "组织委员", "宣传委员", "纪委书记", "党建办主任"]
_PEOPLE = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗"
_GIVEN = ["明", "华", "强", "芳", "军", "敏", "伟", "丽", "勇", "静", "涛", "燕"]


def person(rng: random.Random) -> str:
    return rng.choice(_PEOPLE) + rng.choice(_GIVEN) + rng.choice(_GIVEN)


def _day(rng: random.Random, low: dt.date, high: dt.date) -> dt.date:
    return low + dt.timedelta(days=rng.randint(0, max((high - low).days, 0)))


def application_values(
    rng: random.Random, committee: Committee, kind: str, config: Config
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """A complete, valid application of ``kind`` for ``committee``."""
    cycle = config.cycle
    topic, direction = rng.choice(_TOPICS)
    name = (
        f"{committee.name.removesuffix('党委').removesuffix('党工委')}{topic}{rng.choice(_SUFFIX)}"
    )
    start = _day(rng, cycle.notice_date + dt.timedelta(days=30), cycle.application_deadline)
    end = _day(rng, start + dt.timedelta(days=120), cycle.implementation_end)
    directions = catalog().choice("direction")
    values: dict[str, Any] = {
        "direction": directions.display(directions.by_code(direction)),
        "project_name": name[:40],
        "undertaking_org": f"{committee.name.removesuffix('党委')}{rng.choice(['第一', '中心', '城东', '机关'])}党支部",
        "start_date": start,
        "end_date": end,
        "lead_name": person(rng),
        "lead_title": "党委书记",
        "deputy_name": person(rng),
        "deputy_title": rng.choice(_TITLES[1:]),
        "background": f"围绕{topic}，本单位在工作中发现基层组织覆盖、党员作用发挥等方面存在短板，群众反映较多。",
        "significance": f"通过{topic}项目，推动基层党建工作从点上探索到面上推广，增强党组织凝聚力。",
        "approach": "坚持问题导向，先试点、后推广；党委领办、支部承办、组织部督办。",
        "measures": "一是成立项目推进小组；二是制定实施方案和任务清单；三是建立月调度、季通报制度；四是加强经费保障。",
        "expected_goals": "项目覆盖全部村（社区）党组织，党员参与率达到90%以上，群众满意率达到90%以上。",
        "quality_standard": "有方案、有台帐、有载体、有成效、有群众口碑，形成可复制的经验材料。",
        "budget_special": float(rng.randrange(20, 200) * 500),
        "budget_party_fee": float(rng.randrange(0, 40) * 500),
        "signoff_name": person(rng),
        "signoff_date": _day(
            rng, cycle.notice_date + dt.timedelta(days=7), cycle.application_deadline
        ),
    }
    if kind in ("application_demonstration", "application_institutional"):
        values["prior_results"] = (
            f"自开展{topic}工作以来，已在3个村试点，形成了制度汇编1册，得到上级肯定。"
        )
    if kind == "application_institutional":
        values["proposed_by_department"] = "是"
    plan = []
    phases = rng.sample(_PHASES, rng.randint(3, 6))
    span = (end - start).days
    cursor = start
    for i, phase in enumerate(phases):
        stop = start + dt.timedelta(days=span * (i + 1) // len(phases))
        plan.append(
            {
                "plan_phase": phase,
                "plan_start": cursor,
                "plan_end": stop,
                "plan_content": f"{phase}：落实{topic}相关工作",
                "plan_deliverable": rng.choice(
                    ["形成调研报告", "印发实施方案", "召开推进会", "完成阶段总结"]
                ),
                "plan_owner": person(rng),
            }
        )
        cursor = stop
    return values, {"plan": plan}


_TASKS = [
    "召开动员部署会",
    "制定任务分解表",
    "开展入户走访调研",
    "建立党员联系户制度",
    "打造示范点",
    "组织专题培训",
    "建立工作台账",
    "开展季度督查",
    "评选先进典型",
    "形成制度汇编",
    "召开现场推进会",
    "总结提炼经验",
]


def ledger_rows(
    rng: random.Random, start: dt.date, end: dt.date, count: int
) -> list[dict[str, Any]]:
    """Tasks with the four fixes, deadlines spread over the project period; each carries a
    hidden ``_fate`` (early, on_time, late, never) and ``_done`` day used by ``progress``."""
    span = max((end - start).days, count)
    tasks = []
    for i in range(count):
        deadline = start + dt.timedelta(days=span * (i + 1) // count)
        fate = rng.choices(["early", "on_time", "late", "never"], weights=[3, 5, 2, 1])[0]
        if fate == "early":
            done = deadline - dt.timedelta(days=rng.randint(1, 20))
        elif fate == "on_time":
            done = deadline
        elif fate == "late":
            done = deadline + dt.timedelta(days=rng.randint(3, 45))
        else:
            done = None
        tasks.append(
            {
                "task_no": str(i + 1),
                "task_target": f"{rng.choice(_TASKS)}（第{i + 1}项）",
                "task_owner": person(rng),
                "task_deadline": deadline,
                "task_requirement": rng.choice(
                    [
                        "按时完成并留存佐证材料",
                        "覆盖全部党支部",
                        "形成书面材料报组织部",
                        "群众参与率不低于80%",
                    ]
                ),
                "_done": max(done, start) if done else None,
            }
        )
    return tasks


def progress(
    tasks: list[dict[str, Any]], as_of: dt.date, rng: random.Random
) -> list[dict[str, Any]]:
    """The task table as reported on ``as_of``: done tasks 100 % with their date."""
    rows = []
    for t in tasks:
        row = {k: v for k, v in t.items() if not k.startswith("_")}
        done = t["_done"]
        if done is not None and done <= as_of:
            row["task_progress"] = 100
            row["task_done_date"] = done
            row["task_evidence"] = "会议记录、照片"
        elif as_of >= t["task_deadline"] - dt.timedelta(days=30):
            row["task_progress"] = rng.choice([20, 40, 50, 60, 80])
        rows.append(row)
    return rows


def team_rows(rng: random.Random, values: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [
        {
            "team_role": "组长",
            "team_name": values.get("lead_name") or person(rng),
            "team_title": "党委书记",
        },
        {
            "team_role": "副组长",
            "team_name": values.get("deputy_name") or person(rng),
            "team_title": "党委副书记",
        },
    ]
    for _ in range(rng.randint(2, 4)):
        rows.append(
            {
                "team_role": "成员",
                "team_name": person(rng),
                "team_title": rng.choice(["组织干事", "支部书记", "宣传干事"]),
                "team_phone": f"139{rng.randint(10000000, 99999999)}",
            }
        )
    return rows


def fund_rows(rng: random.Random, start: dt.date, budget: float) -> list[dict[str, Any]]:
    rows = []
    for i in range(rng.randint(1, 4)):
        rows.append(
            {
                "fund_date": start + dt.timedelta(days=30 * i + rng.randint(0, 20)),
                "fund_source": rng.choice(["党委专项资金", "县管党费扶持"]),
                "fund_amount": float(round(budget / 4 / 100) * 100 or 500),
                "fund_purpose": rng.choice(["阵地建设", "培训资料印制", "活动经费", "宣传展板"]),
            }
        )
    return rows


def closure_values(
    rng: random.Random, name: str, day: dt.date
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    values = {
        "summary_overview": f"{name}于立项后启动，按计划分阶段推进。",
        "summary_implementation": "成立了项目推进小组，落实了四定要求，每季度报送管理台帐并接受调度。",
        "summary_results": "形成了可复制的工作机制，群众满意度明显提升。",
        "summary_evaluation": "建议在全县同类单位推广，并进一步完善长效机制。",
        "acceptance_request_date": day,
    }
    goals = [
        {"goal_text": g, "goal_status": rng.choice(["已实现", "已实现", "部分实现"])}
        for g in ("覆盖全部党组织", "党员参与率达到90%", "形成制度成果")
    ]
    return values, {"goals": goals}


def acceptance_values(rng: random.Random, day: dt.date) -> dict[str, Any]:
    survey = rng.random() > 0.1
    satisfied = rng.randint(40, 90) if survey else None
    values: dict[str, Any] = {
        "method_documents": "是",
        "method_visit": "是",
        "method_forum": rng.choice(["是", "否"]),
        "method_survey": "是" if survey else "否",
        "goal_rate": float(rng.choice([70, 80, 85, 90, 95, 100])),
        "benefit_score": float(rng.randint(60, 98)),
        "extensibility_score": float(rng.randint(55, 98)),
        "conclusion": "合格" if rng.random() > 0.08 else "不合格",
        "acceptance_remarks": "资料齐全，现场查看与台帐一致，群众座谈反映良好。",
        "acceptance_members": f"{person(rng)}、{person(rng)}、{person(rng)}",
        "acceptance_date": day,
    }
    if survey:
        values["survey_satisfied"] = float(satisfied)
        values["survey_basic"] = float(rng.randint(0, 20))
        values["survey_unsatisfied"] = float(rng.randint(0, 8))
    return values
