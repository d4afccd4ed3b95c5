"""A received file back from the archive, by (the start of) its hash.

The register names the source of each row by the first 12 characters of its file's
SHA-256 (来源文件, 提交记录); the archive keeps the files in packs, named by hash. This
writes the file as it was received, under its received name, for the clerk to open.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

from xlsxflow.errors import UsageError, XlsxflowError
from xlsxflow.filenames import safe_filename
from xlsxflow.fsutil import write_atomic
from xlsxflow.register.archive import SUFFIXES, read_archived
from xlsxflow.register.store import Store
from xlsxflow.workspace import Workspace

MIN_PREFIX = 6
_HEX = re.compile(rf"[0-9a-f]{{{MIN_PREFIX},64}}")


def restore_originals(ws: Workspace, prefix: str, out: Path) -> list[Path]:
    """Write every received file whose hash starts with ``prefix`` into ``out`` as
    ``<hash12>_<received name>``; returns the paths written."""
    wanted = prefix.strip().lower()
    if not _HEX.fullmatch(wanted):
        raise UsageError("archive.bad_hash", hash=prefix, min=MIN_PREFIX)
    store_path = ws.data / "register.sqlite"
    if not store_path.exists():
        raise UsageError("register.empty", path=ws.root)
    with Store(store_path) as store:
        found = [s for s in store.submissions() if s.sha256.startswith(wanted)]
    if not found:
        raise UsageError("archive.not_found", hash=prefix)
    written = []
    for sub in found:
        try:
            data = read_archived(ws.data / "archive", sub.archived)
        except (OSError, KeyError, zipfile.BadZipFile) as err:
            raise XlsxflowError("archive.damaged", name=sub.archived, detail=err) from None
        if hashlib.sha256(data).hexdigest() != sub.sha256:
            raise XlsxflowError("archive.damaged", name=sub.archived, detail="内容与编号不符")
        name = Path(sub.name)
        # (returns are known by their content: a name's last dot may not start a suffix)
        if name.suffix.lower() in SUFFIXES:
            stem, suffix = name.stem, name.suffix
        else:
            stem, suffix = name.name, f".{sub.format or 'xlsx'}"
        target = out / safe_filename([sub.sha256[:12], stem], suffix)
        write_atomic(target, data)
        written.append(target)
    return written
