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
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from xlsxflow.errors import XlsxflowError
from xlsxflow.fsutil import sha256_of

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

RACY_NS = 3_000_000_000
# ``share``: from how many files to hash the others help, and in batches of how many
SHARED_FROM = 256
SHARED_BATCH = 64
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


Hashed = tuple[Stat, str, bool]  # stat, SHA-256, and whether the file kept still meanwhile


def _hashed(path: PathLike) -> Hashed:
    stat = stat_of(path)
    sha = sha256_of(path)
    return stat, sha, stat_of(path) == stat


def hashed_batch(paths: Sequence[str]) -> list[Hashed | str]:
    """``_hashed`` of each path, or why it could not be read: run by the processes
    ``share`` is given (so only text and tuples go back and forth)."""
    out: list[Hashed | str] = []
    for path in paths:
        try:
            out.append(_hashed(path))
        except OSError as err:
            out.append(err.strerror or type(err).__name__)
    return out


class _Batch:
    """A batch of files handed to another process to hash; hashed here instead if no
    process has taken it when its first file is asked for."""

    def __init__(self, paths: list[str], future: Future[list[Hashed | str]]) -> None:
        self.paths = paths
        self.future = future
        self.done: dict[str, Hashed | str] | None = None

    def of(self, path: str) -> Hashed:
        if self.done is None:
            self.done = dict(zip(self.paths, self._hashed(), strict=True))
        found = self.done[path]
        if isinstance(found, str):
            raise OSError(0, found)
        return found

    def _hashed(self) -> list[Hashed | str]:
        from concurrent.futures import BrokenExecutor, CancelledError

        if not self.future.cancel():
            try:
                return self.future.result()
            except (BrokenExecutor, CancelledError):  # (a process that died costs time only)
                pass
        return hashed_batch(self.paths)


def _same(entry: tuple[Stat, str] | None, stat: Stat | None) -> str | None:
    """The SHA-256 of ``entry`` if it was taken with ``stat``."""
    return entry[1] if entry is not None and entry[0] == stat else None


class InboxHashes:
    """Hashes of the files under ``root``, from ``known`` (path relative to ``root`` →
    (stat, sha256), as the store holds them) where the file's ``stat`` is unchanged;
    else from ``hashed`` (the same, as this command hashed them before: ``run``'s, for
    its merge; ``trusted``), where it is."""

    def __init__(
        self,
        root: Path,
        known: dict[str, tuple[Stat, str]],
        hashed: dict[str, tuple[Stat, str]] | None = None,
    ) -> None:
        self.root = root
        self._under = os.path.join(str(root), "")  # (the root's text and a separator)
        self.known = known
        self.hashed = hashed or {}
        self.seen: dict[str, tuple[Stat, str]] = {}
        self._unchanged: set[PathLike] = set()  # (hashed, and as the store held them)
        self._shared: dict[str, _Batch] = {}  # (see ``share``)
        self._stats: dict[str, Stat] = {}  # (what ``share`` found, for ``sha256``)
        self.started = time.time_ns()

    def share(self, paths: Sequence[str], on: Executor | None) -> None:
        """Have the processes of ``on`` (idle, started to read the new files) hash those
        of ``paths`` whose ``stat`` changed, in batches, as this process goes through
        them with ``sha256`` and hashes any batch none has taken yet. A cold merge of a
        province hashed its 10,000 files here (0.5 s on the development VM) while the
        readers it had started waited for them."""
        if on is None or len(paths) - len(self.known) < SHARED_FROM:
            return  # (too few can be new to pay for asking every file's ``stat`` first)
        from concurrent.futures import BrokenExecutor

        todo = [p for p in paths if not self._vouched(p)]
        if len(todo) < SHARED_FROM:
            return
        for i in range(0, len(todo), SHARED_BATCH):
            batch = todo[i : i + SHARED_BATCH]
            try:
                future = on.submit(hashed_batch, batch)
            except (BrokenExecutor, RuntimeError):  # (gone: the rest is hashed here)
                return
            self._shared.update(dict.fromkeys(batch, _Batch(batch, future)))

    def _vouched(self, path: str) -> bool:
        """Whether ``stat`` says ``path`` is as the store holds it; what it said is kept
        for ``sha256`` (a province's 10,000 files are not asked twice). One that cannot
        be read now is left to ``sha256`` to say so, in its turn."""
        try:
            stat = self._stats[path] = stat_of(path)
        except OSError:
            return False
        key = self.key(path)
        return (_same(self.known.get(key), stat) or _same(self.hashed.get(key), stat)) is not None

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
        shared = self._shared.pop(str(path), None)  # (its ``stat`` changed: see ``share``)
        kept = self._stats.pop(str(path), None)
        stat = None if shared is not None else kept or stat_of(path)
        sha = _same(self.known.get(key), stat)
        if sha is not None:
            self._unchanged.add(path)
        else:
            self._unchanged.discard(path)
            sha = _same(self.hashed.get(key), stat)
        if sha is None or stat is None:
            stat, sha, steady = shared.of(str(path)) if shared is not None else _hashed(path)
            if not steady:  # changed while it was read: not to be trusted
                self.seen[key] = (UNTRUSTED, sha)  # (nor is ``sha``: kept only to be read again)
                return sha, stat[0]
        self.seen[key] = (stat, sha)
        return sha, stat[0]

    def as_known(self, path: PathLike) -> bool:
        """True when ``path``, as it was given to ``sha256``, is what the store already
        held of it: its name was recorded by the merge that stored it (see ``merge``'s
        names). (A set look-up: working its key out again cost 6 ms at 10,000 files.)"""
        return path in self._unchanged

    def cached(self, path: PathLike) -> str | None:
        """The SHA-256 of ``path`` if it is known and ``stat`` says it is unchanged."""
        return _same(self.known.get(self.key(path)), stat_of(path))

    def stat(self, path: PathLike) -> Stat:
        """What ``stat`` said of ``path`` when it was hashed (all -1: it changed then)."""
        return self.seen[self.key(path)][0]

    def trusted(self) -> dict[str, tuple[Stat, str]]:
        """What was seen, the ``stat`` of a file changed within ``RACY_NS`` of being
        hashed (or while it was) as ``UNTRUSTED``: to store, or for a later look at the
        same inbox (``hashed``)."""
        limit = self.started - RACY_NS
        return {k: v if 0 <= v[0][1] < limit else (UNTRUSTED, v[1]) for k, v in self.seen.items()}

    def changes(self) -> tuple[dict[str, tuple[Stat, str]], set[str]]:
        """What to store (new or changed entries; those whose ``stat`` is not to be
        trusted next time as ``UNTRUSTED``) and what to forget (files no longer in the
        inbox)."""
        keep = self.trusted()
        upsert = {k: v for k, v in keep.items() if self.known.get(k) != v}
        forget = set(self.known) - set(keep)
        return upsert, forget
