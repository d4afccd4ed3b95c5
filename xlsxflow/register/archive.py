"""Keep every received file byte for byte, under its SHA-256, before the store refers to it.

Files are kept in *packs*: uncompressed zip files of a few dozen returns each, under
``data/archive/packs/``, every member named ``<sha256><suffix>`` and holding the file's
exact bytes (Windows Explorer opens a pack like a folder). One file per return cost
~0.35 ms of file-system work each on the development VM — 3–4 s of a province's merge,
and more on Windows, where every new file is also scanned — against ~0.04 ms per return
in a pack.

A submission's ``archived`` name is ``packs/<id>.zip!<member>``; a name without ``!``
is a single file (how earlier versions kept them).
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from xlsxflow.errors import XlsxflowError
from xlsxflow.fsutil import BATCH_SYNC, atomic_file

PACKS = "packs"
SUFFIXES = frozenset({".xlsx", ".xls", ".ods", ".xlsm", ".et"})
_EPOCH = (1980, 1, 1, 0, 0, 0)  # members carry no time: the same files give the same pack


def member_name(sha: str, suffix: str) -> str:
    clean = suffix.lower() if suffix.lower() in SUFFIXES else ""
    return f"{sha}{clean}"


def locate(name: str) -> tuple[str, str | None]:
    """An ``archived`` name → (file inside the archive folder, member of that pack)."""
    file, bang, member = name.partition("!")
    return file, (member if bang else None)


def read_archived(folder: Path, name: str) -> bytes:
    file, member = locate(name)
    if member is None:
        return (folder / file).read_bytes()
    with zipfile.ZipFile(folder / file) as pack:
        return pack.read(member)


def archive_pack(files: Sequence[tuple[Path, str]], folder: Path) -> dict[str, str]:
    """Pack ``(source, sha)`` pairs into one pack (once); returns str(source) → archived
    name. The pack is named by its members' hashes, so a merge that crashed and runs
    again finds its pack; one that is not whole (written but not yet flushed when the
    power went) is made again. The caller makes the batch durable (``flush_batch``,
    ``fsync_dirs``) before the store refers to it."""
    members = {member_name(sha, source.suffix): (source, sha) for source, sha in files}
    order = sorted(members)
    pack_id = hashlib.sha256("\n".join(order).encode()).hexdigest()[:32]
    file = f"{PACKS}/{pack_id}.zip"
    target = folder / file
    if not _whole(target, {m: sha for m, (_, sha) in members.items()}):
        with (
            atomic_file(target, sync_dir=False, sync=not BATCH_SYNC) as fh,
            zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as pack,
        ):
            for member in order:
                source, sha = members[member]
                data = source.read_bytes()
                if hashlib.sha256(data).hexdigest() != sha:
                    raise XlsxflowError("inbox.file_changed", path=str(source))
                pack.writestr(zipfile.ZipInfo(member, _EPOCH), data)
    return {str(source): f"{file}!{member}" for member, (source, _) in members.items()}


def _whole(target: Path, members: Mapping[str, str]) -> bool:
    if not target.exists():
        return False
    try:
        with zipfile.ZipFile(target) as pack:
            if sorted(pack.namelist()) != sorted(members):
                return False
            return all(
                hashlib.sha256(pack.read(m)).hexdigest() == sha for m, sha in members.items()
            )
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


# Keeps a batch of files just read (in the process that read them) and returns
# str(path) → the name under which each was archived (``Archiver`` is merge's).
Archive = Callable[[Sequence[Path]], Mapping[str, str]]


@dataclass(frozen=True)
class Archiver:
    """Archives each batch of a merge's files in the process that read them: the copies
    then run on every core instead of contending with the main process (picklable, sent
    once to each worker)."""

    folder: Path
    hashes: dict[str, str]  # str(path) → the SHA-256 the merge computed

    def __call__(self, paths: Sequence[Path]) -> dict[str, str]:
        return archive_pack([(p, self.hashes[str(p)]) for p in paths], self.folder)
