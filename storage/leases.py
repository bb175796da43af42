"""Named, expiring locks in the database (``leases`` table).

Used so several gateway processes can run side by side: one IMAP poller per
mailbox, one processor per contact (DESIGN.md, "Embedded default, and
scale-out"). A lease that is not renewed lapses at ``expires_at`` and can be
taken by another holder, so a crashed process never blocks work for long.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from storage.db import SessionFactory
from storage.models import Lease
from storage.types import utcnow


def new_holder_id() -> str:
    """An identifier unique to this process (host, pid, random suffix)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def acquire(sessions: SessionFactory, name: str, holder: str, ttl_seconds: float) -> bool:
    """Take or renew lease ``name`` for ``ttl_seconds``; True if ``holder`` has it now.

    Returns False while another holder's lease is unexpired. Never raises on
    contention.
    """
    now = utcnow()
    expires = now + timedelta(seconds=ttl_seconds)
    async with sessions() as session, session.begin():
        result = await session.execute(
            update(Lease)
            .where(Lease.name == name, (Lease.holder == holder) | (Lease.expires_at < now))
            .values(holder=holder, expires_at=expires)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            return True
    try:
        async with sessions() as session, session.begin():
            session.add(Lease(name=name, holder=holder, expires_at=expires))
        return True
    except IntegrityError:
        return False


async def release(sessions: SessionFactory, name: str, holder: str) -> None:
    """Give up lease ``name`` if ``holder`` holds it (no error otherwise)."""
    async with sessions() as session, session.begin():
        await session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
