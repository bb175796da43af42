"""The inbox's unread marker: recording that a staff member opened a complaint.

A complaint is unread for a staff member who never opened it, or when an
inbound message was linked to it after they last did
(``Complaint.last_inbound_at`` > ``ComplaintRead.read_at``, kept by
:mod:`storage.activity`); :func:`gateway.queries.complaint_list.list_inbox` computes
it per row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import ComplaintRead
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
