"""Staff accounts and their audit, for the user management pages (``/inbox/users``).

Only the administrator reaches these pages (:mod:`gateway.inbox.users`
refuses anyone else before asking); the rules of what may change are in
:mod:`gateway.staff_accounts`. A password or its hash is never part of a
view here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import StaffSession, StaffUser, StaffUserAudit


@dataclass(frozen=True, slots=True)
class Account:
    """A staff account as the pages show it.

    ``role`` is the role's code (the page names it through the profile);
    ``last_sign_in`` is when its newest session still kept began (aware UTC),
    ``None`` when none is kept (always ``None`` from :func:`account`).
    """

    id: int
    username: str
    full_name: str
    role: str
    email: str | None
    active: bool
    last_sign_in: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One change to an account (:class:`storage.models.StaffUserAudit`): who
    (``actor``, ``staff:<username>``) did ``action`` to ``username`` at ``at``
    (aware UTC), with the audited fields before and after (never a password)."""

    at: datetime
    actor: str
    username: str
    action: str
    before: dict[str, Any]
    after: dict[str, Any]


def _account(user: StaffUser, last_sign_in: datetime | None = None) -> Account:
    fields = (user.id, user.username, user.full_name, user.role, user.email, user.active)
    return Account(*fields, last_sign_in=last_sign_in)


async def accounts(session: AsyncSession) -> list[Account]:
    """Every account in username order, with its last sign-in."""
    users = list(await session.scalars(select(StaffUser).order_by(StaffUser.username)))
    last = dict(
        (
            await session.execute(
                select(StaffSession.staff_user_id, func.max(StaffSession.created_at)).group_by(
                    StaffSession.staff_user_id
                )
            )
        ).all()
    )
    return [_account(u, last.get(u.id)) for u in users]


async def account(session: AsyncSession, user_id: int) -> Account | None:
    """The account ``user_id``, or ``None`` when there is none."""
    user = await session.get(StaffUser, user_id)
    return None if user is None else _account(user)


async def audit_lines(
    session: AsyncSession, *, limit: int, staff_user_id: int | None = None
) -> list[AuditLine]:
    """The newest ``limit`` audit lines, newest first; only those of account
    ``staff_user_id`` when given."""
    query = select(StaffUserAudit)
    if staff_user_id is not None:
        query = query.where(StaffUserAudit.staff_user_id == staff_user_id)
    rows = await session.scalars(
        query.order_by(StaffUserAudit.at.desc(), StaffUserAudit.id.desc()).limit(limit)
    )
    return [
        AuditLine(
            at=row.at,
            actor=row.actor,
            username=row.username,
            action=row.action,
            before=dict(row.before or {}),
            after=dict(row.after or {}),
        )
        for row in rows
    ]


async def staff_names(session: AsyncSession) -> dict[str, str]:
    """Username → full name of every account, active or not (old records name
    them); the full name is empty when the account has none."""
    result = await session.execute(select(StaffUser.username, StaffUser.full_name))
    return {username: full_name for username, full_name in result}
