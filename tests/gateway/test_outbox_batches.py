"""The outbox dispatcher's batches: claims bounded by free slots, order per
recipient, sent rows recorded together and only after the provider accepted."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from channels.base import ChannelName, OutboundMessage, SendResult
from gateway.outbox import Dispatcher
from gateway.outbox_sent import Sent, SentRecorder
from storage.db import SessionFactory
from storage.models import OutboxMessage, OutboxStatus
from storage.types import utcnow
from tests.fakes import RecordingChannel
from tests.gateway.test_outbox import rows, stage


class GatedChannel(RecordingChannel):
    """Holds every send until ``gate`` is set; ``waiting`` counts held sends."""

    def __init__(self) -> None:
        super().__init__(ChannelName.SMS)
        self.gate = asyncio.Event()
        self.waiting = 0

    async def send(self, message: OutboundMessage) -> SendResult:
        self.waiting += 1
        try:
            await self.gate.wait()
        finally:
            self.waiting -= 1
        return await super().send(message)


async def until(condition: Any) -> None:
    """Let the loop run until ``condition()`` holds (bounded in loop turns, not time)."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never held")


async def statuses(sessions: SessionFactory) -> Counter[str]:
    return Counter(r.status for r in await rows(sessions))


async def test_claims_no_more_rows_than_free_slots(sessions: SessionFactory) -> None:
    for n in range(5):
        await stage(sessions, f"to {n}", recipient=f"+62810{n}")
    channel = GatedChannel()
    dispatcher = Dispatcher(sessions, {"sms": channel}, concurrency=2)
    run = asyncio.create_task(dispatcher.dispatch_due())
    await until(lambda: channel.waiting == 2)
    # Only the rows being sent are claimed: the rest wait pending, so no claim
    # can lapse while its row waits for a slot.
    assert await statuses(sessions) == Counter({"sending": 2, "pending": 3})
    assert dispatcher.sending == 2
    channel.gate.set()
    assert await run == 5
    assert await statuses(sessions) == Counter({"sent": 5})
    assert sorted(channel.texts()) == [f"to {n}" for n in range(5)]


async def test_order_per_recipient_holds_with_batched_claims(sessions: SessionFactory) -> None:
    expected: dict[str, list[str]] = {}
    for turn in range(4):
        for who in ("+6281a", "+6281b", "+6281c"):
            text = f"{who} #{turn}"
            await stage(sessions, text, recipient=who)
            expected.setdefault(who, []).append(text)
    sms = RecordingChannel(ChannelName.SMS)
    assert await Dispatcher(sessions, {"sms": sms}, concurrency=8).dispatch_due() == 12
    for who, texts in expected.items():
        assert [m.text for m in sms.sent if m.recipient == who] == texts
    assert await statuses(sessions) == Counter({"sent": 12})


async def test_a_row_is_marked_sent_only_after_the_provider_accepted(
    sessions: SessionFactory,
) -> None:
    accepted: set[str] = set()
    seen_sending: list[str] = []

    class Checking(RecordingChannel):
        async def send(self, message: OutboundMessage) -> SendResult:
            async with sessions() as s:
                stored = list(await s.scalars(select(OutboxMessage)))
            marked = {r.idempotency_key for r in stored if r.status == OutboxStatus.SENT}
            assert marked <= accepted
            mine = next(r for r in stored if r.idempotency_key == message.idempotency_key)
            seen_sending.append(mine.status)
            result = await super().send(message)
            accepted.add(message.idempotency_key)
            return result

    for n in range(6):
        await stage(sessions, "a", "b", recipient=f"+62811{n}")
    assert await Dispatcher(sessions, {"sms": Checking(ChannelName.SMS)}).dispatch_due() == 12
    assert seen_sending == ["sending"] * 12
    assert await statuses(sessions) == Counter({"sent": 12})


