"""Where a staff reply to the complainant will go, told before it is sent (README.md, "Staff inbox").

The route is :func:`handlers.notifications.complaint_route` — the
complaint's own channel and address, or for web-form, API and manual-intake
complaints the address they gave. For WhatsApp, free-form text may only be
sent within 24 hours of the contact's last WhatsApp message; outside that
window the dispatcher (:class:`gateway.window.WindowPolicy`) sends the
profile's approved template with the text as a variable, or without one
falls back to the contact's SMS number, then email address, or fails. That
choice is :func:`handlers.route_decision.decide_route`, made from the same
facts (:func:`handlers.route_facts.load_route_facts`) as at send time; this
module only shapes it for the reply box.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelName
from handlers.notifications import complaint_route
from handlers.profile import Profile
from handlers.route_decision import Route, decide_route
from handlers.route_facts import load_route_facts
from storage.models import Complaint


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


async def reply_route(
    session: AsyncSession,
    *,
    profile: Profile,
    complaint: Complaint,
    enabled: Collection[str],
    now: datetime,
) -> ReplyRoute:
    """The :class:`ReplyRoute` of a reply to ``complaint`` sent at ``now`` (aware).

    ``enabled``: the configured channels. The facts and the decision are the
    dispatcher's own (:func:`handlers.route_facts.load_route_facts`,
    :func:`handlers.route_decision.decide_route`).
    """
    address_route = complaint_route(complaint, enabled)
    if address_route is None:
        return ReplyRoute(None, None, enabled=False)
    channel, address = address_route
    if channel != ChannelName.WHATSAPP.value:
        return ReplyRoute(channel, address, enabled=channel in enabled)
    facts = await load_route_facts(
        session,
        channel=channel,
        recipient=address,
        contact_id=complaint.contact_id,
        profile=profile,
        enabled=enabled,
    )
    return preview(decide_route(facts, now), channel, address, enabled)


def preview(route: Route, channel: str, address: str, enabled: Collection[str]) -> ReplyRoute:
    """The :class:`ReplyRoute` shown for a WhatsApp reply to ``address`` that takes ``route``."""
    base = ReplyRoute(
        channel, address, enabled=channel in enabled, window_ends_at=route.window_ends_at
    )
    if not route.sendable:
        return replace(base, window=WindowPlan.UNDELIVERABLE)
    if route.template_name is not None:
        return replace(base, window=WindowPlan.TEMPLATE, template=route.template_name)
    if route.channel != channel:
        return replace(
            base,
            window=WindowPlan.FALLBACK,
            fallback_channel=route.channel,
            fallback_address=route.recipient,
        )
    return replace(base, window=WindowPlan.OPEN)
