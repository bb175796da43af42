"""The reply loop guard of the outbox dispatcher (docs/email.md "Reply loop guard")."""

from __future__ import annotations

from sqlalchemy import select

from gateway.outbox import REPLY_CAP_CODE, REPLY_CAP_ERROR
from handlers.contact_lookup import resolve_contact
from handlers.outbox import Draft
from storage.models import OutboxMessage
from tests.runtime_fixtures import Harness


async def stage(h: Harness, channel: str, recipient: str, count: int, *, automatic: bool) -> None:
    async with h.runtime.work() as session:
        contact_id = await resolve_contact(session, channel, recipient, None)
        for i in range(count):
            await h.runtime.writer.add(
                session,
                Draft(
                    channel=channel,
                    recipient=recipient,
                    text=f"Balasan {i}",
                    contact_id=contact_id,
                    automatic=automatic,
                    sender="aduan" if automatic else "staff:sri",
                ),
            )
    await h.settle()


async def outcome(h: Harness, recipient: str) -> list[tuple[str, str | None]]:
    async with h.runtime.sessions() as s:
        rows = await s.execute(
            select(OutboxMessage.status, OutboxMessage.error_code)
            .where(OutboxMessage.recipient == recipient)
            .order_by(OutboxMessage.id)
        )
        return [(r.status, r.error_code) for r in rows]


async def test_automatic_emails_to_one_address_stop_at_the_cap(harness: Harness) -> None:
    assert harness.runtime.settings.reply_cap_per_hour == 10
    await stage(harness, "email", "robot@example.net", 12, automatic=True)
    assert (
        await outcome(harness, "robot@example.net")
        == [("sent", None)] * 10 + [("failed", REPLY_CAP_CODE)] * 2
    )
    assert len(harness.email.sent) == 10

    # Another address has its own count; staff-written mail is never held.
    await stage(harness, "email", "budi@example.com", 1, automatic=True)
    await stage(harness, "email", "robot@example.net", 2, automatic=False)
    assert (await outcome(harness, "budi@example.com")) == [("sent", None)]
    assert (await outcome(harness, "robot@example.net"))[-2:] == [("sent", None)] * 2
    async with harness.runtime.sessions() as s:
        errors = set(
            await s.scalars(
                select(OutboxMessage.last_error).where(OutboxMessage.status == "failed")
            )
        )
    assert errors == {REPLY_CAP_ERROR}


async def test_chat_replies_are_not_capped(harness: Harness) -> None:
    await stage(harness, "sms", "+6281234567890", 15, automatic=True)
    assert await outcome(harness, "+6281234567890") == [("sent", None)] * 15


async def test_a_cap_of_zero_turns_the_guard_off(harness: Harness) -> None:
    dispatcher = harness.runtime.dispatcher
    assert dispatcher is not None
    dispatcher.reply_cap_per_hour = 0
    await stage(harness, "email", "robot@example.net", 12, automatic=True)
    assert await outcome(harness, "robot@example.net") == [("sent", None)] * 12
