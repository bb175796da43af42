"""The facts of an outbound route, read from the database once
(:class:`handlers.route_decision.RouteFacts`).

Used by both the dispatcher (:class:`gateway.window.WindowPolicy`) and the
staff inbox's reply preview (:mod:`gateway.inbox.reply_route`), so both see
the same last inbound time and the contact's addresses in the same order
(oldest first, by address id).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelName
from handlers.profile import Profile
from handlers.route_decision import RouteFacts
from storage.models import ContactAddress, Direction, Message


async def load_route_facts(
    session: AsyncSession,
    *,
    channel: str,
    recipient: str,
    contact_id: int | None,
    profile: Profile,
    enabled: Collection[str],
) -> RouteFacts:
    """The :class:`RouteFacts` of a message to ``recipient`` on ``channel``.

    ``contact_id``: the contact it is for (``None``: no inbound history and no
    other addresses). Only WhatsApp needs the database (two reads); for other
    channels the facts are the address alone.
    """
    template = profile.whatsapp_template
    if channel != ChannelName.WHATSAPP.value or contact_id is None:
        return RouteFacts(
            channel,
            recipient,
            frozenset(enabled),
            template_name=template.name if template is not None else None,
        )
    last_in = await session.scalar(
        select(func.max(Message.received_at)).where(
            Message.contact_id == contact_id,
            Message.channel == ChannelName.WHATSAPP.value,
            Message.direction == Direction.IN.value,
        )
    )
    rows = await session.execute(
        select(ContactAddress.kind, ContactAddress.address)
        .where(ContactAddress.contact_id == contact_id)
        .order_by(ContactAddress.id)
    )
    return RouteFacts(
        channel,
        recipient,
        frozenset(enabled),
        last_inbound_at=last_in,
        template_name=template.name if template is not None else None,
        addresses=tuple((kind, address) for kind, address in rows),
    )
