"""The inbox's "in progress" section: open intake drafts, with no complaint yet.

A citizen mid-intake (the bot is still asking for fields, or waiting for the
confirmation on chat) has a :class:`storage.models.Conversation` in state
``collecting`` or ``confirming`` and no tracking number. Such drafts live
only until registered, cancelled or expired (the profile's intake lifetime),
so there are few; they are listed apart from the complaints (why: the module
docstring of :mod:`gateway.queries.complaint_list`), newest first, by their last
change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gateway.queries.complaint_list import MAX_LIMIT, InboxFilters, VisibilityRule
from storage.models import (
    OPEN_CONVERSATION_STATES,
    Contact,
    Conversation,
    Direction,
    Message,
)

#: Characters of the last inbound message shown.
EXCERPT_CHARS = 160


@dataclass(frozen=True, slots=True)
class DraftRow:
    """An open intake draft.

    ``contact_address``/``last_text``: sender and text (at most
    :data:`EXCERPT_CHARS` characters) of the draft's latest inbound message;
    ``fields``: the values collected so far, by profile field key. Times are
    aware UTC; ``expires_at`` is when the draft lapses without an answer.
    """

    conversation_id: int
    channel: str
    state: str
    contact_id: int
    contact_name: str | None
    contact_address: str | None
    last_text: str
    fields: dict[str, str]
    started_at: datetime
    last_activity_at: datetime
    expires_at: datetime | None


def _matches(filters: InboxFilters, visible: VisibilityRule | None) -> bool:
    """Whether drafts can satisfy ``filters`` at all (they have no status, assignee …)."""
    if visible is not None and visible.assignee_in is not None:
        return False
    return not (
        filters.status
        or filters.category
        or filters.assignee
        or filters.overdue
        or filters.due_soon
        or filters.received_from
        or filters.received_to
        or filters.mine
    )


async def list_in_progress(
    session: AsyncSession,
    *,
    filters: InboxFilters,
    visible: VisibilityRule | None,
    limit: int = 20,
) -> tuple[DraftRow, ...]:
    """Open drafts matching ``filters``, most recently changed first, at most ``limit``.

    Of the filters only ``channel`` and ``q`` (every word in the contact's
    name or address, the last message or the collected values,
    case-insensitively) apply to drafts; with any other filter given, or a
    ``visible`` rule limiting assignees, there are none. Raises
    ``ValueError`` for a ``limit`` outside 1 to :data:`MAX_LIMIT`.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    if not _matches(filters, visible):
        return ()
    last = aliased(Message)
    latest_inbound = (
        select(func.max(Message.id))
        .where(Message.conversation_id == Conversation.id, Message.direction == Direction.IN.value)
        .correlate(Conversation)
        .scalar_subquery()
    )
    # The page's drafts first, then their contact and last message: without a
    # search the latest message is looked up for ``limit`` drafts only.
    chosen: Select[Any] = select(Conversation.id).where(
        Conversation.state.in_([s.value for s in OPEN_CONVERSATION_STATES])
    )
    if filters.channel:
        chosen = chosen.where(Conversation.channel == filters.channel)
    if filters.q:
        searched = (
            func.coalesce(Contact.display_name, "")
            + " "
            + func.coalesce(last.sender, "")
            + " "
            + func.coalesce(last.text, "")
            + " "
            + cast(Conversation.fields, String)
        )
        words = re.findall(r"[^\s\"']+", filters.q)
        chosen = (
            chosen.join(Contact, Contact.id == Conversation.contact_id)
            .outerjoin(last, last.id == latest_inbound)
            .where(*(searched.icontains(w, autoescape=True) for w in words))
        )
    page = (
        chosen.order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(limit)
        .subquery()
    )
    query = (
        select(
            Conversation.id,
            Conversation.channel,
            Conversation.state,
            Conversation.contact_id,
            Contact.display_name,
            last.sender,
            func.substr(last.text, 1, EXCERPT_CHARS).label("last_text"),
            Conversation.fields,
            Conversation.created_at,
            Conversation.updated_at,
            Conversation.expires_at,
        )
        .join(page, page.c.id == Conversation.id)
        .join(Contact, Contact.id == Conversation.contact_id)
        .outerjoin(last, last.id == latest_inbound)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
    )
    rows = (await session.execute(query)).all()
    return tuple(
        DraftRow(
            conversation_id=r.id,
            channel=r.channel,
            state=r.state,
            contact_id=r.contact_id,
            contact_name=r.display_name,
            contact_address=r.sender,
            last_text=r.last_text or "",
            fields={str(k): str(v) for k, v in (r.fields or {}).items()},
            started_at=r.created_at,
            last_activity_at=r.updated_at,
            expires_at=r.expires_at,
        )
        for r in rows
    )
