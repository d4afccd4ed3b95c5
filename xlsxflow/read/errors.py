"""The one exception of the reading layer: a file that cannot be read, with a code."""

from __future__ import annotations


class ReadError(Exception):
    """``code`` is a catalogue code (``file.*``); ``detail`` goes into its message."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
