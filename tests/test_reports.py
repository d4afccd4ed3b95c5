"""Summary workbooks (issue 6): ``xlsxflow report DIR quarterly|annual|approval``.

A whole demo cycle is played once for the module; the reports are read back with openpyxl
and checked against what ``schedule --json``, ``score --json`` and the register say, then
for print settings, charts, conditional formats, determinism and the error cases. The PDF
tests print all three with LibreOffice headless in one batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import random
import re
import subprocess
import sys
import zipfile
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from xlsxflow.cli import cli
from xlsxflow.compliance import VERDICT_TEXT
from xlsxflow.config import Config
from xlsxflow.demo.content import application_values
from xlsxflow.demo.cycle import play
from xlsxflow.errors import message
from xlsxflow.sample_county import sample_roster
from xlsxflow.templates import plan_templates, render_job
from xlsxflow.workspace import Workspace, init_workspace

AS_OF = "2012-06-30"
FIRST = "2012-03-31"
QUARTERLY = f"2011年度第2次调度会汇总（{AS_OF}）.xlsx"
ANNUAL = "2011年度项目评估.xlsx"
APPROVAL = "2011年度立项批复名单.xlsx"
QUARTERLY_SHEETS = [
    "概览",
    "项目进度明细",
    "逾期任务清单",
    "限期整改名单",
    "经验交流推广名单",
    "未报送名单",
    "调整建议",
]
ANNUAL_SHEETS = ["概览", "评估得分", "推广名单", "表彰名单", "党委汇总"]
HEADER_ROW = 3  # title, subtitle, then the header row of every table sheet
CJK = re.compile(r"[\u4e00-\u9fff]")


def run(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def written(result: Result) -> Path:
    assert result.exit_code == 0, (result.output, result.exception)
    return Path(result.output.split("已生成：", 1)[1].strip())


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    demo = play(tmp_path_factory.mktemp("reports") / "ws")
    return demo.ws


@pytest.fixture(scope="module")
def untouched(ws: Workspace) -> dict[str, str]:
    """The register's files before any report or --no-save figure is computed."""
    return {name: sha256(ws.root / name) for name in ("register.xlsx", "data/register.sqlite")}


@pytest.fixture(scope="module")
def reports(ws: Workspace, untouched: dict[str, str]) -> dict[str, Path]:
    return {
        "quarterly": written(run("report", ws.root, "quarterly", "--as-of", AS_OF)),
        "annual": written(run("report", ws.root, "annual")),
        "approval": written(run("report", ws.root, "approval")),
    }


@pytest.fixture(scope="module")
def schedule(ws: Workspace, untouched: dict[str, str]) -> dict[str, Any]:
    result = run("schedule", ws.root, "--as-of", AS_OF, "--json", "--no-save")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def first_schedule(ws: Workspace, untouched: dict[str, str]) -> dict[str, Any]:
    result = run("schedule", ws.root, "--as-of", FIRST, "--json", "--no-save")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def score(ws: Workspace) -> dict[str, Any]:
    result = run("score", ws.root, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def quarterly(reports: dict[str, Path]) -> openpyxl.Workbook:
    return openpyxl.load_workbook(reports["quarterly"])


@pytest.fixture(scope="module")
def annual(reports: dict[str, Path]) -> openpyxl.Workbook:
    return openpyxl.load_workbook(reports["annual"])


@pytest.fixture(scope="module")
def approval(reports: dict[str, Path]) -> openpyxl.Workbook:
    return openpyxl.load_workbook(reports["approval"])


# -- reading the workbooks -----------------------------------------------------------------


def headers(ws: Worksheet) -> list[str]:
    return [c.value for c in ws[HEADER_ROW] if c.value is not None]


def table(ws: Worksheet) -> list[dict[str, Any]]:
    """The rows under the header row as dicts (the "（无）" placeholder gives none)."""
    head = headers(ws)
    rows = []
    for values in ws.iter_rows(min_row=HEADER_ROW + 1, max_col=len(head), values_only=True):
        if values[0] == "（无）" and all(v is None for v in values[1:]):
            continue
        rows.append(dict(zip(head, values, strict=True)))
    return rows


def figures(ws: Worksheet) -> dict[str, Any]:
    """The key figures of an overview sheet: a label cell above each figure."""
    found = {}
    for row in range(4, 4 + 2 * 6, 2):
        for col in range(1, 9, 2):
            label = ws.cell(row, col).value
            if isinstance(label, str) and label:
                found[label] = ws.cell(row + 1, col).value
    return found


def chart_data(overview: Worksheet) -> dict[str, list[tuple[Any, ...]]]:
    """The data behind the overview's charts, on the hidden last sheet 图表数据: a title
    row (chart title, series names), one row per category, a blank row."""
    ws = overview.parent["图表数据"]
    assert ws.sheet_state == "hidden"
    col = 1
    blocks: dict[str, list[tuple[Any, ...]]] = {}
    row = 1
    while ws.cell(row, col).value:
        title = ws.cell(row, col).value
        width = 1
        while ws.cell(row, col + width).value:
            width += 1
        row += 1
        points = []
        while ws.cell(row, col).value is not None:
            points.append(tuple(ws.cell(row, col + k).value for k in range(width)))
            row += 1
        blocks[title] = points
        row += 1
    return blocks


def day(value: Any) -> str | None:
    """A date cell as ISO text (openpyxl gives datetimes)."""
    return None if value is None else value.date().isoformat()


def num(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def text_width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.datetime):
        return 10
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in str(value))


