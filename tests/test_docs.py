"""The reference documentation cannot drift from the code."""

from __future__ import annotations

from pathlib import Path

from xlsxflow.cli import COMMANDS
from xlsxflow.errors import CATALOGUE, render_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_every_command_is_in_the_readme_reference():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    reference = readme[readme.index("## Command reference") :]
    for name in COMMANDS:
        assert f"`xlsxflow {name} " in reference, name


def test_every_command_is_in_the_clerks_manual_or_reference():
    manual = (ROOT / "docs" / "使用手册.md").read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"xlsxflow {name}" in manual, name


def test_error_catalogue_document_is_current():
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert text == render_markdown(), "run: python -m xlsxflow.errors > docs/errors.md"
    for code in CATALOGUE:
        assert f"`{code}`" in text
