"""A new cycle's workspace carries the previous register over (DOMAIN §4: one cycle a
year; projects and history go on)."""

from __future__ import annotations

import datetime as dt
import random

import openpyxl
import pytest
from click.testing import CliRunner
from registerkit import archive_contents, archived_bytes

from xlsxflow.cli import cli
from xlsxflow.demo.content import application_values
from xlsxflow.demo.cycle import play
from xlsxflow.register.merge import merge
from xlsxflow.register.query import load_state, review_rows
from xlsxflow.templates import plan_templates, render_job
from xlsxflow.workspace import Workspace


@pytest.fixture(scope="module")
def last_year(tmp_path_factory):
    return play(tmp_path_factory.mktemp("cycle") / "2011", committees=8, seed=5).ws


def _project_rows(path):
    ws = openpyxl.load_workbook(path, read_only=True)["项目总台账"]
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    return [dict(zip(header, r, strict=True)) for r in rows[1:]]


def test_init_carries_the_register_and_roster_over(last_year, tmp_path):
    result = CliRunner().invoke(
        cli, ["init", str(tmp_path / "2012"), "--year", "2012", "--carry-over", str(last_year.root)]
    )
    assert result.exit_code == 0, result.output
    new = Workspace.open(tmp_path / "2012")
    assert new.config.cycle.year == 2012
    assert new.roster == last_year.roster
    before = {
        (r["申报表编号"], r["立项编号"], r["项目状态"])
        for r in _project_rows(last_year.register_path)
    }
    after = {
        (r["申报表编号"], r["立项编号"], r["项目状态"]) for r in _project_rows(new.register_path)
    }
    assert after == before and before
    subs = load_state(last_year).submissions
    assert archive_contents(new) == archive_contents(last_year)
    assert {f"{s.sha256}.xlsx" for s in subs} == set(archive_contents(new))
    for sub in subs:
        assert archived_bytes(new, sub) == archived_bytes(last_year, sub)


def test_the_settings_come_along_with_a_new_calendar(last_year, tmp_path):
    """County, department, numbering, thresholds, weights and mail as set last year; the
    calendar of the next year unless another is asked for."""
    import shutil

    from xlsxflow.config import MailConfig, load_config, render_config

    old = tmp_path / "2011"
    shutil.copytree(last_year.root, old)
    config = load_config(old / "xlsxflow.toml")
    mail = MailConfig(
        host="smtp.example.cn", sender="zzb@example.cn", security="starttls", port=587
    )
    cycle = config.cycle.model_copy(update={"county": "青山县", "department": "青山县委组织部"})
    changed = config.model_copy(update={"mail": mail, "cycle": cycle})
    (old / "xlsxflow.toml").write_text(render_config(changed), encoding="utf-8")
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "2012"), "--carry-over", str(old)])
    assert result.exit_code == 0, result.output
    new = Workspace.open(tmp_path / "2012").config
    assert new.mail == mail and new.numbering == changed.numbering
    assert new.scoring == changed.scoring and new.compliance == changed.compliance
    assert (new.cycle.county, new.cycle.department) == ("青山县", "青山县委组织部")
    assert new.cycle.year == 2012 and new.cycle.dispatch_meetings[0] == dt.date(2013, 3, 31)


def test_a_carry_over_that_fails_leaves_nothing_half_made(last_year, tmp_path):
    """Last year's store damaged: told in Chinese, no new workspace left behind (a second
    try was refused as 已经存在且不是空文件夹), last year's files untouched; once it is
    mended, the same command goes through."""
    import shutil

    old = tmp_path / "2011"
    shutil.copytree(last_year.root, old)
    store = old / "data" / "register.sqlite"
    good = store.read_bytes()
    store.write_bytes(b"\0" * 4096 + good[4096:])
    before = {p: p.read_bytes() for p in old.rglob("*") if p.is_file()}
    args = ["init", str(tmp_path / "2012"), "--year", "2012", "--carry-over", str(old)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "register.sqlite 无法读取或已损坏" in result.stderr
    assert not (tmp_path / "2012").exists()
    assert {p: p.read_bytes() for p in old.rglob("*") if p.is_file()} == before
    store.write_bytes(good)
    assert CliRunner().invoke(cli, args).exit_code == 0


def test_carrying_over_from_a_workspace_never_merged_makes_nothing(tmp_path):
    assert CliRunner().invoke(cli, ["init", str(tmp_path / "2011")]).exit_code == 0
    args = ["init", str(tmp_path / "2012"), "--carry-over", str(tmp_path / "2011")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "2012").exists()


def test_institutional_project_cites_last_years_demonstration_project(last_year, tmp_path):
    CliRunner().invoke(
        cli, ["init", str(tmp_path / "2012"), "--year", "2012", "--carry-over", str(last_year.root)]
    )
    new = Workspace.open(tmp_path / "2012")
    state = load_state(new)
    assert state is not None
    demo = next(p for p in state.projects if p.number and p.kind == "application_demonstration")
    job = next(
        j
        for j in plan_templates(
            new.config,
            new.roster,
            new.outbox,
            committees=[demo.committee],
            kinds=["application_institutional"],
        )
    )
    assert job.committee is not None
    values, rows = application_values(random.Random(1), job.committee, job.spec.kind, new.config)
    values.pop("proposed_by_department")
    values["source_project_no"] = demo.number
    (new.inbox / "大试.xlsx").write_bytes(
        render_job(job, new.config, values, rows, saved_at=dt.datetime(2012, 12, 1, 9))
    )
    merge(new)
    state = load_state(new)
    assert state is not None
    apps = review_rows(state, new.roster, 2012)
    assert [a["rv_instance"] for a in apps] == [
        f"2012.{demo.committee}.application_institutional.1"
    ]
    review = plan_templates(
        new.config, new.roster, new.outbox, kinds=["review"], applications=apps
    )[0]
    rows_ = [
        {
            **apps[0],
            "rv_innovation": 20,
            "rv_feasibility": 20,
            "rv_leading": 20,
            "rv_outcome": 20,
            "rv_decision": "立项",
        }
    ]
    (new.inbox / "评审.xlsx").write_bytes(
        render_job(review, new.config, rows={"reviews": rows_}, saved_at=dt.datetime(2013, 1, 10))
    )
    merge(new)
    state = load_state(new)
    assert state is not None
    numbered = {p.key: p.number for p in state.projects}
    assert numbered[apps[0]["rv_instance"]] == "NCX-2012-TG-001"
