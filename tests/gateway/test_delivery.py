"""Delivery statuses: stored once, never moving backwards (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from gateway.delivery import Delivery, normalise_status, record_delivery_status
from storage.db import SessionFactory
from storage.models import ComplaintEvent, DeliveryStatus, OutboxMessage
from storage.types import utcnow
from tests.gateway.test_outbox import stage


async def outbox_row(sessions: SessionFactory) -> OutboxMessage:
    async with sessions() as s:
        row = await s.scalar(select(OutboxMessage))
        assert row is not None
        return row


async def test_statuses_only_move_forward(any_sessions: SessionFactory) -> None:
    await stage(any_sessions, "x", complaint=True)
    async with any_sessions() as s, s.begin():
        await s.execute(update(OutboxMessage).values(provider_id="SM1"))
    t0 = utcnow()

    async def report(word: str, seconds: int, code: str | None = None) -> bool:
        status = normalise_status(word)
        assert status is not None
        return await record_delivery_status(
            any_sessions,
            channel="sms",
            provider_id="SM1",
            status=status,
            error_code=code,
            occurred_at=t0 + timedelta(seconds=seconds),
        )

    assert await report("sent", 1)
    assert await report("read", 3)
    assert await report("delivered", 2)  # late: stored, but read stays
    assert not await report("read", 3)  # a repeat
    assert await report("undelivered", 4, "30003")  # a failure never beats read
    row = await outbox_row(any_sessions)
    assert row.delivery_status == Delivery.READ and row.delivery_error_code is None
    async with any_sessions() as s:
        stored = sorted(await s.scalars(select(DeliveryStatus.status)))
        events = list(await s.scalars(select(ComplaintEvent)))
    assert stored == ["delivered", "failed", "read", "sent"]
    assert events == []


async def test_failure_is_recorded_on_the_complaint(any_sessions: SessionFactory) -> None:
    await stage(any_sessions, "x", complaint=True)
    async with any_sessions() as s, s.begin():
        await s.execute(update(OutboxMessage).values(provider_id="wamid.1"))
    await record_delivery_status(
        any_sessions, channel="sms", provider_id="wamid.1", status=Delivery.SENT
    )
    await record_delivery_status(
        any_sessions,
        channel="sms",
        provider_id="wamid.1",
        status=Delivery.FAILED,
        error_code="131026",
    )
    row = await outbox_row(any_sessions)
    assert (row.delivery_status, row.delivery_error_code) == ("failed", "131026")
    async with any_sessions() as s:
        [event] = list(await s.scalars(select(ComplaintEvent)))
    assert event.kind == "delivery_failed" and "131026" in (event.note or "")


async def test_unknown_provider_id_is_kept(any_sessions: SessionFactory) -> None:
    assert await record_delivery_status(
        any_sessions, channel="sms", provider_id="SMX", status=Delivery.SENT
    )
    async with any_sessions() as s:
        assert len(list(await s.scalars(select(DeliveryStatus)))) == 1


def test_provider_words() -> None:
    assert normalise_status("Undelivered") is Delivery.FAILED
    assert normalise_status("accepted") is Delivery.QUEUED
    assert normalise_status("bogus") is None
