"""Run a command and write its wall time, CPU time and peak memory as JSON.

    python measure.py OUT.json CMD [ARG...]

Started by ``bench.py`` so that the measured command is forked from this small process:
a process forked from a large one keeps that one's peak RSS as its own high-water mark.
On Linux the peak covers the command and the worker processes it waited for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main() -> None:
    out, argv = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(
            {
                "wall": wall,
                "cpu": usage.ru_utime + usage.ru_stime,
                "peak_mib": usage.ru_maxrss / 1024,
                "exit": os.waitstatus_to_exitcode(status),
            },
            fh,
        )


if __name__ == "__main__":
    main()
