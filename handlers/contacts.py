"""Merging two contacts that are one person, and undoing it (docs/privacy.md).

A citizen who wrote by WhatsApp and by email is two contacts until staff
merge them. :func:`merge_contacts` moves everything of the *source* contact
to the *target* in the caller's transaction — its addresses, conversations,
messages, complaints and outbox rows (one ``UPDATE … RETURNING id`` per
table) — marks the source merged (``Contact.merged_into_id``; the row is
kept), writes a :class:`storage.models.ContactMerge` audit row with exactly
the ids that moved, and records a ``contact_merged`` event on every complaint
that moved. :func:`undo_merge` moves exactly those rows back, clears the
marker, records who undid it and a ``contact_merge_undone`` event. Anything
attached to the merged contact while it was merged (e.g. a new message from
the source's number) stays with the target.

Refused, with nothing changed (:class:`MergeRefused`): merging a contact
with itself; merging a contact that is merged, or into one that is; merging
when both contacts have an open intake conversation on the same channel (the
intake engine continues *the* open draft of a contact on a channel;
two would be ambiguous); undoing a merge already undone, or one whose target
has since been merged into a third contact (undo that one first).

Unique constraints: rows only change ``contact_id``, and no unique
constraint includes it — ``contact_addresses`` is unique on ``(kind,
address)`` across all contacts, so an address is never on both contacts and
moving it keeps it unique; ``messages (channel, external_id)`` and
``outbox.idempotency_key`` do not involve the contact. A contact may hold
several addresses of one kind (two phone numbers) after a merge.

Processing in progress (:mod:`gateway.processor`): a contact's inbound
messages are processed one transaction at a time under a per-contact guard.
On the embedded default (SQLite, one process, one connection) transactions
are serialised, so a merge runs strictly between two processing
transactions. For scale-out the processors hold database leases named
``contact:<id>``; :func:`processing_paused` takes both contacts' leases for
the merge, waiting a few seconds for a batch in progress to finish, and
refuses with ``busy`` otherwise — so a merge never interleaves with a
transaction that is writing rows for the source contact. Messages moved
while unprocessed are then processed under the target: the caller asks for
that after the commit. Rows locked: both contact rows (``FOR UPDATE`` on
PostgreSQL, in id order), so two merges of one contact are serialised.
"""

from __future__ import annotations

import asyncio
import enum
import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import leases
from storage.db import SessionFactory
from storage.event_kinds import ComplaintEventKind
from storage.models import (
    OPEN_CONVERSATION_STATES,
    Appeal,
    Base,
    Complaint,
    ComplaintEvent,
    Contact,
    ContactAddress,
    ContactMerge,
    Conversation,
    Message,
    OutboxMessage,
)
from storage.types import utcnow

#: Roles that may merge contacts and undo merges: the
#: secretariat, which registers complaints, the quality manager and ``admin``.
MERGE_ROLES = frozenset({"admin", "secretariat", "manager"})

#: The tables whose rows follow their contact, by the key used in
#: ``ContactMerge.moved``, in the order they are moved.
MOVED_TABLES: tuple[tuple[str, type[Base]], ...] = (
    ("contact_addresses", ContactAddress),
    ("conversations", Conversation),
    ("messages", Message),
    ("complaints", Complaint),
    ("outbox", OutboxMessage),
    ("appeals", Appeal),
)

#: Ids per ``UPDATE … WHERE id IN (…)`` when moving rows back (SQLite's
#: default limit is 32,766 bound parameters).
CHUNK = 500

#: How long :func:`processing_paused` waits for a processor to let go of a
#: contact, in seconds, and the lifetime of its leases.
PAUSE_WAIT_SECONDS = 5.0
PAUSE_LEASE_SECONDS = 30.0


class MergeRefusal(enum.StrEnum):
    """Why a merge or an undo was refused (the page words it)."""

    SAME_CONTACT = "same_contact"
    ALREADY_MERGED = "already_merged"
    OPEN_CONVERSATIONS = "open_conversations"
    ALREADY_UNDONE = "already_undone"
    TARGET_MERGED = "target_merged"
    BUSY = "busy"


