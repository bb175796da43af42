"""SMTP sending against an aiosmtpd sink: headers and error classification (rules 4 and 6)."""

from __future__ import annotations

import asyncio
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest

from channels.base import ChannelName, OutboundMessage
from channels.email.config import EmailConfig
from channels.email.smtp import SmtpSender, build_message, message_id_for
from channels.errors import PermanentError, TemporaryError
from gateway.channel_configs import email_config
from gateway.config import Security, Settings
from tests.email.conftest import EMAIL_FROM, SmtpSink
from tests.services import free_port


def smtp_settings(sink: SmtpSink | None = None, **overrides: Any) -> EmailConfig:
    values: dict[str, Any] = {
        "smtp_host": sink.host if sink else "127.0.0.1",
        "smtp_port": sink.port if sink else free_port(),
        "smtp_security": Security.NONE,
        "email_from": EMAIL_FROM,
    }
    values.update(overrides)
    return email_config(Settings(_env_file=None, **values))


def outbound(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "idempotency_key": "outbox-42",
        "channel": ChannelName.EMAIL,
        "recipient": "Budi.Santoso@Gmail.com",
        "text": "Terima kasih, Bapak Budi. Nomor pengaduan Anda: ADU-2026-00042.\nSalam — Layanan",
        "subject": "[ADU-2026-00042] Pengaduan Anda telah kami terima",
        "thread_refs": ("m3@mail.gmail.com", "out-2@bspji.go.id", "m1@mail.gmail.com"),
        "language": "id",
        "automatic": True,
    }
    values.update(overrides)
    return OutboundMessage(**values)


async def test_headers_threading_and_body(smtp_sink: SmtpSink) -> None:
    result = await SmtpSender(smtp_settings(smtp_sink)).send(outbound())
    assert result.provider_id == "outbox-42@bspji.go.id"
    envelope = smtp_sink.handler.envelopes[0]
    assert envelope.mail_from == "pengaduan@bspji.go.id"
    assert envelope.rcpt_tos == ["budi.santoso@gmail.com"]
    msg = smtp_sink.messages()[-1]
    assert str(msg["From"]) == "Layanan Pengaduan <pengaduan@bspji.go.id>"
    assert str(msg["To"]) == "budi.santoso@gmail.com"
    assert str(msg["Subject"]) == "[ADU-2026-00042] Pengaduan Anda telah kami terima"
    assert str(msg["Message-ID"]) == "<outbox-42@bspji.go.id>"
    assert str(msg["In-Reply-To"]) == "<m3@mail.gmail.com>"
    assert str(msg["References"]) == ("<m1@mail.gmail.com> <out-2@bspji.go.id> <m3@mail.gmail.com>")
    assert str(msg["Auto-Submitted"]) == "auto-replied"
    assert msg["Date"] is not None and msg["Date"].datetime is not None
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content().replace("\r\n", "\n").rstrip("\n") == outbound().text


async def test_message_id_is_stable_across_retries(smtp_sink: SmtpSink) -> None:
    sender = SmtpSender(smtp_settings(smtp_sink))
    first = await sender.send(outbound())
    second = await sender.send(outbound())
    assert first.provider_id == second.provider_id == message_id_for("outbox-42", EMAIL_FROM)
    assert smtp_sink.messages()[0]["Message-ID"] == smtp_sink.messages()[1]["Message-ID"]


async def test_person_message_without_subject_or_thread(smtp_sink: SmtpSink) -> None:
    await SmtpSender(smtp_settings(smtp_sink)).send(
        outbound(automatic=False, subject=None, thread_refs=(), language="en")
    )
    msg = smtp_sink.messages()[-1]
    assert msg["Auto-Submitted"] is None
    assert msg["In-Reply-To"] is None and msg["References"] is None
    assert str(msg["Subject"]) == "About your complaint"


