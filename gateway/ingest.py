"""Ingest: store one inbound message durably, exactly once, before the provider is
acknowledged (DESIGN.md reliability rules 1 and 2).

The caller (a webhook handler, the mailbox poller) acknowledges its provider
only after :func:`ingest` returns; processing is then requested through the job
runner and driven from the database (rule 3).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from channels.addresses import address_kind
from channels.base import InboundMessage
from storage.db import SessionFactory
from storage.models import Attachment, Contact, ContactAddress, Direction, Message
from storage.types import utcnow

log = logging.getLogger(__name__)


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
    [result] = await store_batch(session, [message])
    return result


async def _contacts_for(
    session: AsyncSession, messages: Sequence[InboundMessage]
) -> dict[tuple[str, str], int]:
    """Contact id per (address kind, address) for every sender, creating new ones."""
    keys = {(address_kind(m.channel, m.sender), m.sender): m for m in messages}
    found: dict[tuple[str, str], int] = {}
    rows = await session.execute(
        select(ContactAddress.kind, ContactAddress.address, ContactAddress.contact_id).where(
            tuple_(ContactAddress.kind, ContactAddress.address).in_(list(keys))
        )
    )
    for kind, address, contact_id in rows:
        found[(kind, address)] = contact_id
    new = [key for key in keys if key not in found]
    if not new:
        return found
    # New senders: one multi-row insert of contacts, one of addresses. An
    # address another process inserted meanwhile wins; our spare contact goes.
    contacts = cast(Table, Contact.__table__)
    created = await session.execute(
        insert(contacts).returning(contacts.c.id, sort_by_parameter_order=True),
        [
            {"display_name": keys[key].sender_name, "created_at": utcnow(), "updated_at": utcnow()}
            for key in new
        ],
    )
    new_ids = dict(zip(new, created.scalars().all(), strict=True))
    addresses = cast(Table, ContactAddress.__table__)
    result = await session.execute(
        _insert(session)(addresses)
        .on_conflict_do_nothing(index_elements=["kind", "address"])
        .returning(addresses.c.kind, addresses.c.address, addresses.c.contact_id),
        [
            {"contact_id": new_ids[key], "kind": key[0], "address": key[1], "created_at": utcnow()}
            for key in new
        ],
    )
    for kind, address, contact_id in result:
        found[(kind, address)] = contact_id
    lost = [key for key in new if key not in found]
    if lost:
        rows = await session.execute(
            select(ContactAddress.kind, ContactAddress.address, ContactAddress.contact_id).where(
                tuple_(ContactAddress.kind, ContactAddress.address).in_(lost)
            )
        )
        for kind, address, contact_id in rows:
            found[(kind, address)] = contact_id
        await session.execute(delete(contacts).where(contacts.c.id.in_([new_ids[k] for k in lost])))
    return found


async def store_batch(
    session: AsyncSession, messages: Sequence[InboundMessage]
) -> list[IngestResult]:
    """Store ``messages`` inside the caller's transaction, in a few statements.

    Returns one result per message, in order. Dedupe is the database's: one
    multi-row ``INSERT … ON CONFLICT (channel, external_id) DO NOTHING
    RETURNING``; rows it did not insert (redeliveries, also within the batch)
    are looked up and reported as duplicates.
    """
    contacts = await _contacts_for(session, messages)
    now = utcnow()
    params = []
    for message in messages:
        contact_id = contacts[(address_kind(message.channel, message.sender), message.sender)]
        values = message_values(message, contact_id)
        values["created_at"] = now
        params.append(values)
    table = cast(Table, Message.__table__)
    inserted: dict[tuple[str, str], tuple[int, int]] = {}
    result = await session.execute(
        _insert(session)(table)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(table.c.id, table.c.contact_id, table.c.channel, table.c.external_id),
        params,
    )
    for row in result:
        inserted[(row.channel, row.external_id)] = (row.id, row.contact_id)
    missing = {(str(m.channel), m.external_id) for m in messages} - set(inserted)
    existing: dict[tuple[str, str], tuple[int, int]] = {}
    if missing:
        rows = await session.execute(
            select(Message.id, Message.contact_id, Message.channel, Message.external_id).where(
                tuple_(Message.channel, Message.external_id).in_(list(missing))
            )
        )
        for row in rows:
            existing[(row.channel, row.external_id)] = (row.id, row.contact_id)
    results: list[IngestResult] = []
    first_seen: set[tuple[str, str]] = set()
    for message in messages:
        key = (str(message.channel), message.external_id)
        if key in inserted and key not in first_seen:
            first_seen.add(key)
            message_id, contact_id = inserted[key]
            results.append(IngestResult(message_id, contact_id, duplicate=False))
            for att in message.attachments:
                session.add(
                    Attachment(
                        message_id=message_id,
                        filename=att.filename,
                        content_type=att.content_type,
                        size=att.size or len(att.content),
                        content=att.content,
                        skipped_reason=att.skipped_reason,
                    )
                )
        else:
            message_id, contact_id = inserted.get(key) or existing[key]
            results.append(IngestResult(message_id, contact_id, duplicate=True))
    return results


async def ingest(sessions: SessionFactory, message: InboundMessage) -> IngestResult:
    """Commit ``message`` in one transaction and return what was stored.

    A redelivery (same channel and external id) changes nothing and returns
    ``duplicate=True``: the unique constraint on ``messages(channel,
    external_id)`` decides, not a check-then-insert (reliability rule 2). The
    row is committed when this returns, so the caller may acknowledge.
    """
    async with sessions() as session, session.begin():
        return await store_inbound(session, message)


async def ingest_batch(
    sessions: SessionFactory, messages: Sequence[InboundMessage]
) -> list[IngestResult]:
    """Commit ``messages`` together in one transaction; one result per message, in order.

    All or nothing: when it raises, none of them is stored (the mailbox poller
    then stores the batch one by one, docs/email.md "Fast intake"). The same
    dedupe as :func:`ingest`: a redelivery, also within the batch, is
    reported with ``duplicate=True`` and changes nothing.
    """
    if not messages:
        return []
    async with sessions() as session, session.begin():
        return await store_batch(session, messages)


class IngestBatcher:
    """Group commit: messages arriving together are committed in one transaction.

    Each caller still waits until its own message is committed (reliability
    rule 1), but concurrent callers share one transaction, and on SQLite one
    fsync, which is what makes the embedded default fast under load. If a batch
    fails as a whole, its messages are retried one by one so a single bad
    message fails alone.
    """

    def __init__(self, sessions: SessionFactory, *, max_batch: int = 256) -> None:
        self._sessions = sessions
        self.max_batch = max_batch
        self._queue: list[tuple[InboundMessage, asyncio.Future[IngestResult]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, message: InboundMessage) -> IngestResult:
        """Store ``message``; returns once it is committed (see :func:`ingest`)."""
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._queue.append((message, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write())
        return await asyncio.shield(future)

    async def _write(self) -> None:
        while self._queue:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
            try:
                async with self._sessions() as session, session.begin():
                    results = await store_batch(session, [m for m, _ in batch])
            except Exception:
                log.warning("batch of %s failed; storing one by one", len(batch), exc_info=True)
                for message, future in batch:
                    try:
                        result = await ingest(self._sessions, message)
                    except Exception as exc:
                        if not future.done():
                            future.set_exception(exc)
                    else:
                        if not future.done():
                            future.set_result(result)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