async def test_sends_finishing_together_are_committed_together(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    write = SentRecorder._write

    async def counting(self: SentRecorder, batch: list[Sent]) -> None:
        batches.append(len(batch))
        await write(self, batch)

    monkeypatch.setattr(SentRecorder, "_write", counting)
    for n in range(16):
        await stage(sessions, "ack", recipient=f"+62812{n:02}")
    sms = RecordingChannel(ChannelName.SMS)
    assert await Dispatcher(sessions, {"sms": sms}, concurrency=8).dispatch_due() == 16
    assert sum(batches) == 16
    assert max(batches) > 1
    assert len(batches) < 16
    stored = await rows(sessions)
    assert all(r.status == OutboxStatus.SENT and r.provider_id for r in stored)


async def test_a_lost_record_of_a_send_means_a_resend_not_a_loss(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    (row_id,) = await stage(sessions, "once")

    async def broken(self: SentRecorder, batch: list[Sent]) -> None:
        raise RuntimeError("record refused")  # not transient: not retried

    sms = RecordingChannel(ChannelName.SMS)
    with monkeypatch.context() as patch:
        patch.setattr(SentRecorder, "_write", broken)
        with pytest.raises(RuntimeError, match="record refused"):
            await Dispatcher(sessions, {"sms": sms}).dispatch_due()
    (row,) = await rows(sessions)
    assert row.status == OutboxStatus.SENDING  # never marked: sent again, not lost
    async with sessions() as s, s.begin():
        await s.execute(update(OutboxMessage).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert await Dispatcher(sessions, {"sms": sms}).dispatch_due() == 1
    assert sms.texts() == ["once", "once"]  # at-least-once
    (row,) = await rows(sessions)
    assert row.status == OutboxStatus.SENT and row.id == row_id


async def test_a_record_refused_by_a_short_database_outage_is_retried_not_resent(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provider accepted the send, then the database refused the record twice
    (a restart, a failover): the record is retried and the row is sent once."""
    (row_id,) = await stage(sessions, "once only")
    write = SentRecorder._write
    refusals = 2

    async def flaky(self: SentRecorder, batch: list[Sent]) -> None:
        nonlocal refusals
        if refusals:
            refusals -= 1
            raise OperationalError("UPDATE outbox", None, ConnectionRefusedError("refused"))
        await write(self, batch)

    monkeypatch.setattr(SentRecorder, "_write", flaky)
    sms = RecordingChannel(ChannelName.SMS)
    assert await Dispatcher(sessions, {"sms": sms}).dispatch_due() == 1
    assert refusals == 0
    assert sms.texts() == ["once only"]
    (row,) = await rows(sessions)
    assert row.id == row_id and row.status == OutboxStatus.SENT


async def test_a_record_still_refused_after_the_retry_period_raises(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    await stage(sessions, "pending record")
    attempts = 0

    async def down(self: SentRecorder, batch: list[Sent]) -> None:
        nonlocal attempts
        attempts += 1
        raise OperationalError("UPDATE outbox", None, ConnectionRefusedError("refused"))

    monkeypatch.setattr(SentRecorder, "_write", down)
    recorder = SentRecorder(sessions, retry_seconds=0.5)
    with pytest.raises(OperationalError):
        await recorder.record(Sent(outbox_id=1, message_id=None, provider_id="SM1"))
    assert attempts >= 2  # retried, then given up: the row stays sending (resent later)
    (row,) = await rows(sessions)
    assert row.status == OutboxStatus.PENDING


async def test_drain_returns_once_the_outcome_is_recorded(sessions: SessionFactory) -> None:
    await stage(sessions, "in flight")
    await stage(sessions, "not yet", recipient="+6289")
    channel = GatedChannel()
    dispatcher = Dispatcher(sessions, {"sms": channel}, concurrency=1)
    run = asyncio.create_task(dispatcher.dispatch_due())
    await until(lambda: channel.waiting == 1)
    dispatcher.close()
    drained = asyncio.create_task(dispatcher.drain(30))
    await asyncio.sleep(0)
    assert not drained.done()
    channel.gate.set()
    assert await drained
    # Drained means recorded: the send in flight is sent, the other row unclaimed.
    assert await statuses(sessions) == Counter({"sent": 1, "pending": 1})
    assert await run == 1


async def test_two_dispatchers_send_each_row_once_in_order(any_sessions: SessionFactory) -> None:
    expected: dict[str, list[str]] = {}
    for n in range(12):
        who = f"+62813{n:02}"
        texts = [f"{who} first", f"{who} second", f"{who} third"]
        await stage(any_sessions, *texts, recipient=who)
        expected[who] = texts
    a, b = RecordingChannel(ChannelName.SMS), RecordingChannel(ChannelName.SMS)
    b.sent = a.sent  # one list: the order in which the provider got them, across both
    sent = await asyncio.gather(
        Dispatcher(any_sessions, {"sms": a}, concurrency=4).dispatch_due(),
        Dispatcher(any_sessions, {"sms": b}, concurrency=4).dispatch_due(),
    )
    assert sum(sent) == 36
    keys = Counter(m.idempotency_key for m in a.sent)
    assert len(keys) == 36 and set(keys.values()) == {1}
    assert await statuses(any_sessions) == Counter({"sent": 36})
    for who, texts in expected.items():
        assert [m.text for m in a.sent if m.recipient == who] == texts


async def test_a_slot_frees_when_the_provider_answered_and_the_row_stays_in_flight(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = asyncio.Event()
    write = SentRecorder._write

    async def held(self: SentRecorder, batch: list[Sent]) -> None:
        await recorded.wait()
        await write(self, batch)

    monkeypatch.setattr(SentRecorder, "_write", held)
    for n in range(4):
        await stage(sessions, f"to {n}", recipient=f"+62814{n}")
    sms = RecordingChannel(ChannelName.SMS)
    dispatcher = Dispatcher(sessions, {"sms": sms}, concurrency=2)
    run = asyncio.create_task(dispatcher.dispatch_due())
    await until(lambda: len(sms.sent) == 4 and dispatcher.sending == 4)
    # Two slots carried four sends; none is recorded yet, so all four are in
    # flight and still claimed (a crash now means a resend, never a loss).
    assert dispatcher.sending == 4
    assert await statuses(sessions) == Counter({"sending": 4})
    assert not await dispatcher.drain(0.05)
    recorded.set()
    assert await run == 4
    assert await dispatcher.drain(1)
    assert await statuses(sessions) == Counter({"sent": 4})
