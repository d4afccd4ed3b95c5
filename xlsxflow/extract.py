"""Find every field of an identified form in the workbook, by its defined name.

Names let the layout move (a row inserted in LibreOffice shifts them along), so we read
where the name points; a name that moved is reported, a name that vanished is an error.
Forms recognised without metadata have no names left and are read by their layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xlsxflow.forms.layout import cell_ref, layout
from xlsxflow.forms.spec import FieldSpec
from xlsxflow.identify import Identity
from xlsxflow.problems import Problem
from xlsxflow.read.book import CellValue, NameRef, RawBook, RawCell


@dataclass(slots=True)
class Found:
    """One cell's content and where it is (0-based row/col). Never changed once made
    (not frozen: see ``RawCell``)."""

    value: CellValue
    sheet: str
    row: int
    col: int
    formula: bool = False
    error: str | None = None
    truncated: bool = False

    @property
    def cell(self) -> str:
        return cell_ref(self.row, self.col)


@dataclass
class TableCells:
    """The rows of one table that hold anything (0-based index → cells), out of
    ``height`` issued rows; ``anchor`` is the table's first input cell."""

    height: int
    rows: dict[int, dict[str, Found]]
    anchor: Found


@dataclass
class Extracted:
    fields: dict[str, Found] = field(default_factory=dict)
    tables: dict[str, TableCells] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def broken(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


def _found(cells: dict[tuple[int, int], RawCell], sheet: str, row: int, col: int) -> Found:
    cell = cells.get((row, col))
    if cell is None:
        return Found(None, sheet, row, col)
    return Found(cell.value, sheet, row, col, cell.formula, cell.error, cell.truncated)


def _read(book: RawBook, sheet: str, row: int, col: int) -> Found:
    return _found(book.cells(sheet), sheet, row, col)


def extract(book: RawBook, identity: Identity) -> Extracted:
    spec = identity.spec
    form = layout(spec)
    out = Extracted()
    if book.duplicate_sheets:
        out.problems += [Problem.of("file.duplicate_sheet", sheet=s) for s in book.duplicate_sheets]
    for plan in form.sheets.values():
        if plan.spec.name not in book.sheets:
            out.problems.append(Problem.of("form.sheet_missing", sheet=plan.spec.name))
    if out.broken:
        return out

    moved: dict[str, list[tuple[NameRef, FieldSpec]]] = {}

    def locate(f: FieldSpec, expected: NameRef) -> NameRef | None:
        if identity.by_labels:
            return expected
        ref = book.names.get(f.id)
        if ref is None or ref.sheet not in book.sheets:
            out.problems.append(
                Problem.of("form.name_missing", label=f.label, name=f.id, field=f.id)
            )
            return None
        if ref != expected:
            moved.setdefault(ref.sheet, []).append((ref, f))
        return ref

    for fid, place in form.fields.items():
        v = place.value
        ref = locate(place.field, NameRef(place.sheet, v.row, v.col, v.row, v.col))
        if ref is not None:
            out.fields[fid] = _read(book, ref.sheet, ref.row, ref.col)
    for tid, table in form.tables.items():
        columns: dict[str, NameRef] = {}
        for col in table.columns:
            expected = NameRef(table.sheet, table.first_row, col.col, table.last_row, col.col)
            ref = locate(col.field, expected)
            if ref is not None:
                columns[col.field.id] = ref
        if len(columns) != len(table.columns):
            continue
        height = min(r.last_row - r.row + 1 for r in columns.values())
        first = next(iter(columns.values()))
        out.tables[tid] = TableCells(
            height,
            _used_rows(book, columns, height),
            _read(book, first.sheet, first.row, first.col),
        )
    out.problems += [_moved(names) for names in moved.values()]
    return out


def _moved(names: list[tuple[NameRef, FieldSpec]]) -> Problem:
    """One warning for the names that moved on one sheet: a single inserted row shifts
    every name below it, and a clerk needs to hear it once, not once per column."""
    ref, f = min(names, key=lambda n: (n[0].row, n[0].col))
    where = {"sheet": ref.sheet, "cell": cell_ref(ref.row, ref.col), "field": f.id}
    if len(names) == 1:
        return Problem.of("form.name_moved", label=f.label, **where)
    return Problem.of("form.names_moved", label=f.label, count=len(names), **where)


def _used_rows(
    book: RawBook, columns: dict[str, NameRef], height: int
) -> dict[int, dict[str, Found]]:
    """The cells of a table's rows (0-based index → column → cell) that hold any cell of
    their sheets: most issued rows are blank. The inner loop of reading a ledger."""
    used = {r for sheet in {ref.sheet for ref in columns.values()} for (r, _c) in book.cells(sheet)}
    firsts = {ref.row for ref in columns.values()}  # (one, unless a column was moved)
    indexes = {r - first for first in firsts for r in used if first <= r < first + height}
    places = [
        (cid, book.cells(ref.sheet), ref.sheet, ref.row, ref.col) for cid, ref in columns.items()
    ]
    rows: dict[int, dict[str, Found]] = {}
    for i in sorted(indexes):
        rows[i] = {
            cid: _found(cells, sheet, first + i, col) for cid, cells, sheet, first, col in places
        }
    return rows
