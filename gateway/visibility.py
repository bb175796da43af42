"""Which complaints a staff member may see: one rule for the inbox, the API and the reports.

Officers (the profile's ``officer`` role: "Personel yang berkompeten",
SOP-7.9-1 item 8) see the complaints assigned to them and to their team —
the other active staff with the officer role; every other role sees every
complaint (the secretariat registers and routes, leads and managers
supervise, the appeal panel needs the whole record).

The rule is decided here once, as a :class:`VisibilityRule`, and applied in
three shapes that cannot disagree:

* :func:`may_see` — one loaded complaint (a page, an API call);
* :func:`visible_clause` — SQL conditions on :class:`storage.models.Complaint`
  (lists, reports, contacts);
* :func:`visible_complaint_ids` — a subquery of the complaint ids, for rows
  hanging off a complaint (a thread's messages, attachments).

A complaint the viewer may not see is answered exactly like one that does not
exist (404), so its tracking number reveals nothing (docs/staff-access.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Complaint, StaffUser

#: Roles limited to their team's assigned complaints.
TEAM_ROLES = frozenset({"officer"})


@dataclass(frozen=True, slots=True)
class VisibilityRule:
    """What a viewer may see, decided per role by :func:`visibility_for`.

    ``assignee_in``: only complaints assigned to one of these usernames (an
    empty set: none); ``None``: every complaint. Drafts and messages outside
    any complaint have no assignee, so a viewer limited by ``assignee_in``
    sees none of them.
    """

    assignee_in: frozenset[str] | None = None

    @property
    def limited(self) -> bool:
        """Whether the viewer sees only some complaints."""
        return self.assignee_in is not None


async def visibility_for(session: AsyncSession, user: StaffUser) -> VisibilityRule | None:
    """The :class:`VisibilityRule` of ``user``; ``None`` means every complaint.

    One query for a team role (the active members of the role), none otherwise.
    """
    if user.role not in TEAM_ROLES:
        return None
    team = await session.scalars(
        select(StaffUser.username).where(StaffUser.role == user.role, StaffUser.active.is_(True))
    )
    return VisibilityRule(assignee_in=frozenset({user.username, *team}))


def may_see(rule: VisibilityRule | None, complaint: Complaint) -> bool:
    """Whether a viewer under ``rule`` may open ``complaint``."""
    if rule is None or rule.assignee_in is None:
        return True
    return complaint.assignee in rule.assignee_in


def visible_clause(rule: VisibilityRule | None) -> list[ColumnElement[bool]]:
    """WHERE conditions limiting :class:`Complaint` rows to what ``rule`` allows (``[]``: all)."""
    if rule is None or rule.assignee_in is None:
        return []
    return [Complaint.assignee.in_(sorted(rule.assignee_in))]


def visible_complaint_ids(rule: VisibilityRule | None) -> Select[int] | None:
    """``SELECT id FROM complaints`` limited by ``rule``; ``None`` when every complaint is visible."""
    if rule is None or rule.assignee_in is None:
        return None
    return select(Complaint.id).where(*visible_clause(rule))


async def load_visible_complaint(
    session: AsyncSession, rule: VisibilityRule | None, tracking: str
) -> Complaint:
    """Complaint ``tracking`` (any case) if it exists and ``rule`` allows it.

    Raises ``LookupError`` with the same message whether the complaint does not
    exist or the viewer may not see it.
    """
    complaint = await session.scalar(
        select(Complaint).where(Complaint.tracking_number == tracking.upper())
    )
    if complaint is None or not may_see(rule, complaint):
        raise LookupError(f"no complaint {tracking.upper()}")
    return complaint
