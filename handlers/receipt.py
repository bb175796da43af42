"""The receiving officer of a complaint (SOP-7.9-1 item 2: "penerima pengaduan
oleh Sekretariat Pelayanan Informasi Publik").

A complaint entered by staff (manual intake) is received by the officer who
enters it. A complaint that arrives online (web form, chat, email, API) is
received by the staff member who takes its first workflow step: their
username and full name at that moment are recorded on the complaint
(``receiving_officer``, ``receiving_officer_name``); the channel it came by
stays in ``channel`` and ``received_by`` (``channel:<name>``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Complaint, StaffUser

STAFF_PREFIX = "staff:"


async def record_receiving_officer(
    session: AsyncSession, complaint: Complaint, username: str
) -> bool:
    """Record ``username`` (a staff username, without prefix) as the receiving
    officer unless one is recorded already; returns whether it was recorded.

    The full name is the staff account's at this moment (later renames do not
    change the record); an unknown user is recorded by username alone.
    """
    if complaint.receiving_officer is not None:
        return False
    full_name = await session.scalar(
        select(StaffUser.full_name).where(StaffUser.username == username)
    )
    complaint.receiving_officer = f"{STAFF_PREFIX}{username}"
    complaint.receiving_officer_name = full_name
    return True


def receiving_officer_label(complaint: Complaint) -> str:
    """The receiving officer as staff read it: ``Full Name (username)``, the
    username alone without a name, ``""`` while no staff member has taken
    the complaint's first step yet."""
    officer = complaint.receiving_officer
    if not officer:
        return ""
    username = officer.removeprefix(STAFF_PREFIX)
    name = complaint.receiving_officer_name
    return f"{name} ({username})" if name else username
