"""Email intake end to end: a real Dovecot mailbox, the whole runtime, an SMTP sink.

An email from Budi Santoso missing the customer name gets
one reply asking for it; answering that reply completes the complaint; the
acknowledgement carries the tracking number; the same email appended twice
gives one complaint; an out-of-office auto-reply gets no answer; a malformed
message does not stop the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.runtime import Runtime
from storage.models import Complaint, Message, QuarantinedInbound
from tests.email.conftest import (
    EmailCitizen,
    Mailbox,
    SmtpSink,
    budi_mail,
    live_runtime,
    sample,
)
from tests.harness.conversation import Conversation, registered
from tests.harness.conversations import BUDI_BY_EMAIL, BUDI_BY_EMAIL_FIELDS
from tests.harness.rows import count_rows, wait_until


@pytest.fixture
async def live(mailbox: Mailbox, smtp_sink: SmtpSink, tmp_path: Path) -> AsyncIterator[Runtime]:
    runtime = await live_runtime(
        mailbox, smtp_sink, f"sqlite+aiosqlite:///{tmp_path / 'e2e.sqlite3'}", tmp_path
    )
    yield runtime
    await runtime.close()


async def test_budi_email_conversation(
    live: Runtime, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    budi = EmailCitizen(live, mailbox, smtp_sink)
    conversation = Conversation(budi)
    ask_row, answer_row = BUDI_BY_EMAIL
    await conversation.turn(ask_row)
    [ask] = budi.mails()
    assert ask["To"] == "budi@example.com"
    assert ask["In-Reply-To"] == "<budi-1@example.com>"
    assert ask["Auto-Submitted"] == "auto-replied"
    assert ask["Subject"] == "Re: Keluhan laporan hasil uji"
    assert await count_rows(live.sessions, Complaint) == 0

    await conversation.turn(answer_row)
    ack = budi.mails()[1]
    complaint = await registered(
        live.sessions, conversation, "budi@example.com", BUDI_BY_EMAIL_FIELDS
    )
    assert complaint.received_by == "channel:email"
    assert f"[{complaint.tracking_number}]" in ack["Subject"]
    assert ack["In-Reply-To"] == "<budi-2@example.com>"

    # The same email appended again: stored once, no new complaint, no new reply.
    await mailbox.append(budi_mail())
    # An out-of-office auto-reply: stored, never answered.
    await mailbox.append(sample("auto_replied.eml"))

    async def both_stored() -> bool:
        return await count_rows(live.sessions, Message, Message.direction == "in") >= 3

    await wait_until(both_stored)
    await asyncio.sleep(1.0)  # give a wrong reply time to appear
    assert len(smtp_sink.handler.envelopes) == 2
    assert await count_rows(live.sessions, Complaint) == 1
    assert (
        await count_rows(live.sessions, Message, Message.external_id == "budi-1@example.com") == 1
    )
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

    await wait_until(answered)
    assert smtp_sink.messages()[0]["In-Reply-To"] == "<after-junk@example.com>"
    async with live.sessions() as s:
        [kept] = list(await s.scalars(select(QuarantinedInbound)))
    assert kept.channel == "email" and b"this is not an email" in kept.raw
