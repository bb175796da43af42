"""The SOP workflow engine: moving a complaint through its office's steps.

Interprets the profile's :class:`~handlers.workflow_spec.WorkflowSpec`
(docs/sop/README.md): a transition is refused, with a reason and no change, when
the complaint is not in one of its ``from`` states, the actor's role is not
allowed, the complaint's category is not one the transition is for
(``categories``, SOP-7.9-1 items 4-5), or required data is missing or
invalid. An allowed transition, in the caller's transaction, records a
complaint event (who, when, from, to, note), starts the next step's time
standard, and — where the profile gives a ``notify`` text — stages a message
to the complainant on their channel (:mod:`handlers.notifications`).

Periodic :func:`sweep_time_standards` records for each step one reminder
to its owners before it is due and one escalation to the supervisors once it
is overdue, never one per sweep. Time standards count office time
(:mod:`handlers.timestandards`), and nothing goes out while the office is
closed: what falls due then is reminded or escalated by the first sweep after
the next opening.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import N_, t
from handlers.notifications import notify_complainant
from handlers.outbox import OutboxWriter
from handlers.profile import Profile
from handlers.receipt import record_receiving_officer
from handlers.staff_alerts import AlertKind, alert_staff
from handlers.workflow_spec import CATEGORIES as CATEGORIES
from handlers.workflow_spec import TransitionSpec
from storage.event_kinds import ComplaintEventKind
from storage.models import Complaint, ComplaintEvent, StaffUser
from storage.types import utcnow

SATISFACTION_QUESTION = N_(
    "How satisfied are you with how we handled your complaint? Reply with one number from 1 (very dissatisfied) to 5 (very satisfied)."
)

#: Fields of the corrective and preventive action form (BBSPJIKFK CAPA form).
CAPA_FIELDS = (
    "cause",
    "correction",
    "corrective_action",
    "preventive_action",
    "owner",
    "due_date",
    "effectiveness_check",
)
#: Longest value of one CAPA field, in characters.
CAPA_FIELD_LIMIT = 5000
#: The CAPA fields that must be filled: all but the effectiveness check.
CAPA_REQUIRED = tuple(name for name in CAPA_FIELDS if name != "effectiveness_check")


class Refusal(enum.StrEnum):
    """Why a transition was refused (machine-readable, for the API and the inbox)."""

    UNKNOWN_TRANSITION = "unknown_transition"
    WRONG_STATE = "wrong_state"
    FORBIDDEN = "forbidden"
    MISSING_DATA = "missing_data"
    INVALID_DATA = "invalid_data"
    #: The transition is limited to other categories (``TransitionSpec.categories``).
    WRONG_CATEGORY = "wrong_category"


class TransitionRefused(Exception):
    """A transition's guard did not hold; nothing was changed.

    ``code`` is a :class:`Refusal`; ``str(error)`` explains it to staff.
    """

    def __init__(self, code: Refusal, message: str) -> None:
        super().__init__(message)
        self.code = code


def required_text(text: str, limit: int, what: str) -> str:
    """``text`` stripped of surrounding space, for a note, message or entry staff write.

    Raises :class:`TransitionRefused` with ``MISSING_DATA`` when nothing is
    left and ``INVALID_DATA`` when it is longer than ``limit`` characters;
    ``what`` names the text in the message (``"the note"``).
    """
    body = text.strip()
    if not body:
        raise TransitionRefused(Refusal.MISSING_DATA, f"{what} is empty")
    if len(body) > limit:
        raise TransitionRefused(Refusal.INVALID_DATA, f"{what} is longer than {limit} characters")
    return body


def clean_capa(
    form: Mapping[str, Any], *, previous: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The CAPA form ``form`` merged over ``previous``, trimmed and checked.

    Keys are :data:`CAPA_FIELDS`; after merging, every field
    of ``CAPA_REQUIRED`` must be filled. Raises :class:`TransitionRefused`
    (``invalid_data`` for unknown keys, non-text values or over-long text,
    ``missing_data`` for empty required fields). Used by transitions that
    require ``capa`` and by :func:`handlers.records.record_capa`.
    """
    unknown = sorted(set(form) - set(CAPA_FIELDS))
    if unknown:
        raise TransitionRefused(
            Refusal.INVALID_DATA,
            f"unknown CAPA fields {', '.join(unknown)}; use {', '.join(CAPA_FIELDS)}",
        )
    merged = dict(previous or {})
    for key, value in form.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise TransitionRefused(Refusal.INVALID_DATA, f"CAPA field {key} must be text")
        if len(value) > CAPA_FIELD_LIMIT:
            raise TransitionRefused(
                Refusal.INVALID_DATA, f"CAPA field {key} is longer than {CAPA_FIELD_LIMIT}"
            )
        merged[key] = value.strip()
    missing = [f for f in CAPA_REQUIRED if not merged.get(f)]
    if missing:
        raise TransitionRefused(Refusal.MISSING_DATA, "the CAPA form needs " + ", ".join(missing))
    return {f: merged[f] for f in CAPA_FIELDS if merged.get(f)}


