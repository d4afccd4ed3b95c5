"""Read a LibreOffice .ods: values through calamine, names and properties from the XML.

Calamine does not expose named ranges, so ``content.xml`` is scanned for them with
defusedxml; ``meta.xml`` carries the user-defined properties (xf_* metadata).
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from xlsxflow.read.book import NameRef, RawBook, RawCell, Visibility
from xlsxflow.read.calamine_rows import cells_from_rows
from xlsxflow.read.errors import ReadError, calamine_errors
from xlsxflow.read.limits import Limits
from xlsxflow.read.refs import col_index
from xlsxflow.read.safezip import SafeZip
from xlsxflow.read.xlsx import _parse

_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_ROW = f"{{{_TABLE}}}table-row"
_CELLS = (f"{{{_TABLE}}}table-cell", f"{{{_TABLE}}}covered-table-cell")
_ROWS_REPEATED = f"{{{_TABLE}}}number-rows-repeated"
_COLUMNS_REPEATED = f"{{{_TABLE}}}number-columns-repeated"
_VALUE_TYPE = f"{{{_OFFICE}}}value-type"
# "$'申报表'.$B$5" or "$申报表.$B$5:.$B$9"
_ODS_REF = re.compile(
    r"^\$?'?(?P<sheet>(?:[^'.]|'')+)'?\.\$?(?P<c1>[A-Z]{1,3})\$?(?P<r1>\d+)"
    r"(?::(?:\$?'?(?:[^'.]|'')+'?)?\.\$?(?P<c2>[A-Z]{1,3})\$?(?P<r2>\d+))?$"
)


def _name_ref(address: str) -> NameRef | None:
    m = _ODS_REF.match(address.strip())
    if not m:
        return None
    r1, c1 = int(m.group("r1")) - 1, col_index(m.group("c1"))
    r2 = int(m.group("r2")) - 1 if m.group("r2") else r1
    c2 = col_index(m.group("c2")) if m.group("c2") else c1
    return NameRef(m.group("sheet").replace("''", "'"), r1, c1, r2, c2)


def _repeated(element: Element, attribute: str) -> int:
    """A repeat count as calamine reads it, but never less: a count too long to be worth
    converting is counted as a trillion (calamine writes out as many as a sheet holds).
    Rust's number parsing takes a leading ``+`` (``+990000`` is 990,000 cells to it, and
    was 1 here); anything else that is not plain digits is refused, not guessed at."""
    text = element.get(attribute, "1")
    digits = text[1:] if text.startswith("+") else text
    if not (digits.isascii() and digits.isdigit()):
        raise ReadError("file.corrupt", f"重复次数“{text[:20]}”不是数字")
    return int(digits) if len(digits) <= 12 else 10**12


def _largest_area(content: Element) -> int:
    """The most cells calamine would hold for one sheet: it keeps a sheet's area, up to
    its last row and column holding a value, densely, with every repeated row and cell
    written out (``number-rows-repeated="20000"`` over 1,000 repeated values is 20
    million cells from a few bytes; a value after 1,040,000 empty rows, a million rows
    of them). Empty repeats (LibreOffice ends every sheet with them) cost nothing."""
    largest = 0
    for table in content.iter(f"{{{_TABLE}}}table"):
        row, last_row, last_col = 0, -1, -1
        for element in table.iter(_ROW):
            rows = _repeated(element, _ROWS_REPEATED)
            col, filled = 0, -1
            for cell in element:
                if cell.tag not in _CELLS:
                    continue
                cols = _repeated(cell, _COLUMNS_REPEATED)
                if cell.get(_VALUE_TYPE) is not None or len(cell):
                    filled = col + cols - 1
                col += cols
            if filled >= 0:
                last_row, last_col = row + rows - 1, max(last_col, filled)
            row += rows
        largest = max(largest, (last_row + 1) * (last_col + 1))
    return largest


def read_ods(limits: Limits, zip_: SafeZip) -> RawBook:
    """``zip_``: the file's zip, opened by the caller (closed here)."""
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    with zip_ as z:
        content = _parse(z.read("content.xml"), "content.xml")
        meta = _parse(z.read("meta.xml"), "meta.xml") if z.has("meta.xml") else None
    names: dict[str, NameRef | None] = {}
    for rng in content.iter(f"{{{_TABLE}}}named-range"):
        name = rng.get(f"{{{_TABLE}}}name", "")
        names[name] = _name_ref(rng.get(f"{{{_TABLE}}}cell-range-address", ""))
    properties: dict[str, str] = {}
    saved_at = ""
    if meta is not None:
        for el in meta.iter("{http://purl.org/dc/elements/1.1/}date"):
            saved_at = (el.text or "").strip()
        for prop in meta.iter(f"{{{_META}}}user-defined"):
            properties[prop.get(f"{{{_META}}}name", "")] = (prop.text or "").strip()
    if _largest_area(content) > limits.max_cells:
        raise ReadError("file.too_large", "工作表单元格过多")
    del content
    with calamine_errors():
        # (by content: from_path goes by the extension)
        wb = CalamineWorkbook.from_filelike(zip_.stream())
    sheets = [m.name for m in wb.sheets_metadata]
    # SheetVisibleEnum members have no ``.name`` and no hash (a pyo3 enum): compare them
    visibility: dict[str, Visibility] = {
        m.name: "visible"
        if m.visible == SheetVisibleEnum.Visible
        else ("veryHidden" if m.visible == SheetVisibleEnum.VeryHidden else "hidden")
        for m in wb.sheets_metadata
    }

    def load(sheet: str) -> dict[tuple[int, int], RawCell]:
        with calamine_errors(f"工作表“{sheet}”："):
            rows = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        return cells_from_rows(rows, sheet, limits.max_cell_chars, limits.max_cells)

    return RawBook(
        format="ods",
        sheets=sheets,
        visibility=visibility,
        names=names,
        properties=properties,
        date1904=False,
        saved_at=saved_at,
        load_sheet=load,
        on_close=wb.close,
    )
