"""``give_back_memory``: what ``run`` frees between its steps goes back to the system."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from xlsxflow import give_back_memory


def resident_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def glibc() -> bool:
    import ctypes

    return sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "malloc_trim")


@pytest.mark.skipif(not glibc(), reason="glibc's heap, read in /proc")
def test_freed_blocks_among_live_ones_are_handed_back() -> None:
    # 200 MB in blocks of 2 KB (from malloc's heap, not its own mappings), one in 100
    # kept alive: freeing the rest leaves holes that malloc keeps without a trim.
    blocks = [bytes(2048) for _ in range(100_000)]
    kept = blocks[::100]
    del blocks
    before = resident_mib()
    give_back_memory()
    after = resident_mib()
    assert len(kept) == 1_000
    assert before - after > 100, (before, after)
