"""``xlsxflow original DIR HASH``: a received file back from the archive packs, as the
clerk finds it from the register's 来源文件 column."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from registerkit import TASKS, MiniCycle, mini_cycle, new_workspace, put_all, register_rows, stored

from xlsxflow.cli import cli
from xlsxflow.register.archive import locate
from xlsxflow.workspace import Workspace


@pytest.fixture(scope="module")
def cycle(tmp_path_factory) -> MiniCycle:
    return mini_cycle(tmp_path_factory.mktemp("cycle"))


@pytest.fixture()
def ws(tmp_path: Path, cycle: MiniCycle) -> Workspace:
    ws = new_workspace(tmp_path / "ws")
    put_all(cycle.returns, ws.inbox)
    assert run("merge", ws.root).exit_code in (0, 1)  # (the cycle has rejected returns)
    return ws


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_the_file_behind_a_task_row_comes_back_as_received(ws, cycle):
    source = register_rows(ws, TASKS)[0]["来源文件"]
    [ret] = [r for r in cycle.returns if r.sha.startswith(source)]
    result = run("original", ws.root, source)
    assert result.exit_code == 0, result.output
    [written] = list((ws.root / "原件").iterdir())
    assert written.name == f"{source}_{ret.name}.xlsx"
    assert written.read_bytes() == ret.data
    assert f"已取回：{written}" in result.output


def test_a_full_hash_in_capitals_and_another_folder(ws, cycle, tmp_path):
    ret = cycle.returns[0]
    result = run("original", ws.root, ret.sha.upper(), "--out", tmp_path / "取回")
    assert result.exit_code == 0, result.output
    assert [p.read_bytes() for p in (tmp_path / "取回").iterdir()] == [ret.data]


@pytest.mark.parametrize(
    ("given", "shown"),
    [("abc", "不是文件编号"), ("项目编号", "不是文件编号"), ("ffffffffffff", "没有编号以")],
)
def test_a_wrong_number_is_explained_and_exits_2(ws, given, shown):
    result = run("original", ws.root, given)
    assert result.exit_code == 2
    assert shown in result.output and given in result.output
    assert not (ws.root / "原件").exists()


def test_a_damaged_pack_is_reported_not_written(ws, cycle):
    ret = cycle.returns[0]
    [sub] = [s for s in stored(ws) if s.sha256 == ret.sha]
    pack = ws.data / "archive" / locate(sub.archived)[0]
    data = pack.read_bytes()
    pack.write_bytes(data.replace(ret.data[200:300], bytes(100)))  # bytes flipped on disk
    result = run("original", ws.root, ret.sha[:12])
    assert result.exit_code == 1
    assert "无法完整读出" in result.output
    assert not (ws.root / "原件").exists()
    assert zipfile.is_zipfile(pack)


def test_a_file_received_without_a_spreadsheet_suffix_comes_back_with_one(tmp_path, cycle):
    """Returns are known by their content: 申报表(v1.2) is an .xlsx all the same."""
    ws = new_workspace(tmp_path / "plain")
    ret = cycle.returns[0]
    (ws.inbox / "申报表(v1.2)").write_bytes(ret.data)
    assert run("merge", ws.root).exit_code in (0, 1)
    result = run("original", ws.root, ret.sha[:12])
    assert result.exit_code == 0, result.output
    [written] = list((ws.root / "原件").iterdir())
    assert written.name == f"{ret.sha[:12]}_申报表(v1.2).xlsx"
    assert written.read_bytes() == ret.data
