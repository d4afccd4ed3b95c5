"""The command line: ``xlsxflow init`` and ``xlsxflow templates`` as a clerk runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from xlsxflow import __version__
from xlsxflow.cli import COMMANDS, cli
from xlsxflow.config import Config, load_config, render_config
from xlsxflow.errors import UsageError
from xlsxflow.excel.roster_book import read_roster, write_roster
from xlsxflow.mail import TEMPLATES_NAME
from xlsxflow.roster import Roster
from xlsxflow.sample_county import sample_roster
from xlsxflow.workspace import CONFIG_NAME, FOLDERS, ROSTER_NAME, Workspace, init_workspace

PROJECT_HEADER = "project_no,project_name,committee_code,project_type,direction\n"


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def xlsx_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def meta(path: Path) -> dict[str, str]:
    rows = openpyxl.load_workbook(path)["xf_meta"].iter_rows(values_only=True)
    return {k: v or "" for k, v in rows if k and k.startswith("xf_")}


@pytest.fixture(scope="module")
def small_ws(tmp_path_factory) -> Path:
    """A workspace with a three-committee roster, made through the CLI."""
    root = tmp_path_factory.mktemp("cli") / "ws"
    result = run("init", root, "--committees", 3)
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def ws(tmp_path) -> Path:
    root = tmp_path / "ws"
    init_workspace(root, Config(), sample_roster(3))
    return root


def assert_usage_error(result, *phrases: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("错误："), result.stderr
    assert "Traceback" not in result.output
    for phrase in phrases:
        assert phrase in result.stderr, (phrase, result.stderr)


# -- help ----------------------------------------------------------------------------------


def test_main_help_lists_the_commands():
    result = run("--help")
    assert result.exit_code == 0
    assert "基层党建工作项目化管理" in result.stdout
    for name, (_, short) in COMMANDS.items():
        assert name in result.stdout
        assert short in result.stdout
    assert {"init", "templates"} <= set(COMMANDS)
    assert run("-h").stdout == result.stdout


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert __version__ in result.stdout


@pytest.mark.parametrize(
    ("args", "told"),
    [
        (["run", "."], "错误：缺少选项 '--as-of'."),
        (["report", ".", "quarterly", "--as-of", "2012-13-01"], "'--as-of' 的取值无效："),
        (["merge", "--bogus", "."], "错误：没有选项 '--bogus'。"),
        (["templates", ".", "--copies", "12"], "12 不在 1<=x<=9 的范围内。"),
        (["nosuch"], "错误：没有命令 'nosuch'。"),
    ],
)
def test_a_mistyped_command_line_is_told_in_chinese(args, told):
    """click's own errors, which a clerk read in English among xlsxflow's Chinese."""
    result = run(*args)
    assert result.exit_code == 2
    assert told in result.stderr, result.stderr
    assert "Error" not in result.stderr and "Usage" not in result.stderr
    assert "查看帮助。" in result.stderr


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name):
    result = run(name, "--help")
    assert result.exit_code == 0, result.output
    assert f"用法: xlsxflow {name}" in result.stdout or f"用法: cli {name}" in result.stdout
    assert "显示本帮助并退出。" in result.stdout and "Show this message" not in result.stdout
    assert "[required]" not in result.stdout  # (schedule's and run's --as-of: [必填])
    command = cli.get_command(None, name)  # type: ignore[arg-type]
    assert command.help and command.help.strip()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in command.help)
    for param in command.params:
        if getattr(param, "help", None) is not None or param.param_type_name == "option":
            assert param.help, f"{name} {param.name} has no help"
            assert param.opts[0] in result.stdout


def test_unknown_command():
    result = run("nonsense")
    assert result.exit_code == 2


def test_python_dash_m_works():
    result = subprocess.run(
        [sys.executable, "-m", "xlsxflow", "--help"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "init" in result.stdout
    assert "templates" in result.stdout


@pytest.mark.parametrize("args", [["--help"], *([name, "--help"] for name in sorted(COMMANDS))])
def test_help_does_not_import_heavy_libraries(args):
    code = (
        "import sys, json\n"
        "from xlsxflow.cli import cli\n"
        "try:\n"
        f"    cli({args!r}, prog_name='xlsxflow')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ['pandas', 'openpyxl', 'xlsxwriter', 'numpy']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == []


@pytest.mark.parametrize("code_page", ["cp936", "cp1252"])
def test_redirected_output_is_utf8_whatever_the_code_page(tmp_path, code_page):
    """``xlsxflow validate … --json > result.json`` (cmd) on a Windows PC whose code
    page is GBK (or Western): every character of a file name reaches the file, none
    becomes ?. (A pipe keeps the code page, which PowerShell decodes it with.)"""
    folder = tmp_path / "收件"
    folder.mkdir()
    (folder / "申报表䶮𠀀é.xlsx").write_bytes(b"not a workbook")
    out = tmp_path / "result.json"
    env = {**os.environ, "PYTHONIOENCODING": code_page, "PYTHONUTF8": "0"}
    with out.open("wb") as fh:
        result = subprocess.run(
            [sys.executable, "-m", "xlsxflow", "validate", str(folder), "--json"],
            stdout=fh,
            stderr=subprocess.PIPE,
            check=False,
            env=env,
        )
    assert result.returncode == 1, result.stderr
    data = json.loads(out.read_bytes().decode("utf-8"))
    assert [Path(f["path"]).name for f in data["files"]] == ["申报表䶮𠀀é.xlsx"]
    piped = subprocess.run(
        [sys.executable, "-m", "xlsxflow", "validate", str(folder), "--json"],
        capture_output=True,
        check=False,
        env=env,
    )
    assert "收件".encode(code_page, errors="replace") in piped.stdout


# -- init ----------------------------------------------------------------------------------


def test_init_creates_a_complete_workspace(tmp_path):
    root = tmp_path / "县委组织部" / "2011"
    result = run("init", root)
    assert result.exit_code == 0, result.output
    assert "已创建工作区" in result.stdout
    assert "30 个基层党委" in result.stdout
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [CONFIG_NAME, ROSTER_NAME, TEMPLATES_NAME, *FOLDERS]
    )
    for name in FOLDERS:
        assert (root / name).is_dir()
        assert not any((root / name).iterdir())
    assert load_config(root / CONFIG_NAME) == Config()
    assert (root / CONFIG_NAME).read_text(encoding="utf-8") == render_config(Config())
    assert read_roster(root / ROSTER_NAME) == sample_roster()
    # no staging folder is left next to it
    assert sorted(p.name for p in root.parent.iterdir()) == ["2011"]


def test_init_with_year_and_size(tmp_path):
    result = run("init", tmp_path / "ws", "--year", 2026, "--committees", 5)
    assert result.exit_code == 0, result.output
    ws = Workspace.open(tmp_path / "ws")
    assert ws.config == Config.for_year(2026)
    assert ws.roster.codes() == ["T01", "T02", "T03", "T04", "T05"]
    assert "2026 年度" in result.stdout


@pytest.mark.parametrize("args", [["--year", "1999"], ["--committees", "0"], ["--year", "abc"]])
def test_init_rejects_bad_options(tmp_path, args):
    result = run("init", tmp_path / "ws", *args)
    assert result.exit_code == 2
    assert not (tmp_path / "ws").exists()


def test_init_into_an_empty_existing_folder(tmp_path):
    (tmp_path / "ws").mkdir()
    result = run("init", tmp_path / "ws")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ws" / CONFIG_NAME).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ws"]


def test_init_refuses_a_non_empty_folder_and_leaves_it_alone(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "重要文件.docx").write_bytes(b"do not touch")
    (root / "sub").mkdir()
    (root / "sub" / "x.txt").write_text("x")
    before = snapshot(tmp_path)
    result = run("init", root)
    assert_usage_error(result, "已经存在且不是空文件夹", str(root.resolve()))
    assert snapshot(tmp_path) == before


def test_init_refuses_an_existing_workspace(small_ws):
    before = snapshot(small_ws)
    result = run("init", small_ws)
    assert_usage_error(result, "已经存在")
    assert snapshot(small_ws) == before


def test_init_refuses_a_file(tmp_path):
    (tmp_path / "ws").write_text("a file")
    result = run("init", tmp_path / "ws")
    assert result.exit_code == 2
    assert (tmp_path / "ws").read_text() == "a file"


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_init_failure_leaves_nothing_behind(tmp_path, monkeypatch, error):
    import xlsxflow.excel.roster_book as roster_book

    def broken(path, roster):
        path.write_bytes(b"half a roster")
        raise error

    monkeypatch.setattr(roster_book, "write_roster", broken)
    parent = tmp_path / "parent"
    parent.mkdir()
    (parent / "other.txt").write_text("keep")
    before = snapshot(parent)
    with pytest.raises(type(error)):
        init_workspace(parent / "ws", Config(), sample_roster())
    assert snapshot(parent) == before


def test_init_failure_in_an_existing_empty_folder_keeps_the_folder(tmp_path, monkeypatch):
    import xlsxflow.excel.roster_book as roster_book

    def broken(path, roster):
        raise OSError("disk full")

    monkeypatch.setattr(roster_book, "write_roster", broken)
    (tmp_path / "ws").mkdir()
    with pytest.raises(OSError):
        init_workspace(tmp_path / "ws", Config(), sample_roster())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ws"]
    assert not any((tmp_path / "ws").iterdir())


def test_init_failure_through_the_cli_leaves_nothing_behind(tmp_path, monkeypatch):
    import xlsxflow.excel.roster_book as roster_book

    def broken(path, roster):
        raise RuntimeError("disk full")

    monkeypatch.setattr(roster_book, "write_roster", broken)
    result = run("init", tmp_path / "ws")
    assert result.exit_code != 0
    assert list(tmp_path.iterdir()) == []


def test_workspace_is_found_from_inside(ws, tmp_path):
    inner = ws / "inbox" / "第一批"
    inner.mkdir()
    found = Workspace.find(inner)
    assert found is not None
    assert found.root == ws.resolve()
    assert found.roster.codes() == ["T01", "T02", "T03"]
    assert Workspace.find(tmp_path) is None


# -- templates -----------------------------------------------------------------------------


def test_templates_default_run(small_ws):
    result = run("templates", small_ws)
    assert result.exit_code == 0, result.output
    files = xlsx_files(small_ws / "outbox")
    assert len(files) == 9
    assert "已生成 9 个表格" in result.stdout
    assert "3 个文件夹" in result.stdout
    assert {p.parent.name for p in files} == {"T01_莲溪镇党委", "T02_青岚镇党委", "T03_柳塘镇党委"}
    first = {p: p.read_bytes() for p in files}
    again = run("templates", small_ws)
    assert again.exit_code == 0
    assert {p: p.read_bytes() for p in xlsx_files(small_ws / "outbox")} == first


def test_one_committee_one_form(ws):
    result = run("templates", ws, "--committee", "T01", "--form", "application_innovation")
    assert result.exit_code == 0, result.output
    files = xlsx_files(ws / "outbox")
    assert [p.relative_to(ws / "outbox").as_posix() for p in files] == [
        "T01_莲溪镇党委/T01_莲溪镇党委_创新探索型项目申报表.xlsx"
    ]
    assert meta(files[0])["xf_instance"] == "2011.T01.application_innovation.1"
    assert "已生成 1 个表格" in result.stdout


def test_repeated_options_narrow_the_run(ws):
    result = run(
        "templates",
        ws,
        "--committee",
        "T01",
        "--committee",
        "T03",
        "--form",
        "application_innovation",
        "--form",
        "application_institutional",
    )
    assert result.exit_code == 0, result.output
    files = xlsx_files(ws / "outbox")
    assert len(files) == 4
    assert {meta(p)["xf_committee"] for p in files} == {"T01", "T03"}
    assert {meta(p)["xf_form"] for p in files} == {
        "application_innovation",
        "application_institutional",
    }


def test_unknown_committee(ws):
    result = run("templates", ws, "--committee", "ZZZ")
    assert_usage_error(result, "名册中没有编号为“ZZZ”的党委")
    assert xlsx_files(ws / "outbox") == []


def test_copies(ws):
    result = run("templates", ws, "--committee", "T02", "--copies", 2)
    assert result.exit_code == 0, result.output
    files = xlsx_files(ws / "outbox")
    assert len(files) == 6
    assert sorted(p.name for p in files if "创新探索型" in p.name) == [
        "T02_青岚镇党委_创新探索型项目申报表.xlsx",
        "T02_青岚镇党委_创新探索型项目申报表_第2份.xlsx",
    ]
    assert len({meta(p)["xf_instance"] for p in files}) == 6


def test_more_copies_later_never_give_two_files_one_number(ws):
    """A committee that needs a second form gets ``--copies 2`` after the first run: the
    first copy is the file it already has (same name, same bytes), not a second file
    with the first one's number, whose project would replace the other's on merge."""
    assert run("templates", ws, "--committee", "T02").exit_code == 0
    first = {p.name: p.read_bytes() for p in xlsx_files(ws / "outbox")}
    assert run("templates", ws, "--committee", "T02", "--copies", 2).exit_code == 0
    files = xlsx_files(ws / "outbox")
    assert len(files) == 6
    assert {p.name: p.read_bytes() for p in files if p.name in first} == first
    assert len({meta(p)["xf_instance"] for p in files}) == 6


@pytest.mark.parametrize("copies", ["0", "10", "two"])
def test_copies_out_of_range(ws, copies):
    result = run("templates", ws, "--copies", copies)
    assert result.exit_code == 2
    assert xlsx_files(ws / "outbox") == []


def test_unknown_form_kind(ws):
    result = run("templates", ws, "--form", "budget")
    assert result.exit_code == 2
    assert "application_innovation" in result.output  # click lists the choices


def write_projects(path: Path, rows: list[str], bom: bool = True) -> Path:
    text = PROJECT_HEADER + "".join(row + "\n" for row in rows)
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def test_ledger_from_a_project_list(ws, tmp_path):
    projects = write_projects(
        tmp_path / "projects.csv",
        [
            "NCX-2011-CX-001,村级活动场所建设,T01,innovation,A2",
            "NCX-2011-SF-001,“三民两承诺”深化,T03,demonstration,A1",
        ],
    )
    result = run("templates", ws, "--form", "ledger", "--projects", projects)
    assert result.exit_code == 0, result.output
    files = xlsx_files(ws / "outbox")
    assert [p.relative_to(ws / "outbox").as_posix() for p in files] == [
        "T01_莲溪镇党委/NCX-2011-CX-001_村级活动场所建设_项目管理台帐.xlsx",
        "T03_柳塘镇党委/NCX-2011-SF-001_“三民两承诺”深化_项目管理台帐.xlsx",
    ]
    m = meta(files[1])
    assert (m["xf_form"], m["xf_project"], m["xf_committee"]) == (
        "ledger",
        "NCX-2011-SF-001",
        "T03",
    )
    book = openpyxl.load_workbook(files[1])
    names = book.defined_names
    sheet, ref = next(iter(names["project_name"].destinations))
    assert book[sheet][ref.replace("$", "")].value == "“三民两承诺”深化"
    sheet, ref = next(iter(names["project_type"].destinations))
    assert book[sheet][ref.replace("$", "")].value == "典型示范型"


def test_project_list_with_committee_filter_and_all_project_forms(ws, tmp_path):
    projects = write_projects(
        tmp_path / "p.csv",
        [
            "NCX-2011-CX-001,村级活动场所建设,T01,innovation,A2",
            "NCX-2011-SF-001,深化,T03,demonstration,",
        ],
        bom=False,
    )
    result = run(
        "templates",
        ws,
        "--committee",
        "T03",
        "--form",
        "ledger",
        "--form",
        "closure",
        "--form",
        "acceptance",
        "--projects",
        projects,
    )
    assert result.exit_code == 0, result.output
    files = xlsx_files(ws / "outbox")
    assert len(files) == 3
    assert {meta(p)["xf_project"] for p in files} == {"NCX-2011-SF-001"}


def test_ledger_without_projects(ws):
    result = run("templates", ws, "--form", "ledger")
    assert_usage_error(result, "“项目管理台帐”按项目生成", "--projects")
    assert xlsx_files(ws / "outbox") == []


def test_projects_of_another_committee_only(ws, tmp_path):
    projects = write_projects(tmp_path / "p.csv", ["NCX-2011-CX-001,甲,T01,innovation,"])
    result = run("templates", ws, "--committee", "T02", "--form", "ledger", "--projects", projects)
    assert_usage_error(result, "按项目生成")


@pytest.mark.parametrize(
    ("row", "phrase"),
    [
        ("NCX 2011,名称,T01,innovation,", "project_no"),
        ("NCX-2011-CX-001,,T01,innovation,", "project_name"),
        ("NCX-2011-CX-001,名称,../T01,innovation,", "committee_code"),
    ],
)
def test_bad_project_list(ws, tmp_path, row, phrase):
    projects = write_projects(tmp_path / "p.csv", [row])
    result = run("templates", ws, "--form", "ledger", "--projects", projects)
    assert_usage_error(result, f"项目清单 {projects} 第 2 行", phrase)
    assert xlsx_files(ws / "outbox") == []


def test_project_of_a_committee_not_in_the_roster(ws, tmp_path):
    projects = write_projects(tmp_path / "p.csv", ["NCX-2011-CX-001,名称,Q99,innovation,"])
    result = run("templates", ws, "--form", "ledger", "--projects", projects)
    assert_usage_error(result, "“Q99”")
    assert xlsx_files(ws / "outbox") == []


def test_missing_project_list(ws, tmp_path):
    result = run("templates", ws, "--form", "ledger", "--projects", tmp_path / "nope.csv")
    assert_usage_error(result, "nope.csv")


def test_review_form_for_the_department(ws):
    result = run("templates", ws, "--form", "review")
    assert result.exit_code == 0, result.output
    files = xlsx_files(ws / "outbox")
    assert [p.relative_to(ws / "outbox").as_posix() for p in files] == [
        "县委组织部/2011年度项目评审表.xlsx"
    ]
    assert meta(files[0])["xf_committee"] == ""


def test_templates_outside_a_workspace(tmp_path):
    result = run("templates", tmp_path)
    assert_usage_error(result, "找不到 xlsxflow.toml", "xlsxflow init")


# -- configuration and roster errors through the CLI ---------------------------------------


def break_config(ws: Path, old: str, new: str) -> None:
    path = ws / CONFIG_NAME
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "phrases"),
    [
        ("[cycle]\n", "[cycle]\nyeer = 2012\n", ["“cycle.yeer”", "不认识的配置项"]),
        ("notice_date = 2011-10-28", 'notice_date = "昨天"', ["cycle.notice_date", "日期"]),
        (
            "application_deadline = 2011-12-31",
            "application_deadline = 2011-01-01",
            ["“cycle”", "不能晚于 application_deadline"],
        ),
        ("weight_goal = 40", "weight_goal = 45", ["四项权重之和必须为 100，现在是 105"]),
        ("[cycle]\n", "[cycle\n", ["格式错误"]),
        ('pattern = "NCX-{year}-{type}-{seq:03d}"', 'pattern = "NCX-{seq[0]}"', ["numbering"]),
        ('pattern = "NCX-{year}-{type}-{seq:03d}"', 'pattern = "NCX-{year}"', ["{seq}"]),
    ],
)
def test_config_errors_stop_the_command(ws, old, new, phrases):
    break_config(ws, old, new)
    result = run("templates", ws)
    assert_usage_error(result, str(ws / CONFIG_NAME), *phrases)
    assert xlsx_files(ws / "outbox") == []


def test_roster_errors_stop_the_command(ws):
    roster = sample_roster(3)
    write_roster(
        ws / ROSTER_NAME,
        Roster(committees=(*roster.committees, roster.committees[0]), leaders=roster.leaders),
    )
    result = run("templates", ws)
    assert_usage_error(result, str(ws / ROSTER_NAME), "第 5 行", "第 2 行", "“T01”")
    assert xlsx_files(ws / "outbox") == []


def test_broken_roster_file(ws):
    (ws / ROSTER_NAME).write_bytes(b"this is not a workbook")
    result = run("templates", ws)
    assert_usage_error(result, "无法打开")


def test_usage_error_is_what_the_cli_reports():
    err = UsageError("templates.unknown_committee", code="X")
    assert err.exit_code == 2
    assert err.fields == {"code": "X"}
    assert str(err) == "名册中没有编号为“X”的党委。可用的编号见 roster.xlsx。"