def column_widths(ws: Worksheet) -> dict[int, float]:
    widths = {}
    for dim in ws.column_dimensions.values():
        if dim.width:
            for i in range(dim.min, dim.max + 1):
                widths[i] = dim.width
    return widths


def committee_name(ws: Workspace, code: str) -> str:
    return ws.roster.committee(code).name


# -- the files -----------------------------------------------------------------------------


def test_reports_are_named_by_cycle_and_meeting(ws: Workspace, reports: dict[str, Path]) -> None:
    assert {k: p.name for k, p in reports.items()} == {
        "quarterly": QUARTERLY,
        "annual": ANNUAL,
        "approval": APPROVAL,
    }
    assert all(p.parent == ws.reports for p in reports.values())
    assert {QUARTERLY, ANNUAL, APPROVAL} <= {p.name for p in ws.reports.iterdir()}


def test_reports_change_nothing_in_the_register(
    ws: Workspace, reports: dict[str, Path], schedule: dict[str, Any], untouched: dict[str, str]
) -> None:
    assert {name: sha256(ws.root / name) for name in untouched} == untouched


def test_sheets_in_order_with_chinese_names(
    quarterly: openpyxl.Workbook, annual: openpyxl.Workbook, approval: openpyxl.Workbook
) -> None:
    assert quarterly.sheetnames == [*QUARTERLY_SHEETS, "图表数据"]
    assert annual.sheetnames == [*ANNUAL_SHEETS, "图表数据"]
    assert approval.sheetnames == ["立项批复名单"]
    for book in (quarterly, annual):
        assert book.active.title == "概览"  # a leader opens the overview first


def test_the_overviews_speak_only_to_the_department(
    quarterly: openpyxl.Workbook, annual: openpyxl.Workbook
) -> None:
    """No engineers' words (DOMAIN, field ids) in what a leader reads."""
    for book in (quarterly, annual):
        text = " ".join(
            str(v) for row in book["概览"].iter_rows(values_only=True) for v in row if v
        )
        assert "DOMAIN" not in text and "_" not in text, text
    subtitle = str(annual["概览"]["A2"].value)
    assert subtitle.startswith("县委组织部（按项目评估办法，权重 40/30/15/15）"), subtitle


def test_document_properties_are_fixed(ws: Workspace, reports: dict[str, Path]) -> None:
    created = dt.datetime.combine(ws.config.cycle.notice_date, dt.time())
    for path in reports.values():
        props = openpyxl.load_workbook(path, read_only=True).properties
        assert props.created == created
        assert props.modified == created
        assert props.creator == "xlsxflow"
        assert props.title and CJK.search(props.title)


def test_writing_again_gives_identical_bytes(ws: Workspace, reports: dict[str, Path]) -> None:
    first = {kind: path.read_bytes() for kind, path in reports.items()}
    again = {
        "quarterly": written(run("report", ws.root, "quarterly", "--as-of", AS_OF)),
        "annual": written(run("report", ws.root, "annual")),
        "approval": written(run("report", ws.root, "approval")),
    }
    assert again == reports
    assert {kind: path.read_bytes() for kind, path in again.items()} == first


def test_same_bytes_from_another_process(ws: Workspace, reports: dict[str, Path]) -> None:
    """Nothing depends on hash order or the clock: a fresh interpreter with another hash
    seed writes the same bytes."""
    first = {kind: path.read_bytes() for kind, path in reports.items()}
    script = (
        "import datetime, sys\n"
        "from xlsxflow.workspace import Workspace\n"
        "from xlsxflow.reports.quarterly import write_quarterly\n"
        "from xlsxflow.reports.annual import write_annual\n"
        "from xlsxflow.reports.approval import write_approval\n"
        "ws = Workspace.open(sys.argv[1])\n"
        f"write_quarterly(ws, datetime.date.fromisoformat('{AS_OF}'))\n"
        "write_annual(ws)\n"
        "write_approval(ws)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    subprocess.run([sys.executable, "-c", script, str(ws.root)], check=True, env=env)
    assert {kind: path.read_bytes() for kind, path in reports.items()} == first


# -- print layout, every sheet -------------------------------------------------------------


def all_sheets(*books: openpyxl.Workbook) -> list[Worksheet]:
    return [s for book in books for s in book.worksheets if s.sheet_state == "visible"]


def test_every_sheet_prints_on_a4_fit_to_width_with_page_numbers(
    quarterly: openpyxl.Workbook, annual: openpyxl.Workbook, approval: openpyxl.Workbook
) -> None:
    for sheet in all_sheets(quarterly, annual, approval):
        setup = sheet.page_setup
        assert int(setup.paperSize) == 9, sheet.title  # A4
        if sheet.title == "概览":  # (at a set scale: Excel ignores breaks on a fitted sheet)
            fitted = sheet.sheet_properties.pageSetUpPr
            assert not (fitted and fitted.fitToPage), sheet.title
            assert int(setup.scale) == 85, sheet.title
        else:
            assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
            assert setup.fitToWidth in (None, 1), sheet.title  # 1 wide (1 is the default)
            assert setup.fitToHeight == 0, sheet.title  # as many pages long as needed
        footer = sheet.oddFooter.center.text or ""
        assert "&P" in footer and "&N" in footer, sheet.title
        assert sheet.print_area, sheet.title
        assert setup.orientation in ("landscape", "portrait"), sheet.title


def test_table_sheets_repeat_freeze_and_filter_the_header(
    quarterly: openpyxl.Workbook, annual: openpyxl.Workbook, approval: openpyxl.Workbook
) -> None:
    for sheet in all_sheets(quarterly, annual, approval):
        if sheet.title == "概览":
            continue
        head = headers(sheet)
        last = get_column_letter(len(head))
        assert sheet.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}", sheet.title
        assert sheet.freeze_panes == f"A{HEADER_ROW + 1}", sheet.title
        assert sheet.auto_filter.ref == f"A{HEADER_ROW}:{last}{sheet.max_row}", sheet.title
        assert sheet.print_area == f"'{sheet.title}'!$A$1:${last}${sheet.max_row}"
        assert sheet.max_column == len(head), sheet.title
        # a title across the table, then Chinese headers
        assert f"A1:{last}1" in {str(r) for r in sheet.merged_cells.ranges}, sheet.title
        assert CJK.search(str(sheet["A1"].value)), sheet.title
        assert all(CJK.search(h) for h in head), (sheet.title, head)


