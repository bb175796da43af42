"""Email intake guards on a real Dovecot, through the whole runtime, on SQLite and PostgreSQL.

* a mail that cannot be stored is quarantined with its reason; the next one is answered;
* a mail failing SPF/DMARC at the office's own server never reaches a complaint;
* an auto-responder without the usual headers gets at most the hourly cap of replies,
  while a staff reply still goes out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

import channels.email.imap as imap_module
import channels.email.parse_pool as parse_pool_module
from gateway.inbox.complaint_texts import delivery_text
from gateway.outbox import REPLY_CAP_CODE, REPLY_CAP_ERROR
from gateway.queries.thread import Delivery
from gateway.runtime import Runtime
from handlers.outbox import Draft
from storage.models import Contact, Message, OutboxMessage, QuarantinedInbound
from tests.conftest import _postgres_engine
from tests.email.conftest import Mailbox, SmtpSink, live_runtime
from tests.email.memory_mailbox import LONG_TYPE, mail_date, plain, with_attachment
from tests.email.test_never_blocks import unguarded
from tests.harness.rows import count_rows, wait_until
from tests.services import POSTGRES_URL

pytestmark = pytest.mark.imap

TRUSTED = "mx.bspji.go.id"
CAP = 4


@pytest.fixture(autouse=True)
def parse_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parse on a thread of this process, so a patched ``parse_email`` is the one used."""
    monkeypatch.setattr(imap_module, "PARSE_PROCESSES", 0)


@pytest.fixture(params=["sqlite", "postgresql"])
async def live(
    request: pytest.FixtureRequest, mailbox: Mailbox, smtp_sink: SmtpSink, tmp_path: Path
) -> AsyncIterator[Runtime]:
    """The whole gateway on the test mailbox and SMTP sink, on SQLite then PostgreSQL."""
    database = f"sqlite+aiosqlite:///{tmp_path / 'guards.sqlite3'}"
    if request.param == "postgresql":
        engine = await _postgres_engine()  # a fresh schema (skips when PostgreSQL is absent)
        await engine.dispose()
        database = POSTGRES_URL
    runtime = await live_runtime(
        mailbox,
        smtp_sink,
        database,
        tmp_path,
        imap_trusted_authserv_id=TRUSTED,
        reply_cap_per_hour=CAP,
    )
    yield runtime
    await runtime.close()


async def count(runtime: Runtime, model: type, *where: object) -> int:
    return await count_rows(runtime.sessions, model, *where)


