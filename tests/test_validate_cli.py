"""``xlsxflow validate`` end to end: exit codes, the JSON schema, the clerk's problem
workbook and the committees' marked-up feedback copies."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from builders import (
    at,
    filled_application,
    issues,
    read,
    sha256,
)
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from xlsxflow.cli import cli
from xlsxflow.errors import message
from xlsxflow.workspace import Workspace

KIND = "application_innovation"
FILE_KEYS = {
    "path",
    "skipped",
    "valid",
    "form",
    "committee",
    "project",
    "instance",
    "format",
    "superseded_by",
}
ISSUE_KEYS = {"code", "severity", "sheet", "cell", "field", "message"}
SUMMARY_KEYS = {
    "files",
    "checked",
    "valid",
    "invalid",
    "superseded",
    "skipped",
    "errors",
    "warnings",
    "by_code",
    "workspace",
    "notices",
}
MONDAY = dt.datetime(2011, 11, 7, 9, 30)
DAY = dt.timedelta(days=1)
MISTAKES: dict[str, Any] = {
    "project_name": None,
    "direction": "Z9",
    "start_date": "2011年11月1日",  # a warning among the errors
}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["validate", *args], catch_exceptions=False)


def as_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = invoke("--json", *args)
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def bad(workspace: Workspace) -> Path:
    return filled_application(workspace, MISTAKES, name="T01_bad.xlsx")


def custom_properties(path: Path) -> dict[str, str]:
    book = openpyxl.load_workbook(path)
    return {p.name: p.value for p in book.custom_doc_props.props}


def meta_sheet(path: Path) -> dict[str, str]:
    book = openpyxl.load_workbook(path)
    rows = book["xf_meta"].iter_rows(values_only=True)
    return {str(k): v or "" for k, v, *_ in rows if isinstance(k, str) and k.startswith("xf_")}


# -- exit codes ---------------------------------------------------------------------------


def test_valid_file_exits_0_even_with_warnings(workspace: Workspace) -> None:
    path = filled_application(workspace, {"contact_phone": 13079100000})
    result = invoke(str(path))
    assert result.exit_code == 0, result.output
    assert "value.interpreted" in result.stdout
    assert "合格" in result.stdout


def test_invalid_file_exits_1(bad: Path) -> None:
    result = invoke(str(bad))
    assert result.exit_code == 1
    assert "不合格" in result.stdout
    for code in ("value.required", "value.choice", "value.interpreted"):
        assert f"[{code}]" in result.stdout
    assert "申报表!B6" in result.stdout


def test_one_invalid_among_valid_files_exits_1(workspace: Workspace, bad: Path) -> None:
    filled_application(workspace, name="T01_good.xlsx")
    assert invoke(str(workspace.inbox)).exit_code == 1


def test_an_earlier_version_replaced_by_a_corrected_one_does_not_count(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The inbox keeps every version a committee sent: the refused first one must not fail
    the run again, nor be marked up and sent back, once a later-saved one corrects it."""
    first = filled_application(workspace, MISTAKES, name="T01_v1.xlsx", saved_at=MONDAY)
    second = filled_application(workspace, name="T01_v2.xlsx", saved_at=MONDAY + DAY)
    feedback = tmp_path / "feedback"
    result = invoke("--feedback", str(feedback), str(workspace.inbox))
    assert result.exit_code == 0, result.output
    assert (
        f"○ 已有新版 T01 · 创新探索型项目申报表（错误 2，提示 1；不计入，以后来保存的 {second} 为准）  {first}"
        in result.stdout
    )
    assert "value.required" not in result.stdout  # its problems are not listed again
    assert "合格 1，不合格 0，已有新版 1，跳过 0；错误 0 处，提示 0 处。" in result.stdout
    assert not feedback.exists() or not any(feedback.rglob("*.xlsx"))
    code, data = as_json(str(workspace.inbox))
    assert code == 0
    by_name = {Path(f["path"]).name: f for f in data["files"]}
    assert by_name["T01_v1.xlsx"]["superseded_by"] == str(second)
    assert by_name["T01_v2.xlsx"]["superseded_by"] is None
    summary = data["summary"]
    assert (summary["checked"], summary["valid"], summary["invalid"]) == (2, 1, 0)
    assert (summary["superseded"], summary["errors"], summary["by_code"]) == (1, 0, {})


