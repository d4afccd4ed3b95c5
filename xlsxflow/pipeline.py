"""``xlsxflow run``: the department's one command before a dispatch meeting.

Validate what is new in the inbox and write feedback copies, merge, compute the
meeting's figures, write the quarterly summary, and optionally mail feedback to the
committees and the summary to the leaders. Each step reports what it did; a step that
fails stops the steps that depend on it, and says why.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from xlsxflow import give_back_memory
from xlsxflow.errors import XlsxflowError
from xlsxflow.fsutil import FileBusyError, output_error
from xlsxflow.problems import FileResult
from xlsxflow.validation import ValidationContext
from xlsxflow.workspace import Workspace

if TYPE_CHECKING:
    from xlsxflow.register.archive import Archive

Say = Callable[[str], None]


@dataclass
class Step:
    name: str
    ok: bool
    summary: str


def _told(err: XlsxflowError | FileBusyError) -> str:
    """What a failed step says: an output held open (by Excel, on Windows) as the other
    commands say it, not the system's own words."""
    return str(output_error(err) if isinstance(err, FileBusyError) else err)


@dataclass
class RunReport:
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)


class _Held:
    """This run's results, kept from validating the returns to merging them, with their
    values (the store's JSON) compressed: a province's 10,000 are ~150 MB as text and
    were most of the run's memory."""

    def __init__(self) -> None:
        self.results: dict[Path, FileResult] = {}
        self._packed: dict[Path, bytes] = {}

    def add(self, result: FileResult) -> None:
        path = Path(result.path)
        self._packed[path] = zlib.compress(result.payload_json.encode(), 1)
        result.payload_json = ""
        self.results[path] = result

    def pop(self, path: Path) -> FileResult | None:
        """The result with its values (let go here: merge keeps what it needs)."""
        result = self.results.pop(path, None)
        if result is not None:
            result.payload_json = zlib.decompress(self._packed.pop(path)).decode()
        return result

    def clear(self) -> None:
        self.results.clear()
        self._packed.clear()


def _read_already(
    results: _Held,
    stats: dict[Path, tuple[int, ...]],
    ctx: ValidationContext,
    paths: list[Path],
    archive: Archive,
) -> Iterator[FileResult]:
    """Merge's parser for files this run has validated already: archive (in packs of
    the size merge's own reading makes), hand back. A file that arrived or changed
    since this run read it (merge hashes again what changed since) is read now, as
    merge found it (without a marked-up copy: the next run makes one)."""
    from xlsxflow.intake import read_return
    from xlsxflow.parallel import chunked
    from xlsxflow.register.hashes import stat_of

    for chunk in chunked(paths):  # (a chunk's values at a time in memory)
        ready: dict[Path, FileResult] = {}
        for path in chunk:
            result = results.pop(path)
            if result is None or stat_of(path) != stats.get(path):
                result = read_return(path, ctx)
            # (named as merge listed it, which it is told by: on Windows a name whose
            # case changed since is the same ``Path``, but not the same text)
            result.path = str(path)
            ready[path] = result
        kept = [p for p in chunk if not ready[p].skipped]
        archived = archive(kept) if kept else {}
        for path in chunk:
            result = ready.pop(path)
            result.archived = archived.get(str(path), "")
            yield result


