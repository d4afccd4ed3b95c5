"""``xlsxflow send`` end to end: a workspace, the command line, a real SMTP server on
loopback (aiosmtpd), and assertions on what the server received."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import os
import re
import shutil
import time
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner, Result
from smtpkit import (
    PERMANENT,
    Certificate,
    Received,
    Recorder,
    Server,
    Servers,
    body_text,
    make_certificate,
    trust,
)
from smtpkit import attachments as attached

from xlsxflow.cli import cli
from xlsxflow.config import Config, MailConfig, load_config, render_config
from xlsxflow.demo.cycle import play
from xlsxflow.errors import message
from xlsxflow.excel.roster_book import write_roster
from xlsxflow.mail import TEMPLATES_NAME
from xlsxflow.register.query import load_state
from xlsxflow.register.sheets import missing_sheet
from xlsxflow.roster import Roster
from xlsxflow.sample_county import sample_roster
from xlsxflow.workspace import CONFIG_NAME, Workspace, init_workspace

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

SENDER = "zzb@ncx.gov.cn"
PASSWORD_ENV = "XF_CLI_SMTP_PASSWORD"
PASSWORD = "cli-s3cret-Pa55"
RFC2231_NAME = re.compile(rb"filename\*(?:0\*)?=utf-8''")


def run(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def send(root: Path, server: Server | None, *args: object) -> Result:
    where = ("--smtp-host", server.host, "--smtp-port", server.port) if server else ()
    return run("send", root, *args, *where)


def set_mail(root: Path, **fields: object) -> None:
    path = root / CONFIG_NAME
    config = load_config(path)
    mail = MailConfig.model_validate({**config.mail.model_dump(), **fields})
    path.write_text(render_config(config.model_copy(update={"mail": mail})), encoding="utf-8")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def by_recipient(received: list[Received]) -> dict[str, Received]:
    found: dict[str, Received] = {}
    for r in received:
        assert len(r.rcpt_tos) == 1, r.rcpt_tos
        assert r.rcpt_tos[0] not in found, f"{r.rcpt_tos[0]} got two messages"
        found[r.rcpt_tos[0]] = r
    return found


def committee_files(folder: Path, code: str) -> list[Path]:
    (sub,) = [p for p in folder.iterdir() if p.name.startswith(f"{code}_")]
    return sorted(sub.rglob("*.xlsx"))


@pytest.fixture
def smtp(request: pytest.FixtureRequest) -> Servers:
    servers = Servers()
    request.addfinalizer(servers.stop_all)
    return servers


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """Three committees, their templates in the outbox, mail set to plain SMTP."""
    root = tmp_path / "ws"
    init_workspace(root, Config(), sample_roster(3))
    result = run("templates", root)
    assert result.exit_code == 0, result.output
    set_mail(root, security="none", sender=SENDER, host="")
    return root


@pytest.fixture(scope="module")
def played_master(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A whole demo cycle with the leaders' reports; one leader takes no summaries."""
    root = tmp_path_factory.mktemp("played") / "ws"
    play(root, committees=4, seed=3)  # seed 3 leaves a return to remind about
    reports = []
    for args in (
        ("quarterly", "--as-of", "2012-03-31"),
        ("quarterly", "--as-of", "2012-06-30"),
        ("annual",),
        ("approval",),
    ):
        result = run("report", root, *args)
        assert result.exit_code == 0, result.output
        reports.append(result.output.strip().split("：", 1)[1])
    ws = Workspace.open(root)
    first, second, *rest = ws.roster.leaders
    leaders = (first, second.model_copy(update={"receives_summary": False}), *rest)
    write_roster(ws.roster_path, Roster(committees=ws.roster.committees, leaders=leaders))
    set_mail(root, security="none", sender=SENDER, host="")
    return root, reports


@pytest.fixture
def played(played_master: tuple[Path, list[str]], tmp_path: Path) -> Path:
    root = tmp_path / "played"
    shutil.copytree(played_master[0], root)
    return root


# -- templates -----------------------------------------------------------------------------


