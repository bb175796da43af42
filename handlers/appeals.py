"""Appeals (banding) and the appeal panel.

Rules, from the profile's :class:`~handlers.workflow_spec.AppealSpec`:

* an appeal is opened on any channel (``banding ADU-…``) or by staff, only
  once the complainant has been given the result — a transition into one of
  the ``after`` states, found in the complaint's events, whatever its later
  state (BBSPJIKFK 5.1.11 step 6 informs and archives together) — and, when
  the profile has a ``window``, within it, counted from that moment
  (BBSPJIKFK 5.1.11 step 6: 15 days; PR-LS-8.1.4 sets none); otherwise the
  complainant is told the true reason and the refusal is recorded;
* appeals not tied to a complaint (``standalone``, PR-LS-8.1.4 step 1) are
  opened by :mod:`handlers.standalone_appeals`;
* a profile's ``steps`` (identify, record the type, pass on; PR-LS-8.1.4
  steps 1-2) come before the panel: :mod:`handlers.appeal_steps`;
* the appeal panel (PR-LS-8.1.4 step 4) has exactly ``panel_size`` members
  including one chair, each with a recorded impartiality declaration, each
  holding a role the profile marks competent for the appeal's subject, and
  nobody who handled the complaint may sit on it;
* the panel's decision, recorded by its chair, is final (step 5) and is
  communicated to the complainant;
* each of the two steps has the profile's time standard (PR-LS-8.1.4 "Mutu
  Baku — Waktu": 1 day to form the panel, 1 day for the decision): opening
  the appeal starts the panel step, the seat that completes the panel starts
  the decision step, the decision ends it (``Appeal.step_due_at``); reminders
  and escalations are swept by :mod:`handlers.appeal_standards`.

Every refusal raises :class:`AppealRefused` with a reason and changes nothing,
except a late appeal, which is answered and recorded (:func:`open_appeal`
returns the refusal instead of raising).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.appeal_notices import notify_appellant, record_appeal_event
from handlers.dates import format_moment
from handlers.i18n import t
from handlers.notifications import notify_complainant
from handlers.outbox import OutboxWriter
from handlers.profile import Profile
from handlers.workflow_spec import AppealSpec, AppealStepSpec
from storage.event_kinds import ComplaintEventKind
from storage.models import (
    Appeal,
    AppealPanelMember,
    AppealStatus,
    Complaint,
    ComplaintEvent,
    StaffUser,
)
from storage.types import utcnow


class AppealRefusal(enum.StrEnum):
    """Why an appeal action was refused."""

    NO_APPEALS = "no_appeals"
    NO_RESULT_YET = "no_result_yet"
    ALREADY_APPEALED = "already_appealed"
    WINDOW_PASSED = "window_passed"
    NOT_OPEN = "not_open"
    PANEL_FULL = "panel_full"
    SECOND_CHAIR = "second_chair"
    CHAIR_MISSING = "chair_missing"
    INVOLVED = "involved"
    NO_DECLARATION = "no_declaration"
    UNKNOWN_STAFF = "unknown_staff"
    ALREADY_MEMBER = "already_member"
    PANEL_INCOMPLETE = "panel_incomplete"
    NOT_CHAIR = "not_chair"
    FORBIDDEN = "forbidden"
    MISSING_DATA = "missing_data"
    NOT_STANDALONE = "not_standalone"
    STEPS_PENDING = "steps_pending"
    WRONG_STEP = "wrong_step"
    NOT_COMPETENT = "not_competent"
    NO_SUBJECT = "no_subject"


class AppealRefused(Exception):
    """An appeal rule did not hold; ``code`` says which, the message explains."""

    def __init__(self, code: AppealRefusal, message: str) -> None:
        super().__init__(message)
        self.code = code


AppealStep = Literal["identify", "record_type", "pass_on", "panel", "decision", "decided"]
"""Where an appeal stands: a step before the panel (identify, record the
type, pass on; PR-LS-8.1.4 steps 1-2), forming its panel (step 4), waiting
for the panel's decision (step 5), or decided (final)."""

_PRE_PANEL: dict[str, AppealStep] = {
    "identify": "identify",
    "record_type": "record_type",
    "pass_on": "pass_on",
}


