"""Tracking a complaint by number and contact (``/track``, docs/web-form.md "/track").

A complaint is shown only to whoever gives the email or phone it was filed
with; an unknown number and a known number with another contact get the
same answer (``None``) through the same queries, so neither the answer nor
its timing tells a guesser which numbers exist.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from channels.base import ChannelName
from gateway.queries.submission import form_contacts
from handlers.appeals import AppealProgress, appeal_progress
from handlers.profile import Profile
from storage.db import SessionFactory
from storage.models import Complaint, ComplaintEvent, ContactAddress, Message

#: Stands in for a complaint that does not exist, so that an unknown number
#: costs the same queries as a known one (no id is ever below 1).
_NO_ID = 0


@dataclass(frozen=True, slots=True)
class TrackView:
    """What the tracking page may show of a complaint to its complainant.

    ``status`` is the workflow state's code (the page names it through
    :meth:`handlers.profile.Profile.status_label`); ``updated_at`` the later
    of the complaint's last change and its last event; ``next_expected_at``
    when the current step is due, ``None`` once the complaint is in a final
    state; ``appeal`` where an appeal on it stands (PR-LS-8.1.4), if any.
    Times are aware UTC datetimes.
    """

    tracking: str
    status: str
    received_at: datetime
    updated_at: datetime
    next_expected_at: datetime | None
    appeal: AppealProgress | None


def _same(a: str, b: str) -> bool:
    """Constant-time equality of two addresses."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


async def find_complaint(sessions: SessionFactory, tracking: str, address: str) -> Complaint | None:
    """The complaint ``tracking`` when ``address`` (normalised) belongs to its complainant.

    The address matches when it is one of the complaint contact's addresses
    (email or phone), the complaint's own contact address, or the other
    address given on the web form that filed it. Returns ``None`` both for an
    unknown number and for a wrong contact, so callers cannot tell them apart,
    and does the same work for both: the same three queries in the same order
    (against a non-existent id for an unknown number) and constant-time
    comparisons, so the answer's timing does not tell either.
    """
    async with sessions() as session:
        complaint = await session.scalar(
            select(Complaint).where(Complaint.tracking_number == tracking)
        )
        complaint_id = complaint.id if complaint is not None else _NO_ID
        contact_id = complaint.contact_id if complaint is not None else _NO_ID
        owned = await session.scalar(
            select(ContactAddress.id)
            .where(
                ContactAddress.contact_id == contact_id,
                ContactAddress.kind.in_(("email", "phone")),
                ContactAddress.address == address,
            )
            .limit(1)
        )
        raws = list(
            await session.scalars(
                select(Message.raw).where(
                    Message.complaint_id == complaint_id,
                    Message.channel == ChannelName.WEB.value,
                    Message.direction == "in",
                )
            )
        )
    matched = _same(complaint.contact_address if complaint is not None else "", address)
    matched = (owned is not None) | matched
    for raw in raws:
        for given in form_contacts(raw):
            matched = _same(given, address) | matched
    return complaint if complaint is not None and matched else None


async def track(
    sessions: SessionFactory, profile: Profile, tracking: str, address: str
) -> TrackView | None:
    """What the tracking page shows for ``tracking`` asked with ``address``, or
    ``None`` (unknown number or another contact: :func:`find_complaint`)."""
    complaint = await find_complaint(sessions, tracking, address)
    if complaint is None:
        return None
    async with sessions() as session:
        last_event = await session.scalar(
            select(func.max(ComplaintEvent.at)).where(ComplaintEvent.complaint_id == complaint.id)
        )
        progress = await appeal_progress(session, profile=profile, complaint=complaint)
    workflow = profile.workflow
    final = complaint.status in workflow.states and workflow.states[complaint.status].final
    return TrackView(
        tracking=complaint.tracking_number,
        status=complaint.status,
        received_at=complaint.received_at,
        updated_at=max(d for d in (complaint.updated_at, last_event) if d is not None),
        next_expected_at=complaint.step_due_at if not final else None,
        appeal=progress,
    )