def test_wide_tables_print_landscape(quarterly: openpyxl.Workbook) -> None:
    for title in ("项目进度明细", "逾期任务清单", "限期整改名单"):
        assert quarterly[title].page_setup.orientation == "landscape", title


def test_columns_are_wide_enough_for_their_content(
    quarterly: openpyxl.Workbook, annual: openpyxl.Workbook, approval: openpyxl.Workbook
) -> None:
    """Each column fits its header and values, up to a cap (long text wraps)."""
    for sheet in all_sheets(quarterly, annual, approval):
        if sheet.title == "概览":
            continue
        widths = column_widths(sheet)
        for col in range(1, len(headers(sheet)) + 1):
            cells = sheet.iter_rows(min_row=HEADER_ROW, min_col=col, max_col=col, values_only=True)
            need = max(text_width(v) for (v,) in cells)
            assert widths.get(col, 0) >= min(need, 28), (sheet.title, col, need)


def test_overview_prints_the_figures_and_charts_not_the_chart_data(
    quarterly: openpyxl.Workbook, annual: openpyxl.Workbook
) -> None:
    for book in (quarterly, annual):
        sheet = book["概览"]
        area = sheet.print_area
        assert re.fullmatch(r"'概览'!\$A\$1:\$H\$\d+", area), area
        assert sheet.page_setup.orientation == "landscape"
        bottom = max(chart.anchor._from.row for chart in sheet._charts)
        assert int(area.rsplit("$", 1)[1]) > bottom + 1  # the charts are on the page


def _page_height(sheet: Any) -> float:
    """What one printed page holds of the sheet, in its points (at its print scale)."""
    scale = int(sheet.page_setup.scale or 100) / 100
    return (595.3 - 72 * (sheet.page_margins.top + sheet.page_margins.bottom)) / scale


def _printed_pages_of_charts(sheet: Any) -> list[tuple[float, float, float]]:
    """Each chart's (top, bottom, top of the page it starts on), in points, as a printer
    lays out the sheet: landscape A4 less the margins, pages starting at the manual
    breaks and then every page height (the overview prints unscaled)."""
    assert (sheet.page_setup.paperSize, sheet.page_setup.orientation) == (9, "landscape")
    page = _page_height(sheet)

    def at(row: int, offset_emu: int) -> float:
        heights = (sheet.row_dimensions[r + 1].height or 15.0 for r in range(row))
        return sum(heights) + offset_emu / 12700

    manual = [at(b.id, 0) for b in sheet.row_breaks.brk]
    out = []
    for chart in sheet._charts:
        top = at(chart.anchor._from.row, chart.anchor._from.rowOff)
        start = max([0.0, *(m for m in manual if m <= top)])
        while start + page <= top:  # automatic breaks after the last manual one
            start += page
        out.append((top, at(chart.anchor.to.row, chart.anchor.to.rowOff), start))
    return out


def test_no_chart_is_cut_across_two_printed_pages(
    quarterly: openpyxl.Workbook, annual: openpyxl.Workbook
) -> None:
    """The second pair of charts crossed the end of the first page and printed in two
    halves; a chart that would cross a page end now starts the next page."""
    for book in (quarterly, annual):
        sheet = book["概览"]
        page = _page_height(sheet)
        charts = _printed_pages_of_charts(sheet)
        assert charts, book
        for top, bottom, start in charts:
            assert bottom <= start + page, (book, top, bottom, start)
    first = _printed_pages_of_charts(quarterly["概览"])[:2]
    assert [start for _top, _bottom, start in first] == [0, 0]  # not a page each