def appeal_step(
    appeal: Appeal, members: Iterable[AppealPanelMember], *, panel_size: int
) -> AppealStep:
    """The step ``appeal`` is in, from its status and its seated ``members``.

    ``"decided"`` once the decision is recorded; the pre-panel step in
    ``Appeal.step`` while there is one; ``"decision"`` when the panel
    has ``panel_size`` members including exactly one chair (PR-LS-8.1.4 step
    4 done); ``"panel"`` otherwise. Pure: reads only its arguments.
    """
    if appeal.status == AppealStatus.DECIDED:
        return "decided"
    if appeal.step in _PRE_PANEL:
        return _PRE_PANEL[appeal.step]
    seated = list(members)
    chairs = sum(1 for m in seated if m.is_chair)
    if len(seated) >= panel_size and chairs == 1:
        return "decision"
    return "panel"


@dataclass(frozen=True, slots=True)
class AppealProgress:
    """An appeal's current step for the complainant and staff.

    ``due_at`` is when the step is due by the profile's standard (``None``
    without one, and once decided); ``chair`` the panel chair's username
    once seated.
    """

    appeal: Appeal
    step: AppealStep
    due_at: datetime | None
    chair: str | None


async def appeal_progress(
    session: AsyncSession, *, profile: Profile, complaint: Complaint
) -> AppealProgress | None:
    """The progress of the appeal on ``complaint``, or ``None`` when it has none.

    For the ``status ADU-…`` reply and the tracking page: the step
    (:func:`appeal_step`) and when it is due (``Appeal.step_due_at``,
    PR-LS-8.1.4 steps 4-5). Also ``None`` when the profile has no appeals.
    """
    if profile.appeal is None:
        return None
    appeal = await session.scalar(select(Appeal).where(Appeal.complaint_id == complaint.id))
    if appeal is None:
        return None
    members = list(
        await session.scalars(
            select(AppealPanelMember).where(AppealPanelMember.appeal_id == appeal.id)
        )
    )
    step = appeal_step(appeal, members, panel_size=profile.appeal.panel_size)
    chair = next((m.username for m in members if m.is_chair), None)
    return AppealProgress(
        appeal=appeal,
        step=step,
        due_at=None if step == "decided" else appeal.step_due_at,
        chair=chair,
    )


def describe_progress(progress: AppealProgress, language: str) -> str:
    """One line for the complainant on where their appeal stands (STATUS, ``/track``).

    The panel being formed (PR-LS-8.1.4 step 4), the panel examining the
    appeal (step 5), or the final decision; the due time is told separately.
    """
    if progress.step in _PRE_PANEL:
        return t(language, "Appeal: your appeal is being identified and recorded.")
    if progress.step == "panel":
        return t(language, "Appeal: the appeal panel is being formed.")
    if progress.step == "decision":
        return t(language, "Appeal: the appeal panel is examining your appeal.")
    return t(
        language,
        "Appeal decided (final): {decision}",
        decision=progress.appeal.decision or "-",
    )


@dataclass(frozen=True, slots=True)
class OpenResult:
    """Outcome of :func:`open_appeal`: the appeal, or why it was refused."""

    appeal: Appeal | None
    refusal: AppealRefusal | None = None
    reason: str | None = None


def _spec(profile: Profile) -> AppealSpec:
    if profile.appeal is None:
        raise AppealRefused(AppealRefusal.NO_APPEALS, f"profile {profile.id} has no appeals")
    return profile.appeal


async def result_received_at(
    session: AsyncSession, complaint: Complaint, spec: AppealSpec
) -> datetime | None:
    """When the result was last given: the latest transition into an ``after`` state.

    Read from the complaint's events, so it holds whatever the complaint's
    later state (archived after being informed: BBSPJIKFK 5.1.11 step 6).
    ``None`` when the result was never given.
    """
    found: datetime | None = await session.scalar(
        select(func.max(ComplaintEvent.at)).where(
            ComplaintEvent.complaint_id == complaint.id,
            ComplaintEvent.kind == ComplaintEventKind.TRANSITION,
            ComplaintEvent.to_status.in_(spec.after),
        )
    )
    return found


