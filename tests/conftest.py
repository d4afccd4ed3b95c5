"""Shared fixtures: fresh workspaces built through the library, as a clerk would."""

from __future__ import annotations

from pathlib import Path

import pytest

from xlsxflow.config import Config
from xlsxflow.sample_county import sample_roster
from xlsxflow.workspace import Workspace, init_workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "ws", Config(), sample_roster())
