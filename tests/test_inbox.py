"""The inbox is listed in one fixed order, and each file is known by its path under it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlsxflow.errors import UsageError
from xlsxflow.inbox import discover
from xlsxflow.register.hashes import InboxHashes


def test_every_file_under_the_folders_once_in_path_order(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    for name in ("b/2.xlsx", "a/z/1.xlsx", "a/1.xlsx", "c.xlsx", "a b/x.xls", "中文/表.xlsx"):
        (inbox / name).parent.mkdir(parents=True, exist_ok=True)
        (inbox / name).write_bytes(b"x")
    (inbox / "empty").mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "not-ours.xlsx").write_bytes(b"x")
    (inbox / "link").symlink_to(outside, target_is_directory=True)  # a link is not followed
    (inbox / "dangling.xlsx").symlink_to(tmp_path / "gone.xlsx")  # nothing to read
    if hasattr(os, "mkfifo"):
        os.mkfifo(inbox / "pipe.xlsx")  # reading it would wait for ever
    found = discover([inbox, inbox / "c.xlsx", inbox / "a"])  # named twice: listed once
    relative = [p.relative_to(inbox).as_posix() for p in found]
    assert relative == ["a b/x.xls", "a/1.xlsx", "a/z/1.xlsx", "b/2.xlsx", "c.xlsx", "中文/表.xlsx"]
    assert all(isinstance(p, Path) and p.is_file() for p in found)


def test_a_path_that_is_not_there_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        discover([tmp_path / "nowhere"])
    assert caught.value.code == "validate.no_files"


NAME = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\\x00"),
    min_size=1,
    max_size=8,
).filter(lambda n: n not in (".", ".."))


@settings(max_examples=200)
@given(st.lists(NAME, min_size=1, max_size=4), st.sampled_from(["inbox", "inbox/", "/a/b 表"]))
def test_a_files_key_is_its_path_under_the_inbox(parts: list[str], root: str) -> None:
    """Cut from the path's text, as ``relative_to`` and ``as_posix`` would give it."""
    base = Path(root)
    path = base.joinpath(*parts)
    assert InboxHashes(base, {}).key(path) == path.relative_to(base).as_posix()
