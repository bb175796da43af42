"""The staff API's complaint list (``GET /api/v1/complaints``, docs/api.md).

A token sees the complaints its staff member may see (:mod:`gateway.visibility`,
docs/staff-access.md "Team visibility"), the same rule as the inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.visibility import VisibilityRule, visible_clause
from storage.models import Complaint


@dataclass(frozen=True, slots=True)
class ComplaintFilters:
    """Which complaints to list: each given filter must match (``None``: any).

    ``overdue``: ``True`` only those whose current step was due before ``now``,
    ``False`` only those not (no due time, or due at ``now`` or later).
    ``before_id``: only ids below it (the keyset cursor of the page before).
    """

    status: str | None = None
    category: str | None = None
    channel: str | None = None
    assignee: str | None = None
    overdue: bool | None = None
    before_id: int | None = None


@dataclass(frozen=True, slots=True)
class ComplaintSlice:
    """At most ``limit`` complaints, newest (highest id) first, and whether more follow."""

    complaints: tuple[Complaint, ...]
    more: bool


async def list_complaints(
    session: AsyncSession,
    rule: VisibilityRule | None,
    filters: ComplaintFilters,
    *,
    limit: int,
    now: datetime,
) -> ComplaintSlice:
    """The complaints the viewer whose rule is ``rule`` may see that match
    ``filters``, newest first, ``limit`` at the most (``now``: aware, for ``overdue``)."""
    query = (
        select(Complaint)
        .where(*visible_clause(rule))
        .order_by(Complaint.id.desc())
        .limit(limit + 1)
    )
    if filters.status:
        query = query.where(Complaint.status == filters.status)
    if filters.category:
        query = query.where(Complaint.category == filters.category)
    if filters.channel:
        query = query.where(Complaint.channel == filters.channel)
    if filters.assignee:
        query = query.where(Complaint.assignee == filters.assignee)
    if filters.overdue is not None:
        query = query.where(
            Complaint.step_due_at < now
            if filters.overdue
            else or_(Complaint.step_due_at.is_(None), Complaint.step_due_at >= now)
        )
    if filters.before_id is not None:
        query = query.where(Complaint.id < filters.before_id)
    rows = list(await session.scalars(query))
    return ComplaintSlice(complaints=tuple(rows[:limit]), more=len(rows) > limit)