async def test_unstorable_mail_is_quarantined_and_the_next_mail_gets_its_reply(
    live: Runtime, mailbox: Mailbox, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the parser produced before its guards: a 320-character content type,
    # refused by PostgreSQL's varchar(200); SQLite ignores lengths, so there it
    # also carries a lone surrogate that no UTF-8 driver stores.
    if live.engine.dialect.name == "postgresql":
        monkeypatch.setattr(parse_pool_module, "parse_email", unguarded(lambda v: v))
    else:
        monkeypatch.setattr(parse_pool_module, "parse_email", unguarded(lambda v: v + "\udcff"))
    first = await mailbox.append(with_attachment("long-type@example.com", LONG_TYPE))
    await mailbox.append(plain("normal@example.com"))

    async def answered() -> bool:
        return len(smtp_sink.handler.envelopes) >= 1

    await wait_until(answered, timeout=20.0)
    [reply] = smtp_sink.messages()
    assert reply["In-Reply-To"] == "<normal@example.com>"
    async with live.sessions() as s:
        [kept] = list(await s.scalars(select(QuarantinedInbound)))
    assert kept.source_ref.endswith(f":{first}") and kept.channel == "email"
    assert kept.error.startswith("could not be stored: ")
    assert LONG_TYPE.encode() in kept.raw
    assert await count(live, Message, Message.external_id == "long-type@example.com") == 0


async def test_long_content_type_is_stored_and_both_mails_are_answered(
    live: Runtime, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    await mailbox.append(with_attachment("long-type@example.com", LONG_TYPE))
    await mailbox.append(plain("normal@example.com"))

    async def answered() -> bool:
        return len(smtp_sink.handler.envelopes) >= 2

    await wait_until(answered, timeout=20.0)
    assert sorted(m["In-Reply-To"] for m in smtp_sink.messages()) == [
        "<long-type@example.com>",
        "<normal@example.com>",
    ]
    assert await count(live, QuarantinedInbound) == 0


def authenticated(message_id: str, text: str, *results: str) -> bytes:
    """A mail from budi@example.com carrying ``Authentication-Results`` lines, topmost first."""
    headers = "".join(f"Authentication-Results: {r}\r\n" for r in results)
    return (
        headers + "From: Budi Santoso <budi@example.com>\r\n"
        "To: pengaduan@bspji.go.id\r\n"
        "Subject: Re: [ADU-2026-00001] Keluhan\r\n"
        f"Message-ID: <{message_id}>\r\n"
        f"Date: {mail_date()}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{text}\r\n"
    ).encode()


async def test_mail_failing_dmarc_at_our_server_never_acts_for_the_complainant(
    live: Runtime, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    forged = await mailbox.append(
        authenticated(
            "forged@attacker.example",
            "BANDING ADU-2026-00001 hasil tidak sesuai",
            f"{TRUSTED}; spf=fail smtp.mailfrom=attacker.example; dmarc=fail (p=reject)"
            " header.from=example.com",
            # Written by the sender: another authserv-id is never believed.
            "mx.example.com; spf=pass; dmarc=pass header.from=example.com",
        )
    )
    await mailbox.append(
        authenticated(
            "genuine@example.com",
            "STATUS ADU-2026-00001",
            f"{TRUSTED}; spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com;"
            " dmarc=pass header.from=example.com",
            # A forged failure claiming to be ours, below our server's own header.
            f"{TRUSTED}; dmarc=fail",
        )
    )

    async def answered() -> bool:
        return len(smtp_sink.handler.envelopes) >= 1

    await wait_until(answered, timeout=20.0)
    await asyncio.sleep(1.0)  # give a wrong reply time to appear
    assert [m["In-Reply-To"] for m in smtp_sink.messages()] == ["<genuine@example.com>"]
    async with live.sessions() as s:
        [kept] = list(await s.scalars(select(QuarantinedInbound)))
        [stored] = list(await s.scalars(select(Message).where(Message.direction == "in")))
    assert kept.source_ref.endswith(f":{forged}")
    assert kept.error == f"authentication failed at {TRUSTED}: spf=fail, dmarc=fail"
    assert stored.external_id == "genuine@example.com"
    assert stored.raw["authentication"]["results"]["dmarc"] == ["pass"]


async def test_auto_responder_gets_at_most_the_cap_of_replies_and_staff_still_reach_it(
    live: Runtime, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    robot = "noreply-robot@example.net"
    total = 30
    for i in range(total):
        # No Auto-Submitted, Precedence or List-* header: nothing marks it automatic.
        await mailbox.append(
            plain(
                f"robot-{i}@example.net", sender=robot, text="Terima kasih, email Anda kami terima."
            )
        )

    async def settled() -> bool:
        done = await count(live, OutboxMessage, OutboxMessage.status.in_(["sent", "failed"]))
        return done >= total

    await wait_until(settled, timeout=60.0)
    assert len(smtp_sink.handler.envelopes) == CAP
    assert await count(live, OutboxMessage, OutboxMessage.status == "sent") == CAP
    async with live.sessions() as s:
        held = list(await s.scalars(select(OutboxMessage).where(OutboxMessage.status == "failed")))
        contact_id = await s.scalar(select(Contact.id))
    assert len(held) == total - CAP
    assert all(r.error_code == REPLY_CAP_CODE and r.last_error == REPLY_CAP_ERROR for r in held)
    # Staff read why in the thread, Indonesian first.
    shown = delivery_text(
        "id",
        Delivery(
            status="failed",
            delivery_status=None,
            sent_as=None,
            error=held[0].last_error,
            channel="email",
            recipient=robot,
        ),
    )
    assert shown.startswith("Tidak terkirim: terlalu banyak balasan otomatis")

    # A message written by staff is never held back.
    assert contact_id is not None
    async with live.work() as session:
        await live.writer.add(
            session,
            Draft(
                channel="email",
                recipient=robot,
                text="Mohon hentikan balasan otomatis ke alamat ini.",
                contact_id=contact_id,
                automatic=False,
                sender="staff:sri",
            ),
        )

    async def staff_sent() -> bool:
        return len(smtp_sink.handler.envelopes) == CAP + 1

    await wait_until(staff_sent, timeout=20.0)
    assert smtp_sink.messages()[-1].get_content().startswith("Mohon hentikan")
