"""The complaint page's thread: every message of the complainant's contact (README.md, "Staff inbox").

One contact is one person however many channels they use (WhatsApp and SMS
share a phone number; staff merge a WhatsApp and an email contact), so the
thread is every :class:`storage.models.Message` with the complaint's
``contact_id`` — every channel, every conversation and complaint — inbound
and outbound, oldest first, as far as the viewer may see it: a viewer limited
to their team's complaints (:mod:`gateway.visibility`) gets only the
messages of complaints they may see, never another team's complaint of the
same person nor messages outside any complaint (docs/staff-access.md).
Outbound messages carry their delivery from the outbox row written with
them; attachments are listed without their bytes, which only
:mod:`gateway.inbox.attachments` serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from channels.base import ChannelName
from gateway.queries.email_html import safe_email_html
from gateway.visibility import VisibilityRule, visible_complaint_ids
from storage.models import Attachment, Complaint, Direction, Message, OutboxMessage

#: Most messages shown; older ones are counted, not shown.
THREAD_LIMIT = 300

#: Attachment types previewed as images. Never SVG: it can carry script.
PREVIEW_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


@dataclass(frozen=True, slots=True)
class ThreadAttachment:
    """An attachment's metadata; ``stored`` is False when only noted (too large, unreadable)."""

    id: int
    filename: str
    content_type: str
    size: int
    stored: bool
    skipped_reason: str | None

    @property
    def previewable(self) -> bool:
        """Whether the page shows it as an image (a stored PNG, JPEG, GIF or WebP)."""
        return self.stored and self.content_type.lower() in PREVIEW_TYPES


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of an outbound message: its outbox row.

    ``status``: pending, sending, sent, failed; ``delivery_status``: the
    provider's report (delivered, read, undelivered …) when one came;
    ``sent_as``: ``text``, ``template``, ``fallback:sms``, ``fallback:email``;
    ``error``: the error of a failed row. ``channel``/``recipient`` are where
    it went (another route after a WhatsApp fallback).
    """

    status: str
    delivery_status: str | None
    sent_as: str | None
    error: str | None
    channel: str
    recipient: str


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message of the thread.

    ``html``: the sanitised HTML body of an inbound email, when kept
    (:func:`gateway.queries.email_html.safe_email_html`), else ``None`` and
    ``text`` is shown (escaped). ``complaint_tracking``: the complaint it
    belongs to, when it belongs to one. ``at`` is aware UTC.
    """

    id: int
    channel: str
    direction: str
    sender: str
    sender_name: str | None
    recipient: str | None
    subject: str | None
    text: str
    html: Markup | None
    at: datetime
    automatic: bool
    complaint_id: int | None
    complaint_tracking: str | None
    attachments: tuple[ThreadAttachment, ...]
    delivery: Delivery | None

    @property
    def inbound(self) -> bool:
        """Whether the complainant sent it."""
        return self.direction == Direction.IN.value


@dataclass(frozen=True, slots=True)
class Thread:
    """The thread's messages, oldest first, and how many older ones are not shown."""

    messages: tuple[ThreadMessage, ...]
    hidden: int


async def _attachments(session: AsyncSession, ids: list[int]) -> dict[int, list[ThreadAttachment]]:
    found: dict[int, list[ThreadAttachment]] = {}
    if not ids:
        return found
    rows = await session.execute(
        select(
            Attachment.id,
            Attachment.message_id,
            Attachment.filename,
            Attachment.content_type,
            Attachment.size,
            Attachment.skipped_reason,
        )
        .where(Attachment.message_id.in_(ids))
        .order_by(Attachment.id)
    )
    for row in rows:
        found.setdefault(row.message_id, []).append(
            ThreadAttachment(
                id=row.id,
                filename=row.filename,
                content_type=row.content_type,
                size=row.size,
                stored=row.skipped_reason is None,
                skipped_reason=row.skipped_reason,
            )
        )
    return found


