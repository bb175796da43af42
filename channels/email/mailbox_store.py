"""Database side of mailbox polling: checkpoints and quarantine (docs/email.md, "Mail that cannot be taken in").

``imap_checkpoints`` holds, per mailbox, the UIDVALIDITY and the last UID that
was fully handled (stored as a message, or quarantined); ``quarantined_inbound``
keeps what could not be parsed, visible to staff, so it never blocks the rest.
The writes run to their end when the polling task is cancelled
(:func:`storage.uncancelled.runs_to_end`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelName
from storage.db import SessionFactory, dialect_insert, insert_new
from storage.models import ImapCheckpoint, QuarantinedInbound
from storage.types import utcnow
from storage.uncancelled import runs_to_end

__all__ = [
    "Checkpoint",
    "Quarantined",
    "advance_checkpoint",
    "load_checkpoint",
    "quarantine",
    "reset_checkpoint",
    "settle_batch",
]

_MAX_ERROR_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where polling of one mailbox stands: UIDVALIDITY and the last handled UID (0 = none)."""

    uidvalidity: int
    last_uid: int


async def load_checkpoint(sessions: SessionFactory, mailbox_key: str) -> Checkpoint | None:
    """The stored checkpoint of ``mailbox_key``, or None before the first poll."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(ImapCheckpoint.uidvalidity, ImapCheckpoint.last_uid).where(
                    ImapCheckpoint.mailbox_key == mailbox_key
                )
            )
        ).one_or_none()
    return None if row is None else Checkpoint(int(row.uidvalidity), int(row.last_uid))


@runs_to_end
async def reset_checkpoint(sessions: SessionFactory, mailbox_key: str, uidvalidity: int) -> None:
    """Start ``mailbox_key`` over at UID 0 under ``uidvalidity`` (first poll, or UIDVALIDITY changed).

    An upsert: safe when another process did the same a moment earlier.
    """
    now = utcnow()
    async with sessions() as session, session.begin():
        stmt = dialect_insert(session)(ImapCheckpoint).values(
            mailbox_key=mailbox_key, uidvalidity=uidvalidity, last_uid=0, updated_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["mailbox_key"],
            set_={"uidvalidity": uidvalidity, "last_uid": 0, "updated_at": now},
        )
        await session.execute(stmt)


async def _advance(session: AsyncSession, mailbox_key: str, uidvalidity: int, uid: int) -> None:
    await session.execute(
        update(ImapCheckpoint)
        .where(
            ImapCheckpoint.mailbox_key == mailbox_key,
            ImapCheckpoint.uidvalidity == uidvalidity,
            ImapCheckpoint.last_uid < uid,
        )
        .values(last_uid=uid, updated_at=utcnow())
    )


@runs_to_end
async def advance_checkpoint(
    sessions: SessionFactory, mailbox_key: str, uidvalidity: int, uid: int
) -> None:
    """Record that every UID up to ``uid`` is handled. Never moves backwards; a no-op
    when the stored UIDVALIDITY differs (the mailbox was reset meanwhile)."""
    async with sessions() as session, session.begin():
        await _advance(session, mailbox_key, uidvalidity, uid)


@dataclass(frozen=True, slots=True)
class Quarantined:
    """One mail of a batch to keep aside: its UID, bytes and the reason."""

    uid: int
    raw: bytes
    error: str


def _quarantine_row(mailbox_key: str, uidvalidity: int, item: Quarantined) -> dict[str, Any]:
    return {
        "channel": str(ChannelName.EMAIL),
        "source_ref": f"{mailbox_key}#{uidvalidity}:{item.uid}",
        "raw": item.raw,
        "error": item.error[:_MAX_ERROR_CHARS],
        "created_at": utcnow(),
    }


@runs_to_end
async def settle_batch(
    sessions: SessionFactory,
    *,
    mailbox_key: str,
    uidvalidity: int,
    quarantined: list[Quarantined],
    through_uid: int,
) -> None:
    """Quarantine ``quarantined`` and move the checkpoint to ``through_uid``, in one transaction.

    The caller has committed every other mail up to ``through_uid`` already
    (docs/email.md "Fast intake": the checkpoint only passes UIDs committed or
    quarantined). Quarantine rows are insert-if-absent by ``source_ref``, as
    in :func:`quarantine`.
    """
    async with sessions() as session, session.begin():
        if quarantined:
            await session.execute(
                dialect_insert(session)(QuarantinedInbound).on_conflict_do_nothing(
                    index_elements=["source_ref"]
                ),
                [_quarantine_row(mailbox_key, uidvalidity, item) for item in quarantined],
            )
        await _advance(session, mailbox_key, uidvalidity, through_uid)


@runs_to_end
async def quarantine(
    sessions: SessionFactory,
    *,
    mailbox_key: str,
    uidvalidity: int,
    uid: int,
    raw: bytes,
    error: str,
) -> bool:
    """Keep an unparseable message aside and move the checkpoint past it, in one transaction.

    ``source_ref`` is ``f"{mailbox_key}#{uidvalidity}:{uid}"``; inserting is
    insert-if-absent, so a rescan does not add it twice. Returns True when a new
    row was added.
    """
    async with sessions() as session, session.begin():
        new_id = await insert_new(
            session,
            QuarantinedInbound,
            ("source_ref",),
            channel=str(ChannelName.EMAIL),
            source_ref=f"{mailbox_key}#{uidvalidity}:{uid}",
            raw=raw,
            error=error[:_MAX_ERROR_CHARS],
            created_at=utcnow(),
        )
        added = new_id is not None
        await _advance(session, mailbox_key, uidvalidity, uid)
    return added
