"""Draw the register's sheets into ``register.xlsx`` (and read the clerk's edits back)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
from collections.abc import Iterator, Sequence

from xlsxflow.excel.bulk_rows import RowWriter, SheetBody, splice
from xlsxflow.excel.inert import new_workbook
from xlsxflow.excel.widths import display_width
from xlsxflow.register.sheets import Sheet

MAX_WIDTH = 50
ROWS_PER_SHEET = 1_048_575  # Excel's 1,048,576 rows less the header
WIDE_WIDTH = 40


def render_register(sheets: Sequence[Sheet], created: dt.datetime, title: str) -> bytes:
    buffer = io.BytesIO()
    book = new_workbook(buffer, constant_memory=True)
    book.set_properties({"title": title, "author": "xlsxflow", "created": created})
    head = book.add_format(
        {
            "bold": True,
            "font_name": "宋体",
            "bg_color": "#D9D9D9",
            "border": 1,
            "text_wrap": True,
            "valign": "vcenter",
            "align": "center",
        }
    )
    dept_head = book.add_format(
        {
            "bold": True,
            "font_name": "宋体",
            "bg_color": "#FFF2CC",
            "border": 1,
            "text_wrap": True,
            "valign": "vcenter",
            "align": "center",
        }
    )
    text = book.add_format({"font_name": "宋体", "valign": "top"})
    wrap = book.add_format({"font_name": "宋体", "valign": "top", "text_wrap": True})
    date = book.add_format({"font_name": "宋体", "valign": "top", "num_format": "yyyy-mm-dd"})
    number = book.add_format({"font_name": "宋体", "valign": "top", "num_format": "#,##0.##"})
    # The data rows are serialised by bulk_rows, which needs each format's style index
    # before xlsxwriter would hand them out (on first use): fix them now, in this order.
    styles = [fmt._get_xf_index() for fmt in (head, dept_head, text, wrap, date, number)]
    bodies: dict[str, SheetBody] = {}
    last_columns: dict[str, int] = {}
    with contextlib.ExitStack() as stack:
        for sheet in sheets:
            widths = [max(display_width(h), 6) for h in sheet.headers]
            rows = iter(sheet.rows)
            sample = list(itertools.islice(rows, 500))  # widths from the first rows; the
            for row in sample:  # rest streams through to a temporary file
                for i, value in enumerate(row):
                    widths[i] = max(widths[i], display_width(value))
            wide = {i for i, h in enumerate(sheet.headers) if h in sheet.wide}
            writer = RowWriter(
                len(sheet.headers),
                text=styles[2],
                wrap=styles[3],
                date=styles[4],
                number=styles[5],
                wide=wide,
            )
            remaining: Iterator[Sequence[object]] = itertools.chain(sample, rows)
            # A sheet holds 1,048,576 rows: more (a province's tasks) go on to 续 sheets.
            for part_no in itertools.count(1):
                name = sheet.name if part_no == 1 else f"{sheet.name}（续{part_no - 1}）"
                ws = book.add_worksheet(name)
                for i, w in enumerate(widths):
                    width = min(w + 2, WIDE_WIDTH if i in wide else MAX_WIDTH)
                    ws.set_column(i, i, width, wrap if i in wide else text)
                ws.set_row(0, 30)
                for col, header in enumerate(sheet.headers):
                    fmt = dept_head if header in sheet.dept_columns else head
                    ws.write_string(0, col, header, fmt)
                part = f"xl/worksheets/sheet{len(book.worksheets())}.xml"
                body = bodies[part] = stack.enter_context(SheetBody(writer, first_row=1))
                last_columns[part] = len(sheet.headers) - 1
                body.extend(itertools.islice(remaining, ROWS_PER_SHEET))
                ws.freeze_panes(1, 0)
                ws.autofilter(0, 0, max(body.next_row - 1, 1), len(sheet.headers) - 1)
                ws.set_landscape()
                ws.set_paper(9)
                ws.fit_to_pages(1, 0)
                ws.repeat_rows(0)
                ws.set_footer("&C第 &P 页，共 &N 页")
                following = next(remaining, None)
                if following is None:
                    break
                remaining = itertools.chain([following], remaining)
        book.close()
        return splice(buffer.getvalue(), bodies, last_columns)
