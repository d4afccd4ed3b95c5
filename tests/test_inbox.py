"""The inbox is listed in one fixed order, and each file is known by its path under it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlsxflow.errors import UsageError
from xlsxflow.inbox import discover, listing
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
    (inbox / "linked.xlsx").symlink_to(outside / "not-ours.xlsx")  # nor a link to a file
    if hasattr(os, "mkfifo"):
        os.mkfifo(inbox / "pipe.xlsx")  # reading it would wait for ever
    found = discover([inbox, inbox / "c.xlsx", inbox / "a"])  # named twice: listed once
    relative = [p.relative_to(inbox).as_posix() for p in found]
    assert relative == ["a b/x.xls", "a/1.xlsx", "a/z/1.xlsx", "b/2.xlsx", "c.xlsx", "中文/表.xlsx"]
    assert all(isinstance(p, Path) and p.is_file() for p in found)
    # (merge lists it as text, in the same order)
    assert listing([inbox, inbox / "c.xlsx", inbox / "a"]) == [str(p) for p in found]


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


def test_a_folder_that_cannot_be_listed_stops_the_run_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(Skipping it, as ``rglob`` did, would leave its returns out without a word.)"""
    inbox = tmp_path / "inbox"
    (inbox / "台帐").mkdir(parents=True)
    (inbox / "a.xlsx").write_bytes(b"x")
    real = os.scandir

    def refused(path):  # type: ignore[no-untyped-def]
        if str(path).endswith("台帐"):
            raise PermissionError(13, "拒绝访问")
        return real(path)

    monkeypatch.setattr(os, "scandir", refused)
    with pytest.raises(UsageError) as caught:
        discover([inbox])
    assert caught.value.code == "inbox.unreadable"
    assert "台帐" in str(caught.value) and "拒绝访问" in str(caught.value)


def test_two_files_whose_names_differ_in_letter_case_are_both_listed(tmp_path: Path) -> None:
    """(A folder on Windows may be case sensitive: neither return may be dropped.)"""
    (tmp_path / "A.xlsx").write_bytes(b"x")
    (tmp_path / "a.xlsx").write_bytes(b"y")
    assert discover([tmp_path, tmp_path / "A.xlsx"]) == [tmp_path / "A.xlsx", tmp_path / "a.xlsx"]
