"""Keep every received file byte for byte, under its SHA-256, before it is parsed."""

from __future__ import annotations

import hashlib
from pathlib import Path

from xlsxflow.fsutil import write_atomic

CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def archive_name(sha: str, suffix: str) -> str:
    """``ab/abcdef….xlsx``: two-level fan-out keeps folders small on Windows too."""
    clean = suffix.lower() if suffix.lower() in {".xlsx", ".xls", ".ods", ".xlsm", ".et"} else ""
    return f"{sha[:2]}/{sha}{clean}"


def archive_file(source: Path, sha: str, folder: Path) -> str:
    """Copy ``source`` into the archive (once); return its archive name. The caller
    flushes the archive's folders (``fsync_dirs``) before relying on the copies."""
    name = archive_name(sha, source.suffix)
    target = folder / name
    if not target.exists():
        data = source.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha:
            raise OSError(f"{source} changed while it was being archived")
        write_atomic(target, data, sync_dir=False)
    return name
