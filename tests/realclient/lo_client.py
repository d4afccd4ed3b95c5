"""Play the committee's office suite: fill and save workbooks in LibreOffice over UNO.

Run with Debian's Python, which is the only one that can import ``uno``::

    /usr/bin/python3 tests/realclient/lo_client.py JOB.json [--result RESULT.json]

JOB.json is either a list of jobs or ``{"jobs": [...], "deadline": SECONDS,
"connect": "pipe,name=NAME"}``. ``connect`` uses an office that is already running (it is
left running); otherwise one soffice is started for the whole batch, with its own profile
and HOME, and stopped at the end. A job is::

    {"template": "in.xlsx", "output": "out.xls", "filter": "xlsx" | "xls" | "ods" | "pdf",
     "values": {"defined_name": value_or_list},
     "insert_rows": [{"sheet": "申报表", "row": 12, "count": 1}]}

``values`` is optional. A workbook-level defined name of one cell takes a scalar; a name
of one column takes a list, written top-down from its first cell (no longer than the
range). A value is a string (written with setString), a number (setValue), ``{"date":
"2012-03-05"}`` (the date's serial number, days since the document's null date 1899-12-30,
setValue), ``null`` (cell left untouched) or ``""`` (cell contents cleared, formatting
kept). Nothing is ever typed through setFormula, so no locale parsing happens. Sheet
protection and validation are not enforced over UNO, which lets tests write invalid
returns on purpose.

Templates are opened in place with ReadOnly=True and Hidden=True (Hidden=False crashes a
headless soffice 7.4). LibreOffice silently ignores deleting cell contents in a read-only
document, so a job with a ``""`` value opens a private, editable copy of the template.
``insert_rows`` inserts whole rows before the 0-based ``row`` (protection lifted first), as
a clerk does from the row menu; LibreOffice shifts the defined names below them. They are
inserted before the values are written, in an editable copy too.

The result, a JSON object, goes to stdout (and to ``--result`` when given)::

    {"ok": bool, "error": str | null, "startup_seconds": float, "seconds": float,
     "soffice_log": str, "jobs": [{"output": str, "ok": bool, "error": str | null,
     "seconds": float, "interactions": [str, ...]}]}

``interactions`` lists what LibreOffice asked or complained about while loading or storing
(requests to its interaction handler, answered with "approve" where possible).
Exit code: 0 all jobs ok, 1 some job failed, 2 the batch could not run, 3 deadline hit.
The script never imports anything outside the standard library and ``uno``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from pathlib import Path

import uno
import unohelper
from com.sun.star.task import XInteractionHandler

FILTERS = {
    "xlsx": "Calc MS Excel 2007 XML",
    "xls": "MS Excel 97",
    "ods": "calc8",
    "pdf": "calc_pdf_Export",
}
SOFFICE_FLAGS = (
    "--headless",
    "--invisible",
    "--nologo",
    "--norestore",
    "--nolockcheck",
    "--nodefault",
)
CONNECT_TIMEOUT = 60.0
DEFAULT_DEADLINE = 300.0
EXCEL_EPOCH = dt.date(1899, 12, 30)
# com.sun.star.sheet.CellFlags: VALUE | DATETIME | STRING | FORMULA (formats are kept)
CLEAR_CONTENTS = 1 | 2 | 4 | 16


class JobError(Exception):
    """A job cannot be done as asked (bad name, bad value, missing output)."""


def _props(**values):
    out = []
    for name, value in values.items():
        prop = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
        prop.Name = name
        prop.Value = value
        out.append(prop)
    return tuple(out)


def _url(path: str | Path) -> str:
    return uno.systemPathToFileUrl(str(Path(path).resolve()))


def _readable_uno_exceptions() -> None:
    """Let pyuno hand exceptions over as values (``request.getRequest()``).

    With Python 3.11, pyuno fails to build an exception object it returns rather than
    raises ("AttributeError: args" from ``uno._uno_struct__setattr__``), so an interaction
    handler cannot see what LibreOffice asks. Keep ``args`` on the wrapper instead.
    """
    original = uno._uno_struct__setattr__

    def setattr_(self, name, value):
        try:
            return original(self, name, value)
        except AttributeError:
            if name != "args":
                raise
            self.__dict__[name] = value
            return None

    uno._uno_struct__setattr__ = setattr_


_readable_uno_exceptions()


class Interactions(unohelper.Base, XInteractionHandler):
    """Records what LibreOffice asks while loading or storing; approves, else aborts."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def handle(self, request) -> None:
        try:
            req = request.getRequest()
            detail = [getattr(req, "typeName", None) or type(req).__name__]
            code = getattr(req, "ErrCode", None)
            if code is not None:
                detail.append(f"ErrCode=0x{code & 0xFFFFFFFF:08x}")
            message = (getattr(req, "Message", "") or "").strip()
            if message:
                detail.append(message)
            self.seen.append(" ".join(detail))
        except Exception as err:  # never let a report break the answer
            self.seen.append(f"unreadable request ({type(err).__name__}: {err})")
        choice = {}
        for cont in request.getContinuations():
            for t in cont.getTypes():
                choice.setdefault(t.typeName.rsplit(".", 1)[-1], cont)
        chosen = choice.get("XInteractionApprove") or choice.get("XInteractionAbort")
        if chosen is not None:
            chosen.select()


