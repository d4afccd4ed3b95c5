"""Read an .xlsx by parsing its few small XML parts directly (defusedxml).

Returns carry a handful of sheets of a few hundred cells; reading the parts ourselves is
faster than a general library and lets us see what such libraries hide: formulas
without cached values, cells far outside the sheet's declared dimension, duplicate
sheet names, macro and external-link parts (which are noted, never followed).
"""

from __future__ import annotations

import functools
import posixpath
import re
from typing import Any
from xml.etree.ElementTree import Element
from xml.etree.ElementTree import fromstring as _c_fromstring
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from xlsxflow.read.book import NameRef, RawBook, RawCell, Visibility
from xlsxflow.read.calamine_rows import cells_from_rows
from xlsxflow.read.errors import ReadError, calamine_errors
from xlsxflow.read.limits import Limits
from xlsxflow.read.number_formats import BUILT_IN_DATES, as_datetime, is_date_format
from xlsxflow.read.refs import parse_cell, parse_name_ref
from xlsxflow.read.safezip import SafeZip

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
# Sheets we hand to calamine must be plain: UTF-8, no DTD, a sane dimension, and every
# row and cell written as Excel, LibreOffice and XlsxWriter write them (``_canonical``).
_DIMENSION = re.compile(rb'<dimension ref="[A-Z]+\d+(?::([A-Z]+)(\d+))?"')
_ROOT = re.compile(
    rb'<worksheet xmlns="http://schemas\.openxmlformats\.org/spreadsheetml/2006/main"[\s>]'
)
_SST_ROOT = re.compile(
    rb'<sst xmlns="http://schemas\.openxmlformats\.org/spreadsheetml/2006/main"[\s>]'
)
_DECLARATION = re.compile(
    rb'(?:\xef\xbb\xbf)?<\?xml version="1\.0" encoding="(?:UTF|utf)-8"(?: standalone="yes")?\?>'
)
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_EDGE_SPACE = " \t\n\r"
_CONTROL = rb"\x00-\x08\x0b\x0c\x0e-\x1f"  # (what XML 1.0 forbids, and calamine reads)
_NUMBER = rb"-?\d{1,20}(?:\.\d{1,20})?(?:[Ee][+-]?\d{1,3})?"
# (a ">" written bare, which "]]>" needs, and U+FFFE or U+FFFF are not text either)
_CHAR = rb"(?!\xef\xbf[\xbe\xbf])[^<&>" + _CONTROL + rb"]"
_EDGE = rb"(?!\xef\xbf[\xbe\xbf])[^<&>\s" + _CONTROL + rb"]"
_INLINE_TEXT = (
    rb' xml:space="preserve">'
    + _CHAR
    + rb"*|>(?:"
    + _EDGE
    + rb"(?:"
    + _CHAR
    + rb"*"
    + _EDGE
    + rb")?)?"
)


# A row's other attributes, each at most once and in the schema's order (a repeated or
# unknown one is not well-formed XML to our parser, and calamine takes it).
_ROW_ATTRIBUTES = tuple(
    rb"(?: " + name + rb'="[^"<>&]{0,40}")?'
    for name in (
        b"spans",
        b"s",
        b"customFormat",
        b"ht",
        b"hidden",
        b"customHeight",
        b"outlineLevel",
        b"collapsed",
        b"thickTop",
        b"thickBot",
        b"ph",
        b"x14ac:dyDescent",  # (only where the root declares its prefix: ``x14ac``)
    )
)


def _canonical(row: bytes, col: bytes, x14ac: bool) -> re.Pattern[bytes]:
    """Finds, in a sheet's <sheetData>, the first tag that is not as Excel, LibreOffice
    and XlsxWriter write it: calamine reads any other shape its own way, unlike our
    parser (a differential test found hundreds: an index "-1" or a second <v> read as
    another string, "5&#48;000" as 5, an error or a boolean dropped, text outside a row
    or under another namespace read, a formula's cached value taken as typed). Each tag
    is checked where it opens, with what must follow it, so one pass (~35 µs a sheet)
    also bounds every row and column reference: ``row`` and ``col`` are the shapes
    allowed. A row or cell past what the dimension claims is a lie calamine would build
    dense rows up to (row 1,048,576: seconds and 100+ MB; a cell at XFD there, 512 GB).
    """
    return re.compile(
        rb"<(?!"
        rb'c r="' + col + row + rb'"(?: s="\d{1,5}")?(?:'
        rb"/>(?=<c |</row>)"
        rb'| t="s">(?=<v>\d{1,9}</v></c>)'
        rb'|(?: t="n")?>(?=<v>' + _NUMBER + rb"</v></c>)"
        rb'| t="inlineStr">(?=<is><t(?:' + _INLINE_TEXT + rb")</t></is></c>)"
        rb")"
        rb"|/c>(?=<c |</row>)"
        rb"|/?(?:v|is|t)>|t xml"  # (where a cell's look-ahead above has placed them)
        + rb'|row r="'
        + row
        + rb'"'
        + b"".join(_ROW_ATTRIBUTES if x14ac else _ROW_ATTRIBUTES[:-1])
        + rb"(?:>(?=<c )|/>(?=<row |</sheetData>))"
        rb"|/row>(?=<row |</sheetData>)"
        rb"|/sheetData>"
        rb")"
    )


