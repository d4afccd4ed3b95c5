"""Open any returned file as a ``RawBook``, routed by content, within limits."""

from __future__ import annotations

from pathlib import Path

from xlsxflow.read.book import RawBook
from xlsxflow.read.errors import ReadError
from xlsxflow.read.limits import DEFAULT_LIMITS, Limits
from xlsxflow.read.sniff import Kind, sniff, zip_kind


def classify(path: Path) -> Kind:
    """What the file is, from its first bytes (lock files by name)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as err:
        raise ReadError("file.unreadable", err.strerror or str(err)) from None
    return sniff(path, head, size)


def open_book(path: Path, kind: Kind, limits: Limits = DEFAULT_LIMITS) -> RawBook:
    """Read the structure of a spreadsheet that ``classify`` recognised."""
    if path.stat().st_size > limits.max_file_bytes:
        raise ReadError("file.too_large", f"{path.stat().st_size} 字节")
    if kind in ("xlsx", "ods", "zip"):
        return _zip_book(path, kind, limits)
    if kind == "xls":
        from xlsxflow.read.xls import read_xls

        return read_xls(path, limits)
    if kind == "encrypted":
        raise ReadError("file.encrypted")
    if kind == "empty":
        raise ReadError("file.empty")
    raise ReadError("file.not_spreadsheet")


def _zip_book(path: Path, kind: Kind, limits: Limits) -> RawBook:
    """An xlsx or ods file, its zip opened once: for the reader, and to tell which."""
    from xlsxflow.read.safezip import SafeZip

    z = SafeZip(path, limits)
    try:
        if kind == "zip":
            kind = zip_kind(z.names, lambda: z.small("mimetype"))
        if kind in ("xlsx", "ods"):
            z.check()
        if kind == "xlsx":
            from xlsxflow.read.xlsx import read_xlsx

            return read_xlsx(limits, z)
        if kind == "ods":
            from xlsxflow.read.ods import read_ods

            return read_ods(limits, z)
    except BaseException:
        z.close()
        raise
    z.close()
    raise ReadError("file.not_spreadsheet")
