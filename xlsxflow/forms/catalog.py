"""Load the form specs under ``workbook_templates/`` and check them against each other.

Spec files are data shipped with the package; a broken spec is a programming error, so
problems raise ``SpecError`` (never shown to a clerk) with the file and the key at fault.
"""

from __future__ import annotations

import copy
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from xlsxflow.forms.spec import FORM_KINDS, ChoiceList, FieldSpec, FormSpec

SHARED_FILE = "_shared.toml"
CHOICES_FILE = "choices.toml"


class SpecError(Exception):
    """A form spec under workbook_templates/ is inconsistent."""


def templates_dir() -> Path:
    """The spec folder: inside the installed package, else at the repository root."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "workbook_templates", here.parent / "workbook_templates"):
        if (candidate / CHOICES_FILE).is_file():
            return candidate
    raise SpecError("workbook_templates/ not found next to the xlsxflow package")


class Catalog:
    """Every form spec and drop-down list, looked up by id."""

    def __init__(self, choices: dict[str, ChoiceList], forms: dict[str, FormSpec]) -> None:
        self.choices = choices
        self.forms = forms

    def form(self, kind: str) -> FormSpec:
        try:
            return self.forms[kind]
        except KeyError:
            raise KeyError(f"unknown form kind {kind!r}") from None

    def choice(self, list_id: str) -> ChoiceList:
        return self.choices[list_id]

    @classmethod
    def load(cls, folder: Path) -> Catalog:
        choices = _load_choices(folder / CHOICES_FILE)
        shared = _read_toml(folder / SHARED_FILE)
        field_index = _index_shared_fields(shared)
        forms: dict[str, FormSpec] = {}
        for kind in FORM_KINDS:
            path = folder / f"{kind}.toml"
            raw = _read_toml(path)
            raw["sections"] = [
                _resolve_section(s, shared, field_index, path) for s in raw.get("sections", [])
            ]
            try:
                spec = FormSpec.model_validate(raw)
            except ValidationError as err:
                raise SpecError(f"{path.name}: {err}") from err
            if spec.kind != kind:
                raise SpecError(f"{path.name}: kind is {spec.kind!r}, expected {kind!r}")
            _check(spec, choices, path)
            forms[kind] = spec
        return cls(choices, forms)


@cache
def catalog() -> Catalog:
    """The catalogue of the shipped specs, loaded once per process."""
    return Catalog.load(templates_dir())


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise SpecError(f"{path}: {err}") from err


def _load_choices(path: Path) -> dict[str, ChoiceList]:
    raw = _read_toml(path)
    try:
        return {key: ChoiceList.model_validate({"id": key, **value}) for key, value in raw.items()}
    except ValidationError as err:
        raise SpecError(f"{path.name}: {err}") from err


def _index_shared_fields(shared: dict[str, Any]) -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    for section in shared.values():
        for f in section.get("fields", []):
            if "id" in f:
                index[f["id"]] = f
    return index


def _resolve_field(raw: dict[str, Any], index: dict[str, dict[str, Any]], where: str) -> dict:
    if "ref" not in raw:
        return raw
    ref = raw["ref"]
    if ref not in index:
        raise SpecError(f"{where}: ref {ref!r} is not a field of {SHARED_FILE}")
    merged = {**index[ref], **{k: v for k, v in raw.items() if k != "ref"}}
    return merged


def _resolve_section(
    raw: dict[str, Any], shared: dict[str, Any], index: dict[str, dict[str, Any]], path: Path
) -> dict[str, Any]:
    if "use" in raw:
        name = raw["use"]
        if name not in shared:
            raise SpecError(f"{path.name}: section use={name!r} is not in {SHARED_FILE}")
        section = copy.deepcopy(shared[name])
        section.setdefault("id", name)
        extra = set(raw) - {"use", "required"}
        if extra:
            raise SpecError(f"{path.name}: unknown keys {sorted(extra)} next to use={name!r}")
        required = set(raw.get("required", []))
        section["fields"] = [
            {**f, "required": True} if f.get("id", f.get("ref")) in required else f
            for f in section.get("fields", [])
        ]
    else:
        section = dict(raw)
    where = f"{path.name} section {section.get('id')!r}"
    section["fields"] = [_resolve_field(f, index, where) for f in section.get("fields", [])]
    return section


def _check(spec: FormSpec, choices: dict[str, ChoiceList], path: Path) -> None:
    ids: set[str] = set()
    sheet_ids = {s.id for s in spec.sheets}
    all_fields: list[FieldSpec] = list(spec.fields)
    for section in spec.sections:
        if section.sheet not in sheet_ids:
            raise SpecError(f"{path.name}: section {section.id!r} on unknown sheet")
        if section.table is not None:
            table = section.table
            all_fields.extend(table.columns)
            width = len(spec.sheet(section.sheet).columns)
            spans = sum(c.span if isinstance(c.span, int) else 1 for c in table.columns)
            if spans != width:
                raise SpecError(
                    f"{path.name}: table {table.id!r} spans {spans} columns, sheet has {width}"
                )
    for f in all_fields:
        if f.id in ids:
            raise SpecError(f"{path.name}: field {f.id!r} appears twice")
        ids.add(f.id)
        if (f.type == "choice") != (f.choices is not None):
            raise SpecError(f"{path.name}: field {f.id!r}: choice fields need a list, others none")
        if f.choices is not None and f.choices not in choices:
            raise SpecError(f"{path.name}: field {f.id!r} uses unknown list {f.choices!r}")
    for rule in spec.rules:
        for ref in (*rule.fields, *rule.columns, *rule.bounds, *filter(None, [rule.when])):
            if ref not in ids:
                raise SpecError(f"{path.name}: rule {rule.check} refers to unknown field {ref!r}")
    if spec.project_type is not None and spec.project_type not in {
        i.code for i in choices["project_type"].items
    }:
        raise SpecError(f"{path.name}: unknown project_type {spec.project_type!r}")
