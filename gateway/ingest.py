"""Ingest: store one inbound message durably, exactly once, before the provider is
acknowledged (docs/architecture.md, "Reliability rules" 1 and 2).

The caller (a webhook handler, the mailbox poller) acknowledges its provider
only after :func:`ingest` returns; processing is then requested through the job
runner and driven from the database (rule 3).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import aiosqlite
from sqlalchemy import Table, delete, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from channels.addresses import address_kind
from channels.base import InboundMessage
from gateway import ingest_sqlite
from storage.db import SessionFactory, dialect_insert
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


async def _find_contacts(
    session: AsyncSession, driver: aiosqlite.Connection | None, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    if driver is not None:
        return await ingest_sqlite.find_contacts(driver, keys)
    rows = await session.execute(
        select(ContactAddress.kind, ContactAddress.address, ContactAddress.contact_id).where(
            tuple_(ContactAddress.kind, ContactAddress.address).in_(list(keys))
        )
    )
    return {(kind, address): contact_id for kind, address, contact_id in rows}


async def _contacts_for(
    session: AsyncSession,
    messages: Sequence[InboundMessage],
    driver: aiosqlite.Connection | None = None,
) -> dict[tuple[str, str], int]:
    """Contact id per (address kind, address) for every sender, creating new ones."""
    keys = {(address_kind(m.channel, m.sender), m.sender): m for m in messages}
    found = await _find_contacts(session, driver, list(keys))
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
        dialect_insert(session)(addresses)
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
        found.update(await _find_contacts(session, driver, lost))
        await session.execute(delete(contacts).where(contacts.c.id.in_([new_ids[k] for k in lost])))
    return found


async def _insert_messages(
    session: AsyncSession, driver: aiosqlite.Connection | None, params: list[dict[str, Any]]
) -> dict[tuple[str, str], tuple[int, int]]:
    """(Message id, contact id) per (channel, external id) of the rows inserted."""
    if driver is not None:
        return await ingest_sqlite.insert_messages(session, driver, params)
    table = cast(Table, Message.__table__)
    result = await session.execute(
        dialect_insert(session)(table)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(table.c.id, table.c.contact_id, table.c.channel, table.c.external_id),
        params,
    )
    return {(row.channel, row.external_id): (row.id, row.contact_id) for row in result}


async def _find_messages(
    session: AsyncSession, driver: aiosqlite.Connection | None, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, int]]:
    """(Message id, contact id) per stored (channel, external id) among ``keys``."""
    if driver is not None:
        return await ingest_sqlite.find_messages(driver, keys)
    rows = await session.execute(
        select(Message.id, Message.contact_id, Message.channel, Message.external_id).where(
            tuple_(Message.channel, Message.external_id).in_(keys)
        )
    )
    return {(row.channel, row.external_id): (row.id, row.contact_id) for row in rows}


async def store_batch(
    session: AsyncSession, messages: Sequence[InboundMessage]
) -> list[IngestResult]:
    """Store ``messages`` inside the caller's transaction, in a few statements.

    Returns one result per message, in order. Dedupe is the database's: one
    multi-row ``INSERT … ON CONFLICT (channel, external_id) DO NOTHING
    RETURNING``; rows it did not insert (redeliveries, also within the batch)
    are looked up and reported as duplicates. On SQLite the lookups and the
    insert go to the driver directly (:mod:`gateway.ingest_sqlite`).
    """
    driver = await ingest_sqlite.driver_connection(session)
    contacts = await _contacts_for(session, messages, driver)
    now = utcnow()
    params = []
    for message in messages:
        contact_id = contacts[(address_kind(message.channel, message.sender), message.sender)]
        values = message_values(message, contact_id)
        values["created_at"] = now
        params.append(values)
    inserted = await _insert_messages(session, driver, params)
    missing = {(str(m.channel), m.external_id) for m in messages} - set(inserted)
    existing = await _find_messages(session, driver, list(missing)) if missing else {}
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
    fsync, which is what makes the embedded default fast under load.

    During a burst the writer keeps its database connection from one batch to
    the next: it lets the connection go once no message arrived for
    ``linger_seconds`` after a commit, or after holding it for
    ``max_hold_seconds``. On the embedded default (one SQLite connection per
    process) processing, sweeps and staff pages therefore wait for a lull, or
    at most ``max_hold_seconds``, instead of taking turns with every batch;
    they catch up when the burst is over (docs/webhooks.md, "Throughput").

    If a batch fails as a whole, its messages are retried one by one, each in
    its own transaction, so a single bad message fails alone.

    Raises:
        TypeError: ``sessions`` is not bound to an engine (the writer needs
            one to hold a connection).
    """

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        max_batch: int = 256,
        linger_seconds: float = 0.005,
        max_hold_seconds: float = 1.0,
    ) -> None:
        engine = sessions.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            raise TypeError("IngestBatcher needs a session factory bound to an engine")
        self._sessions = sessions
        self._engine = engine
        self.max_batch = max_batch
        self.linger_seconds = linger_seconds
        self.max_hold_seconds = max_hold_seconds
        self._queue: list[tuple[InboundMessage, asyncio.Future[IngestResult]]] = []
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, message: InboundMessage) -> IngestResult:
        """Store ``message``; returns once it is committed (see :func:`ingest`).

        Cancelling the caller does not cancel the write: the message may still
        be committed afterwards (a redelivery is then a duplicate).
        """
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._queue.append((message, future))
        self._arrived.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write())
        # The write runs in the writer's task: cancelling this wait cancels only
        # ``future``, which the writer then skips.
        return await future

    def _take(self) -> list[tuple[InboundMessage, asyncio.Future[IngestResult]]]:
        batch = self._queue[: self.max_batch]
        del self._queue[: self.max_batch]
        return batch

    async def _more(self) -> bool:
        """Whether a message arrives within ``linger_seconds``."""
        if self._queue:
            return True
        self._arrived.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), self.linger_seconds)
        return bool(self._queue)

    def _resolve(
        self,
        batch: Sequence[tuple[InboundMessage, asyncio.Future[IngestResult]]],
        results: Sequence[IngestResult],
    ) -> None:
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        engine = self._engine
        while self._queue:
            batch = self._take()
            try:
                async with engine.connect() as connection:
                    release_at = loop.time() + self.max_hold_seconds
                    while True:
                        async with self._sessions(bind=connection) as session, session.begin():
                            results = await store_batch(session, [m for m, _ in batch])
                        self._resolve(batch, results)
                        batch = []
                        if loop.time() >= release_at or not await self._more():
                            break
                        batch = self._take()
            except Exception:
                if not batch:
                    log.warning("releasing the ingest connection failed", exc_info=True)
                    continue
                log.warning("batch of %s failed; storing one by one", len(batch), exc_info=True)
                await self._one_by_one(batch)

    async def _one_by_one(
        self, batch: Sequence[tuple[InboundMessage, asyncio.Future[IngestResult]]]
    ) -> None:
        for message, future in batch:
            try:
                result = await ingest(self._sessions, message)
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)