def test_a_later_version_with_errors_fails_though_the_first_was_valid(
    workspace: Workspace, tmp_path: Path
) -> None:
    filled_application(workspace, name="T01_v1.xlsx", saved_at=MONDAY)
    later = filled_application(workspace, MISTAKES, name="T01_v2.xlsx", saved_at=MONDAY + DAY)
    feedback = tmp_path / "feedback"
    result = invoke("--feedback", str(feedback), str(workspace.inbox))
    assert result.exit_code == 1
    assert "合格 0，不合格 1，已有新版 1" in result.stdout
    (copy,) = feedback.rglob("*.xlsx")
    assert copy.name.startswith(later.stem)


def test_versions_saved_at_the_same_moment_both_count(workspace: Workspace, bad: Path) -> None:
    """Without a later saved time there is no telling which replaces which: both count."""
    filled_application(workspace, name="T01_good.xlsx")
    code, data = as_json(str(workspace.inbox))
    assert (code, data["summary"]["superseded"], data["summary"]["invalid"]) == (1, 0, 1)


def test_unreadable_file_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    assert invoke(str(path)).exit_code == 1


def test_missing_path_exits_2(tmp_path: Path) -> None:
    result = invoke(str(tmp_path / "no-such-file.xlsx"))
    assert result.exit_code == 2


def test_unknown_workspace_exits_2(workspace: Workspace, tmp_path: Path) -> None:
    path = filled_application(workspace)
    result = invoke("--workspace", str(tmp_path / "nowhere"), str(path))
    assert result.exit_code == 2
    assert "xlsxflow.toml" in result.stderr


def test_no_paths_is_a_usage_error() -> None:
    assert invoke().exit_code == 2


# -- --json -------------------------------------------------------------------------------


def test_json_shape(workspace: Workspace, bad: Path) -> None:
    good = filled_application(workspace, name="T01_good.xlsx")
    (workspace.inbox / "~$T01_bad.xlsx").write_bytes(b"lock")
    (workspace.inbox / "readme.txt").write_text("说明", encoding="utf-8")
    code, data = as_json(str(workspace.inbox))
    assert code == 1
    assert data["schema"] == 1
    assert set(data) == {"schema", "files", "summary"}
    files = data["files"]
    assert [Path(f["path"]).name for f in files] == sorted(
        ["T01_bad.xlsx", "T01_good.xlsx", "~$T01_bad.xlsx", "readme.txt"]
    )
    by_name = {Path(f["path"]).name: f for f in files}

    checked = by_name[bad.name]
    assert set(checked) == FILE_KEYS | {"issues"}
    assert checked["valid"] is False and checked["skipped"] is False
    assert (checked["form"], checked["committee"], checked["project"]) == (KIND, "T01", None)
    assert checked["instance"] == "2011.T01.application_innovation.1"
    assert checked["format"] == "xlsx"
    for issue in checked["issues"]:
        assert set(issue) == ISSUE_KEYS
        assert issue["severity"] in ("error", "warning")
        assert issue["message"]
    flat = sorted((i["code"], i["sheet"], i["cell"]) for i in checked["issues"])
    assert flat == sorted(
        [
            at("value.required", KIND, "project_name"),
            at("value.choice", KIND, "direction"),
            at("value.interpreted", KIND, "start_date"),
        ]
    )
    fields = {i["code"]: i["field"] for i in checked["issues"]}
    assert fields["value.required"] == "project_name"
    severities = {i["code"]: i["severity"] for i in checked["issues"]}
    assert severities["value.interpreted"] == "warning"
    assert severities["value.required"] == "error"

    assert by_name[good.name]["valid"] is True and by_name[good.name]["issues"] == []
    for name in ("~$T01_bad.xlsx", "readme.txt"):
        skipped = by_name[name]
        assert skipped["skipped"] is True
        assert skipped["reason"]
        assert skipped["valid"] is None
        assert "issues" not in skipped

    summary = data["summary"]
    assert set(summary) == SUMMARY_KEYS
    assert (summary["files"], summary["checked"], summary["skipped"]) == (4, 2, 2)
    assert (summary["valid"], summary["invalid"]) == (1, 1)
    assert (summary["errors"], summary["warnings"]) == (2, 1)
    assert summary["by_code"] == {"value.choice": 1, "value.interpreted": 1, "value.required": 1}
    assert Path(summary["workspace"]) == workspace.root
    assert summary["notices"] == []


def test_json_matches_the_library_result(bad: Path, workspace: Workspace) -> None:
    _, data = as_json(str(bad))
    [entry] = data["files"]
    flat = sorted((i["code"], i["sheet"], i["cell"]) for i in entry["issues"])
    assert flat == issues(read(bad, workspace))


