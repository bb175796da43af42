"""Processing driven from the database: crash recovery, order, poison messages."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelName
from gateway.ingest import ingest
from gateway.processor import Processor
from storage.models import Complaint, Message, OutboxMessage
from tests.fakes import inbound
from tests.runtime_fixtures import Harness, make_harness

COMPLAINT = "Nama: Ani\nPelanggan: PT A\nMasalah: hasil uji salah ketik"


async def test_committed_but_unprocessed_message_is_picked_up_after_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A message committed by a process that died before processing it.
    first = await make_harness(tmp_path)
    await first.runtime.close()
    from storage.db import create_engine, session_factory

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}")
    await ingest(
        session_factory(engine),
        inbound(
            ChannelName.EMAIL,
            "lost@x",
            "a@example.com",
            "Nama: Ani\nPelanggan: PT A\nMasalah: hasil uji salah ketik",
        ),
    )
    await engine.dispose()

    second = await make_harness(tmp_path)  # the startup sweep finds it
    try:
        for _ in range(100):
            async with second.runtime.sessions() as s:
                if await s.scalar(select(Complaint)) is not None:
                    break
            import asyncio

            await asyncio.sleep(0.05)
        await second.settle()
        async with second.runtime.sessions() as s:
            complaint = await s.scalar(select(Complaint))
        assert complaint is not None and complaint.complainant_name == "Ani"
        assert len(second.email.sent) == 1
    finally:
        await second.runtime.close()


async def test_a_failing_message_is_retried_then_set_aside(harness: Harness) -> None:
    h = harness
    processor = h.runtime.processor
    assert processor is not None
    calls = 0
    original = processor.engine.handle_turn

    async def explode(session, messages):  # type: ignore[no-untyped-def]
        nonlocal calls
        if messages[0].external_id == "bad":
            calls += 1
            raise RuntimeError("boom")
        await original(session, messages)

    processor.engine.handle_turn = explode  # type: ignore[method-assign]
    result = await ingest(
        h.runtime.sessions, inbound(ChannelName.SMS, "bad", "+6281234567890", "halo")
    )
    await ingest(h.runtime.sessions, inbound(ChannelName.SMS, "good", "+6281234567890", "Budi"))
    for _ in range(processor.max_attempts):
        await processor.process_contact(result.contact_id)
    assert calls == processor.max_attempts
    async with h.runtime.sessions() as s:
        bad = await s.scalar(select(Message).where(Message.external_id == "bad"))
        good = await s.scalar(select(Message).where(Message.external_id == "good"))
    assert bad is not None and bad.processed_at is not None
    assert (
        bad.process_error == "RuntimeError: boom" and bad.process_attempts == processor.max_attempts
    )
    # The later message was held back until the failing one was set aside, then processed.
    assert good is not None and good.processed_at is not None


async def test_messages_wait_for_an_earlier_unprocessed_one(harness: Harness) -> None:
    h = harness
    processor = h.runtime.processor
    assert processor is not None
    a = await ingest(h.runtime.sessions, inbound(ChannelName.SMS, "1", "+6281234567899", "halo"))
    await ingest(h.runtime.sessions, inbound(ChannelName.SMS, "2", "+6281234567899", "Budi"))
    assert await processor.process_contact(a.contact_id) == 2
    async with h.runtime.sessions() as s:
        order = list(
            await s.scalars(
                select(Message.external_id)
                .where(Message.direction == "in")
                .order_by(Message.processed_at, Message.id)
            )
        )
    assert order == ["1", "2"]


async def test_two_processors_in_one_process_register_one_complaint(harness: Harness) -> None:
    import asyncio

    h = harness
    processor = h.runtime.processor
    assert processor is not None
    result = await ingest(
        h.runtime.sessions,
        inbound(
            ChannelName.EMAIL,
            "dup@x",
            "a@example.com",
            "Nama: Ani\nPelanggan: PT A\nMasalah: hasil uji salah ketik",
        ),
    )
    counts = await asyncio.gather(*(processor.process_contact(result.contact_id) for _ in range(4)))
    assert sum(counts) == 1
    async with h.runtime.sessions() as s:
        assert len(list(await s.scalars(select(Complaint)))) == 1


class ScriptedGuard:
    """A shared-work guard whose hold is lost after ``renewals_kept`` renewals
    (``None``: never), as when another process takes the contact over."""

    shared = True

    def __init__(self, *, renew_every: float | None, renewals_kept: int | None) -> None:
        self.renew_every = renew_every
        self.renewals_kept = renewals_kept
        self.renewals = 0
        self.renewed = asyncio.Event()
        self.fenced: list[bool] = []
        self.acquired = 0

    @property
    def held(self) -> bool:
        return self.renewals_kept is None or self.renewals <= self.renewals_kept

    async def acquire(self, contact_id: int) -> str | None:
        self.acquired += 1
        return "token" if self.acquired == 1 else None

    async def renew(self, contact_id: int, token: str) -> bool:
        self.renewals += 1
        if self.renewals >= 3 or not self.held:
            self.renewed.set()
        return self.held

    async def fence(self, session: AsyncSession, contact_id: int, token: str) -> bool:
        self.fenced.append(self.held)
        return self.held

    async def release(self, contact_id: int, token: str) -> None:
        return None


def scripted_processor(h: Harness, guard: ScriptedGuard) -> tuple[Processor, list[object]]:
    processor = h.runtime.processor
    assert processor is not None
    notified: list[object] = []
    return Processor(
        h.runtime.sessions, processor.engine, guard=guard, notify_outbox=notified.append
    ), notified


async def test_a_turn_renews_its_hold_while_it_runs(harness: Harness) -> None:
    guard = ScriptedGuard(renew_every=0.01, renewals_kept=None)
    processor, notified = scripted_processor(harness, guard)
    original = processor.engine.handle_turn

    async def slow(session, messages):  # type: ignore[no-untyped-def]
        await asyncio.wait_for(guard.renewed.wait(), 20)  # three renewals in one turn
        await original(session, messages)

    processor.engine.handle_turn = slow  # type: ignore[method-assign]
    result = await ingest(
        harness.runtime.sessions, inbound(ChannelName.EMAIL, "slow@x", "a@example.com", COMPLAINT)
    )
    assert await processor.process_contact(result.contact_id) == 1
    assert guard.renewals >= 3 and guard.fenced == [True]
    assert len(notified) == 1
    renewals = guard.renewals
    await asyncio.sleep(0.05)
    assert guard.renewals == renewals  # renewing stopped with the hold


async def test_a_turn_whose_hold_was_lost_commits_nothing(harness: Harness) -> None:
    guard = ScriptedGuard(renew_every=0.01, renewals_kept=0)
    processor, notified = scripted_processor(harness, guard)
    original = processor.engine.handle_turn
    turns = 0

    async def slow(session, messages):  # type: ignore[no-untyped-def]
        nonlocal turns
        turns += 1
        await original(session, messages)  # registers the complaint, stages the reply
        await asyncio.wait_for(guard.renewed.wait(), 20)  # ... and outlives the hold

    processor.engine.handle_turn = slow  # type: ignore[method-assign]
    first = await ingest(
        harness.runtime.sessions, inbound(ChannelName.EMAIL, "lost@x", "a@example.com", COMPLAINT)
    )
    await ingest(
        harness.runtime.sessions,
        inbound(ChannelName.EMAIL, "next@x", "a@example.com", "Masalah: lagi"),
    )
    assert await processor.process_contact(first.contact_id) == 0
    assert turns == 1 and guard.fenced == [False]  # no further turn once the hold is gone
    assert notified == []
    async with harness.runtime.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Complaint)) == 0
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        inbound_rows = list(await s.scalars(select(Message).where(Message.direction == "in")))
    assert [(m.processed_at, m.process_attempts, m.process_error) for m in inbound_rows] == [
        (None, 0, None),
        (None, 0, None),
    ]
    # The contact's next holder does the turn, once.
    processor_ok = harness.runtime.processor
    assert processor_ok is not None
    assert await processor_ok.process_contact(first.contact_id) == 2
    async with harness.runtime.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Complaint)) == 1
