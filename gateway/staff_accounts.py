"""Staff accounts managed by the administrator: add, change role, deactivate, reset password.

The write side behind the inbox's user pages (:mod:`gateway.inbox.users`),
called through :class:`gateway.staff.StaffService`. Each function works in
the caller's transaction and records one :class:`storage.models.StaffUserAudit`
row (who, when, what, before/after; never a password). Rules:

* only ``admin`` may change accounts (the CLI, ``aduan user …``, stays the
  way in from a shell);
* a role is one of the profile's ``roles`` or ``admin`` (the profile's
  ``roles`` name who works a complaint, SOP-7.9-1 items 4-8; with none, the
  CLI's defaults);
* the last active ``admin`` can be neither demoted nor deactivated, so that
  somebody can always manage the accounts;
* deactivating an account or resetting its password ends every session of
  it (:func:`gateway.staff_sessions.end_user_sessions`);
* passwords have at least :data:`gateway.passwords.MIN_PASSWORD_LENGTH`
  characters and are stored as argon2id hashes only.

Bad input raises :class:`AccountRefused` with a code; nothing is changed.
"""

from __future__ import annotations

import asyncio
import enum
import secrets
from dataclasses import dataclass
from typing import Any, TypedDict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.passwords import MIN_PASSWORD_LENGTH, hash_password
from gateway.staff_sessions import end_user_sessions
from handlers.profile import Profile
from handlers.workflow import Actor
from storage.models import StaffUser, StaffUserAudit
from storage.types import utcnow

ADMIN = "admin"
#: Roles offered when the profile declares none (as ``aduan user add``).
DEFAULT_ROLES = ("secretariat", "officer", "manager")
#: Characters of a generated password (shown once).
GENERATED_LENGTH = 16


class Refusal(enum.StrEnum):
    """Why a change to an account was refused."""

    FORBIDDEN = "forbidden"
    UNKNOWN_USER = "unknown_user"
    USERNAME = "username"
    DUPLICATE = "duplicate"
    FULL_NAME = "full_name"
    EMAIL = "email"
    UNKNOWN_ROLE = "unknown_role"
    WEAK_PASSWORD = "weak_password"  # noqa: S105 - an error code
    LAST_ADMIN = "last_admin"


class AccountRefused(Exception):
    """A change to a staff account was refused; nothing was changed."""

    def __init__(self, code: Refusal, message: str) -> None:
        super().__init__(message)
        self.code = code


class Action(enum.StrEnum):
    """What an audit row records."""

    CREATED = "created"
    ROLE_CHANGED = "role_changed"
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an action name


class NewAccount(TypedDict):
    """The fields of a new account, as :func:`create_account` takes them."""

    username: str
    full_name: str
    email: str
    role: str
    password: str


@dataclass(frozen=True, slots=True)
class AccountResult:
    """A changed account, the password generated for it (shown once, else ``None``)
    and how many sessions were ended."""

    user: StaffUser
    generated_password: str | None = None
    sessions_ended: int = 0


def assignable_roles(profile: Profile) -> list[str]:
    """``admin`` then the profile's roles in profile order (the CLI's defaults when none)."""
    return [ADMIN, *(profile.roles or DEFAULT_ROLES)]


def generate_password() -> str:
    """A random password of :data:`GENERATED_LENGTH` URL-safe characters."""
    return secrets.token_urlsafe(GENERATED_LENGTH)[:GENERATED_LENGTH]


def _require_admin(actor: Actor) -> None:
    if actor.role != ADMIN:
        raise AccountRefused(Refusal.FORBIDDEN, f"role {actor.role} may not manage accounts")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountRefused(
            Refusal.WEAK_PASSWORD,
            f"the password needs at least {MIN_PASSWORD_LENGTH} characters",
        )


async def _hash(password: str) -> str:
    _check_password(password)
    return await asyncio.to_thread(hash_password, password)  # argon2: off the event loop


