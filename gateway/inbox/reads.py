"""The inbox's read markers: a staff member opened a complaint, or read their notices.

A complaint is unread for a staff member who never opened it, or when an
inbound message was linked to it after they last did
(``Complaint.last_inbound_at`` > ``ComplaintRead.read_at``, kept by
:mod:`storage.activity`); :func:`gateway.queries.complaint_list.list_inbox` computes
it per row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import ComplaintRead, StaffNotification
from storage.types import utcnow


async def mark_read(
    session: AsyncSession,
    complaint_id: int,
    staff_user_id: int,
    now: datetime | None = None,
) -> None:
    """Record that staff member ``staff_user_id`` has read complaint ``complaint_id``
    up to ``now`` (aware; default the current time), in the caller's transaction.

    Take ``now`` before loading the complaint's messages for the page, so a
    message linked meanwhile stays unread. One upsert, safe when two tabs
    open the complaint at once; ``read_at`` never moves backwards. Raises
    ``sqlalchemy.exc.IntegrityError`` for an unknown complaint or staff id.
    """
    now = now or utcnow()
    insert: Any = dialect_insert(session)
    statement = insert(ComplaintRead).values(
        complaint_id=complaint_id, staff_user_id=staff_user_id, read_at=now
    )
    newer = statement.excluded.read_at
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["complaint_id", "staff_user_id"],
            set_={
                "read_at": case((ComplaintRead.read_at < newer, newer), else_=ComplaintRead.read_at)
            },
        )
    )


async def mark_notices_read(
    session: AsyncSession,
    staff_user_id: int,
    notice_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Mark notice ``notice_id`` of staff member ``staff_user_id`` read, or all of
    their unread notices when ``notice_id`` is ``None``, at ``now`` (aware;
    default the current time), in the caller's transaction. Another member's
    notice is never touched. Returns how many were marked."""
    query = update(StaffNotification).where(
        StaffNotification.staff_user_id == staff_user_id, StaffNotification.read_at.is_(None)
    )
    if notice_id is not None:
        query = query.where(StaffNotification.id == notice_id)
    result = await session.execute(query.values(read_at=now or utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
