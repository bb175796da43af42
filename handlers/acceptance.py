"""The acceptance window: complaints made too late are rejected at registration.

BBSPJIKKP SOP-7.9-1 item 3: a complaint is served only when made at most 3
working days after the participant received the final proficiency-testing
(UP) report. The rule is data — a profile's ``acceptance_window``
(:class:`handlers.profile.AcceptanceWindow`) names the intake field holding
that date, the time allowed, the workflow transition that rejects and the
reason given. A late complaint is not refused at the door: it is registered
like any other (tracking number, record, ``registered`` event) and then moved
along that transition by the system, so it stays on record as rejected and
the complainant is told why (the transition's ``notify`` text).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.dates import format_day
from handlers.outbox import OutboxWriter
from handlers.profile import AcceptanceWindow, Profile
from handlers.workflow import Actor, apply_transition
from storage.models import Complaint, ComplaintEvent

#: The ``actor`` of complaint events recorded by the system itself.
SYSTEM_LABEL = "system"


@dataclass(frozen=True, slots=True)
class SystemActor(Actor):
    """The gateway itself acting on a complaint (not a staff member).

    Use :data:`SYSTEM`: username ``system`` with the ``admin`` role, so it
    may take any transition; its complaint events are labelled ``system``
    instead of ``staff:<username>``.
    """

    @property
    def label(self) -> str:
        """The ``actor`` column value of complaint events: ``system``."""
        return SYSTEM_LABEL


#: The system as a workflow actor.
SYSTEM = SystemActor(SYSTEM_LABEL, "admin")


@dataclass(frozen=True, slots=True)
class WindowCheck:
    """The acceptance window applied to one complaint.

    ``reference`` is the date from the profile's field (e.g. the day the
    final report was received), ``deadline`` the last moment a complaint
    is served (aware, office time), ``late`` whether the complaint came after it.
    """

    reference: date
    deadline: datetime
    late: bool


def window_deadline(window: AcceptanceWindow, reference: date, profile: Profile) -> datetime:
    """The last moment a complaint is served: ``window.within`` from the start of
    ``reference`` in office time (SOP-7.9-1 item 3: 3 working days after the
    final report, i.e. the end of the 3rd working day after that date)."""
    calendar = profile.office.calendar()
    start = datetime.combine(reference, time.min, tzinfo=calendar.zone)
    return window.within.due(start, calendar)


def check_window(profile: Profile, complaint: Complaint) -> WindowCheck | None:
    """Apply the profile's acceptance window to ``complaint``.

    ``None`` when the profile has no window or the complaint has no valid
    ``YYYY-MM-DD`` value for its field (an optional field left empty):
    nothing to check, the complaint is served.
    """
    window = profile.acceptance_window
    if window is None:
        return None
    raw = (complaint.extra_fields or {}).get(window.field)
    if not isinstance(raw, str):
        return None
    try:
        reference = date.fromisoformat(raw)
    except ValueError:
        return None
    deadline = window_deadline(window, reference, profile)
    return WindowCheck(reference, deadline, complaint.received_at > deadline)


def window_reason(window: AcceptanceWindow, check: WindowCheck, language: str) -> str:
    """The profile's ``reason`` in ``language`` with ``{date}`` and ``{deadline}`` filled in
    as ``12 November 2026`` (the deadline's office-local day)."""
    return window.reason.get(language).format(
        date=format_day(check.reference, language),
        deadline=format_day(check.deadline.date(), language),
    )


async def enforce_acceptance_window(
    session: AsyncSession,
    *,
    profile: Profile,
    writer: OutboxWriter,
    complaint: Complaint,
    enabled_channels: Collection[str],
) -> ComplaintEvent | None:
    """Reject a just-registered ``complaint`` made after the profile's acceptance window.

    Returns the ``transition`` event (actor ``system``) when the complaint was
    late and has been moved along ``acceptance_window.transition`` — with the
    reason in the complaint's language, and the transition's notice staged to
    the complainant on their channel — else ``None`` (served, nothing
    changed). Runs in the caller's transaction; the complaint must be flushed
    (have an id). Raises :class:`handlers.workflow.TransitionRefused` only
    when the complaint is no longer in a state the transition starts from.
    """
    window = profile.acceptance_window
    check = check_window(profile, complaint)
    if window is None or check is None or not check.late:
        return None
    reason = window_reason(window, check, complaint.language)
    data: dict[str, Any] = {"reason": reason}
    if "note" in profile.workflow.transition(window.transition).requires:
        data["note"] = reason
    return await apply_transition(
        session,
        profile=profile,
        writer=writer,
        complaint=complaint,
        name=window.transition,
        actor=SYSTEM,
        data=data,
        enabled_channels=enabled_channels,
    )
