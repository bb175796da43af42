"""Reminders and escalations of the appeal steps (BSPJI Pontianak PR-LS-8.1.4 steps 1-5).

An open appeal is in one timed step at a time (:func:`handlers.appeals.appeal_step`):
the profile's steps before the panel (identify, 60 menit; record the type,
120 menit; pass on — PR-LS-8.1.4 steps 1-2, owners reminded), forming the
Tim Penyelesaian Banding (step 4, "1 hari") and then the panel's decision
(step 5, "1 hari"). A standalone appeal's entries go to its own history
only, and no staff email is sent for it (the alert mail is about a complaint). :mod:`handlers.appeals` keeps ``Appeal.step_due_at``
for the current step; :func:`sweep_appeal_standards` records, like the complaint
sweep of :func:`handlers.workflow.sweep_time_standards`, one reminder to the
appeal roles the workflow's ``remind_before`` ahead of the due time and one
escalation once the step is overdue, never one per sweep and never twice when
sweeps run concurrently.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.appeal_notices import record_appeal_event
from handlers.appeals import AppealStep, appeal_step
from handlers.dates import format_moment
from handlers.outbox import OutboxWriter
from handlers.profile import Profile
from handlers.staff_alerts import alert_staff
from handlers.texts import Duration
from handlers.workflow import sweep_marks
from storage.event_kinds import ComplaintEventKind
from storage.models import Appeal, AppealPanelMember, AppealStatus, Complaint
from storage.types import utcnow

#: Complaint event kinds recorded by the sweep.
REMINDER_EVENT = ComplaintEventKind.APPEAL_STEP_REMINDER
ESCALATION_EVENT = ComplaintEventKind.APPEAL_STEP_OVERDUE_ESCALATED

#: How the steps are named in the events' notes (the SOP's own words).
STEP_NAMES: dict[AppealStep, str] = {
    "identify": "Identifikasi isi pokok dan kebenaran banding (PR-LS-8.1.4 langkah 1)",
    "record_type": "Dokumentasi jenis banding (PR-LS-8.1.4 langkah 2)",
    "pass_on": "Meneruskan banding untuk pembentukan tim (PR-LS-8.1.4 langkah 2)",
    "panel": "Pembentukan Tim Penyelesaian Banding (PR-LS-8.1.4 langkah 4)",
    "decision": "Keputusan Tim Penyelesaian Banding (PR-LS-8.1.4 langkah 5)",
}


async def sweep_appeal_standards(
    session: AsyncSession,
    *,
    profile: Profile,
    now: datetime | None = None,
    limit: int = 200,
    writer: OutboxWriter | None = None,
) -> dict[str, int]:
    """One pass of appeal reminders and escalations; returns ``{"reminded": n, "escalated": m}``.

    Open appeals whose current step (panel or decision) is due are looked at,
    at most ``limit`` per kind, earliest due first. A step is reminded once,
    the workflow's ``remind_before`` ahead of ``step_due_at``, and escalated
    once when overdue (an escalation also marks the reminder, so no late
    reminder follows it). Both marks are claimed with a conditional
    ``UPDATE`` (mark still empty, appeal still open, same due time) so
    concurrent sweeps never record twice and a step that changed meanwhile is
    left alone. Each claim adds a complaint event on the appeal's complaint:
    ``appeal_step_reminder`` / ``appeal_step_overdue_escalated`` with data
    ``{"appeal_id", "step", "roles", "chair", "due_at"}`` — ``roles`` are the
    appeal roles for a reminder and ``AppealSpec.escalate_to`` (default: the
    workflow's) for an escalation, ``chair`` the panel chair once seated.

    With ``writer``, the people concerned are also emailed
    (:func:`handlers.staff_alerts.alert_staff`): for a reminder the chair once
    seated, else the appeal roles; for an escalation the escalation roles.

    Does nothing (zero counts) when the profile has no appeals or no appeal
    time standards (PR-LS-8.1.4 steps 4-5), or while the office is closed
    (queued to the first sweep after the next opening). Runs in the
    caller's transaction.
    """
    counts = {"reminded": 0, "escalated": 0}
    spec = profile.appeal
    if spec is None:
        return counts
    standards: dict[str, Duration | None] = {
        "panel": spec.panel_standard,
        "decision": spec.decision_standard,
        **{step.name: step.standard for step in spec.steps},
    }
    owners: dict[str, tuple[str, ...]] = {step.name: step.owners for step in spec.steps}
    if all(standard is None for standard in standards.values()):
        return counts
    now = now or utcnow()
    escalate_to = spec.escalate_to if spec.escalate_to is not None else profile.workflow.escalate_to
    for mark in sweep_marks(profile, now):
        kind, alert, when = mark.kind, mark.alert, mark.until
        column = Appeal.escalated_at if kind == "escalated" else Appeal.reminded_at
        candidates = list(
            await session.scalars(
                select(Appeal)
                .where(
                    Appeal.status == AppealStatus.OPEN.value,
                    Appeal.step_due_at.is_not(None),
                    Appeal.step_due_at <= when,
                    column.is_(None),
                )
                .order_by(Appeal.step_due_at, Appeal.id)
                .limit(limit)
            )
        )
        for appeal in candidates:
            due = appeal.step_due_at
            assert due is not None  # selected for it
            members = list(
                await session.scalars(
                    select(AppealPanelMember).where(AppealPanelMember.appeal_id == appeal.id)
                )
            )
            step = appeal_step(appeal, members, panel_size=spec.panel_size)
            if step == "decided" or standards.get(step) is None:
                continue
            values: dict[str, Any] = {column.key: now}
            if kind == "escalated":
                values["reminded_at"] = func.coalesce(Appeal.reminded_at, now)
            claimed = await session.execute(
                update(Appeal)
                .where(
                    Appeal.id == appeal.id,
                    Appeal.status == AppealStatus.OPEN.value,
                    Appeal.step_due_at == due,
                    column.is_(None),
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                continue
            roles = escalate_to if kind == "escalated" else owners.get(step, spec.roles)
            chair = next((m.username for m in members if m.is_chair), None)
            record_appeal_event(
                session,
                appeal,
                at=now,
                actor="system",
                kind=ESCALATION_EVENT if kind == "escalated" else REMINDER_EVENT,
                note=f"{STEP_NAMES[step]} — due {format_moment(due, profile.office.timezone)}",
                data={
                    "appeal_id": appeal.id,
                    "step": step,
                    "roles": list(roles),
                    "chair": chair,
                    "due_at": due.isoformat(),
                },
            )
            complaint = (
                await session.get(Complaint, appeal.complaint_id)
                if appeal.complaint_id is not None
                else None
            )
            if writer is not None and complaint is not None:
                due_text = format_moment(due, profile.office.timezone)
                await alert_staff(
                    session,
                    writer,
                    alert,
                    complaint,
                    step=STEP_NAMES[step],
                    due=due_text,
                    roles=roles,
                    assignee=chair,
                )
            counts[kind] += 1
    return counts