async def test_login_when_user_is_set(smtp_sink: SmtpSink) -> None:
    settings = smtp_settings(smtp_sink, smtp_user="kantor", smtp_password="smtp-secret")
    await SmtpSender(settings).send(outbound())
    assert smtp_sink.handler.logins == [("kantor", "smtp-secret")]
    assert len(smtp_sink.handler.envelopes) == 1


async def test_rejected_login_is_permanent(smtp_sink: SmtpSink) -> None:
    settings = smtp_settings(smtp_sink, smtp_user="kantor", smtp_password="salah")
    with pytest.raises(PermanentError) as info:
        await SmtpSender(settings).send(outbound())
    assert info.value.code == 535
    assert "salah" not in str(info.value)


@pytest.mark.parametrize(
    ("stage", "reply", "error", "code"),
    [
        ("rcpt", "450 4.2.0 Greylisted, try again later", TemporaryError, 450),
        ("rcpt", "550 5.1.1 User unknown", PermanentError, 550),
        ("data", "451 4.3.0 Local error in processing", TemporaryError, 451),
        ("data", "554 5.7.1 Message rejected as spam", PermanentError, 554),
    ],
)
async def test_error_classification(
    smtp_sink: SmtpSink, stage: str, reply: str, error: type[Exception], code: int
) -> None:
    setattr(smtp_sink.handler, f"{stage}_reply", reply)
    with pytest.raises(error) as info:
        await SmtpSender(smtp_settings(smtp_sink)).send(outbound())
    assert type(info.value) is error
    assert getattr(info.value, "code", None) == code
    assert smtp_sink.handler.envelopes == []


async def test_connection_refused_is_temporary() -> None:
    with pytest.raises(TemporaryError) as info:
        await SmtpSender(smtp_settings()).send(outbound())
    assert info.value.code == "connection"


async def test_silent_server_times_out_as_temporary() -> None:
    writers: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)  # never greets

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(TemporaryError) as info:
            await SmtpSender(smtp_settings(smtp_port=port), timeout=0.3).send(outbound())
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()
    assert info.value.code == "timeout"


async def test_invalid_recipient_is_permanent_without_connecting() -> None:
    with pytest.raises(PermanentError):
        await SmtpSender(smtp_settings()).send(outbound(recipient="bukan alamat"))


async def test_unconfigured_smtp_is_temporary() -> None:
    settings = Settings(_env_file=None, email_from=EMAIL_FROM)
    with pytest.raises(TemporaryError) as info:
        await SmtpSender(email_config(settings)).send(outbound())
    assert info.value.code == "config"


def test_message_id_for() -> None:
    assert message_id_for("outbox-42", "pengaduan@bspji.go.id") == "outbox-42@bspji.go.id"
    assert message_id_for("outbox-42", EMAIL_FROM) == "outbox-42@bspji.go.id"
    # Characters outside RFC 5322 atext are percent-encoded, so ids stay valid and distinct.
    assert message_id_for("out 1:x.y%", "a@B.Example") == "out%201%3Ax%2Ey%25@b.example"
    assert message_id_for("a b", "a@b.id") != message_id_for("a%20b", "a@b.id")


def test_build_message_headers_are_single_line() -> None:
    msg = build_message(outbound(subject="Baris satu\r\nBcc: penyusup@example.id"), EMAIL_FROM)
    assert str(msg["Subject"]) == "Baris satu Bcc: penyusup@example.id"
    assert msg["Bcc"] is None
    assert str(msg["Content-Language"]) == "id"


async def test_connections_are_reused(smtp_sink: SmtpSink) -> None:
    sender = SmtpSender(smtp_settings(smtp_sink), pool_size=2)
    for n in range(5):
        await sender.send(outbound(idempotency_key=f"outbox-{n}"))
    assert len(smtp_sink.handler.envelopes) == 5
    assert smtp_sink.handler.ehlos == 1  # one connection, one greeting, five messages
    await asyncio.gather(*(sender.send(outbound(idempotency_key=f"par-{n}")) for n in range(6)))
    assert len(smtp_sink.handler.envelopes) == 11
    assert smtp_sink.handler.ehlos <= 2  # never more connections than the pool holds
    await sender.close()


