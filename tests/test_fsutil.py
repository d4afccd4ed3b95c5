"""How a merge's archive copies are made durable before its commit."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from xlsxflow import fsutil
from xlsxflow.errors import XlsxflowError
from xlsxflow.register import archive


def sources(tmp_path: Path, count: int) -> list[tuple[Path, str]]:
    out = []
    for i in range(count):
        path = tmp_path / "inbox" / f"t{i}.xlsx"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(f"内容{i}".encode())
        out.append((path, hashlib.sha256(path.read_bytes()).hexdigest()))
    return out


def spy_on(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "sync", lambda: calls.append("sync"), raising=False)
    return calls


def test_off_linux_each_pack_is_flushed_as_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no ``sync`` (and macOS's does not wait): a flush per pack."""
    monkeypatch.setattr(archive, "BATCH_SYNC", False)
    monkeypatch.setattr(fsutil, "BATCH_SYNC", False)
    calls = spy_on(monkeypatch)
    files = sources(tmp_path, 6)
    packs = set()
    for batch in (files[:2], files[2:4], files[4:]):
        names = archive.archive_pack(batch, tmp_path / "archive")
        packs |= {tmp_path / "archive" / archive.locate(n)[0] for n in names.values()}
    fsutil.flush_batch(packs)
    assert calls == ["fsync"] * 3


@pytest.mark.skipif(sys.platform != "linux", reason="Linux only")
@pytest.mark.parametrize("few", [1, 2])
def test_on_linux_a_batch_is_flushed_at_once_or_a_few_files_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    monkeypatch.setattr(fsutil, "FEW_FILES", few)
    calls = spy_on(monkeypatch)
    names: dict[str, str] = {}
    files = sources(tmp_path, 6)
    for batch in (files[:3], files[3:]):
        names |= archive.archive_pack(batch, tmp_path / "archive")
    assert calls == []  # nothing flushed while packing
    fsutil.flush_batch({tmp_path / "archive" / archive.locate(n)[0] for n in names.values()})
    assert calls == (["sync"] if few == 1 else ["fsync", "fsync"])
    read = [archive.read_archived(tmp_path / "archive", names[str(p)]) for p, _ in files]
    assert [data.decode() for data in read] == [f"内容{i}" for i in range(6)]


def test_a_pack_is_named_by_its_members_and_made_once(tmp_path: Path) -> None:
    files = sources(tmp_path, 4)
    folder = tmp_path / "archive"
    names = archive.archive_pack(files, folder)
    [pack] = list((folder / "packs").iterdir())
    made = pack.stat().st_mtime_ns, pack.read_bytes()
    assert archive.archive_pack(list(reversed(files)), folder) == names  # same members
    assert (pack.stat().st_mtime_ns, pack.read_bytes()) == made  # not written again
    assert archive.archive_pack(files[:3], folder) != names  # other members, other pack
    assert len(list((folder / "packs").iterdir())) == 2


def test_a_file_that_changed_since_it_was_hashed_is_not_archived(tmp_path: Path) -> None:
    [(path, sha)] = sources(tmp_path, 1)
    path.write_bytes(b"changed")
    with pytest.raises(XlsxflowError, match="在合并过程中被改动") as changed:
        archive.archive_pack([(path, sha)], tmp_path / "archive")
    assert changed.value.code == "inbox.file_changed"
    assert [p.name for p in (tmp_path / "archive" / "packs").iterdir()] == []  # no temporary


def test_write_atomic_without_sync_still_replaces_in_one_step(tmp_path: Path) -> None:
    target = tmp_path / "a.xlsx"
    target.write_bytes(b"old")
    fsutil.write_atomic(target, b"new", sync=False)
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.xlsx"]  # no temporary left


def windows_refuses(monkeypatch: pytest.MonkeyPatch, target: Path) -> None:
    """Windows refuses to replace a read-only file, or one held open, with
    PermissionError (Linux lets root do both): simulated for ``target``."""
    real = os.replace

    def replace(src, dst):  # type: ignore[no-untyped-def]
        if Path(dst) == target:
            raise PermissionError(13, "Access is denied", str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def test_a_read_only_target_is_told_as_such_and_left_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "报表.xlsx"
    target.write_bytes(b"old")
    target.chmod(0o444)
    windows_refuses(monkeypatch, target)
    with pytest.raises(fsutil.FileReadOnlyError) as refused:
        fsutil.write_atomic(target, b"new")
    told = fsutil.output_error(refused.value)
    assert told.code == "output.read_only" and "取消勾选“只读”" in str(told)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["报表.xlsx"]  # no temporary left
    with pytest.raises(fsutil.FileReadOnlyError):  # (and said before any work is done)
        _open_refused(monkeypatch, target)


def _open_refused(monkeypatch: pytest.MonkeyPatch, target: Path) -> None:
    real = Path.open

    def held(self, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if self == target and mode == "r+b":
            raise PermissionError(13, "Access is denied", str(self))
        return real(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", held)
    fsutil.ensure_writable(target)


def test_a_target_held_open_is_tried_again_before_it_is_told_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(Windows: an antivirus or a sync tool holds a file for a moment.)"""
    target = tmp_path / "register.xlsx"
    target.write_bytes(b"old")
    monkeypatch.setattr(fsutil, "REPLACE_WAITS", (0.01, 0.01))
    monkeypatch.setattr(fsutil.time, "sleep", lambda s: None)
    real, refusals = os.replace, []

    def replace(src, dst):  # type: ignore[no-untyped-def]
        if len(refusals) < 2:
            refusals.append(dst)
            raise PermissionError(13, "The process cannot access the file", str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    fsutil.write_atomic(target, b"new")
    assert target.read_bytes() == b"new" and len(refusals) == 2
    windows_refuses(monkeypatch, target)
    with pytest.raises(fsutil.FileBusyError) as busy:
        fsutil.write_atomic(target, b"newer")
    assert not isinstance(busy.value, fsutil.FileReadOnlyError)
    assert fsutil.output_error(busy.value).code == "output.busy"
    assert target.read_bytes() == b"new"