def test_templates_one_message_per_committee_with_its_own_files(smtp: Servers, ws: Path) -> None:
    server = smtp.start()
    result = send(ws, server, "templates")
    assert result.exit_code == 0, result.output
    roster = Workspace.open(ws).roster
    got = by_recipient(server.received)
    assert set(got) == {c.email for c in roster.committees}
    for c in roster.committees:
        r = got[c.email]
        assert r.mail_from == SENDER
        msg = r.message
        assert msg["To"].addresses[0].addr_spec == c.email
        assert msg["To"].addresses[0].display_name == c.name
        assert msg["Subject"] == f"【县委组织部】2011年度基层党建工作项目表格（{c.name}）"
        files = committee_files(ws / "outbox", c.code)
        assert len(files) == 3
        received = attached(msg)
        assert sorted(received) == sorted(p.name for p in files)
        for path in files:
            assert sha(received[path.name]) == sha(path.read_bytes()), path.name
        assert all(c.code in name and c.name in name for name in received)
        body = body_text(msg)
        assert body.startswith(f"{c.name}：") and "共 3 份" in body
        assert all(p.name in body for p in files)
        # RFC 2231 names on the wire, 7-bit headers, and no other committee's files.
        assert RFC2231_NAME.search(r.data)
        assert r.header_block.isascii()
        others = [o for o in roster.committees if o.code != c.code]
        assert not any(o.name in name for o in others for name in received)
    assert "合计：已发送 3。" in result.output
    # (the sample roster's addresses: told they cannot arrive anywhere real)
    assert "3 位收件人的邮箱仍是示例地址（.invalid 域名" in result.stderr


def test_templates_generated_later_go_out_alone(smtp: Servers, ws: Path) -> None:
    """The applications were sent; a second form for T02 is generated later: T02 gets
    that one, not every form again. ``--resend`` sends the whole folder."""
    server = smtp.start()
    assert send(ws, server, "templates").exit_code == 0
    before = set(committee_files(ws / "outbox", "T02"))
    args = ("--committee", "T02", "--form", "application_innovation", "--copies", 2)
    assert run("templates", ws, *args).exit_code == 0
    (second,) = set(committee_files(ws / "outbox", "T02")) - before
    result = send(ws, server, "templates")
    assert result.exit_code == 0, result.output
    got = server.received[3:]
    t02 = Workspace.open(ws).roster.committee("T02")
    assert [r.rcpt_tos for r in got] == [(t02.email,)]
    assert list(attached(got[0].message)) == [second.name]
    assert "共 1 份" in body_text(got[0].message)
    assert "合计：已发送 1，已跳过 2。" in result.output
    result = send(ws, server, "templates")  # (T02 has had all four, over two letters)
    assert result.exit_code == 0, result.output
    assert len(server.received) == 4 and "合计：已跳过 3。" in result.output
    result = send(ws, server, "templates", "--only", "T02", "--resend")
    assert result.exit_code == 0, result.output
    assert len(attached(server.received[-1].message)) == 4


def test_lock_files_of_open_workbooks_are_never_attached(smtp: Servers, ws: Path) -> None:
    """Excel and WPS keep ``~$name.xlsx`` beside a workbook while it is open."""
    files = committee_files(ws / "outbox", "T02")
    (files[0].parent / f"~${files[0].name}").write_bytes(b"\x05lock" + b"\0" * 160)
    server = smtp.start()
    result = send(ws, server, "templates", "--only", "T02")
    assert result.exit_code == 0, result.output
    (got,) = server.received
    assert sorted(attached(got.message)) == sorted(p.name for p in files)


