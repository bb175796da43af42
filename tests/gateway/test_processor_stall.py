"""Exactly-once processing when a turn outlives its contact lease (PostgreSQL).

Two processors, each with its own runtime (two processes sharing one
database), and a short lease. Processor A is stalled inside a turn, by a
lock held on something it needs or by a hook, for longer than the lease;
processor B is let at the contact meanwhile. Whatever the interleaving the
message gives exactly one complaint and one acknowledgement, and the stalled
processor gives up without an error (docs/architecture.md, "Exactly-once
processing").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from channels.base import ChannelName
from gateway.config import load_settings
from gateway.ingest import ingest
from gateway.processor import LeaseContactGuard, LocalContactGuard, Processor
from gateway.runtime import Runtime, build_runtime
from storage.db import create_engine
from storage.models import Complaint, Lease, Message, OutboxMessage
from storage.types import utcnow
from tests.conftest import make_engine
from tests.fakes import RecordingChannel, inbound
from tests.harness.rows import wait_until
from tests.services import POSTGRES_URL

#: The contact lease in these tests, in seconds: short, so a stall outlives it.
TTL = 1.0
#: The lease when a test relies on its renewals, in seconds.
RENEWING_TTL = 2.0
#: Upper bound of every wait in these tests, in seconds (a hang fails, not blocks).
PATIENCE = 20.0
COMPLAINT = "Nama: Ani\nPelanggan: PT A\nMasalah: hasil uji salah ketik"


async def _runtime(tmp_path: Path) -> Runtime:
    email = RecordingChannel(ChannelName.EMAIL, interactive=False)
    sms = RecordingChannel(ChannelName.SMS)
    return await build_runtime(
        load_settings(database_url=POSTGRES_URL, data_dir=tmp_path),
        use_redis=False,
        extra_channels={"email": email, "sms": sms},
    )


class Pair:
    """Two processors on one PostgreSQL database, as two processes would run them."""

    def __init__(self, a: Runtime, b: Runtime, locker: AsyncEngine) -> None:
        self.runtimes = (a, b)
        self.locker = locker
        self.notified: dict[str, list[Sequence[tuple[int, str]]]] = {"a": [], "b": []}
        self.use_ttl(TTL)

    def use_ttl(self, ttl: float) -> None:
        """(Re)build both processors with leases of ``ttl`` seconds."""
        a, b = self.runtimes
        self.guard_a = LeaseContactGuard(a.sessions, "proc-a", ttl_seconds=ttl)
        self.guard_b = LeaseContactGuard(b.sessions, "proc-b", ttl_seconds=ttl)
        assert a.processor is not None and b.processor is not None
        self.a = Processor(
            a.sessions,
            a.processor.engine,
            guard=self.guard_a,
            notify_outbox=self.notified["a"].append,
        )
        self.b = Processor(
            b.sessions,
            b.processor.engine,
            guard=self.guard_b,
            notify_outbox=self.notified["b"].append,
        )

    async def lease_holder(self, contact_id: int) -> tuple[str | None, bool]:
        """(holder, expired) of the contact's lease, read on the side."""
        async with self.locker.connect() as conn:
            row = (
                await conn.execute(
                    select(Lease.holder, Lease.expires_at).where(
                        Lease.name == f"contact:{contact_id}"
                    )
                )
            ).first()
        if row is None:
            return None, True
        return row.holder, row.expires_at < utcnow()

    async def waiting_on_locks(self) -> int:
        """Sessions of the test database waiting for a lock."""
        async with self.locker.connect() as conn:
            return int(
                await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                        " WHERE NOT l.granted AND a.datname = current_database()"
                    )
                )
                or 0
            )

    async def counts(self) -> tuple[int, int, Message]:
        """(complaints, acknowledgements to the sender, the inbound message)."""
        async with self.runtimes[0].sessions() as s:
            complaints = await s.scalar(select(func.count()).select_from(Complaint))
            acks = await s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.recipient == "a@example.com")
            )
            message = await s.scalar(select(Message).where(Message.external_id == "stall@x"))
        assert message is not None
        return int(complaints or 0), int(acks or 0), message


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Pair]:
    await (await make_engine("postgresql", tmp_path)).dispose()  # migrated, or skip
    a = await _runtime(tmp_path / "a")
    b = await _runtime(tmp_path / "b")
    locker = create_engine(POSTGRES_URL)
    try:
        yield Pair(a, b, locker)
    finally:
        await locker.dispose()
        await a.close()
        await b.close()


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll ``check`` until it holds; fail after :data:`PATIENCE` seconds."""
    await wait_until(check, PATIENCE, what=what)


def pause_renewals(guard: LeaseContactGuard) -> asyncio.Event:
    """Make ``guard``'s renewals hang until the returned event is set, as in a
    paused process (the turn itself stalls separately)."""
    resume = asyncio.Event()
    original = guard.renew

    async def paused(contact_id: int, token: str) -> Any:
        await resume.wait()
        return await original(contact_id, token)

    guard.renew = paused  # type: ignore[method-assign]
    return resume


async def _store(pair: Pair) -> int:
    result = await ingest(
        pair.runtimes[0].sessions, inbound(ChannelName.EMAIL, "stall@x", "a@example.com", COMPLAINT)
    )
    return result.contact_id


async def assert_exactly_once(pair: Pair, done: Sequence[int]) -> None:
    complaints, acks, message = await pair.counts()
    assert (complaints, acks) == (1, 1)
    assert sorted(done) == [0, 1]
    assert message.processed_at is not None and message.process_attempts == 0
    # Only the processor whose turn committed announced outbox rows.
    assert sum(len(n) for n in pair.notified.values()) == 1


@pytest.mark.parametrize("renewing", [True, False], ids=["renewing", "renewals-paused"])
async def test_a_turn_blocked_on_a_lock_longer_than_the_lease_is_done_once(
    pair: Pair, renewing: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # Renewals run every third of the lease: a longer lease when they are
    # relied on leaves room for a loaded machine to run them late.
    ttl = RENEWING_TTL if renewing else TTL
    pair.use_ttl(ttl)
    contact_id = await _store(pair)
    resume = None if renewing else pause_renewals(pair.guard_a)
    async with pair.locker.connect() as blocker:
        # Another connection holds the tracking counters, which registering a
        # complaint needs: A's turn waits on it.
        await blocker.execute(text("LOCK TABLE tracking_counters IN EXCLUSIVE MODE"))
        task_a = asyncio.create_task(pair.a.process_contact(contact_id))

        async def a_waits() -> bool:
            return await pair.waiting_on_locks() >= 1

        await until(a_waits, "A to wait on the lock")
        if renewing:
            # The lease's lifetime and a half passes while A waits; its
            # renewals keep the contact.
            await asyncio.sleep(1.5 * ttl)
            holder, expired = await pair.lease_holder(contact_id)
            assert holder is not None and holder.startswith("proc-a") and not expired
            assert await pair.b.process_contact(contact_id) == 0
            task_b = None
        else:

            async def lapsed() -> bool:
                return (await pair.lease_holder(contact_id))[1]

            await until(lapsed, "A's lease to lapse")
            task_b = asyncio.create_task(pair.b.process_contact(contact_id))

            async def b_holds() -> bool:
                holder, _ = await pair.lease_holder(contact_id)
                return holder is not None and holder.startswith("proc-b")

            await until(b_holds, "B to take the contact")

            async def b_waits_or_done() -> bool:
                return task_b.done() or await pair.waiting_on_locks() >= 2

            await until(b_waits_or_done, "B to wait on the lock too")
        await blocker.rollback()  # the lock goes
    with caplog.at_level(logging.WARNING):
        done_a = await asyncio.wait_for(task_a, PATIENCE)
        done_b = await asyncio.wait_for(task_b, PATIENCE) if task_b else 0
    if resume is not None:
        resume.set()
    await assert_exactly_once(pair, [done_a, done_b])
    assert done_a == (1 if renewing else 0)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # Nothing is left for anyone: a later pass finds no work.
    assert await pair.a.process_contact(contact_id) == 0
    assert await pair.b.process_contact(contact_id) == 0


async def test_a_turn_paused_past_its_lease_gives_up_to_the_new_holder(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    """A hook stalls A inside the turn (a paused process: no renewals either)
    until B has taken the contact and got as far as it can."""
    contact_id = await _store(pair)
    resume = pause_renewals(pair.guard_a)
    entered, go = asyncio.Event(), asyncio.Event()
    engine_a = pair.a.engine
    original = engine_a.handle_turn

    async def stalled(session: AsyncSession, messages: Sequence[Message]) -> None:
        entered.set()
        await go.wait()
        await original(session, messages)

    pair.a.engine = _EngineWith(engine_a, stalled)  # type: ignore[assignment]
    task_a = asyncio.create_task(pair.a.process_contact(contact_id))
    await asyncio.wait_for(entered.wait(), PATIENCE)

    async def lapsed() -> bool:
        return (await pair.lease_holder(contact_id))[1]

    await until(lapsed, "A's lease to lapse")
    task_b = asyncio.create_task(pair.b.process_contact(contact_id))

    async def b_waits_or_done() -> bool:
        return task_b.done() or await pair.waiting_on_locks() >= 1

    await until(b_waits_or_done, "B to finish or wait for A")
    go.set()
    with caplog.at_level(logging.WARNING):
        done_a = await asyncio.wait_for(task_a, PATIENCE)
        done_b = await asyncio.wait_for(task_b, PATIENCE)
    resume.set()
    await assert_exactly_once(pair, [done_a, done_b])
    assert (done_a, done_b) == (0, 1)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


class _EngineWith:
    """An intake engine whose ``handle_turn`` is replaced (the rest delegated)."""

    def __init__(self, engine: Any, handle_turn: Callable[..., Awaitable[None]]) -> None:
        self._engine = engine
        self.handle_turn = handle_turn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


async def test_without_any_lease_the_claim_alone_keeps_a_turn_once(pair: Pair) -> None:
    """Two processors with no shared exclusion at all (each only guards its own
    process): the conditional claim of the messages is what keeps the turn once."""
    a_rt, b_rt = pair.runtimes
    assert a_rt.processor is not None and b_rt.processor is not None
    a = Processor(
        a_rt.sessions,
        a_rt.processor.engine,
        guard=LocalContactGuard(),
        notify_outbox=pair.notified["a"].append,
    )
    b = Processor(
        b_rt.sessions,
        b_rt.processor.engine,
        guard=LocalContactGuard(),
        notify_outbox=pair.notified["b"].append,
    )
    contact_id = await _store(pair)
    entered, go = asyncio.Event(), asyncio.Event()
    original = a.engine.handle_turn

    async def stalled(session: AsyncSession, messages: Sequence[Message]) -> None:
        entered.set()
        await go.wait()
        await original(session, messages)

    a.engine = _EngineWith(a.engine, stalled)  # type: ignore[assignment]
    task_a = asyncio.create_task(a.process_contact(contact_id))
    await asyncio.wait_for(entered.wait(), PATIENCE)
    task_b = asyncio.create_task(b.process_contact(contact_id))

    async def b_waits_or_done() -> bool:
        return task_b.done() or await pair.waiting_on_locks() >= 1

    await until(b_waits_or_done, "B to finish or wait for A's claim")
    go.set()
    done = [await asyncio.wait_for(task_a, PATIENCE), await asyncio.wait_for(task_b, PATIENCE)]
    await assert_exactly_once(pair, done)
    assert done == [1, 0]
