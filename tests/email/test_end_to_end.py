"""Email intake end to end: a real Dovecot mailbox, the whole runtime, an SMTP sink.

An email from Budi Santoso missing the customer name gets
one reply asking for it; answering that reply completes the complaint; the
acknowledgement carries the tracking number; the same email appended twice
gives one complaint; an out-of-office auto-reply gets no answer; a malformed
message does not stop the next one.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from gateway.runtime import Runtime, build_runtime
from storage.migrate import upgrade
from storage.models import Complaint, Message, QuarantinedInbound
from tests.email.conftest import Mailbox, SmtpSink, sample

TRACKING = re.compile(r"ADU-\d{4}-\d{5}")
WIB = ZoneInfo("Asia/Jakarta")


def mail_date(minutes_ago: float) -> str:
    """A ``Date:`` value ``minutes_ago`` before now in WIB: the tests never depend
    on today's date (a fixed date would fall outside the draft lifetime one day)."""
    moment = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return format_datetime(moment.astimezone(WIB))


def budi_mail(message_id: str = "<budi-1@example.com>") -> bytes:
    return (
        "From: Budi Santoso <budi@example.com>\r\n"
        "To: pengaduan@bspji.go.id\r\n"
        "Subject: Keluhan laporan hasil uji\r\n"
        f"Message-ID: {message_id}\r\n"
        f"Date: {mail_date(10)}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Saya mau komplain, laporan hasil uji kami terlambat dua minggu\r\n"
    ).encode()


def reply_to(ours: EmailMessage, text: str) -> bytes:
    our_id = ours["Message-ID"]
    refs = f"{ours.get('References', '')} {our_id}".strip()
    quoted = "\r\n".join(f"> {line}" for line in ours.get_content().splitlines())
    return (
        "From: Budi Santoso <budi@example.com>\r\n"
        "To: pengaduan@bspji.go.id\r\n"
        f"Subject: Re: {ours['Subject']}\r\n"
        "Message-ID: <budi-2@example.com>\r\n"
        f"In-Reply-To: {our_id}\r\n"
        f"References: {refs}\r\n"
        f"Date: {mail_date(1)}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{text}\r\n\r\n"
        f"Pada {mail_date(9)}, Layanan Pengaduan <pengaduan@bspji.go.id> menulis:\r\n"
        f"{quoted}\r\n"
    ).encode()


def received(sink: SmtpSink) -> list[EmailMessage]:
    out = []
    for envelope in sink.handler.envelopes:
        parsed = email.message_from_bytes(
            envelope.original_content or b"", policy=email.policy.default
        )
        assert isinstance(parsed, EmailMessage)
        out.append(parsed)
    return out


async def wait_for(predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.fixture
async def live(mailbox: Mailbox, smtp_sink: SmtpSink, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = mailbox.settings(
        smtp_port=smtp_sink.port,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'e2e.sqlite3'}",
        data_dir=tmp_path,
    )
    runtime = await build_runtime(settings, use_redis=False)
    await upgrade(runtime.engine)
    await runtime.start()
    yield runtime
    await runtime.close()


async def count(runtime: Runtime, model: type, *where: object) -> int:
    async with runtime.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


async def test_budi_email_conversation(
    live: Runtime, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    await mailbox.append(budi_mail())

    async def one_sent() -> bool:
        return len(smtp_sink.handler.envelopes) >= 1

    await wait_for(one_sent)
    [ask] = received(smtp_sink)
    assert ask["To"] == "budi@example.com"
    assert ask["In-Reply-To"] == "<budi-1@example.com>"
    assert ask["Auto-Submitted"] == "auto-replied"
    assert ask["Subject"] == "Re: Keluhan laporan hasil uji"
    body = ask.get_content()
    assert "Nama pelanggan/peserta" in body
    assert "Nama pengadu" not in body and "Masalah yang diadukan" not in body
    assert await count(live, Complaint) == 0

    await mailbox.append(reply_to(ask, "PT Sinar Jaya"))

    async def two_sent() -> bool:
        return len(smtp_sink.handler.envelopes) >= 2

    await wait_for(two_sent)
    ack = received(smtp_sink)[1]
    async with live.sessions() as s:
        [complaint] = list(await s.scalars(select(Complaint)))
    assert complaint.complainant_name == "Budi Santoso"
    assert complaint.customer_name == "PT Sinar Jaya"
    assert complaint.problem == "laporan hasil uji kami terlambat dua minggu"
    assert complaint.received_by == "channel:email"
    assert TRACKING.fullmatch(complaint.tracking_number)
    assert complaint.tracking_number in ack.get_content()
    assert f"[{complaint.tracking_number}]" in ack["Subject"]
    assert ack["In-Reply-To"] == "<budi-2@example.com>"

    # The same email appended again: stored once, no new complaint, no new reply.
    await mailbox.append(budi_mail())
    # An out-of-office auto-reply: stored, never answered.
    await mailbox.append(sample("auto_replied.eml"))

    async def both_stored() -> bool:
        return await count(live, Message, Message.direction == "in") >= 3

    await wait_for(both_stored)
    await asyncio.sleep(1.0)  # give a wrong reply time to appear
    assert len(smtp_sink.handler.envelopes) == 2
    assert await count(live, Complaint) == 1
    assert await count(live, Message, Message.external_id == "budi-1@example.com") == 1
    # Mail stays on the server, flags untouched.
    flags = await mailbox.flags()
    assert len(flags) == 4 and all(
        "\\Seen" not in f and "\\Deleted" not in f for f in flags.values()
    )


async def test_malformed_message_does_not_block_the_next(
    live: Runtime, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    await mailbox.append(sample("malformed_no_from.eml"))
    await mailbox.append(budi_mail("<after-junk@example.com>"))

    async def answered() -> bool:
        return len(smtp_sink.handler.envelopes) >= 1

    await wait_for(answered)
    assert received(smtp_sink)[0]["In-Reply-To"] == "<after-junk@example.com>"
    async with live.sessions() as s:
        [kept] = list(await s.scalars(select(QuarantinedInbound)))
    assert kept.channel == "email" and b"this is not an email" in kept.raw
