"""Decide what a file is from its first bytes and its name, before anything is parsed."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Literal

from xlsxflow.read.limits import DEFAULT_LIMITS

# "zip": a zip by its first bytes, named as a spreadsheet (xlsx, ods or neither: see
# ``zip_kind``)
Kind = Literal["xlsx", "xls", "ods", "zip", "encrypted", "not_spreadsheet", "empty", "lock"]

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".et", ".ods", ".xlsb"}
_LOCK = re.compile(r"^(~\$.*|\.~lock\..*#|~.*\.tmp)$", re.IGNORECASE)
# In an OLE2 container, an encrypted OOXML package keeps these stream names (UTF-16LE).
_ENCRYPTED_MARKERS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))
_WORKBOOK_STREAM = "Workbook".encode("utf-16-le")
_BOOK_STREAM = "Book".encode("utf-16-le")


def is_lock_file(path: Path) -> bool:
    """Office (``~$name.xlsx``) and LibreOffice (``.~lock.name.xlsx#``) lock files."""
    return bool(_LOCK.match(path.name))


def looks_like_spreadsheet_name(path: Path) -> bool:
    return path.suffix.lower() in SPREADSHEET_SUFFIXES


def sniff(path: Path, head: bytes, size: int) -> Kind:
    """The format of a file, judged by content. The name spots lock files, and for a
    zip says whether to tell here what it holds (a name that is not a spreadsheet's)
    or when the reader opens it (``"zip"``)."""
    if is_lock_file(path):
        return "lock"
    if size == 0:
        return "empty"
    if head.startswith(ZIP_MAGIC):
        # (not opened twice, here and to be read: ``read.open`` tells xlsx from ods)
        return "zip" if looks_like_spreadsheet_name(path) else _sniff_zip(path, size)
    if head.startswith(OLE_MAGIC):
        return _sniff_ole(path)
    return "not_spreadsheet"


def _sniff_zip(path: Path, size: int) -> Kind:
    """What a zip file holds, opened only for this (a file whose name says it is not a
    spreadsheet: the readers open the zip of the others once, ``read.open``). One larger
    than any return may be is none, unopened: listing a 90 MB zip of a million members
    took 586 MB."""
    try:
        if size > DEFAULT_LIMITS.max_file_bytes:
            return "not_spreadsheet"
        with zipfile.ZipFile(path) as zf:

            def mimetype() -> bytes | None:
                info = zf.getinfo("mimetype")
                small = info.file_size < 200 and not info.flag_bits & 0x1
                return zf.read(info) if small else None

            return zip_kind(set(zf.namelist()), mimetype)
    except (zipfile.BadZipFile, OSError, ValueError):
        return "xlsx"  # a zip we cannot list: let the xlsx reader report it precisely


def zip_kind(names: Collection[str], mimetype: Callable[[], bytes | None]) -> Kind:
    """xlsx, ods or neither, from a zip's member names (``mimetype``: the small member
    of that name, or None if it is not small)."""
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "mimetype" in names and b"spreadsheet" in (mimetype() or b""):
        return "ods"
    if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
        return "xlsx"
    return "not_spreadsheet"


def _sniff_ole(path: Path) -> Kind:
    """An OLE2 file by the streams its directory names: an encrypted OOXML package, or
    an .xls workbook. The directory is read as xlrd's compound-document reader finds it
    (LibreOffice writes it at the end: a 767 KB .xls with a photo was taken for
    something else when only the first 512 KB were searched); a file too large to be
    read whole, or not a compound document xlrd can read, by its first 512 KB."""
    with path.open("rb") as fh:
        data = fh.read(DEFAULT_LIMITS.max_file_bytes + 1)
    names = _ole_names(data) if len(data) <= DEFAULT_LIMITS.max_file_bytes else None
    if names is None:
        blob = data[: 512 * 1024]
        found = [m for m in (*_ENCRYPTED_MARKERS, _WORKBOOK_STREAM, _BOOK_STREAM) if m in blob]
        names = {m.decode("utf-16-le") for m in found}
    if names & {"EncryptedPackage", "EncryptionInfo"}:
        return "encrypted"
    if names & {"Workbook", "Book"}:
        return "xls"
    return "not_spreadsheet"


def _ole_names(data: bytes) -> set[str] | None:
    import io

    from xlrd.compdoc import CompDoc

    try:
        doc = CompDoc(data, logfile=io.StringIO())
        return {entry.name for entry in doc.dirlist}
    except Exception:  # (xlrd raises bare exceptions on damaged files)
        return None