async def _deliveries(session: AsyncSession, ids: list[int]) -> dict[int, Delivery]:
    if not ids:
        return {}
    rows = await session.execute(
        select(
            OutboxMessage.message_id,
            OutboxMessage.status,
            OutboxMessage.delivery_status,
            OutboxMessage.sent_as,
            OutboxMessage.last_error,
            OutboxMessage.error_code,
            OutboxMessage.channel,
            OutboxMessage.recipient,
        ).where(OutboxMessage.message_id.in_(ids))
    )
    return {
        row.message_id: Delivery(
            status=row.status,
            delivery_status=row.delivery_status,
            sent_as=row.sent_as,
            error=row.last_error or row.error_code,
            channel=row.channel,
            recipient=row.recipient,
        )
        for row in rows
        if row.message_id is not None
    }


async def _email_html(session: AsyncSession, ids: list[int]) -> dict[int, Markup]:
    if not ids:
        return {}
    found: dict[int, Markup] = {}
    for message_id, raw in await session.execute(
        select(Message.id, Message.raw).where(Message.id.in_(ids))
    ):
        html = safe_email_html(raw or {})
        if html is not None:
            found[message_id] = html
    return found


async def _trackings(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Complaint.id, Complaint.tracking_number).where(Complaint.id.in_(sorted(ids)))
    )
    return {row.id: row.tracking_number for row in rows}


async def load_thread(
    session: AsyncSession,
    contact_id: int,
    *,
    visible: VisibilityRule | None = None,
    limit: int = THREAD_LIMIT,
) -> Thread:
    """The thread of contact ``contact_id``: its newest ``limit`` messages, oldest first.

    ``visible``: the viewer's rule (:func:`gateway.visibility.visibility_for`);
    a limited viewer gets only messages of complaints the rule allows, and
    ``hidden`` counts only those too. ``None``: every message.

    A handful of queries whatever the thread's length: the messages (without
    their raw payloads), their attachments' metadata, the outbox rows of the
    outbound ones, the kept copies of inbound emails, and the tracking
    numbers of the complaints they belong to.
    """
    where = [Message.contact_id == contact_id]
    allowed = visible_complaint_ids(visible)
    if allowed is not None:
        where.append(Message.complaint_id.in_(allowed))
    rows = list(
        await session.scalars(
            select(Message)
            .options(defer(Message.raw))
            .where(*where)
            .order_by(Message.id.desc())
            .limit(limit + 1)
        )
    )
    hidden = 0
    if len(rows) > limit:
        rows = rows[:limit]
        total = await session.scalar(select(func.count()).select_from(Message).where(*where))
        hidden = int(total or 0) - limit
    rows.reverse()
    ids = [m.id for m in rows]
    attachments = await _attachments(session, ids)
    deliveries = await _deliveries(
        session, [m.id for m in rows if m.direction == Direction.OUT.value]
    )
    html = await _email_html(
        session,
        [
            m.id
            for m in rows
            if m.direction == Direction.IN.value and m.channel == ChannelName.EMAIL.value
        ],
    )
    trackings = await _trackings(session, {m.complaint_id for m in rows if m.complaint_id})
    return Thread(
        messages=tuple(
            ThreadMessage(
                id=m.id,
                channel=m.channel,
                direction=m.direction,
                sender=m.sender,
                sender_name=m.sender_name,
                recipient=m.recipient,
                subject=m.subject,
                text=m.text or "",
                html=html.get(m.id),
                at=m.received_at,
                automatic=m.automatic,
                complaint_id=m.complaint_id,
                complaint_tracking=trackings.get(m.complaint_id) if m.complaint_id else None,
                attachments=tuple(attachments.get(m.id, ())),
                delivery=deliveries.get(m.id),
            )
            for m in rows
        ),
        hidden=hidden,
    )


async def stored_attachment(
    session: AsyncSession, attachment_id: int, rule: VisibilityRule | None
) -> Attachment | None:
    """Attachment ``attachment_id`` with its bytes, for a viewer under ``rule``
    (``None``: every complaint), or ``None`` when there is none, it was only
    noted (too large, unreadable), or the viewer may not see it: the thread's
    rule, so a team-limited viewer gets only attachments of messages of
    complaints they may see (docs/attachments.md)."""
    query = select(Attachment).where(Attachment.id == attachment_id)
    allowed = visible_complaint_ids(rule)
    if allowed is not None:
        query = query.join(Message, Message.id == Attachment.message_id).where(
            Message.complaint_id.in_(allowed)
        )
    found = await session.scalar(query)
    if found is None or found.skipped_reason is not None:
        return None
    return found
