"""Fixtures for the email channel: a real Dovecot IMAP server and an aiosmtpd SMTP sink.

Dovecot is Debian's
``/usr/sbin/dovecot`` with its own config in a temporary directory, IMAP only,
on free high ports (plain/STARTTLS and implicit TLS with a throw-away
self-signed certificate), maildir, a passwd-file with a PLAIN password. Each
test gets its own mailbox on it. Absent Dovecot skips the IMAP tests (fails
them with ``ADUAN_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aioimaplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from sqlalchemy.exc import OperationalError

from channels.base import InboundMessage
from gateway.config import Security, Settings
from gateway.runtime import Runtime, build_runtime
from storage.migrate import upgrade
from storage.models import Message
from tests.harness.conversation import settle
from tests.harness.payloads import Payloads
from tests.harness.rows import count_rows, wait_until
from tests.services import free_port, self_signed, unavailable

DATA = Path(__file__).parent / "data"
DOVECOT = "/usr/sbin/dovecot"
IMAP_USER = "pengaduan@bspji.test"
IMAP_PASSWORD = 'rahasia "imap" s3cret'
EMAIL_FROM = "Layanan Pengaduan <pengaduan@bspji.go.id>"


PAYLOADS = Payloads(DATA)


def sample(name: str) -> bytes:
    """A recorded message from tests/email/data, with CRLF line endings (as IMAP stores it)."""
    return crlf(PAYLOADS.raw(name))


def crlf(raw: bytes) -> bytes:
    """``raw`` with every line ending turned into CRLF."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


# -- Dovecot -----------------------------------------------------------------------


@dataclass(frozen=True)
class DovecotServer:
    """A running Dovecot: ``port`` plain IMAP (STARTTLS offered when ``cafile``), ``ssl_port``
    implicit TLS; ``cafile`` the self-signed certificate to trust (None: no TLS)."""

    host: str
    port: int
    ssl_port: int | None
    cafile: Path | None
    root: Path

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting the server's self-signed certificate."""
        assert self.cafile is not None
        return ssl.create_default_context(cafile=str(self.cafile))


def _dovecot_config(root: Path, port: int, ssl_port: int, tls: tuple[Path, Path] | None) -> str:
    if os.geteuid() == 0:
        login_user, internal_user, internal_group, mail_user = (
            "dovenull",
            "dovecot",
            "dovecot",
            "dovecot",
        )
    else:  # unprivileged: everything runs as the current user
        me = pwd.getpwuid(os.geteuid()).pw_name
        login_user = internal_user = internal_group = mail_user = me
    ssl_lines = "ssl = no\n"
    ssl_listener = ""
    if tls is not None:
        ssl_lines = f"ssl = yes\nssl_cert = <{tls[0]}\nssl_key = <{tls[1]}\n"
        ssl_listener = f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {ssl_port}\n    ssl = yes\n  }}\n"
    return f"""# aduan test server (tests/email/conftest.py)
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
{ssl_lines}disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
first_valid_uid = 1
mailbox_idle_check_interval = 1 secs
# Failed logins are expected in tests: no delay, no per-IP penalty for localhost.
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
{ssl_listener}}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={internal_group if os.geteuid() == 0 else mail_user} home={root}/mail/%u
}}
"""