# Three shapes are read by calamine, each under 1.6 million cells once dense: up to
# 9,999 rows × 104 columns (every return), 59,999 × 26 (a province's roster) and, with
# ``Limits.tall_sheets``, 99,999 × 52 (a province's register): (rows, columns).
_SHAPES = {
    "fast": (rb"[1-9]\d{0,3}", rb"[A-C]?[A-Z]"),
    "narrow": (rb"(?:[1-9]\d{0,3}|[1-5]\d{4})", rb"[A-Z]"),
    "tall": (rb"[1-9]\d{0,4}", rb"A?[A-Z]"),
}


@functools.cache
def _shape(name: str, x14ac: bool) -> re.Pattern[bytes]:
    """The pattern of a shape, with Excel's x14ac:dyDescent on rows (where the root
    declares the prefix) or not: compiled when first needed (~1 ms each; most processes
    need one of the six)."""
    return _canonical(*_SHAPES[name], x14ac)


_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
# Parts calamine reads by itself (beyond the sheet), outside our size limits and defusedxml.
_SHARED_STRINGS = "xl/sharedStrings.xml"
_CALAMINE_PARTS = (_SHARED_STRINGS, "xl/styles.xml")
FAST_MAX_ROWS = 5000
FAST_MAX_COLS = 100
NARROW_MAX_ROWS = 59_999
NARROW_MAX_COLS = 26
TALL_MAX_ROWS = 99_999  # (with ``Limits.tall_sheets``: a province's register)
TALL_MAX_COLS = 52


def _parse(data: bytes, part: str) -> Element:
    """defusedxml for anything with a DTD (where entity attacks live) or an encoding we
    cannot check by bytes; plain UTF-8 without any ``<!`` goes to ElementTree's C
    parser, which has nothing to expand or fetch then (and takes a third of the time:
    the structure parts of every return)."""
    if data.startswith((b"<?xml", b"\xef\xbb\xbf<?xml")) and b"<!" not in data:
        try:
            return _c_fromstring(data)
        except Exception as err:
            raise ReadError("file.corrupt", f"{part}: {err}") from None
    try:
        return fromstring(data)
    except DefusedXmlException as err:
        raise ReadError("file.xml_attack", f"{part}: {type(err).__name__}") from None
    except Exception as err:  # expat raises several unrelated types
        raise ReadError("file.corrupt", f"{part}: {err}") from None


def _ns(root: Element) -> str:
    return root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""


def _local(tag: str) -> str:
    return tag[tag.index("}") + 1 :] if tag.startswith("{") else tag


def _text(el: Element) -> str:
    """Text of a shared string or inline string: that of every <t> in it, wherever it
    is, but not of phonetic hints (<rPh>), whatever the namespaces; as calamine reads
    it, so that both readers agree on any shape of string. Each <t>'s escapes are its
    own (``_unescaped``): none is decoded across two runs, or twice."""
    parts: list[str] = []
    for child in el:
        name = _local(child.tag)
        if name == "t":
            text = "".join(child.itertext())
            # (whitespace at the ends, unless preserved, is not the string's: "张 " and
            # "三" in two runs are 张三, as calamine reads them; Excel writes
            # xml:space="preserve" wherever a string keeps such whitespace)
            if child.get(_XML_SPACE) != "preserve":
                text = text.strip(_EDGE_SPACE)
            parts.append(_unescaped(text))
        elif name != "rPh":
            parts.append(_text(child))
    return "".join(parts)


def _unescaped(text: str) -> str:
    """OOXML's escapes of characters XML cannot hold: Excel writes a carriage return
    as ``_x000D_`` (and a typed "_x0041_" as ``_x005F_x0041_``), and shows the character.
    Half a surrogate pair is left as written, as calamine leaves it (no UTF-8 holds it)."""
    return _ESCAPE.sub(_character, text) if "_x" in text else text


def _character(m: re.Match[str]) -> str:
    code = int(m.group(1), 16)
    return m.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)


