"""What the printable forms of a complaint read: the complaint-handling form and
the CAPA form (BBSPJIKFK 5.1.11, docs/records.md).

The forms follow the complaint page's rule (:mod:`gateway.visibility`,
docs/staff-access.md "Team visibility"): a complaint the viewer may not see
is answered like an unknown one, with ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.queries.complaint_page import complaint_events
from gateway.queries.staff_users import staff_names
from gateway.staff import load_complaint
from gateway.visibility import VisibilityRule, may_see
from storage.models import Complaint, ComplaintEvent


@dataclass(frozen=True, slots=True)
class PrintedComplaint:
    """A complaint, its history (oldest first) and every account's full name by
    username (the people the forms name)."""

    complaint: Complaint
    events: tuple[ComplaintEvent, ...]
    names: dict[str, str]


async def printed_complaint(
    session: AsyncSession, rule: VisibilityRule | None, tracking: str
) -> PrintedComplaint | None:
    """Complaint ``tracking`` (any case) with what its forms print, or ``None``
    when there is none or the viewer whose rule is ``rule`` may not see it."""
    try:
        complaint = await load_complaint(session, tracking)
    except LookupError:
        return None
    if not may_see(rule, complaint):
        return None
    return PrintedComplaint(
        complaint=complaint,
        events=tuple(await complaint_events(session, complaint.id)),
        names=await staff_names(session),
    )
