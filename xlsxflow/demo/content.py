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
