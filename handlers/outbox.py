"""Staging outgoing messages in the transactional outbox (docs/architecture.md, "Outbox").

:class:`OutboxWriter` adds an outgoing message inside the caller's
transaction, the same one as the change that causes it: a row in the message
history and a ``pending`` outbox row. Nothing is sent here; the gateway's
dispatcher (:mod:`gateway.outbox`) claims due rows once the transaction has
committed and sends them through their channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Direction, Message, OutboxMessage, OutboxStatus
from storage.types import utcnow

OUTBOX_IDS_KEY = "aduan.outbox_ids"
"""``session.info`` key listing (outbox id, idempotency key) staged in the session,
so the caller can request sending once the transaction has committed."""

ExternalIdFactory = Callable[[str, str], str | None]
"""(channel, idempotency_key) → the outbound message's external id, if known upfront."""


@dataclass(frozen=True, slots=True)
class Draft:
    """An outgoing message to add to the outbox.

    ``thread_refs`` are email Message-IDs this message replies to, newest
    first. ``automatic`` marks messages the system writes by itself (they carry
    ``Auto-Submitted: auto-replied`` on email).
    """

    channel: str
    recipient: str
    text: str
    contact_id: int
    subject: str | None = None
    thread_refs: tuple[str, ...] = ()
    language: str = "id"
    complaint_id: int | None = None
    conversation_id: int | None = None
    automatic: bool = True
    sender: str = "aduan"


class OutboxWriter:
    """Adds drafts to the outbox and to the message history, in the caller's transaction."""

    def __init__(self, external_id_for: ExternalIdFactory | None = None) -> None:
        self._external_id_for = external_id_for or (lambda _c, _k: None)

    async def add(self, session: AsyncSession, draft: Draft) -> OutboxMessage:
        """Stage ``draft``; returns the (flushed) outbox row. Nothing is sent here."""
        key = uuid.uuid4().hex
        message = Message(
            channel=draft.channel,
            external_id=self._external_id_for(draft.channel, key),
            direction=Direction.OUT.value,
            contact_id=draft.contact_id,
            conversation_id=draft.conversation_id,
            complaint_id=draft.complaint_id,
            sender=draft.sender,
            recipient=draft.recipient,
            subject=draft.subject,
            text=draft.text,
            thread_refs=list(draft.thread_refs),
            automatic=draft.automatic,
            language=draft.language,
            processed_at=utcnow(),
        )
        session.add(message)
        await session.flush()
        return await _stage(
            session,
            key,
            message_id=message.id,
            contact_id=draft.contact_id,
            complaint_id=draft.complaint_id,
            channel=draft.channel,
            recipient=draft.recipient,
            subject=draft.subject,
            body=draft.text,
            thread_refs=list(draft.thread_refs),
            language=draft.language,
        )

    async def add_staff_email(
        self,
        session: AsyncSession,
        *,
        recipient: str,
        subject: str,
        text: str,
        complaint_id: int | None = None,
    ) -> OutboxMessage:
        """Stage an email to a staff member (reminders, escalations).

        Not part of any complainant's conversation: no message history row
        and no contact; sent, retried and recorded like every outbox row.
        """
        key = uuid.uuid4().hex
        return await _stage(
            session,
            key,
            complaint_id=complaint_id,
            channel="email",
            recipient=recipient,
            subject=subject,
            body=text,
            thread_refs=[],
            language="id",
        )


async def _stage(session: AsyncSession, key: str, **columns: Any) -> OutboxMessage:
    """Add a pending outbox row keyed ``key`` (due now, no attempt yet) and
    note its id under ``session.info[OUTBOX_IDS_KEY]`` for the dispatcher."""
    row = OutboxMessage(
        idempotency_key=key,
        status=OutboxStatus.PENDING.value,
        attempts=0,
        next_attempt_at=utcnow(),
        **columns,
    )
    session.add(row)
    await session.flush()
    session.info.setdefault(OUTBOX_IDS_KEY, []).append((row.id, key))
    return row
