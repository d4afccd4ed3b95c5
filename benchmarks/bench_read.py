"""Reader benchmark for issue 3: which reader, and read + validate throughput on one core.

    python benchmarks/bench_read.py [--files 300]

Builds a filled application form (with its plan table) and times, per file:
  - calamine: open + values of the form sheet (the floor for cell values);
  - openpyxl read-only: open + values of the form sheet;
  - xlsxflow xml: our reader forced onto its defusedxml path (no calamine);
  - xlsxflow: our reader as shipped (structure via defusedxml, cells via calamine);
  - read + validate: ``intake.read_return`` (identify, extract by names, all rules).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _time(label: str, fn: Callable[[Path], object], files: list[Path]) -> float:
    fn(files[0])  # warm-up
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        for f in files:
            fn(f)
        runs.append((time.perf_counter() - start) / len(files))
    per = statistics.median(runs)
    print(f"{label:28s} {per * 1000:7.3f} ms/file  {1 / per:8.0f} files/s")
    return per


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=300)
    args = parser.parse_args()

    import openpyxl
    import python_calamine

    from xlsxflow.config import Config
    from xlsxflow.demo.content import application_values
    from xlsxflow.intake import read_return
    from xlsxflow.read import xlsx as xlsx_reader
    from xlsxflow.read.limits import DEFAULT_LIMITS
    from xlsxflow.read.open import open_book
    from xlsxflow.sample_county import sample_roster
    from xlsxflow.templates import plan_templates, render_job
    from xlsxflow.validation import ValidationContext

    config, roster = Config(), sample_roster()
    tmp = Path(tempfile.mkdtemp(prefix="xlsxflow-bench-"))
    try:
        rng = random.Random(1)
        jobs = plan_templates(config, roster, tmp / "out", kinds=["application_innovation"])
        files = []
        for i in range(args.files):
            job = jobs[i % len(jobs)]
            values, rows = application_values(rng, job.committee, job.spec.kind, config)
            path = tmp / f"r{i}.xlsx"
            path.write_bytes(render_job(job, config, values, rows))
            files.append(path)
        size = sum(f.stat().st_size for f in files) / len(files)
        print(
            f"{len(files)} filled application forms, {size / 1024:.1f} KB each, "
            f"Python {sys.version.split()[0]}"
        )

        def calamine(p: Path) -> object:
            wb = python_calamine.CalamineWorkbook.from_path(str(p))
            rows = wb.get_sheet_by_name("申报表").to_python()
            wb.close()
            return rows

        def openpyxl_ro(p: Path) -> object:
            wb = openpyxl.load_workbook(p, read_only=True)
            rows = list(wb["申报表"].iter_rows(values_only=True))
            wb.close()
            return rows

        def ours(p: Path) -> object:
            book = open_book(p, "xlsx", DEFAULT_LIMITS)
            cells = book.cells("申报表")
            book.close()
            return cells

        def ours_xml(p: Path) -> object:
            real = xlsx_reader._plain_sheet
            xlsx_reader._plain_sheet = lambda data, tall=False: False  # type: ignore[assignment]
            try:
                return ours(p)
            finally:
                xlsx_reader._plain_sheet = real

        ctx = ValidationContext(config, roster)
        _time("calamine (values only)", calamine, files)
        _time("openpyxl read-only", openpyxl_ro, files)
        _time("xlsxflow, defusedxml only", ours_xml, files)
        _time("xlsxflow reader (shipped)", ours, files)
        per = _time("read + validate", lambda p: read_return(p, ctx), files)
        print(f"read + validate on one core: {1 / per:.0f} returns/s (target ≥ 500)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