def test_only_narrows_and_a_rerun_sends_nothing_new_unless_resend(smtp: Servers, ws: Path) -> None:
    server = smtp.start()
    result = send(ws, server, "templates", "--only", "T02")
    assert result.exit_code == 0, result.output
    roster = Workspace.open(ws).roster
    assert [r.rcpt_tos for r in server.received] == [(roster.committee("T02").email,)]

    result = send(ws, server, "templates")
    assert result.exit_code == 0, result.output
    assert len(server.received) == 3, "T02 was not sent twice"
    assert "已跳过：青岚镇党委" in result.output
    assert "合计：已发送 2，已跳过 1。" in result.output

    result = send(ws, server, "templates")
    assert result.exit_code == 0, result.output
    assert len(server.received) == 3
    assert "合计：已跳过 3。" in result.output

    result = send(ws, server, "templates", "--only", "T01", "--only", "T03", "--resend")
    assert result.exit_code == 0, result.output
    assert [r.rcpt_tos[0] for r in server.received[3:]] == [
        roster.committee("T01").email,
        roster.committee("T03").email,
    ]


def test_dry_run_writes_eml_drafts_and_the_server_receives_nothing(smtp: Servers, ws: Path) -> None:
    server = smtp.start()
    result = send(ws, server, "templates", "--dry-run")
    assert result.exit_code == 0, result.output
    assert server.received == [] and server.handler.rcpt_attempts == []
    drafts = sorted((ws / "mail" / "drafts").glob("*.eml"))
    assert len(drafts) == 3
    roster = Workspace.open(ws).roster
    for draft, c in zip(drafts, roster.committees, strict=True):
        msg = email.message_from_bytes(draft.read_bytes(), policy=email.policy.default)
        assert msg["To"].addresses[0].addr_spec == c.email
        files = committee_files(ws / "outbox", c.code)
        received = attached(msg)
        assert {n: sha(b) for n, b in received.items()} == {
            p.name: sha(p.read_bytes()) for p in files
        }
    # No server configured at all: a dry run still works. Drafts are not "sent", and
    # the second run's are numbered after the first's, which stay as they were.
    before = {p.name: p.read_bytes() for p in drafts}
    result = send(ws, None, "templates", "--dry-run")
    assert result.exit_code == 0, result.output
    now = {p.name: p.read_bytes() for p in (ws / "mail" / "drafts").glob("*.eml")}
    assert {n: b for n, b in now.items() if n in before} == before
    assert sorted(n[:5] for n in now.keys() - before.keys()) == ["0004_", "0005_", "0006_"]
    result = send(ws, server, "templates")
    assert len(server.received) == 3


def test_smtp_host_and_port_options_override_the_config(smtp: Servers, ws: Path) -> None:
    server = smtp.start()
    set_mail(ws, host="smtp.nowhere.invalid", port=1)
    result = send(ws, server, "templates", "--only", "T01")
    assert result.exit_code == 0, result.output
    assert len(server.received) == 1


def test_no_server_configured_is_a_usage_error(ws: Path) -> None:
    result = send(ws, None, "templates")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == "错误：" + message("mail.no_host")


def test_no_sender_configured_is_a_usage_error_and_nothing_is_sent(smtp: Servers, ws: Path) -> None:
    """(A made-up sender address is refused by servers or filed as spam.) Drafts need none."""
    set_mail(ws, sender="")
    server = smtp.start()
    result = send(ws, server, "templates")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == "错误：" + message("mail.no_sender")
    assert server.received == []
    assert send(ws, server, "templates", "--dry-run").exit_code == 0


# -- reminders -----------------------------------------------------------------------------


def test_reminders_name_what_is_missing_and_the_deadline(smtp: Servers, ws: Path) -> None:
    server = smtp.start()
    result = send(ws, server, "reminders", "--as-of", "2011-12-15")
    assert result.exit_code == 0, result.output
    roster = Workspace.open(ws).roster
    got = by_recipient(server.received)
    assert set(got) == {c.email for c in roster.committees}
    for c in roster.committees:
        msg = got[c.email].message
        assert msg["Subject"] == f"【提醒】{c.name}尚有表格未报送"
        body = body_text(msg)
        assert "项目申报表" in body and "截止日期 2011-12-31" in body
        assert "已逾期" not in body
        assert list(msg.iter_attachments()) == []


