"""The benchmark runs end to end at a small size (figures are not asserted)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"
# a step's line: its label, its figures, its exit code
STEP = re.compile(r"^(.+?)\s+wall .* exit (\d+)", flags=re.MULTILINE)


def run_script(script: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """What a benchmark script printed (it must succeed, within five minutes)."""
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=True,
        env=env,
    ).stdout


def test_benchmark_runs_every_step_successfully(tmp_path):
    import xlsxflow

    # (timed with xlsxflow's bytecode compiled, as installed: the benchmark compiles it,
    # and nothing else may here)
    package = Path(xlsxflow.__file__).parent
    for compiled in (package / "register" / "__pycache__").glob("merge.*.pyc"):
        compiled.unlink()
    sizes = ["--files", "40", "--repeat", "2", "--history", "1"]
    out = run_script(
        BENCH,
        *sizes,
        "--workdir",
        str(tmp_path),
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    steps = STEP.findall(out)
    labels = [label.strip() for label, _ in steps]
    assert labels[:5] == ["floor (calamine)", "--help", "validate", "merge (cold)", "merge (again)"]
    assert labels[-2] == "report quarterly"
    assert re.fullmatch(r"merge \(\+\d+, aged\)", labels[-1])
    assert all(code == "0" for _, code in steps), out
    assert "1 % resubmitted / cold" in out and "1 task more / cold" in out
    assert {"merge (+1 task)", "merge (resaved)", "merge (resaved, unkept)"} <= set(labels)
    assert len(steps) == 22  # eleven steps, twice (the second run from the returns alone)
    assert "1 % resubmitted, aged / cold" in out
    # (aged: every ledger was sent again, so each as first sent has a next version, and
    # what that changed is kept)
    with sqlite3.connect(tmp_path / "ws" / "data" / "register.sqlite") as db:
        first = {
            sha for (sha,) in db.execute("SELECT sha256 FROM submissions WHERE name LIKE 'l%'")
        }
        followed = {sha for (sha,) in db.execute("SELECT earlier FROM changes_kept")}
    assert first and first <= followed
    assert any((package / "register" / "__pycache__").glob("merge.*.pyc"))
    medians = out.split("median of 2 runs:")[1]
    assert re.search(r"^merge \(cold\)\s+wall", medians, flags=re.MULTILINE)


def test_benchmark_runs_with_workers_spawned_as_on_windows(tmp_path):
    """``--spawn``: every step with xlsxflow's workers spawned (enough returns that a
    merge reads them on several processes)."""
    out = run_script(BENCH, "--files", "70", "--spawn", "--workdir", str(tmp_path))
    assert "workers spawned, as on Windows" in out
    steps = STEP.findall(out)
    assert len(steps) == 10 and all(code == "0" for _, code in steps), out


def test_reading_benchmark_compares_every_reader() -> None:
    """``bench_read.py`` calls the readers directly: it must keep up with their signatures."""
    out = run_script(BENCH.with_name("bench_read.py"), "--files", "5")
    timed = re.findall(r"^(.+?)\s+[\d.]+ ms/file", out, flags=re.MULTILINE)
    assert [label.strip() for label in timed] == [
        "calamine (values only)",
        "openpyxl read-only",
        "xlsxflow, defusedxml only",
        "xlsxflow reader (shipped)",
        "read + validate",
    ]
