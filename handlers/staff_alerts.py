"""Emails to staff when a step is about to be due or is overdue (docs/time-standards.md).

"A periodic job reminds the assignee before it and escalates to the
supervisor after it": the sweeps (:func:`handlers.workflow.sweep_time_standards`,
:func:`handlers.appeal_standards.sweep_appeal_standards`) record the reminder
or escalation as a complaint event, and :func:`alert_staff` stages one email
per person concerned in the same transaction, through the outbox (sent,
retried and recorded like every message). Staff read Indonesian first and
English second; both come from the translation catalogue.

Recipients: a reminder goes to the assignee when there is one with an email
address, else to every active member of the step's owner roles; an
escalation goes to every active member of the escalation roles. Staff without
an email address only see the event in the inbox.
"""

from __future__ import annotations

import enum
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import N_, t
from handlers.outbox import OutboxWriter
from handlers.staff_notices import bilingual
from storage.models import Complaint, StaffUser

REMINDER_SUBJECT = N_("[{tracking}] Reminder: due {due}")
REMINDER_TEXT = N_(
    'Complaint {tracking} ({customer}) is in the step "{step}", which is due {due}. '
    "Please complete it before then."
)
ESCALATION_SUBJECT = N_("[{tracking}] Overdue: {step}")
ESCALATION_TEXT = N_(
    'Complaint {tracking} ({customer}) is overdue in the step "{step}", due {due}. '
    "Assigned to: {assignee}."
)


class AlertKind(enum.StrEnum):
    """Which alert: before the due time, or after it."""

    REMINDER = "reminder"
    ESCALATION = "escalation"


async def _recipients(
    session: AsyncSession, roles: Collection[str], assignee: str | None, kind: AlertKind
) -> list[str]:
    if kind is AlertKind.REMINDER and assignee:
        email = await session.scalar(
            select(StaffUser.email).where(
                StaffUser.username == assignee, StaffUser.active.is_(True)
            )
        )
        if email:
            return [email]
    if not roles:
        return []
    emails = await session.scalars(
        select(StaffUser.email)
        .where(
            StaffUser.role.in_(list(roles)),
            StaffUser.active.is_(True),
            StaffUser.email.is_not(None),
        )
        .order_by(StaffUser.username)
    )
    return list(dict.fromkeys(e for e in emails if e))


async def alert_staff(
    session: AsyncSession,
    writer: OutboxWriter,
    kind: AlertKind,
    complaint: Complaint,
    *,
    step: str,
    due: str,
    roles: Collection[str],
    assignee: str | None,
) -> list[str]:
    """Stage the reminder or escalation emails about ``complaint``; returns the addresses written to.

    ``step`` is the step's label and ``due`` its due time, both already in
    words (Indonesian); ``roles`` are the owner roles (reminder) or the
    escalation roles (escalation).
    """
    recipients = await _recipients(session, roles, assignee, kind)
    if kind is AlertKind.REMINDER:
        subject_id, text_id = REMINDER_SUBJECT, REMINDER_TEXT
    else:
        subject_id, text_id = ESCALATION_SUBJECT, ESCALATION_TEXT
    values = {
        "tracking": complaint.tracking_number,
        "customer": complaint.customer_name,
        "step": step,
        "due": due,
        "assignee": assignee or "-",
    }
    subject = t("id", subject_id, **values)
    text = bilingual(text_id, **values)
    for email in recipients:
        await writer.add_staff_email(
            session, recipient=email, subject=subject, text=text, complaint_id=complaint.id
        )
    return recipients
