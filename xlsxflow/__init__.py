"""xlsxflow: Excel workflows for project-based grassroots Party-building work.

The package is laid out as the data flows: ``forms`` (declarative form specs) →
``templates`` (workbooks sent out) → reading and validating returns → register →
compliance and scoring → reports → mail. ``cli`` is a thin layer over these modules.
"""

import contextlib
import gc
from collections.abc import Iterator

__version__ = "0.1.0"


def collect_less_often() -> None:
    """Our processes make millions of small, short-lived objects with no cycles (cells,
    rows, values) while they hold large, long-lived ones (a province's roster and
    register): at the default thresholds the cycle collector walked those again and
    again — 12 % of a merge of 1 % resubmitted at 10,000 returns, 5 % of reading one."""
    gc.set_threshold(20_000, 20, 20)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """A context in which the cycle collector does not run (an explicit collection
    still does). A merge makes hundreds of thousands of acyclic objects that live until
    the register is written — its state, rows, index —, and the collector, finding
    nothing to free in them, cost 0.1 s of a merge of 1 % resubmitted at 10,000 and
    0.2 s of a cold one (whatever the thresholds: higher ones collect less often but
    longer; pausing around parts of it only moved the cost to the next collection).
    Its peak memory is the same without it. The few cycles it makes (xlsxwriter's
    workbook and sheets) are collected after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def give_back_memory() -> None:
    """Between the steps of ``run``: each step frees what it built, but glibc keeps the
    freed blocks in its heap, scattered among live ones, so each step started from the
    high-water mark of the one before (a province's run peaked over 300 MiB, the merge
    alone at 235). ``malloc_trim`` hands the free pages back. (Windows' heap returns
    them on its own; elsewhere this is only a collection.)"""
    import sys

    gc.collect()
    if sys.platform.startswith("linux"):
        import ctypes

        # (not glibc: musl has no malloc_trim)
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).malloc_trim(0)
