"""Printable summary workbooks: titled tables, key-figure blocks and native charts.

Headings and figures are written with ``write_string``/``write_number`` in a workbook
that refuses to turn strings into formulas or links; a table's rows are serialised by
``excel.bulk_rows`` (every string an inline string, escaped) and spliced in at the end.
Either way nothing a committee typed can become active content. Fixed document
properties and the callers' sorted rows make the bytes deterministic.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from xlsxwriter.worksheet import Worksheet

from xlsxflow.excel.bulk_rows import RowWriter, SheetBody, splice
from xlsxflow.excel.inert import new_workbook
from xlsxflow.excel.widths import header_widths, widen

Value = str | int | float | Decimal | dt.date | None
FONT = "宋体"
FOOTER = "&C第 &P 页，共 &N 页"
CHART_DATA = "图表数据"
# The overview prints at a set scale, not fitted to the page's width: Excel ignores
# manual page breaks on a sheet fitted to pages. 85 % fits its width on landscape A4 in
# Excel (Calibri) and in LibreOffice without Calibri (wider columns), which fitted
# printed 16 % smaller anyway.
OVERVIEW_SCALE = 85
MARGIN_INCHES = 0.6  # above and below every printed sheet (0.4 left and right)
# What one page of the overview holds between those margins, in the sheet's points,
# less a little for the suites' rounding.
PAGE_POINTS = (595.3 - 2 * MARGIN_INCHES * 72) * 100 / OVERVIEW_SCALE - 8
ROW_POINTS = 15.0  # xlsxwriter's default row height
TALL_ROW_POINTS = 34.0
HALF_CHART = (400, 280)  # pixels; a pair of them side by side takes HALF_ROWS rows
HALF_ROWS = 15
BAR_PIXELS, BAR_CHART_PIXELS = 16, 70  # a full-width chart: per category, and the rest
# (so many bars that one chart fills a page: a county's 150 committees make four charts)
BARS_PER_CHART = int((PAGE_POINTS / 0.75 - BAR_CHART_PIXELS - 8) // BAR_PIXELS)


def _page_sized(charts: Sequence[ChartSpec]) -> list[ChartSpec]:
    """Full-width charts of more categories than a page holds as bars, as several
    charts of a page each (one taller than a page would be cut, wherever it started)."""
    out: list[ChartSpec] = []
    for chart in charts:
        n = len(chart.categories)
        if not chart.full_width or n <= BARS_PER_CHART:
            out.append(chart)
            continue
        parts = -(-n // BARS_PER_CHART)
        # (one scale for all the parts: bars of two parts compare as they look)
        top = max((v for _, values in chart.series for v in values), default=0)
        size = -(-n // parts)  # (as even as can be: 150 as 38 × 3 + 36, not 44 × 3 + 18)
        for k, start in enumerate(range(0, n, size), start=1):
            out.append(
                replace(
                    chart,
                    title=f"{chart.title}（{k}/{parts}）",
                    categories=chart.categories[start : start + size],
                    series=[(name, values[start : start + size]) for name, values in chart.series],
                    axis_max=None if chart.percent else float(top) or None,
                )
            )
    return out


class _Pages:
    """Where the overview's printed pages end, so that no chart is cut in two: a chart
    that would cross the end of a page starts the next one (Excel and LibreOffice only
    break between rows, through whatever picture is there)."""

    def __init__(self) -> None:
        self.heights: dict[int, float] = {}
        self.page_top = 0.0
        self.breaks: list[int] = []

    def set_height(self, ws: Worksheet, row: int, points: float) -> None:
        """The row's height, set on the sheet and counted here."""
        ws.set_row(row, points)
        self.heights[row] = points

    def top(self, row: int) -> float:
        return sum(self.heights.get(r, ROW_POINTS) for r in range(row))

    def keep_whole(self, row: int, pixels: int) -> None:
        start = self.top(row)
        if start > self.page_top and start + pixels * 0.75 > self.page_top + PAGE_POINTS:
            self.breaks.append(row)
            self.page_top = start


@dataclass
class Table:
    """A titled table on its own sheet."""

    sheet: str
    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Value]]
    subtitle: str = ""
    wide: Sequence[str] = ()
    red_when: tuple[str, float] | None = None  # (column header, threshold): red if value >
    empty_text: str = "（无）"


@dataclass
class ChartSpec:
    title: str
    kind: str  # "column", "bar", "pie", "line"
    categories: Sequence[str]
    series: Sequence[tuple[str, Sequence[float]]]
    percent: bool = False
    full_width: bool = False  # one long chart across the page (e.g. every committee)
    axis_max: float | None = None  # (set for the parts of a chart cut into several)


@dataclass
class Overview:
    sheet: str
    title: str
    subtitle: str
    figures: Sequence[tuple[str, Value]]
    charts: Sequence[ChartSpec] = field(default_factory=list)