def test_a_committee_whose_return_was_refused_is_told_so_not_that_it_sent_none(
    smtp: Servers, ws: Path
) -> None:
    """(Told "not sent … if you have, ignore this", it would ignore the reminder.)"""
    from registerkit import application

    workspace = Workspace.open(ws)
    sent = dt.datetime(2011, 11, 20, 9)
    application(workspace, "T01", saved_at=sent, overrides={"project_name": None}).put(ws / "inbox")
    assert run("merge", ws).exit_code == 1  # (returned)
    server = smtp.start()
    result = send(ws, server, "reminders", "--as-of", "2011-12-20")
    assert result.exit_code == 0, result.output
    got = by_recipient(server.received)
    t01, t02 = (workspace.roster.committee(c) for c in ("T01", "T02"))
    refused = "已报送但未通过校验，请按退回的标注副本修改后重新报送"
    assert refused in body_text(got[t01.email].message)
    assert refused not in body_text(got[t02.email].message)
    states = {r[2]: r[6] for r in load_state_rows(ws)}
    assert (states["T01"], states["T02"]) == ("已报送，未通过校验", "尚未报送")


def load_state_rows(ws: Path) -> list[tuple]:
    """The register's 未报送名单, as written."""
    book = openpyxl.load_workbook(ws / "register.xlsx", read_only=True)
    return [r for r in book["未报送名单"].iter_rows(min_row=2, values_only=True)]


def test_reminders_after_the_deadline_say_it_is_overdue(smtp: Servers, ws: Path) -> None:
    server = smtp.start()
    result = send(ws, server, "reminders", "--as-of", "2012-01-05", "--only", "T01")
    assert result.exit_code == 0, result.output
    (r,) = server.received
    body = body_text(r.message)
    assert "项目申报表，截止日期 2011-12-31（已逾期）" in body


def test_no_reminders_far_from_any_deadline(smtp: Servers, ws: Path) -> None:
    server = smtp.start()
    result = send(ws, server, "reminders", "--as-of", "2011-11-01")
    assert result.exit_code == 0, result.output
    assert "没有需要发送的邮件。" in result.output
    assert server.received == []


def test_reminders_in_a_running_cycle_follow_the_register(smtp: Servers, played: Path) -> None:
    server = smtp.start()
    today = dt.date(2012, 12, 20)
    ws = Workspace.open(played)
    state = load_state(ws)
    assert state is not None
    due = [
        row
        for row in missing_sheet(state, ws.roster, ws.config, today).rows
        if row[1] <= today + dt.timedelta(days=30)
    ]
    assert due, "the demo cycle leaves something to remind about"
    result = send(played, server, "reminders", "--as-of", today.isoformat())
    assert result.exit_code == 0, result.output
    got = by_recipient(server.received)
    assert set(got) == {ws.roster.committee(str(row[2])).email for row in due}
    for row in due:
        what, deadline, code, _name, number, _project, _status = row
        body = body_text(got[ws.roster.committee(str(code)).email].message)
        assert str(what) in body and f"截止日期 {deadline.isoformat()}" in body
        if number:
            assert str(number) in body


# -- summary -------------------------------------------------------------------------------


def test_summary_goes_to_the_leaders_who_take_it_with_the_latest_reports(
    smtp: Servers, played: Path, played_master: tuple[Path, list[str]]
) -> None:
    server = smtp.start()
    result = send(played, server, "summary")
    assert result.exit_code == 0, result.output
    ws = Workspace.open(played)
    takers = [le for le in ws.roster.leaders if le.receives_summary]
    assert len(takers) == len(ws.roster.leaders) - 1
    got = by_recipient(server.received)
    assert set(got) == {le.email for le in takers}
    reports = [Path(p).name for p in played_master[1]]
    latest = sorted(name for name in reports if "2012-03-31" not in name)
    assert len(latest) == 3
    for le in takers:
        msg = got[le.email].message
        assert msg["Subject"] == "【县委组织部】2011年度基层党建项目汇总材料"
        assert body_text(msg).startswith(f"{le.name}：")
        received = attached(msg)
        assert sorted(received) == latest
        for name, data in received.items():
            assert sha(data) == sha((ws.reports / name).read_bytes())
        assert RFC2231_NAME.search(got[le.email].data)

    # A summary open in Excel: its lock file is newer, and still not the latest summary.
    lock = ws.reports / f"~${latest[0]}"
    lock.write_bytes(b"\x05lock" + b"\0" * 160)
    os.utime(lock, (time.time() + 60, time.time() + 60))
    result = send(played, server, "summary", "--only", takers[0].name, "--resend")
    assert result.exit_code == 0, result.output
    assert sorted(attached(server.received[-1].message)) == latest
    lock.unlink()

    # --only takes a leader's name for summaries.
    result = send(played, server, "summary", "--only", takers[0].name, "--resend")
    assert result.exit_code == 0, result.output
    assert [r.rcpt_tos for r in server.received[len(takers) + 1 :]] == [(takers[0].email,)]