def test_json_with_values(workspace: Workspace) -> None:
    path = filled_application(workspace)
    code, data = as_json("--values", str(path))
    assert code == 0
    values = data["files"][0]["values"]
    assert values["direction"] == "A1"
    assert values["start_date"] == "2011-11-01"
    assert values["budget_special"] == 50000
    assert values["budget_party_fee"] == 20000.5
    assert [r["_row"] for r in data["files"][0]["rows"]["plan"]] == [1, 2, 3]


def test_outside_any_workspace_the_defaults_are_used_with_a_notice(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = filled_application(workspace, folder=tmp_path / "mail", name="附件.xlsx")
    code, data = as_json(str(path))
    assert code == 0
    assert data["summary"]["notices"] == [message("workspace.defaults")]
    assert data["summary"]["workspace"] is None
    text = invoke(str(path))
    assert "注意" in text.stdout and "--workspace" in text.stdout


def test_outside_any_workspace_a_form_is_checked_against_its_own_years_calendar(
    tmp_path: Path,
) -> None:
    """A 2026 form mailed to someone without the workspace: its dates are 2026's, and
    the source's 2011 calendar would call every one of them out of its window."""
    import datetime as dt

    from builders import PLAN, application_values, write_return

    from xlsxflow.config import Config
    from xlsxflow.sample_county import sample_roster
    from xlsxflow.workspace import init_workspace

    def later(value: Any) -> Any:
        return value.replace(year=value.year + 15) if isinstance(value, dt.date) else value

    ws = init_workspace(tmp_path / "ws2026", Config.for_year(2026), sample_roster())
    values = {k: later(v) for k, v in application_values().items()}
    plan = [{k: later(v) for k, v in row.items()} for row in PLAN]
    path = write_return(ws, KIND, values, {"plan": plan}, folder=tmp_path / "mail")
    assert as_json("--workspace", str(ws.root), str(path))[1]["files"][0]["issues"] == []
    code, data = as_json(str(path))
    assert data["summary"]["workspace"] is None
    assert data["files"][0]["issues"] == []
    assert code == 0
    # Dates outside 2026's windows are still told, outside a workspace too.
    values["start_date"] = dt.date(2011, 11, 1)
    path = write_return(ws, KIND, values, {"plan": plan}, folder=tmp_path / "mail")
    code, data = as_json(str(path))
    assert code == 1
    assert [i["field"] for i in data["files"][0]["issues"]] == ["start_date"]


def test_control_characters_typed_in_a_cell_never_reach_the_terminal(
    workspace: Workspace,
) -> None:
    """An escape sequence in 联系电话 would retitle the clerk's window (or worse)."""
    typed = "\x1b]0;PWNED\x07138\x9b"
    path = filled_application(workspace, {"contact_phone": typed}, name="T01_esc.xlsx")
    result = invoke(str(path))
    assert result.exit_code == 1
    assert not any(c in result.stdout for c in "\x1b\x07\x9b")
    assert "\\x1b]0;PWNED\\x07138\\x9b" in result.stdout
    # Our own colours are still colours (stripped here, where stdout is no terminal).
    assert "\\x1b[" not in result.stdout and "不合格" in result.stdout
    colour = CliRunner().invoke(cli, ["validate", str(path)], color=True)
    assert "\x1b[31m" in colour.stdout and "\\x1b[" not in colour.stdout


def test_a_bidirectional_override_in_a_file_name_is_shown_escaped(
    workspace: Workspace,
) -> None:
    """U+202E in a file name would show "T01_\u202exslx.exe" as "T01_exe.xlsx" (and
    reverse what follows on the line)."""
    path = filled_application(workspace, name="T01_\u202exslx.exe.xlsx")
    result = invoke(str(path))
    assert result.exit_code == 0, result.output
    assert "\u202e" not in result.stdout
    assert "T01_\\u202exslx.exe.xlsx" in result.stdout
    # and in JSON, as an escape a JSON reader decodes to the name itself
    as_text = invoke("--json", str(path)).stdout
    assert "\u202e" not in as_text and "\\u202e" in as_text
    assert json.loads(as_text)["files"][0]["path"] == str(path)


BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@given(st.text(st.characters() | st.sampled_from([*BIDI, "\x1b", "\x9b", "项"])))
def test_shown_text_holds_no_control_a_terminal_acts_on(text: str) -> None:
    from xlsxflow.cli.common import shown

    out = shown(text)
    acted_on = {c for c in out if unicodedata.category(c) == "Cc" and c not in "\n\t"}
    bidi = set(BIDI)
    assert not acted_on and not bidi & set(out)
    if not any((unicodedata.category(c) == "Cc" and c not in "\n\t") or c in bidi for c in text):
        assert out == text  # everything else, Chinese included, as it was


def test_workspace_option_applies_its_roster(workspace: Workspace, tmp_path: Path) -> None:
    path = filled_application(workspace, folder=tmp_path / "mail", name="附件.xlsx")
    code, data = as_json("--workspace", str(workspace.root), str(path))
    assert code == 0
    assert data["summary"]["notices"] == []
    assert Path(data["summary"]["workspace"]) == workspace.root


# -- --report -----------------------------------------------------------------------------


def test_report_lists_every_problem_with_code_and_cell(
    workspace: Workspace, bad: Path, tmp_path: Path
) -> None:
    other = filled_application(workspace, {"budget_special": -5}, name="T01_other.xlsx")
    report = tmp_path / "reports" / "问题清单.xlsx"
    result = invoke("--report", str(report), str(workspace.inbox))
    assert result.exit_code == 1
    assert report.is_file()
    sheet = openpyxl.load_workbook(report).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert "代码" in header and "单元格" in header and "工作表" in header and "文件" in header
    col = {name: header.index(name) for name in ("代码", "工作表", "单元格", "文件", "党委编号")}
    listed = sorted(
        (r[col["代码"]], r[col["工作表"]] or "", r[col["单元格"]] or "", Path(r[col["文件"]]).name)
        for r in rows[1:]
    )
    expected = sorted(
        [(c, s, cell, bad.name) for c, s, cell in issues(read(bad, workspace))]
        + [(c, s, cell, other.name) for c, s, cell in issues(read(other, workspace))]
    )
    assert listed == expected
    assert {r[col["党委编号"]] for r in rows[1:]} == {"T01"}


# -- --feedback ---------------------------------------------------------------------------


def test_feedback_copy_marks_the_problems(workspace: Workspace, bad: Path, tmp_path: Path) -> None:
    good = filled_application(workspace, name="T01_good.xlsx")
    before = {p: sha256(p) for p in (bad, good)}
    folder = tmp_path / "feedback"
    result = invoke("--feedback", str(folder), str(workspace.inbox))
    assert result.exit_code == 1
    copies = sorted(folder.rglob("*.xlsx"))
    assert len(copies) == 1  # only the return with problems gets a copy
    [copy] = copies
    assert copy.stem.startswith(bad.stem)
    assert {p: sha256(p) for p in (bad, good)} == before  # the originals are never touched

    original = read(bad, workspace)
    book = openpyxl.load_workbook(copy)
    assert "问题清单" in book.sheetnames
    listing = [r for r in book["问题清单"].iter_rows(min_row=4, values_only=True) if r[0]]
    assert sorted((r[1], r[2]) for r in listing) == sorted(
        (p.sheet, p.cell) for p in original.problems
    )
    assert {r[5] for r in listing} == {p.message for p in original.problems}

    form = book["申报表"]
    for problem in original.problems:
        comment = form[problem.cell].comment
        assert comment is not None, problem.cell
        assert problem.message in comment.text
    unmarked = at("", KIND, "undertaking_org")[2]
    assert form[unmarked].comment is None

    # What the committee typed is in place, mistakes included, so they can correct it.
    assert form[at("", KIND, "direction")[2]].value == "Z9"
    assert form[at("", KIND, "project_name")[2]].value is None
    assert form[at("", KIND, "start_date")[2]].value == "2011年11月1日"
    assert form[unmarked].value == "莲溪镇机关党支部"
    assert form[at("", KIND, "plan_phase", 1)[2]].value == "调研准备"

    # Same identity, drop-downs and protection as the issued form.
    assert custom_properties(copy) == custom_properties(bad)
    assert meta_sheet(copy) == meta_sheet(bad)
    assert len(form.data_validations.dataValidation) == len(
        openpyxl.load_workbook(bad)["申报表"].data_validations.dataValidation
    )
    assert any(dv.type == "list" for dv in form.data_validations.dataValidation)
    assert form.protection.sheet


def test_returns_of_one_name_each_get_their_own_feedback_copy(
    workspace: Workspace, tmp_path: Path
) -> None:
    """申报表.xlsx saved in inbox/3月 and again in inbox/4月, and a name differing in case
    only (one file on Windows): four copies, named the same at every run."""
    made = [
        filled_application(workspace, MISTAKES, name="申报表.xlsx", folder=workspace.inbox / m)
        for m in ("3月", "4月")
    ]
    made.append(
        filled_application(
            workspace, {**MISTAKES, "direction": "Z8"}, name="Form.xlsx", folder=workspace.inbox
        )
    )
    made.append(filled_application(workspace, MISTAKES, name="FORM.xlsx", folder=workspace.inbox))
    folder = tmp_path / "feedback"
    assert invoke("--feedback", str(folder), str(workspace.inbox)).exit_code == 1
    names = sorted(p.name for p in folder.rglob("*.xlsx"))
    assert len(names) == 4
    assert len({n.casefold() for n in names}) == 4
    first = {p.name: p.read_bytes() for p in folder.rglob("*.xlsx")}
    assert invoke("--feedback", str(folder), str(workspace.inbox)).exit_code == 1
    assert {p.name: p.read_bytes() for p in folder.rglob("*.xlsx")} == first


def test_the_review_sheets_feedback_goes_to_the_departments_folder(tmp_path: Path) -> None:
    """(It went under 未知单位: the review sheet names no committee.)"""
    import datetime as dt

    from registerkit import INNOVATION, Department, application, instance, review

    dept = Department(tmp_path / "ws")
    at = dt.datetime(2011, 12, 1, 9)
    dept.receive(application(dept.ws, "T01", saved_at=at))
    sheet = review(dept.ws, dept.review_rows(), {instance("T01", INNOVATION): "待定"}, saved_at=at)
    path = sheet.put(tmp_path / "mail")
    folder = tmp_path / "feedback"
    assert (
        invoke("--workspace", str(dept.ws.root), "--feedback", str(folder), str(path)).exit_code
        == 1
    )
    assert [p.relative_to(folder).parts[0] for p in folder.rglob("*.xlsx")] == ["县委组织部"]


@pytest.mark.parametrize("form", ["review", "acceptance"])
def test_the_departments_forms_have_their_feedback_in_its_folder(tmp_path: Path, form: str) -> None:
    """The acceptance sheet, filled in by the department's acceptance group, has its
    marked-up copy where its template went, not in the committee's folder (from which
    ``send feedback`` would mail it to the committee)."""
    from xlsxflow.feedback import feedback_path
    from xlsxflow.problems import FileResult

    result = FileResult(path=str(tmp_path / "验收.xlsx"), form=form, committee="T01")
    where = feedback_path(result, tmp_path / "feedback", None, "县委组织部")
    assert where.relative_to(tmp_path / "feedback").parts[0] == "县委组织部"


def test_feedback_copy_sent_back_unchanged_reports_the_same_problems(
    workspace: Workspace, bad: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "feedback"
    assert invoke("--feedback", str(folder), str(bad)).exit_code == 1
    [copy] = sorted(folder.rglob("*.xlsx"))
    again = read(copy, workspace)
    assert again.form == KIND and again.instance == "2011.T01.application_innovation.1"
    assert issues(again) == issues(read(bad, workspace))


def test_feedback_for_a_valid_file_with_warnings(workspace: Workspace, tmp_path: Path) -> None:
    path = filled_application(workspace, {"contact_phone": 13079100000})
    folder = tmp_path / "feedback"
    result = invoke("--feedback", str(folder), str(path))
    assert result.exit_code == 0
    [copy] = sorted(folder.rglob("*.xlsx"))
    book = openpyxl.load_workbook(copy)
    cell = at("", KIND, "contact_phone")[2]
    assert book["申报表"][cell].comment is not None
    assert f"已写入：{copy}" in result.stdout


def test_no_feedback_for_unidentified_files(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    folder = tmp_path / "feedback"
    assert invoke("--feedback", str(folder), str(path)).exit_code == 1
    assert not folder.exists() or not list(folder.rglob("*.xlsx"))


def test_validate_starts_its_readers_ahead_for_the_files_it_lists(
    workspace: Workspace, bad: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(Spawned, on Windows, they then start while validate imports its modules.)"""
    from xlsxflow import parallel

    filled_application(workspace, {}, name="T01_good.xlsx")
    asked: list[int] = []
    real = parallel.readers_ahead
    monkeypatch.setattr(
        parallel, "readers_ahead", lambda files: (asked.append(files), real(files))[1]
    )
    assert invoke("-q", str(bad.parent)).exit_code == 1
    assert asked == [2]
