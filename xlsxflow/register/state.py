"""Derive the register from the facts: versions, decisions, numbers, project states.

A pure function of the set of submissions (plus config): merging the same files in any
order, in one run or several, gives the same state. "Latest" is the version saved last
(the save time recorded inside the file), ties broken by content hash. Whether a
project-level return fits its project's state is judged from which stages exist, not
from arrival order, and is re-judged at every merge: an acceptance sheet that came
before its closure report is held back until the report arrives.

A change of state is dated by the version that first brought it (a new version that
leaves the state as it was, a correction sent again, does not move it in 变更记录), and
never before the change that had to come first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from xlsxflow.config import Config
from xlsxflow.forms import catalog
from xlsxflow.register.changes import Pair, kept_changes, work_out
from xlsxflow.register.codec import decode, decode_rows, decode_table, decode_values
from xlsxflow.register.facts import LIGHT_FIELDS, Facts, facts_for
from xlsxflow.register.store import ORDER, PAYLOAD_BATCH, Submission, payloads_of
from xlsxflow.templates import APPLICATION_KINDS

STATE_TEXT = {
    "applied": "已申报",
    "approved": "已立项",
    "rejected": "未立项",
    "launched": "已启动",
    "in_progress": "实施中",
    "rectifying": "限期整改",
    "concluded": "已结题",
    "accepted": "已验收",
    "not_accepted": "验收不合格",
    "evaluated": "已评估",
    "promoted": "已推广",
}


@dataclass(slots=True)
class Status:
    """What became of one received file."""

    accepted: bool
    reason: str = ""
    held: bool = False  # not accepted (yet): waits for its project's earlier stage
    version: int | None = None
    changes: str = ""


@dataclass(slots=True)
class Transition:
    project: str  # application instance
    state: str
    at: str  # saved time of the submission that caused it
    sha256: str
    note: str = ""


@dataclass(slots=True)
class Project:
    key: str  # the application's instance id
    committee: str
    kind: str
    cycle: str
    application: Submission
    light: dict[str, Any]  # facts.LIGHT_FIELDS of the application's values, decoded
    number: str | None = None
    decision: str | None = None
    review: dict[str, Any] = field(default_factory=dict)
    state: str = "applied"
    ledger: Submission | None = None
    closure: Submission | None = None
    acceptance: Submission | None = None
    _values: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return str(self.light.get("project_name") or "")

    @property
    def project_type(self) -> str:
        return str(self.light.get("project_type") or self.kind.removeprefix("application_"))

    @property
    def values(self) -> dict[str, Any]:
        """The application's values (loaded from the store when first asked for)."""
        if self._values is None:
            self.load(self.application.payload)
        assert self._values is not None
        return self._values

    def load(self, payload: dict[str, Any]) -> None:
        """Decode the application's values from its stored ``payload``."""
        self._values = decode_values(catalog().form(self.kind), payload)

    def form_values(self, which: str) -> dict[str, Any]:
        sub = getattr(self, which)
        return decode_values(catalog().form(which), sub.payload) if sub else {}


@dataclass
class RegisterState:
    projects: list[Project]
    statuses: dict[str, Status]
    transitions: list[Transition]
    notes: list[str]
    submissions: list[Submission]
    facts: dict[str, Facts] = field(default_factory=dict)  # of the latest ledgers at least
    # what versions changed, worked out now (not kept in the store: ``register.changes``)
    made_changes: dict[Pair, str] = field(default_factory=dict)

    def adjustments(self, project: Project) -> list[dict[str, Any]]:
        """The adjustments the project's latest ledger asks for (kept with the return:
        ``facts``, not read again from the store project by project)."""
        if project.ledger is None:
            return []
        kept = self.facts[project.ledger.sha256]["adjustments"]
        return decode_table(catalog().form("ledger"), "adjustments", kept)

    def by_number(self) -> dict[str, Project]:
        return {p.number: p for p in self.projects if p.number}

    @cached_property
    def accepted_ledgers(self) -> dict[str, list[Submission]]:
        """Each project's valid, accepted ledgers, oldest first (built once: a meeting's
        figures ask it for every project)."""
        found: dict[str, list[Submission]] = defaultdict(list)
        for s in self.submissions:
            if s.form == "ledger" and s.project and s.valid and self.statuses[s.sha256].accepted:
                found[s.project].append(s)
        return {k: sorted(v, key=ORDER) for k, v in found.items()}


