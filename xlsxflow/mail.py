"""Workbooks → e-mail messages → SMTP (or ``.eml`` files with ``--dry-run``).

Messages are built with the standard library's ``email`` package: Chinese subjects are
RFC 2047 encoded, attachment names RFC 2231 encoded (with an RFC 2047 ``name`` on the
Content-Type as well, for older Outlook). Recipients come from the validated roster
(plain addresses, no line breaks), and the ``SMTP`` policy refuses any header with a
line break, so roster text cannot inject headers. A send log makes reruns idempotent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import mimetypes
import os
import re
import smtplib
import sqlite3
import ssl
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, make_msgid, quote
from pathlib import Path

from xlsxflow.config import MailConfig, toml_text
from xlsxflow.errors import UsageError, XlsxflowError
from xlsxflow.filenames import safe_component
from xlsxflow.fsutil import sha256_of, write_atomic, write_text_atomic
from xlsxflow.roster import EMAIL_PATTERN

TEMPLATES_NAME = "mail_templates.toml"
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
DEFAULT_TEMPLATES = '''# 邮件模板：可直接修改。花括号中的内容会被替换，例如 {committee} 为党委名称。
# 可用：{committee} 收件单位，{leader} 领导姓名，{department} 部门，{year} 年度，
# {count} 附件数，{missing} 缺报事项（每行一项），{files} 附件名称（每行一个）。

[templates]
subject = "【{department}】{year}年度基层党建工作项目表格（{committee}）"
body = """{committee}：

现将{year}年度基层党建工作项目化相关表格（共 {count} 份）发给你们，请按表内“填报说明”认真填写，经党委主要负责人审签后，在截止日期前通过电子邮件报送。

附件：
{files}

请直接在附件表格中填写，不要改动表格结构或复制到新文件。如有疑问请与我们联系。

{department}
"""

[reminders]
subject = "【提醒】{committee}尚有表格未报送"
body = """{committee}：

经核对，你单位以下表格尚未报送，或已报送但未通过校验：

{missing}

请抓紧填写或修改，在截止日期前报送。如已报送且未被退回，请忽略本邮件。

{department}
"""

[summary]
subject = "【{department}】{year}年度基层党建项目汇总材料"
body = """{leader}：

附件是{year}年度基层党建工作项目的最新汇总材料（共 {count} 份），请审阅。

{files}

{department}
"""

[feedback]
subject = "【退回修改】{committee}报送的表格需要修改"
body = """{committee}：

你单位报送的表格经校验发现需要修改的地方，已在附件中标红并附批注，“问题清单”工作表列出了全部问题。请在附件中直接修改后重新报送（共 {count} 份）。

{files}

