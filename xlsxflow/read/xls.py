"""Read a legacy .xls (BIFF8) with xlrd: values, sheet states and workbook-level names.

A form saved "as Excel 97-2003" keeps its hidden ``xf_meta`` sheet and its names but
loses the custom document properties, so identification relies on the sheet here.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from pathlib import Path

from xlsxflow.read.book import NameRef, RawBook, RawCell, Visibility
from xlsxflow.read.errors import ReadError
from xlsxflow.read.limits import Limits


def read_xls(path: Path, limits: Limits) -> RawBook:
    import xlrd
    from xlrd.biffh import XLRDError

    try:
        # (ragged rows: a row holds its cells only, not padded to the sheet's widest)
        book = xlrd.open_workbook(
            str(path), on_demand=True, formatting_info=False, ragged_rows=True
        )
    except XLRDError as err:
        code = "file.encrypted" if "encrypt" in str(err).lower() else "file.corrupt"
        raise ReadError(code, str(err)) from None
    except Exception as err:  # xlrd raises bare exceptions on damaged files
        raise ReadError("file.corrupt", f"{type(err).__name__}: {err}") from None
    sheets = list(book.sheet_names())
    visibility: dict[str, Visibility] = {}
    for name, state in zip(sheets, _sheet_states(book), strict=True):
        visibility[name] = "visible" if state == 0 else ("hidden" if state == 1 else "veryHidden")
    names: dict[str, NameRef | None] = {}
    for (name, scope), nobj in book.name_and_scope_map.items():
        if scope != -1 or name.startswith("_xlnm") or nobj.builtin:
            continue
        try:
            # (sheet object, rows, cols); unclipped: a table column reaches past the last
            # filled row, and clipping it to the sheet's extent would move the name
            sheet, rlo, rhi, clo, chi = nobj.area2d(clipped=False)
        except Exception:  # names that are formulas, not ranges
            names[nobj.name] = None
            continue
        names[nobj.name] = NameRef(sheet.name, rlo, clo, rhi - 1, chi - 1)

    def load(sheet_name: str) -> dict[tuple[int, int], RawCell]:
        sheet = book.sheet_by_name(sheet_name)
        if sum(sheet.row_len(r) for r in range(sheet.nrows)) > limits.max_cells:
            raise ReadError("file.too_large", f"工作表“{sheet_name}”单元格过多")
        cells: dict[tuple[int, int], RawCell] = {}
        for r in range(sheet.nrows):
            for c, cell in enumerate(sheet.row(r)):
                value = _value(cell, book.datemode, limits.max_cell_chars)
                if value is not None:
                    cells[(r, c)] = value
        return cells

    return RawBook(
        format="xls",
        sheets=sheets,
        visibility=visibility,
        names=names,
        properties={},
        date1904=book.datemode == 1,
        load_sheet=load,
        saved_at=_saved_at(path),
        on_close=book.release_resources,
    )


def _sheet_states(book) -> list[int]:  # type: ignore[no-untyped-def]
    """Each sheet's visibility as its BOUNDSHEET record gives it, read with the book: a
    sheet's ``.visibility`` loads the whole sheet first, and a 46 KB file of 40 sheets,
    each with one far cell, took 6.4 GB so. (xlrd keeps them, unpublished, in
    ``_sheet_visibility``; without it every sheet is loaded, as before.)"""
    states = getattr(book, "_sheet_visibility", None)
    if isinstance(states, list) and len(states) == book.nsheets:
        return [int(s) for s in states]
    return [book.sheet_by_index(i).visibility for i in range(book.nsheets)]


SUMMARY_STREAM = "\x05SummaryInformation"
PID_LASTSAVE_DTM = 13
VT_FILETIME = 64
FILETIME_EPOCH = dt.datetime(1601, 1, 1)


def _saved_at(path: Path) -> str:
    """The last save time of the SummaryInformation property set, written like the one
    of an .xlsx (``2012-03-28T09:30:00Z``); "" when absent, zero or unreadable.

    Without it every .xls version would sort before any .xlsx version of the same form
    and look saved before every reporting period.
    """
    from xlrd.compdoc import CompDoc

    try:
        doc = CompDoc(path.read_bytes(), logfile=io.StringIO())
        stream = doc.get_named_stream(SUMMARY_STREAM)
        if not stream:
            return ""
        (section,) = struct.unpack_from("<I", stream, 44)  # offset of the first property set
        (count,) = struct.unpack_from("<I", stream, section + 4)
        for i in range(min(count, 1000)):
            pid, offset = struct.unpack_from("<II", stream, section + 8 + 8 * i)
            if pid != PID_LASTSAVE_DTM:
                continue
            vtype, filetime = struct.unpack_from("<IQ", stream, section + offset)
            if vtype & 0xFFFF != VT_FILETIME or filetime == 0:
                return ""
            saved = FILETIME_EPOCH + dt.timedelta(microseconds=filetime // 10)
            return saved.strftime("%Y-%m-%dT%H:%M:%SZ")
    except Exception:  # damaged or unusual properties only cost the save time
        return ""
    return ""


def _value(cell, datemode: int, max_chars: int) -> RawCell | None:  # type: ignore[no-untyped-def]
    import xlrd

    ctype = cell.ctype
    if ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if ctype == xlrd.XL_CELL_TEXT:
        if cell.value == "":
            return None
        return RawCell(cell.value[:max_chars], truncated=len(cell.value) > max_chars)
    if ctype == xlrd.XL_CELL_NUMBER:
        return RawCell(float(cell.value))
    if ctype == xlrd.XL_CELL_DATE:
        try:
            return RawCell(xlrd.xldate.xldate_as_datetime(cell.value, datemode))
        except Exception:  # out-of-range serials stay numbers
            return RawCell(float(cell.value))
    if ctype == xlrd.XL_CELL_BOOLEAN:
        return RawCell(bool(cell.value))
    if ctype == xlrd.XL_CELL_ERROR:
        return RawCell(None, error=xlrd.error_text_from_code.get(cell.value, "#ERR"))
    return RawCell(str(cell.value))
