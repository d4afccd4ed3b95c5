"""The clerk's problem list: every problem of every file in one filterable workbook."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

from xlsxflow.excel.inert import new_workbook
from xlsxflow.problems import FileResult
from xlsxflow.roster import Roster

COLUMNS = (
    ("党委编号", 10),
    ("党委名称", 22),
    ("文件", 40),
    ("表格", 20),
    ("工作表", 12),
    ("单元格", 8),
    ("栏目", 20),
    ("代码", 24),
    ("级别", 6),
    ("问题说明", 80),
)
SEVERITY_TEXT = {"error": "错误", "warning": "提示"}
FIXED_TIME = dt.datetime(2000, 1, 1)


def render_issue_report(
    results: Sequence[FileResult],
    roster: Roster | None,
    form_names: dict[str, str],
    field_labels: dict[str, dict[str, str]],
) -> bytes:
    buffer = io.BytesIO()
    book = new_workbook(buffer)
    book.set_properties({"title": "报表校验问题清单", "author": "xlsxflow", "created": FIXED_TIME})
    head = book.add_format(
        {
            "bold": True,
            "font_name": "宋体",
            "bg_color": "#D9D9D9",
            "border": 1,
            "text_wrap": True,
            "valign": "vcenter",
        }
    )
    body = book.add_format({"font_name": "宋体", "text_wrap": True, "valign": "top"})
    error = book.add_format(
        {"font_name": "宋体", "font_color": "#C00000", "bold": True, "valign": "top"}
    )
    ws = book.add_worksheet("问题清单")
    for col, (label, width) in enumerate(COLUMNS):
        ws.set_column(col, col, width)
        ws.write_string(0, col, label, head)
    names = {c.code: c.name for c in roster.committees} if roster else {}
    row = 0
    for result in results:
        problems = list(result.problems)
        if result.skipped:
            continue
        for p in problems:
            row += 1
            labels = field_labels.get(result.form or "", {})
            values = (
                result.committee or "",
                names.get(result.committee or "", ""),
                result.path,
                form_names.get(result.form or "", ""),
                p.sheet,
                p.cell,
                labels.get(p.field, ""),
                p.code,
                SEVERITY_TEXT[p.severity],
                p.message,
            )
            for col, value in enumerate(values):
                fmt = error if col == 8 and p.severity == "error" else body
                ws.write_string(row, col, value, fmt)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(row, 1), len(COLUMNS) - 1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.set_footer("&C第 &P 页，共 &N 页")
    book.close()
    return buffer.getvalue()
