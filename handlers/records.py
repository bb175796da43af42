"""Staff records on a complaint outside the workflow's moves (README.md, "Staff API").

* :func:`assign` — hand the complaint to a competent officer without changing
  its step (SOP-7.9-1 item 8: "personel yang berkompeten");
* :func:`record_capa` — fill in or complete the corrective and preventive
  action form (BBSPJIKFK 5.1.11 CAPA form), e.g. the effectiveness check that
  is only known weeks after closing;
* :func:`add_note` — an internal note, shown to staff, never to the complainant.

Each writes a complaint event (who, when, what) in the caller's transaction
and raises :class:`~handlers.workflow.TransitionRefused` — changing nothing —
when the actor's role may not, or the data is invalid. The roles that may
assign or record CAPA are the owners of the current step, the supervisors the
workflow escalates to, those who may move a complaint into its current step,
and ``admin`` (:func:`may_manage`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.profile import Profile
from handlers.workflow import Actor, Refusal, TransitionRefused, clean_capa, required_text
from storage.event_kinds import ComplaintEventKind
from storage.models import Complaint, ComplaintEvent, StaffUser
from storage.types import utcnow

#: Longest internal note, in characters.
NOTE_LIMIT = 5000


def may_manage(profile: Profile, complaint: Complaint, actor: Actor) -> bool:
    """Whether ``actor`` may assign the complaint or record its CAPA.

    True for ``admin``, the owners of the complaint's current step, the roles
    that may move a complaint into that step (who routed it may re-route it:
    SOP-7.9-1 items 4-5 and 8) and the workflow's ``escalate_to`` roles (the
    supervisors).
    """
    if actor.role == "admin":
        return True
    spec = profile.workflow
    state = spec.states.get(complaint.status)
    allowed = set(state.owners if state is not None else ()) | set(spec.escalate_to)
    for transition in spec.transitions:
        if transition.to == complaint.status and transition.to not in transition.from_:
            allowed.update(transition.roles)
    return actor.role in allowed


def _require_manager(profile: Profile, complaint: Complaint, actor: Actor, what: str) -> None:
    if not may_manage(profile, complaint, actor):
        raise TransitionRefused(
            Refusal.FORBIDDEN,
            f"role {actor.role} may not {what} a complaint in {complaint.status}",
        )


def current_capa(complaint: Complaint) -> dict[str, str] | None:
    """The complaint's CAPA form: the one recorded last, by a step or by :func:`record_capa`."""
    details = complaint.details or {}
    found: dict[str, str] | None = None
    latest = ""
    for key, entry in details.items():
        if not isinstance(entry, dict):
            continue
        capa = entry.get("capa") if key != "capa" else entry.get("form")
        at = str(entry.get("at") or "")
        if isinstance(capa, dict) and at >= latest:
            found, latest = {str(k): str(v) for k, v in capa.items()}, at
    return found


async def assign(
    session: AsyncSession,
    *,
    profile: Profile,
    complaint: Complaint,
    assignee: str,
    actor: Actor,
    note: str | None = None,
    now: datetime | None = None,
) -> ComplaintEvent:
    """Make ``assignee`` (an active staff username) the complaint's officer.

    The step and its time standard are unchanged. Raises
    :class:`TransitionRefused`: ``forbidden`` (role), ``wrong_state`` (the
    complaint is finished), ``invalid_data`` (unknown or inactive user).
    """
    _require_manager(profile, complaint, actor, "assign")
    spec = profile.workflow
    state = spec.states.get(complaint.status)
    if state is not None and state.final:
        raise TransitionRefused(
            Refusal.WRONG_STATE, f"the complaint is {complaint.status}; nobody can be assigned"
        )
    username = assignee.strip()
    user = await session.scalar(
        select(StaffUser).where(StaffUser.username == username, StaffUser.active.is_(True))
    )
    if user is None:
        raise TransitionRefused(Refusal.INVALID_DATA, f"no active staff user {username!r}")
    now = now or utcnow()
    before = complaint.assignee
    complaint.assignee = username
    event = ComplaintEvent(
        complaint_id=complaint.id,
        at=now,
        actor=actor.label,
        kind=ComplaintEventKind.ASSIGNED,
        note=(note or "").strip()[:NOTE_LIMIT] or None,
        data={"assignee": username, "previous": before},
    )
    session.add(event)
    await session.flush()
    return event


async def record_capa(
    session: AsyncSession,
    *,
    profile: Profile,
    complaint: Complaint,
    form: Mapping[str, Any],
    actor: Actor,
    now: datetime | None = None,
) -> dict[str, str]:
    """Record or complete the complaint's CAPA form; returns the whole form.

    Fields not given keep their recorded value, so the effectiveness check
    can be added later (BBSPJIKFK 5.1.11 step 5 and its CAPA form). Raises
    :class:`TransitionRefused` as :func:`handlers.workflow.clean_capa` does, and ``forbidden``
    when the role may not (see :func:`may_manage`).
    """
    _require_manager(profile, complaint, actor, "record the CAPA of")
    capa = clean_capa(form, previous=current_capa(complaint))
    now = now or utcnow()
    details = dict(complaint.details or {})
    details["capa"] = {"form": capa, "by": actor.username, "at": now.isoformat()}
    complaint.details = details
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            at=now,
            actor=actor.label,
            kind=ComplaintEventKind.CAPA_RECORDED,
            data={"capa": capa},
        )
    )
    await session.flush()
    return capa


async def add_note(
    session: AsyncSession,
    *,
    complaint: Complaint,
    text: str,
    actor: Actor,
    now: datetime | None = None,
) -> ComplaintEvent:
    """An internal note on the complaint (staff only; never sent to the complainant).

    Raises :class:`TransitionRefused` (``missing_data``/``invalid_data``) for
    an empty note or one over :data:`NOTE_LIMIT` characters.
    """
    body = required_text(text, NOTE_LIMIT, "the note")
    event = ComplaintEvent(
        complaint_id=complaint.id,
        at=now or utcnow(),
        actor=actor.label,
        kind=ComplaintEventKind.NOTE,
        note=body,
        data={"internal": True},
    )
    session.add(event)
    await session.flush()
    return event