{department}
"""
'''


@dataclass
class Letter:
    """One message to send: who, what, which files."""

    kind: str
    to_name: str
    to_addr: str
    subject: str
    body: str
    attachments: list[Path] = field(default_factory=list)
    # every attachment was sent to this address before (``letters``): skipped as a
    # letter sent before is, unless resent
    already_sent: bool = False

    def key(self) -> str:
        """Identity for the send log: the same recipient, text and files = the same mail."""
        digest = hashlib.sha256()
        for part in (self.kind, self.to_addr, self.subject, self.body):
            digest.update(part.encode("utf-8") + b"\0")
        for path in self.attachments:
            digest.update(path.name.encode("utf-8") + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()


def load_templates(root: Path) -> dict[str, dict[str, str]]:
    path = root / TEMPLATES_NAME
    text = toml_text(path.read_bytes(), path) if path.exists() else DEFAULT_TEMPLATES
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UsageError("config.syntax", path=path, detail=str(err)) from None
    defaults = tomllib.loads(DEFAULT_TEMPLATES)
    for kind, parts in defaults.items():
        data.setdefault(kind, parts)
    return data


def fill(template: str, **fields: object) -> str:
    try:
        return template.format(**fields)
    except KeyError as err:
        raise UsageError("mail.template", key=str(err), template=template[:40]) from None
    except (IndexError, ValueError, AttributeError, TypeError):
        # "{0}", a lone "{", "{committee.name}", "{year[0]}": any typo inside the braces.
        key = "花括号中的内容"
        raise UsageError("mail.template", key=key, template=template[:40]) from None


# Raw headers (only the attachments' Content-Type, see below) are written as folded here.
POLICY = SMTP.clone(refold_source="none")


def _content_type(maintype: str, subtype: str, name: str) -> str:
    """Content-Type with an RFC 2047 ``name`` for older Outlook, folded by hand.

    Set through the header registry, the email package decodes the encoded words again and
    re-folds the header; on CPython 3.11 that RFC 2047-encodes the MIME type itself
    (``application/=?utf-8?q?vnd=2Eopenxml...?=``), which no client recognises.
    """
    if name.isascii():
        value = quote(name)
    else:
        value = Header(name, "utf-8", maxlinelen=76, header_name=' name="').encode(linesep="\n")
    return f'{maintype}/{subtype};\n name="{value}"'


def _one_line(what: str, text: str) -> None:
    # The roster refuses line breaks; this guards any other way a Letter is made.
    if len(text.splitlines()) > 1:
        raise ValueError(f"{what} must not contain line breaks: {text!r}")


def build_message(letter: Letter, config: MailConfig) -> EmailMessage:
    _one_line("recipient name", letter.to_name)
    _one_line("subject", letter.subject)
    if not re.fullmatch(EMAIL_PATTERN, letter.to_addr):
        raise ValueError(f"not a plain e-mail address: {letter.to_addr!r}")
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = letter.subject
    sender = config.sender or "xlsxflow@localhost.invalid"
    msg["From"] = formataddr((config.sender_name, sender))
    msg["To"] = formataddr((letter.to_name, letter.to_addr))
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    msg.set_content(letter.body)
    for path in letter.attachments:
        guessed = mimetypes.guess_type(path.name)[0]
        maintype, subtype = guessed.split("/", 1) if guessed else XLSX_TYPE
        if path.suffix.lower() == ".xlsx":
            maintype, subtype = XLSX_TYPE
        msg.add_attachment(
            path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name
        )
        part = msg.get_payload()[-1]
        del part["Content-Type"]
        part.set_raw("Content-Type", _content_type(maintype, subtype, path.name))
    return msg


class SendLog:
    """What has been sent, so that a rerun does not send the same message twice. Its
    failures are told as its own (``mail.log_unusable``), not as the register's."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._told():
            self.db = sqlite3.connect(path, isolation_level=None)
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS sent (key TEXT PRIMARY KEY, at TEXT,"
                " kind TEXT, recipient TEXT, subject TEXT, message_id TEXT)"
            )
            # each workbook sent to each address (by content): templates generated
            # later go out alone, not with every form the committee already has
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS sent_files (recipient TEXT, sha256 TEXT,"
                " PRIMARY KEY (recipient, sha256))"
            )

    @contextlib.contextmanager
    def _told(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as err:
            raise XlsxflowError("mail.log_unusable", path=self.path, detail=str(err)) from err

    def sent(self, key: str) -> bool:
        with self._told():
            found = self.db.execute("SELECT 1 FROM sent WHERE key=?", (key,)).fetchone()
        return found is not None

    def record(self, key: str, letter: Letter, message_id: str) -> None:
        row = (
            key,
            dt.datetime.now().isoformat(timespec="seconds"),
            letter.kind,
            letter.to_addr,
            letter.subject,
            message_id,
        )
        files = [(letter.to_addr, sha256_of(p)) for p in letter.attachments]
        with self._told():
            self.db.execute("INSERT OR REPLACE INTO sent VALUES (?,?,?,?,?,?)", row)
            self.db.executemany("INSERT OR IGNORE INTO sent_files VALUES (?,?)", files)

    def files_sent(self) -> set[tuple[str, str]]:
        """(address, SHA-256) of every workbook sent."""
        with self._told():
            return set(self.db.execute("SELECT recipient, sha256 FROM sent_files"))

    def close(self) -> None:
        self.db.close()


@dataclass
class Outcome:
    letter: Letter
    status: str  # "sent", "skipped" (already sent), "dry-run", "failed"
    detail: str = ""


TEMPORARY = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    ConnectionError,
    TimeoutError,
)


def _is_temporary(err: Exception) -> bool:
    if isinstance(err, smtplib.SMTPResponseException):
        return 400 <= err.smtp_code < 500
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in err.recipients.values())
    return isinstance(err, TEMPORARY)


SAME = "同上，未发送"


def failure_text(err: Exception, host: str, port: int, security: str) -> str:
    """Why a letter was not sent, in words the clerk (or whoever set up the mailbox) can
    act on; the server's own words follow in brackets."""
    original = f"（{type(err).__name__}: {err}）"
    if isinstance(err, ssl.SSLCertVerificationError):
        return (
            f"邮件服务器 {host} 的证书无法验证，未发送（以免密码被冒充的服务器截获）。请核对"
            "配置 [mail] 的 host 是否为邮箱服务商给出的地址" + original
        )
    if isinstance(err, ssl.SSLError):
        return (
            f"无法与邮件服务器 {host}:{port} 建立加密连接，请核对配置 [mail] 的 security"
            f"（现为 {security}）和 port：SSL 通常用 465 端口，STARTTLS 通常用 587 端口" + original
        )
    if isinstance(err, smtplib.SMTPNotSupportedError):
        return f"邮件服务器 {host}:{port} 不支持 STARTTLS，请核对配置 [mail] 的 security" + original
    if isinstance(err, smtplib.SMTPAuthenticationError):
        return "邮箱用户名或密码（授权码）不正确，请核对配置 [mail] 的 username 和密码" + original
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return "收件地址被邮件服务器拒绝，请核对名册中的电子邮箱" + original
    if isinstance(err, smtplib.SMTPResponseException):
        return f"邮件服务器拒绝发送（{err.smtp_code}）" + original
    if isinstance(err, OSError) and not isinstance(err, smtplib.SMTPException):
        return f"无法连接邮件服务器 {host}:{port}，请检查网络和配置 [mail] 的 host、port" + original
    return "发送失败" + original


