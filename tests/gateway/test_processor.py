"""Processing driven from the database: crash recovery, order, poison messages."""

from __future__ import annotations

from sqlalchemy import select

from channels.base import ChannelName
from gateway.ingest import ingest
from storage.models import Complaint, Message
from tests.fakes import inbound
from tests.runtime_fixtures import Harness, make_harness


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