def date_styles(styles: Element) -> frozenset[int]:
    """The indexes (a cell's ``s``) of the cell styles showing a date: the ``xf``s of
    ``cellXfs``, with the formats declared before it, matched by id as written."""
    codes: dict[str, str] = {}
    found: set[int] = set()
    for part in styles:
        name = _local(part.tag)
        if name == "numFmts":
            for f in part:
                if _local(f.tag) == "numFmt":
                    codes[f.get("numFmtId", "")] = f.get("formatCode", "")
        elif name == "cellXfs":
            xfs = [xf for xf in part if _local(xf.tag) == "xf"]
            for index, xf in enumerate(xfs):
                fmt = xf.get("numFmtId", "0")
                if is_date_format(codes[fmt]) if fmt in codes else fmt in BUILT_IN_DATES:
                    found.add(index)
            break
    return frozenset(found)


class _XlsxReader:
    def __init__(self, limits: Limits, zip_: SafeZip) -> None:
        self.limits = limits
        self.zip = zip_
        self._strings: list[str] | None = None
        self._calamine: Any = None
        self._calamine_safe: bool | None = None
        self._date_styles: frozenset[int] | None = None
        self.date1904 = False

    def book(self) -> RawBook:
        z = self.zip
        root = _parse(z.read("xl/workbook.xml"), "workbook.xml")
        ns = _ns(root)
        rels = self._rels("xl/_rels/workbook.xml.rels", "xl")
        sheets: list[str] = []
        visibility: dict[str, Visibility] = {}
        self.paths: dict[str, str] = {}
        duplicates: list[str] = []
        folded: set[str] = set()  # (a set: a list scanned for each name took 514 s for
        # the 150,000 sheet names of one 1.3 MB file)
        for sheet in root.iter(f"{ns}sheet"):
            name = sheet.get("name", "")
            rid = sheet.get(f"{{{_REL_NS}}}id") or sheet.get(f"{{{_STRICT_REL_NS}}}id") or ""
            if name.casefold() in folded:
                duplicates.append(name)
                continue
            folded.add(name.casefold())
            sheets.append(name)
            state = sheet.get("state", "visible")
            visibility[name] = state if state in ("hidden", "veryHidden") else "visible"  # type: ignore[assignment]
            if rid in rels:
                self.paths[name] = rels[rid]
        names: dict[str, NameRef | None] = {}
        for dn in root.iter(f"{ns}definedName"):
            name = dn.get("name", "")
            if dn.get("localSheetId") is not None or name.startswith("_xlnm"):
                continue  # sheet-scope names and print areas are not ours
            names[name] = parse_name_ref(dn.text or "")
        pr = root.find(f"{ns}workbookPr")
        date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")
        self.date1904 = date1904
        return RawBook(
            format="xlsx",
            sheets=sheets,
            visibility=visibility,
            names=names,
            properties=self._custom_properties(),
            date1904=date1904,
            load_sheet=self._sheet,
            duplicate_sheets=duplicates,
            has_macros=any(n.lower().endswith("vbaproject.bin") for n in z.names),
            has_external_links=any(n.startswith("xl/externalLinks/") for n in z.names),
            saved_at=self._saved_at(),
            on_close=self.close,
        )

    def _saved_at(self) -> str:
        part = "docProps/core.xml"
        if not self.zip.has(part):
            return ""
        root = _parse(self.zip.read(part), part)
        for el in root:
            if el.tag.endswith("}modified"):
                return (el.text or "").strip()
        return ""

    def close(self) -> None:
        self.zip.close()
        if self._calamine is not None:
            self._calamine.close()

    def _rels(self, part: str, base: str) -> dict[str, str]:
        if not self.zip.has(part):
            return {}
        root = _parse(self.zip.read(part), part)
        out = {}
        for rel in root.iter(_PKG_REL):
            if rel.get("TargetMode") == "External":
                continue  # never follow anything outside the package
            target = rel.get("Target", "")
            full = (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(base, target))
            )
            out[rel.get("Id", "")] = full
        return out

    def _custom_properties(self) -> dict[str, str]:
        part = "docProps/custom.xml"
        if not self.zip.has(part):
            return {}
        root = _parse(self.zip.read(part), part)
        props = {}
        for prop in root:
            name = prop.get("name")
            if name and len(prop):
                props[name] = (prop[0].text or "").strip()
        return props

    def _shared_strings(self) -> list[str]:
        if self._strings is None:
            part = _SHARED_STRINGS
            strings: list[str] = []
            if self.zip.has(part):
                root = _parse(self.zip.read(part), part)
                for si in root:
                    if _local(si.tag) != "si":
                        continue
                    strings.append(_text(si))
                    if len(strings) > self.limits.max_strings:
                        raise ReadError("file.too_large", "共享字符串过多")
            self._strings = strings
        return self._strings

    def _sheet(self, name: str) -> dict[tuple[int, int], RawCell]:
        part = self.paths.get(name)
        if part is None or not self.zip.has(part):
            return {}
        data = self.zip.read(part)
        if _plain_sheet(data, self.limits.tall_sheets) and self._calamine_parts_safe():
            try:
                return self._sheet_calamine(name)
            except ReadError as err:
                if err.code not in ("file.corrupt", "file.crashed"):
                    raise
                # calamine refused it, or failed on it (a date cell of -1e16 days): our
                # parser, the reference, reads it or says in Chinese what is wrong
                if err.code == "file.crashed" and self._calamine is not None:
                    self._calamine.close()  # (not trusted after a panic)
                    self._calamine = None
        return self._sheet_xml(name, part, data)

    def _calamine_parts_safe(self) -> bool:
        """Inflate the parts calamine would read through our capped reader first (a bomb
        raises here); a DTD or entity in them sends the sheet to our defusedxml parser,
        and so do shared strings under another namespace than their root's (calamine
        counts them, our parser does not: every later index would differ) or that are
        not well-formed XML (calamine reads a control character, "]]>", an unclosed run;
        our parser refuses them)."""
        if self._calamine_safe is None:
            safe = True
            for part in _CALAMINE_PARTS:
                if self.zip.has(part):
                    data = self.zip.read(part)
                    safe = safe and b"<!DOCTYPE" not in data and b"<!ENTITY" not in data
                    if part == _SHARED_STRINGS and safe:
                        root = _SST_ROOT.search(data, 0, 2048)
                        safe = root is not None and data.find(b"xmlns", root.end()) < 0
                        safe = safe and b"<!" not in data and _well_formed(data)
            self._calamine_safe = safe
        return self._calamine_safe

    def _dates(self) -> frozenset[int]:
        """The cell styles that show a number as a date (read once, when first needed;
        none if the styles cannot be parsed, which leaves the cell a number)."""
        if self._date_styles is None:
            part = "xl/styles.xml"
            found: frozenset[int] = frozenset()
            if self.zip.has(part):
                try:
                    root = _parse(self.zip.read(part), part)
                except ReadError as err:
                    if err.code != "file.corrupt":
                        raise  # (an entity attack is told as one)
                else:
                    found = date_styles(root)
            self._date_styles = found
        return self._date_styles

    def _sheet_calamine(self, name: str) -> dict[tuple[int, int], RawCell]:
        """The fast path (see docs/PERFORMANCE.md): calamine reads plain sheets ~10× faster."""
        from python_calamine import CalamineWorkbook

        with calamine_errors(f"工作表“{name}”："):
            if self._calamine is None:
                # By content, not by name: from_path picks the format from the extension,
                # and a real .xlsx renamed to .xls must still be read.
                self._calamine = CalamineWorkbook.from_filelike(self.zip.stream())
            rows = self._calamine.get_sheet_by_name(name).to_python(skip_empty_area=False)
        limits = self.limits
        return cells_from_rows(
            rows, name, limits.max_cell_chars, limits.max_cells, times_elsewhere=True
        )

    def _sheet_xml(self, name: str, part: str, data: bytes) -> dict[tuple[int, int], RawCell]:
        if len(data) > self.limits.max_tree_bytes:
            raise ReadError("file.too_large", f"工作表“{name}”过大")
        root = _parse(data, part)
        ns = _ns(root)
        c_tag, v_tag, f_tag, is_tag = f"{ns}c", f"{ns}v", f"{ns}f", f"{ns}is"
        data = root.find(f"{ns}sheetData")
        cells: dict[tuple[int, int], RawCell] = {}
        if data is None:
            return cells
        max_chars = self.limits.max_cell_chars
        row_no = -1
        for row in data:
            r_attr = row.get("r")
            row_no = (
                int(r_attr) - 1 if r_attr and r_attr.isascii() and r_attr.isdigit() else row_no + 1
            )
            col_no = -1
            for c in row:
                if c.tag != c_tag:
                    continue
                ref = c.get("r")
                pos = parse_cell(ref) if ref else None
                if pos is None:
                    col_no += 1
                    pos = (row_no, col_no)
                else:
                    col_no = pos[1]
                cell = self._cell(c, v_tag, f_tag, is_tag, max_chars)
                if cell is not None:
                    cells[pos] = cell
                    if len(cells) > self.limits.max_cells:
                        raise ReadError("file.too_large", f"工作表“{name}”单元格过多")
        return cells

    def _cell(
        self,
        c: Element,
        v_tag: str,
        f_tag: str,
        is_tag: str,
        max_chars: int,
    ) -> RawCell | None:
        kind = c.get("t", "n")
        v = c.find(v_tag)
        formula = c.find(f_tag) is not None
        raw = v.text if v is not None else None
        if kind == "inlineStr":
            node = c.find(is_tag)
            value: str | float | bool | None = _text(node) if node is not None else None
        elif raw is None:
            return RawCell(None, formula=True) if formula else None
        elif kind == "s":
            strings = self._shared_strings()
            try:
                index = int(raw)
                if index < 0:  # (Python would read -1 as the last string)
                    raise IndexError(index)
                value = strings[index]
            except (ValueError, IndexError):
                raise ReadError("file.corrupt", f"共享字符串索引 {raw} 无效") from None
        elif kind == "str":
            value = _unescaped(raw)
        elif kind == "d":
            value = raw
        elif kind == "b":
            value = raw.strip() in ("1", "true")
        elif kind == "e":
            return RawCell(None, formula=formula, error=raw)
        else:
            try:
                value = float(raw)
            except ValueError:
                raise ReadError("file.corrupt", f"数值 {raw[:20]!r} 无效") from None
            style = c.get("s")
            if (
                style is not None
                and style.isascii()
                and style.isdigit()
                and int(style) in self._dates()
            ):
                return RawCell(as_datetime(value, self.date1904), formula=formula)
        if isinstance(value, str) and len(value) > max_chars:
            return RawCell(value[:max_chars], formula=formula, truncated=True)
        return RawCell(value, formula=formula)


