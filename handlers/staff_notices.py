"""Notices to staff: a new complaint for the first step's owners, an assignment for the assignee.

A notice is a :class:`storage.models.StaffNotification` row, staged in the
same transaction as the event that causes it (the registration, the
assignment), so that it is persisted with the event or not at all. One notice
per staff member and event (unique ``(staff_user_id, event_key)``, inserted
with ``ON CONFLICT DO NOTHING``): processing the same event twice adds
nothing and sends no second email.

Who is told:

* **New complaint** (SOP-7.9-1 item 2: the secretariat receives and records
  every complaint; BBSPJIKFK 5.1.11 steps 2-3: the first step's officers
  check it within its time standard): every active staff member whose role is
  one of ``workflow.states[workflow.initial].owners``. Administrators are not
  told as a rule (they may do anything but own no step), except when no
  active staff member holds an owner role: then every active ``admin`` is
  told, so that a new complaint is never left unseen. A complaint rejected at
  once by the acceptance window (SOP-7.9-1 item 3) is not announced.
* **Assignment** (SOP-7.9-1 items 6-8: the complaint is passed to the
  competent officer): the new assignee, unless they assigned themselves.

By email too when the staff member has an email address and email is
configured (``email_enabled``), through the outbox like the reminders
(:mod:`handlers.staff_alerts`); texts in Indonesian first, English second,
from the translation catalogue.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import N_, t
from handlers.outbox import OutboxWriter
from handlers.profile import Profile
from storage.db import dialect_insert
from storage.models import Complaint, StaffNotification, StaffUser
from storage.types import utcnow

NEW_COMPLAINT_SUBJECT = N_("[{tracking}] New complaint")
NEW_COMPLAINT_TEXT = N_(
    "A new complaint {tracking} ({customer}) was registered and waits in your step "
    '"{step}".\n\nOpen it: {link}'
)
ASSIGNED_SUBJECT = N_("[{tracking}] Assigned to you")
ASSIGNED_TEXT = N_("{actor} assigned complaint {tracking} ({customer}) to you.\n\nOpen it: {link}")


class NoticeKind(enum.StrEnum):
    """What a notice is about."""

    NEW_COMPLAINT = "new_complaint"
    ASSIGNED = "assigned"


def registered_key(complaint_id: int) -> str:
    """The event key of a complaint's registration."""
    return f"registered:{complaint_id}"


def assigned_key(event_id: int) -> str:
    """The event key of an assignment (its ``assigned`` or transition event's id)."""
    return f"assigned:{event_id}"


def bilingual(msgid: str, **values: str) -> str:
    """``msgid`` in Indonesian, then in English (once when they are the same)."""
    indonesian = t("id", msgid, **values)
    english = t("en", msgid, **values)
    return indonesian if indonesian == english else f"{indonesian}\n\n{english}"


async def _stage(
    session: AsyncSession,
    users: Sequence[StaffUser],
    *,
    kind: NoticeKind,
    complaint_id: int,
    event_key: str,
    params: Mapping[str, Any],
) -> list[StaffUser]:
    """Insert one notice per user unless it exists; returns the users newly told."""
    insert = dialect_insert(session)
    told: list[StaffUser] = []
    now = utcnow()
    for user in users:
        result = await session.execute(
            insert(StaffNotification)
            .values(
                staff_user_id=user.id,
                kind=kind.value,
                complaint_id=complaint_id,
                event_key=event_key,
                created_at=now,
                params=dict(params),
            )
            .on_conflict_do_nothing(index_elements=["staff_user_id", "event_key"])
        )
        if result.rowcount:  # type: ignore[attr-defined]
            told.append(user)
    return told


async def _email(
    session: AsyncSession,
    writer: OutboxWriter | None,
    users: Sequence[StaffUser],
    *,
    subject_id: str,
    text_id: str,
    complaint_id: int,
    values: Mapping[str, str],
) -> list[str]:
    if writer is None:
        return []
    sent: list[str] = []
    subject = t("id", subject_id, **values)
    text = bilingual(text_id, **values)
    for email in dict.fromkeys(u.email for u in users if u.email):
        if email:
            await writer.add_staff_email(
                session, recipient=email, subject=subject, text=text, complaint_id=complaint_id
            )
            sent.append(email)
    return sent


def complaint_link(public_url: str, tracking: str) -> str:
    """The inbox address of a complaint, e.g. ``https://…/inbox/complaints/ADU-2026-00001``
    (only the path when ``public_url`` is empty)."""
    return f"{public_url.rstrip('/')}/inbox/complaints/{tracking}"


