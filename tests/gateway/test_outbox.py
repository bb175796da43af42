"""The outbox dispatcher: retries, rate limits, permanent failures, order, crashes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from channels.base import ChannelName
from channels.errors import PermanentError, RateLimited, TemporaryError
from gateway.outbox import Dispatcher, backoff_seconds
from handlers.outbox import Draft, OutboxWriter
from storage.db import SessionFactory
from storage.models import Complaint, ComplaintEvent, Contact, Message, OutboxMessage, OutboxStatus
from storage.types import utcnow
from tests.fakes import RecordingChannel


async def stage(
    sessions: SessionFactory, *texts: str, recipient: str = "+6281", complaint: bool = False
) -> list[int]:
    async with sessions() as s, s.begin():
        contact = Contact()
        s.add(contact)
        await s.flush()
        complaint_id = None
        if complaint:
            c = Complaint(
                tracking_number="ADU-2026-00001",
                contact_id=contact.id,
                channel="sms",
                contact_address=recipient,
                complainant_name="a",
                customer_name="b",
                problem="c",
                received_at=utcnow(),
                received_by="channel:sms",
            )
            s.add(c)
            await s.flush()
            complaint_id = c.id
        writer = OutboxWriter()
        ids = []
        for text in texts:
            row = await writer.add(
                s,
                Draft(
                    channel="sms",
                    recipient=recipient,
                    text=text,
                    contact_id=contact.id,
                    complaint_id=complaint_id,
                ),
            )
            ids.append(row.id)
        return ids


async def rows(sessions: SessionFactory) -> list[OutboxMessage]:
    async with sessions() as s:
        return list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_sends_in_order_and_records_provider_id(sessions: SessionFactory) -> None:
    sms = RecordingChannel(ChannelName.SMS)
    await stage(sessions, "one", "two", "three")
    assert await Dispatcher(sessions, {"sms": sms}).dispatch_due() == 3
    assert sms.texts() == ["one", "two", "three"]
    stored = await rows(sessions)
    assert all(r.status == OutboxStatus.SENT and r.provider_id for r in stored)
    async with sessions() as s:
        ext = list(await s.scalars(select(Message.external_id).order_by(Message.id)))
    assert ext == [r.provider_id for r in stored]
    # Nothing left: a second pass sends nothing again.
    assert await Dispatcher(sessions, {"sms": sms}).dispatch_due() == 0
    assert len(sms.sent) == 3


async def test_temporary_error_retries_with_backoff_and_keeps_order(
    sessions: SessionFactory,
) -> None:
    sms = RecordingChannel(ChannelName.SMS)
    sms.failures.append(TemporaryError("503 from provider", code=503))
    await stage(sessions, "first", "second")
    dispatcher = Dispatcher(sessions, {"sms": sms})
    await dispatcher.dispatch_due()
    first, second = await rows(sessions)
    assert first.status == OutboxStatus.PENDING and first.attempts == 1
    assert first.last_error == "503 from provider" and first.error_code == "503"
    assert first.next_attempt_at > utcnow() + timedelta(seconds=3)
    # The second row waits behind the first (one recipient, in order).
    assert second.status == OutboxStatus.PENDING and second.attempts == 0
    assert sms.sent == []
    async with sessions() as s, s.begin():
        await s.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
    await dispatcher.dispatch_due()
    assert sms.texts() == ["first", "second"]


async def test_rate_limit_honours_retry_after(sessions: SessionFactory) -> None:
    sms = RecordingChannel(ChannelName.SMS)
    sms.failures.append(RateLimited("429", retry_after=120, code=429))
    await stage(sessions, "x")
    await Dispatcher(sessions, {"sms": sms}).dispatch_due()
    [row] = await rows(sessions)
    delay = (row.next_attempt_at - utcnow()).total_seconds()
    assert 110 < delay <= 120 and row.status == OutboxStatus.PENDING


async def test_permanent_error_is_kept_for_staff_with_an_event(sessions: SessionFactory) -> None:
    sms = RecordingChannel(ChannelName.SMS)
    sms.failures.append(PermanentError("invalid number", code=21211))
    await stage(sessions, "x", "y", complaint=True)
    await Dispatcher(sessions, {"sms": sms}).dispatch_due()
    failed, nxt = await rows(sessions)
    assert failed.status == OutboxStatus.FAILED and failed.error_code == "21211"
    assert nxt.status == OutboxStatus.SENT  # a failed row does not block the next
    async with sessions() as s:
        [event] = list(await s.scalars(select(ComplaintEvent)))
    assert event.kind == "delivery_failed" and event.data["code"] == 21211


async def test_gives_up_after_max_attempts(sessions: SessionFactory) -> None:
    sms = RecordingChannel(ChannelName.SMS)
    sms.failures.extend(TemporaryError("down") for _ in range(3))
    await stage(sessions, "x")
    dispatcher = Dispatcher(sessions, {"sms": sms}, max_attempts=3)
    for _ in range(3):
        async with sessions() as s, s.begin():
            await s.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
        await dispatcher.dispatch_due()
    [row] = await rows(sessions)
    assert row.status == OutboxStatus.FAILED and row.attempts == 3
    assert "gave up after 3 attempts" in (row.last_error or "")


async def test_row_of_a_crashed_sender_is_sent_after_its_lease(sessions: SessionFactory) -> None:
    sms = RecordingChannel(ChannelName.SMS)
    [row_id] = await stage(sessions, "x")
    # A sender claimed it and died before recording the outcome.
    async with sessions() as s, s.begin():
        await s.execute(
            update(OutboxMessage).values(
                status=OutboxStatus.SENDING.value, lease_until=utcnow() + timedelta(seconds=60)
            )
        )
    dispatcher = Dispatcher(sessions, {"sms": sms})
    assert await dispatcher.dispatch_due() == 0  # lease still held
    async with sessions() as s, s.begin():
        await s.execute(update(OutboxMessage).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert await dispatcher.dispatch_due() == 1
    assert sms.texts() == ["x"]
    assert (await rows(sessions))[0].id == row_id


async def test_channel_off_keeps_the_row_pending_with_a_reason(sessions: SessionFactory) -> None:
    await stage(sessions, "x")
    await Dispatcher(sessions, {}).dispatch_due()
    [row] = await rows(sessions)
    assert row.status == OutboxStatus.PENDING and row.attempts == 0
    assert "not configured" in (row.last_error or "")


async def test_one_row_is_claimed_by_one_dispatcher(sessions: SessionFactory) -> None:
    import asyncio

    a, b = RecordingChannel(ChannelName.SMS), RecordingChannel(ChannelName.SMS)
    [row_id] = await stage(sessions, "x")
    results = await asyncio.gather(
        Dispatcher(sessions, {"sms": a}).dispatch_one(row_id),
        Dispatcher(sessions, {"sms": b}).dispatch_one(row_id),
    )
    assert sorted(results) == [False, True]
    assert len(a.sent) + len(b.sent) == 1


def test_backoff_grows_and_is_capped() -> None:
    assert 4 <= backoff_seconds(1) <= 6
    assert 32 <= backoff_seconds(4) <= 48
    assert backoff_seconds(30) <= 3600 * 1.2


async def test_embedded_restart_releases_rows_left_mid_send(sessions: SessionFactory) -> None:
    sms = RecordingChannel(ChannelName.SMS)
    await stage(sessions, "x")
    async with sessions() as s, s.begin():
        await s.execute(
            update(OutboxMessage).values(
                status=OutboxStatus.SENDING.value, lease_until=utcnow() + timedelta(seconds=120)
            )
        )
    dispatcher = Dispatcher(sessions, {"sms": sms})
    assert await dispatcher.release_claims() == 1
    assert await dispatcher.dispatch_due() == 1
    assert sms.texts() == ["x"]
