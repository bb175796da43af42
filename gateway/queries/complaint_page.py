"""Everything the staff complaint page shows of one complaint, read in one session.

A staff member gets a complaint only when the visibility rule
(:mod:`gateway.visibility`, docs/staff-access.md "Team visibility") lets them
see it, and its thread only with the messages of complaints the rule allows
(:func:`gateway.queries.thread.load_thread`); otherwise the answer is
``None``, the same for an unknown tracking number.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.queries.appeals import AppealView, load_appeal
from gateway.queries.thread import Thread, load_thread
from gateway.visibility import VisibilityRule, load_visible_complaint
from handlers.appeals import AppealProgress, appeal_progress
from handlers.capa_monitoring import MonitoringEntry, monitoring_entries
from handlers.profile import Profile
from storage.models import Complaint, ComplaintEvent, Contact, StaffUser


@dataclass(frozen=True, slots=True)
class ComplaintPage:
    """One complaint with its contact (``None`` if gone), the contact's thread, its
    history (oldest first), every staff account in username order (names and
    the assignee choices), its appeal and the appeal's progress (``None``
    without one) and its CAPA monitoring entries (oldest first)."""

    complaint: Complaint
    contact: Contact | None
    thread: Thread
    events: tuple[ComplaintEvent, ...]
    staff: tuple[StaffUser, ...]
    appeal: AppealView | None
    progress: AppealProgress | None
    monitoring: tuple[MonitoringEntry, ...]


async def complaint_events(session: AsyncSession, complaint_id: int) -> list[ComplaintEvent]:
    """The history of complaint ``complaint_id``, oldest first."""
    return list(
        await session.scalars(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint_id)
            .order_by(ComplaintEvent.at, ComplaintEvent.id)
        )
    )


async def complaint_page(
    session: AsyncSession, profile: Profile, rule: VisibilityRule | None, tracking: str
) -> ComplaintPage | None:
    """Complaint ``tracking`` and what its page shows, when the viewer whose rule is
    ``rule`` may see it; ``None`` for a complaint they may not see or that does
    not exist."""
    try:
        complaint = await load_visible_complaint(session, rule, tracking)
    except LookupError:
        return None
    thread = await load_thread(session, complaint.contact_id, visible=rule)
    events = await complaint_events(session, complaint.id)
    staff = await session.scalars(select(StaffUser).order_by(StaffUser.username))
    contact = await session.get(Contact, complaint.contact_id)
    appeal = await load_appeal(session, complaint)
    progress = await appeal_progress(session, profile=profile, complaint=complaint)
    monitored = (await monitoring_entries(session, [complaint.id])).get(complaint.id, [])
    return ComplaintPage(
        complaint=complaint,
        contact=contact,
        thread=thread,
        events=tuple(events),
        staff=tuple(staff),
        appeal=appeal,
        progress=progress,
        monitoring=tuple(monitored),
    )