# -- feedback ------------------------------------------------------------------------------


def test_feedback_sends_each_committee_its_marked_up_copies(smtp: Servers, ws: Path) -> None:
    inbox = ws / "inbox" / "申报"
    inbox.mkdir(parents=True)
    for code in ("T01", "T03"):  # returned blank: every required cell is a problem
        shutil.copy(committee_files(ws / "outbox", code)[0], inbox)
    result = run("validate", ws / "inbox", "--feedback", ws / "feedback")
    assert result.exit_code == 1, result.output
    server = smtp.start()
    result = send(ws, server, "feedback")
    assert result.exit_code == 0, result.output
    roster = Workspace.open(ws).roster
    got = by_recipient(server.received)
    assert set(got) == {roster.committee("T01").email, roster.committee("T03").email}
    for code in ("T01", "T03"):
        c = roster.committee(code)
        msg = got[c.email].message
        assert msg["Subject"] == f"【退回修改】{c.name}报送的表格需要修改"
        files = committee_files(ws / "feedback", code)
        assert files
        received = attached(msg)
        assert {n: sha(b) for n, b in received.items()} == {
            p.name: sha(p.read_bytes()) for p in files
        }
        assert all(name.startswith(f"{code}_{c.name}") for name in received)


def test_a_copy_asking_to_fix_a_form_since_accepted_is_not_sent(smtp: Servers, ws: Path) -> None:
    """T01 sent its form with a mistake, got a marked-up copy, and sent it again
    corrected, which merge accepted: that copy is not mailed to it any more. T02's copy
    of a form still to fix is."""
    from registerkit import application

    workspace = Workspace.open(ws)
    first, later = dt.datetime(2011, 11, 20, 9), dt.datetime(2011, 11, 25, 9)
    wrong = {"project_name": None}
    for code in ("T01", "T02"):
        application(workspace, code, saved_at=first, overrides=wrong).put(ws / "inbox")
    assert run("validate", ws / "inbox", "--feedback", ws / "feedback").exit_code == 1
    assert run("merge", ws).exit_code == 1  # (both returned)
    application(workspace, "T01", saved_at=later, name="T01_again").put(ws / "inbox")
    assert run("merge", ws).exit_code == 0
    server = smtp.start()
    result = send(ws, server, "feedback")
    assert result.exit_code == 0, result.output
    t02 = workspace.roster.committee("T02")
    (got,) = server.received
    assert got.rcpt_tos == (t02.email,)
    assert sorted(attached(got.message)) == [
        p.name for p in committee_files(ws / "feedback", "T02")
    ]
    assert committee_files(ws / "feedback", "T01")  # (kept: only not sent)


# -- TLS, login and the password -----------------------------------------------------------


