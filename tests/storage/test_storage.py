"""Storage behaviour that must hold on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from channels.base import Attachment as InboundAttachment
from channels.base import ChannelName, InboundMessage
from gateway.ingest import ingest
from handlers.registration import next_tracking_number
from storage import leases
from storage.db import SessionFactory
from storage.models import Attachment, Contact, ContactAddress, ImapCheckpoint, Message
from tests.fakes import inbound


async def count(sessions: SessionFactory, model: type) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_redelivery_is_stored_once(any_sessions: SessionFactory) -> None:
    msg = inbound(ChannelName.SMS, "SM123", "+6281234567890", "halo")
    first = await ingest(any_sessions, msg)
    again = await ingest(any_sessions, msg)
    third = await ingest(any_sessions, msg)
    assert not first.duplicate and again.duplicate and third.duplicate
    assert first.message_id == again.message_id == third.message_id
    assert await count(any_sessions, Message) == 1


async def test_concurrent_redeliveries_store_one_row(any_sessions: SessionFactory) -> None:
    msg = inbound(ChannelName.EMAIL, "<same@x>", "a@example.com", "hello")
    results = await asyncio.gather(*(ingest(any_sessions, msg) for _ in range(8)))
    assert sum(not r.duplicate for r in results) == 1
    assert len({r.message_id for r in results}) == 1
    assert await count(any_sessions, Message) == 1
    assert await count(any_sessions, Contact) == 1


async def test_unique_constraint_is_in_the_database(any_sessions: SessionFactory) -> None:
    async with any_sessions() as s, s.begin():
        s.add(Contact(id=1))
    row = {
        "channel": "sms",
        "external_id": "X",
        "direction": "in",
        "contact_id": 1,
        "sender": "+62",
    }
    async with any_sessions() as s, s.begin():
        s.add(Message(**row))
    with pytest.raises(IntegrityError):
        async with any_sessions() as s, s.begin():
            s.add(Message(**row))


async def test_same_id_on_two_channels_is_two_messages(any_sessions: SessionFactory) -> None:
    await ingest(any_sessions, inbound(ChannelName.SMS, "1", "+6281234567890", "a"))
    await ingest(any_sessions, inbound(ChannelName.TELEGRAM, "1", "555", "a"))
    assert await count(any_sessions, Message) == 2


async def test_whatsapp_and_sms_from_one_number_are_one_contact(
    any_sessions: SessionFactory,
) -> None:
    a = await ingest(any_sessions, inbound(ChannelName.SMS, "a", "+6281234567890", "x"))
    b = await ingest(any_sessions, inbound(ChannelName.WHATSAPP, "b", "+6281234567890", "y"))
    c = await ingest(any_sessions, inbound(ChannelName.EMAIL, "c", "x@example.com", "z"))
    assert a.contact_id == b.contact_id != c.contact_id
    async with any_sessions() as s:
        kinds = sorted(await s.scalars(select(ContactAddress.kind)))
    assert kinds == ["email", "phone"]


async def test_attachments_and_raw_payload_round_trip(any_sessions: SessionFactory) -> None:
    msg = InboundMessage(
        channel=ChannelName.EMAIL,
        external_id="att@x",
        sender="a@example.com",
        text="lihat lampiran",
        received_at=datetime(2026, 11, 20, 1, 2, 3, tzinfo=UTC),
        attachments=(InboundAttachment("foto.jpg", "image/jpeg", b"\xff\xd8data", 6),),
        raw={"headers": [["Subject", "x"]]},
    )
    result = await ingest(any_sessions, msg)
    async with any_sessions() as s:
        stored = await s.get(Message, result.message_id)
        assert stored is not None
        assert stored.raw == {"headers": [["Subject", "x"]]}
        assert stored.received_at == datetime(2026, 11, 20, 1, 2, 3, tzinfo=UTC)
        [att] = list(await s.scalars(select(Attachment)))
        assert (att.filename, att.content, att.size) == ("foto.jpg", b"\xff\xd8data", 6)


async def test_tracking_numbers_never_repeat_under_concurrency(
    any_sessions: SessionFactory,
) -> None:
    when = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)

    async def allocate() -> str:
        async with any_sessions() as s, s.begin():
            return await next_tracking_number(s, "ADU", when, "Asia/Jakarta")

    numbers = await asyncio.gather(*(allocate() for _ in range(10)))
    assert sorted(numbers) == [f"ADU-2026-{i:05d}" for i in range(1, 11)]
    # New Year in Jakarta (UTC+7) starts a new sequence.
    async with any_sessions() as s, s.begin():
        nyd = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)
        assert await next_tracking_number(s, "ADU", nyd, "Asia/Jakarta") == "ADU-2027-00001"


async def test_leases_exclude_other_holders_until_expiry(any_sessions: SessionFactory) -> None:
    assert await leases.acquire(any_sessions, "imap:box", "a", 60)
    assert not await leases.acquire(any_sessions, "imap:box", "b", 60)
    assert await leases.acquire(any_sessions, "imap:box", "a", 60)  # renew
    await leases.release(any_sessions, "imap:box", "a")
    assert await leases.acquire(any_sessions, "imap:box", "b", 0.001)
    await asyncio.sleep(0.01)
    assert await leases.acquire(any_sessions, "imap:box", "a", 60)  # b's lapsed


async def test_timestamps_are_timezone_aware(any_sessions: SessionFactory) -> None:
    async with any_sessions() as s, s.begin():
        s.add(ImapCheckpoint(mailbox_key="k", uidvalidity=7, last_uid=3))
    async with any_sessions() as s:
        row = await s.scalar(select(ImapCheckpoint))
        assert row is not None and row.updated_at.tzinfo is not None
        assert abs(row.updated_at - datetime.now(UTC)) < timedelta(minutes=1)
    with pytest.raises(Exception, match="naive"):
        async with any_sessions() as s, s.begin():
            s.add(ImapCheckpoint(mailbox_key="n", uidvalidity=1, updated_at=datetime(2026, 1, 1)))
