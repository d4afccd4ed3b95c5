"""End-to-end benchmark (issue 8): N returns through validate, merge and the summary.

    python benchmarks/bench.py --files 1000 [--workdir DIR] [--keep] [--reuse] [--repeat N]
                               [--history K] [--spawn]

Builds a workspace whose inbox holds N returns — half application forms, one review
sheet, half management ledgers with 40 tasks each — then times, each as a whole process
(wall time, CPU time of the process and its workers, peak memory):

  validate                 xlsxflow validate inbox --json
  merge (cold)             first merge into an empty register
  merge (again)            nothing changed
  merge (1 %)              after 1 % of the returns were sent again (saved later: new
                           files, new versions, the same values)
  merge (+1 task)          after the first ledger was sent again with one task more
                           (every task row below its project moves down)
  merge (resaved)          after register.xlsx was saved by another program (the same
                           content in a new file; the register we wrote kept beside it)
  merge (resaved, unkept)  the same, with nothing kept (as where files cannot be linked)
  report                   xlsxflow report quarterly
  merge (1 %, aged)        with --history K: after every ledger was sent again K times
                           (each merged, not timed), 1 % resubmitted once more
  floor                    every file's cell values read with python-calamine, nothing else
  --help                   xlsxflow --help

and prints each figure with its ratio to the floor. ``--spawn`` starts xlsxflow's
worker processes as Windows does (``spawned.py``).

xlsxflow's modules are compiled to bytecode first, as ``pip install`` does: a process
that finds no bytecode compiles every module it imports, 0.1 s at each start (this
sandbox sets PYTHONDONTWRITEBYTECODE, so an editable checkout never keeps any).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TASKS = 40


def _render(args: tuple[Any, ...]) -> None:
    """Worker: render one return and write it (spawn-safe: top-level, picklable args)."""
    from xlsxflow.templates import render_job

    job, config, values, rows, saved, path = args
    Path(path).write_bytes(render_job(job, config, values, rows, saved_at=saved))


def build(root: Path, files: int, seed: int) -> Path:
    from xlsxflow.config import Config
    from xlsxflow.demo import content
    from xlsxflow.register.merge import merge
    from xlsxflow.register.query import approved_projects, load_state, review_rows
    from xlsxflow.sample_county import sample_roster
    from xlsxflow.templates import plan_templates, render_job
    from xlsxflow.workspace import init_workspace

    apps = files // 2
    config = Config()
    ws = init_workspace(root, config, sample_roster(apps))
    rng = random.Random(seed)
    jobs = plan_templates(config, ws.roster, ws.outbox, kinds=["application_innovation"])
    work = []
    for i, job in enumerate(jobs):
        values, rows = content.application_values(rng, job.committee, job.spec.kind, config)
        saved = dt.datetime(2011, 12, 1, 9) + dt.timedelta(minutes=i)
        work.append((job, config, values, rows, saved, str(ws.inbox / "申报" / f"a{i:05d}.xlsx")))
    (ws.inbox / "申报").mkdir()
    with ProcessPoolExecutor() as pool:
        list(pool.map(_render, work, chunksize=64))
    merge(ws)
    state = load_state(ws)
    assert state is not None
    apps_rows = review_rows(state, ws.roster, config.cycle.year)
    scores = {
        "rv_innovation": 20,
        "rv_feasibility": 20,
        "rv_leading": 20,
        "rv_outcome": 20,
        "rv_decision": "立项",
    }
    (ws.inbox / "评审").mkdir()  # a review sheet holds 200 rows: templates issues copies
    jobs = plan_templates(config, ws.roster, ws.outbox, kinds=["review"], applications=apps_rows)
    for k, job in enumerate(jobs):
        assert job.rows is not None
        rows = [{**r, **scores} for r in job.rows["reviews"]]
        (ws.inbox / "评审" / f"review{k}.xlsx").write_bytes(
            render_job(
                job,
                config,
                rows={"reviews": rows},
                saved_at=dt.datetime(2012, 1, 10, 9) + dt.timedelta(minutes=k),
            )
        )
    merge(ws)
    state = load_state(ws)
    assert state is not None
    refs = approved_projects(state)
    ledger_jobs = plan_templates(config, ws.roster, ws.outbox, kinds=["ledger"], projects=refs)
    work = []
    for i, (job, ref) in enumerate(zip(ledger_jobs, refs, strict=True)):
        project = state.by_number()[ref.project_no]
        start, end = project.values["start_date"], project.values["end_date"]
        tasks = content.ledger_rows(rng, start, end, TASKS)
        day = dt.date(2012, 3, 25)
        rows = {
            "tasks": content.progress(tasks, day, rng),
            "team": content.team_rows(rng, project.values),
        }
        work.append(
            (
                job,
                config,
                {"report_date": day},
                rows,
                dt.datetime(2012, 3, 25, 9) + dt.timedelta(seconds=i),
                str(ws.inbox / "台帐" / f"l{i:05d}.xlsx"),
            )
        )
    (ws.inbox / "台帐").mkdir()
    with ProcessPoolExecutor() as pool:
        list(pool.map(_render, work, chunksize=64))
    shutil.rmtree(ws.data)
    ws.register_path.unlink()
    return root


def timed(label: str, argv: list[str], floor: float | None = None) -> dict[str, float]:
    """Run ``argv`` as a whole process through ``measure.py`` and print its figures."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "m.json"
        subprocess.run([sys.executable, str(HERE / "measure.py"), str(out), *argv], check=True)
        m = json.loads(out.read_text(encoding="utf-8"))
    ratio = f"{m['wall'] / floor:5.2f}× floor" if floor else ""
    print(
        f"{label:24s} wall {m['wall']:7.2f} s  cpu {m['cpu']:7.2f} s  peak "
        f"{m['peak_mib']:6.0f} MiB  exit {m['exit']}  {ratio}",
        flush=True,
    )
    return m