class ReportBook:
    def __init__(self, title: str, created: dt.datetime, company: str) -> None:
        self.buffer = io.BytesIO()
        self.book = new_workbook(self.buffer, constant_memory=True)
        self.chart_rows: list[list[str | float]] = []
        self.book.set_properties(
            {"title": title, "author": "xlsxflow", "company": company, "created": created}
        )
        fmt = self.book.add_format
        self.f_title = fmt(
            {
                "font_name": FONT,
                "font_size": 16,
                "bold": True,
                "align": "center",
                "valign": "vcenter",
            }
        )
        self.f_sub = fmt(
            {"font_name": FONT, "font_size": 10, "align": "center", "font_color": "#595959"}
        )
        self.f_head = fmt(
            {
                "font_name": FONT,
                "bold": True,
                "bg_color": "#D9D9D9",
                "border": 1,
                "text_wrap": True,
                "align": "center",
                "valign": "vcenter",
            }
        )
        base = {"font_name": FONT, "border": 1, "valign": "top"}
        self.f_text = fmt(base)
        self.f_wrap = fmt({**base, "text_wrap": True})
        self.f_date = fmt({**base, "num_format": "yyyy-mm-dd"})
        self.f_num = fmt({**base, "num_format": "#,##0.##"})
        self.f_red = fmt({"font_color": "#9C0006", "bg_color": "#FFC7CE"})
        # A table's rows (a province's overdue tasks: 23,000 rows) are serialised by
        # bulk_rows, which needs the cell formats' style indices now (see register_book).
        self._styles = [f._get_xf_index() for f in (self.f_text, self.f_wrap, self.f_date)]
        self._styles.append(self.f_num._get_xf_index())
        self.bodies: dict[str, SheetBody] = {}
        self.last_columns: dict[str, int] = {}
        self.f_figure_label = fmt(
            {
                "font_name": FONT,
                "font_size": 11,
                "border": 1,
                "bg_color": "#F2F2F2",
                "align": "center",
                "valign": "vcenter",
                "text_wrap": True,
            }
        )
        self.f_figure = fmt(
            {
                "font_name": FONT,
                "font_size": 18,
                "bold": True,
                "border": 1,
                "align": "center",
                "valign": "vcenter",
                "num_format": "#,##0.#",
            }
        )

    def _print(
        self,
        ws: Worksheet,
        landscape: bool,
        last_row: int,
        last_col: int,
        repeat: int | None,
        fit: bool = True,
    ) -> None:
        """A4, margins, page numbers; ``fit``: scaled to the page's width, else printed
        at ``OVERVIEW_SCALE`` (Excel ignores manual page breaks on a fitted sheet)."""
        ws.set_paper(9)
        if landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        if fit:
            ws.fit_to_pages(1, 0)
        else:
            ws.set_print_scale(OVERVIEW_SCALE)
        ws.center_horizontally()
        ws.set_margins(left=0.4, right=0.4, top=MARGIN_INCHES, bottom=MARGIN_INCHES)
        ws.set_footer(FOOTER)
        ws.print_area(0, 0, last_row, last_col)
        if repeat is not None:
            ws.repeat_rows(repeat)

    def table(self, t: Table) -> None:
        ws = self.book.add_worksheet(t.sheet)
        n = len(t.headers)
        widths = header_widths(t.headers)
        rows = iter(t.rows)
        sample = list(itertools.islice(rows, 300))  # widths from the first rows; the
        widen(widths, sample)  # rest streams through constant-memory writing
        wide = {i for i, h in enumerate(t.headers) if h in t.wide}
        total = 0
        for i, w in enumerate(widths):
            width = min(w + 2, 40 if i in wide else 30)
            total += width
            ws.set_column(i, i, width)
        ws.merge_range(0, 0, 0, n - 1, "", self.f_title)
        ws.write_string(0, 0, t.title, self.f_title)
        ws.set_row(0, 30)
        ws.merge_range(1, 0, 1, n - 1, "", self.f_sub)
        ws.write_string(1, 0, t.subtitle, self.f_sub)
        for c, h in enumerate(t.headers):
            ws.write_string(2, c, h, self.f_head)
        ws.set_row(2, 30)
        text, wrap, date, number = self._styles
        writer = RowWriter(n, text=text, wrap=wrap, date=date, number=number, wide=wide, blank=text)
        body = SheetBody(writer, first_row=3)
        try:
            body.extend(itertools.chain(sample, rows))
            body.deflate.close()  # (compressed now: no thread left if the report fails)
        except BaseException:
            body.deflate.discard()
            raise
        last = body.next_row - 1
        empty = last == 2
        if empty:  # (nothing to splice: the sheet says so in a row of its own, below)
            body.deflate.discard()
        else:
            part = f"xl/worksheets/sheet{len(self.book.worksheets())}.xml"
            self.bodies[part], self.last_columns[part] = body, n - 1
        if empty:
            ws.merge_range(3, 0, 3, n - 1, "", self.f_text)
            ws.write_string(3, 0, t.empty_text, self.f_text)
            last = 3
        ws.freeze_panes(3, 0)
        ws.autofilter(2, 0, max(last, 3), n - 1)
        if t.red_when and not empty:
            col = list(t.headers).index(t.red_when[0])
            ws.conditional_format(
                3,
                col,
                last,
                col,
                {"type": "cell", "criteria": ">", "value": t.red_when[1], "format": self.f_red},
            )
        self._print(ws, total > 95, last, n - 1, 2)

    def overview(self, o: Overview) -> None:
        ws = self.book.add_worksheet(o.sheet)
        ws.hide_gridlines(2)
        cols = 8
        for c in range(cols):
            ws.set_column(c, c, 14)
        pages = _Pages()
        ws.merge_range(0, 0, 0, cols - 1, "", self.f_title)
        ws.write_string(0, 0, o.title, self.f_title)
        pages.set_height(ws, 0, TALL_ROW_POINTS)
        ws.merge_range(1, 0, 1, cols - 1, "", self.f_sub)
        ws.write_string(1, 0, o.subtitle, self.f_sub)
        # Constant-memory writing goes row by row: labels of a line of figures, then values.
        for line in range(0, len(o.figures), 4):
            r = 3 + (line // 4) * 2
            group = list(o.figures[line : line + 4])
            for k, (label, _value) in enumerate(group):
                ws.merge_range(r, k * 2, r, k * 2 + 1, "", self.f_figure_label)
                ws.write_string(r, k * 2, label, self.f_figure_label)
            pages.set_height(ws, r + 1, TALL_ROW_POINTS)
            for k, (_label, value) in enumerate(group):
                ws.merge_range(r + 1, k * 2, r + 1, k * 2 + 1, "", self.f_figure)
                if isinstance(value, str):
                    ws.write_string(r + 1, k * 2, value, self.f_figure)
                else:
                    ws.write_number(r + 1, k * 2, float(value or 0), self.f_figure)
        top = 4 + ((len(o.figures) + 3) // 4) * 2
        data_col = 0
        data_row = len(self.chart_rows)
        row, slot = top, 0
        for chart in _page_sized(o.charts):
            if not chart.categories:  # an empty range would be written backwards (A30:A29)
                chart = replace(
                    chart, categories=["（无）"], series=[(n, [0]) for n, _ in chart.series]
                )
            self.chart_rows.append([chart.title, *(name for name, _ in chart.series)])
            for k, cat in enumerate(chart.categories):
                self.chart_rows.append([cat, *(float(v[k]) for _, v in chart.series)])
            self.chart_rows.append([])
            ch = self.book.add_chart({"type": chart.kind})
            n = len(chart.categories)
            for s in range(len(chart.series)):
                series: dict[str, Any] = {
                    "name": [CHART_DATA, data_row, data_col + 1 + s],
                    "categories": [CHART_DATA, data_row + 1, data_col, data_row + n, data_col],
                    "values": [
                        CHART_DATA,
                        data_row + 1,
                        data_col + 1 + s,
                        data_row + n,
                        data_col + 1 + s,
                    ],
                    "data_labels": {"value": True, "num_format": "0.#"},
                }
                if chart.kind == "pie":
                    series["data_labels"] = {"percentage": True, "category": True}
                ch.add_series(series)
            ch.set_title({"name": chart.title, "name_font": {"name": FONT, "size": 12}})
            ch.set_legend(
                {"none": True}
                if len(chart.series) == 1 and chart.kind != "pie"
                else {"position": "bottom"}
            )
            if chart.kind in ("column", "bar", "line"):
                axis = {"num_font": {"name": FONT}}
                if chart.percent:
                    axis.update(min=0, max=100)
                elif chart.axis_max is not None:
                    axis.update(min=0, max=chart.axis_max)
                (ch.set_x_axis if chart.kind == "bar" else ch.set_y_axis)(axis)
            if chart.full_width:
                if slot % 2:  # (a half chart alone on its row: below it)
                    row += HALF_ROWS
                height = max(300, BAR_PIXELS * n + BAR_CHART_PIXELS)
                ch.set_size({"width": 810, "height": height})
                pages.keep_whole(row, height + 4)
                ws.insert_chart(row, 0, ch, {"x_offset": 4, "y_offset": 4})
                row += height // 20 + 2
                slot = 0
            else:
                width, height = HALF_CHART
                ch.set_size({"width": width, "height": height})
                if slot % 2 == 0:
                    pages.keep_whole(row, height + 4)
                ws.insert_chart(row, (slot % 2) * 4, ch, {"x_offset": 4, "y_offset": 4})
                if slot % 2:
                    row += HALF_ROWS
                slot += 1
            data_row = len(self.chart_rows)
        last_row = row + (HALF_ROWS if slot % 2 else 0)
        if pages.breaks:
            ws.set_h_pagebreaks(pages.breaks)
        self._print(ws, True, last_row, cols - 1, None, fit=False)
        ws.activate()

    def close(self) -> bytes:
        if self.chart_rows:  # a hidden last sheet holds the numbers behind the charts
            data = self.book.add_worksheet(CHART_DATA)
            for r, row in enumerate(self.chart_rows):
                for c, value in enumerate(row):
                    if isinstance(value, str):
                        data.write_string(r, c, value)
                    else:
                        data.write_number(r, c, value)
            data.hide()
        try:
            self.book.close()
            return splice(self.buffer.getvalue(), self.bodies, self.last_columns)[0]
        finally:
            for body in self.bodies.values():
                body.deflate.discard()