async def first_step_owners(session: AsyncSession, profile: Profile) -> list[StaffUser]:
    """Active staff holding a role that owns the workflow's first step (admins if none).

    When the first step names no owners, or none of its roles has an active
    member, every active ``admin`` is told.
    """
    spec = profile.workflow
    owners = list(spec.states[spec.initial].owners)
    users: list[StaffUser] = []
    if owners:
        users = list(
            await session.scalars(
                select(StaffUser)
                .where(StaffUser.role.in_(owners), StaffUser.active.is_(True))
                .order_by(StaffUser.id)
            )
        )
    if not users:
        users = list(
            await session.scalars(
                select(StaffUser)
                .where(StaffUser.role == "admin", StaffUser.active.is_(True))
                .order_by(StaffUser.id)
            )
        )
    return users


async def notify_new_complaint(
    session: AsyncSession,
    *,
    profile: Profile,
    complaint: Complaint,
    writer: OutboxWriter | None,
    email_enabled: bool,
    public_url: str = "",
) -> list[StaffNotification]:
    """Tell the first step's owners of a newly registered complaint; returns the new notices.

    Call in the registration's transaction, after the complaint is flushed
    (it needs ``complaint.id``). A complaint no longer in the workflow's
    initial state (rejected at once, SOP-7.9-1 item 3) is not announced.
    The staff member who recorded it (manual intake, ``received_by`` =
    ``staff:<username>``) is not told of their own entry. Idempotent per
    complaint: a second call adds no notice and no email.
    """
    spec = profile.workflow
    if complaint.status != spec.initial:
        return []
    recorder = complaint.received_by.removeprefix("staff:")
    users = [
        u
        for u in await first_step_owners(session, profile)
        if not (complaint.received_by.startswith("staff:") and u.username == recorder)
    ]
    step = profile.status_label(spec.initial, "id")
    # No personal data in the row: the customer's name is read from the
    # complaint when shown, so an erasure (UU PDP) reaches it there.
    params = {
        "tracking": complaint.tracking_number,
        "step": step,
        "state": spec.initial,
    }
    return await _notify(
        session,
        users,
        kind=NoticeKind.NEW_COMPLAINT,
        complaint=complaint,
        event_key=registered_key(complaint.id),
        params=params,
        writer=writer if email_enabled else None,
        subject_id=NEW_COMPLAINT_SUBJECT,
        text_id=NEW_COMPLAINT_TEXT,
        public_url=public_url,
    )


async def notify_assignment(
    session: AsyncSession,
    *,
    complaint: Complaint,
    event_id: int,
    actor_username: str,
    writer: OutboxWriter | None,
    email_enabled: bool,
    public_url: str = "",
) -> list[StaffNotification]:
    """Tell ``complaint.assignee`` that the complaint was assigned to them; returns new notices.

    ``event_id`` is the recorded event that set the assignee (``assigned``,
    or a transition with the ``assignee`` datum, e.g. ``route``, SOP-7.9-1
    items 4-8). Nobody is told when the assignee assigned themselves, or is
    not an active staff member. Idempotent per event.
    """
    assignee = complaint.assignee
    if not assignee or assignee == actor_username:
        return []
    user = await session.scalar(
        select(StaffUser).where(StaffUser.username == assignee, StaffUser.active.is_(True))
    )
    if user is None:
        return []
    actor_name = await session.scalar(
        select(StaffUser.full_name).where(StaffUser.username == actor_username)
    )
    params = {"tracking": complaint.tracking_number, "actor": actor_name or actor_username}
    return await _notify(
        session,
        [user],
        kind=NoticeKind.ASSIGNED,
        complaint=complaint,
        event_key=assigned_key(event_id),
        params=params,
        writer=writer if email_enabled else None,
        subject_id=ASSIGNED_SUBJECT,
        text_id=ASSIGNED_TEXT,
        public_url=public_url,
    )


async def _notify(
    session: AsyncSession,
    users: Sequence[StaffUser],
    *,
    kind: NoticeKind,
    complaint: Complaint,
    event_key: str,
    params: Mapping[str, str],
    writer: OutboxWriter | None,
    subject_id: str,
    text_id: str,
    public_url: str,
) -> list[StaffNotification]:
    """Stage one ``kind`` notice per user of ``users`` for ``event_key`` and, when
    ``writer`` is given, email the users newly told (``params`` plus the customer's
    name and the complaint's inbox link); returns the new notices."""
    told = await _stage(
        session,
        users,
        kind=kind,
        complaint_id=complaint.id,
        event_key=event_key,
        params=params,
    )
    if writer is not None and told:
        await _email(
            session,
            writer,
            told,
            subject_id=subject_id,
            text_id=text_id,
            complaint_id=complaint.id,
            values={
                **params,
                "customer": complaint.customer_name,
                "link": complaint_link(public_url, complaint.tracking_number),
            },
        )
    return await _rows(session, event_key, [u.id for u in told])


async def _rows(session: AsyncSession, key: str, user_ids: list[int]) -> list[StaffNotification]:
    if not user_ids:
        return []
    return list(
        await session.scalars(
            select(StaffNotification)
            .where(
                StaffNotification.event_key == key, StaffNotification.staff_user_id.in_(user_ids)
            )
            .order_by(StaffNotification.id)
        )
    )