class Mailer:
    """One SMTP connection for a batch, reconnecting with back-off on temporary failures."""

    def __init__(
        self,
        config: MailConfig,
        host: str,
        port: int,
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = 4,
    ) -> None:
        self.config, self.host, self.port = config, host, port
        self.sleep, self.attempts = sleep, attempts
        self.smtp: smtplib.SMTP | None = None
        # Set when no connection (or login) could be made: the rest of the batch would fail
        # alike, and a wrong password tried once per letter can get the account locked.
        self.broken: Exception | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        context = ssl.create_default_context()
        if cfg.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=60, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=60)
        try:
            if cfg.security == "starttls":
                smtp.starttls(context=context)
            if cfg.username:
                password = os.environ.get(cfg.password_env)
                if password is None:
                    raise UsageError("mail.no_password", env=cfg.password_env)
                try:
                    smtp.login(cfg.username, password)
                except UnicodeEncodeError:  # smtplib sends the password as ASCII
                    raise UsageError("mail.password_encoding", env=cfg.password_env) from None
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, msg: EmailMessage) -> None:
        if self.broken is not None:
            raise self.broken
        delay = 2.0
        for attempt in range(1, self.attempts + 1):
            connected = False
            try:
                if self.smtp is None:
                    self.smtp = self._connect()
                connected = True
                self.smtp.send_message(msg)
                return
            except UsageError:
                raise
            except (smtplib.SMTPException, OSError) as err:
                self.close()
                if attempt == self.attempts or not _is_temporary(err):
                    if not connected:
                        self.broken = err
                    raise
                self.sleep(delay)
                delay *= 2

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
            self.smtp = None


def _next_draft(drafts: Path) -> int:
    """The number after the drafts already written: a second dry run (or ``run``'s
    summary after its feedback) neither overwrites nor interleaves with the first, and
    the latest drafts sort last (four digits: still in order past draft 999)."""
    numbers = [
        int(head)
        for p in (drafts.glob("*.eml") if drafts.is_dir() else ())
        if (head := p.name.partition("_")[0]).isascii() and head.isdigit()
    ]
    return max(numbers, default=0) + 1


def deliver(
    letters: Sequence[Letter],
    config: MailConfig,
    root: Path,
    *,
    dry_run: bool,
    resend: bool,
    host: str | None = None,
    port: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    drafts = root / "mail" / "drafts"
    mailer = None
    if not dry_run:
        server = host or config.host
        if not server:
            raise UsageError("mail.no_host")
        if not config.sender:  # (a made-up sender is refused or filed as spam)
            raise UsageError("mail.no_sender")
        mailer = Mailer(config, server, port or config.port, sleep)
    log = None
    first = _next_draft(drafts) if dry_run else 1
    try:
        log = SendLog(root / "data" / "mail.sqlite")  # (after the checks: none left open)
        for number, letter in enumerate(letters, start=first):
            key = letter.key()
            if not resend and (letter.already_sent or log.sent(key)):
                outcomes.append(Outcome(letter, "skipped", "此前已发送"))
                continue
            msg = build_message(letter, config)
            if dry_run:
                name = safe_component(f"{number:04d}_{letter.kind}_{letter.to_name}") + ".eml"
                write_atomic(drafts / name, msg.as_bytes())
                outcomes.append(Outcome(letter, "dry-run", str(drafts / name)))
                continue
            assert mailer is not None
            try:
                mailer.send(msg)
            except (smtplib.SMTPException, OSError) as err:
                said = failure_text(err, mailer.host, mailer.port, config.security)
                told = [o.detail for o in outcomes if o.status == "failed" and o.detail != SAME]
                if told and told[-1] == said:
                    said = SAME  # (the server refused the batch alike: told once)
                outcomes.append(Outcome(letter, "failed", said))
                continue
            log.record(key, letter, str(msg["Message-ID"]))
            outcomes.append(Outcome(letter, "sent"))
    finally:
        if mailer is not None:
            mailer.close()
        if log is not None:
            log.close()
    return outcomes


def files_sent(root: Path) -> set[tuple[str, str]]:
    """(address, SHA-256) of every workbook sent from the workspace at ``root``."""
    path = root / "data" / "mail.sqlite"
    if not path.exists():
        return set()
    log = SendLog(path)
    try:
        return log.files_sent()
    finally:
        log.close()


def ensure_templates(root: Path) -> Path:
    path = root / TEMPLATES_NAME
    if not path.exists():
        write_text_atomic(path, DEFAULT_TEMPLATES)
    return path
