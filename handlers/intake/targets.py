"""Which draft or complaint a message continues.

Email and the JSON API thread by message ids (``In-Reply-To``/``References``)
or by the tracking number in the subject (``channels/email/threading.py``);
a chat message continues the contact's open draft on that channel, else the
contact's complaint that is still being handled ("BARU" starts a new one).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelName
from channels.email.threading import tracking_in_subject
from storage.models import OPEN_CONVERSATION_STATES, Complaint, Conversation, Message

#: Channels whose own address can carry replies (the others answer via the
#: contact's email or phone given in the form).
INTERACTIVE = frozenset({ChannelName.WHATSAPP, ChannelName.SMS, ChannelName.TELEGRAM})
#: Channels whose messages say what they reply to.
THREADED = frozenset({ChannelName.EMAIL, ChannelName.API})


async def find_target(
    session: AsyncSession,
    msg: Message,
    *,
    tracking: re.Pattern[str],
    finished_states: Collection[str],
) -> tuple[Conversation | None, Complaint | None]:
    """The open draft and/or registered complaint ``msg`` continues.

    ``tracking`` finds a tracking number in an email subject; a complaint in
    one of ``finished_states`` no longer takes a chat contact's messages.
    """
    if msg.channel in THREADED:
        refs = [r for r in (msg.thread_refs or []) if isinstance(r, str)]
        if refs:
            row = (
                await session.execute(
                    select(Message.conversation_id, Message.complaint_id)
                    .where(
                        Message.channel == msg.channel,
                        Message.external_id.in_(refs),
                        Message.contact_id == msg.contact_id,
                    )
                    .order_by(Message.id.desc())
                    .limit(1)
                )
            ).first()
            if row is not None:
                return await _resolve(session, row.conversation_id, row.complaint_id)
        number = tracking_in_subject(msg.subject, tracking)
        if number:
            complaint = await session.scalar(
                select(Complaint).where(
                    Complaint.tracking_number == number,
                    Complaint.contact_id == msg.contact_id,
                )
            )
            if complaint is not None:
                return None, complaint
        return None, None
    if msg.channel in INTERACTIVE:
        conversation = await session.scalar(
            select(Conversation)
            .where(
                Conversation.contact_id == msg.contact_id,
                Conversation.channel == msg.channel,
                Conversation.state.in_([s.value for s in OPEN_CONVERSATION_STATES]),
            )
            .order_by(Conversation.id.desc())
            .limit(1)
        )
        if conversation is not None:
            return conversation, None
        complaint = await session.scalar(
            select(Complaint)
            .where(
                Complaint.contact_id == msg.contact_id,
                Complaint.status.not_in(list(finished_states)),
            )
            .order_by(Complaint.id.desc())
            .limit(1)
        )
        return None, complaint
    return None, None


async def _resolve(
    session: AsyncSession, conversation_id: int | None, complaint_id: int | None
) -> tuple[Conversation | None, Complaint | None]:
    conversation = (
        await session.get(Conversation, conversation_id) if conversation_id is not None else None
    )
    if conversation is not None and conversation.complaint_id is not None:
        complaint_id = complaint_id or conversation.complaint_id
    complaint = await session.get(Complaint, complaint_id) if complaint_id is not None else None
    if conversation is not None and conversation.state not in [
        s.value for s in OPEN_CONVERSATION_STATES
    ]:
        conversation = None
    return conversation, complaint