async def open_appeal(
    session: AsyncSession,
    *,
    profile: Profile,
    writer: OutboxWriter,
    complaint: Complaint,
    reason: str,
    opened_by: str,
    enabled_channels: Collection[str],
    now: datetime | None = None,
) -> OpenResult:
    """Open an appeal on ``complaint``, or refuse it and tell the complainant why.

    Raises :class:`AppealRefused` (nothing changed) when the profile has no
    appeals or the reason is empty. Other refusals (no result ever given,
    already appealed, window passed on <date>) are recorded as an
    ``appeal_refused`` event, sent to the complainant, and returned. The
    result counts as given from the latest transition into an ``after``
    state (:func:`result_received_at`), whatever the complaint's state now
    (BBSPJIKFK 5.1.11 step 6). An opened appeal starts its first step
    (:func:`handlers.appeal_steps.start_first_step`): the first pre-panel step
    when the profile has ``steps`` (PR-LS-8.1.4 steps 1-2), else the panel
    step (step 4), with ``step_due_at`` from that step's standard.
    """
    spec = _spec(profile)
    if not reason.strip():
        raise AppealRefused(AppealRefusal.MISSING_DATA, "an appeal needs a reason")
    now = now or utcnow()
    language = complaint.language
    refusal: tuple[AppealRefusal, str] | None = None
    existing = await session.scalar(select(Appeal).where(Appeal.complaint_id == complaint.id))
    received = await result_received_at(session, complaint, spec)
    if existing is not None:
        refusal = (
            AppealRefusal.ALREADY_APPEALED,
            "banding sudah pernah diajukan; keputusan tim banding bersifat akhir"
            if language == "id"
            else "an appeal was already made; the appeal panel's decision is final",
        )
    elif received is None:
        refusal = (
            AppealRefusal.NO_RESULT_YET,
            "hasil penanganan belum disampaikan"
            if language == "id"
            else "no result has been given yet",
        )
    elif spec.window is not None:
        deadline = spec.window.due(received, profile.office.calendar())
        if now > deadline:
            window = spec.window.describe(language)
            day = format_moment(deadline, profile.office.timezone)
            refusal = (
                AppealRefusal.WINDOW_PASSED,
                f"batas waktu banding {window} sejak hasil diterima telah lewat pada {day}"
                if language == "id"
                else f"the appeal period of {window} after receiving the result passed on {day}",
            )
    if refusal is not None:
        code, why = refusal
        session.add(
            ComplaintEvent(
                complaint_id=complaint.id,
                at=now,
                actor=opened_by,
                kind=ComplaintEventKind.APPEAL_REFUSED,
                note=why,
                data={"code": code.value, "reason": reason},
            )
        )
        await notify_complainant(
            session,
            writer,
            complaint,
            spec.refused.get(language).format(tracking=complaint.tracking_number, reason=why),
            actor="system",
            enabled=enabled_channels,
        )
        return OpenResult(None, code, why)
    appeal = Appeal(
        complaint_id=complaint.id,
        opened_at=now,
        opened_by=opened_by,
        reason=reason.strip(),
        status=AppealStatus.OPEN.value,
        language=language,
    )
    await add_opened_appeal(session, profile, appeal, now)
    await notify_complainant(
        session,
        writer,
        complaint,
        spec.opened.get(language).format(tracking=complaint.tracking_number),
        actor="system",
        enabled=enabled_channels,
    )
    return OpenResult(appeal)


def start_first_step(appeal: Appeal, profile: Profile, now: datetime) -> None:
    """Put a newly opened ``appeal`` in its first step and set when it is due.

    The profile's first pre-panel step (PR-LS-8.1.4 step 1: identify, 60
    minutes) when it has ``steps``, else the panel step (step 4); the due
    time is the step's standard after ``now`` on the office calendar, or
    ``None`` without one.
    """
    spec = _spec(profile)
    enter_step(appeal, profile, spec.steps[0] if spec.steps else None, now)


def enter_step(
    appeal: Appeal, profile: Profile, step: AppealStepSpec | None, now: datetime
) -> None:
    """Put ``appeal`` at pre-panel ``step``, or at the panel step when ``None``.

    The step's due time is its standard after ``now`` on the office calendar
    (PR-LS-8.1.4 steps 1-2: 60 minutes each); the panel step's is the
    profile's ``panel_standard`` (step 4), ``None`` without one. Raises
    :class:`AppealRefused` (``no_appeals``) for a profile without appeals.
    """
    spec = _spec(profile)
    calendar = profile.office.calendar()
    if step is not None:
        appeal.step = step.name
        appeal.step_due_at = step.standard.due(now, calendar) if step.standard else None
    else:
        appeal.step = None
        appeal.step_due_at = (
            spec.panel_standard.due(now, calendar) if spec.panel_standard is not None else None
        )


