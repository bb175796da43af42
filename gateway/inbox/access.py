"""Who sees what in the inbox (issue 5, item 1: roles limit what each sees).

Officers (the profile's ``officer`` role: "Personel yang berkompeten",
SOP-7.9-1 item 8) see the complaints assigned to them and to their team —
the other staff with the officer role; every other role sees every complaint
(the secretariat registers and routes, leads and managers supervise, the
appeal panel needs the whole record). The same rule guards the list, the
complaint page and every action on it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.inbox.queries import VisibilityRule
from handlers.profile import Profile
from storage.models import Complaint, StaffUser

#: Roles limited to their team's assigned complaints.
TEAM_ROLES = frozenset({"officer"})
#: Roles that read the reports besides the workflow's ``escalate_to`` (issue 5, item 6).
REPORT_ROLES = frozenset({"admin", "secretariat", "manager"})


def may_report(profile: Profile, role: str) -> bool:
    """Whether ``role`` may read the register and the recap.

    Issue 5, item 6: the secretariat keeps the register (SOP-7.9-1, Buku
    Register Keluhan), the quality manager and the supervisors the workflow
    escalates to review the recap; ``admin`` may do anything.
    """
    escalate_to = profile.workflow.escalate_to if profile.workflow else ()
    return role in REPORT_ROLES or role in escalate_to


async def visibility_for(session: AsyncSession, user: StaffUser) -> VisibilityRule | None:
    """The :class:`VisibilityRule` of ``user``; ``None`` means every complaint."""
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
