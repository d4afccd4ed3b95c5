"""How a merge's archive copies are made durable before its commit."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from xlsxflow import fsutil
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


def test_off_linux_each_copy_is_flushed_as_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no ``sync`` (and macOS's does not wait): a flush per copy."""
    monkeypatch.setattr(archive, "BATCH_SYNC", False)
    monkeypatch.setattr(fsutil, "BATCH_SYNC", False)
    calls = spy_on(monkeypatch)
    for path, sha in sources(tmp_path, 5):
        archive.archive_file(path, sha, tmp_path / "archive")
    fsutil.flush_batch()
    assert calls == ["fsync"] * 5


@pytest.mark.skipif(sys.platform != "linux", reason="Linux only")
def test_on_linux_one_sync_covers_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = spy_on(monkeypatch)
    copies = []
    for path, sha in sources(tmp_path, 5):
        copies.append(tmp_path / "archive" / archive.archive_file(path, sha, tmp_path / "archive"))
    fsutil.flush_batch()
    assert calls == ["sync"]
    assert [p.read_bytes().decode() for p in copies] == [f"内容{i}" for i in range(5)]


def test_write_atomic_without_sync_still_replaces_in_one_step(tmp_path: Path) -> None:
    target = tmp_path / "a.xlsx"
    target.write_bytes(b"old")
    fsutil.write_atomic(target, b"new", sync=False)
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.xlsx"]  # no temporary left