FIRST_SAVED = dt.date(2012, 3, 25)  # when the demo's returns were saved


def resubmit(
    inbox: Path,
    fraction: float,
    seed: int,
    saved: dt.date = FIRST_SAVED + dt.timedelta(days=3),
    prefix: str = "re-",
) -> int:
    """Re-send ``fraction`` of the returns as ledgers ``saved`` later: new files (new
    hashes) and new versions of their projects, with the same cell values."""
    ledgers = first_ledgers(inbox)
    chosen = random.Random(seed).sample(ledgers, max(1, int(len(ledgers) * fraction * 2)))
    resend(chosen, saved, prefix)
    return len(chosen)


def first_ledgers(inbox: Path) -> list[Path]:
    """The ledgers as built (not those re-sent)."""
    return sorted(p for p in (inbox / "台帐").glob("*.xlsx") if not p.name.startswith("re-"))


def resend(ledgers: list[Path], saved: dt.date, prefix: str) -> None:
    """Each of ``ledgers`` again, as saved on ``saved``, named ``prefix`` + its name."""
    import zipfile

    for path in ledgers:
        with zipfile.ZipFile(path) as zf:
            parts = {i.filename: zf.read(i) for i in zf.infolist()}
        core = parts["docProps/core.xml"].decode()
        parts["docProps/core.xml"] = core.replace(
            f"{FIRST_SAVED.isoformat()}T", f"{saved.isoformat()}T"
        ).encode()
        with zipfile.ZipFile(path.with_name(prefix + path.name), "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in parts.items():
                zf.writestr(name, data)


def grow(inbox: Path) -> None:
    """Re-send the first ledger with one task more, saved by openpyxl (another program):
    every task row below its project moves down one, as when a committee adds a task."""
    import openpyxl

    source = first_ledgers(inbox)[0]
    book = openpyxl.load_workbook(source)
    tasks = book["任务台账"]
    last = max(r for r in range(1, tasks.max_row + 1) if tasks.cell(r, 2).value)
    for column in range(1, tasks.max_column + 1):
        tasks.cell(last + 1, column).value = tasks.cell(last, column).value
    tasks.cell(last + 1, 1).value = str(int(tasks.cell(last, 1).value) + 1)
    tasks.cell(last + 1, 2).value = "新增任务"
    book.save(inbox / "台帐" / f"re-grown-{source.name}")


def resave(register: Path) -> None:
    """Save register.xlsx as another program would: the same content in a new file that
    replaces it (the merge then reads the clerk's edits, here none, and writes it)."""
    import zipfile

    with zipfile.ZipFile(register) as zf:
        parts = [(info.filename, zf.read(info)) for info in zf.infolist()]
    saved = register.with_name("~saved.xlsx")
    with zipfile.ZipFile(saved, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, data in parts:
            zf.writestr(name, data)
    os.replace(saved, register)


def reset(root: Path) -> None:
    """Back to the returns alone: no register, no store, no resubmissions."""
    shutil.rmtree(root / "data", ignore_errors=True)
    (root / "register.xlsx").unlink(missing_ok=True)
    for extra in (root / "inbox" / "台帐").glob("re-*.xlsx"):
        extra.unlink()


def compile_bytecode() -> Path:
    """Compile xlsxflow's modules as an installer does (``__pycache__`` beside them)."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("xlsxflow")
    assert spec is not None and spec.submodule_search_locations
    package = Path(next(iter(spec.submodule_search_locations)))
    compileall.compile_dir(package, quiet=1)
    return package


def startup_ms() -> float:
    """How long this interpreter takes to start and exit doing nothing (the median of
    five), which every process of every step pays before any of xlsxflow: a ``.pth``
    file in its site-packages can add tens of ms (this sandbox's system Python imports
    certifi at every start; a virtual environment made as the README says does not)."""
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(
    root: Path, seed: int, history: int = 0, spawn: bool = False
) -> dict[str, dict[str, float]]:
    """Every step once, in order, on ``root`` as ``reset`` leaves it. ``history``: then
    every ledger is sent again that many times, each merged (not timed), as over a year
    of dispatch meetings, and 1 % resubmitted is timed once more on that register.
    ``spawn``: xlsxflow's workers started as on Windows (``spawned.py``)."""
    py = sys.executable
    xf = [py, str(HERE / "spawned.py")] if spawn else [py, "-m", "xlsxflow"]
    got: dict[str, dict[str, float]] = {}
    got["floor (calamine)"] = timed(
        "floor (calamine)", [py, str(HERE / "floor.py"), str(root / "inbox")]
    )
    f = got["floor (calamine)"]["wall"]
    got["--help"] = timed("--help", [*xf, "--help"])
    got["validate"] = timed("validate", [*xf, "validate", str(root / "inbox"), "--json"], f)
    got["merge (cold)"] = timed("merge (cold)", [*xf, "merge", str(root), "-q"], f)
    got["merge (again)"] = timed("merge (again)", [*xf, "merge", str(root), "-q"], f)
    n = resubmit(root / "inbox", 0.01, seed)
    got["merge (1 %)"] = timed(f"merge (+{n} resub)", [*xf, "merge", str(root), "-q"], f)
    grow(root / "inbox")
    got["merge (+1 task)"] = timed("merge (+1 task)", [*xf, "merge", str(root), "-q"], f)
    resave(root / "register.xlsx")
    got["merge (resaved)"] = timed("merge (resaved)", [*xf, "merge", str(root), "-q"], f)
    # (as before xlsxflow kept the register it wrote, or where files cannot be linked)
    from xlsxflow.register.merge import LAST_WRITTEN

    (root / "data" / LAST_WRITTEN).unlink()
    resave(root / "register.xlsx")
    got["merge (resaved, unkept)"] = timed(
        "merge (resaved, unkept)", [*xf, "merge", str(root), "-q"], f
    )
    got["report quarterly"] = timed(
        "report quarterly", [*xf, "report", str(root), "quarterly", "--as-of", "2012-03-31"], f
    )
    if history:
        # (a quarter apart, after everything sent so far; the last 1 % a week after them)
        for quarter in range(1, history + 1):
            saved = FIRST_SAVED + dt.timedelta(days=91 * quarter)
            resend(first_ledgers(root / "inbox"), saved, f"re-q{quarter}-")
            subprocess.run([*xf, "merge", str(root), "-q"], check=True, stdout=subprocess.DEVNULL)
        saved = FIRST_SAVED + dt.timedelta(days=91 * history + 7)
        n = resubmit(root / "inbox", 0.01, seed + 1, saved, "re-last-")
        got[AGED] = timed(f"merge (+{n}, aged)", [*xf, "merge", str(root), "-q"], f)
    print(against_cold(lambda step: got[step]["wall"], bool(history)), flush=True)
    return got


# 1 % resubmitted to a register holding ``--history`` more versions of every ledger
AGED = "merge (1 %, aged)"


def against_cold(wall: Callable[[str], float], aged: bool = False) -> str:
    """The merges' times as shares of the cold merge's (``wall``: a step's time;
    ``aged``: with the step ``AGED``)."""
    cold = wall("merge (cold)")

    def share(step: str) -> str:
        return f"{wall(step) / cold:.1%}"

    return (
        f"merge again / cold = {share('merge (again)')}; "
        f"1 % resubmitted / cold = {share('merge (1 %)')}; "
        f"1 task more / cold = {share('merge (+1 task)')}; "
        f"resaved / cold = {share('merge (resaved)')} "
        f"({share('merge (resaved, unkept)')} with no register kept)"
        + (f"; 1 % resubmitted, aged / cold = {share(AGED)}" if aged else "")
    )


def print_medians(runs: list[dict[str, dict[str, float]]]) -> None:
    """Each figure's median over the runs (this VM's timings move by ±15 % run to run)."""

    def median(step: str, key: str) -> float:
        return statistics.median(run[step][key] for run in runs)

    floor = median("floor (calamine)", "wall")
    print(f"median of {len(runs)} runs:")
    for step in runs[0]:
        wall = median(step, "wall")
        ratio = f"{wall / floor:5.2f}× floor" if step not in ("floor (calamine)", "--help") else ""
        print(
            f"{step:24s} wall {wall:7.2f} s  cpu {median(step, 'cpu'):7.2f} s  peak "
            f"{median(step, 'peak_mib'):6.0f} MiB  {ratio}"
        )
    print(against_cold(lambda step: median(step, "wall"), AGED in runs[0]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use the returns already built in --workdir (register removed)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run every step this many times; print medians"
    )
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        help="then send every ledger again this many times and time 1 %% resubmitted once more",
    )
    parser.add_argument(
        "--spawn",
        action="store_true",
        help="start xlsxflow's worker processes as Windows does (spawned, not forked)",
    )
    args = parser.parse_args()
    base = args.workdir or Path(tempfile.mkdtemp(prefix="xlsxflow-bench-"))
    root = base / "ws"
    try:
        t0 = time.perf_counter()
        if args.reuse:
            reset(root)
        else:
            build(root, args.files, args.seed)
        count = sum(1 for _ in (root / "inbox").rglob("*.xlsx"))
        print(f"bytecode compiled in {compile_bytecode()}", flush=True)
        print(
            f"built {count} returns ({TASKS} tasks per ledger) in "
            f"{time.perf_counter() - t0:.0f} s; {os.cpu_count()} cores; "
            f"Python {sys.version.split()[0]} ({sys.executable}, starting in "
            f"{startup_ms():.0f} ms)" + ("; workers spawned, as on Windows" if args.spawn else ""),
            flush=True,
        )
        runs = []
        for r in range(max(1, args.repeat)):
            if r:
                reset(root)
                print(f"run {r + 1}:", flush=True)
            runs.append(measure(root, args.seed, args.history, args.spawn))
        if len(runs) > 1:
            print_medians(runs)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
