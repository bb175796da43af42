"""Delivery statuses reported by providers.

Each report is stored once (unique on channel, provider id, status) and
moves the matching outbox row's ``delivery_status`` forward only: reports
arrive late, twice and out of order (Meta redelivers for days), and a late
``sent`` must never undo a ``read``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from channels.base import PROVIDER_STATUS, DeliveryState, normalise_status
from storage.db import SessionFactory, insert_new
from storage.event_kinds import ComplaintEventKind
from storage.models import ComplaintEvent, DeliveryStatus, OutboxMessage
from storage.types import utcnow

__all__ = [
    "PROVIDER_STATUS",
    "RANK",
    "Delivery",
    "normalise_status",
    "record_delivery_status",
]

#: Normalised delivery states (defined with the channels, which report them).
Delivery = DeliveryState

#: Rank: a status only replaces one of lower rank. A failure outranks
#: queued/sent but not delivered/read (a late failure report for a message
#: already read changes nothing).
RANK = {
    Delivery.QUEUED: 0,
    Delivery.SENT: 1,
    Delivery.FAILED: 2,
    Delivery.DELIVERED: 3,
    Delivery.READ: 4,
}


async def record_delivery_status(
    sessions: SessionFactory,
    *,
    channel: str,
    provider_id: str,
    status: Delivery,
    error_code: str | None = None,
    occurred_at: datetime | None = None,
    raw: dict[str, Any] | None = None,
) -> bool:
    """Store one delivery report and advance the outbox row it belongs to.

    Commits before returning (the caller acknowledges its provider after).
    Returns True when the report is new, False for a repeat. A report for an
    unknown provider id is stored all the same (it may precede our own
    record of the send) and applied by nothing; a failure adds a
    ``delivery_failed`` event to the complaint.
    """
    when = occurred_at or utcnow()
    async with sessions() as session, session.begin():
        new_id = await insert_new(
            session,
            DeliveryStatus,
            ("channel", "provider_id", "status"),
            channel=channel,
            provider_id=provider_id,
            status=status.value,
            error_code=error_code,
            occurred_at=when,
            created_at=utcnow(),
            raw=raw or {},
        )
        if new_id is None:
            return False
        row = await session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.channel == channel, OutboxMessage.provider_id == provider_id)
            .with_for_update()
        )
        if row is None:
            return True
        current = Delivery(row.delivery_status) if row.delivery_status else None
        if current is None or RANK[status] > RANK[current]:
            row.delivery_status = status.value
            row.delivery_updated_at = when
            if status is Delivery.FAILED:
                row.delivery_error_code = error_code
                if row.complaint_id is not None:
                    session.add(
                        ComplaintEvent(
                            complaint_id=row.complaint_id,
                            actor=f"provider:{channel}",
                            kind=ComplaintEventKind.DELIVERY_FAILED,
                            note=f"{channel} reported the message undelivered"
                            + (f" (error {error_code})" if error_code else ""),
                            data={"outbox_id": row.id, "code": error_code},
                        )
                    )
        return True
