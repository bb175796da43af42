"""Rate limits and used form nonces, kept in the database (docs/web-form.md, "Limits").

Counting lives in the database so it holds across gateway processes, arq
workers and restarts. Each key has one :class:`storage.models.RateLimit` row
holding a sliding log of its recent hits; :func:`hit` locks that row (a row
lock on PostgreSQL; SQLite's single writer elsewhere), drops hits older than
the longest window, and records a new hit only when every limit still has
room — so no limit is ever exceeded, even by concurrent requests, and a
refused attempt stores nothing. Rows and nonces past their expiry are removed
by :func:`prune`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import FormNonce, RateLimit
from storage.types import utcnow

#: Nonce kinds (:class:`storage.models.FormNonce`).
NONCE_SUBMITTED = "submitted"
NONCE_HONEYPOT = "honeypot"


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``count`` hits in any ``window`` (a sliding window).

    Raises ``ValueError`` for a count below 1 or a window that is not positive.
    """

    count: int
    window: timedelta

    def __post_init__(self) -> None:
        if self.count < 1 or self.window <= timedelta(0):
            raise ValueError("a limit needs count >= 1 and a positive window")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer of :func:`hit`: whether it was allowed (and recorded), and if
    not, how long until the tightest full limit has room again."""

    allowed: bool
    retry_after: timedelta = timedelta(0)


def limit_key(kind: str, value: str) -> str:
    """The stored key for ``value`` (an address): ``<kind>:<SHA-256 hex, 64>``.

    The value itself is never stored (UU 27/2022 data minimisation); the key
    is pseudonymous, not anonymous, and goes with the row's expiry.
    Raises ``ValueError`` for a ``kind`` longer than 30 characters.
    """
    if len(kind) > 30:
        raise ValueError("rate-limit kind too long")
    return f"{kind}:{hashlib.sha256(value.encode('utf-8')).hexdigest()}"


async def hit(
    session: AsyncSession,
    key: str,
    limits: Sequence[Limit],
    *,
    now: datetime | None = None,
) -> Verdict:
    """Record one hit on ``key`` if every limit in ``limits`` has room.

    Runs in the caller's transaction (commit it to make the hit count) and
    locks the key's row until then. Returns ``Verdict(True)`` when recorded,
    else ``Verdict(False, retry_after)`` and records nothing. With no
    ``limits`` every hit is allowed and nothing is stored.
    """
    if not limits:
        return Verdict(True)
    now = now or utcnow()
    stamp = now.timestamp()
    longest = max(limit.window for limit in limits)
    await session.execute(
        dialect_insert(session)(RateLimit)
        .values(key=key, hits=[], expires_at=now + longest)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = await session.get(RateLimit, key, with_for_update=True, populate_existing=True)
    assert row is not None  # inserted above or already there
    recent = sorted(
        float(h)
        for h in (row.hits or [])
        if isinstance(h, int | float) and stamp - float(h) < longest.total_seconds()
    )
    waits: list[float] = []
    for limit in limits:
        inside = [h for h in recent if stamp - h < limit.window.total_seconds()]
        if len(inside) >= limit.count:
            # Room again once the oldest hit that keeps the window full leaves it.
            oldest = inside[len(inside) - limit.count]
            waits.append(oldest + limit.window.total_seconds() - stamp)
    if waits:
        row.hits = recent
        await session.flush()
        return Verdict(False, timedelta(seconds=max(1.0, max(waits))))
    row.hits = [*recent, stamp]
    row.expires_at = now + longest
    await session.flush()
    return Verdict(True)


async def used_nonce(session: AsyncSession, nonce: str) -> str | None:
    """The kind a form nonce was used for (``submitted``/``honeypot``), or ``None``."""
    return await session.scalar(select(FormNonce.kind).where(FormNonce.nonce == nonce))


async def use_nonce(session: AsyncSession, nonce: str, kind: str, expires_at: datetime) -> None:
    """Mark ``nonce`` used for ``kind`` until ``expires_at``; a nonce already
    marked keeps its first kind. Runs in the caller's transaction."""
    await session.execute(
        dialect_insert(session)(FormNonce)
        .values(nonce=nonce, kind=kind, used_at=utcnow(), expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=["nonce"])
    )


async def prune(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete rate-limit rows and used nonces past their expiry; returns how many.

    Runs in the caller's transaction.
    """
    now = now or utcnow()
    removed = 0
    for model in (RateLimit, FormNonce):
        result = await session.execute(delete(model).where(model.expires_at < now))
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed
