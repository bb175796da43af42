"""Ingest: store one inbound message durably, exactly once, before the provider is
acknowledged (DESIGN.md reliability rules 1 and 2).

The caller (a webhook handler, the mailbox poller) acknowledges its provider
only after :func:`ingest` returns; processing is then requested through the job
runner and driven from the database (rule 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import InboundMessage
from gateway.addresses import address_kind
from storage.db import SessionFactory
from storage.models import Attachment, Contact, ContactAddress, Direction, Message
from storage.types import utcnow


@dataclass(frozen=True, slots=True)
class IngestResult:
    """Outcome of :func:`ingest`.

    ``duplicate`` is True when the (channel, external_id) pair was already
    stored; ``message_id`` is then the id of the first copy.
    """

    message_id: int
    contact_id: int
    duplicate: bool


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def resolve_contact(
    session: AsyncSession, channel: str, address: str, display_name: str | None
) -> int:
    """Return the contact id for ``address`` on ``channel``, creating it if new.

    Safe under concurrency: a losing racer's insert fails on the unique
    (kind, address) constraint inside a savepoint and the winner's row is read.
    """
    kind = address_kind(channel, address)
    found = await session.scalar(
        select(ContactAddress.contact_id).where(
            ContactAddress.kind == kind, ContactAddress.address == address
        )
    )
    if found is not None:
        return found
    try:
        async with session.begin_nested():
            contact = Contact(display_name=display_name)
            session.add(contact)
            await session.flush()
            session.add(ContactAddress(contact_id=contact.id, kind=kind, address=address))
            await session.flush()
            return contact.id
    except IntegrityError:
        found = await session.scalar(
            select(ContactAddress.contact_id).where(
                ContactAddress.kind == kind, ContactAddress.address == address
            )
        )
        if found is None:  # pragma: no cover - constraint fired for another reason
            raise
        return found


def message_values(message: InboundMessage, contact_id: int) -> dict[str, Any]:
    """Column values for the ``messages`` row of an inbound message."""
    return {
        "channel": str(message.channel),
        "external_id": message.external_id,
        "direction": Direction.IN.value,
        "contact_id": contact_id,
        "sender": message.sender,
        "sender_name": message.sender_name,
        "subject": message.subject,
        "text": message.text,
        "fields": dict(message.fields),
        "thread_refs": list(message.thread_refs),
        "automatic": message.automatic,
        "language": message.language,
        "raw": dict(message.raw),
        "received_at": message.received_at,
        "process_attempts": 0,
    }


async def store_inbound(session: AsyncSession, message: InboundMessage) -> IngestResult:
    """Store ``message`` inside the caller's transaction; see :func:`ingest`."""
    contact_id = await resolve_contact(
        session, message.channel, message.sender, message.sender_name
    )
    values = message_values(message, contact_id)
    values["created_at"] = utcnow()
    stmt = (
        _insert(session)(Message)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(Message.id)
    )
    new_id = (await session.execute(stmt)).scalar_one_or_none()
    if new_id is None:
        existing = (
            await session.execute(
                select(Message.id, Message.contact_id).where(
                    Message.channel == str(message.channel),
                    Message.external_id == message.external_id,
                )
            )
        ).one()
        return IngestResult(existing.id, existing.contact_id, duplicate=True)
    for att in message.attachments:
        session.add(
            Attachment(
                message_id=new_id,
                filename=att.filename,
                content_type=att.content_type,
                size=att.size or len(att.content),
                content=att.content,
                skipped_reason=att.skipped_reason,
            )
        )
    return IngestResult(new_id, contact_id, duplicate=False)


async def ingest(sessions: SessionFactory, message: InboundMessage) -> IngestResult:
    """Commit ``message`` in one transaction and return what was stored.

    A redelivery (same channel and external id) changes nothing and returns
    ``duplicate=True``: the unique constraint on ``messages(channel,
    external_id)`` decides, not a check-then-insert (reliability rule 2). The
    row is committed when this returns, so the caller may acknowledge.
    """
    async with sessions() as session, session.begin():
        return await store_inbound(session, message)