def _well_formed(data: bytes) -> bool:
    """Whether expat parses ``data`` (no DTD in it: the caller checked), building
    nothing: 34 µs for a return's 10 KB of shared strings, a third of a tree."""
    parser = expat.ParserCreate(namespace_separator="}")  # (an unbound prefix is refused)
    try:
        parser.Parse(data, True)
    except expat.ExpatError:
        return False
    return True


def _plain_sheet(data: bytes, tall: bool = False) -> bool:
    """True when calamine can read this sheet exactly as our own parser would (and
    within the rows and columns it then holds, densely: ``tall`` allows more)."""
    head = data[:2048]
    if not _DECLARATION.match(head) or not data[-64:].rstrip().endswith(b"</worksheet>"):
        return False  # (another encoding declared, or something after the root)
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data or not _ROOT.search(head):
        return False
    x14ac = b"xmlns:x14ac=" in head
    m = _DIMENSION.search(head)
    if m is None:
        return False
    if m.group(1) is None:
        return _canonical_cells(data, _shape("fast", x14ac))
    from xlsxflow.read.refs import col_index

    rows, cols = int(m.group(2)), col_index(m.group(1).decode()) + 1
    if rows <= FAST_MAX_ROWS and cols <= FAST_MAX_COLS:
        return _canonical_cells(data, _shape("fast", x14ac))
    if rows <= NARROW_MAX_ROWS and cols <= NARROW_MAX_COLS:
        return _canonical_cells(data, _shape("narrow", x14ac))
    if tall and rows <= TALL_MAX_ROWS and cols <= TALL_MAX_COLS:
        return _canonical_cells(data, _shape("tall", x14ac))
    return False


def _canonical_cells(data: bytes, shape: re.Pattern[bytes]) -> bool:
    """One <sheetData> (another after it would be read by calamine too), every tag in
    it as ``shape`` allows, and no character or entity reference in it."""
    start = data.find(b"<sheetData>")
    if start < 0:  # (none, or with attributes or a prefix: our parser then)
        empty = data.find(b"<sheetData/>")
        return empty >= 0 and data.find(b"sheetData", empty + 12) < 0
    start += len(b"<sheetData>")
    end = data.find(b"</sheetData>", start)
    if (
        end < 0
        or data.find(b"sheetData", end + 12) >= 0
        or data.find(b"sheetData", 0, start - 11) >= 0
    ):
        return False
    if data[start : start + 5] not in (b"<row ", b"</she"):
        return False
    return data.find(b"&", start, end) < 0 and shape.search(data, start, end + 12) is None


def read_xlsx(limits: Limits, zip_: SafeZip) -> RawBook:
    """The workbook's structure, read now; sheets are parsed when first asked for,
    until ``RawBook.close`` (which closes ``zip_``, the file's zip, opened by the caller)."""
    reader = _XlsxReader(limits, zip_)
    try:
        return reader.book()
    except BaseException:
        reader.zip.close()
        raise
