"""Server-side staff sessions for the inbox (docs/staff-access.md).

The browser holds a random 256-bit token in an HttpOnly cookie; the database
holds its SHA-256 (:class:`storage.models.StaffSession`), the staff member,
the synchronizer CSRF token and the times. A session ends at its absolute
expiry, after ``idle`` without a request, at sign-out, or when its staff
account is deactivated — whichever comes first.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import StaffSession, StaffUser
from storage.types import utcnow

#: ``last_seen_at`` is written at most this often per session.
TOUCH_INTERVAL = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long sessions live: ``lifetime`` from sign-in, ``idle`` between requests."""

    lifetime: timedelta = timedelta(hours=12)
    idle: timedelta = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class ActiveSession:
    """A valid session: its row id, the staff member and the CSRF token."""

    id: int
    user: StaffUser
    csrf_token: str


async def start_session(
    session: AsyncSession,
    user: StaffUser,
    *,
    policy: SessionPolicy,
    ip: str | None,
    user_agent: str | None,
    now: datetime | None = None,
) -> tuple[str, ActiveSession]:
    """Open a session for ``user``; returns the cookie token (shown once) and the session."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = StaffSession(
        token_hash=_digest(token),
        staff_user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.lifetime,
        ip=(ip or "")[:64] or None,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(row)
    await session.flush()
    return token, ActiveSession(row.id, user, row.csrf_token)


async def load_session(
    session: AsyncSession, token: str, *, policy: SessionPolicy, now: datetime | None = None
) -> ActiveSession | None:
    """The valid session behind cookie ``token``, or ``None``.

    An expired or idle session is deleted; ``last_seen_at`` is refreshed at
    most once per :data:`TOUCH_INTERVAL`. The caller commits.
    """
    if not token or len(token) > 100:
        return None
    found = (
        await session.execute(
            select(StaffSession, StaffUser)
            .join(StaffUser, StaffUser.id == StaffSession.staff_user_id)
            .where(StaffSession.token_hash == _digest(token))
        )
    ).first()
    if found is None:
        return None
    row, user = found
    now = now or utcnow()
    if not user.active or row.expires_at <= now or now - row.last_seen_at > policy.idle:
        await session.execute(delete(StaffSession).where(StaffSession.id == row.id))
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        await session.execute(
            update(StaffSession).where(StaffSession.id == row.id).values(last_seen_at=now)
        )
    return ActiveSession(row.id, user, row.csrf_token)


async def end_session(session: AsyncSession, token: str) -> None:
    """Sign out: delete the session behind ``token`` (nothing if there is none)."""
    await session.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(token)))


async def end_user_sessions(session: AsyncSession, user_id: int) -> int:
    """Delete every session of a staff member (password change, deactivation); returns how many."""
    result = await session.execute(
        delete(StaffSession).where(StaffSession.staff_user_id == user_id)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
