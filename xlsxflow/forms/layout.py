"""Turn a form spec into cell positions, merges and defined names.

The layout is a pure function of the spec, so the reader can rebuild it to check a
returned file's defined names (the fingerprint) and find cells when names were lost.
Rows and columns are 0-based, as in xlsxwriter.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property

from xlsxflow.forms.spec import FieldSpec, FormSpec, SectionSpec, SheetSpec, TableSpec, per_spec

TITLE_ROWS = 2  # form title, then the line carrying the form number
ROW_HEIGHT = 22.0
LINE_HEIGHT = 16.0


def col_letter(col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_ref(row: int, col: int) -> str:
    return f"{col_letter(col)}{row + 1}"


def abs_ref(row: int, col: int) -> str:
    return f"${col_letter(col)}${row + 1}"


def quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


@dataclass(frozen=True)
class Span:
    """A rectangle of cells; merged when it covers more than one."""

    row: int
    col: int
    last_row: int
    last_col: int

    @property
    def merged(self) -> bool:
        return self.row != self.last_row or self.col != self.last_col


@dataclass(frozen=True)
class FieldPlace:
    field: FieldSpec
    sheet: str
    label: Span
    value: Span

    @property
    def cell(self) -> str:
        return cell_ref(self.value.row, self.value.col)


@dataclass(frozen=True)
class ColumnPlace:
    field: FieldSpec
    col: int
    last_col: int


@dataclass(frozen=True)
class TablePlace:
    table: TableSpec
    sheet: str
    header_row: int
    first_row: int
    columns: tuple[ColumnPlace, ...]

    @property
    def last_row(self) -> int:
        return self.first_row + self.table.rows - 1

    def column(self, column_id: str) -> ColumnPlace:
        for c in self.columns:
            if c.field.id == column_id:
                return c
        raise KeyError(column_id)


@dataclass
class SheetPlan:
    """What the writer draws on one sheet besides fields and tables."""

    spec: SheetSpec
    section_titles: list[tuple[int, str]] = field(default_factory=list)
    signatures: list[tuple[Span, tuple[str, ...]]] = field(default_factory=list)
    row_heights: dict[int, float] = field(default_factory=dict)
    last_row: int = TITLE_ROWS - 1
    repeat_row: int | None = None
    has_fields: bool = False

    @property
    def width(self) -> int:
        return len(self.spec.columns)


@dataclass
class FormLayout:
    spec: FormSpec
    sheets: dict[str, SheetPlan]
    fields: dict[str, FieldPlace]
    tables: dict[str, TablePlace]

    def sheet_name(self, sheet_id: str) -> str:
        return self.sheets[sheet_id].spec.name

    def defined_names(self) -> dict[str, str]:
        """Workbook-level name → formula (without '='), one per field and table column."""
        names: dict[str, str] = {}
        for fid, place in self.fields.items():
            names[fid] = f"{quote_sheet(place.sheet)}!{abs_ref(place.value.row, place.value.col)}"
        for table in self.tables.values():
            for col in table.columns:
                names[col.field.id] = (
                    f"{quote_sheet(table.sheet)}!{abs_ref(table.first_row, col.col)}"
                    f":{abs_ref(table.last_row, col.col)}"
                )
        return dict(sorted(names.items()))

    @cached_property
    def fingerprint(self) -> str:
        """Hash of what a reader relies on: form kind, version, sheet names, defined names."""
        payload = {
            "kind": self.spec.kind,
            "version": self.spec.version,
            "sheets": [s.spec.name for s in self.sheets.values()],
            "names": self.defined_names(),
        }
        blob = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()[:16]


def _text_height(text: str, chars: int) -> float:
    """Row height that shows ``text`` wrapped in a cell ``chars`` wide (CJK counts double)."""
    units = sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
    lines = max(1, -(-units // max(chars - 1, 1)))
    return max(ROW_HEIGHT, LINE_HEIGHT * lines + 6)


def _halves(width: int) -> tuple[tuple[int, int], tuple[int, int]]:
    half = width // 2
    return (0, half - 1), (half, width - 1)


def _place_fields(
    section: SectionSpec, plan: SheetPlan, row: int, out: dict[str, FieldPlace]
) -> int:
    left, right = _halves(plan.width)
    slot = 0  # 0 = next field starts a row on the left half, 1 = right half is free
    for f in section.fields:
        if f.full_width:
            if slot:
                row += 1
                slot = 0
            label = Span(row, 0, row, 0)
            value = Span(row, 1, row, plan.width - 1)
            plan.row_heights[row] = max(
                LINE_HEIGHT * f.lines + 6, _text_height(f.label, plan.spec.columns[0])
            )
            row += 1
        else:
            first, last = left if slot == 0 else right
            label = Span(row, first, row, first)
            value = Span(row, first + 1, row, last)
            height = _text_height(f.label, plan.spec.columns[first])
            plan.row_heights[row] = max(plan.row_heights.get(row, ROW_HEIGHT), height)
            if slot == 0:
                slot = 1
            else:
                slot = 0
                row += 1
        out[f.id] = FieldPlace(f, plan.spec.name, label, value)
    if slot:
        row += 1
    return row


def _place_table(section: SectionSpec, plan: SheetPlan, row: int) -> tuple[TablePlace, int]:
    table = section.table
    assert table is not None
    cols: list[ColumnPlace] = []
    col = 0
    for c in table.columns:
        width = c.span if isinstance(c.span, int) else 1
        cols.append(ColumnPlace(c, col, col + width - 1))
        col += width
    header = row
    plan.row_heights[header] = max(
        _text_height(c.field.label, sum(plan.spec.columns[c.col : c.last_col + 1])) for c in cols
    )
    for r in range(header + 1, header + 1 + table.rows):
        plan.row_heights[r] = ROW_HEIGHT
    if plan.repeat_row is None and not plan.has_fields:
        plan.repeat_row = header
    place = TablePlace(table, plan.spec.name, header, header + 1, tuple(cols))
    return place, header + 1 + table.rows


@per_spec
def layout(spec: FormSpec) -> FormLayout:
    plans = {s.id: SheetPlan(s) for s in spec.sheets}
    fields: dict[str, FieldPlace] = {}
    tables: dict[str, TablePlace] = {}
    for section in spec.sections:
        plan = plans[section.sheet]
        row = plan.last_row + 1
        plan.section_titles.append((row, section.title))
        plan.row_heights[row] = 24.0
        row += 1
        plan.has_fields = plan.has_fields or bool(section.fields)
        row = _place_fields(section, plan, row, fields)
        if section.table is not None:
            place, row = _place_table(section, plan, row)
            tables[section.table.id] = place
        if section.signature:
            height = len(section.signature) + 1
            span = Span(row, 0, row + height - 1, plan.width - 1)
            plan.signatures.append((span, section.signature))
            for r in range(row, row + height):
                plan.row_heights[r] = 26.0
            row += height
        plan.last_row = row - 1
    return FormLayout(spec, plans, fields, tables)
