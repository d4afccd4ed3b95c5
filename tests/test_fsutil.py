"""The batch flush that makes a merge's archive copies durable before its commit."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from xlsxflow import fsutil


def written(tmp_path: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = tmp_path / f"{i:02d}" / f"copy{i}.xlsx"
        fsutil.write_atomic(path, f"内容{i}".encode(), sync=False, sync_dir=False)
        paths.append(path)
    return paths


def test_off_linux_every_file_is_flushed_and_left_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no ``os.sync`` (and macOS's does not wait): each copy is flushed."""
    paths = written(tmp_path, 5)
    monkeypatch.setattr(fsutil.sys, "platform", "win32")
    monkeypatch.delattr(os, "sync", raising=False)
    flushed: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        flushed.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    fsutil.flush_files(paths)
    assert len(flushed) == len(paths)
    assert [p.read_bytes().decode() for p in paths] == [f"内容{i}" for i in range(5)]


@pytest.mark.skipif(sys.platform != "linux", reason="Linux only")
def test_on_linux_one_sync_covers_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = written(tmp_path, 5)
    calls: list[str] = []
    real_sync = os.sync
    monkeypatch.setattr(os, "sync", lambda: (calls.append("sync"), real_sync())[1])
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync"))
    fsutil.flush_files(paths)
    assert calls == ["sync"]


def test_write_atomic_without_sync_still_replaces_in_one_step(tmp_path: Path) -> None:
    target = tmp_path / "a.xlsx"
    target.write_bytes(b"old")
    fsutil.write_atomic(target, b"new", sync=False)
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.xlsx"]  # no temporary left