def test_starttls_login_with_the_password_only_from_the_environment(
    smtp: Servers, ws: Path, certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    trust(monkeypatch, certificate)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    server = smtp.start(security="starttls", certificate=certificate, users={SENDER: PASSWORD})
    set_mail(ws, security="starttls", username=SENDER, password_env=PASSWORD_ENV)
    result = send(ws, server, "templates")
    assert result.exit_code == 0, result.output
    assert len(server.received) == 3
    assert all(r.tls and r.login == SENDER for r in server.received)
    assert all(a.tls and a.success for a in server.auth_attempts)
    text = (ws / CONFIG_NAME).read_text(encoding="utf-8")
    assert PASSWORD not in text and PASSWORD_ENV in text
    assert all(PASSWORD not in p.read_text("utf-8", "replace") for p in ws.glob("*.toml"))
    assert PASSWORD not in result.output


def test_missing_password_variable_is_a_chinese_usage_error(
    smtp: Servers, ws: Path, certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    trust(monkeypatch, certificate)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    server = smtp.start(security="starttls", certificate=certificate, users={SENDER: PASSWORD})
    set_mail(ws, security="starttls", username=SENDER, password_env=PASSWORD_ENV)
    result = send(ws, server, "templates")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == "错误：" + message("mail.no_password", env=PASSWORD_ENV)
    assert PASSWORD_ENV in result.stderr and "环境变量" in result.stderr
    assert server.received == [] and server.auth_attempts == []


def test_a_password_with_chinese_characters_is_a_chinese_usage_error(
    smtp: Servers, ws: Path, certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    trust(monkeypatch, certificate)
    monkeypatch.setenv(PASSWORD_ENV, "密码123")
    server = smtp.start(security="starttls", certificate=certificate, users={SENDER: PASSWORD})
    set_mail(ws, security="starttls", username=SENDER, password_env=PASSWORD_ENV)
    result = send(ws, server, "templates")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == "错误：" + message("mail.password_encoding", env=PASSWORD_ENV)
    assert server.received == []


def test_only_with_an_unknown_recipient_is_a_usage_error(smtp: Servers, ws: Path) -> None:
    server = smtp.start()
    result = send(ws, server, "templates", "--only", "T99")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == "错误：" + message("send.unknown_recipient", who="T99")
    assert server.received == []


# -- failures ------------------------------------------------------------------------------


def test_a_temporary_failure_is_retried_and_delivered_once(smtp: Servers, ws: Path) -> None:
    server = smtp.start(Recorder(fail_data=1))  # one back-off of 2 s, the real one
    result = send(ws, server, "templates", "--only", "T01")
    assert result.exit_code == 0, result.output
    assert server.handler.data_attempts == 2
    assert len(server.received) == 1


def test_a_permanent_failure_is_reported_and_the_others_still_go(smtp: Servers, ws: Path) -> None:
    roster = Workspace.open(ws).roster
    refused = roster.committee("T02")
    server = smtp.start(Recorder(reject={refused.email: PERMANENT}))
    result = send(ws, server, "templates")
    assert result.exit_code == 1, result.output
    assert f"发送失败：{refused.name} <{refused.email}>" in result.output
    assert "收件地址被邮件服务器拒绝，请核对名册中的电子邮箱" in result.output
    assert "550" in result.output
    assert "合计：已发送 2，发送失败 1。" in result.output
    assert set(by_recipient(server.received)) == {
        c.email for c in roster.committees if c.code != "T02"
    }
    # Fixed on the server side: the rerun sends the failed one only.
    server.handler.reject.clear()
    result = send(ws, server, "templates")
    assert result.exit_code == 0, result.output
    assert server.received[-1].rcpt_tos == (refused.email,)
    assert len(server.received) == 3


def test_a_server_that_cannot_be_reached_is_told_once_in_chinese(ws: Path) -> None:
    """Nothing listens on the port (or the security setting is wrong): the first letter
    says why, the others say they were not sent, and nothing is retried per letter."""
    import socket

    with socket.socket() as probe:  # a free port on loopback, closed again
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run("send", ws, "templates", "--smtp-host", "127.0.0.1", "--smtp-port", port)
    assert result.exit_code == 1, result.output
    failed = [line for line in result.output.splitlines() if line.startswith("发送失败")]
    assert len(failed) == 3
    assert (
        f"无法连接邮件服务器 127.0.0.1:{port}，请检查网络和配置 [mail] 的 host、port" in failed[0]
    )
    assert all(line.endswith("（同上，未发送）") for line in failed[1:])
    assert "合计：发送失败 3。" in result.output


# -- roster text cannot inject headers -----------------------------------------------------


@pytest.mark.parametrize(
    ("sheet", "column", "text"),
    [
        ("基层党委名册", "党委名称", "莲溪镇党委\r\nBcc: evil@example.com"),
        ("基层党委名册", "党委名称", "莲溪镇党委\nBcc: evil@example.com"),
        ("基层党委名册", "党委名称", "莲溪镇党委\u2028Bcc: evil@example.com"),
        ("基层党委名册", "电子邮箱", "t01@ncx.gov.cn\r\nBcc: evil@example.com"),
        ("基层党委名册", "电子邮箱", "t01@ncx.gov.cn, evil@example.com"),
        ("领导名单", "姓名", "张卫东\r\nBcc: evil@example.com"),
    ],
)
def test_roster_text_with_header_injection_is_refused_at_load(
    smtp: Servers, ws: Path, sheet: str, column: str, text: str
) -> None:
    book = openpyxl.load_workbook(ws / "roster.xlsx")
    rows = book[sheet]
    header = [cell.value for cell in rows[1]]
    rows.cell(row=2, column=header.index(column) + 1, value=text)
    book.save(ws / "roster.xlsx")
    server = smtp.start()
    for kind in ("templates", "summary"):
        result = send(ws, server, kind)
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert result.stderr.startswith("错误：名册")
        assert f"“{column}”" in result.stderr
    assert server.received == [] and server.handler.rcpt_attempts == []


# -- editable templates --------------------------------------------------------------------


def edit_templates(root: Path, old: str, new: str) -> None:
    path = root / TEMPLATES_NAME
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


DEFAULT_SUBJECT = 'subject = "【{department}】{year}年度基层党建工作项目表格（{committee}）"'


def test_edited_templates_change_what_is_received(smtp: Servers, ws: Path) -> None:
    edit_templates(ws, DEFAULT_SUBJECT, 'subject = "请查收：{committee}的{count}份表格（{year}）"')
    edit_templates(ws, "如有疑问请与我们联系。", "如有疑问请致电 0791-85700000。")
    server = smtp.start()
    result = send(ws, server, "templates", "--only", "T01")
    assert result.exit_code == 0, result.output
    (r,) = server.received
    assert r.message["Subject"] == "请查收：莲溪镇党委的3份表格（2011）"
    assert "如有疑问请致电 0791-85700000。" in body_text(r.message)


@pytest.mark.parametrize(
    ("subject", "named"),
    [
        ("{committe}的表格", "'committe'"),
        ("{committee.name}的表格", "花括号中的内容"),
        ("{year[0]}年度", "花括号中的内容"),
        ("表格{", "花括号中的内容"),
        ("{0}的表格", "花括号中的内容"),
    ],
)
def test_a_broken_placeholder_is_a_chinese_usage_error(
    smtp: Servers, ws: Path, subject: str, named: str
) -> None:
    edit_templates(ws, DEFAULT_SUBJECT, f'subject = "{subject}"')
    server = smtp.start()
    result = send(ws, server, "templates")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"错误：邮件模板中的 {named} 无法替换（{subject}")
    assert "mail_templates.toml" in result.stderr
    assert server.received == []


def test_a_template_file_that_is_not_toml_is_a_usage_error(smtp: Servers, ws: Path) -> None:
    edit_templates(ws, DEFAULT_SUBJECT, 'subject = "未闭合的引号')
    server = smtp.start()
    result = send(ws, server, "templates")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("错误：配置文件")
    assert TEMPLATES_NAME in result.stderr
    assert server.received == []


def test_a_damaged_mail_log_is_told_as_such_and_nothing_is_sent(smtp: Servers, ws: Path) -> None:
    """(Not as the register's store: the clerk is sent to the right file.)"""
    server = smtp.start()
    assert send(ws, server, "templates", "--only", "T02").exit_code == 0
    log = ws / "data" / "mail.sqlite"
    log.write_bytes(b"\0" * 4096 + log.read_bytes()[4096:])
    result = send(ws, server, "templates")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"错误：邮件发送记录 {log} 无法读写或已损坏（")
    assert len(server.received) == 1
