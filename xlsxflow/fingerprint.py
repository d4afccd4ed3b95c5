"""A hash of the code (and form specs) that made something kept between runs.

What xlsxflow keeps to skip work next time (rows of the previous register.xlsx, the
roster as read) is used again only if the same code would make it again: an upgrade, an
edited spec or another zlib, whatever the version number says, makes it anew.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import ModuleType

from xlsxflow import __version__


def code_digest(*modules: ModuleType, extra: str = "") -> str:
    """The hash of ``modules``' source (all of a package's), the form specs, our version
    and ``extra``."""
    from xlsxflow.forms.catalog import templates_dir

    digest = hashlib.sha256(f"{__version__}|{extra}".encode())
    for module in modules:
        source = Path(str(module.__file__))
        files = sorted(source.parent.glob("*.py")) if source.name == "__init__.py" else [source]
        for file in files:
            digest.update(file.read_bytes())
    for spec in sorted(templates_dir().glob("*.toml")):
        digest.update(spec.read_bytes())
    return digest.hexdigest()
