"""The small sample workspace shipped in ``samples/county``: a few returns, some with the
mistakes committees really make. Rebuild with ``python -m xlsxflow.demo.samples DIR``."""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

from xlsxflow.config import Config
from xlsxflow.demo.content import application_values
from xlsxflow.sample_county import sample_roster
from xlsxflow.templates import plan_templates, render_job
from xlsxflow.workspace import Workspace, init_workspace

SEED = 2011


def build_sample(root: Path) -> Workspace:
    ws = init_workspace(root, Config(), sample_roster())
    rng = random.Random(SEED)
    kinds = ["application_innovation", "application_demonstration", "application_institutional"]
    codes = ["T01", "T02", "T03", "Z01", "O01", "O02"]
    jobs = [
        job
        for job in plan_templates(ws.config, ws.roster, ws.outbox, committees=codes, kinds=kinds)
        if job.spec.kind == kinds[codes.index(job.committee.code) % 2]  # type: ignore[union-attr]
    ]
    for i, job in enumerate(jobs):
        assert job.committee is not None
        values, rows = application_values(rng, job.committee, job.spec.kind, ws.config)
        name = f"{job.committee.name}-{job.spec.name}.xlsx"
        if i == 1:  # typed as people do: full-width digits, text dates, number-typed phone
            values["budget_special"] = "１２０００元"
            values["start_date"] = (
                f"{values['start_date'].year}年{values['start_date'].month}月{values['start_date'].day}日"
            )
            values["contact_phone"] = 13907910001.0
            name = f"回复：{job.committee.name}申报表（修改稿）.xlsx"
        if i == 2:  # mistakes to fix
            values["project_name"] = ""
            values["direction"] = "党建品牌"
            rows["plan"] = rows["plan"][:2]
        saved = dt.datetime(2011, 12, 5 + i, 9, 30)
        (ws.inbox / name).write_bytes(render_job(job, ws.config, values, rows, saved_at=saved))
    (ws.inbox / "~$莲溪镇党委-创新探索型项目申报表.xlsx").write_bytes(b"\x00" * 165)
    return ws


if __name__ == "__main__":
    build_sample(Path(sys.argv[1]))
