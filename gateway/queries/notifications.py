"""A staff member's notices (:mod:`handlers.staff_notices`), for the header count
and the notifications page.

Each staff member sees only their own notices: every query here takes the
signed-in member's id and reads nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import SessionFactory
from storage.models import Complaint, StaffNotification


@dataclass(frozen=True, slots=True)
class Notice:
    """One notice: its ``kind`` (:class:`handlers.staff_notices.NoticeKind`) and
    ``params`` as staged, when it was made and read (aware UTC; ``read_at``
    ``None`` while unread), and its complaint's customer name and tracking
    number as they are now (``None`` when the complaint is gone)."""

    id: int
    kind: str
    params: dict[str, Any]
    created_at: datetime
    read_at: datetime | None
    customer_name: str | None
    tracking_number: str | None


async def unread_count(sessions: SessionFactory, staff_user_id: int) -> int:
    """How many notices of ``staff_user_id`` are unread (one indexed count,
    ``ix_staff_notifications_unread``)."""
    async with sessions() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(StaffNotification)
                .where(
                    StaffNotification.staff_user_id == staff_user_id,
                    StaffNotification.read_at.is_(None),
                )
            )
            or 0
        )


async def notices(session: AsyncSession, staff_user_id: int, *, limit: int) -> list[Notice]:
    """The newest ``limit`` notices of ``staff_user_id``, newest first."""
    found = (
        await session.execute(
            select(StaffNotification, Complaint.customer_name, Complaint.tracking_number)
            .outerjoin(Complaint, Complaint.id == StaffNotification.complaint_id)
            .where(StaffNotification.staff_user_id == staff_user_id)
            .order_by(StaffNotification.created_at.desc(), StaffNotification.id.desc())
            .limit(limit)
        )
    ).all()
    return [
        Notice(
            id=n.id,
            kind=n.kind,
            params=dict(n.params or {}),
            created_at=n.created_at,
            read_at=n.read_at,
            customer_name=customer,
            tracking_number=tracking,
        )
        for n, customer, tracking in found
    ]
