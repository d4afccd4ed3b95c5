"""File-system helpers that keep the department's files whole.

Every file xlsxflow writes goes through ``write_atomic``: the bytes land in a temporary
file in the same folder, are flushed to disk, then replace the target in one step, so a
crash or a power cut leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import BinaryIO

from xlsxflow.errors import XlsxflowError

HASH_PIECE = 1 << 20


def sha256_of(path: str | Path) -> str:
    """The SHA-256 of the file at ``path``, read a piece at a time."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while piece := fh.read(HASH_PIECE):
            digest.update(piece)
    return digest.hexdigest()


class FileBusyError(OSError):
    """The target is open in another program (Excel locks the files it has open on Windows)."""


class FileReadOnlyError(FileBusyError):
    """The target is marked read-only (restored from a CD or a USB stick, or set so by
    hand): Windows refuses to replace it, whoever has it open."""


def _refused(err: PermissionError, path: Path) -> FileBusyError:
    """Why ``path`` could not be written: read-only, else held by another program."""
    try:
        read_only = not path.stat().st_mode & stat.S_IWRITE
    except OSError:
        read_only = False
    kind = FileReadOnlyError if read_only else FileBusyError
    return kind(err.errno, f"{path} 无法写入", str(path))


def output_error(err: FileBusyError) -> XlsxflowError:
    """What the clerk is told of an output that could not be written."""
    code = "output.read_only" if isinstance(err, FileReadOnlyError) else "output.busy"
    return XlsxflowError(code, path=err.filename)


# On Windows an antivirus, the search indexer or a sync tool may hold a file for a moment
# just after it was written: replacing is tried again before it is reported as busy.
REPLACE_WAITS = (0.1, 0.3, 0.6) if os.name == "nt" else ()


def _replace(tmp: Path, path: Path) -> None:
    for wait in (*REPLACE_WAITS, None):
        try:
            os.replace(tmp, path)
            return
        except PermissionError as err:
            if wait is None:
                raise _refused(err, path) from err
            time.sleep(wait)


def write_atomic(path: Path, data: bytes, *, sync_dir: bool = True, sync: bool = True) -> None:
    """``sync_dir=False`` leaves the folder's own flush to the caller (``fsync_dirs``),
    which pays it once for a batch of files instead of once per file; ``sync=False`` the
    same for the file's bytes (``flush_batch``)."""
    with atomic_file(path, sync_dir=sync_dir, sync=sync) as fh:
        fh.write(data)


@contextlib.contextmanager
def atomic_file(
    path: Path,
    *,
    sync_dir: bool = True,
    sync: bool = True,
    before_replace: Callable[[], None] | None = None,
) -> Iterator[BinaryIO]:
    """``write_atomic`` for content written piece by piece (an archive pack): the target
    is replaced only if the block finishes without an exception. ``before_replace`` runs
    once the new bytes are on disk, just before the target is replaced (it may raise to
    keep the target as it is)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    import tempfile  # (not at start-up: a merge with nothing new writes nothing)

    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, _mode_for(path) | stat.S_IWRITE)  # (never a read-only temporary)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        if before_replace is not None:
            before_replace()
        _replace(tmp, path)
    finally:
        # (an error here must not hide the one that stopped the write)
        with contextlib.suppress(OSError):
            tmp.unlink()
    if sync_dir:
        _fsync_dir(path.parent)


# Where ``sync()`` waits for the writes (Linux), a batch of files is written without a
# flush each and made durable by one ``flush_batch``: a flush per file cost more CPU than
# reading the file (10,000 archive copies in a merge). Elsewhere (Windows, macOS) each
# file is flushed as it is written.
BATCH_SYNC = sys.platform == "linux"


# Up to this many files are flushed one by one: ``sync()`` also waits for whatever else
# the system has to write (0.2 s on the development VM, with 100 files in 4 packs).
FEW_FILES = 16


def flush_batch(files: Collection[Path]) -> None:
    """Make durable ``files``, written with ``sync=not BATCH_SYNC``."""
    if not BATCH_SYNC:
        return
    if len(files) > FEW_FILES:
        os.sync()
        return
    for path in sorted(files):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_dirs(folders: set[Path]) -> None:
    """Make the names of files written with ``sync_dir=False`` durable."""
    for folder in sorted(folders):
        _fsync_dir(folder)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; new files get the usual 0666 less the umask
    (``mkstemp`` alone would leave every file readable by its owner only)."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def default_dir_mode() -> int:
    """What ``mkdir`` would give (``mkdtemp`` gives 0700)."""
    return 0o777 & ~_umask()


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, text.encode("utf-8"))


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LockedError(OSError):
    """Another xlsxflow process holds the workspace lock."""


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """An OS-level lock on ``path``: released by the OS even if the process is killed,
    so a crashed merge never blocks the next one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a+b")
    try:
        try:
            if os.name == "nt":
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            raise LockedError(err.errno, "workspace is locked", str(path)) from err
        yield
    finally:
        fh.close()


def ensure_writable(path: Path) -> None:
    """Fail early, before any work, if ``path`` is held open by another program (on
    Windows Excel locks the workbooks it has open; replacing them would fail later)."""
    if not path.exists():
        return
    try:
        with path.open("r+b"):
            pass
    except PermissionError as err:
        raise _refused(err, path) from err
