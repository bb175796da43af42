"""Rate-gate slots in the database: rows of ``leases``
(docs/architecture.md, "Shared rate limits")."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.rate_gates.slots import EPOCH, HOLDER, PREFIX, Request, Slot, micros, row_name
from storage.db import SessionFactory, dialect_insert
from storage.models import Lease
from storage.types import utcnow


class DatabaseSlots:
    """Slots as rows of ``leases`` (docs/architecture.md, "Shared rate limits"): ``rate:<key>`` whose
    ``expires_at`` is the key's next free time, and ``rate:<grid>@<index>``
    for each taken grid slot, ``expires_at`` its time.

    One transaction per reservation: the key's row is created if missing and
    locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has one writer at a
    time); grid rows are inserted from the first candidate on until one is
    new (a concurrent insert of the same slot waits for the other
    transaction, then finds it taken). Rows long past their time are deleted
    every ``prune_every`` reservations. Raises SQLAlchemy's errors (including
    the database deadlines' timeouts).
    """

    def __init__(self, sessions: SessionFactory, *, prune_every: int = 1000) -> None:
        self._sessions = sessions
        self._prune_every = prune_every
        self._count = 0

    async def reserve(self, request: Request) -> Slot:
        """See :meth:`SlotBook.reserve`."""
        async with self._sessions() as session, session.begin():
            postgres = session.get_bind().dialect.name == "postgresql"
            insert = dialect_insert(session)
            key = row_name(request.key) if request.key else None
            if key is not None:  # the first statement writes: SQLite's lock is ours
                await session.execute(
                    insert(Lease)
                    .values(name=key, holder=HOLDER, expires_at=EPOCH)
                    .on_conflict_do_nothing(index_elements=["name"])
                )
                row = await session.execute(
                    select(Lease.expires_at).where(Lease.name == key).with_for_update()
                )
                key_free = row.scalar_one()
            now = await _database_now(session, postgres=postgres)
            slot = max(now, key_free) if key is not None else now
            if request.grid:
                grid_us = micros(request.grid_seconds)
                index = math.ceil(_epoch_micros(slot) / grid_us)
                while True:
                    at = EPOCH + timedelta(microseconds=index * grid_us)
                    taken = await session.execute(
                        insert(Lease)
                        .values(
                            name=f"{row_name(request.grid)}@{index}", holder=HOLDER, expires_at=at
                        )
                        .on_conflict_do_nothing(index_elements=["name"])
                    )
                    if taken.rowcount:  # type: ignore[attr-defined]
                        break
                    index += 1
                slot = max(slot, at)
            if key is not None:
                await session.execute(
                    update(Lease)
                    .where(Lease.name == key)
                    .values(expires_at=slot + timedelta(seconds=request.key_seconds))
                )
        self._count += 1
        if self._count % self._prune_every == 0:
            await self.prune(older_than=now - timedelta(minutes=1))
        return Slot(at=slot.timestamp(), delay=(slot - now).total_seconds())

    async def prune(self, *, older_than: datetime) -> int:
        """Delete gate rows free since before ``older_than``; returns how many."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(Lease).where(
                    Lease.name.startswith(PREFIX, autoescape=True),
                    Lease.holder == HOLDER,
                    Lease.expires_at < older_than,
                )
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def close(self) -> None:
        """Nothing to release: sessions come from the runtime's engine."""


def _epoch_micros(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


async def _database_now(session: AsyncSession, *, postgres: bool) -> datetime:
    if not postgres:
        return utcnow()  # SQLite: one host
    now: datetime = (await session.execute(select(func.clock_timestamp()))).scalar_one()
    return now.astimezone(UTC)
