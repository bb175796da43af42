"""A unit of database work runs to its end when the task awaiting it is
cancelled (storage/uncancelled.py): the cancellation takes effect after the
commit, and SQLite is never left locked by a transaction cut off midway."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import leases
from storage.db import Deadlines, create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Lease
from storage.uncancelled import run_to_end

#: Cancellation points swept across one lease transaction (connect, INSERT,
#: fetch, COMMIT): a step of 40 µs over 0–8 ms.
CANCEL_AFTER_SECONDS = [i * 0.00004 for i in range(200)]


async def test_the_result_and_the_error_of_the_work_come_through() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    async def fail() -> None:
        await asyncio.sleep(0)
        raise ValueError("bad row")

    assert await run_to_end(answer()) == 42
    with pytest.raises(ValueError, match="bad row"):
        await run_to_end(fail())


async def test_a_cancelled_caller_waits_for_the_work_then_is_cancelled() -> None:
    finished: list[str] = []
    started = asyncio.Event()

    async def work() -> str:
        started.set()
        await asyncio.sleep(0.05)
        finished.append("committed")
        return "done"

    caller = asyncio.ensure_future(run_to_end(work()))
    await started.wait()
    caller.cancel()
    await asyncio.sleep(0)
    assert not caller.done()  # still waiting for the work
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert finished == ["committed"]


async def test_a_timeout_around_it_ends_after_the_work_as_a_timeout() -> None:
    finished: list[str] = []

    async def work() -> None:
        await asyncio.sleep(0.05)
        finished.append("committed")

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await run_to_end(work())
    assert finished == ["committed"]


async def test_cancelling_lease_transactions_never_leaves_sqlite_locked(tmp_path: Path) -> None:
    """The lease keeper of a poller is cancelled whenever a pass ends; before
    the lease functions ran to their end, a cancellation landing inside the
    INSERT left the write lock held and the next writer failed with
    "database is locked" after the busy timeout."""
    engine = create_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
        deadlines=Deadlines(statement=0.5),
    )
    await upgrade(engine)
    sessions = session_factory(engine)
    cut_midway = 0
    try:
        for delay in CANCEL_AFTER_SECONDS:
            taker = asyncio.ensure_future(leases.acquire(sessions, "imap:box", "keeper", 30))
            await asyncio.sleep(delay)
            taker.cancel()
            await asyncio.gather(taker, return_exceptions=True)
            async with sessions() as session:
                holder = await session.scalar(select(Lease.holder).where(Lease.name == "imap:box"))
            if taker.cancelled() and holder == "keeper":
                cut_midway += 1  # cancelled after the work began: it committed all the same
            # The next writer is not kept waiting by a transaction cut off midway.
            await leases.release(sessions, "imap:box", "keeper")
    finally:
        await engine.dispose()
    assert cut_midway > 0, "no cancellation landed inside a transaction; widen the sweep"
