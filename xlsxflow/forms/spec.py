"""Pydantic models of a form spec (one TOML file per form kind).

Models only describe; they do no file I/O. ``catalog`` loads and cross-checks them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from functools import cached_property, wraps
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

FieldType = Literal[
    "text", "longtext", "date", "money", "integer", "percent", "score", "phone", "choice"
]
FormScope = Literal["committee", "project", "department"]
_ORDINAL = re.compile(r"^[一二三四五六七八九十]+、")
Bounds = Literal["application", "implementation", "cycle"]
RuleCheck = Literal[
    "date_order",
    "rows_within",
    "rows_in_order",
    "exactly_one",
    "done_needs_date",
    "required_if",
]

# Excel rejects defined names that look like cell references (A1 or R1C1 style).
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_CELL_LIKE = re.compile(r"^([a-z]{1,3}[0-9]+|r[0-9]*c[0-9]*|r|c)$")

# The metadata every generated workbook carries (hidden sheet xf_meta and custom
# document properties): a stable interface, documented in docs/form-specs.md.
META_KEYS = (
    "xf_form",
    "xf_form_version",
    "xf_cycle",
    "xf_committee",
    "xf_project",
    "xf_instance",
    "xf_fingerprint",
)
FORM_KINDS = (
    "application_innovation",
    "application_demonstration",
    "application_institutional",
    "review",
    "ledger",
    "closure",
    "acceptance",
)


_Spec = TypeVar("_Spec")
_Made = TypeVar("_Made")


def per_spec(make: Callable[[_Spec], _Made]) -> Callable[[_Spec], _Made]:
    """``make`` cached per spec object, by identity (the object kept with what was made
    of it, so that its id is not reused): a frozen spec's hash, which ``functools.cache``
    asks at every call, walks all of its fields, and reading a return asks twice."""
    kept: dict[int, tuple[_Spec, _Made]] = {}

    @wraps(make)
    def cached(spec: _Spec) -> _Made:
        found = kept.get(id(spec))
        if found is None or found[0] is not spec:
            found = kept[id(spec)] = (spec, make(spec))
        return found[1]

    return cached


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChoiceItem(_Strict):
    code: str
    text: str
    group: str | None = None
    alias: str | None = None
    letter: str | None = None


class ChoiceList(_Strict):
    """A drop-down list; cells show ``display`` and the register stores ``code``."""

    id: str
    title: str
    items: tuple[ChoiceItem, ...]
    show_code: bool = False

    def display(self, item: ChoiceItem) -> str:
        if self.show_code:
            return (
                f"{item.code} {item.group}：{item.text}"
                if item.group
                else f"{item.code} {item.text}"
            )
        return item.text

    def displays(self) -> list[str]:
        return [self.display(i) for i in self.items]

    def by_code(self, code: str) -> ChoiceItem:
        for item in self.items:
            if item.code == code:
                return item
        raise KeyError(code)


class FieldSpec(_Strict):
    """One input: a single cell, or one column of a repeating table."""

    id: str
    label: str
    type: FieldType
    required: bool = False
    max_length: int | None = Field(default=None, gt=0)
    min: float | None = None
    max: float | None = None
    choices: str | None = None
    prefill: str | None = None
    editable: bool = False
    span: Literal["half", "full"] | int = "half"
    lines: int = Field(default=1, ge=1, le=20)
    help: str = ""
    bounds: Bounds | None = None

    @field_validator("id")
    @classmethod
    def _excel_name(cls, value: str) -> str:
        if not _NAME_RE.match(value) or _CELL_LIKE.match(value):
            raise ValueError(f"{value!r} cannot be an Excel defined name")
        return value

    @property
    def locked(self) -> bool:
        """Prefilled cells are locked unless the spec lets the committee correct them."""
        return self.prefill is not None and not self.editable

    @property
    def full_width(self) -> bool:
        return self.span == "full" or self.type == "longtext"

    @cached_property
    def number_bounds(self) -> tuple[Decimal, Decimal | None]:
        """Lowest and highest accepted value of a number field (0 and none unless the
        spec says; percentages and scores stop at 100), as decimals: asked per cell."""
        low = Decimal(str(self.min)) if self.min is not None else Decimal(0)
        high = Decimal(str(self.max)) if self.max is not None else None
        if high is None and self.type in ("percent", "score"):
            high = Decimal(100)
        return low, high


class TableSpec(_Strict):
    id: str
    rows: int = Field(gt=0, le=1000)
    min_rows: int = 0
    prefill: str | None = None
    columns: tuple[FieldSpec, ...]


class RuleSpec(_Strict):
    """A cross-field rule; the validator implements each ``check``."""

    check: RuleCheck
    fields: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    bounds: tuple[str, ...] = ()
    when: str | None = None
    equals: str | None = None


class SectionSpec(_Strict):
    id: str
    title: str
    sheet: str = "main"
    fields: tuple[FieldSpec, ...] = ()
    table: TableSpec | None = None
    rules: tuple[RuleSpec, ...] = ()
    signature: tuple[str, ...] = ()

    @property
    def short_title(self) -> str:
        """``四、实施计划（…）`` → ``实施计划``, ``任务台账（四定：定目标、定责任…）`` →
        ``任务台账``: the name used in messages and instructions (only a leading
        Chinese ordinal is cut, not whatever precedes a 、 in the brackets)."""
        return _ORDINAL.sub("", self.title).split("（", 1)[0]


class SheetSpec(_Strict):
    id: str
    name: str
    columns: tuple[int, ...]
    landscape: bool = False


class FormSpec(_Strict):
    kind: str
    version: int
    title: str
    name: str
    scope: FormScope
    # Who fills in a project's form: its committee, or the department (the acceptance
    # sheet, by its acceptance group), whose forms go to its own outbox folder and are
    # never mailed to a committee. (Forms of scope "department" are the department's.)
    filled_by: Literal["committee", "department"] = "committee"
    project_type: str | None = None
    instructions: tuple[str, ...] = ()
    sheets: tuple[SheetSpec, ...]
    sections: tuple[SectionSpec, ...]

    @property
    def department_fills(self) -> bool:
        """Whether the department fills this form in itself (the review sheet; the
        acceptance sheet, by its acceptance group): its templates and marked-up copies
        go to the department's folder, never to a committee's."""
        return self.scope == "department" or self.filled_by == "department"

    # Specs are immutable and looked up for every cell of every return: derive once.
    @cached_property
    def fields(self) -> tuple[FieldSpec, ...]:
        """Single-cell fields in layout order."""
        return tuple(f for s in self.sections for f in s.fields)

    @cached_property
    def tables(self) -> tuple[TableSpec, ...]:
        return tuple(s.table for s in self.sections if s.table is not None)

    @cached_property
    def rules(self) -> tuple[RuleSpec, ...]:
        return tuple(r for s in self.sections for r in s.rules)

    @cached_property
    def _by_id(self) -> dict[str, FieldSpec]:
        index = {f.id: f for f in self.fields}
        index.update({c.id: c for t in self.tables for c in t.columns})
        return index

    @cached_property
    def _table_by_column(self) -> dict[str, TableSpec]:
        return {c.id: t for t in self.tables for c in t.columns}

    def field(self, field_id: str) -> FieldSpec:
        try:
            return self._by_id[field_id]
        except KeyError:
            raise KeyError(field_id) from None

    def table_of(self, column_id: str) -> TableSpec | None:
        return self._table_by_column.get(column_id)

    def sheet(self, sheet_id: str) -> SheetSpec:
        for s in self.sheets:
            if s.id == sheet_id:
                return s
        raise KeyError(sheet_id)

    def display_title(self, county: str) -> str:
        return self.title.replace("{county}", county)