def test_a_countys_committees_chart_is_cut_into_charts_of_a_page_each() -> None:
    """150 committees as bars made one chart four pages tall, cut wherever it started:
    they are four charts now (38, 38, 38, 36), each printed whole on a page of its own."""
    from xlsxflow.excel.report_book import ChartSpec, Overview, ReportBook

    names = [f"第{i:03d}党委" for i in range(150)]
    book = ReportBook("t", dt.datetime(2011, 10, 28), "d")
    book.overview(
        Overview(
            "概览",
            "标题",
            "副标题",
            [("申报项目", 1)],
            [
                ChartSpec(
                    "各党委按期完成率（%）",
                    "bar",
                    names,
                    [("率", [float(i) for i in range(150)])],
                    percent=True,
                    full_width=True,
                )
            ],
        )
    )
    data = book.close()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        charts = [
            z.read(n).decode() for n in sorted(z.namelist()) if re.match(r"xl/charts/chart\d+", n)
        ]
    titles = sorted(re.search(r"各党委按期完成率（%）（\d/\d）", c).group() for c in charts)
    assert titles == [f"各党委按期完成率（%）（{k}/4）" for k in range(1, 5)]
    sheet = openpyxl.load_workbook(io.BytesIO(data))["概览"]
    page = _page_height(sheet)
    placed = _printed_pages_of_charts(sheet)
    assert len(placed) == 4 and len({start for *_, start in placed}) == 4  # a page each
    for top, bottom, start in placed:
        assert bottom <= start + page, (top, bottom, start)
    values = openpyxl.load_workbook(io.BytesIO(data))["图表数据"]
    bars = [r[0] for r in values.iter_rows(values_only=True) if r and r[0] in names]
    assert bars == names  # every committee once, in order


# -- quarterly: 调度会汇总 -------------------------------------------------------------------


def test_quarterly_overview_has_native_charts(
    quarterly: openpyxl.Workbook, reports: dict[str, Path]
) -> None:
    assert len(quarterly["概览"]._charts) >= 5
    with zipfile.ZipFile(reports["quarterly"]) as z:
        charts = [z.read(n).decode() for n in z.namelist() if re.match(r"xl/charts/chart\d+", n)]
    assert len(charts) >= 5
    kinds = {k for c in charts for k in re.findall(r"<c:(\w+)Chart>", c)}
    assert {"pie", "bar", "line"} <= kinds
    titles = "".join(charts)
    for title in (
        "立项项目类型分布",
        "项目方向分布",
        "项目状态",
        "按期完成率变化",
        "各党委按期完成率",
    ):
        assert title in titles
    # every other sheet is a plain table
    assert all(not quarterly[s]._charts for s in QUARTERLY_SHEETS[1:])


def test_quarterly_key_figures_match_the_county_totals(
    ws: Workspace, quarterly: openpyxl.Workbook, schedule: dict[str, Any]
) -> None:
    county = schedule["county"]
    found = figures(quarterly["概览"])
    assert found["本次调度项目"] == county["projects"] == len(schedule["projects"])
    assert num(found["全县按期完成率（%）"]) == num(county["compliance"])
    assert found["经验交流推广"] == county["commend"]
    assert found["限期整改"] == county["rectify"]
    assert found["未报送台帐"] == len(county["missing_ledger"])
    assert found["立项项目"] >= county["projects"]
    assert found["申报项目"] >= found["立项项目"]
    title = quarterly["概览"]["A1"].value
    assert title == f"{ws.config.cycle.county}2011年度基层党建项目第2次调度会汇总"
    assert AS_OF in quarterly["概览"]["A2"].value


def test_quarterly_charts_show_the_figures(
    quarterly: openpyxl.Workbook, schedule: dict[str, Any], first_schedule: dict[str, Any]
) -> None:
    sheet = quarterly["概览"]
    data = chart_data(sheet)
    assert len(data) == len(sheet._charts) == 5
    found = figures(sheet)
    assert sum(v for _, v in data["立项项目类型分布"]) == found["立项项目"]
    assert sum(v for _, v in data["项目方向分布（立项）"]) == found["立项项目"]
    assert sum(v for _, v in data["项目状态"]) == found["申报项目"]
    assert [(d, num(v)) for d, v in data["全县按期完成率变化（%）"]] == [
        (FIRST, num(first_schedule["county"]["compliance"])),
        (AS_OF, num(schedule["county"]["compliance"])),
    ]
    by_committee = {name: num(v) for name, v in data["各党委按期完成率（%）"]}
    measured = [c for c in schedule["committees"] if c["projects"]]
    assert by_committee == {c["name"]: num(c["compliance"]) for c in measured}
    # categories are Chinese labels, never codes
    assert all(CJK.search(str(c)) for t, pts in data.items() if "变化" not in t for c, *_ in pts)


def test_quarterly_change_since_the_last_meeting(
    quarterly: openpyxl.Workbook, schedule: dict[str, Any], first_schedule: dict[str, Any]
) -> None:
    before = first_schedule["county"]["compliance"]
    change = figures(quarterly["概览"])["较上次变化（百分点）"]
    assert isinstance(change, str)
    expected = Decimal(str(schedule["county"]["compliance"])) - Decimal(str(before))
    assert abs(Decimal(change) - expected) <= Decimal("0.1")
    assert change.startswith("+") == (expected > 0)


