"""Keep every received file byte for byte, under its SHA-256, before it is parsed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from xlsxflow.fsutil import BATCH_SYNC, write_atomic

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
    """Copy ``source`` into the archive (once); return its archive name. The caller makes
    the batch durable (``flush_batch``, ``fsync_dirs``) before the store refers to it. A copy left by a merge that crashed before that is
    checked against its hash and made again if it is not whole."""
    name = archive_name(sha, source.suffix)
    target = folder / name
    if not target.exists() or sha256_of(target) != sha:
        data = source.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha:
            raise OSError(f"{source} changed while it was being archived")
        write_atomic(target, data, sync_dir=False, sync=not BATCH_SYNC)
    return name


@dataclass(frozen=True)
class Archiver:
    """Archives each file of a merge just before it is read, in the process that reads it:
    the copies and their flushes to disk then run on every core instead of contending
    with the main process (picklable, sent once to each worker)."""

    folder: Path
    hashes: dict[str, str]  # str(path) → the SHA-256 the merge computed

    def __call__(self, path: Path) -> None:
        archive_file(path, self.hashes[str(path)], self.folder)
