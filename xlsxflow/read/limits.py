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
    # a sheet read cell by cell as an element tree (one with formulas or odd cells: not
    # calamine's), which costs ~27 times its XML: 62 MB of it took 1.7 GB
    max_tree_bytes: int = 16 * 1024 * 1024
    max_total_bytes: int = 200 * 1024 * 1024  # all parts we inflate, together
    max_ratio: int = 200  # uncompressed / compressed, for parts above ratio_floor
    ratio_floor: int = 1024 * 1024
    max_cells: int = 2_000_000  # per sheet, cells we look at
    max_strings: int = 1_000_000
    max_cell_chars: int = 32_767  # Excel's own limit for one cell
    # Sheets of up to 99,999 rows and 52 columns read by calamine (which holds a sheet's
    # whole area at once), not only those of 5,000 × 100 or 59,999 × 26 (``read.xlsx``)
    tall_sheets: bool = False


DEFAULT_LIMITS = Limits()

# register.xlsx as the department saved it, read back for its edits (one sheet of it):
# not a committee's return, and a province's is ~25 MB as we write it (190 MB of XML,
# more once Excel has saved it with every text in its shared strings). Under the
# returns' limits its edits went unread beyond ~9,000 returns. The bomb checks stay.
REGISTER_LIMITS = Limits(
    max_file_bytes=512 * 1024 * 1024,
    max_member_bytes=1024 * 1024 * 1024,
    max_tree_bytes=1024 * 1024 * 1024,
    max_total_bytes=2 * 1024 * 1024 * 1024,
    max_cells=20_000_000,
    max_strings=20_000_000,
    tall_sheets=True,
)