def _first_errors(sub: Submission, limit: int = 3) -> str:
    """The first ``limit`` errors of a return, as one sentence: ``甲；乙；丙（共 5 处问题）。``"""
    errors = [p["message"].rstrip("。") for p in sub.problems if p.get("severity") == "error"]
    more = f"（共 {len(errors)} 处问题）" if len(errors) > limit else ""
    return "；".join(errors[:limit]) + more + "。" if errors else ""


def _versions(
    subs: list[Submission], statuses: dict[str, Status]
) -> tuple[dict[str, list[Submission]], dict[Pair, str]]:
    """Number the valid versions of each instance and tell what each changed (texts
    not kept in the store worked out, and returned); return them, oldest first
    (``subs`` come in that order)."""
    by_instance: dict[str, list[Submission]] = defaultdict(list)
    for sub in subs:
        if sub.valid and sub.instance:
            by_instance[sub.instance].append(sub)
    pairs: list[tuple[Submission, Submission]] = []
    for versions in by_instance.values():
        previous = None
        for number, sub in enumerate(versions, start=1):
            statuses[sub.sha256].version = number
            if previous is not None and sub.form:
                pairs.append((previous, sub))
            previous = sub
    kept = kept_changes(subs) if pairs else {}
    made = work_out([p for p in pairs if (p[0].sha256, p[1].sha256) not in kept])
    known = kept | made
    for before, after in pairs:
        statuses[after.sha256].changes = known[(before.sha256, after.sha256)]
    return by_instance, made


