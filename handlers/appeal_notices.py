"""An appeal's own history and the notices to an appellant without a complaint.

Every appeal keeps its history in ``appeal_events`` (PR-LS-8.1.4 step 2:
Rekaman Keluhan dan Banding); an appeal on a complaint also writes the same
entry to the complaint's history. A standalone appeal (PR-LS-8.1.4 step 1)
has no complaint to route by: its notices go to the appellant's own channel
and address (:func:`appellant_route`), staged in the outbox in the caller's
transaction, and are recorded.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelName
from handlers.notifications import address_route
from handlers.outbox import Draft, OutboxWriter
from storage.event_kinds import ComplaintEventKind
from storage.models import Appeal, AppealEvent, ComplaintEvent, OutboxMessage
from storage.types import utcnow


def record_appeal_event(
    session: AsyncSession,
    appeal: Appeal,
    *,
    actor: str,
    kind: ComplaintEventKind,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Add one entry to ``appeal``'s history, and to its complaint's when it has one.

    ``appeal`` must have been flushed (it needs its id). ``data`` is stored
    as given (JSON); ``at`` defaults to now (UTC).
    """
    when = at or utcnow()
    payload = dict(data or {})
    session.add(
        AppealEvent(appeal_id=appeal.id, at=when, actor=actor, kind=kind, note=note, data=payload)
    )
    if appeal.complaint_id is not None:
        session.add(
            ComplaintEvent(
                complaint_id=appeal.complaint_id,
                at=when,
                actor=actor,
                kind=kind,
                note=note,
                data=payload,
            )
        )


def appellant_route(appeal: Appeal, enabled: Collection[str]) -> tuple[str, str] | None:
    """(channel, address) for answers to a standalone appeal, or ``None``.

    The appellant's own chat or email channel; for the web form, the address
    given chooses: email when email is on, a phone number by WhatsApp or else
    SMS, whichever is on (as :func:`handlers.notifications.complaint_route`).
    """
    address = appeal.address
    if not address or appeal.channel is None:
        return None
    return address_route(appeal.channel, address, enabled)


async def notify_appellant(
    session: AsyncSession,
    writer: OutboxWriter,
    appeal: Appeal,
    text: str,
    *,
    actor: str,
    enabled: Collection[str],
) -> OutboxMessage | None:
    """Stage ``text`` to the appellant of a standalone ``appeal`` and record it.

    Returns the outbox row, or ``None`` (an ``appellant_unroutable`` appeal
    event is recorded for staff) when there is no route back or no contact.
    Emails carry the appeal's reference in the subject.
    """
    route = appellant_route(appeal, enabled)
    if route is None or appeal.contact_id is None:
        record_appeal_event(
            session, appeal, actor=actor, kind=ComplaintEventKind.APPELLANT_UNROUTABLE, note=text
        )
        return None
    channel, recipient = route
    row = await writer.add(
        session,
        Draft(
            channel=channel,
            recipient=recipient,
            text=text,
            contact_id=appeal.contact_id,
            subject=f"[{appeal.reference}]" if channel == ChannelName.EMAIL else None,
            language=appeal.language or "id",
            automatic=False,
            sender=actor,
        ),
    )
    record_appeal_event(
        session,
        appeal,
        actor=actor,
        kind=ComplaintEventKind.APPELLANT_NOTIFIED,
        note=text,
        data={"outbox_id": row.id, "channel": channel},
    )
    return row
