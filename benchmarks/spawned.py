"""The xlsxflow command, its worker processes started as Windows starts them.

    python benchmarks/spawned.py merge WORKSPACE -q

On Linux a worker is forked: it starts at once, holding its parent's modules and data.
On Windows it is spawned: a new interpreter that imports xlsxflow and is sent what it
needs. ``bench.py --spawn`` times every step this way, as the department's PC runs it
(its slower process creation and file system aside).
"""

from __future__ import annotations

import multiprocessing

if __name__ == "__main__":
    multiprocessing.set_start_method("spawn")
    from xlsxflow.cli import main

    main()
