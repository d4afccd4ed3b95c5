"""The SHA-256 of each inbox file, read again only when the file may have changed.

A clerk re-runs merge many times a day over an inbox that mostly holds files already
merged; hashing all of a province's returns (200 MB) took most of such a run. As git's
index does, the store keeps each file's hash with what ``stat`` said of it (size,
modification and change times, file id); a file whose ``stat`` is unchanged is not read.
A file modified within ``RACY_NS`` of being hashed is not trusted by its ``stat``: on
file systems with coarse timestamps (FAT: 2 s) a later change could leave its times as
they were. It is remembered with ``UNTRUSTED`` instead, which no ``stat`` matches: read
again next time, but known to be no new arrival (``nothing_new`` counts those).
(The window is judged by this PC's clock: an inbox on a share whose clock runs more
than 3 s behind it, and which keeps coarse times, could defeat it.)

On Windows ``st_ctime`` is the creation time, and a file replaced in place (Explorer's
"replace", unzipping) keeps it and its file id, while copying keeps the sender's
modification time: a same-size resubmission could look unchanged. There the last 4 KB
of the file (for an .xlsx: its zip directory, with every part's CRC) are read as well,
which costs a read per file but far less than hashing it.
"""

from __future__ import annotations

import os
import time
import zlib
from pathlib import Path

from xlsxflow.errors import XlsxflowError
from xlsxflow.fsutil import sha256_of

RACY_NS = 3_000_000_000
TAIL_PROBE = os.name == "nt"
TAIL_BYTES = 4096

Stat = tuple[int, ...]  # size, mtime_ns, ctime_ns, file id, CRC of the tail (or 0)
UNTRUSTED: Stat = (-1, -1, -1, -1, -1)  # (no file's: read again whenever asked)
PathLike = str | Path  # (the inbox is listed as text: see ``inbox.listing``)


def stat_of(path: PathLike) -> Stat:
    st = os.stat(path)
    tail = _tail_crc(path, st.st_size) if TAIL_PROBE else 0
    # (ReFS and some shares give 128-bit file ids; SQLite keeps 64-bit integers)
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino % (1 << 63), tail)


def _tail_crc(path: PathLike, size: int) -> int:
    with open(path, "rb") as fh:
        fh.seek(max(0, size - TAIL_BYTES))
        return zlib.crc32(fh.read(TAIL_BYTES))


class InboxHashes:
    """Hashes of the files under ``root``, from ``known`` (path relative to ``root`` →
    (stat, sha256), as the store holds them) where the file's ``stat`` is unchanged."""

    def __init__(self, root: Path, known: dict[str, tuple[Stat, str]]) -> None:
        self.root = root
        self._under = os.path.join(str(root), "")  # (the root's text and a separator)
        self.known = known
        self.seen: dict[str, tuple[Stat, str]] = {}
        self._unchanged: set[PathLike] = set()  # (hashed, and as the store held them)
        self.started = time.time_ns()

    def key(self, path: PathLike) -> str:
        """``path`` relative to the root, with ``/``: what the store keeps it under.
        (Cut from its text where it starts with the root's: ``relative_to`` cost as
        much as the ``stat`` of the file, asked of 10,000 files at every merge.)"""
        text = str(path)
        if text.startswith(self._under):
            return text[len(self._under) :].replace(os.sep, "/")
        return Path(path).relative_to(self.root).as_posix()

    def sha256(self, path: PathLike) -> tuple[str, int]:
        """(sha256, size) of ``path``; ``inbox.file_unreadable`` if it cannot be read
        (on Windows: held by another program, or a sync tool's file not downloaded)."""
        try:
            return self._sha256(path)
        except OSError as err:
            raise XlsxflowError(
                "inbox.file_unreadable", path=str(path), reason=err.strerror or type(err).__name__
            ) from None

    def _sha256(self, path: PathLike) -> tuple[str, int]:
        key = self.key(path)
        stat = stat_of(path)
        size = stat[0]
        entry = self.known.get(key)
        if entry is not None and entry[0] == stat:
            sha = entry[1]
            self._unchanged.add(path)
        else:
            sha = sha256_of(path)
            if stat_of(path) != stat:  # changed while it was read: not to be trusted
                stat = UNTRUSTED  # (nor is ``sha``: kept only to be read again)
            self._unchanged.discard(path)
        self.seen[key] = (stat, sha)
        return sha, size

    def as_known(self, path: PathLike) -> bool:
        """True when ``path``, as it was given to ``sha256``, is what the store already
        held of it: its name was recorded by the merge that stored it (see ``merge``'s
        names). (A set look-up: working its key out again cost 6 ms at 10,000 files.)"""
        return path in self._unchanged

    def cached(self, path: PathLike) -> str | None:
        """The SHA-256 of ``path`` if it is known and ``stat`` says it is unchanged."""
        entry = self.known.get(self.key(path))
        return entry[1] if entry is not None and entry[0] == stat_of(path) else None

    def stat(self, path: PathLike) -> Stat:
        """What ``stat`` said of ``path`` when it was hashed (all -1: it changed then)."""
        return self.seen[self.key(path)][0]

    def changes(self) -> tuple[dict[str, tuple[Stat, str]], set[str]]:
        """What to store (new or changed entries; those whose ``stat`` is not to be
        trusted next time as ``UNTRUSTED``) and what to forget (files no longer in the
        inbox)."""
        limit = self.started - RACY_NS
        keep = {k: v if 0 <= v[0][1] < limit else (UNTRUSTED, v[1]) for k, v in self.seen.items()}
        upsert = {k: v for k, v in keep.items() if self.known.get(k) != v}
        forget = set(self.known) - set(keep)
        return upsert, forget
