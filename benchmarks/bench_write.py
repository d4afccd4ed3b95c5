"""Writing speed and memory of the summary workbooks (issue 6).

    python benchmarks/bench_write.py [--rows 100000] [--columns 25]

Writes one ``ReportBook`` table sheet of the given size (text, numbers and dates mixed,
as in 逾期任务清单) and prints rows per second and the process's peak memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
from decimal import Decimal

from xlsxflow.excel.report_book import ReportBook, Table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--columns", type=int, default=25)
    args = parser.parse_args()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def rows():  # generated lazily, as the register streams its rows
        day = dt.date(2012, 3, 31)
        for i in range(args.rows):
            row = []
            for c in range(args.columns):
                kind = c % 4
                row.append(
                    f"任务{i}-{c} 召开推进会"
                    if kind == 0
                    else Decimal(i % 100)
                    if kind == 1
                    else day - dt.timedelta(days=i % 90)
                    if kind == 2
                    else i
                )
            yield row

    start = time.perf_counter()
    book = ReportBook("bench", dt.datetime(2011, 10, 28), "县委组织部")
    book.table(Table("任务", "任务清单", [f"列{c}" for c in range(args.columns)], rows()))
    data = book.close()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.rows} rows × {args.columns} columns in {seconds:.1f} s: "
        f"{args.rows / seconds:,.0f} rows/s; workbook {len(data) / 2**20:.1f} MiB; "
        f"peak memory {peak:.0f} MiB (interpreter and imports: {base:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
