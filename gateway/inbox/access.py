"""Who sees what in the inbox (docs/staff-access.md, "Team visibility").

Which complaints a viewer may see is decided in :mod:`gateway.visibility`
(re-exported here), the same rule for the inbox list, the complaint page and
every action on it, the thread and attachments, the reports and the staff
API. Who may read the reports is decided here.
"""

from __future__ import annotations

from gateway.visibility import TEAM_ROLES, VisibilityRule, may_see, visibility_for
from handlers.profile import Profile

__all__ = [
    "REPORT_ROLES",
    "TEAM_ROLES",
    "VisibilityRule",
    "may_report",
    "may_see",
    "visibility_for",
]

#: Roles that read the reports besides the workflow's ``escalate_to`` (docs/records.md, "Who reads the reports").
REPORT_ROLES = frozenset({"admin", "secretariat", "manager"})


def may_report(profile: Profile, role: str) -> bool:
    """Whether ``role`` may read the register and the recap.

    ``admin`` always may. Otherwise the profile's ``reports.roles`` decide,
    each set from the SOP clause that charges those staff with the records
    (e.g. BBSPJIKFK 5.1.11 step 6, Staff PJTK keep the "Arsip dan
    Rekapitulasi Keluhan"; SOP-7.9-1 item 11, the secretariat keeps all
    records). A profile naming none falls back to the secretariat, the
    manager and the supervisors the workflow escalates to.
    """
    if role == "admin":
        return True
    if profile.reports.roles:
        return role in profile.reports.roles
    return role in REPORT_ROLES or role in profile.workflow.escalate_to
