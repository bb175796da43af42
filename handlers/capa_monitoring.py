"""Monitoring entries on a complaint's corrective programme (PM-BAPKM.AP.1-24
step f, "melakukan pemantauan program perbaikan").

While a complaint is in one of the profile's ``capa_monitoring.states``, the
staff who manage it (:func:`handlers.records.may_manage`) add dated entries:
the day the programme was checked and what was found. Each entry is a
``capa_monitoring`` complaint event (who, when, the day, the text); they are
shown with the CAPA on the complaint page and exported with the register.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.profile import Profile
from handlers.records import NOTE_LIMIT, may_manage
from handlers.workflow import Actor, Refusal, TransitionRefused, required_text
from storage.event_kinds import ComplaintEventKind
from storage.models import Complaint, ComplaintEvent
from storage.types import utcnow

#: The ``kind`` of a monitoring entry's complaint event.
EVENT_KIND = ComplaintEventKind.CAPA_MONITORING


@dataclass(frozen=True, slots=True)
class MonitoringEntry:
    """One monitoring entry: ``on`` the day checked (office calendar), ``text``
    what was found, ``by`` the ``staff:<username>`` who wrote it, ``at`` when
    (aware UTC)."""

    on: date
    text: str
    by: str
    at: datetime


def may_monitor(profile: Profile, complaint: Complaint, actor: Actor) -> bool:
    """Whether ``actor`` may add a monitoring entry now: the complaint is in a
    monitored state and the actor manages it (or is ``admin``)."""
    if complaint.status not in profile.capa_monitoring.states:
        return False
    return may_manage(profile, complaint, actor)


async def add_monitoring_entry(
    session: AsyncSession,
    *,
    profile: Profile,
    complaint: Complaint,
    on: date,
    text: str,
    actor: Actor,
    today: date,
    now: datetime | None = None,
) -> ComplaintEvent:
    """Record a monitoring entry dated ``on`` (not after ``today``, the office's day).

    Raises :class:`TransitionRefused`, changing nothing: ``wrong_state`` when
    the complaint is not in a monitored state, ``forbidden`` when the actor
    may not, ``missing_data`` for an empty text, ``invalid_data`` for a text
    over :data:`handlers.records.NOTE_LIMIT` characters or a day in the future.
    """
    if complaint.status not in profile.capa_monitoring.states:
        monitored = ", ".join(profile.capa_monitoring.states) or "none"
        raise TransitionRefused(
            Refusal.WRONG_STATE,
            f"monitoring entries are added in the states {monitored}, not {complaint.status}",
        )
    if not may_manage(profile, complaint, actor):
        raise TransitionRefused(
            Refusal.FORBIDDEN, f"role {actor.role} may not monitor this complaint"
        )
    body = required_text(text, NOTE_LIMIT, "the monitoring entry")
    if on > today:
        raise TransitionRefused(Refusal.INVALID_DATA, "the monitoring day is in the future")
    event = ComplaintEvent(
        complaint_id=complaint.id,
        at=now or utcnow(),
        actor=actor.label,
        kind=EVENT_KIND,
        note=body,
        data={"on": on.isoformat()},
    )
    session.add(event)
    await session.flush()
    return event


def entry_of(event: ComplaintEvent) -> MonitoringEntry:
    """The monitoring entry an event holds (its day, or the event's UTC day if unreadable)."""
    raw = (event.data or {}).get("on")
    try:
        on = date.fromisoformat(str(raw))
    except ValueError:
        on = event.at.date()
    return MonitoringEntry(on=on, text=event.note or "", by=event.actor, at=event.at)


async def monitoring_entries(
    session: AsyncSession, complaint_ids: Collection[int]
) -> dict[int, list[MonitoringEntry]]:
    """Complaint id → its monitoring entries, oldest first (ids without any are absent)."""
    if not complaint_ids:
        return {}
    events = await session.scalars(
        select(ComplaintEvent)
        .where(
            ComplaintEvent.kind == EVENT_KIND,
            ComplaintEvent.complaint_id.in_(list(complaint_ids)),
        )
        .order_by(ComplaintEvent.at, ComplaintEvent.id)
    )
    found: dict[int, list[MonitoringEntry]] = {}
    for event in events:
        found.setdefault(event.complaint_id, []).append(entry_of(event))
    return found