class MergeRefused(Exception):
    """A merge or undo was refused; nothing was changed.

    ``code`` is a :class:`MergeRefusal`; ``channels`` names the channels of
    the clashing open conversations (``open_conversations`` only).
    """

    def __init__(self, code: MergeRefusal, message: str, *, channels: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.channels = tuple(channels)


def may_merge(role: str) -> bool:
    """Whether staff with ``role`` may merge contacts or undo a merge (:data:`MERGE_ROLES`)."""
    return role in MERGE_ROLES


def lease_name(contact_id: int) -> str:
    """The processing lease of a contact (as :class:`gateway.processor.LeaseContactGuard` names it)."""
    return f"contact:{contact_id}"


@asynccontextmanager
async def processing_paused(
    sessions: SessionFactory,
    contact_ids: Collection[int],
    *,
    holder: str,
    wait_seconds: float = PAUSE_WAIT_SECONDS,
) -> AsyncIterator[None]:
    """Hold the processing leases of ``contact_ids`` for the block (see the module docstring).

    ``holder`` identifies this process (``Runtime.holder``); each pause adds
    its own suffix. Waits up to ``wait_seconds`` while a processor holds one
    of them, then raises :class:`MergeRefused` (``busy``). The leases are
    released when the block ends, whatever happens in it.
    """
    token = f"{holder}:merge:{uuid.uuid4().hex[:8]}"
    names = [lease_name(i) for i in sorted(set(contact_ids))]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    held: list[str] = []
    try:
        while True:
            for name in names[len(held) :]:
                if not await leases.acquire(sessions, name, token, PAUSE_LEASE_SECONDS):
                    break
                held.append(name)
            if len(held) == len(names):
                break
            for name in held:
                await leases.release(sessions, name, token)
            held.clear()
            if loop.time() >= deadline:
                raise MergeRefused(
                    MergeRefusal.BUSY, "messages of these contacts are being processed"
                )
            await asyncio.sleep(0.1)
        yield
    finally:
        for name in held:
            await leases.release(sessions, name, token)


async def _lock_contacts(session: AsyncSession, *ids: int) -> dict[int, Contact]:
    rows = await session.scalars(
        select(Contact).where(Contact.id.in_(ids)).order_by(Contact.id).with_for_update()
    )
    found = {c.id: c for c in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise LookupError(f"no contact {missing[0]}")
    return found


async def _open_channels(session: AsyncSession, contact_id: int) -> set[str]:
    rows = await session.scalars(
        select(Conversation.channel).where(
            Conversation.contact_id == contact_id,
            Conversation.state.in_([s.value for s in OPEN_CONVERSATION_STATES]),
        )
    )
    return set(rows)


def _events(
    session: AsyncSession,
    complaint_ids: Sequence[int],
    *,
    kind: ComplaintEventKind,
    actor: str,
    data: dict[str, Any],
) -> None:
    for complaint_id in complaint_ids:
        session.add(ComplaintEvent(complaint_id=complaint_id, actor=actor, kind=kind, data=data))


async def merge_contacts(
    session: AsyncSession, *, target_id: int, source_id: int, actor: str
) -> ContactMerge:
    """Merge contact ``source_id`` into ``target_id``; returns the flushed audit row.

    ``actor`` is recorded as ``merged_by`` (``staff:<username>``). Runs in
    the caller's transaction and never commits. Raises ``LookupError`` for an
    unknown contact and :class:`MergeRefused` when a rule of the module
    docstring does not hold — before anything is written.
    """
    if target_id == source_id:
        raise MergeRefused(MergeRefusal.SAME_CONTACT, "a contact cannot be merged with itself")
    contacts = await _lock_contacts(session, target_id, source_id)
    for contact in contacts.values():
        if contact.merged_into_id is not None:
            raise MergeRefused(
                MergeRefusal.ALREADY_MERGED,
                f"contact {contact.id} is already merged into contact {contact.merged_into_id}",
            )
    clash = sorted(
        await _open_channels(session, target_id) & await _open_channels(session, source_id)
    )
    if clash:
        raise MergeRefused(
            MergeRefusal.OPEN_CONVERSATIONS,
            "both contacts have an open intake conversation on " + ", ".join(clash),
            channels=clash,
        )
    moved: dict[str, list[int]] = {}
    for key, model in MOVED_TABLES:
        table: Any = model
        result = await session.execute(
            update(table)
            .where(table.contact_id == source_id)
            .values(contact_id=target_id)
            .returning(table.id)
            .execution_options(synchronize_session=False)
        )
        moved[key] = sorted(result.scalars().all())
    source = contacts[source_id]
    source.merged_into_id = target_id
    merge = ContactMerge(
        target_id=target_id, source_id=source_id, merged_by=actor, merged_at=utcnow(), moved=moved
    )
    session.add(merge)
    await session.flush()
    _events(
        session,
        moved["complaints"],
        kind=ComplaintEventKind.CONTACT_MERGED,
        actor=actor,
        data={"merge_id": merge.id, "source_id": source_id, "target_id": target_id},
    )
    await session.flush()
    return merge


async def undo_merge(session: AsyncSession, *, merge_id: int, actor: str) -> ContactMerge:
    """Undo merge ``merge_id``: move exactly the rows it moved back to the source.

    Records ``actor`` as ``undone_by`` with the time. Runs in the caller's
    transaction and never commits. Raises ``LookupError`` for an unknown
    merge and :class:`MergeRefused` (``already_undone``, ``target_merged``)
    before anything is written.
    """
    merge = await session.scalar(
        select(ContactMerge).where(ContactMerge.id == merge_id).with_for_update()
    )
    if merge is None:
        raise LookupError(f"no contact merge {merge_id}")
    if merge.undone_at is not None:
        raise MergeRefused(
            MergeRefusal.ALREADY_UNDONE, f"merge {merge_id} was already undone by {merge.undone_by}"
        )
    contacts = await _lock_contacts(session, merge.target_id, merge.source_id)
    target = contacts[merge.target_id]
    if target.merged_into_id is not None:
        raise MergeRefused(
            MergeRefusal.TARGET_MERGED,
            f"contact {target.id} has since been merged into contact {target.merged_into_id}; "
            "undo that merge first",
        )
    moved = merge.moved or {}
    for key, model in MOVED_TABLES:
        table: Any = model
        ids = [int(i) for i in moved.get(key, [])]
        for start in range(0, len(ids), CHUNK):
            await session.execute(
                update(table)
                .where(table.id.in_(ids[start : start + CHUNK]), table.contact_id == target.id)
                .values(contact_id=merge.source_id)
                .execution_options(synchronize_session=False)
            )
    contacts[merge.source_id].merged_into_id = None
    merge.undone_by = actor
    merge.undone_at = utcnow()
    _events(
        session,
        [int(i) for i in moved.get("complaints", [])],
        kind=ComplaintEventKind.CONTACT_MERGE_UNDONE,
        actor=actor,
        data={"merge_id": merge.id, "source_id": merge.source_id, "target_id": merge.target_id},
    )
    await session.flush()
    return merge
