"""Resource limits for untrusted workbooks.

A typical return is 15–60 KB; the limits leave two orders of magnitude of room while
keeping the time and memory one hostile file can cost bounded.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 20 * 1024 * 1024
    max_members: int = 500
    max_member_bytes: int = 64 * 1024 * 1024  # one uncompressed XML part
    max_total_bytes: int = 200 * 1024 * 1024  # all parts we inflate, together
    max_ratio: int = 200  # uncompressed / compressed, for parts above ratio_floor
    ratio_floor: int = 1024 * 1024
    max_cells: int = 2_000_000  # per sheet, cells we look at
    max_strings: int = 1_000_000
    max_cell_chars: int = 32_767  # Excel's own limit for one cell


DEFAULT_LIMITS = Limits()