def derive(submissions: list[Submission], config: Config, *, values: bool = True) -> RegisterState:
    """``values=False``: each project's application values are loaded when first asked
    for, and only ``LIGHT_FIELDS`` now (for a province, loading all 5,000 was most of
    deriving): for a register rewritten from the previous one, which builds the rows of
    the projects that changed only. Otherwise all are loaded now, in batches."""
    forms = catalog()
    subs = sorted(submissions, key=ORDER)
    statuses = {s.sha256: Status(s.valid, "" if s.valid else _first_errors(s)) for s in subs}
    versions, made_changes = _versions(subs, statuses)
    latest = {instance: found[-1] for instance, found in versions.items()}
    transitions: list[Transition] = []
    notes: list[str] = []

    def hold(sub: Submission, reason: str, waits: bool = False) -> None:
        """Refuse every valid version of ``sub``'s form; ``waits``: only until the
        project's earlier stage is merged (re-judged at every merge), not for good."""
        for s in subs:
            if s.instance == sub.instance and s.valid:
                statuses[s.sha256].accepted = False
                statuses[s.sha256].reason = reason
                statuses[s.sha256].held = waits

    projects: dict[str, Project] = {}
    applications = sorted((i, s) for i, s in latest.items() if s.form in APPLICATION_KINDS)
    # (one query for all that is read of each return: ledgers, and the applications
    # whose values are not loaded now)
    asked = [
        s
        for s in latest.values()
        if s.form == "ledger" or (not values and s.form in APPLICATION_KINDS)
    ]
    # (and the earlier versions of ledgers: when work started is dated by them)
    asked += [v for found in versions.values() if found[-1].form == "ledger" for v in found[:-1]]
    facts = facts_for(asked)
    for instance, sub, payload, light in _with_values(applications, values, facts):
        assert sub.form is not None
        project = Project(
            key=instance,
            committee=sub.committee or "",
            kind=sub.form,
            cycle=sub.cycle or "",
            application=sub,
            light=light,
        )
        if payload is not None:
            project.load(payload)
            project.light = {k: v for k in LIGHT_FIELDS if (v := project.values.get(k)) is not None}
        projects[instance] = project
        first = versions[instance][0]
        transitions.append(Transition(instance, "applied", first.saved_at, first.sha256))

    # Review decisions: the review sheet saved last decides; approvals in that order.
    decisions: dict[str, tuple[tuple[str, str, int], str, dict[str, Any], Submission]] = {}
    review_spec = forms.form("review")
    for sub in latest.values():
        if sub.form != "review":
            continue
        for row in decode_rows(review_spec, sub.payload, "reviews"):
            target = row.get("rv_instance")
            if target not in projects:
                notes.append(f"评审表中的申报表编号“{target}”没有对应的申报表，已忽略。")
                continue
            key = (*sub.order_key, int(row["_row"]))
            if target not in decisions or decisions[target][0] < key:
                decisions[target] = (key, row.get("rv_decision", ""), row, sub)
    counters: dict[tuple[str, str], int] = defaultdict(int)
    letters = {i.code: i.letter for i in forms.choice("project_type").items}
    institutional_later = []
    for target, (_key, decision, row, sub) in sorted(decisions.items(), key=lambda x: x[1][0]):
        project = projects[target]
        project.review = row
        project.decision = decision
        if decision != "approve":
            project.state = "rejected"
            transitions.append(Transition(target, "rejected", sub.saved_at, sub.sha256))
            continue
        if project.kind == "application_institutional":
            institutional_later.append((target, sub))
            continue
        _approve(project, config, counters, letters, sub, transitions)
    numbers = {p.number: p for p in projects.values() if p.number}
    for target, sub in institutional_later:
        project = projects[target]
        source = project.light.get("source_project_no")
        if source:
            cited = numbers.get(source)
            if (
                cited is None
                or cited.kind != "application_demonstration"
                or (cited.committee != project.committee)
            ):
                reason = (
                    f"来源项目编号“{source}”不是本单位已立项的典型示范型项目，"
                    "制度推广型项目不能立项。请核对编号后重新报送申报表。"
                )
                hold(project.application, reason)
                project.state = "rejected"
                project.decision = "invalid_source"
                transitions.append(Transition(target, "rejected", sub.saved_at, sub.sha256, reason))
                continue
        _approve(project, config, counters, letters, sub, transitions)
    numbers = {p.number: p for p in projects.values() if p.number}

    # Project-level forms: ledger → launched / in progress, closure → concluded,
    # acceptance → accepted / not accepted. Each must fit the stages already present.
    by_stage: dict[str, list[Submission]] = defaultdict(list)
    for sub in latest.values():
        if sub.form in ("ledger", "closure", "acceptance"):
            by_stage[sub.form].append(sub)
    for form in ("ledger", "closure", "acceptance"):
        for sub in sorted(by_stage[form], key=lambda s: s.instance or ""):
            project = numbers.get(sub.project or "")
            reason, waits = _misfit(form, project)
            if reason:
                hold(sub, reason, waits)
                continue
            assert project is not None
            setattr(project, form, sub)
            assert sub.instance is not None
            _advance(project, form, versions[sub.instance], transitions, facts)
    _in_causal_order(transitions)
    transitions.sort(key=lambda t: (t.project, t.at))  # stable: causes before effects
    ordered = sorted(projects.values(), key=lambda p: (p.number or "~", p.committee, p.key))
    return RegisterState(ordered, statuses, transitions, notes, subs, facts, made_changes)


def _with_values(
    pairs: list[tuple[str, Submission]], full: bool, facts: dict[str, Facts]
) -> Iterator[tuple[str, Submission, dict[str, Any] | None, dict[str, Any]]]:
    """Each (instance, submission) with its whole payload (``full``, ``PAYLOAD_BATCH``
    at a time) or none, and then its ``LIGHT_FIELDS`` (decoded, from its ``facts``)."""
    for start in range(0, len(pairs), PAYLOAD_BATCH):
        batch = pairs[start : start + PAYLOAD_BATCH]
        subs = [sub for _, sub in batch]
        if full:
            payloads = payloads_of(subs)
            for instance, sub in batch:
                yield instance, sub, payloads[sub.sha256], {}
            continue
        for instance, sub in batch:
            assert sub.form is not None
            spec = catalog().form(sub.form)
            kept = facts[sub.sha256]["light"]
            yield instance, sub, None, {k: decode(spec.field(k), v) for k, v in kept.items()}