def check_complaint_type(profile: Profile, value: object) -> str:
    """``value`` as a complaint type id of the profile (PR-LS-8.1.4 step 2:
    "mendokumentasikan rincian data tentang jenis keluhan").

    Raises :class:`TransitionRefused` (``invalid_data``) when the profile
    lists no such type.
    """
    type_id = str(value or "").strip()
    known = [kind.id for kind in profile.complaint_types]
    if type_id not in known:
        raise TransitionRefused(
            Refusal.INVALID_DATA,
            f"complaint_type must be one of {', '.join(known) or '(none listed)'}",
        )
    return type_id


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a staff username and role (``admin`` may do anything)."""

    username: str
    role: str

    @property
    def label(self) -> str:
        """The ``actor`` column value of complaint events."""
        return f"staff:{self.username}"


def allowed_transitions(profile: Profile, complaint: Complaint, role: str) -> list[TransitionSpec]:
    """The transitions ``role`` may take from the complaint's current state.

    A transition limited to some categories (``TransitionSpec.categories``)
    is left out when the complaint already has a category outside them; with
    no category recorded yet it stays listed, since its data will give one
    (SOP-7.9-1 items 4-5).
    """
    return [
        t
        for t in profile.workflow.transitions
        if complaint.status in t.from_
        and (role == "admin" or role in t.roles)
        and not (t.categories and complaint.category and complaint.category not in t.categories)
    ]


def _text(data: Mapping[str, Any], key: str, limit: int = 5000) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise TransitionRefused(Refusal.MISSING_DATA, f"{key} is required")
    if len(value) > limit:
        raise TransitionRefused(Refusal.INVALID_DATA, f"{key} is longer than {limit} characters")
    return value.strip()


def _check_category(
    transition: TransitionSpec, complaint: Complaint, data: Mapping[str, Any]
) -> None:
    """Refuse a transition limited to other categories (SOP-7.9-1 items 4-5).

    The category that counts is the one in ``data`` when given, else the one
    recorded on the complaint. Raises :class:`TransitionRefused` with
    ``invalid_data`` for an unknown value, ``wrong_category`` for a category
    outside ``transition.categories`` and ``missing_data`` when there is none
    at all; does nothing for a transition without ``categories``.
    """
    if not transition.categories:
        return
    given = data.get("category")
    if given not in (None, ""):
        if given not in CATEGORIES:
            raise TransitionRefused(
                Refusal.INVALID_DATA, f"category must be one of {', '.join(CATEGORIES)}"
            )
        category: str | None = str(given)
    else:
        category = complaint.category
    allowed = ", ".join(transition.categories)
    if category is None:
        raise TransitionRefused(
            Refusal.MISSING_DATA,
            f"category is required for {transition.name} (only for {allowed} complaints)",
        )
    if category not in transition.categories:
        raise TransitionRefused(
            Refusal.WRONG_CATEGORY,
            f"{transition.name} is only for {allowed} complaints; this one is {category}",
        )


async def _check_data(
    session: AsyncSession, transition: TransitionSpec, data: Mapping[str, Any]
) -> dict[str, Any]:
    """The transition's required data, validated and cleaned (raises TransitionRefused)."""
    clean: dict[str, Any] = {}
    for key in transition.requires:
        if key not in data or data[key] in (None, "", {}):
            raise TransitionRefused(
                Refusal.MISSING_DATA, f"{key} is required for {transition.name}"
            )
        if key == "category":
            value = data[key]
            if value not in CATEGORIES:
                raise TransitionRefused(
                    Refusal.INVALID_DATA, f"category must be one of {', '.join(CATEGORIES)}"
                )
            clean[key] = value
        elif key == "assignee":
            username = _text(data, key, 100)
            user = await session.scalar(
                select(StaffUser).where(StaffUser.username == username, StaffUser.active.is_(True))
            )
            if user is None:
                raise TransitionRefused(Refusal.INVALID_DATA, f"no active staff user {username!r}")
            clean[key] = username
        elif key == "capa":
            capa = data[key]
            if not isinstance(capa, Mapping):
                raise TransitionRefused(Refusal.INVALID_DATA, "capa must be an object")
            clean[key] = clean_capa(capa)
        else:
            clean[key] = _text(data, key)
    if transition.categories and "category" not in clean and data.get("category"):
        # Checked by _check_category: a category given to a transition limited
        # to some categories is recorded even when it is not required.
        clean["category"] = data["category"]
    if "note" in data and "note" not in clean and data["note"]:
        clean["note"] = _text(data, "note")
    return clean


