"""Draw a form layout as an .xlsx template with xlsxwriter.

The writer gets plain values (prefilled texts, metadata, date bounds) from
``xlsxflow.templates`` and draws what ``forms.layout`` decided. Strings are always written
with ``write_string`` so that no roster or project text can become a formula or a link.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from xlsxflow.excel.inert import new_workbook
from xlsxflow.forms import catalog
from xlsxflow.forms.hints import DATE_EXAMPLE, accepts, input_message
from xlsxflow.forms.layout import FormLayout, SheetPlan, Span, cell_ref, col_letter
from xlsxflow.forms.spec import Bounds, FieldSpec

META_SHEET = "xf_meta"
LISTS_SHEET = "xf_lists"
INSTRUCTIONS_SHEET = "填报说明"
PROBLEMS_SHEET = "问题清单"
MARK_FILL = "#FFC7CE"
PROBLEM_HEADERS = (
    ("序号", 6),
    ("工作表", 12),
    ("单元格", 8),
    ("栏目", 22),
    ("级别", 6),
    ("问题及修改要求", 80),
)
BODY_FONT = "宋体"
INPUT_FONT = "仿宋"
INPUT_FILL = "#FFFBE6"
LOCKED_FILL = "#F2F2F2"
FOOTER = "&C第 &P 页，共 &N 页"


CellValue = str | float | int | bool | dt.date | dt.datetime | None


@dataclass
class TemplateContent:
    """Everything that varies between two templates of the same form kind."""

    title: str
    meta: Mapping[str, str]
    bounds: Mapping[Bounds, tuple[dt.date, dt.date]]
    created: dt.datetime
    department: str = ""
    values: Mapping[str, CellValue] = field(default_factory=dict)
    table_rows: Mapping[str, Sequence[Mapping[str, CellValue]]] = field(default_factory=dict)
    # Feedback copies: (sheet name, cell ref) → Chinese note, and the 问题清单 rows.
    marks: Mapping[tuple[str, str], str] = field(default_factory=dict)
    problem_list: Sequence[Sequence[str]] = ()
    subtitle: str = ""


class _Formats:
    def __init__(self, book: xlsxwriter.Workbook) -> None:
        def fmt(base_props: dict[str, Any] | None = None, **props: Any) -> Any:
            return book.add_format({**(base_props or {}), **props})

        base = {"font_name": BODY_FONT, "font_size": 11, "valign": "vcenter", "text_wrap": True}
        cell = {**base, "border": 1}
        self.title = fmt(
            font_name=BODY_FONT, font_size=18, bold=True, align="center", valign="vcenter"
        )
        self.subtitle = fmt(
            font_name=BODY_FONT, font_size=9, align="right", valign="vcenter", font_color="#595959"
        )
        self.section = fmt(cell, bold=True, font_size=12, bg_color="#D9D9D9")
        self.label = fmt(cell, bold=True, align="center")
        self.header = fmt(cell, bold=True, align="center", font_size=10, bg_color="#EDEDED")
        self.signature = fmt(cell, align="right", valign="top", font_size=12)
        self.note = fmt(base)
        self.meta = fmt(font_name=BODY_FONT, num_format="@")
        inputs = {**cell, "font_name": INPUT_FONT, "font_size": 12}
        number_formats = {
            "date": "yyyy-mm-dd",
            "money": "#,##0.00",
            "phone": "@",
            "percent": "0.##",
            "score": "0.##",
            "integer": "0",
        }
        self._input: dict[tuple[str, bool, bool], Any] = {}
        for locked, marked in ((False, False), (True, False), (False, True), (True, True)):
            for kind in (
                "text",
                "longtext",
                "date",
                "money",
                "integer",
                "percent",
                "score",
                "phone",
                "choice",
            ):
                props = dict(inputs)
                if kind in number_formats:
                    props["num_format"] = number_formats[kind]
                if kind in ("date", "integer", "percent", "score", "phone"):
                    props["align"] = "center"
                if kind == "longtext":
                    props["valign"] = "top"
                props["locked"] = locked
                props["bg_color"] = LOCKED_FILL if locked else INPUT_FILL
                if marked:
                    props.update(bg_color=MARK_FILL, border_color="#C00000", border=2)
                self._input[(kind, locked, marked)] = fmt(**props)

    def input(self, f: FieldSpec, locked: bool, marked: bool = False) -> Any:
        return self._input[(f.type, locked, marked)]


def _check(result: int, what: str) -> None:
    """xlsxwriter reports some failures as negative return codes; make them loud."""
    if result is not None and result < 0:
        raise RuntimeError(f"xlsxwriter refused {what} (code {result})")


class _Writer:
    def __init__(self, form_layout: FormLayout, content: TemplateContent) -> None:
        self.layout = form_layout
        self.spec = form_layout.spec
        self.content = content
        self.buffer = io.BytesIO()
        self.book = new_workbook(self.buffer)
        self.fmt = _Formats(self.book)
        self.choices = catalog().choices
        self.list_refs: dict[str, str] = {}

    # -- whole workbook ------------------------------------------------------------------

    def render(self) -> bytes:
        book = self.book
        book.set_properties(
            {
                "title": self.content.title,
                "subject": self.spec.name,
                "author": "xlsxflow",
                "company": self.content.department,
                "created": self.content.created,
            }
        )
        for key, value in self.content.meta.items():
            _check(book.set_custom_property(key, value or "-"), f"property {key}")
        problems = book.add_worksheet(PROBLEMS_SHEET) if self.content.problem_list else None
        sheets = {
            sid: book.add_worksheet(plan.spec.name) for sid, plan in self.layout.sheets.items()
        }
        instructions = book.add_worksheet(INSTRUCTIONS_SHEET)
        lists = book.add_worksheet(LISTS_SHEET)
        meta = book.add_worksheet(META_SHEET)
        self._write_lists(lists)
        for sid, ws in sheets.items():
            self._draw_sheet(ws, self.layout.sheets[sid])
        self._write_fields(sheets)
        self._write_tables(sheets)
        self._write_instructions(instructions)
        self._write_meta(meta)
        for name, formula in self.layout.defined_names().items():
            _check(book.define_name(name, "=" + formula), f"name {name}")
        if problems is not None:
            self._write_problems(problems)
            problems.activate()
        else:
            next(iter(sheets.values())).activate()
        book.close()
        return self.buffer.getvalue()

    # -- hidden sheets -------------------------------------------------------------------

    def _write_lists(self, ws: Worksheet) -> None:
        used = sorted({f.choices for f in self._all_fields() if f.choices})
        for col, list_id in enumerate(used):
            choice = self.choices[list_id]
            ws.write_string(0, col, list_id, self.fmt.meta)
            for row, text in enumerate(choice.displays(), start=1):
                ws.write_string(row, col, text, self.fmt.meta)
            letter = col_letter(col)
            self.list_refs[list_id] = (
                f"={LISTS_SHEET}!${letter}$2:${letter}${len(choice.items) + 1}"
            )
        ws.hide()
        ws.protect()

    def _write_meta(self, ws: Worksheet) -> None:
        ws.set_column(0, 0, 18)
        ws.set_column(1, 1, 40)
        ws.write_string(0, 0, "key", self.fmt.meta)
        ws.write_string(0, 1, "value", self.fmt.meta)
        for row, (key, value) in enumerate(self.content.meta.items(), start=1):
            ws.write_string(row, 0, key, self.fmt.meta)
            ws.write_string(row, 1, value, self.fmt.meta)
        ws.write_string(len(self.content.meta) + 2, 0, "此工作表供系统识别表单，请勿修改或删除。")
        ws.hide()
        ws.protect()

    def _all_fields(self) -> list[FieldSpec]:
        return [*self.spec.fields, *(c for t in self.spec.tables for c in t.columns)]

    # -- the form sheets -----------------------------------------------------------------

    def _draw_sheet(self, ws: Worksheet, plan: SheetPlan) -> None:
        width = plan.width
        for col, chars in enumerate(plan.spec.columns):
            ws.set_column(col, col, chars)
        ws.merge_range(0, 0, 0, width - 1, "", self.fmt.title)
        ws.write_string(0, 0, self.content.title, self.fmt.title)
        ws.set_row(0, 40)
        ws.merge_range(1, 0, 1, width - 1, "", self.fmt.subtitle)
        ws.write_string(1, 0, self.content.subtitle, self.fmt.subtitle)
        for row, height in plan.row_heights.items():
            ws.set_row(row, height)
        for row, title in plan.section_titles:
            ws.merge_range(row, 0, row, width - 1, "", self.fmt.section)
            ws.write_string(row, 0, title, self.fmt.section)
        for span, lines in plan.signatures:
            self._merge(ws, span, "\n".join(["", *lines]), self.fmt.signature)
        ws.hide_gridlines(2)
        ws.set_paper(9)
        if plan.spec.landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.fit_to_pages(1, 0)
        ws.center_horizontally()
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.7)
        ws.set_footer(FOOTER)
        ws.print_area(0, 0, plan.last_row, width - 1)
        if plan.repeat_row is not None:
            ws.repeat_rows(plan.repeat_row)
        ws.protect(
            "",
            {
                "format_rows": True,
                "format_columns": True,
                "select_locked_cells": True,
                "select_unlocked_cells": True,
            },
        )

    def _merge(self, ws: Worksheet, span: Span, value: CellValue, fmt: Any) -> None:
        if span.merged:
            ws.merge_range(span.row, span.col, span.last_row, span.last_col, "", fmt)
        row, col = span.row, span.col
        if value is None or value == "":
            ws.write_blank(row, col, None, fmt)
        elif isinstance(value, str):
            _check(ws.write_string(row, col, value, fmt), "a string")
        elif isinstance(value, bool):
            ws.write_boolean(row, col, value, fmt)
        elif isinstance(value, dt.datetime | dt.date):
            ws.write_datetime(row, col, value, fmt)
        else:
            ws.write_number(row, col, value, fmt)

    def _input_cell(
        self, ws: Worksheet, span: Span, value: CellValue, f: FieldSpec, locked: bool
    ) -> None:
        """An input cell; on feedback copies, marked and annotated when it has problems."""
        note = self.content.marks.get((ws.name, cell_ref(span.row, span.col)))
        self._merge(ws, span, value, self.fmt.input(f, locked, marked=note is not None))
        if note is not None:
            ws.write_comment(
                span.row,
                span.col,
                note,
                {"author": "县委组织部", "x_scale": 3, "y_scale": 2, "font_name": BODY_FONT},
            )

    def _write_problems(self, ws: Worksheet) -> None:
        fmt = self.fmt
        for col, (head, width) in enumerate(PROBLEM_HEADERS):
            ws.set_column(col, col, width)
            ws.write_string(2, col, head, fmt.header)
        ws.merge_range(0, 0, 0, len(PROBLEM_HEADERS) - 1, "", fmt.title)
        ws.write_string(0, 0, "问题清单（请按以下说明修改后重新报送）", fmt.title)
        ws.set_row(0, 36)
        ws.merge_range(1, 0, 1, len(PROBLEM_HEADERS) - 1, "", fmt.note)
        ws.write_string(
            1,
            0,
            "有问题的单元格已标红并附批注（鼠标移到单元格上可查看）。"
            "“错误”必须改正；“提示”请核对，确认无误可不改。",
            fmt.note,
        )
        for r, values in enumerate(self.content.problem_list, start=3):
            for col, value in enumerate(values):
                ws.write_string(r, col, str(value), fmt.note)
        ws.freeze_panes(3, 0)
        ws.autofilter(2, 0, 2 + len(self.content.problem_list), len(PROBLEM_HEADERS) - 1)
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(2)
        ws.set_footer(FOOTER)

    def _bounds(self, f: FieldSpec) -> tuple[dt.date, dt.date] | None:
        return self.content.bounds.get(f.bounds) if f.bounds else None

    def _validation(self, f: FieldSpec) -> dict[str, Any]:
        choices = self.choices.get(f.choices) if f.choices else None
        bounds = self._bounds(f)
        hint = accepts(f, choices, bounds)
        rule: dict[str, Any] = {
            "input_title": f.label[:32],
            "input_message": input_message(f, hint),
            "error_title": "输入有误",
            "error_message": f"“{f.label}”应填写：{hint}。"[:255],
            "ignore_blank": True,
        }
        if f.type == "choice":
            assert f.choices is not None
            rule.update(validate="list", source=self.list_refs[f.choices])
        elif f.type == "date":
            low, high = bounds or (dt.date(2000, 1, 1), dt.date(2099, 12, 31))
            rule.update(
                validate="date",
                criteria="between",
                minimum=dt.datetime.combine(low, dt.time()),
                maximum=dt.datetime.combine(high, dt.time()),
            )
        elif f.type == "integer":
            rule.update(
                validate="integer",
                criteria="between",
                minimum=int(f.min if f.min is not None else 0),
                maximum=int(f.max if f.max is not None else 999999999),
            )
        elif f.type in ("money", "percent", "score"):
            high = 999999999 if f.type == "money" else 100
            rule.update(validate="decimal", criteria="between", minimum=0, maximum=high)
        elif f.type == "phone":
            rule.update(validate="length", criteria="between", minimum=7, maximum=20)
        elif f.max_length:
            rule.update(validate="length", criteria="<=", value=f.max_length)
        else:
            rule.update(validate="any")
            for key in ("error_title", "error_message"):
                del rule[key]
        return rule

    def _write_fields(self, sheets: Mapping[str, Worksheet]) -> None:
        by_name = {plan.spec.name: sheets[sid] for sid, plan in self.layout.sheets.items()}
        for place in self.layout.fields.values():
            ws = by_name[place.sheet]
            f = place.field
            self._merge(ws, place.label, f.label, self.fmt.label)
            value = self.content.values.get(f.id)
            locked = f.locked
            self._input_cell(ws, place.value, value, f, locked)
            if not locked:
                v = place.value
                _check(
                    ws.data_validation(v.row, v.col, v.row, v.col, self._validation(f)),
                    f"validation of {f.id}",
                )

    def _write_tables(self, sheets: Mapping[str, Worksheet]) -> None:
        by_name = {plan.spec.name: sheets[sid] for sid, plan in self.layout.sheets.items()}
        for place in self.layout.tables.values():
            ws = by_name[place.sheet]
            rows = self.content.table_rows.get(place.table.id, ())
            prefilled = 0  # leading rows whose prefilled columns carry values (review sheet)
            for data in rows:
                if not any(data.get(c.field.id) for c in place.columns if c.field.locked):
                    break
                prefilled += 1
            for col in place.columns:
                head = Span(place.header_row, col.col, place.header_row, col.last_col)
                self._merge(ws, head, col.field.label, self.fmt.header)
            for i in range(place.table.rows):
                row = place.first_row + i
                data = rows[i] if i < len(rows) else {}
                for col in place.columns:
                    f = col.field
                    locked = i < prefilled and f.locked
                    span = Span(row, col.col, row, col.last_col)
                    self._input_cell(ws, span, data.get(f.id), f, locked)
            for col in place.columns:
                f = col.field
                first = place.first_row + (prefilled if f.locked else 0)
                if first <= place.last_row:
                    _check(
                        ws.data_validation(
                            first, col.col, place.last_row, col.col, self._validation(f)
                        ),
                        f"validation of {f.id}",
                    )

    # -- 填报说明 -------------------------------------------------------------------------

    def _write_instructions(self, ws: Worksheet) -> None:
        fmt = self.fmt
        ws.set_column(0, 0, 24)
        ws.set_column(1, 1, 8)
        ws.set_column(2, 2, 70)
        ws.merge_range(0, 0, 0, 2, "", fmt.title)
        ws.write_string(0, 0, f"{self.spec.name}填报说明", fmt.title)
        ws.set_row(0, 36)
        general = [
            *self.spec.instructions,
            "浅黄色单元格为填写区；灰色单元格为系统预填内容，已锁定，不能修改。"
            "选中单元格时会显示该栏的填写要求。",
            f"日期请按 {DATE_EXAMPLE} 的格式填写；金额、数量只填数字。",
            "请勿修改工作表名称，勿插入或删除行列，勿把内容复制到新文件中填写，"
            "否则系统无法识别本表。表格行数不够时请联系县委组织部。",
            "填好后直接保存（.xlsx 格式），通过电子邮件报送；同一份表修改后重新报送即可，"
            "以最后一次报送为准。",
        ]
        row = 2
        for number, text in enumerate(general, start=1):
            ws.merge_range(row, 0, row, 2, "", fmt.note)
            ws.write_string(row, 0, f"{number}. {text}", fmt.note)
            ws.set_row(row, 16 * (1 + len(text) // 48) + 4)
            row += 1
        row += 1
        for col, head in enumerate(("栏目", "是否必填", "填写要求")):
            ws.write_string(row, col, head, fmt.header)
        row += 1
        for section in self.spec.sections:
            members = [*section.fields, *(section.table.columns if section.table else ())]
            if not members:
                continue
            ws.merge_range(row, 0, row, 2, "", fmt.section)
            ws.write_string(row, 0, section.title, fmt.section)
            row += 1
            for f in members:
                choices = self.choices.get(f.choices) if f.choices else None
                if f.locked:
                    need, text = "—", "系统预填，不能修改"
                else:
                    need = "必填" if f.required else "选填"
                    text = accepts(f, choices, self._bounds(f)) + "。" + f.help
                ws.write_string(row, 0, f.label, fmt.label)
                ws.write_string(row, 1, need, fmt.label)
                ws.write_string(row, 2, text, fmt.note)
                row += 1
        tables_with_min = [t for t in self.spec.tables if t.min_rows]
        for table in tables_with_min:
            ws.merge_range(row, 0, row, 2, "", fmt.note)
            ws.write_string(
                row,
                0,
                f"注：{self._table_title(table.id)}至少填写 "
                f"{table.min_rows} 行；凡填写了的行，标为必填的各栏都要填写完整。",
                fmt.note,
            )
            row += 1
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.set_footer(FOOTER)
        ws.protect()

    def _table_title(self, table_id: str) -> str:
        for section in self.spec.sections:
            if section.table is not None and section.table.id == table_id:
                return f"“{section.short_title}”"
        return table_id


def render_template(form_layout: FormLayout, content: TemplateContent) -> bytes:
    """The template's bytes; identical content gives identical bytes."""
    return _Writer(form_layout, content).render()
