"""Staff API tokens: create, check, list, revoke (``aduan token …``).

A token is ``adu_`` followed by 43 URL-safe characters (256 random bits from
:mod:`secrets`). Only its SHA-256 is stored — a slow password hash buys
nothing against a 256-bit secret — so a stolen database does not reveal
tokens; the plain token is shown once, when created. A token acts with its
owner's role; it is refused once revoked, after its expiry, or when its owner
is deactivated.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiToken, StaffUser
from storage.types import utcnow

TOKEN_PREFIX = "adu_"  # noqa: S105 - a visible marker, not a secret
#: Characters of a token kept in clear to tell tokens apart in lists.
SHOWN_PREFIX = 12
#: ``last_used_at`` is written at most this often per token (saves a write per request).
TOUCH_INTERVAL = timedelta(minutes=1)


class TokenError(Exception):
    """A token cannot be created or revoked; the message says why."""


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just created: ``secret`` is shown once and never stored."""

    id: int
    secret: str
    prefix: str
    username: str
    expires_at: datetime | None


def digest(secret: str) -> str:
    """The stored form of a token: hex SHA-256 of its text."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_token(
    session: AsyncSession,
    username: str,
    *,
    name: str,
    expires_in: timedelta | None = None,
    now: datetime | None = None,
) -> NewToken:
    """Create a token for the active staff user ``username``.

    ``name`` says what the token is for (e.g. ``"inbox import script"``, at
    most 100 characters). Raises :class:`TokenError` for an unknown or
    inactive user, an empty or over-long name, or a non-positive lifetime.
    """
    label = name.strip()
    if not label or len(label) > 100:
        raise TokenError("give the token a name of 1 to 100 characters (what it is for)")
    if expires_in is not None and expires_in <= timedelta(0):
        raise TokenError("the lifetime must be positive")
    user = await session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None or not user.active:
        raise TokenError(f"no active staff user {username!r}; create one with 'aduan user add'")
    now = now or utcnow()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        staff_user_id=user.id,
        name=label,
        prefix=secret[:SHOWN_PREFIX],
        token_hash=digest(secret),
        created_at=now,
        expires_at=now + expires_in if expires_in is not None else None,
    )
    session.add(row)
    await session.flush()
    return NewToken(row.id, secret, row.prefix, user.username, row.expires_at)


async def authenticate(
    session: AsyncSession, secret: str, *, now: datetime | None = None
) -> StaffUser | None:
    """The active staff user owning the valid token ``secret``, else ``None``.

    Records ``last_used_at`` (at most once per :data:`TOUCH_INTERVAL`); the
    caller commits.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    wanted = digest(secret)
    found = (
        await session.execute(
            select(ApiToken, StaffUser)
            .join(StaffUser, StaffUser.id == ApiToken.staff_user_id)
            .where(ApiToken.token_hash == wanted)
        )
    ).first()
    if found is None:
        return None
    token, user = found
    now = now or utcnow()
    if not hmac.compare_digest(token.token_hash, wanted):
        return None
    if token.revoked_at is not None or not user.active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
        await session.execute(
            update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
        )
    return user


async def list_tokens(
    session: AsyncSession, username: str | None = None
) -> list[tuple[ApiToken, str]]:
    """Every token (or ``username``'s) with its owner's username, newest first."""
    query = (
        select(ApiToken, StaffUser.username)
        .join(StaffUser, StaffUser.id == ApiToken.staff_user_id)
        .order_by(ApiToken.id.desc())
    )
    if username is not None:
        query = query.where(StaffUser.username == username)
    return [(token, name) for token, name in await session.execute(query)]


async def revoke_token(session: AsyncSession, ref: str, *, now: datetime | None = None) -> ApiToken:
    """Revoke the token with id or shown prefix ``ref``; returns it.

    Raises :class:`TokenError` when no token, or more than one, matches, or
    it is already revoked.
    """
    query = select(ApiToken)
    query = (
        query.where(ApiToken.id == int(ref))
        if ref.isdigit()
        else query.where(ApiToken.prefix == ref[:SHOWN_PREFIX])
    )
    matches = list(await session.scalars(query))
    if not matches:
        raise TokenError(f"no token {ref!r}; see 'aduan token list'")
    if len(matches) > 1:
        raise TokenError(f"{ref!r} matches {len(matches)} tokens; give the id")
    token = matches[0]
    if token.revoked_at is not None:
        raise TokenError(f"token {token.id} was already revoked")
    token.revoked_at = now or utcnow()
    await session.flush()
    return token