def _format_when(when: datetime | None, profile: Profile, language: str) -> str:
    if when is None:
        return "-"
    local = when.astimezone(ZoneInfo(profile.office.timezone))
    return format_datetime(local, format="d MMMM yyyy HH:mm zzz", locale=language)


async def apply_transition(
    session: AsyncSession,
    *,
    profile: Profile,
    writer: OutboxWriter,
    complaint: Complaint,
    name: str,
    actor: Actor,
    data: Mapping[str, Any],
    enabled_channels: Collection[str],
    now: datetime | None = None,
) -> ComplaintEvent:
    """Move ``complaint`` along transition ``name`` (see the module docstring).

    Returns the ``transition`` event. Raises :class:`TransitionRefused` and
    changes nothing when a guard does not hold.
    """
    spec = profile.workflow
    try:
        transition = spec.transition(name)
    except KeyError:
        raise TransitionRefused(Refusal.UNKNOWN_TRANSITION, f"no transition {name!r}") from None
    if complaint.status not in transition.from_:
        raise TransitionRefused(
            Refusal.WRONG_STATE,
            f"{transition.name} is not possible from {complaint.status} "
            f"(only from {', '.join(transition.from_)})",
        )
    if actor.role != "admin" and actor.role not in transition.roles:
        raise TransitionRefused(
            Refusal.FORBIDDEN,
            f"role {actor.role} may not {transition.name} (allowed: {', '.join(transition.roles)})",
        )
    _check_category(transition, complaint, data)
    clean = await _check_data(session, transition, data)
    if "complaint_type" in clean:
        clean["complaint_type"] = check_complaint_type(profile, clean["complaint_type"])
    now = now or utcnow()
    before = complaint.status
    target = spec.states[transition.to]
    complaint.status = transition.to
    complaint.step_started_at = now
    complaint.step_due_at = (
        None
        if target.final or target.standard is None
        else target.standard.due(now, profile.office.calendar())
    )
    complaint.reminded_at = None
    complaint.escalated_at = None
    # SOP-7.9-1 item 2: whoever takes the first step receives an online complaint.
    await record_receiving_officer(session, complaint, actor.username)
    if "category" in clean:
        complaint.category = clean["category"]
    if "assignee" in clean:
        complaint.assignee = clean["assignee"]
    if "complaint_type" in clean:
        complaint.complaint_type = clean["complaint_type"]
    details = dict(complaint.details or {})
    details[transition.name] = {**clean, "by": actor.username, "at": now.isoformat()}
    complaint.details = details
    event = ComplaintEvent(
        complaint_id=complaint.id,
        at=now,
        actor=actor.label,
        kind=ComplaintEventKind.TRANSITION,
        from_status=before,
        to_status=transition.to,
        note=clean.get("note") or clean.get("reason") or clean.get("result"),
        data={"transition": transition.name, **clean},
    )
    session.add(event)
    if transition.notify is not None:
        language = complaint.language
        # Data recorded by earlier steps fills the text too (the result given
        # at verification is what "close" tells the complainant).
        recorded: dict[str, str] = {"reason": "", "result": "", "note": ""}
        for step in details.values():
            if isinstance(step, dict):
                recorded.update(
                    {k: v for k, v in step.items() if k in recorded and isinstance(v, str)}
                )
        text = transition.notify.get(language).format(
            tracking=complaint.tracking_number,
            status=profile.status_label(transition.to, language),
            next_date=_format_when(complaint.step_due_at, profile, language),
            **recorded,
        )
        if transition.to in spec.satisfaction_after:
            text += "\n\n" + t(language, SATISFACTION_QUESTION)
        await notify_complainant(
            session,
            writer,
            complaint,
            text,
            actor=actor.label,
            enabled=enabled_channels,
            subject=profile.status_label(transition.to, language),
        )
    await session.flush()
    return event


def office_open(profile: Profile, now: datetime) -> bool:
    """True while the profile's office is open at ``now`` (reminders may go out)."""
    return profile.office.calendar().is_open(now)


def reminder_lead(profile: Profile, now: datetime) -> timedelta:
    """How far ahead of ``now`` a due time is close enough to remind its owners.

    The workflow's ``remind_before`` counted in office time from ``now``
    (:meth:`handlers.texts.Duration.due`): "5 minutes" at 11:58 before a
    12:00-13:00 rest reaches 13:03, so a step due at 13:02 (4 office minutes
    left) is reminded. ``now + lead`` is that moment; a due time at or
    before it has at most ``remind_before`` of office time left. Never
    negative. Used by the complaint and appeal
    sweeps and by the inbox's "due soon".
    """
    lead = profile.workflow.remind_before.due(now, profile.office.calendar()) - now
    return max(lead, timedelta(0))