def _audit(
    session: AsyncSession,
    user: StaffUser,
    action: Action,
    actor: Actor,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    session.add(
        StaffUserAudit(
            staff_user_id=user.id,
            username=user.username,
            action=action.value,
            actor=actor.label,
            at=utcnow(),
            before=before,
            after=after,
        )
    )


async def load_user(session: AsyncSession, user_id: int, *, lock: bool = False) -> StaffUser:
    """The staff account ``user_id``; raises :class:`AccountRefused` (``unknown_user``)."""
    query = select(StaffUser).where(StaffUser.id == user_id)
    if lock:
        query = query.with_for_update()
    user = await session.scalar(query)
    if user is None:
        raise AccountRefused(Refusal.UNKNOWN_USER, f"no staff user {user_id}")
    return user


async def _lock_admins(session: AsyncSession) -> list[int]:
    """The ids of the active admins, their rows locked (PostgreSQL) in id order.

    Taken first by every change that may remove an admin, so two
    administrators demoting or deactivating each other at once are
    serialised (always the same lock order: no deadlock) and the second sees
    the first's result.
    """
    return list(
        await session.scalars(
            select(StaffUser.id)
            .where(StaffUser.role == ADMIN, StaffUser.active.is_(True))
            .order_by(StaffUser.id)
            .with_for_update()
        )
    )


def _keep_an_admin(user: StaffUser, admins: list[int]) -> None:
    if user.role == ADMIN and user.active and not [i for i in admins if i != user.id]:
        raise AccountRefused(
            Refusal.LAST_ADMIN, f"{user.username} is the last active administrator"
        )


async def create_account(
    session: AsyncSession,
    *,
    profile: Profile,
    actor: Actor,
    username: str,
    full_name: str,
    email: str,
    role: str,
    password: str,
) -> AccountResult:
    """Add an active account; an empty ``password`` generates one (returned, shown once).

    ``username``: ASCII, no spaces, at most 100 characters, not taken;
    ``full_name``: 1-200 characters; ``email``: empty or an address;
    ``role``: one of :func:`assignable_roles`.
    """
    _require_admin(actor)
    username, full_name, email = username.strip(), full_name.strip(), email.strip()
    if (
        not username
        or len(username) > 100
        or not username.isascii()
        or any(c.isspace() for c in username)
    ):
        raise AccountRefused(Refusal.USERNAME, "a username is ASCII without spaces, 1-100 long")
    if not full_name or len(full_name) > 200:
        raise AccountRefused(Refusal.FULL_NAME, "a full name has 1-200 characters")
    if email and (len(email) > 320 or "@" not in email.strip("@") or " " in email):
        raise AccountRefused(Refusal.EMAIL, f"{email!r} is not an email address")
    if role not in assignable_roles(profile):
        raise AccountRefused(Refusal.UNKNOWN_ROLE, f"{role!r} is not a role of the profile")
    generated = None if password else generate_password()
    password_hash = await _hash(password or generated or "")
    taken = await session.scalar(
        select(func.count()).select_from(StaffUser).where(StaffUser.username == username)
    )
    if taken:
        raise AccountRefused(Refusal.DUPLICATE, f"user {username!r} already exists")
    user = StaffUser(
        username=username,
        full_name=full_name,
        email=email or None,
        role=role,
        password_hash=password_hash,
        active=True,
    )
    session.add(user)
    await session.flush()
    _audit(
        session,
        user,
        Action.CREATED,
        actor,
        {},
        {"role": role, "full_name": full_name, "email": email or None, "active": True},
    )
    return AccountResult(user, generated)


async def change_role(
    session: AsyncSession, *, profile: Profile, actor: Actor, user_id: int, role: str
) -> AccountResult:
    """Give the account ``role`` (one of :func:`assignable_roles`); the last active admin
    keeps ``admin``. The same role again changes and records nothing."""
    _require_admin(actor)
    if role not in assignable_roles(profile):
        raise AccountRefused(Refusal.UNKNOWN_ROLE, f"{role!r} is not a role of the profile")
    admins = await _lock_admins(session)
    user = await load_user(session, user_id, lock=True)
    if user.role == role:
        return AccountResult(user)
    _keep_an_admin(user, admins)
    before = user.role
    user.role = role
    _audit(session, user, Action.ROLE_CHANGED, actor, {"role": before}, {"role": role})
    return AccountResult(user)


async def set_active(
    session: AsyncSession, *, actor: Actor, user_id: int, active: bool
) -> AccountResult:
    """Deactivate (ending every session) or reactivate the account; the last active admin
    stays active. No change records nothing."""
    _require_admin(actor)
    admins = await _lock_admins(session)
    user = await load_user(session, user_id, lock=True)
    if user.active == active:
        return AccountResult(user)
    if not active:
        _keep_an_admin(user, admins)
    user.active = active
    ended = 0 if active else await end_user_sessions(session, user.id)
    _audit(
        session,
        user,
        Action.REACTIVATED if active else Action.DEACTIVATED,
        actor,
        {"active": not active},
        {"active": active},
    )
    return AccountResult(user, sessions_ended=ended)


async def reset_password(
    session: AsyncSession, *, actor: Actor, user_id: int, password: str
) -> AccountResult:
    """Set a temporary password (an empty one generates it, returned once); every
    session of the account ends. The audit row says only that it was reset."""
    _require_admin(actor)
    generated = None if password else generate_password()
    password_hash = await _hash(password or generated or "")
    user = await load_user(session, user_id, lock=True)
    user.password_hash = password_hash
    ended = await end_user_sessions(session, user.id)
    _audit(
        session,
        user,
        Action.PASSWORD_RESET,
        actor,
        {},
        {"generated": generated is not None},
    )
    return AccountResult(user, generated, ended)
