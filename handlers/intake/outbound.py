"""Where the bot's replies go and how they are staged in the outbox.

Every reply is an outbox row written in the same transaction as what causes
it (reliability rule 4). A reply goes back on the message's own channel; a
web form or API message is answered by email when the contact gave an
address and email is on. Email replies keep the thread: ``In-Reply-To`` and
``References``, ``Re:`` and the tracking number in the subject
(``channels/email/threading.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelName
from channels.email.threading import reply_subject
from handlers.i18n import t
from handlers.notifications import REPLYABLE
from handlers.outbox import Draft, OutboxWriter
from storage.models import Complaint, Conversation, Message
from storage.types import utcnow

Route = tuple[str, str]
"""(channel, recipient) a reply goes to."""

RouteFinder = Callable[[Message], Route | None]


def default_route(enabled_channels: frozenset[str]) -> RouteFinder:
    """Reply on the message's own channel; web form and API messages are answered
    by email when the contact gave an email address and email is on."""

    def route(message: Message) -> Route | None:
        if message.channel in REPLYABLE:
            return (message.channel, message.sender)
        if "@" in message.sender and ChannelName.EMAIL in enabled_channels:
            return (ChannelName.EMAIL.value, message.sender)
        return None

    return route


def fallback_subject(language: str) -> str:
    """The subject of a reply to a message that had none (a chat or the web form)."""
    return t(language, "Your complaint")


async def stage_reply(
    session: AsyncSession,
    writer: OutboxWriter,
    route: RouteFinder,
    msg: Message,
    text: str,
    language: str,
    *,
    stale_after: timedelta,
    conversation: Conversation | None = None,
    complaint: Complaint | None = None,
) -> None:
    """Stage ``text`` in the outbox as the answer to ``msg``.

    Nothing is sent for a message received longer ago than ``stale_after``
    (the draft lifetime: e.g. old mail found when a mailbox is first
    connected): it is recorded and handled as usual, visible to staff, but
    the complainant is not woken up by a bot answer to a stale message.
    """
    if msg.received_at < utcnow() - stale_after:
        return
    target = route(msg)
    if target is None:
        return
    channel, recipient = target
    subject = None
    refs: tuple[str, ...] = ()
    if channel == ChannelName.EMAIL:
        subject = reply_subject(
            msg.subject if msg.channel == ChannelName.EMAIL else None,
            fallback=fallback_subject(language),
            tag=complaint.tracking_number if complaint is not None else None,
        )
        if msg.channel == ChannelName.EMAIL and msg.external_id:
            refs = (
                msg.external_id,
                *[r for r in (msg.thread_refs or []) if isinstance(r, str)],
            )
    await writer.add(
        session,
        Draft(
            channel=channel,
            recipient=recipient,
            text=text,
            contact_id=msg.contact_id,
            subject=subject,
            thread_refs=refs,
            language=language,
            complaint_id=complaint.id if complaint else msg.complaint_id,
            conversation_id=conversation.id if conversation else msg.conversation_id,
        ),
    )
