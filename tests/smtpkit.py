"""A real SMTP server on loopback for the mail tests: aiosmtpd, started by the test.

``Servers.start(...)`` runs an aiosmtpd ``Controller`` on 127.0.0.1 (a free port) whose
handler keeps every message it accepted, exactly as received on the wire. Variants:

- ``security="none"``: plain SMTP; ``"starttls"``: STARTTLS offered and required before
  MAIL; ``"ssl"``: TLS from the first byte (SMTPS). Both TLS variants use a self-signed
  certificate made at test time (``make_certificate``); the client trusts it through
  ``SSL_CERT_FILE`` (``trust``), so the package's default certificate checks stay on.
- ``users={"name": "password"}``: AUTH (PLAIN and LOGIN) required, checked by an
  authenticator that records every attempt;
- ``Recorder(fail_data=N)``: answer the first N DATA commands with a temporary 451, then
  accept; ``fail_rcpt=N`` the same at RCPT; ``reject={"addr": "550 ..."}``: refuse that
  recipient for good.

Every server is stopped by ``Servers.stop_all``, which the test fixtures register as a
finalizer.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"
OK = "250 2.0.0 OK"
TEMPORARY = "451 4.3.0 Temporary failure, try again later"
PERMANENT = "550 5.1.1 Mailbox unavailable"


@dataclass(frozen=True)
class Received:
    """One message the server accepted, as it came over the wire."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def header_block(self) -> bytes:
        return self.data.split(b"\r\n\r\n", 1)[0]


@dataclass
class Recorder:
    """The aiosmtpd handler: accepts (or refuses, as told) and keeps what it accepted."""

    fail_data: int = 0
    fail_rcpt: int = 0
    reject: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    data_attempts: int = 0
    rcpt_attempts: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        with self.lock:
            self.rcpt_attempts.append(address)
            if address in self.reject:
                return self.reject[address]
            if self.fail_rcpt > 0:
                self.fail_rcpt -= 1
                return TEMPORARY
        envelope.rcpt_tos.append(address)
        return OK

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.data_attempts += 1
            if self.fail_data > 0:
                self.fail_data -= 1
                return TEMPORARY
            transport = server.transport
            tls = transport is not None and transport.get_extra_info("ssl_object") is not None
            auth = session.auth_data
            self.received.append(
                Received(
                    mail_from=envelope.mail_from,
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=bytes(envelope.original_content),
                    tls=tls or session.ssl is not None,
                    login=auth.login.decode() if isinstance(auth, LoginPassword) else None,
                )
            )
        return OK


@dataclass
class AuthAttempt:
    mechanism: str
    login: str
    password: str
    success: bool
    tls: bool


@dataclass
class Authenticator:
    """Checks the login against ``users`` and records every attempt."""

    users: dict[str, str]
    attempts: list[AuthAttempt] = field(default_factory=list)

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        ok = self.users.get(login) == password
        tls = server.transport is not None and (
            server.transport.get_extra_info("ssl_object") is not None or session.ssl is not None
        )
        self.attempts.append(AuthAttempt(mechanism, login, password, ok, tls))
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificate(folder: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost (SAN), made now.

    Uses ``cryptography`` when installed, else ``openssl req``; skips the test if neither
    is available.
    """
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        _with_cryptography(cert, key)
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("neither the cryptography package nor openssl is available for TLS")
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )
    return Certificate(cert, key)


def _with_cryptography(cert_path: Path, key_path: Path) -> None:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xlsxflow test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def trust(monkeypatch: pytest.MonkeyPatch, certificate: Certificate) -> None:
    """Make ``ssl.create_default_context()`` (used by the package) trust our certificate."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    controller: Controller
    handler: Recorder
    port: int
    security: str
    authenticator: Authenticator | None = None
    host: str = HOST

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def auth_attempts(self) -> list[AuthAttempt]:
        return list(self.authenticator.attempts) if self.authenticator else []

    def stop(self) -> None:
        self.controller.stop()


class Servers:
    """Starts servers for one test and stops them all at the end."""

    def __init__(self) -> None:
        self.running: list[Server] = []

    def start(
        self,
        handler: Recorder | None = None,
        *,
        security: str = "none",
        certificate: Certificate | None = None,
        users: dict[str, str] | None = None,
        mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN"),
    ) -> Server:
        handler = handler or Recorder()
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": False, "decode_data": False}
        if security != "none":
            assert certificate is not None, "TLS variants need a certificate"
        if security == "starttls":
            assert certificate is not None
            kwargs.update(tls_context=certificate.server_context(), require_starttls=True)
        authenticator = None
        if users is not None:
            authenticator = Authenticator(dict(users))
            kwargs.update(
                authenticator=authenticator,
                auth_required=True,
                # Plain-text AUTH only for the unencrypted test variant.
                auth_require_tls=security == "starttls",
                auth_exclude_mechanism=[m for m in ("PLAIN", "LOGIN") if m not in mechanisms],
            )
        ssl_context = certificate.server_context() if security == "ssl" and certificate else None
        last: Exception | None = None
        for _ in range(5):
            port = free_port()
            controller = Controller(
                handler, hostname=HOST, port=port, ssl_context=ssl_context, **kwargs
            )
            try:
                controller.start()
            except (OSError, RuntimeError) as err:  # the free port was taken meanwhile
                last = err
                continue
            server = Server(controller, handler, port, security, authenticator)
            self.running.append(server)
            return server
        raise RuntimeError(f"could not start the SMTP test server: {last}")

    def stop_all(self) -> None:
        while self.running:
            self.running.pop().stop()


def attachments(msg: EmailMessage) -> dict[str, bytes]:
    """Attachment file name (decoded) → payload bytes, in message order."""
    found: dict[str, bytes] = {}
    for part in msg.iter_attachments():
        name = part.get_filename()
        assert name is not None
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found[name] = payload
    return found


def body_text(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert isinstance(text, str)
    return text.replace("\r\n", "\n")  # an 8bit body keeps the wire's CRLFs
