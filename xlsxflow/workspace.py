"""A workspace: one folder per cycle with its config, roster and the files that move.

DIR/xlsxflow.toml   configuration (calendar, thresholds, mail)
DIR/roster.xlsx     committees and leaders, kept by the clerk
DIR/outbox/         templates to send, one folder per committee
DIR/inbox/          returned workbooks, as received (any names, any sub-folders)
DIR/feedback/       marked-up copies for committees
DIR/reports/        registers and summaries for the department
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from xlsxflow.errors import UsageError
from xlsxflow.fsutil import default_dir_mode

if TYPE_CHECKING:  # (pydantic is imported only when the config is read: see nothing_new)
    from xlsxflow.config import Config
    from xlsxflow.roster import Roster

CONFIG_NAME = "xlsxflow.toml"
ROSTER_NAME = "roster.xlsx"
ROSTER_KEPT = "roster.json"  # the roster as last read (excel.roster_book.read_roster_kept)
FOLDERS = ("outbox", "inbox", "feedback", "reports")


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def roster_path(self) -> Path:
        return self.root / ROSTER_NAME

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def data(self) -> Path:
        """The register's store, the archive of received files, backups (managed by us)."""
        return self.root / "data"

    @property
    def register_path(self) -> Path:
        return self.root / "register.xlsx"

    @cached_property
    def config(self) -> Config:
        from xlsxflow.config import load_config

        return load_config(self.config_path)

    @cached_property
    def roster(self) -> Roster:
        from xlsxflow.excel.roster_book import read_roster_kept

        return read_roster_kept(self.roster_path, self.data / ROSTER_KEPT)

    def keep_roster(self) -> None:
        """Keep the roster as read, if it was read before the data folder existed
        (``excel.roster_book.keep_pending``)."""
        if "roster" in self.__dict__:  # (read: its module is loaded)
            from xlsxflow.excel.roster_book import keep_pending

            keep_pending(self.data / ROSTER_KEPT)

    @classmethod
    def open(cls, root: Path) -> Workspace:
        """The workspace at ``root``, its config and roster validated now."""
        root = Path(root)
        if not (root / CONFIG_NAME).is_file():
            raise UsageError("workspace.not_found", path=root.resolve())
        ws = cls(root)
        _ = ws.config, ws.roster
        return ws

    @classmethod
    def find(cls, start: Path) -> Workspace | None:
        """The nearest workspace holding ``start``, searched upwards like git does."""
        here = Path(start).resolve()
        if here.is_file():
            here = here.parent
        for folder in (here, *here.parents):
            if (folder / CONFIG_NAME).is_file():
                return cls.open(folder)
        return None


def init_workspace(root: Path, config: Config, roster: Roster) -> Workspace:
    """Create a workspace at ``root`` all at once: built aside, then moved into place."""
    import shutil
    import tempfile

    from xlsxflow.config import render_config
    from xlsxflow.excel.roster_book import write_roster
    from xlsxflow.mail import ensure_templates

    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise UsageError("workspace.exists", path=root.resolve())
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        os.chmod(staging, default_dir_mode())
        (staging / CONFIG_NAME).write_text(render_config(config), encoding="utf-8")
        write_roster(staging / ROSTER_NAME, roster)
        for name in FOLDERS:
            (staging / name).mkdir()
        ensure_templates(staging)
        if root.exists():
            root.rmdir()
        os.replace(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Workspace.open(root)
