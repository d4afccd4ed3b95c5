"""The one exception of the reading layer: a file that cannot be read, with a code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class ReadError(Exception):
    """``code`` is a catalogue code (``file.*``); ``detail`` goes into its message."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@contextmanager
def calamine_errors(where: str = "") -> Iterator[None]:
    """calamine's failures as this file's ``ReadError``: its errors, and its panics, which
    pyo3 raises as a ``BaseException`` that passes every ``except Exception`` (a date
    cell of -1e16 days stopped the whole run)."""
    from python_calamine import CalamineError

    try:
        yield
    except (CalamineError, ValueError, OSError) as err:
        raise ReadError("file.corrupt", f"{where}{err}") from None
    except BaseException as err:
        if type(err).__module__ != "pyo3_runtime":
            raise
        raise ReadError("file.crashed", f"{where}表格读取组件无法处理其中的内容") from None