def test_project_detail_equals_schedule_json(
    ws: Workspace, quarterly: openpyxl.Workbook, schedule: dict[str, Any]
) -> None:
    rows = table(quarterly["项目进度明细"])
    assert [r["立项编号"] for r in rows] == [p["project"] for p in schedule["projects"]]
    assert len(rows) == len(schedule["projects"]) >= 30
    for row, p in zip(rows, schedule["projects"], strict=True):
        assert row["项目名称"] == p["name"]
        assert row["领办单位"] == committee_name(ws, p["committee"])
        if not p["has_ledger"]:
            assert row["调度结论"] == "未报送台帐"
            assert row["任务数"] is None and row["按期完成率（%）"] is None
            continue
        assert row["任务数"] == len(p["tasks"])
        assert {
            "due": row["到期"],
            "on_time": row["按期完成"],
            "late": row["逾期完成"],
            "overdue": row["逾期未完成"],
            "pending": row["未到期"],
        } == {k: p[k] for k in ("due", "on_time", "late", "overdue", "pending")}, p["project"]
        assert num(row["按期完成率（%）"]) == num(p["compliance"]), p["project"]
        assert num(row["计划进度（%）"]) == num(p["planned_progress"]), p["project"]
        assert num(row["实际进度（%）"]) == num(p["reported_progress"]), p["project"]
        assert row["调度结论"] == VERDICT_TEXT[p["verdict"]], p["project"]
        assert day(row["整改期限"]) == p["rectify_by"], p["project"]
    verdicts = Counter(r["调度结论"] for r in rows)
    assert verdicts["限期整改"] and verdicts["经验交流推广"] and verdicts["正常推进"]
    # no ledger since the last meeting: still listed, with the last ledger's figures
    assert set(schedule["county"]["missing_ledger"]) <= {r["立项编号"] for r in rows}


def test_overdue_tasks_listed_longest_first_and_red(
    quarterly: openpyxl.Workbook, schedule: dict[str, Any], ws: Workspace
) -> None:
    sheet = quarterly["逾期任务清单"]
    rows = table(sheet)
    expected = {
        (p["project"], t["task"], t["days_overdue"], t["target"])
        for p in schedule["projects"]
        for t in p.get("tasks", [])
        if t["status"] == "overdue"
    }
    assert {(r["立项编号"], r["任务序号"], r["逾期天数"], r["任务目标"]) for r in rows} == expected
    assert len(rows) == len(expected) > 0
    assert all(r["状态"] == "逾期未完成" for r in rows)
    days = [r["逾期天数"] for r in rows]
    assert days == sorted(days, reverse=True)
    # red where more than the rectification threshold overdue
    threshold = ws.config.compliance.rectify_overdue_days
    assert any(d > threshold for d in days)
    col = get_column_letter(headers(sheet).index("逾期天数") + 1)
    rules = [(str(cf.sqref), rule) for cf in sheet.conditional_formatting for rule in cf.rules]
    assert len(rules) == 1
    ((sqref, rule),) = rules
    assert sqref == f"{col}{HEADER_ROW + 1}:{col}{HEADER_ROW + len(rows)}"
    assert (rule.type, rule.operator, rule.formula) == ("cellIs", "greaterThan", [str(threshold)])
    assert rule.dxf.font.color.rgb.endswith("9C0006")  # dark red text
    assert rule.dxf.fill.bgColor.rgb.endswith("FFC7CE")  # on light red
    assert str(threshold) in sheet["A2"].value


def test_rectify_commend_missing_and_adjust_lists(
    ws: Workspace, quarterly: openpyxl.Workbook, schedule: dict[str, Any]
) -> None:
    projects = schedule["projects"]
    rectify = table(quarterly["限期整改名单"])
    wanted = [p for p in projects if p.get("verdict") == "rectify"]
    assert [r["立项编号"] for r in rectify] == [p["project"] for p in wanted]
    for row, p in zip(rectify, wanted, strict=True):
        assert day(row["整改期限"]) == p["rectify_by"] is not None
        assert row["最长逾期天数"] == p["max_days_overdue"]
        assert (row["连续两次整改"] == "是") == p["adjust"]
        assert row["说明"] == p["explanation"]
    commend = table(quarterly["经验交流推广名单"])
    assert [r["立项编号"] for r in commend] == [
        p["project"] for p in projects if p.get("verdict") == "commend"
    ]
    missing = table(quarterly["未报送名单"])
    assert [r["立项编号"] for r in missing] == schedule["county"]["missing_ledger"]
    for row in missing:
        assert row["项目名称"] and row["领办单位"] and row["联系人"] and row["联系电话"]
    adjust = table(quarterly["调整建议"])
    flagged = [r["立项编号"] for r in adjust if r["来由"] == "连续两次限期整改"]
    assert flagged == [p["project"] for p in projects if p.get("adjust")]
    assert {r["来由"] for r in adjust} <= {"连续两次限期整改", "基层党委申请调整"}


def test_quarterly_at_the_first_meeting_and_between_meetings(ws: Workspace) -> None:
    first = written(run("report", ws.root, "quarterly", "--as-of", FIRST))
    assert first.name == f"2011年度第1次调度会汇总（{FIRST}）.xlsx"
    book = openpyxl.load_workbook(first)
    assert figures(book["概览"])["较上次变化（百分点）"] == "—"
    between = written(run("report", ws.root, "quarterly", "--as-of", "2012-05-15"))
    assert between.name == "2011年度调度汇总（2012-05-15）.xlsx"
    first.unlink()
    between.unlink()


# -- annual: 年度评估 ------------------------------------------------------------------------


