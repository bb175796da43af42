"""Appeals (banding) and the appeal panel (issue 4, item 2).

Rules, from the profile's :class:`~handlers.workflow_spec.AppealSpec`:

* an appeal is opened on any channel (``banding ADU-…``) or by staff, only
  once the complainant has the result (the ``after`` states) and within the
  window after they received it (BBSPJIKFK 5.1.11 step 6: 15 days); outside
  it the complainant is told why it is refused, and the refusal is recorded;
* the appeal panel (PR-LS-8.1.4 step 4) has exactly ``panel_size`` members
  including one chair, each with a recorded impartiality declaration, and
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

from handlers.i18n import t
from handlers.notifications import notify_complainant
from handlers.outbox import OutboxWriter
from handlers.profile import Profile
from handlers.workflow_spec import AppealSpec
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


class AppealRefused(Exception):
    """An appeal rule did not hold; ``code`` says which, the message explains."""

    def __init__(self, code: AppealRefusal, message: str) -> None:
        super().__init__(message)
        self.code = code


AppealStep = Literal["panel", "decision", "decided"]
"""Where an appeal stands: forming its panel (PR-LS-8.1.4 step 4), waiting
for the panel's decision (step 5), or decided (final)."""


def appeal_step(
    appeal: Appeal, members: Iterable[AppealPanelMember], *, panel_size: int
) -> AppealStep:
    """The step ``appeal`` is in, from its status and its seated ``members``.

    ``"decided"`` once the decision is recorded; ``"decision"`` when the panel
    has ``panel_size`` members including exactly one chair (PR-LS-8.1.4 step
    4 done); ``"panel"`` otherwise. Pure: reads only its arguments.
    """
    if appeal.status == AppealStatus.DECIDED:
        return "decided"
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
    """When the complaint last entered a state in which the result was given."""
    found: datetime | None = await session.scalar(
        select(func.max(ComplaintEvent.at)).where(
            ComplaintEvent.complaint_id == complaint.id,
            ComplaintEvent.kind == "transition",
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
    appeals or the reason is empty. Other refusals (no result yet, already
    appealed, window passed) are recorded as an ``appeal_refused`` event,
    sent to the complainant, and returned. An opened appeal starts the panel
    step: ``step_due_at`` is ``panel_standard`` after ``now`` on the office
    calendar (PR-LS-8.1.4 step 4), ``None`` without a standard.
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
    elif complaint.status not in spec.after or received is None:
        refusal = (
            AppealRefusal.NO_RESULT_YET,
            "hasil penanganan belum disampaikan"
            if language == "id"
            else "no result has been given yet",
        )
    else:
        deadline = spec.window.due(received, profile.office.calendar())
        if now > deadline:
            window = spec.window.describe(language)
            refusal = (
                AppealRefusal.WINDOW_PASSED,
                f"batas waktu banding {window} sejak hasil diterima telah lewat"
                if language == "id"
                else f"the appeal period of {window} after receiving the result has passed",
            )
    if refusal is not None:
        code, why = refusal
        session.add(
            ComplaintEvent(
                complaint_id=complaint.id,
                at=now,
                actor=opened_by,
                kind="appeal_refused",
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
        step_due_at=(
            spec.panel_standard.due(now, profile.office.calendar())
            if spec.panel_standard is not None
            else None
        ),
    )
    session.add(appeal)
    await session.flush()
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            at=now,
            actor=opened_by,
            kind="appeal_opened",
            note=reason.strip(),
            data={"appeal_id": appeal.id},
        )
    )
    await notify_complainant(
        session,
        writer,
        complaint,
        spec.opened.get(language).format(tracking=complaint.tracking_number),
        actor="system",
        enabled=enabled_channels,
    )
    return OpenResult(appeal)


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
    complaint: Complaint,
    username: str,
    is_chair: bool,
    declaration: str,
    actor: str,
    actor_role: str,
    now: datetime | None = None,
) -> AppealPanelMember:
    """Seat ``username`` on the panel of ``appeal`` (PR-LS-8.1.4 step 4).

    Raises :class:`AppealRefused` when the actor may not form panels, the
    appeal is decided, the panel is full, a second chair is named, the last
    seat is not the chair while none is seated, the member handled the
    complaint, is unknown or already seated, or gave no impartiality
    declaration. The seat that completes the panel (``panel_size`` members
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
    if username in await _involved(session, complaint):
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
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            at=now,
            actor=actor,
            kind="appeal_panel_member_added",
            note=username,
            data={"appeal_id": appeal.id, "username": username, "chair": is_chair},
        )
    )
    await session.flush()
    return member


async def decide_appeal(
    session: AsyncSession,
    *,
    profile: Profile,
    writer: OutboxWriter,
    appeal: Appeal,
    complaint: Complaint,
    decision: str,
    chair: str,
    enabled_channels: Collection[str],
    now: datetime | None = None,
) -> Appeal:
    """Record the panel's final decision (PR-LS-8.1.4 step 5) and tell the complainant.

    Raises :class:`AppealRefused` when the appeal is already decided, the
    panel is not complete (size, one chair, all declarations), ``chair`` is
    not its chair, or the decision is empty. The decision ends the appeal's
    last timed step (``step_due_at`` cleared).
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
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            at=now,
            actor=f"staff:{chair}",
            kind="appeal_decided",
            note=appeal.decision,
            data={"appeal_id": appeal.id, "panel": sorted(m.username for m in members)},
        )
    )
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
