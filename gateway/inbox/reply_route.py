"""Where a staff reply to the complainant will go, told before it is sent (README.md, "Staff inbox").

The route is :func:`handlers.notifications.complaint_route` — the
complaint's own channel and address, or for web-form, API and manual-intake
complaints the address they gave. For WhatsApp, free-form text may only be
sent within 24 hours of the contact's last WhatsApp message; outside that
window the dispatcher (:class:`gateway.window.WindowPolicy`) sends the
profile's approved template with the text as a variable, or without one
falls back to the contact's SMS number, then email address, or fails. This
module predicts that choice the same way, so staff know it before sending.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.addresses import address_kind
from channels.base import ChannelName
from gateway.window import MARGIN, WINDOW
from handlers.notifications import complaint_route
from handlers.profile import Profile
from storage.models import Complaint, ContactAddress, Direction, Message


class WindowPlan(enum.StrEnum):
    """How a WhatsApp reply goes out now (see the module docstring)."""

    OPEN = "open"
    TEMPLATE = "template"
    FALLBACK = "fallback"
    UNDELIVERABLE = "undeliverable"


@dataclass(frozen=True, slots=True)
class ReplyRoute:
    """Where a reply goes.

    ``channel``/``address``: ``None`` when the complaint has no way back.
    ``enabled``: whether that channel is configured (if not, the message
    waits in the outbox until it is). For WhatsApp, ``window`` says how it
    goes now, ``window_ends_at`` (aware UTC) when free text stops being
    possible, ``template`` the approved template's name, and
    ``fallback_channel``/``fallback_address`` the other route taken without
    a template; all ``None`` for other channels.
    """

    channel: str | None
    address: str | None
    enabled: bool
    window: WindowPlan | None = None
    window_ends_at: datetime | None = None
    template: str | None = None
    fallback_channel: str | None = None
    fallback_address: str | None = None


async def _fallback(
    session: AsyncSession, contact_id: int, enabled: Collection[str]
) -> tuple[str, str] | None:
    addresses = list(
        await session.execute(
            select(ContactAddress.kind, ContactAddress.address)
            .where(ContactAddress.contact_id == contact_id)
            .order_by(ContactAddress.id)
        )
    )
    for channel in (ChannelName.SMS, ChannelName.EMAIL):
        if channel.value not in enabled:
            continue
        kind = address_kind(channel.value, "@" if channel is ChannelName.EMAIL else "")
        for found_kind, address in addresses:
            if found_kind == kind:
                return channel.value, address
    return None


async def reply_route(
    session: AsyncSession,
    *,
    profile: Profile,
    complaint: Complaint,
    enabled: Collection[str],
    now: datetime,
) -> ReplyRoute:
    """The :class:`ReplyRoute` of a reply to ``complaint`` sent at ``now`` (aware).

    ``enabled``: the configured channels. Mirrors
    :meth:`gateway.window.WindowPolicy.plan` (the same window, margin,
    template and fallback order).
    """
    route = complaint_route(complaint, enabled)
    if route is None:
        return ReplyRoute(None, None, enabled=False)
    channel, address = route
    if channel != ChannelName.WHATSAPP.value:
        return ReplyRoute(channel, address, enabled=channel in enabled)
    last_in = await session.scalar(
        select(func.max(Message.received_at)).where(
            Message.contact_id == complaint.contact_id,
            Message.channel == ChannelName.WHATSAPP.value,
            Message.direction == Direction.IN.value,
        )
    )
    ends = last_in + WINDOW - MARGIN if last_in is not None else None
    base = ReplyRoute(channel, address, enabled=channel in enabled, window_ends_at=ends)
    if ends is not None and now < ends:
        return replace(base, window=WindowPlan.OPEN)
    if profile.whatsapp_template is not None:
        return replace(base, window=WindowPlan.TEMPLATE, template=profile.whatsapp_template.name)
    fallback = await _fallback(session, complaint.contact_id, enabled)
    if fallback is None:
        return replace(base, window=WindowPlan.UNDELIVERABLE)
    return replace(
        base,
        window=WindowPlan.FALLBACK,
        fallback_channel=fallback[0],
        fallback_address=fallback[1],
    )
