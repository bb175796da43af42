"""Messages kept aside (``quarantined_inbound``), for the page that lists them
(docs/email.md, docs/webhooks.md).

Open to the roles that read the reports; :mod:`gateway.inbox.quarantine`
refuses the others before asking. Nothing here changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import QuarantinedInbound


@dataclass(frozen=True, slots=True)
class KeptAside:
    """A row of the list: when (aware UTC), the channel, why it was kept aside
    (``error``), its first bytes (``head``, at most what was asked for) and
    its whole size in bytes."""

    id: int
    channel: str
    error: str
    created_at: datetime
    head: bytes
    size: int


@dataclass(frozen=True, slots=True)
class KeptAsideList:
    """The newest rows, newest first, and how many are kept in all."""

    total: int
    rows: tuple[KeptAside, ...]


@dataclass(frozen=True, slots=True)
class KeptAsideRaw:
    """The bytes of one row as received, and its channel."""

    raw: bytes
    channel: str


async def kept_aside(session: AsyncSession, *, limit: int, head_bytes: int) -> KeptAsideList:
    """The newest ``limit`` rows with their first ``head_bytes`` bytes, and the count
    of all rows; the whole bodies are not read."""
    total = int(await session.scalar(select(func.count(QuarantinedInbound.id))) or 0)
    found = (
        await session.execute(
            select(
                QuarantinedInbound.id,
                QuarantinedInbound.channel,
                QuarantinedInbound.error,
                QuarantinedInbound.created_at,
                func.substr(QuarantinedInbound.raw, 1, head_bytes).label("head"),
                func.length(QuarantinedInbound.raw).label("size"),
            )
            .order_by(QuarantinedInbound.id.desc())
            .limit(limit)
        )
    ).all()
    rows = tuple(
        KeptAside(
            id=row.id,
            channel=row.channel,
            error=row.error,
            created_at=row.created_at,
            head=bytes(row.head or b""),
            size=int(row.size or 0),
        )
        for row in found
    )
    return KeptAsideList(total=total, rows=rows)


async def kept_aside_raw(session: AsyncSession, row_id: int) -> KeptAsideRaw | None:
    """Row ``row_id``'s bytes and channel, or ``None`` when there is no such row."""
    found = (
        await session.execute(
            select(QuarantinedInbound.raw, QuarantinedInbound.channel).where(
                QuarantinedInbound.id == row_id
            )
        )
    ).first()
    if found is None:
        return None
    raw, channel = found
    return KeptAsideRaw(raw=bytes(raw), channel=channel)
