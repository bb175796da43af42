"""SIGKILL right after a message is acknowledged loses nothing, and the reply goes once.

A real ``aduan serve`` process on the embedded default (SQLite, in-process
jobs), a real Dovecot mailbox and an SMTP sink.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from channels.api import SIGNATURE_HEADER, sign
from tests.email.conftest import (
    EMAIL_FROM,
    IMAP_PASSWORD,
    IMAP_USER,
    Mailbox,
    SmtpSink,
    budi_mail,
    free_port,
)

SECRET = "crash-test-secret"
ADUAN = str(Path(sys.executable).with_name("aduan"))


class Server:
    def __init__(self, env: dict[str, str], port: int, data: Path) -> None:
        self.env, self.port, self.data = env, port, data
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [ADUAN, "serve"], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/healthz", timeout=1
                ) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("server did not start: " + self.stop())

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> str:
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        self.proc = None
        return err

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.data / "aduan.sqlite3", timeout=10) as db:
            return db.execute(sql).fetchall()


@pytest.fixture
def server(mailbox: Mailbox, smtp_sink: SmtpSink, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ADUAN_DATA_DIR": str(tmp_path),
        "ADUAN_HTTP_PORT": str(port),
        "ADUAN_WEBHOOK_SECRET": SECRET,
        "ADUAN_IMAP_HOST": mailbox.server.host,
        "ADUAN_IMAP_PORT": str(mailbox.server.port),
        "ADUAN_IMAP_USER": IMAP_USER,
        "ADUAN_IMAP_PASSWORD": IMAP_PASSWORD,
        "ADUAN_IMAP_SECURITY": "none",
        "ADUAN_IMAP_MAILBOX": mailbox.name,
        "ADUAN_IMAP_POLL_SECONDS": "0.2",
        "ADUAN_SMTP_HOST": smtp_sink.host,
        "ADUAN_SMTP_PORT": str(smtp_sink.port),
        "ADUAN_SMTP_SECURITY": "none",
        "ADUAN_EMAIL_FROM": EMAIL_FROM,
    }
    subprocess.run([ADUAN, "db", "upgrade"], env=env, check=True, capture_output=True)
    srv = Server(env, port, tmp_path)
    yield srv
    srv.stop()


def wait(predicate, timeout: float = 20.0, step: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(step)
    raise AssertionError("condition not reached in time")


def post(port: int, payload: dict[str, object]) -> dict[str, object]:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/api",
        data=body,
        headers={SIGNATURE_HEADER: sign(SECRET, body), "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        result: dict[str, object] = json.loads(response.read())
        return result


def test_kill_right_after_webhook_ack(server: Server, smtp_sink: SmtpSink) -> None:
    server.start()
    answer = post(
        server.port,
        {
            "id": "portal-77",
            "from": {"email": "siti@example.com", "name": "Siti Aminah"},
            "text": "Sertifikat produk kami belum terbit padahal sudah lewat tiga minggu",
            "fields": {"customer_name": "Koperasi Tani Makmur"},
        },
    )
    server.kill()  # acknowledged: the message must survive whatever happened next
    assert answer["duplicate"] is False
    assert server.query("select count(*) from messages where direction = 'in'") == [(1,)]

    server.start()
    wait(lambda: len(smtp_sink.handler.envelopes) >= 1)
    wait(lambda: server.query("select count(*) from outbox where status != 'sent'") == [(0,)])
    time.sleep(1.0)  # a second send would show up now
    assert len(smtp_sink.handler.envelopes) == 1
    [(tracking, name)] = server.query("select tracking_number, complainant_name from complaints")
    assert name == "Siti Aminah"
    assert str(tracking).encode() in (smtp_sink.handler.envelopes[0].original_content or b"")


async def test_kill_right_after_mail_is_stored(
    server: Server, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    # Blocking waits below are fine: the SMTP sink and the server run elsewhere.
    server.start()
    await mailbox.append(budi_mail("<kill-me@example.com>"))
    wait(
        lambda: (
            server.query("select count(*) from messages where external_id = 'kill-me@example.com'")
            == [(1,)]
        ),
        step=0.002,  # kill as soon as the poller has committed the message
    )
    server.kill()

    server.start()
    wait(lambda: len(smtp_sink.handler.envelopes) >= 1)
    wait(lambda: server.query("select count(*) from outbox where status != 'sent'") == [(0,)])
    time.sleep(1.5)  # the poller has run several rounds since the restart
    assert len(smtp_sink.handler.envelopes) == 1
    assert server.query("select count(*) from messages where direction = 'in'") == [(1,)]
