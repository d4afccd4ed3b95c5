"""Open any returned file as a ``RawBook``, routed by content, within limits."""

from __future__ import annotations

from pathlib import Path

from xlsxflow.read.book import RawBook
from xlsxflow.read.errors import ReadError
from xlsxflow.read.limits import DEFAULT_LIMITS, Limits
from xlsxflow.read.sniff import Kind, sniff


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
    if kind == "xlsx":
        from xlsxflow.read.xlsx import read_xlsx

        return read_xlsx(path, limits)
    if kind == "xls":
        from xlsxflow.read.xls import read_xls

        return read_xls(path, limits)
    if kind == "ods":
        from xlsxflow.read.ods import read_ods

        return read_ods(path, limits)
    if kind == "encrypted":
        raise ReadError("file.encrypted")
    if kind == "empty":
        raise ReadError("file.empty")
    raise ReadError("file.not_spreadsheet")
