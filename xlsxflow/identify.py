"""Which form is this? Read the ``xf_*`` metadata, never the file name.

Custom document properties survive an .xlsx re-save; the hidden ``xf_meta`` sheet also
survives a save as .xls. When both are gone (content pasted into a new workbook) the
form is recognised by its title, with a warning, and read by its layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from xlsxflow.forms import catalog
from xlsxflow.forms.layout import layout
from xlsxflow.forms.spec import META_KEYS, FormSpec
from xlsxflow.problems import Problem
from xlsxflow.read.book import RawBook

META_SHEET = "xf_meta"


@dataclass
class Identity:
    spec: FormSpec
    meta: dict[str, str]
    by_labels: bool = False  # metadata lost; recognised by title and layout


def _meta_from_sheet(book: RawBook) -> dict[str, str]:
    if META_SHEET not in book.sheets:
        return {}
    cells = book.cells(META_SHEET)
    meta: dict[str, str] = {}
    for (row, col), cell in cells.items():
        if col == 0 and isinstance(cell.value, str) and cell.value.startswith("xf_"):
            value = cells.get((row, 1))
            text = value.value if value is not None else ""
            if isinstance(text, float) and text.is_integer():
                text = str(int(text))
            meta[cell.value] = "" if text is None else str(text).strip()
    return meta


def _meta_from_properties(book: RawBook) -> dict[str, str]:
    # xlsxwriter cannot store an empty property, so templates write "-" for "none".
    return {k: ("" if v == "-" else v) for k, v in book.properties.items() if k in META_KEYS}


def read_metadata(book: RawBook) -> tuple[dict[str, str], list[Problem]]:
    props = _meta_from_properties(book)
    if all(props.get(k) is not None for k in ("xf_form", "xf_instance", "xf_fingerprint")):
        return props, []
    sheet = _meta_from_sheet(book)
    problems = [
        Problem.of("form.metadata_conflict", key=k, first=sheet[k], second=props[k])
        for k in META_KEYS
        if k in sheet and k in props and sheet[k] != props[k]
    ]
    return {**props, **sheet}, problems


def _by_labels(book: RawBook) -> FormSpec | None:
    """A form whose metadata was lost: match the title in A1 and the sheet names."""
    for spec in catalog().forms.values():
        first = spec.sheets[0].name
        if first not in book.sheets:
            continue
        title = book.cells(first).get((0, 0))
        if title is not None and isinstance(title.value, str) and spec.name in title.value:
            return spec
    return None


def identify(book: RawBook) -> tuple[Identity | None, list[Problem]]:
    meta, problems = read_metadata(book)
    kind = meta.get("xf_form", "")
    forms = catalog().forms
    if kind not in forms:
        spec = _by_labels(book)
        if spec is None:
            return None, [*problems, Problem.of("form.unknown")]
        problems.append(Problem.of("form.metadata_lost", form=spec.name))
        return Identity(spec, {"xf_form": spec.kind}, by_labels=True), problems
    spec = forms[kind]
    version = meta.get("xf_form_version", "")
    if version != str(spec.version):
        problems.append(
            Problem.of(
                "form.version", form=spec.name, version=version or "?", expected=spec.version
            )
        )
        return None, problems
    expected = layout(spec).fingerprint
    found = meta.get("xf_fingerprint", "")
    if found != expected:
        problems.append(Problem.of("form.fingerprint", found=found or "无", expected=expected))
        return None, problems
    return Identity(spec, meta), problems