class Office:
    """One soffice process (or a connection to a running one) and its Desktop."""

    def __init__(self, connect: str | None) -> None:
        self.connect = connect
        self.proc: subprocess.Popen | None = None
        self.tmp: Path | None = None
        self.log_path: Path | None = None
        self.desktop = None
        self.context = None

    def start(self) -> None:
        accept = self.connect
        if accept is None:
            soffice = os.environ.get("XLSXFLOW_SOFFICE") or shutil.which("soffice")
            if not soffice:
                raise RuntimeError("soffice not found on PATH")
            self.tmp = Path(tempfile.mkdtemp(prefix="xf-lo-"))
            profile, home = self.tmp / "profile", self.tmp / "home"
            home.mkdir()
            accept = f"pipe,name=xf_{os.getpid()}_{uuid.uuid4().hex[:12]}"
            env = dict(os.environ, HOME=str(home), TMPDIR=str(self.tmp))
            self.log_path = self.tmp / "soffice.log"
            with self.log_path.open("wb") as log:
                self.proc = subprocess.Popen(
                    [
                        soffice,
                        f"-env:UserInstallation={profile.as_uri()}",
                        *SOFFICE_FLAGS,
                        f"--accept={accept};urp;StarOffice.ComponentContext",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local
        )
        give_up = time.monotonic() + CONNECT_TIMEOUT
        while True:
            try:
                self.context = resolver.resolve(f"uno:{accept};urp;StarOffice.ComponentContext")
                break
            except Exception as err:  # NoConnectException until soffice listens
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(
                        f"soffice exited with code {self.proc.returncode} before accepting"
                    ) from err
                if time.monotonic() > give_up:
                    raise RuntimeError(f"could not connect to soffice: {err}") from err
                time.sleep(0.1)
        self.desktop = self.context.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.Desktop", self.context
        )

    def log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text("utf-8", "replace")[-4000:]

    def stop(self) -> None:
        """Terminate the office we started: politely, then its whole process group."""
        if self.proc is None:
            return
        if self.desktop is not None:
            with contextlib.suppress(Exception):  # the bridge goes away as soffice exits
                self.desktop.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.kill()

    def kill(self) -> None:
        """SIGTERM, then SIGKILL, soffice's process group (and only that group)."""
        if self.proc is None:
            return
        group = self.proc.pid  # start_new_session=True: the group id is soffice's pid
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                break
            give_up = time.monotonic() + 3.0
            while time.monotonic() < give_up and _group_alive(group):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=0.05)  # reaps our child; others reparent
            if not _group_alive(group):
                break
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=1)

    def cleanup(self) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _group_alive(group: int) -> bool:
    """Whether a live (non-zombie) process is left in the group.

    soffice.bin leaves short-lived ``gpgconf`` zombies that only PID 1 can reap; they hold
    the group id for about a second but cannot be killed, so they do not count.
    """
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process went away while we looked
        # after the command name: state, ppid, pgrp, ...
        if len(fields) > 2 and fields[2] == str(group) and fields[0] not in ("Z", "X"):
            return True
    return False


def _null_date(doc) -> dt.date:
    try:
        nd = doc.NullDate
        return dt.date(nd.Year, nd.Month, nd.Day)
    except Exception:
        return EXCEL_EPOCH


def _write_cell(cell, value, null_date: dt.date, where: str) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        raise JobError(f"{where}: booleans are not cell values ({value!r})")
    if isinstance(value, str):
        if value == "":
            cell.clearContents(CLEAR_CONTENTS)
        else:
            cell.setString(value)
    elif isinstance(value, int | float):
        cell.setValue(float(value))  # UNO wants a double; big ints fail as "hyper"
    elif isinstance(value, dict) and set(value) == {"date"}:
        try:
            day = dt.date.fromisoformat(value["date"])
        except (TypeError, ValueError) as err:
            raise JobError(f"{where}: bad date {value['date']!r}") from err
        cell.setValue((day - null_date).days)
    else:
        raise JobError(f"{where}: unsupported value {value!r}")


