"""LibreOffice headless as a real client, for tests: fill templates, save, print to PDF.

``uno`` is only importable by Debian's ``/usr/bin/python3``, so the work happens in
``lo_client.py`` run under that interpreter, one soffice for a whole batch (about 1 s to
start, 0.2 s per document): put every document a test module needs into ONE ``fill``.

    results = fill([pdf_job(template, out_dir), job(template, out / "x.xlsx", values)], tmp)

A job is ``{"template", "output", "filter", "values"}`` (see ``lo_client.py``); values are
keyed by workbook-level defined names: a scalar for a one-cell name, a list (top-down) for a
column; ``None`` leaves a cell alone, ``""`` clears it, ``as_date(d)`` writes a date serial.
Sheet protection and validation are not enforced over UNO, so invalid returns are possible.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

CLIENT = Path(__file__).with_name("lo_client.py")
FILTERS = ("xlsx", "xls", "ods", "pdf")
STARTUP_SECONDS = 60.0  # generous: a cold first start on a loaded CI machine
SECONDS_PER_JOB = 10.0
GRACE_SECONDS = 20.0  # the client honours its own deadline; this is the backstop


class LibreOfficeError(RuntimeError):
    """The batch did not run, or (with ``check=True``) a job failed."""


def uno_python() -> str:
    return os.environ.get("XLSXFLOW_UNO_PYTHON", "/usr/bin/python3")


def soffice() -> str | None:
    """The soffice to run: $XLSXFLOW_SOFFICE, else the one on PATH (None if neither works)."""
    return shutil.which(os.environ.get("XLSXFLOW_SOFFICE") or "soffice")


def _child_env() -> dict[str, str]:
    """The environment for /usr/bin/python3: nothing that points it at another Python."""
    env = dict(os.environ)
    for key in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE"):
        env.pop(key, None)
    return env


@functools.cache
def missing_tools() -> tuple[str, ...]:
    """What the real-client tests need and this machine lacks (empty when all is there)."""
    missing = []
    if not soffice():
        missing.append("soffice (apt: libreoffice-calc-nogui)")
    python = uno_python()
    try:
        found = (
            subprocess.run(
                [python, "-c", "import uno"],
                capture_output=True,
                timeout=60,
                env=_child_env(),
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        found = False
    if not found:
        missing.append(f"'import uno' in {python} (apt: python3-uno)")
    for tool in ("pdfinfo", "pdftotext"):
        if not shutil.which(tool):
            missing.append(f"{tool} (apt: poppler-utils)")
    return tuple(missing)


def libreoffice_available() -> bool:
    """soffice, python3-uno and poppler's pdfinfo/pdftotext are all installed."""
    return not missing_tools()


def as_date(day: dt.date) -> dict[str, str]:
    """A job value that writes ``day`` as a date serial number."""
    return {"date": day.isoformat()}


def job(
    template: Path,
    output: Path,
    values: Mapping[str, Any] | None = None,
    kind: str = "",
    insert_rows: Iterable[tuple[str, int, int]] = (),
) -> dict[str, Any]:
    """One job; its filter (``kind``) defaults to the output's suffix: xlsx, xls, ods, pdf.
    ``insert_rows`` are (sheet, 0-based row, count): rows inserted before the values go in."""
    kind = kind or Path(output).suffix.lstrip(".").lower()
    if kind not in FILTERS:
        raise ValueError(f"unknown filter {kind!r}; use one of {FILTERS}")
    out: dict[str, Any] = {"template": str(template), "output": str(output), "filter": kind}
    if values:
        out["values"] = dict(values)
    inserts = [{"sheet": s, "row": r, "count": n} for s, r, n in insert_rows]
    if inserts:
        out["insert_rows"] = inserts
    return out


def pdf_job(workbook: Path, out_dir: Path, stem: str | None = None) -> dict[str, Any]:
    """A job printing ``workbook`` unchanged to ``out_dir/<stem>.pdf``."""
    return job(workbook, Path(out_dir) / f"{stem or Path(workbook).stem}.pdf")


