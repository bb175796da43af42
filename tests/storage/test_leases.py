"""Database leases: one winner under contention, no database error, take-over
of lapsed leases, renewal only by the holder, and fencing a transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import leases
from storage.db import SessionFactory, session_factory
from storage.models import Lease
from storage.types import utcnow
from tests.conftest import make_engine

#: Concurrent takers in the contention tests (within PostgreSQL's pool of 20).
TAKERS = 16


@contextmanager
def database_errors(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every error the database answered while the block ran (a duplicate key
    caught in Python is an error in the server's log all the same)."""
    seen: list[str] = []

    def record(context: Any) -> None:
        seen.append(repr(context.original_exception))

    event.listen(engine.sync_engine, "handle_error", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "handle_error", record)


async def holder_of(sessions: SessionFactory, name: str) -> str | None:
    async with sessions() as session:
        return await session.scalar(select(Lease.holder).where(Lease.name == name))


@pytest.mark.parametrize("lapsed", [False, True], ids=["free", "lapsed"])
async def test_many_concurrent_takers_one_wins_without_a_database_error(
    any_engine: AsyncEngine, lapsed: bool
) -> None:
    sessions = session_factory(any_engine)
    if lapsed:  # a crashed holder's lease, already past its expiry
        assert await leases.acquire(sessions, "contact:1", "crashed", -1)
    with database_errors(any_engine) as errors:
        won = await asyncio.gather(
            *(leases.acquire(sessions, "contact:1", f"taker-{i}", 30) for i in range(TAKERS))
        )
    assert errors == []
    assert won.count(True) == 1
    assert await holder_of(sessions, "contact:1") == f"taker-{won.index(True)}"


async def test_a_lapsed_lease_is_taken_over_and_its_old_holder_is_out(
    any_sessions: SessionFactory,
) -> None:
    assert await leases.acquire(any_sessions, "imap:box", "a", -1)  # lapsed at once
    assert await leases.acquire(any_sessions, "imap:box", "b", 30)
    assert not await leases.renew(any_sessions, "imap:box", "a", 30)
    assert not await leases.acquire(any_sessions, "imap:box", "a", 30)
    async with any_sessions() as session, session.begin():
        assert not await leases.holds(session, "imap:box", "a", 30)
    assert await holder_of(any_sessions, "imap:box") == "b"


async def test_renewal_is_for_the_holder_only(any_sessions: SessionFactory) -> None:
    assert await leases.acquire(any_sessions, "contact:2", "a", 30)
    assert not await leases.renew(any_sessions, "contact:2", "b", 30)
    assert not await leases.renew(any_sessions, "nobody:here", "a", 30)
    assert not await leases.acquire(any_sessions, "contact:2", "b", 30)
    before = utcnow()
    assert await leases.renew(any_sessions, "contact:2", "a", 300)
    async with any_sessions() as session:
        lease = await session.get(Lease, "contact:2")
    assert lease is not None and lease.holder == "a"
    assert lease.expires_at >= before + timedelta(seconds=299)
    await leases.release(any_sessions, "contact:2", "b")  # not b's: nothing happens
    assert await holder_of(any_sessions, "contact:2") == "a"
    await leases.release(any_sessions, "contact:2", "a")
    assert await holder_of(any_sessions, "contact:2") is None
    assert not await leases.renew(any_sessions, "contact:2", "a", 30)  # released is gone


async def test_a_lapsed_lease_nobody_took_is_still_held(any_sessions: SessionFactory) -> None:
    assert await leases.acquire(any_sessions, "contact:3", "a", -1)
    async with any_sessions() as session, session.begin():
        assert await leases.holds(session, "contact:3", "a", 30)  # and extended
    assert not await leases.acquire(any_sessions, "contact:3", "b", 30)


@pytest.mark.parametrize("ending", ["commit", "rollback"])
async def test_a_fenced_transaction_keeps_the_lease_until_it_ends(
    tmp_path: Path, ending: str
) -> None:
    """PostgreSQL: a take-over waits for the fenced transaction, then sees its
    outcome (a commit keeps the extended lease, a rollback leaves it lapsed)."""
    engine = await make_engine("postgresql", tmp_path)
    sessions = session_factory(engine)
    try:
        assert await leases.acquire(sessions, "contact:4", "a", -1)  # lapsed
        async with sessions() as fenced:
            await fenced.begin()
            assert await leases.holds(fenced, "contact:4", "a", 30)
            taker = asyncio.create_task(leases.acquire(sessions, "contact:4", "b", 30))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while not await _waiting_on_locks(engine):
                assert not taker.done(), "the take-over did not wait for the fenced transaction"
                assert loop.time() < deadline, "the take-over never waited"
                await asyncio.sleep(0.02)
            await (fenced.commit() if ending == "commit" else fenced.rollback())
        took = await asyncio.wait_for(taker, 20)
        assert took is (ending == "rollback")
        assert await holder_of(sessions, "contact:4") == ("b" if took else "a")
    finally:
        await engine.dispose()


async def _waiting_on_locks(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                " WHERE NOT l.granted AND a.datname = current_database()"
            )
        )
    return bool(waiting)