async def add_opened_appeal(
    session: AsyncSession,
    profile: Profile,
    appeal: Appeal,
    now: datetime,
    *,
    data: dict[str, object] | None = None,
) -> None:
    """Add a newly built ``appeal`` at its first step, flush it and record ``appeal_opened``.

    The history entry is by ``appeal.opened_by`` with ``appeal.reason`` as
    its note and data ``{"appeal_id", **data, "step"}`` (PR-LS-8.1.4 step 2:
    Rekaman Keluhan dan Banding). Raises :class:`AppealRefused`
    (``no_appeals``) for a profile without appeals.
    """
    start_first_step(appeal, profile, now)
    session.add(appeal)
    await session.flush()
    record_appeal_event(
        session,
        appeal,
        at=now,
        actor=appeal.opened_by,
        kind=ComplaintEventKind.APPEAL_OPENED,
        note=appeal.reason,
        data={"appeal_id": appeal.id, **(data or {}), "step": appeal.step},
    )


async def _involved(session: AsyncSession, complaint: Complaint) -> set[str]:
    """Usernames of staff who handled the complaint (its events and its assignee)."""
    actors = await session.scalars(
        select(ComplaintEvent.actor).where(ComplaintEvent.complaint_id == complaint.id).distinct()
    )
    involved = {a.removeprefix("staff:") for a in actors if a.startswith("staff:")}
    if complaint.assignee:
        involved.add(complaint.assignee)
    return involved


async def add_panel_member(
    session: AsyncSession,
    *,
    profile: Profile,
    appeal: Appeal,
    complaint: Complaint | None,
    username: str,
    is_chair: bool,
    declaration: str,
    actor: str,
    actor_role: str,
    now: datetime | None = None,
) -> AppealPanelMember:
    """Seat ``username`` on the panel of ``appeal`` (PR-LS-8.1.4 step 4).

    ``complaint`` is ``None`` for a standalone appeal. Raises
    :class:`AppealRefused` (nothing changed) when the actor may not form
    panels, the appeal is decided or still in a step before the panel
    (``steps_pending``, PR-LS-8.1.4 steps 1-2), the panel is full, a second
    chair is named, the last seat is not the chair while none is seated, the
    member handled the complaint, is unknown or already seated, holds no role
    the profile marks competent for the appeal's subject (``not_competent``;
    ``no_subject`` when none was recorded; PR-LS-8.1.4 step 4 "kompetensi
    sesuai dengan materi banding"), or gave no impartiality declaration. The seat that completes the panel (``panel_size`` members
    with one chair) ends step 4 and starts the decision step: ``step_due_at``
    becomes ``decision_standard`` after ``now`` (PR-LS-8.1.4 step 5; ``None``
    without a standard) and the step's reminder and escalation marks are
    cleared.
    """
    spec = _spec(profile)
    if actor_role != "admin" and actor_role not in spec.roles:
        raise AppealRefused(
            AppealRefusal.FORBIDDEN, f"role {actor_role} may not form appeal panels"
        )
    if appeal.status != AppealStatus.OPEN:
        raise AppealRefused(AppealRefusal.NOT_OPEN, "the appeal is decided; its panel is closed")
    if appeal.step is not None:
        raise AppealRefused(
            AppealRefusal.STEPS_PENDING,
            f"the appeal is still at step {appeal.step}; it must be passed on before "
            "its panel is formed",
        )
    members = list(
        await session.scalars(
            select(AppealPanelMember).where(AppealPanelMember.appeal_id == appeal.id)
        )
    )
    if len(members) >= spec.panel_size:
        raise AppealRefused(
            AppealRefusal.PANEL_FULL, f"the panel already has its {spec.panel_size} members"
        )
    has_chair = any(m.is_chair for m in members)
    if is_chair and has_chair:
        raise AppealRefused(AppealRefusal.SECOND_CHAIR, "the panel already has a chair")
    if not is_chair and not has_chair and len(members) == spec.panel_size - 1:
        raise AppealRefused(AppealRefusal.CHAIR_MISSING, "the last seat must go to the chair")
    if any(m.username == username for m in members):
        raise AppealRefused(AppealRefusal.ALREADY_MEMBER, f"{username} already sits on the panel")
    user = await session.scalar(
        select(StaffUser).where(StaffUser.username == username, StaffUser.active.is_(True))
    )
    if user is None:
        raise AppealRefused(AppealRefusal.UNKNOWN_STAFF, f"no active staff user {username!r}")
    if spec.subjects:
        subject = spec.subjects.get(appeal.subject or "")
        if subject is None:
            raise AppealRefused(
                AppealRefusal.NO_SUBJECT,
                "the appeal's subject is not recorded; the panel's competence cannot be checked",
            )
        if user.role not in subject.competent:
            raise AppealRefused(
                AppealRefusal.NOT_COMPETENT,
                f"{username} (role {user.role}) is not competent for the appeal's subject "
                f"{appeal.subject}; competent roles: {', '.join(subject.competent)}",
            )
    if complaint is not None and username in await _involved(session, complaint):
        raise AppealRefused(
            AppealRefusal.INVOLVED,
            f"{username} handled this complaint and may not sit on its appeal panel",
        )
    if not declaration.strip():
        raise AppealRefused(
            AppealRefusal.NO_DECLARATION, "each member needs a signed impartiality declaration"
        )
    now = now or utcnow()
    member = AppealPanelMember(
        appeal_id=appeal.id,
        username=username,
        is_chair=is_chair,
        declaration=declaration.strip(),
        declared_at=now,
        added_by=actor,
    )
    session.add(member)
    if appeal_step(appeal, [*members, member], panel_size=spec.panel_size) == "decision":
        appeal.step_due_at = (
            spec.decision_standard.due(now, profile.office.calendar())
            if spec.decision_standard is not None
            else None
        )
        appeal.reminded_at = None
        appeal.escalated_at = None
    record_appeal_event(
        session,
        appeal,
        at=now,
        actor=actor,
        kind=ComplaintEventKind.APPEAL_PANEL_MEMBER_ADDED,
        note=username,
        data={"appeal_id": appeal.id, "username": username, "chair": is_chair},
    )
    await session.flush()
    return member