def run_batch(
    jobs: Iterable[Mapping[str, Any]], workdir: Path, *, timeout: float | None = None
) -> dict[str, Any]:
    """Run the jobs in one soffice; the client's whole JSON result (see lo_client.py).

    Relative paths are taken relative to ``workdir``, which also receives the job and
    result files. Raises ``LibreOfficeError`` (with the client's stderr and soffice's
    output) if the batch could not run; failed jobs are reported, not raised.
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    batch = []
    for raw in jobs:
        entry = dict(raw)
        for key in ("template", "output"):
            entry[key] = str(workdir / entry[key])  # absolute paths stay as they are
        batch.append(entry)
    if timeout is None:
        timeout = STARTUP_SECONDS + SECONDS_PER_JOB * len(batch)
    handle, jobs_name = tempfile.mkstemp(prefix="lo-jobs-", suffix=".json", dir=workdir)
    jobs_path = Path(jobs_name)
    result_path = jobs_path.with_name(jobs_path.name.replace("lo-jobs-", "lo-result-"))
    with os.fdopen(handle, "w", encoding="utf-8") as fh:
        json.dump({"jobs": batch, "deadline": timeout}, fh, ensure_ascii=False, indent=1)
    command = [uno_python(), str(CLIENT), str(jobs_path), "--result", str(result_path)]
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout + GRACE_SECONDS,
            cwd=workdir,
            env=_child_env(),
        )
    except subprocess.TimeoutExpired as err:
        raise LibreOfficeError(
            f"lo_client.py did not finish within {timeout + GRACE_SECONDS:.0f} s\n"
            f"stderr:\n{err.stderr or ''}"
        ) from None
    try:
        result = json.loads(result_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        result = None
    if proc.returncode not in (0, 1) or not isinstance(result, dict):
        detail = (result or {}).get("error") or "no result"
        log = (result or {}).get("soffice_log") or ""
        raise LibreOfficeError(
            f"lo_client.py failed (exit code {proc.returncode}): {detail}\n"
            f"stderr:\n{proc.stderr}\nsoffice output:\n{log}"
        )
    if len(result.get("jobs", ())) != len(batch):
        raise LibreOfficeError(f"lo_client.py reported {len(result['jobs'])} of {len(batch)}")
    return result


def fill(
    jobs: Iterable[Mapping[str, Any]],
    workdir: Path,
    *,
    timeout: float | None = None,
    check: bool = True,
) -> list[dict[str, Any]]:
    """Run the jobs in one soffice; one result per job, in order.

    Each result has ``output``, ``ok``, ``error``, ``seconds`` and ``interactions`` (what
    LibreOffice asked or complained about). With ``check`` a failed job raises.
    """
    result = run_batch(jobs, workdir, timeout=timeout)
    if check:
        failed = [f"{r['output']}: {r['error']}" for r in result["jobs"] if not r["ok"]]
        if failed:
            raise LibreOfficeError(
                "LibreOffice jobs failed:\n" + "\n".join(failed) + "\nsoffice output:\n"
                f"{result.get('soffice_log', '')}"
            )
    return result["jobs"]


def to_pdf(workbooks: Iterable[Path], out_dir: Path, workdir: Path | None = None) -> list[Path]:
    """Print workbooks to ``out_dir/<stem>.pdf`` in one batch; the PDFs' paths."""
    jobs = [pdf_job(w, out_dir) for w in workbooks]
    fill(jobs, workdir or Path(out_dir))
    return [Path(j["output"]) for j in jobs]


def pdf_pages(pdf: Path) -> int:
    """Page count according to poppler's pdfinfo (raises if the PDF is unreadable)."""
    proc = subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True, errors="replace", timeout=60
    )
    if proc.returncode != 0:
        raise LibreOfficeError(f"pdfinfo {pdf}: {proc.stderr.strip()}")
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Pages":
            return int(value)
    raise LibreOfficeError(f"pdfinfo {pdf}: no page count in\n{proc.stdout}")


def pdf_text(pdf: Path) -> str:
    """The PDF's text according to poppler's pdftotext, pages in order."""
    proc = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=60,
    )
    if proc.returncode != 0:
        raise LibreOfficeError(f"pdftotext {pdf}: {proc.stderr.strip()}")
    return proc.stdout
