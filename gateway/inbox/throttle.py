"""Sign-in throttling (issue 5, item 1): failures counted per account and per address.

Each key (``user:<username>``, ``ip:<address>``) may fail ``limit`` times in
``window``; the next failure locks it for ``lockout``. A successful sign-in
clears the account's key. Counting lives in the database
(:class:`storage.models.LoginThrottle`), so it holds across processes and
restarts, and an attacker cannot reset it by hitting another worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LoginThrottle
from storage.types import utcnow


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """Failures allowed per key in ``window`` before a ``lockout``."""

    user_limit: int = 5
    ip_limit: int = 20
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


def keys(username: str, ip: str | None) -> list[tuple[str, str]]:
    """``(key, kind)`` pairs counted for one attempt; kind is ``user`` or ``ip``."""
    found = [(f"user:{username.strip().lower()[:100]}", "user")]
    if ip:
        found.append((f"ip:{ip[:64]}", "ip"))
    return found


async def locked_until(
    session: AsyncSession, username: str, ip: str | None, *, now: datetime | None = None
) -> datetime | None:
    """When the latest lock on this account or address ends, or ``None`` if not locked."""
    now = now or utcnow()
    rows = await session.scalars(
        select(LoginThrottle).where(LoginThrottle.key.in_([k for k, _ in keys(username, ip)]))
    )
    ends = [r.locked_until for r in rows if r.locked_until is not None and r.locked_until > now]
    return max(ends) if ends else None


async def record_failure(
    session: AsyncSession,
    username: str,
    ip: str | None,
    *,
    policy: ThrottlePolicy,
    now: datetime | None = None,
) -> None:
    """Count a failed sign-in against the account and the address; lock on the limit."""
    now = now or utcnow()
    for key, kind in keys(username, ip):
        limit = policy.user_limit if kind == "user" else policy.ip_limit
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await session.execute(
            insert(LoginThrottle)
            .values(key=key, failures=0, window_start=now)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        row = await session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
        assert row is not None  # inserted above or already there
        if now - row.window_start > policy.window:
            row.failures, row.window_start = 0, now
        row.failures += 1
        if row.failures >= limit:
            row.locked_until = now + policy.lockout
            row.failures, row.window_start = 0, now
    await session.flush()


async def record_success(session: AsyncSession, username: str) -> None:
    """Clear the account's failures after a successful sign-in."""
    key, _ = keys(username, None)[0]
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