def run(
    ws: Workspace,
    as_of: dt.date,
    send: bool = False,
    say: Say = lambda _: None,
    dry_run: bool = False,
) -> RunReport:
    from xlsxflow.feedback import write_feedback
    from xlsxflow.inbox import listing
    from xlsxflow.parallel import idle_readers, read_many
    from xlsxflow.register.hashes import InboxHashes
    from xlsxflow.register.meetings import run_schedule
    from xlsxflow.register.merge import merge
    from xlsxflow.register.merge_report import counts_text
    from xlsxflow.register.store import Store
    from xlsxflow.reports.quarterly import write_quarterly
    from xlsxflow.validate import ValidationRun

    report = RunReport()

    def step(name: str, ok: bool, summary: str) -> None:
        report.steps.append(Step(name, ok, summary))
        say(("✔ " if ok else "✘ ") + f"{name}：{summary}")
        give_back_memory()

    ctx = ValidationContext(ws.config, ws.roster, ws.root)
    known: set[str] = set()
    cached: dict = {}
    if (ws.data / "register.sqlite").exists():
        with Store(ws.data / "register.sqlite") as store:
            known, cached = store.known_hashes(), store.inbox_hashes()
    hashes = InboxHashes(ws.inbox, cached)
    texts = listing([ws.inbox])
    hashes.share(texts, idle_readers())  # (those started to read the new files)
    new = [Path(p) for p in texts if hashes.sha256(p)[0] not in known]
    stats = {p: hashes.stat(p) for p in new}  # to tell, at the merge, what changed since
    # On every core; what merge stores is encoded there too, and what was typed is
    # kept only for the files that get a marked-up copy.
    keep = frozenset({"raw", "json"})
    results = _Held()
    for result in read_many(new, ctx, keep=keep):
        results.add(result)
    validated = ValidationRun(list(results.results.values()))
    replaced = validated.superseded  # (sent twice since the last run)
    checked = validated.counted
    invalid = [r for r in checked if not r.valid]
    newer = f"（另有 {len(replaced)} 份已有同一表格后来保存的版本，不计）" if replaced else ""
    step(
        "校验",
        True,
        f"新收到 {len(checked)} 份表格，合格 {len(checked) - len(invalid)} 份，"
        f"需退回修改 {len(invalid)} 份{newer}",
    )
    written = write_feedback(validated.current, ws.feedback, ws.config, ws.roster)
    step(
        "退回修改",
        True,
        f"生成标注副本 {len(written)} 份（需修改 {len(invalid)} 份，其余仅有提示），"
        f"位于 {ws.feedback}",
    )
    del validated, checked, invalid, written
    try:
        merged = merge(
            ws,
            parse=lambda paths, _ctx, archive, _on: _read_already(
                results, stats, ctx, paths, archive
            ),
            read_on_workers=False,
            hashed=hashes.trusted(),  # (not hashed again where unchanged since)
        )
    except (XlsxflowError, FileBusyError) as err:
        step("合并", False, f"{_told(err)}；后续步骤未执行")
        return report
    finally:
        results.clear()  # (a province's values: not to be held through the steps below)
    t = merged.as_json()["totals"]
    step(
        "合并",
        True,
        f"{counts_text(t)}；{'已更新' if merged.register_written else '无变化'} "
        f"{ws.register_path.name}",
    )
    try:
        c = run_schedule(ws, as_of, tasks=False)["county"]
    except XlsxflowError as err:
        step("进度计算", False, f"{err}；后续步骤未执行")
        return report
    step(
        "进度计算",
        True,
        f"{c['projects']} 个项目，全县按期完成率 {c['compliance']}%，"
        f"限期整改 {c['rectify']} 个，经验交流推广 {c['commend']} 个",
    )
    try:
        summary = write_quarterly(ws, as_of)
    except (XlsxflowError, FileBusyError) as err:
        step("汇总表", False, f"{_told(err)}；未发送邮件")
        return report
    step("汇总表", True, str(summary))
    if send:
        from xlsxflow.letters import compose
        from xlsxflow.mail import deliver, ensure_templates

        ensure_templates(ws.root)
        for kind, label in (("feedback", "退回邮件"), ("summary", "汇总邮件")):
            letters = compose(ws, kind, (), as_of)
            try:
                outcomes = deliver(letters, ws.config.mail, ws.root, dry_run=dry_run, resend=False)
            except XlsxflowError as err:
                step(label, False, str(err))
                continue
            failed = sum(o.status == "failed" for o in outcomes)
            done = sum(o.status in ("sent", "dry-run") for o in outcomes)
            step(
                label,
                failed == 0,
                f"{'生成草稿' if dry_run else '发送'} {done} 封，跳过 "
                f"{len(outcomes) - done - failed} 封（此前已发送），失败 {failed} 封",
            )
    return report