def _approve(
    project: Project,
    config: Config,
    counters: dict[tuple[str, str], int],
    letters: dict[str, str | None],
    sub: Submission,
    transitions: list[Transition],
) -> None:
    ptype = project.project_type
    counters[(project.cycle, ptype)] += 1
    project.number = config.numbering.pattern.format(
        year=project.cycle,
        type=letters.get(ptype) or ptype.upper(),
        seq=counters[(project.cycle, ptype)],
    )
    project.state = "approved"
    transitions.append(
        Transition(project.key, "approved", sub.saved_at, sub.sha256, f"立项编号 {project.number}")
    )


_REQUIRES = {
    "ledger": ("approved", "项目尚未立项（或未通过评审），不能报送管理台帐。"),
    "closure": ("launched", "项目还没有报送过管理台帐，不能申请结题。请先报送管理台帐。"),
    "acceptance": ("concluded", "项目还没有报送结题报告，不能验收。请先报送结题报告。"),
}
# What a form that came before its project's earlier stage waits for: it takes effect by
# itself at the merge that brings that stage (the state is judged again at every merge).
_WAITS = {
    "closure": "等待该项目的管理台帐：台帐合并后本表自动生效，不必重新报送。",
    "acceptance": "等待该项目的结题报告：结题报告合并后本表自动生效，不必重新报送。",
}
_ORDER = ["approved", "launched", "in_progress", "rectifying", "concluded"]


def _misfit(form: str, project: Project | None) -> tuple[str, bool]:
    """Why ``form`` cannot take effect for ``project`` now ("" if it can), and whether it
    waits for an earlier stage (held) rather than being refused."""
    needed, reason = _REQUIRES[form]
    if project is None:
        return (
            "表格中的立项编号没有对应的已立项项目（项目未立项或编号有误），"
            "请使用县委组织部为已立项项目下发的表格",
            False,
        )
    state = project.state
    if state in ("accepted", "not_accepted"):
        if form != "acceptance":
            return "", False
        return "该项目已有验收评分表，不能重复验收。如需更正，请修改原表后重新报送。", False
    if state not in _ORDER:  # (not approved: nothing can follow)
        return reason, False
    if _ORDER.index(state) < _ORDER.index(needed):
        return _WAITS.get(form, reason), form in _WAITS
    return "", False


def _advance(
    project: Project,
    form: str,
    versions: list[Submission],
    transitions: list[Transition],
    facts: dict[str, Facts],
) -> None:
    """The state the latest of ``versions`` (of a ledger, closure or acceptance) brings
    ``project`` to, each change dated by ``_since``."""

    def change(state: str, holds: Callable[[Submission], bool] = lambda _: True) -> None:
        project.state = state
        by = _since(versions, holds)
        transitions.append(Transition(project.key, state, by.saved_at, by.sha256))

    def started(version: Submission) -> bool:
        return bool(facts[version.sha256]["started"])

    def passed(version: Submission) -> bool:
        values = decode_values(catalog().form("acceptance"), version.payload)
        return values.get("conclusion") == "pass"

    if form == "ledger":
        if project.state == "approved":
            change("launched")
        if project.state == "launched" and started(versions[-1]):
            change("in_progress", started)
    elif form == "closure":
        change("concluded")
    elif passed(versions[-1]):
        change("accepted", passed)
    else:
        change("not_accepted", lambda version: not passed(version))


def _since(versions: list[Submission], holds: Callable[[Submission], bool]) -> Submission:
    """The earliest of the versions, counting back from the latest, that all ``hold``:
    the one that brought what the latest says."""
    first = versions[-1]
    for version in reversed(versions[:-1]):
        if not holds(version):
            break
        first = version
    return first


def _in_causal_order(transitions: list[Transition]) -> None:
    """Date no change of a project before the one that had to come before it (they are
    made in that order): a ledger held back until its project was approved is dated by
    the approval, not by the save of its first version."""
    latest: dict[str, str] = {}
    for t in transitions:
        if t.at < latest.get(t.project, ""):
            t.at = latest[t.project]
        latest[t.project] = t.at
