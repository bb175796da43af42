"""The complaint register (Buku Register Keluhan) for a period.

One line per complaint received in the period, oldest first: the identity
fields SOP-7.9-1 item 2 mandates (complainant, customer or participant, the
problem, the complaint date, the receiving officer) and the columns of
``aduan complaints export`` (:data:`gateway.register.COLUMNS`), plus the
assignee and the closing date (issue 5, item 6).

The closing date is the first move into one of the workflow's final states
(closed, rejected …; :func:`closing_times`), so archiving later does not
change it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.register import COLUMNS
from gateway.reports.period import Period
from gateway.visibility import VisibilityRule, visible_clause
from handlers.profile import Profile
from storage.models import Complaint, ComplaintEvent

#: The register's columns: the CLI register's, then assignee and closing date.
REPORT_COLUMNS = (*COLUMNS, "assignee", "closed_at")


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    """One register line; fields in :data:`REPORT_COLUMNS` order, times aware UTC.

    ``received_by`` is ``channel:<name>`` or ``staff:<username>``;
    ``closed_at`` is ``None`` while the complaint is open.
    """

    tracking_number: str
    channel: str
    complainant_name: str
    customer_name: str
    problem: str
    received_at: datetime
    received_by: str
    contact: str
    status: str
    category: str | None
    assignee: str | None
    closed_at: datetime | None


def final_states(profile: Profile) -> tuple[str, ...]:
    """The workflow's final states (where the handling ends); none without a workflow."""
    if profile.workflow is None:
        return ()
    return tuple(name for name, state in profile.workflow.states.items() if state.final)


def closing_times(profile: Profile) -> Select[int, datetime]:
    """``(complaint_id, closed_at)`` per complaint: its first move into a final state."""
    return (
        select(
            ComplaintEvent.complaint_id.label("complaint_id"),
            func.min(ComplaintEvent.at).label("closed_at"),
        )
        .where(
            ComplaintEvent.kind == "transition",
            ComplaintEvent.to_status.in_(final_states(profile)),
        )
        .group_by(ComplaintEvent.complaint_id)
    )


def received_in(period: Period) -> list[ColumnElement[bool]]:
    """WHERE clauses: complaints received within ``period``."""
    return [Complaint.received_at >= period.start, Complaint.received_at < period.end]


async def register_entries(
    session: AsyncSession,
    *,
    profile: Profile,
    period: Period,
    visible: VisibilityRule | None = None,
    limit: int | None = None,
) -> list[RegisterEntry]:
    """The complaints received in ``period``, oldest first (at most ``limit``)."""
    closing = closing_times(profile).subquery()
    query = (
        select(Complaint, closing.c.closed_at)
        .outerjoin(closing, closing.c.complaint_id == Complaint.id)
        .where(*received_in(period), *visible_clause(visible))
        .order_by(Complaint.received_at, Complaint.id)
    )
    if limit is not None:
        query = query.limit(limit)
    result = await session.execute(query)
    return [
        RegisterEntry(
            tracking_number=c.tracking_number,
            channel=c.channel,
            complainant_name=c.complainant_name,
            customer_name=c.customer_name,
            problem=c.problem,
            received_at=c.received_at,
            received_by=c.received_by,
            contact=c.contact_address,
            status=c.status,
            category=c.category,
            assignee=c.assignee,
            closed_at=closed_at,
        )
        for c, closed_at in result
    ]


async def count_entries(
    session: AsyncSession, *, period: Period, visible: VisibilityRule | None = None
) -> int:
    """How many complaints the register of ``period`` holds."""
    total = await session.scalar(
        select(func.count())
        .select_from(Complaint)
        .where(*received_in(period), *visible_clause(visible))
    )
    return int(total or 0)
