"""The complaint register (Buku Register Keluhan) for a period.

One line per complaint received in the period, oldest first: the identity
fields SOP-7.9-1 item 2 mandates (complainant, customer or participant, the
problem, the complaint date, the receiving officer), the channel, contact,
status and category, the assignee and the closing date, the complaint type (PR-LS-8.1.4 step 2), the
rejection reason and every further intake field of the profile (e.g.
SOP-7.9-1 item 3's ``final_report_date``). The receiving officer is the staff
member who received the complaint (SOP-7.9-1 item 2;
:mod:`handlers.receipt`), the channel its own column.

The same register, whole or for a period, is what ``aduan complaints export``
writes (:mod:`gateway.register`).

The closing date is the first move into one of the workflow's final states
(closed, rejected …; :func:`closing_times`), so archiving later does not
change it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.reports.period import Period
from gateway.visibility import VisibilityRule, visible_clause
from handlers.capa_monitoring import MonitoringEntry, monitoring_entries
from handlers.profile import MANDATED_FIELDS, IntakeField, Profile
from handlers.receipt import receiving_officer_label
from storage.event_kinds import ComplaintEventKind
from storage.models import Complaint, ComplaintEvent

#: The register's columns, each a stable key (the JSON export's keys): the
#: identity fields (SOP-7.9-1 item 2), contact, status, category, then
#: assignee, closing date, complaint type (PR-LS-8.1.4 step 2), rejection
#: reason and the corrective programme's monitoring (PM-BAPKM.AP.1-24 step f);
#: the profile's further intake fields follow (:func:`extra_columns`).
REPORT_COLUMNS = (
    "tracking_number",
    "channel",
    "complainant_name",
    "customer_name",
    "problem",
    "received_at",
    "received_by",
    "contact",
    "status",
    "category",
    "assignee",
    "closed_at",
    "complaint_type",
    "rejection_reason",
    "capa_monitoring",
)


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    """One register line; fields in :data:`REPORT_COLUMNS` order, times aware UTC.

    ``received_by`` is ``channel:<name>`` or ``staff:<username>``;
    ``closed_at`` is ``None`` while the complaint is open;
    ``complaint_type`` a profile ``complaint_types`` id; ``rejection_reason``
    the reason given when it was rejected (:func:`rejection_reason`);
    ``capa_monitoring`` the corrective programme's monitoring entries
    (PM-BAPKM.AP.1-24 step f), oldest first.
    Not columns themselves: ``receiving_officer`` (``Full Name (username)``,
    ``""`` until a staff member received it) and ``extra_fields`` (the
    further intake fields, key → value).
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
    complaint_type: str | None = None
    rejection_reason: str | None = None
    capa_monitoring: tuple[MonitoringEntry, ...] = ()
    receiving_officer: str = ""
    extra_fields: Mapping[str, Any] = field(default_factory=dict)


def extra_columns(profile: Profile) -> tuple[IntakeField, ...]:
    """The profile's intake fields beyond the mandated identity fields, in order."""
    return tuple(f for f in profile.intake.fields if f.key not in MANDATED_FIELDS)


def rejection_reason(profile: Profile, complaint: Complaint) -> str | None:
    """The reason recorded by the move into a ``rejected`` state (any final
    state a transition requiring ``reason`` leads to), ``None`` when it was
    never rejected."""
    details = complaint.details or {}
    for transition in profile.workflow.transitions:
        target = profile.workflow.states.get(transition.to)
        if target is None or not target.final or "reason" not in transition.requires:
            continue
        step = details.get(transition.name)
        if isinstance(step, dict) and step.get("reason"):
            return str(step["reason"])
    return None


def final_states(profile: Profile) -> tuple[str, ...]:
    """The workflow's final states (where the handling ends)."""
    return tuple(name for name, state in profile.workflow.states.items() if state.final)


def closing_times(profile: Profile) -> Select[int, datetime]:
    """``(complaint_id, closed_at)`` per complaint: its first move into a final state."""
    return (
        select(
            ComplaintEvent.complaint_id.label("complaint_id"),
            func.min(ComplaintEvent.at).label("closed_at"),
        )
        .where(
            ComplaintEvent.kind == ComplaintEventKind.TRANSITION,
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
    period: Period | None,
    visible: VisibilityRule | None = None,
    limit: int | None = None,
) -> list[RegisterEntry]:
    """The complaints received in ``period`` (``None``: every complaint), oldest
    first (at most ``limit``), restricted to what ``visible`` lets one see."""
    closing = closing_times(profile).subquery()
    query = (
        select(Complaint, closing.c.closed_at)
        .outerjoin(closing, closing.c.complaint_id == Complaint.id)
        .where(*(received_in(period) if period else ()), *visible_clause(visible))
        .order_by(Complaint.received_at, Complaint.id)
    )
    if limit is not None:
        query = query.limit(limit)
    result = list(await session.execute(query))
    monitored = await monitoring_entries(session, [c.id for c, _ in result])
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
            complaint_type=c.complaint_type,
            rejection_reason=rejection_reason(profile, c),
            capa_monitoring=tuple(monitored.get(c.id, ())),
            receiving_officer=receiving_officer_label(c),
            extra_fields=dict(c.extra_fields or {}),
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