async def test_idle_connection_is_closed(smtp_sink: SmtpSink) -> None:
    sender = SmtpSender(smtp_settings(smtp_sink), idle_seconds=0.05)
    await sender.send(outbound())
    assert sender._pool.idle_count == 1
    await asyncio.sleep(0.3)
    assert sender._pool.idle_count == 0
    await sender.send(outbound(idempotency_key="outbox-43"))  # a new connection
    assert smtp_sink.handler.ehlos == 2
    await sender.close()


async def test_a_restarted_server_gets_a_new_connection() -> None:
    from aiosmtpd.controller import Controller

    from tests.email.conftest import SinkHandler

    port = free_port()
    handler = SinkHandler()
    first = Controller(handler, hostname="127.0.0.1", port=port)
    first.start()
    sink = SmtpSink("127.0.0.1", port, handler)
    sender = SmtpSender(smtp_settings(sink))
    try:
        await sender.send(outbound())
        first.stop()  # drops the pooled connection
        second = Controller(handler, hostname="127.0.0.1", port=port)
        second.start()
        try:
            await sender.send(outbound(idempotency_key="outbox-43"))
        finally:
            second.stop()
    finally:
        await sender.close()
    assert [e.mail_from for e in handler.envelopes] == ["pengaduan@bspji.go.id"] * 2
    assert handler.ehlos == 2


def _round_trip(message: Any) -> EmailMessage:
    """Flatten ``message`` as aiosmtplib does (CRLF) and parse it back like a mail client."""
    from email.generator import BytesGenerator
    from io import BytesIO

    out = BytesIO()
    BytesGenerator(out, policy=message.policy.clone(linesep="\r\n")).flatten(message)
    raw = out.getvalue()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    assert not parsed.defects
    return parsed


def test_build_message_round_trips_non_ascii_and_long_values() -> None:
    text = "Terima kasih — nomor Anda ADU-2026-00042. Ñandú café.\n" + "panjang " * 200
    refs = tuple(f"m{n}.{'x' * 30}@mail.gmail.com" for n in range(12))
    msg = build_message(
        outbound(subject="Pengaduan — “jalan rusak” di Kec. Cibinong", text=text, thread_refs=refs),
        "Layanan Pengaduan Kabupatén <pengaduan@bspji.go.id>",
    )
    parsed = _round_trip(msg)
    assert parsed["Subject"] == "Pengaduan — “jalan rusak” di Kec. Cibinong"
    assert parsed["From"].addresses[0].display_name == "Layanan Pengaduan Kabupatén"
    assert parsed["From"].addresses[0].addr_spec == "pengaduan@bspji.go.id"
    assert parsed["In-Reply-To"] == f"<{refs[0]}>"
    assert parsed["References"].split() == [f"<{r}>" for r in reversed(refs)]
    assert parsed["Content-Transfer-Encoding"] == "quoted-printable"
    body = parsed.get_body()
    assert body is not None
    assert body.get_content().replace("\r\n", "\n").rstrip("\n") == text.rstrip("\n")


def test_build_message_plain_ascii_stays_readable_and_drops_bad_references() -> None:
    msg = build_message(
        outbound(
            text="Terima kasih. Nomor pengaduan Anda: ADU-2026-00042.",
            thread_refs=("ok@mail.gmail.com", "bad ref\r\nBcc: x@example.id"),
        ),
        EMAIL_FROM,
    )
    parsed = _round_trip(msg)
    assert parsed["Content-Transfer-Encoding"] == "7bit"
    assert parsed["Bcc"] is None
    assert parsed["References"] == "<ok@mail.gmail.com>"
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["Message-ID"] == "<outbox-42@bspji.go.id>"
