"""Repeating tables: a row with any entry must be complete; enough rows filled."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xlsxflow.extract import Found, TableCells
from xlsxflow.forms.spec import SectionSpec
from xlsxflow.problems import Problem
from xlsxflow.validation.context import ValidationContext
from xlsxflow.validation.values import convert, is_empty


@dataclass
class Row:
    number: int  # 1-based, as the committee counts the table's rows
    values: dict[str, Any] = field(default_factory=dict)
    found: dict[str, Found] = field(default_factory=dict)


def check_table(
    section: SectionSpec, cells: TableCells, ctx: ValidationContext, date1904: bool
) -> tuple[list[Row], list[Problem]]:
    table = section.table
    assert table is not None
    title = section.short_title
    rows: list[Row] = []
    problems: list[Problem] = []
    for index, row_cells in sorted(cells.rows.items()):
        number = index + 1
        values: dict[str, Any] = {}
        said: list[Problem] = []
        for col in table.columns:
            found = row_cells.get(col.id)
            value, found_problems = convert(col, found, ctx, date1904, row=number)
            if found_problems:
                said += found_problems
            if value is not None:
                values[col.id] = value
            elif col.required and not found_problems and found is not None:
                said.append(
                    Problem.of(
                        "rule.row_incomplete",
                        table=title,
                        row=number,
                        label=col.label,
                        sheet=found.sheet,
                        cell=found.cell,
                        field=col.id,
                    )
                )
        # A row with nothing in it is no row: every cell of it converts to nothing.
        if not values and all(is_empty(found) for found in row_cells.values()):
            continue
        problems += said
        rows.append(Row(number, values, row_cells))
    if len(rows) < table.min_rows:
        first = cells.anchor
        problems.append(
            Problem.of(
                "rule.min_rows",
                table=title,
                min_rows=table.min_rows,
                rows=len(rows),
                sheet=first.sheet,
                cell=first.cell,
                field=table.columns[0].id,
            )
        )
    return rows, problems
