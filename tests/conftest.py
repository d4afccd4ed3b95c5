"""Shared fixtures: fresh workspaces built through the library, as a clerk would."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xlsxflow.config import Config
from xlsxflow.sample_county import sample_roster
from xlsxflow.workspace import Workspace, init_workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "ws", Config(), sample_roster())


# -- LibreOffice as a real client (tests/realclient) --------------------------------------

REQUIRE_LIBREOFFICE = "XLSXFLOW_REQUIRE_LIBREOFFICE"


def _require_libreoffice() -> None:
    """Skip without LibreOffice; fail instead when XLSXFLOW_REQUIRE_LIBREOFFICE=1 (CI)."""
    from realclient import missing_tools

    missing = missing_tools()
    if not missing:
        return
    text = "LibreOffice real-client tools missing: " + "; ".join(missing)
    if os.environ.get(REQUIRE_LIBREOFFICE, "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"{text} (required because {REQUIRE_LIBREOFFICE} is set)", pytrace=False)
    pytest.skip(text)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``@pytest.mark.libreoffice`` run only where LibreOffice is installed."""
    if item.get_closest_marker("libreoffice") is not None:
        _require_libreoffice()


@pytest.fixture(scope="session")
def libreoffice() -> None:
    """The same check as the marker, for tests that prefer a fixture."""
    _require_libreoffice()