def _wait_for_greeting(port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def _stop_dovecot(config: Path) -> None:
    subprocess.run(
        [DOVECOT, "-c", str(config), "stop"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=30,
    )


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """A Dovecot IMAP server for the whole test session (stopped at the end)."""
    if not os.path.exists(DOVECOT):
        unavailable("Dovecot IMAP", f"{DOVECOT} not found (apt-get install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="aduan-dovecot-"))
    root.chmod(0o755)  # the mail processes run as the dovecot user
    (root / "mail").mkdir()
    (root / "users").write_text(f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}\n")
    if os.geteuid() == 0:
        shutil.chown(root / "mail", "dovecot", "dovecot")
    tls = self_signed(root, dns="localhost")
    port, ssl_port = free_port(), free_port()
    config = root / "dovecot.conf"
    config.write_text(_dovecot_config(root, port, ssl_port, tls))
    # The daemon keeps inherited descriptors open: never capture its output with pipes.
    with (root / "start.log").open("wb") as out:
        started = subprocess.run(
            [DOVECOT, "-c", str(config)],
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            check=False,
            timeout=30,
        )
    if started.returncode != 0 or not _wait_for_greeting(port, time.monotonic() + 15):
        logs = " ".join(
            (root / name).read_text(errors="replace")[-800:]
            for name in ("start.log", "dovecot.log")
            if (root / name).exists()
        )
        _stop_dovecot(config)
        shutil.rmtree(root, ignore_errors=True)
        unavailable("Dovecot IMAP", f"did not start (exit {started.returncode}): {logs}")
    try:
        yield DovecotServer(
            host="127.0.0.1",
            port=port,
            ssl_port=ssl_port if tls else None,
            cafile=tls[0] if tls else None,
            root=root,
        )
    finally:
        _stop_dovecot(config)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                time.sleep(0.05)
            except OSError:
                break
        shutil.rmtree(root, ignore_errors=True)


class Mailbox:
    """A fresh mailbox on the test Dovecot, with an admin connection to fill and inspect it."""

    def __init__(self, server: DovecotServer, name: str, client: aioimaplib.IMAP4) -> None:
        self.server = server
        self.name = name
        self._client = client

    def settings(self, **overrides: Any) -> Settings:
        """Settings pointing the email channel at this mailbox (plain IMAP unless overridden)."""
        values: dict[str, Any] = {
            "imap_host": self.server.host,
            "imap_port": self.server.port,
            "imap_user": IMAP_USER,
            "imap_password": IMAP_PASSWORD,
            "imap_security": Security.NONE,
            "imap_mailbox": self.name,
            "imap_poll_seconds": 0.2,
            "email_from": EMAIL_FROM,
            "attachment_max_bytes": 5000,
            "smtp_host": "127.0.0.1",
            "smtp_port": 1,
            "smtp_security": Security.NONE,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    async def append(self, raw: bytes, flags: str | None = None) -> int:
        """APPEND ``raw`` (CRLF-normalised); returns its UID."""
        response = await self._client.append(crlf(raw), mailbox=self.name, flags=flags)
        assert response.result == "OK", response
        text = b" ".join(x for x in response.lines if isinstance(x, bytes))
        return int(text.split(b"APPENDUID ")[1].split()[1].rstrip(b"]"))

    async def flags(self) -> dict[int, set[str]]:
        """UID → flags of every message (read-only: EXAMINE, FETCH FLAGS)."""
        client = self._client
        response = await client.examine(f'"{self.name}"')
        assert response.result == "OK", response
        client.protocol.state = aioimaplib.SELECTED
        response = await client.uid("fetch", "1:*", "(UID FLAGS)")
        found: dict[int, set[str]] = {}
        for line in response.lines:
            if isinstance(line, bytes) and b"FETCH" in line:
                uid = int(line.split(b"UID ")[1].split()[0].rstrip(b")"))
                inner = line.split(b"FLAGS (")[1].split(b")")[0].decode()
                found[uid] = {f for f in inner.split() if f != "\\Recent"}
        await client.close()  # read-only: CLOSE expunges nothing
        return found

    async def recreate(self) -> None:
        """DELETE and CREATE the mailbox again: the server gives it a new UIDVALIDITY."""
        for command in ("DELETE", "CREATE"):
            response = await self._client.protocol.simple_command(command, f'"{self.name}"')
            assert response.result == "OK", response

    async def uidvalidity(self) -> int:
        """The mailbox's current UIDVALIDITY (STATUS)."""
        response = await self._client.status(f'"{self.name}"', "(UIDVALIDITY)")
        text = b" ".join(x for x in response.lines if isinstance(x, bytes))
        return int(text.split(b"UIDVALIDITY ")[1].split(b")")[0])


@pytest.fixture
async def mailbox(dovecot: DovecotServer) -> AsyncIterator[Mailbox]:
    """An empty mailbox of its own for one test."""
    client = aioimaplib.IMAP4(host=dovecot.host, port=dovecot.port, timeout=10)
    await client.wait_hello_from_server()
    response = await client.login(IMAP_USER, IMAP_PASSWORD)
    assert response.result == "OK", response
    name = f"T{uuid.uuid4().hex[:10]}"
    response = await client.protocol.simple_command("CREATE", f'"{name}"')
    assert response.result == "OK", response
    try:
        yield Mailbox(dovecot, name, client)
    finally:
        try:
            await asyncio.wait_for(client.logout(), 5)
        except Exception:  # the server may be gone already
            pass
        if client.protocol.transport is not None:
            client.protocol.transport.close()  # do not wait for the server's EOF


@dataclass
class RecordingAccept:
    """A fake ``accept``: records messages; for external ids in ``fail_ids`` raises what a
    lost database connection raises (a transient failure, retried)."""

    calls: list[InboundMessage] = field(default_factory=list)
    fail_ids: set[str] = field(default_factory=set)
    event: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, message: InboundMessage) -> object:
        if message.external_id in self.fail_ids:
            raise OperationalError(
                "INSERT INTO messages", None, ConnectionRefusedError("database unavailable")
            )
        self.calls.append(message)
        self.event.set()
        return None

    @property
    def ids(self) -> list[str]:
        """External ids accepted so far, in order."""
        return [m.external_id for m in self.calls]


@pytest.fixture
def recording_accept() -> RecordingAccept:
    """A fresh :class:`RecordingAccept`."""
    return RecordingAccept()


# -- SMTP sink ---------------------------------------------------------------------


@dataclass
class SinkHandler:
    """aiosmtpd handler that records envelopes; ``rcpt_reply``/``data_reply`` force an answer."""

    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    ehlos: int = 0
    rcpt_reply: str | None = None
    data_reply: str | None = None

    async def handle_EHLO(  # aiosmtpd hook name
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.ehlos += 1  # one per connection (and per STARTTLS)
        session.host_name = hostname
        return responses

    async def handle_RCPT(  # aiosmtpd hook name
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # aiosmtpd hook name
        self, server: SMTPServer, session: Session, envelope: Envelope
    ) -> str:
        if self.data_reply:
            return self.data_reply
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@dataclass
class SmtpSink:
    """A running sink: where it listens and what it received."""

    host: str
    port: int
    handler: SinkHandler

    def messages(self) -> list[EmailMessage]:
        """Every message received, parsed, in order."""
        out = []
        for envelope in self.handler.envelopes:
            assert isinstance(envelope.original_content, bytes)
            parsed = email.message_from_bytes(
                envelope.original_content, policy=email.policy.default
            )
            assert isinstance(parsed, EmailMessage)
            out.append(parsed)
        return out


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """An aiosmtpd server on a free port (AUTH allowed without TLS) recording what it gets."""
    handler = SinkHandler()

    def authenticator(
        server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        handler.logins.append((login, password))
        # handled=False: aiosmtpd itself answers 535 on failure.
        return AuthResult(success=password == "smtp-secret", handled=False)

    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield SmtpSink("127.0.0.1", port, handler)
    finally:
        controller.stop()


async def live_runtime(
    mailbox: Mailbox, smtp_sink: SmtpSink, database_url: str, data_dir: Path, **settings: Any
) -> Runtime:
    """The whole gateway, started, on ``mailbox`` and ``smtp_sink`` (close it after)."""
    runtime = await build_runtime(
        mailbox.settings(
            smtp_port=smtp_sink.port, database_url=database_url, data_dir=data_dir, **settings
        ),
        use_redis=False,
    )
    await upgrade(runtime.engine)
    await runtime.start()
    return runtime


WIB = ZoneInfo("Asia/Jakarta")


def mail_date(minutes_ago: float) -> str:
    """A ``Date:`` value ``minutes_ago`` before now in WIB: the tests never depend
    on today's date (a fixed date would fall outside the draft lifetime one day)."""
    moment = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return format_datetime(moment.astimezone(WIB))


BUDI = "Budi Santoso <budi@example.com>"
BUDI_SUBJECT = "Keluhan laporan hasil uji"
BUDI_TEXT = "Saya mau komplain, laporan hasil uji kami terlambat dua minggu"


def budi_mail(message_id: str = "<budi-1@example.com>", text: str = BUDI_TEXT) -> bytes:
    """A new mail from Budi Santoso to the office."""
    return (
        f"From: {BUDI}\r\n"
        "To: pengaduan@bspji.go.id\r\n"
        f"Subject: {BUDI_SUBJECT}\r\n"
        f"Message-ID: {message_id}\r\n"
        f"Date: {mail_date(10)}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{text}\r\n"
    ).encode()


def reply_to(ours: EmailMessage, text: str, message_id: str = "<budi-2@example.com>") -> bytes:
    """Budi's answer to ``ours``, threaded and quoting it below, as mail clients write."""
    our_id = ours["Message-ID"]
    refs = f"{ours.get('References', '')} {our_id}".strip()
    quoted = "\r\n".join(f"> {line}" for line in ours.get_content().splitlines())
    return (
        f"From: {BUDI}\r\n"
        "To: pengaduan@bspji.go.id\r\n"
        f"Subject: Re: {ours['Subject']}\r\n"
        f"Message-ID: {message_id}\r\n"
        f"In-Reply-To: {our_id}\r\n"
        f"References: {refs}\r\n"
        f"Date: {mail_date(1)}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{text}\r\n\r\n"
        f"Pada {mail_date(9)}, Layanan Pengaduan <pengaduan@bspji.go.id> menulis:\r\n"
        f"{quoted}\r\n"
    ).encode()


@dataclass
class EmailCitizen:
    """Budi writing to the office: the first message a new mail (``<budi-1@…>``), each
    next one a reply to the office's last mail (``<budi-2@…>``, …); each reply of
    the office is the text of a mail the SMTP sink received for him."""

    runtime: Runtime
    mailbox: Mailbox
    sink: SmtpSink
    address: str = "budi@example.com"
    said: int = 0
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    async def say(self, text: str) -> None:
        message_id = f"<budi-{next(self._ids)}@example.com>"
        ours = self.mails()
        mail = reply_to(ours[-1], text, message_id) if ours else budi_mail(message_id, text)
        await self.mailbox.append(mail)
        self.said += 1

    def mails(self) -> list[EmailMessage]:
        """The office's mails to Budi, in order."""
        return [m for m in self.sink.messages() if m["To"] == self.address]

    def received(self) -> list[str]:
        return [m.get_content() for m in self.mails()]

    async def settle(self) -> None:
        async def stored() -> bool:
            inbound = await count_rows(self.runtime.sessions, Message, Message.direction == "in")
            return inbound >= self.said

        await wait_until(stored)
        await settle(self.runtime)
