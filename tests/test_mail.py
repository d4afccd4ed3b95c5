"""Messages and delivery at the library level, through a real SMTP server on loopback.

Everything is asserted on what the server received, parsed back with the standard
library's ``email`` package: recipients, headers, attachment names decoded back to
Chinese, attachment bytes identical to the files.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from collections.abc import Callable
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from smtpkit import (
    PERMANENT,
    Certificate,
    Recorder,
    Server,
    Servers,
    attachments,
    body_text,
    make_certificate,
    trust,
)

from xlsxflow.config import MailConfig
from xlsxflow.errors import UsageError
from xlsxflow.mail import Letter, Outcome, SendLog, build_message, deliver

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SENDER = "zzb@ncx.gov.cn"
USER, PASSWORD, PASSWORD_ENV = "zzb@ncx.gov.cn", "s3cret pa55:word!", "XF_TEST_SMTP_PASSWORD"
NAMES = [
    "T01_莲溪镇党委_创新探索型项目申报表.xlsx",
    # Long enough to need RFC 2231 continuations, with quotes, spaces and full-width marks.
    "NCX-2011-CX-001_桂山乡三民两承诺示范点建设（第二期）_项目管理台帐_问题标注 \"甲\" 'b'.xlsx",
    "plain ascii name.xlsx",
]


@pytest.fixture
def smtp(request: pytest.FixtureRequest) -> Servers:
    servers = Servers()
    request.addfinalizer(servers.stop_all)
    return servers


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "att"
    folder.mkdir()
    paths = []
    for i, name in enumerate(NAMES):
        path = folder / name
        # Every byte value, CRLFs and lines starting with '.' survive the trip.
        path.write_bytes(bytes(range(256)) * (i + 3) + b"\r\n.\r\n..x\n" + name.encode())
        paths.append(path)
    return paths


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    return folder


def config(**fields: object) -> MailConfig:
    base: dict[str, object] = {"security": "none", "sender": SENDER, "host": ""}
    return MailConfig.model_validate({**base, **fields})


def send_via(
    server: Server,
    root: Path,
    letters: list[Letter],
    *,
    cfg: MailConfig | None = None,
    sleep: Callable[[float], None] | None = None,
) -> list[Outcome]:
    """Deliver ``letters`` through the test server (no dry run, no resend)."""
    extra = {"sleep": sleep} if sleep is not None else {}
    return deliver(
        letters,
        cfg or config(),
        root,
        dry_run=False,
        resend=False,
        host=server.host,
        port=server.port,
        **extra,
    )


def letter(code: str = "t01", name: str = "莲溪镇党委", files: list[Path] | None = None) -> Letter:
    return Letter(
        "templates",
        name,
        f"{code}@ncx.gov.cn",
        f"【县委组织部】2011年度基层党建工作项目表格（{name}）",
        f"{name}：\n\n现将表格发给你们，请按时报送。\n\n县委组织部\n",
        list(files or []),
    )


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# -- the message itself --------------------------------------------------------------------


def test_message_round_trips_chinese_subject_names_and_bytes(files: list[Path]) -> None:
    sent = letter(files=files)
    raw = build_message(sent, config()).as_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)

    assert msg["Subject"] == sent.subject
    assert msg["To"].addresses[0].display_name == "莲溪镇党委"
    assert msg["To"].addresses[0].addr_spec == "t01@ncx.gov.cn"
    assert msg["From"].addresses[0].display_name == "县委组织部"
    assert msg["From"].addresses[0].addr_spec == SENDER
    assert msg["Message-ID"] and msg["Date"]
    assert body_text(msg) == sent.body

    parts = list(msg.iter_attachments())
    assert [p.get_filename() for p in parts] == NAMES
    for part, path in zip(parts, files, strict=True):
        assert part.get_content_type() == XLSX
        assert sha(part.get_payload(decode=True)) == sha(path.read_bytes())
        # The Content-Type also names the file (RFC 2047 inside, for older Outlook).
        name = str(make_header(decode_header(part.get_param("name"))))
        assert name == path.name

    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii(), "top-level headers are 7-bit (RFC 2047 encoded)"
    assert b"=?utf-8?" in head
    assert b"filename*0*=utf-8''" in raw or b"filename*=utf-8''" in raw
    assert b'filename="plain ascii name.xlsx"' in raw
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_content_type_keeps_the_mime_type_intact(files: list[Path]) -> None:
    """The xlsx MIME type is written as is, never RFC 2047-encoded, whatever the name."""
    raw = build_message(letter(files=files), config()).as_bytes()
    types = re.findall(rb"Content-Type: ([^;\r\n]+)", raw)
    assert types.count(XLSX.encode()) == len(files), types
    assert b"application/=?" not in raw


@pytest.mark.parametrize(
    "name",
    [
        "莲溪镇党委\r\nBcc: evil@example.com",
        "Lianxi\r\nBcc: evil@example.com",
        "莲溪镇党委\nBcc: evil@example.com",
        "莲溪镇党委\u2028Bcc: evil@example.com",
    ],
)
def test_a_line_break_in_a_name_raises_instead_of_adding_a_header(name: str) -> None:
    with pytest.raises(ValueError):
        build_message(letter(name=name), config())


@pytest.mark.parametrize(
    "addr",
    [
        "t01@ncx.gov.cn\r\nBcc: evil@example.com",
        "t01@ncx.gov.cn, evil@example.com",
        "Evil <evil@example.com>",
    ],
)
def test_only_a_plain_address_becomes_a_recipient(addr: str) -> None:
    bad = letter()
    bad.to_addr = addr
    with pytest.raises(ValueError):
        build_message(bad, config())


def test_injection_attempts_never_reach_the_server(smtp: Servers, root: Path) -> None:
    server = smtp.start()
    good = letter("t02", "青岚镇党委")
    evil = letter(name="莲溪镇党委\r\nBcc: evil@example.com")
    with pytest.raises(ValueError):
        send_via(server, root, [good, evil])
    received = server.received
    assert [r.rcpt_tos for r in received] == [("t02@ncx.gov.cn",)]
    for r in received:
        assert b"evil@example.com" not in r.data
        assert "Bcc" not in r.message


# -- delivery ------------------------------------------------------------------------------


def test_delivers_each_letter_to_its_recipient_only(
    smtp: Servers, root: Path, files: list[Path]
) -> None:
    server = smtp.start()
    letters = [letter("t01", "莲溪镇党委", files[:2]), letter("t02", "青岚镇党委", files[2:])]
    outcomes = deliver(
        letters, config(), root, dry_run=False, resend=False, host=server.host, port=server.port
    )
    assert [o.status for o in outcomes] == ["sent", "sent"]
    received = server.received
    assert [r.rcpt_tos for r in received] == [("t01@ncx.gov.cn",), ("t02@ncx.gov.cn",)]
    assert {r.mail_from for r in received} == {SENDER}
    for r, sent in zip(received, letters, strict=True):
        msg = r.message
        assert msg["Subject"] == sent.subject
        assert body_text(msg) == sent.body
        got = attachments(msg)
        assert list(got) == [p.name for p in sent.attachments]
        assert [sha(b) for b in got.values()] == [sha(p.read_bytes()) for p in sent.attachments]
        assert r.tls is False and r.login is None


def test_send_log_makes_a_rerun_send_nothing_and_resend_forces(
    smtp: Servers, root: Path, files: list[Path]
) -> None:
    server = smtp.start()
    letters = [letter("t01", files=files[:1]), letter("t02", "青岚镇党委", files[1:2])]

    def run(resend: bool = False) -> list[str]:
        outcomes = deliver(
            letters,
            config(),
            root,
            dry_run=False,
            resend=resend,
            host=server.host,
            port=server.port,
        )
        return [o.status for o in outcomes]

    assert run() == ["sent", "sent"]
    assert run() == ["skipped", "skipped"]
    assert len(server.received) == 2
    assert run(resend=True) == ["sent", "sent"]
    assert len(server.received) == 4
    # A changed attachment is a different message: sent again without --resend.
    files[0].write_bytes(b"changed")
    assert run() == ["sent", "skipped"]
    assert len(server.received) == 5
    log = SendLog(root / "data" / "mail.sqlite")
    try:
        assert log.sent(letters[0].key()) and log.sent(letters[1].key())
    finally:
        log.close()


def test_dry_run_writes_eml_files_and_sends_nothing(
    smtp: Servers, root: Path, files: list[Path]
) -> None:
    server = smtp.start()
    letters = [letter("t01", files=files), letter("t02", "青岚镇党委")]
    outcomes = deliver(
        letters, config(), root, dry_run=True, resend=False, host=server.host, port=server.port
    )
    assert [o.status for o in outcomes] == ["dry-run", "dry-run"]
    drafts = sorted((root / "mail" / "drafts").glob("*.eml"))
    assert len(drafts) == 2
    assert server.received == [] and server.handler.rcpt_attempts == []
    first = email.message_from_bytes(drafts[0].read_bytes(), policy=email.policy.default)
    assert first["Subject"] == letters[0].subject
    assert list(attachments(first)) == NAMES
    # Drafts are not "sent": a real run afterwards sends both.
    outcomes = deliver(
        letters, config(), root, dry_run=False, resend=False, host=server.host, port=server.port
    )
    assert [o.status for o in outcomes] == ["sent", "sent"]


def test_dry_run_needs_no_server_but_sending_does(root: Path) -> None:
    with pytest.raises(UsageError) as err:
        deliver([letter()], config(), root, dry_run=False, resend=False)
    assert err.value.code == "mail.no_host"
    assert "host" in str(err.value) and "--dry-run" in str(err.value)
    assert not (root / "data" / "mail.sqlite").exists()  # (refused before opening the log)
    deliver([letter()], config(), root, dry_run=True, resend=False)


# -- temporary and permanent failures ------------------------------------------------------


def test_temporary_451_twice_then_accepted_is_delivered_once(smtp: Servers, root: Path) -> None:
    server = smtp.start(Recorder(fail_data=2))
    sleeps = Sleeps()
    outcomes = send_via(server, root, [letter()], sleep=sleeps)
    assert [o.status for o in outcomes] == ["sent"]
    assert server.handler.data_attempts == 3
    assert len(server.received) == 1
    assert sleeps == [2.0, 4.0], "back-off doubles"


def test_temporary_refusal_of_the_recipient_is_retried(smtp: Servers, root: Path) -> None:
    server = smtp.start(Recorder(fail_rcpt=1))
    sleeps = Sleeps()
    outcomes = send_via(server, root, [letter()], sleep=sleeps)
    assert [o.status for o in outcomes] == ["sent"]
    assert [r.rcpt_tos for r in server.received] == [("t01@ncx.gov.cn",)]
    assert sleeps == [2.0]


def test_a_server_that_keeps_answering_451_gives_up_after_four_attempts(
    smtp: Servers, root: Path
) -> None:
    server = smtp.start(Recorder(fail_data=100))
    sleeps = Sleeps()
    outcomes = send_via(server, root, [letter()], sleep=sleeps)
    assert [o.status for o in outcomes] == ["failed"]
    assert "451" in outcomes[0].detail
    assert server.handler.data_attempts == 4
    assert sleeps == [2.0, 4.0, 8.0]
    assert server.received == []


def test_a_permanent_550_fails_that_letter_only_without_retrying(smtp: Servers, root: Path) -> None:
    server = smtp.start(Recorder(reject={"t02@ncx.gov.cn": PERMANENT}))
    sleeps = Sleeps()
    letters = [letter("t01"), letter("t02", "青岚镇党委"), letter("t03", "柳塘镇党委")]
    outcomes = send_via(server, root, letters, sleep=sleeps)
    assert [o.status for o in outcomes] == ["sent", "failed", "sent"]
    assert "550" in outcomes[1].detail
    assert sleeps == []
    assert server.handler.rcpt_attempts.count("t02@ncx.gov.cn") == 1
    assert [r.rcpt_tos for r in server.received] == [("t01@ncx.gov.cn",), ("t03@ncx.gov.cn",)]
    # The failed letter is not in the send log: the next run sends it, and only it.
    server.handler.reject.clear()
    outcomes = deliver(
        letters, config(), root, dry_run=False, resend=False, host=server.host, port=server.port
    )
    assert [o.status for o in outcomes] == ["skipped", "sent", "skipped"]
    assert server.received[-1].rcpt_tos == ("t02@ncx.gov.cn",)


# -- TLS and login -------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_starttls_and_login_with_the_password_from_the_environment(
    smtp: Servers,
    root: Path,
    certificate: Certificate,
    monkeypatch: pytest.MonkeyPatch,
    mechanism: str,
) -> None:
    trust(monkeypatch, certificate)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    server = smtp.start(
        security="starttls",
        certificate=certificate,
        users={USER: PASSWORD},
        mechanisms=(mechanism,),
    )
    cfg = config(security="starttls", username=USER, password_env=PASSWORD_ENV)
    outcomes = send_via(server, root, [letter(), letter("t02", "青岚镇党委")], cfg=cfg)
    assert [o.status for o in outcomes] == ["sent", "sent"]
    assert [(r.tls, r.login) for r in server.received] == [(True, USER), (True, USER)]
    attempts = server.auth_attempts
    assert attempts and all(a.success and a.tls for a in attempts), "login only after STARTTLS"
    assert {a.mechanism for a in attempts} == {mechanism}
    assert len(attempts) == 1, "one connection (and one login) for the batch"


def test_ssl_from_the_first_byte_with_login(
    smtp: Servers, root: Path, certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    trust(monkeypatch, certificate)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    server = smtp.start(security="ssl", certificate=certificate, users={USER: PASSWORD})
    cfg = config(security="ssl", username=USER, password_env=PASSWORD_ENV)
    outcomes = deliver(
        [letter()], cfg, root, dry_run=False, resend=False, host=server.host, port=server.port
    )
    assert [o.status for o in outcomes] == ["sent"]
    assert [(r.tls, r.login) for r in server.received] == [(True, USER)]


def test_plain_login_without_tls_when_security_is_none(
    smtp: Servers, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    server = smtp.start(users={USER: PASSWORD})
    cfg = config(username=USER, password_env=PASSWORD_ENV)
    send_via(server, root, [letter()], cfg=cfg)
    assert [(r.tls, r.login) for r in server.received] == [(False, USER)]


def test_an_untrusted_certificate_is_refused_before_any_password_is_sent(
    smtp: Servers, root: Path, certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    server = smtp.start(security="starttls", certificate=certificate, users={USER: PASSWORD})
    cfg = config(security="starttls", username=USER, password_env=PASSWORD_ENV)
    sleeps = Sleeps()
    outcomes = send_via(server, root, [letter()], cfg=cfg, sleep=sleeps)
    assert [o.status for o in outcomes] == ["failed"]
    assert "CERTIFICATE_VERIFY_FAILED" in outcomes[0].detail
    assert sleeps == [], "a certificate problem is not temporary"
    assert server.auth_attempts == [] and server.received == []


def test_missing_password_variable_stops_before_anything_is_sent(
    smtp: Servers, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    server = smtp.start(users={USER: PASSWORD})
    cfg = config(username=USER, password_env=PASSWORD_ENV)
    with pytest.raises(UsageError) as err:
        deliver(
            [letter()], cfg, root, dry_run=False, resend=False, host=server.host, port=server.port
        )
    assert err.value.code == "mail.no_password"
    assert PASSWORD_ENV in str(err.value) and "环境变量" in str(err.value)
    assert server.auth_attempts == [] and server.received == []


def test_a_wrong_password_is_tried_once_not_once_per_letter(
    smtp: Servers, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mail servers lock an account after a few failed logins: one bad password must not
    turn into one failed login per committee."""
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    server = smtp.start(users={USER: PASSWORD})
    cfg = config(username=USER, password_env=PASSWORD_ENV)
    sleeps = Sleeps()
    outcomes = send_via(
        server,
        root,
        [letter("t01"), letter("t02", "青岚镇党委"), letter("t03", "柳塘镇党委")],
        cfg=cfg,
        sleep=sleeps,
    )
    assert [o.status for o in outcomes] == ["failed"] * 3
    assert (
        outcomes[0].detail.startswith("邮箱用户名或密码（授权码）不正确")
        and "535" in outcomes[0].detail
    )
    assert [o.detail for o in outcomes[1:]] == ["同上，未发送"] * 2
    attempts = server.auth_attempts
    # One login: smtplib tries each offered mechanism at most once.
    assert attempts and len(attempts) == len({a.mechanism for a in attempts})
    assert sleeps == [] and server.received == []


def test_an_unreachable_server_is_given_up_once_for_the_batch(root: Path) -> None:
    from smtpkit import HOST, free_port

    sleeps = Sleeps()
    outcomes = deliver(
        [letter("t01"), letter("t02", "青岚镇党委")],
        config(),
        root,
        dry_run=False,
        resend=False,
        host=HOST,
        port=free_port(),
        sleep=sleeps,
    )
    assert [o.status for o in outcomes] == ["failed", "failed"]
    assert sleeps == [2.0, 4.0, 8.0], "retried with back-off once, not per letter"