def _fill(doc, values: dict) -> None:
    names = doc.NamedRanges
    null_date = _null_date(doc)
    for name, value in values.items():
        if not names.hasByName(name):
            raise JobError(f"no workbook-level defined name {name!r}")
        cells = names.getByName(name).getReferredCells()
        if cells is None:
            raise JobError(f"defined name {name!r} is not a cell range")
        addr = cells.getRangeAddress()
        rows = addr.EndRow - addr.StartRow + 1
        cols = addr.EndColumn - addr.StartColumn + 1
        if isinstance(value, list):
            if cols != 1:
                raise JobError(f"{name!r} spans {cols} columns; a list needs one column")
            if len(value) > rows:
                raise JobError(f"{name!r} has {rows} rows, got {len(value)} values")
            for i, item in enumerate(value):
                _write_cell(cells.getCellByPosition(0, i), item, null_date, f"{name}[{i}]")
        else:
            if rows != 1 or cols != 1:
                raise JobError(f"{name!r} is a {rows}x{cols} range; give a list")
            _write_cell(cells.getCellByPosition(0, 0), value, null_date, name)


def _insert_rows(doc, inserts: list) -> None:
    for insert in inserts:
        if not isinstance(insert, dict) or not doc.Sheets.hasByName(insert.get("sheet", "")):
            raise JobError(f"insert_rows: no such sheet in {insert!r}")
        sheet = doc.Sheets.getByName(insert["sheet"])
        if sheet.isProtected():
            sheet.unprotect("")
        sheet.Rows.insertByIndex(int(insert["row"]), int(insert.get("count", 1)))


def _clears(values: dict) -> bool:
    return any(v == "" or (isinstance(v, list) and "" in v) for v in values.values())


def run_job(office: Office, job: dict, handler: Interactions, scratch: Path) -> None:
    """Open, fill, store, close. Raises on failure.

    The template is opened in place with ReadOnly=True, so no lock file ever appears beside
    it. LibreOffice refuses to delete cell contents in a read-only document (clearContents,
    setString("") and setDataArray are silently ignored or fail), so a job that clears a cell
    opens a private copy, editable, in ``scratch`` instead.
    """
    if not isinstance(job, dict) or not job.get("template") or not job.get("output"):
        raise JobError("a job is an object with 'template' and 'output'")
    template = Path(job["template"])
    output = Path(job["output"])
    values = job.get("values") or {}
    kind = job.get("filter") or output.suffix.lstrip(".").lower()
    if kind not in FILTERS:
        raise JobError(f"unknown filter {kind!r}; use one of {sorted(FILTERS)}")
    if not isinstance(values, dict):
        raise JobError("values must be an object {defined_name: value}")
    if not template.is_file():
        raise JobError(f"template not found: {template}")
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.exists():
        output.unlink()  # so that a stale file can never pass for a fresh one
    source, read_only = template, True
    inserts = job.get("insert_rows") or []
    if _clears(values) or inserts:
        folder = Path(tempfile.mkdtemp(prefix="job-", dir=scratch))
        source, read_only = folder / template.name, False
        shutil.copyfile(template, source)
    doc = office.desktop.loadComponentFromURL(
        _url(source),
        "_blank",
        0,
        _props(Hidden=True, ReadOnly=read_only, InteractionHandler=handler),
    )
    if doc is None:
        raise JobError(f"LibreOffice could not open {template}")
    try:
        if not hasattr(doc, "NamedRanges"):
            raise JobError(f"{template} did not open as a spreadsheet")
        _insert_rows(doc, inserts)
        _fill(doc, values)
        doc.storeToURL(
            _url(output),
            _props(FilterName=FILTERS[kind], Overwrite=True, InteractionHandler=handler),
        )
    finally:
        try:
            doc.close(True)
        except Exception:
            with contextlib.suppress(Exception):  # soffice may be gone: keep the first error
                doc.dispose()
        if not read_only:
            shutil.rmtree(source.parent, ignore_errors=True)
    if not output.is_file() or output.stat().st_size == 0:
        raise JobError(f"LibreOffice reported success but wrote no {output}")


def _is_bridge_gone(err: BaseException) -> bool:
    """soffice died (or dropped the connection) under a call; pyuno's class names are
    dotted, e.g. ``com.sun.star.lang.DisposedException``."""
    return "Binary URP bridge" in str(err)