@dataclass(frozen=True, slots=True)
class SweepMark:
    """One mark a time-standard sweep sets on a step that is due.

    ``kind`` is ``"escalated"`` or ``"reminded"`` (the count's key and the
    marked column's prefix, ``escalated_at`` / ``reminded_at``), ``alert``
    the email it sends and ``until`` the latest due time it concerns.
    """

    kind: str
    alert: AlertKind
    until: datetime


def sweep_marks(profile: Profile, now: datetime) -> tuple[SweepMark, ...]:
    """What a sweep at ``now`` marks: escalations first, then reminders; none while closed.

    A step is escalated once due at or before ``now`` and reminded once due
    within :func:`reminder_lead` of it. While the office is closed
    (:meth:`~handlers.timestandards.WorkingCalendar.is_open`) there is
    nothing: reminders and escalations wait for the first sweep after the
    next opening (docs/time-standards.md "Reminders, escalations").
    """
    if not office_open(profile, now):
        return ()
    return (
        SweepMark("escalated", AlertKind.ESCALATION, now),
        SweepMark("reminded", AlertKind.REMINDER, now + reminder_lead(profile, now)),
    )


def start_first_step(profile: Profile, complaint: Complaint, now: datetime) -> None:
    """Set the time standard of the workflow's initial step on a new complaint.

    The due time counts office time from ``now`` (a complaint received while
    the office is closed starts its clock at the next opening).
    """
    state = profile.workflow.states[profile.workflow.initial]
    complaint.step_started_at = now
    if state.standard is not None and not state.final:
        complaint.step_due_at = state.standard.due(now, profile.office.calendar())


async def sweep_time_standards(
    session: AsyncSession,
    *,
    profile: Profile,
    now: datetime | None = None,
    limit: int = 200,
    writer: OutboxWriter | None = None,
) -> dict[str, int]:
    """One pass of reminders and escalations; returns ``{"reminded": n, "escalated": m}``.

    A step is reminded once, ``remind_before`` ahead of its due time, and
    escalated once when overdue; both marks are set with a conditional update
    so concurrent sweeps never record twice. Each is a complaint event naming
    the roles concerned and the assignee (shown to staff in the inbox); with
    ``writer``, the people concerned are also emailed
    (:func:`handlers.staff_alerts.alert_staff`) in the same transaction.

    While the office is closed (:meth:`~handlers.timestandards.WorkingCalendar.is_open`)
    the sweep does nothing: reminders and escalations are queued to the first
    sweep after the next opening.
    """
    spec = profile.workflow
    now = now or utcnow()
    counts = {"reminded": 0, "escalated": 0}
    for mark in sweep_marks(profile, now):
        kind, alert, when = mark.kind, mark.alert, mark.until
        column = Complaint.escalated_at if kind == "escalated" else Complaint.reminded_at
        candidates = list(
            await session.scalars(
                select(Complaint)
                .where(
                    Complaint.step_due_at.is_not(None),
                    Complaint.step_due_at <= when,
                    column.is_(None),
                )
                .order_by(Complaint.step_due_at)
                .limit(limit)
            )
        )
        for complaint in candidates:
            state = spec.states.get(complaint.status)
            if state is None or state.final:
                continue
            values: dict[str, Any] = {column.key: now}
            if kind == "escalated":
                values["reminded_at"] = complaint.reminded_at or now  # no late reminder after it
            claimed = await session.execute(
                update(Complaint)
                .where(Complaint.id == complaint.id, column.is_(None))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                continue
            roles = spec.escalate_to if kind == "escalated" else state.owners
            step_name = profile.status_label(complaint.status, "id")
            session.add(
                ComplaintEvent(
                    complaint_id=complaint.id,
                    at=now,
                    actor="system",
                    kind=ComplaintEventKind.STEP_OVERDUE_ESCALATED
                    if kind == "escalated"
                    else ComplaintEventKind.STEP_REMINDER,
                    note=f"{step_name} — due {_format_when(complaint.step_due_at, profile, 'id')}",
                    data={
                        "status": complaint.status,
                        "roles": list(roles),
                        "assignee": complaint.assignee,
                    },
                )
            )
            if writer is not None:
                due = _format_when(complaint.step_due_at, profile, "id")
                await alert_staff(
                    session,
                    writer,
                    alert,
                    complaint,
                    step=step_name,
                    due=due,
                    roles=roles,
                    assignee=complaint.assignee,
                )
            counts[kind] += 1
    return counts
