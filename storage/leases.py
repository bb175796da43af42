"""Named, expiring locks in the database (``leases`` table).

Used so several gateway processes can run side by side: one IMAP poller per
mailbox, one processor per contact (docs/architecture.md, "Exactly-once
processing"). A lease that is not renewed lapses at ``expires_at`` and can be
taken by another holder, so a crashed process never blocks work for long.

Taking a lease is one ``INSERT … ON CONFLICT (name) DO UPDATE … WHERE`` the
row is ours or has lapsed: contention is answered by the database without an
error (no duplicate-key error is raised, caught or logged by PostgreSQL).
Holder ids are unique per hold, so a lease taken over always changes
``holder``; :func:`holds` relies on that to fence a transaction.

:func:`acquire`, :func:`renew` and :func:`release` run to their end when the
task awaiting them is cancelled (:func:`storage.uncancelled.runs_to_end`): the
keepers and renewers that call them are cancelled as a matter of course.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import SessionFactory, dialect_insert
from storage.models import Lease
from storage.types import utcnow
from storage.uncancelled import runs_to_end


def new_holder_id() -> str:
    """An identifier unique to this process (host, pid, random suffix)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def take(
    session: AsyncSession,
    name: str,
    holder: str,
    ttl_seconds: float,
    *,
    now: datetime | None = None,
) -> bool:
    """Take or renew lease ``name`` inside the caller's transaction; True if
    ``holder`` has it now, until ``now + ttl_seconds``.

    False while another holder's lease is unexpired (``expires_at >= now``).
    One statement, no error on contention: concurrent takers of a free or
    lapsed lease are ordered by the database and exactly one wins.
    """
    now = now or utcnow()
    insert = dialect_insert(session)
    row = insert(Lease).values(
        name=name, holder=holder, expires_at=now + timedelta(seconds=ttl_seconds)
    )
    statement = row.on_conflict_do_update(
        index_elements=[Lease.name],
        set_={"holder": row.excluded.holder, "expires_at": row.excluded.expires_at},
        where=(Lease.holder == holder) | (Lease.expires_at < now),
    ).returning(Lease.name)
    return (await session.execute(statement)).first() is not None


@runs_to_end
async def acquire(sessions: SessionFactory, name: str, holder: str, ttl_seconds: float) -> bool:
    """Take or renew lease ``name`` for ``ttl_seconds`` in a transaction of its
    own; True if ``holder`` has it now (see :func:`take`). Never raises on
    contention."""
    async with sessions() as session, session.begin():
        return await take(session, name, holder, ttl_seconds)


async def holds(session: AsyncSession, name: str, holder: str, ttl_seconds: float) -> bool:
    """Fence the caller's transaction with lease ``name``: True if ``holder``
    still holds it, which is then extended to ``ttl_seconds`` from now.

    The lease row stays locked until the caller's transaction ends (a row lock
    on PostgreSQL, the write lock on SQLite), so no one can take the lease
    over before that transaction has committed or rolled back: work committed
    after a True answer was done under the lease. A lease that lapsed but was
    not taken over is still ``holder``'s (taking it rewrites ``holder`` under
    the same lock) and counts as held. False: the lease was taken over or
    released; the caller must roll back.
    """
    result = await session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=utcnow() + timedelta(seconds=ttl_seconds))
        .returning(Lease.name)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


@runs_to_end
async def renew(sessions: SessionFactory, name: str, holder: str, ttl_seconds: float) -> bool:
    """Extend ``holder``'s lease ``name`` to ``ttl_seconds`` from now, in a
    transaction of its own; False when ``holder`` no longer holds it (taken
    over or released), in which case nothing changes."""
    async with sessions() as session, session.begin():
        return await holds(session, name, holder, ttl_seconds)


@runs_to_end
async def release(sessions: SessionFactory, name: str, holder: str) -> None:
    """Give up lease ``name`` if ``holder`` holds it (no error otherwise)."""
    async with sessions() as session, session.begin():
        await session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