class Batch:
    def __init__(self, jobs: list[dict], connect: str | None, result_path: str | None) -> None:
        self.jobs = jobs
        self.connect = connect
        self.result_path = result_path
        self.office: Office | None = None
        self.results: list[dict] = []
        self.started = time.monotonic()
        self.startup = 0.0
        self.lock = threading.Lock()
        self.finished = False
        self.scratch = Path(tempfile.mkdtemp(prefix="xf-lo-jobs-"))

    def emit(self, error: str | None) -> int:
        """Write the result once (main thread or watchdog, whichever comes first)."""
        with self.lock:
            if self.finished:
                return -1
            self.finished = True
        ok = error is None and len(self.results) == len(self.jobs)
        ok = ok and all(r["ok"] for r in self.results)
        result = {
            "ok": ok,
            "error": error,
            "startup_seconds": round(self.startup, 3),
            "seconds": round(time.monotonic() - self.started, 3),
            "soffice_log": self.office.log() if self.office else "",
            "jobs": self.results,
        }
        text = json.dumps(result, ensure_ascii=False, indent=1)
        if self.result_path:
            Path(self.result_path).write_text(text, encoding="utf-8")
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        if error is not None:
            return 2
        return 0 if ok else 1

    def start_office(self) -> None:
        t0 = time.monotonic()
        self.office = Office(self.connect)
        self.office.start()
        self.startup += time.monotonic() - t0

    def run(self) -> int:
        try:
            self.start_office()
        except Exception as err:
            return self.emit(f"starting LibreOffice failed: {err}")
        for job in self.jobs:
            t0 = time.monotonic()
            output = job.get("output") if isinstance(job, dict) else None
            entry = {"output": output, "ok": False, "error": None}
            handler = Interactions()
            entry["interactions"] = handler.seen
            try:
                run_job(self.office, job, handler, self.scratch)
                entry["ok"] = True
            except JobError as err:
                entry["error"] = str(err)
            except Exception as err:
                entry["error"] = f"{type(err).__name__}: {err}"
                if _is_bridge_gone(err) and self.connect is None:
                    # soffice died under this document; carry on with a fresh instance
                    entry["error"] += " (soffice crashed; restarted)"
                    self.office.kill()
                    self.office.cleanup()
                    try:
                        self.start_office()
                    except Exception as again:
                        entry["seconds"] = round(time.monotonic() - t0, 3)
                        self.results.append(entry)
                        return self.emit(f"restarting LibreOffice failed: {again}")
            entry["seconds"] = round(time.monotonic() - t0, 3)
            self.results.append(entry)
        return self.emit(None)

    def shutdown(self) -> None:
        if self.office is not None:
            self.office.stop()
            self.office.cleanup()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def abort(self, reason: str) -> None:
        """Report, kill soffice, clean up and leave; callable from any thread.

        Only the first report counts: if the main thread already reported (and is shutting
        down), soffice is killed but the process is left to finish normally.
        """
        rc = self.emit(reason)
        if self.office is not None:
            self.office.kill()
            self.office.cleanup()
        shutil.rmtree(self.scratch, ignore_errors=True)
        if rc != -1:
            sys.stderr.write(f"lo_client: {reason}\n")
            sys.stderr.flush()
            os._exit(3)


def _load(path: str) -> tuple[list[dict], dict]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, list):
        return data, {}
    if isinstance(data, dict) and isinstance(data.get("jobs"), list):
        return data["jobs"], data
    raise ValueError("JOB.json must be a list of jobs or an object with a 'jobs' list")


def main(argv: list[str]) -> int:
    args = list(argv)
    result_path = None
    if "--result" in args:
        i = args.index("--result")
        result_path = args[i + 1]
        del args[i : i + 2]
    if len(args) != 1:
        sys.stderr.write(__doc__ or "")
        return 2
    try:
        jobs, options = _load(args[0])
    except (OSError, ValueError) as err:
        sys.stderr.write(f"cannot read jobs: {err}\n")
        return 2
    batch = Batch(jobs, options.get("connect"), result_path)
    deadline = float(options.get("deadline") or DEFAULT_DEADLINE)
    timer = threading.Timer(deadline, batch.abort, ("deadline exceeded; LibreOffice killed",))
    timer.daemon = True
    timer.start()

    def on_signal(signum, frame):  # the caller gave up: do not leave soffice behind
        batch.abort(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        rc = batch.run()
    except BaseException:
        traceback.print_exc()
        rc = batch.emit("client crashed; see stderr")
    finally:
        batch.shutdown()  # still under the deadline: a hung terminate() gets killed too
        timer.cancel()
    return rc


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except BaseException:
        traceback.print_exc()
        code = 2
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # pyuno may crash in interpreter teardown; never let it run