async def decide_appeal(
    session: AsyncSession,
    *,
    profile: Profile,
    writer: OutboxWriter,
    appeal: Appeal,
    complaint: Complaint | None,
    decision: str,
    chair: str,
    enabled_channels: Collection[str],
    now: datetime | None = None,
) -> Appeal:
    """Record the panel's final decision (PR-LS-8.1.4 step 5) and tell the complainant.

    Raises :class:`AppealRefused` when the appeal is already decided, the
    panel is not complete (size, one chair, all declarations), ``chair`` is
    not its chair, or the decision is empty. The decision ends the appeal's
    last timed step (``step_due_at`` cleared). ``complaint`` is ``None`` for
    a standalone appeal: the appellant is told on their own channel
    (:func:`handlers.appeal_notices.notify_appellant`).
    """
    spec = _spec(profile)
    if appeal.status != AppealStatus.OPEN:
        raise AppealRefused(AppealRefusal.NOT_OPEN, "the appeal is already decided; that is final")
    if not decision.strip():
        raise AppealRefused(AppealRefusal.MISSING_DATA, "the decision is required")
    members = list(
        await session.scalars(
            select(AppealPanelMember).where(AppealPanelMember.appeal_id == appeal.id)
        )
    )
    chairs = [m for m in members if m.is_chair]
    if len(members) != spec.panel_size or len(chairs) != 1:
        raise AppealRefused(
            AppealRefusal.PANEL_INCOMPLETE,
            f"the panel needs {spec.panel_size} members including one chair "
            f"({len(members)} seated)",
        )
    if chairs[0].username != chair:
        raise AppealRefused(AppealRefusal.NOT_CHAIR, "only the panel's chair records its decision")
    now = now or utcnow()
    appeal.status = AppealStatus.DECIDED.value
    appeal.decision = decision.strip()
    appeal.decided_at = now
    appeal.decided_by = f"staff:{chair}"
    appeal.step_due_at = None
    record_appeal_event(
        session,
        appeal,
        at=now,
        actor=f"staff:{chair}",
        kind=ComplaintEventKind.APPEAL_DECIDED,
        note=appeal.decision,
        data={"appeal_id": appeal.id, "panel": sorted(m.username for m in members)},
    )
    if complaint is None:
        language = appeal.language or "id"
        await notify_appellant(
            session,
            writer,
            appeal,
            spec.decided.get(language).format(
                tracking=appeal.reference or "-", decision=appeal.decision
            ),
            actor=f"staff:{chair}",
            enabled=enabled_channels,
        )
    else:
        await notify_complainant(
            session,
            writer,
            complaint,
            spec.decided.get(complaint.language).format(
                tracking=complaint.tracking_number, decision=appeal.decision
            ),
            actor=f"staff:{chair}",
            enabled=enabled_channels,
        )
    await session.flush()
    return appeal
