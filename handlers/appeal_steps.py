"""The appeal steps before the panel (BSPJI Pontianak PR-LS-8.1.4 steps 1-2).

PR-LS-8.1.4 applies its first steps to "keluhan dan banding" alike: the CS
receives the appeal and identifies its substance and validity (step 1, 60
menit), documents its type ("jenis keluhan dan banding") in the Rekaman
Keluhan dan Banding (step 2, 120 menit) and passes it on; only then is the
Tim Penyelesaian Banding formed (step 4). A profile lists these steps under
``appeal.steps`` (:class:`handlers.workflow_spec.AppealStepSpec`), each with
its owner roles and, where the SOP gives one, its time standard.

:func:`complete_step` records one step, checks who may and what it needs,
and starts the next step's clock (or the panel's, after the last).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.appeal_notices import record_appeal_event
from handlers.appeals import AppealRefusal, AppealRefused, enter_step
from handlers.profile import Profile
from storage.event_kinds import ComplaintEventKind
from storage.models import Appeal, AppealStatus
from storage.types import utcnow

#: The appeal event recorded for each completed step.
STEP_EVENT = ComplaintEventKind.APPEAL_PROGRESSED


async def complete_step(
    session: AsyncSession,
    *,
    profile: Profile,
    appeal: Appeal,
    step: str,
    actor: str,
    actor_role: str,
    note: str = "",
    appeal_type: str | None = None,
    subject: str | None = None,
    passed_to: str | None = None,
    now: datetime | None = None,
) -> Appeal:
    """Record that ``step`` of ``appeal`` is done and move it to the next step.

    * ``identify`` (PR-LS-8.1.4 step 1) needs ``note``: the substance and
      validity found (Laporan isi pokok dan kebenaran banding);
    * ``record_type`` (step 2) needs ``appeal_type``, a key of the profile's
      ``appeal.types``, and ``subject``, a key of ``appeal.subjects`` when
      the profile has subjects (it decides who is competent to sit on the
      panel, step 4);
    * ``pass_on`` (step 2, "mengkomunikasikan") needs ``passed_to``, one of
      the step's ``to`` roles (the only one may be left out).

    The actor's role must be among the step's ``owners`` (or ``admin``).
    Afterwards ``Appeal.step`` is the next step, or ``None`` after the last
    (the panel step, PR-LS-8.1.4 step 4); ``step_due_at`` is that step's
    standard after ``now`` (``None`` without one) and the reminder and
    escalation marks are cleared. Raises :class:`AppealRefused` and changes
    nothing when the profile has no appeals, the appeal is decided, not at
    ``step`` (``wrong_step``), the role may not (``forbidden``) or data is
    missing or unknown (``missing_data``).
    """
    spec = profile.appeal
    if spec is None:
        raise AppealRefused(AppealRefusal.NO_APPEALS, f"profile {profile.id} has no appeals")
    if appeal.status != AppealStatus.OPEN:
        raise AppealRefused(AppealRefusal.NOT_OPEN, "the appeal is already decided; that is final")
    step_spec = spec.step(step)
    if step_spec is None or appeal.step != step:
        raise AppealRefused(
            AppealRefusal.WRONG_STEP,
            f"the appeal is at step {appeal.step or 'panel'}, not {step}",
        )
    if actor_role != "admin" and actor_role not in step_spec.owners:
        raise AppealRefused(
            AppealRefusal.FORBIDDEN,
            f"role {actor_role} may not record step {step}; owners: {', '.join(step_spec.owners)}",
        )
    data: dict[str, object] = {"step": step}
    text = note.strip()
    if step == "identify":
        if not text:
            raise AppealRefused(
                AppealRefusal.MISSING_DATA,
                "identifying an appeal needs its substance and validity (a note)",
            )
    elif step == "record_type":
        if appeal_type not in spec.types:
            raise AppealRefused(
                AppealRefusal.MISSING_DATA,
                f"unknown appeal type {appeal_type!r}; use one of {', '.join(spec.types)}",
            )
        if spec.subjects and subject not in spec.subjects:
            raise AppealRefused(
                AppealRefusal.MISSING_DATA,
                f"unknown appeal subject {subject!r}; use one of {', '.join(spec.subjects)}",
            )
        data["appeal_type"] = appeal_type
        data["subject"] = subject if spec.subjects else None
    else:  # pass_on
        target = passed_to or (step_spec.to[0] if len(step_spec.to) == 1 else None)
        if target not in step_spec.to:
            raise AppealRefused(
                AppealRefusal.MISSING_DATA,
                f"pass the appeal on to one of {', '.join(step_spec.to)}",
            )
        data["to"] = target
    now = now or utcnow()
    if step == "record_type":
        appeal.appeal_type = appeal_type
        appeal.subject = subject if spec.subjects else None
    names: list[str] = [s.name for s in spec.steps]
    following = spec.steps[names.index(step) + 1] if names.index(step) + 1 < len(names) else None
    enter_step(appeal, profile, following, now)
    appeal.reminded_at = None
    appeal.escalated_at = None
    record_appeal_event(
        session, appeal, at=now, actor=actor, kind=STEP_EVENT, note=text or None, data=data
    )
    await session.flush()
    return appeal