def test_annual_scores_equal_score_json(
    ws: Workspace, annual: openpyxl.Workbook, score: dict[str, Any]
) -> None:
    rows = table(annual["评估得分"])
    projects = score["projects"]
    assert [r["立项编号"] for r in rows] == [p["project"] for p in projects]
    assert len(rows) >= 20
    for row, p in zip(rows, projects, strict=True):
        assert row["项目名称"] == p["name"]
        assert row["领办单位"] == committee_name(ws, p["committee"])
        for header, key in (
            ("目标实现率（%）", "goal_rate"),
            ("群众满意率（%）", "satisfaction_rate"),
            ("综合效益", "benefit"),
            ("经验可推广性", "extensibility"),
            ("得分", "score"),
        ):
            assert num(row[header]) == num(p[key]), (p["project"], header)
        assert row["目标实现率来源"] == p["goal_source"]
        assert row["等次"] == p["grade"]
        assert row["类内排名"] == p["rank_in_type"]
        assert row["计算说明"] == p["explanation"]
    promotion = table(annual["推广名单"])
    assert [(r["立项编号"], r["推广建议"]) for r in promotion] == [
        (p["project"], p["promotion"]) for p in projects if p["promotion"]
    ]
    commend = table(annual["表彰名单"])
    assert [r["立项编号"] for r in commend] == [p["project"] for p in projects if p["commend"]]
    assert commend and all(r["得分"] is not None for r in commend)


def test_annual_committee_totals_and_key_figures(
    annual: openpyxl.Workbook, score: dict[str, Any]
) -> None:
    totals = table(annual["党委汇总"])
    assert [r["单位编号"] for r in totals] == [c["committee"] for c in score["committees"]]
    for row, c in zip(totals, score["committees"], strict=True):
        assert row["单位名称"] == c["name"]
        assert row["参评项目"] == c["projects"]
        assert num(row["平均得分"]) == num(c["average"])
        assert {g: row[g] for g in c["grades"]} == c["grades"]
    found = figures(annual["概览"])
    grades = Counter(p["grade"] for p in score["projects"])
    assert found["参评项目"] == len(score["projects"])
    assert {g: found[g] for g in ("优秀", "良好", "合格", "不合格")} == {
        g: grades[g] for g in ("优秀", "良好", "合格", "不合格")
    }
    assert found["表彰对象"] == sum(1 for p in score["projects"] if p["commend"])
    assert len(annual["概览"]._charts) == 2
    data = chart_data(annual["概览"])
    assert dict(data["等次分布"]) == {g: grades[g] for g in ("优秀", "良好", "合格", "不合格")}
    by_type = data["各类项目等次分布"]
    assert len(by_type) == 3 and all(CJK.search(t) for t, *_ in by_type)
    assert sum(sum(counts) for _, *counts in by_type) == len(score["projects"])


# -- approval: 立项批复名单 -------------------------------------------------------------------


def test_approval_has_one_row_per_approved_project(
    ws: Workspace, approval: openpyxl.Workbook
) -> None:
    sheet = approval["立项批复名单"]
    rows = table(sheet)
    register = openpyxl.load_workbook(ws.register_path, read_only=True)
    records = list(register["项目总台账"].iter_rows(values_only=True))
    head = list(records[0])
    approved = {
        r[head.index("立项编号")]: dict(zip(head, r, strict=True))
        for r in records[1:]
        if r[head.index("立项编号")]
    }
    assert sorted(r["立项编号"] for r in rows) == sorted(approved)
    assert [r["序号"] for r in rows] == list(range(1, len(rows) + 1))
    order = {"CX": 0, "SF": 1, "TG": 2}
    numbers = [r["立项编号"] for r in rows]
    assert numbers == sorted(numbers, key=lambda n: (order[n.split("-")[2]], n))
    for row in rows:
        record = approved[row["立项编号"]]
        assert row["项目名称"] == record["项目名称"]
        assert row["领办单位"] == record["申报单位"]
        assert row["承办党组织"] == record["承办党组织"]
        assert row["项目方向"] == record["项目方向"]
        assert row["计划开始"] == record["计划开始时间"]
        assert row["计划完成"] == record["计划完成时间"]
        assert num(row["党委专项资金（元）"]) == num(record["党委专项资金（元）"])
        assert num(row["县管党费扶持（元）"]) == num(record["申请县管党费扶持（元）"])
        assert row["项目类型"].startswith(record["项目类型"])
    assert f"共 {len(rows)} 个项目" in sheet["A2"].value
    assert sheet["A1"].value == f"{ws.config.cycle.county}2011年度基层党建工作项目立项批复名单"


# -- a register with applications only -------------------------------------------------------


def chart_refs(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        parts = [n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
        return [ref for n in parts for ref in re.findall(r"<c:f>([^<]*)</c:f>", z.read(n).decode())]


def backwards(ref: str) -> bool:
    """A range written bottom-up (U30:U29): what an empty category list used to give."""
    cells = re.findall(r"\$([A-Z]+)\$(\d+)", ref)
    if len(cells) != 2:
        return False
    (c1, r1), (c2, r2) = cells
    return (len(c2), c2) < (len(c1), c1) or int(r2) < int(r1)


def test_chart_ranges_run_forward(reports: dict[str, Path]) -> None:
    for kind in ("quarterly", "annual"):
        refs = chart_refs(reports[kind])
        assert refs and [r for r in refs if backwards(r)] == [], kind


@pytest.fixture(scope="module")
def early(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """One application merged, nothing reviewed: no project runs, none is scored."""
    ws = init_workspace(tmp_path_factory.mktemp("early") / "ws", Config(), sample_roster(3))
    kind = "application_innovation"
    (job,) = plan_templates(ws.config, ws.roster, ws.outbox, committees=["T01"], kinds=[kind])
    values, rows = application_values(random.Random(6), ws.roster.committee("T01"), kind, ws.config)
    saved = dt.datetime.combine(values["signoff_date"], dt.time(9))
    (ws.inbox / "申报表.xlsx").write_bytes(render_job(job, ws.config, values, rows, saved_at=saved))
    assert run("merge", ws.root).exit_code == 0
    return ws


def test_reports_before_any_project_runs(early: Workspace) -> None:
    paths = [
        written(run("report", early.root, "quarterly", "--as-of", FIRST)),
        written(run("report", early.root, "annual")),
        written(run("report", early.root, "approval")),
    ]
    for path in paths:
        book = openpyxl.load_workbook(path)
        for sheet in book.worksheets:
            if sheet.title == "图表数据":
                continue  # the hidden numbers behind the charts
            if sheet.title == "概览":
                # every chart still has its data, shown as "（无）" where there is none
                refs = chart_refs(path)
                assert refs and [r for r in refs if backwards(r)] == []
                continue
            assert table(sheet) == [], (path.name, sheet.title)
            assert sheet["A4"].value == "（无）"
            assert sheet.auto_filter.ref.endswith("4")
    quarterly = openpyxl.load_workbook(paths[0])
    data = chart_data(quarterly["概览"])
    assert data["各党委按期完成率（%）"] == [("（无）", 0)]
    assert figures(quarterly["概览"])["申报项目"] == 1
    approval = openpyxl.load_workbook(paths[2])
    assert "共 0 个项目" in approval["立项批复名单"]["A2"].value


# -- errors ----------------------------------------------------------------------------------


def test_quarterly_without_a_date_is_a_usage_error(ws: Workspace) -> None:
    result = run("report", ws.root, "quarterly")
    assert result.exit_code == 2
    assert "--as-of" in result.output


def test_unknown_kind_is_a_usage_error(ws: Workspace) -> None:
    assert run("report", ws.root, "weekly").exit_code == 2


@pytest.mark.parametrize("args", [["quarterly", "--as-of", AS_OF], ["annual"], ["approval"]])
def test_workspace_never_merged(tmp_path: Path, args: list[str]) -> None:
    fresh = init_workspace(tmp_path / "ws", Config(), sample_roster(3))
    result = run("report", fresh.root, *args)
    assert result.exit_code == 2
    assert result.stderr.strip() == "错误：" + message("register.empty", path=fresh.root)
    assert "还没有合并过任何表格" in result.stderr
    assert list(fresh.reports.iterdir()) == []


def test_not_a_workspace(tmp_path: Path) -> None:
    result = run("report", tmp_path, "approval")
    assert result.exit_code == 2
    assert "找不到工作区" in result.stderr or "xlsxflow.toml" in result.stderr


# -- PDF through LibreOffice -----------------------------------------------------------------


@pytest.fixture(scope="module")
def pdfs(reports: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from realclient import to_pdf

    out = tmp_path_factory.mktemp("pdf")
    kinds = list(reports)
    paths = to_pdf([reports[k] for k in kinds], out)
    return dict(zip(kinds, paths, strict=True))


TITLES = {
    "quarterly": ["第2次调度会汇总", "项目进度明细", "逾期任务清单", "限期整改名单", "调整建议"],
    "annual": ["年度基层党建工作项目评估结果", "项目评估得分", "表彰对象建议名单"],
    "approval": ["年度基层党建工作项目立项批复名单", "立项编号"],
}


@pytest.mark.libreoffice
@pytest.mark.parametrize("kind", list(TITLES))
def test_report_prints_to_pdf(
    kind: str, pdfs: dict[str, Path], reports: dict[str, Path], ws: Workspace
) -> None:
    from realclient import pdf_pages, pdf_text

    pdf = pdfs[kind]
    book = openpyxl.load_workbook(reports[kind])
    sheets = sum(1 for s in book.worksheets if s.sheet_state == "visible")
    assert pdf_pages(pdf) >= sheets  # every visible sheet printed, each on a page at least
    text = re.sub(r"\s+", "", pdf_text(pdf))
    assert ws.config.cycle.county in text
    for title in TITLES[kind]:
        assert title in text, title
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert re.search(r"Page size:.*\(A4\)", info.stdout), info.stdout


@pytest.mark.libreoffice
def test_the_overview_prints_on_the_pages_its_breaks_make(
    pdfs: dict[str, Path], quarterly: openpyxl.Workbook
) -> None:
    """LibreOffice breaks the overview where we did and nowhere else: no automatic break
    falls through a chart (one did, through the second pair, before)."""
    from realclient import pdf_text

    sheet = quarterly["概览"]
    pages = pdf_text(pdfs["quarterly"]).split("\f")
    overview = next(i for i, text in enumerate(pages) if "项目进度明细" in text)
    assert overview == len(sheet.row_breaks.brk) + 1
    starts = sorted({start for _top, _bottom, start in _printed_pages_of_charts(sheet)})
    titles = ["立项项目类型分布", "项目方向分布", "项目状态", "按期完成率变化", "各党委按期完成率"]
    printed = [[i for i in range(overview) if t in re.sub(r"\s+", "", pages[i])] for t in titles]
    expected = [[starts.index(start)] for *_, start in _printed_pages_of_charts(sheet)]
    assert printed == expected


def test_a_tables_rows_read_back_as_written_with_every_cell_drawn() -> None:
    """Table rows are serialised in bulk (``excel.bulk_rows``) and spliced in: values,
    formats, borders of empty cells, the sheet's extent and what stays text."""
    import io

    import python_calamine

    from xlsxflow.excel.report_book import ReportBook, Table

    rows: list[list[Any]] = [
        ["甲单位", "很长的说明文字", dt.date(2012, 3, 31), 3, 87.5, Decimal("12.25")],
        ["=SUM(A1:A9)", "<r>不是富文本</r>", None, "", 0, None],
    ]
    book = ReportBook("汇总", dt.datetime(2012, 1, 1), "示例县")
    headers = ["单位", "说明", "日期", "个数", "比例", "金额"]
    book.table(Table("明细", "明细表", headers, rows, subtitle="副标题", wide=["说明"]))
    book.table(Table("空表", "空表", ["单位", "说明"], [], empty_text="（无）"))
    data = book.close()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["明细"]
    assert ws.max_row == 5 and ws.max_column == 6
    got = [[c.value for c in r] for r in ws.iter_rows(min_row=4)]
    assert got[0] == ["甲单位", "很长的说明文字", dt.datetime(2012, 3, 31), 3, 87.5, 12.25]
    assert got[1] == ["=SUM(A1:A9)", "<r>不是富文本</r>", None, None, 0, None]
    assert ws["A5"].data_type == "s"  # text, never a formula
    assert ws["C4"].number_format == "yyyy-mm-dd" and ws["F4"].number_format == "#,##0.##"
    assert ws["B4"].alignment.wrap_text and not ws["A4"].alignment.wrap_text
    assert all(ws.cell(5, c).border.left.style == "thin" for c in range(1, 7))  # empties too
    assert ws.auto_filter.ref == "A3:F5"
    empty = wb["空表"]
    assert empty.max_row == 4 and empty["A4"].value == "（无）"
    calamine = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert calamine.get_sheet_by_name("明细").to_python()[3][:2] == ["甲单位", "很长的说明文字"]


def test_earlier_meetings_keep_the_figure_they_were_presented_with(tmp_path: Path) -> None:
    """At the first meeting one ledger was in, its task overdue: 0 %. A ledger saved
    before that meeting but sent after it (all done on time) must not turn the first
    meeting into 100 % in the second meeting's history chart and change."""
    from registerkit import INNOVATION, Department, application, instance, ledger, review

    from xlsxflow.register.meetings import run_schedule

    dept = Department(tmp_path / "ws")
    at = dt.datetime(2011, 12, 1, 9)
    dept.receive(application(dept.ws, "T01", saved_at=at), application(dept.ws, "T02", saved_at=at))
    decisions = {instance(code, INNOVATION): "立项" for code in ("T01", "T02")}
    dept.receive(review(dept.ws, dept.review_rows(), decisions, saved_at=at))
    project = dept.project("T01", INNOVATION)
    early = dt.datetime(2012, 3, 20, 9)
    dept.receive(ledger(dept.ws, project, saved_at=early, progress=False, name="l1"))
    first = dt.date.fromisoformat(FIRST)
    assert run_schedule(dept.ws, first)["county"]["compliance"] == 0.0
    late = dt.datetime(2012, 3, 25, 9)  # (saved before the meeting, sent after it)
    dept.receive(ledger(dept.ws, project, saved_at=late, progress=True, name="l2"))
    book = openpyxl.load_workbook(
        written(run("report", dept.ws.root, "quarterly", "--as-of", AS_OF))
    )
    history = dict(chart_data(book["概览"])["全县按期完成率变化（%）"])
    assert num(history[FIRST]) == 0
    now = num(history[AS_OF])
    assert now > 0  # (task 1 done on time; task 2 due 2012-05-31, half done)
    assert Decimal(figures(book["概览"])["较上次变化（百分点）"]) == now
    # Only committees with a ledger have a figure: T02 (approved, no ledger sent) is not
    # shown at 100 %, nor are the other 28.
    (name,) = [n for n, _ in chart_data(book["概览"])["各党委按期完成率（%）"]]
    assert name == dept.ws.roster.committee("T01").name


def test_the_parts_of_a_cut_chart_share_one_scale() -> None:
    """Cut into parts, a chart of counts keeps one axis: bars of two parts compare."""
    from xlsxflow.excel.report_book import ChartSpec, Overview, ReportBook

    names = [f"第{i:03d}党委" for i in range(100)]
    book = ReportBook("t", dt.datetime(2011, 10, 28), "d")
    counts = [float(i % 7) for i in range(100)]
    chart = ChartSpec("各党委项目数", "bar", names, [("项目数", counts)], full_width=True)
    book.overview(Overview("概览", "标题", "副标题", [("申报项目", 1)], [chart]))
    with zipfile.ZipFile(io.BytesIO(book.close())) as z:
        charts = [
            z.read(n).decode() for n in sorted(z.namelist()) if re.match(r"xl/charts/chart\d+", n)
        ]
    assert len(charts) == 3
    assert [re.findall(r'<c:max val="([\d.]+)"/>', c) for c in charts] == [["6.0"]] * 3
