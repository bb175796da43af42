"""The outbound route of one message: channel, WhatsApp's 24-hour window, template
or fallback address (docs/channels.md, "WhatsApp's 24-hour window").

One pure function, :func:`decide_route`, makes this decision from plain facts
(:class:`RouteFacts`, gathered from the database by
:func:`handlers.route_facts.load_route_facts`). The dispatcher
(:class:`gateway.window.WindowPolicy`) sends by it and the staff inbox
(:mod:`gateway.inbox.reply_route`) shows it before a reply is sent, so the
page names the route the send takes.

The rule: free-form WhatsApp text may only be sent within 24 hours of the
contact's last WhatsApp message (:data:`WINDOW`, less :data:`MARGIN`).
Outside it the profile's approved template goes with the text as a
variable; without a template the contact's first phone address goes by SMS,
then the first email address by email (first = oldest, by address id), each
only when that channel is enabled. With none of these the message cannot be
sent: the route carries the reason and the dispatcher fails the row
permanently. Other channels go as they are.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from channels.addresses import address_kind
from channels.base import ChannelName

#: WhatsApp's customer-service window after the contact's last message.
WINDOW = timedelta(hours=24)
#: Sends this close to the end of the window use the template already.
MARGIN = timedelta(minutes=5)
#: Fallback channels outside the window, in the order they are tried.
FALLBACK_ORDER = (ChannelName.SMS, ChannelName.EMAIL)
#: :attr:`Route.refusal_code` of a message that cannot be sent outside the window.
WINDOW_CLOSED = "window_closed"
WINDOW_CLOSED_REASON = (
    "outside WhatsApp's 24-hour window, and the SOP profile has no whatsapp_template "
    "and the contact has no SMS or email route"
)


@dataclass(frozen=True, slots=True)
class RouteFacts:
    """What the route depends on.

    ``channel``/``recipient``: where the message is addressed (the outbox row,
    or :func:`handlers.notifications.complaint_route` for a reply not yet
    written). ``enabled``: the configured channel names. ``last_inbound_at``
    (aware UTC): the contact's last inbound WhatsApp message, ``None`` if
    never (only read for WhatsApp). ``template_name``: the profile's
    ``whatsapp_template`` name, ``None`` without one. ``addresses``: the
    contact's ``(kind, address)`` pairs, oldest first (by address id).
    """

    channel: str
    recipient: str
    enabled: Collection[str]
    last_inbound_at: datetime | None = None
    template_name: str | None = None
    addresses: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    """How a message goes out.

    ``channel``/``recipient``: where it goes (another channel and address for a
    fallback). ``sent_as``: ``text``, ``template``, ``fallback:sms`` or
    ``fallback:email`` (what the outbox row records); empty when refused.
    ``template_name``: set when the template goes instead of free text.
    ``window_ends_at`` (aware UTC): for WhatsApp, when free text stops being
    possible (``None`` if the contact never wrote on WhatsApp, and for other
    channels). ``refusal``/``refusal_code``: why it cannot be sent at all
    (a permanent failure), ``None`` when it can.
    """

    channel: str
    recipient: str
    sent_as: str
    template_name: str | None = None
    window_ends_at: datetime | None = None
    refusal: str | None = None
    refusal_code: str | None = None

    @property
    def sendable(self) -> bool:
        """Whether the message can go at all."""
        return self.refusal is None


def window_ends_at(last_inbound_at: datetime | None) -> datetime | None:
    """When free WhatsApp text stops being possible after ``last_inbound_at`` (aware)."""
    return None if last_inbound_at is None else last_inbound_at + WINDOW - MARGIN


def fallback_address(
    addresses: tuple[tuple[str, str], ...], enabled: Collection[str]
) -> tuple[str, str] | None:
    """``(channel, address)`` of the first fallback route, or ``None``.

    SMS to the first ``phone`` address, else email to the first ``email``
    address, each only if its channel is in ``enabled``; ``addresses`` are
    ``(kind, address)`` pairs in the order to try (oldest first).
    """
    for channel in FALLBACK_ORDER:
        if channel.value not in enabled:
            continue
        kind = address_kind(channel.value, "@" if channel is ChannelName.EMAIL else "")
        for found_kind, address in addresses:
            if found_kind == kind:
                return channel.value, address
    return None


def decide_route(facts: RouteFacts, now: datetime) -> Route:
    """The :class:`Route` of a message with ``facts`` sent at ``now`` (aware UTC).

    Pure: no I/O, the same facts and time give the same route (see the
    module docstring for the rule). Never raises; a message that cannot be
    sent gets a route with ``refusal`` set.
    """
    if facts.channel != ChannelName.WHATSAPP.value:
        return Route(facts.channel, facts.recipient, "text")
    ends = window_ends_at(facts.last_inbound_at)
    if ends is not None and now < ends:
        return Route(facts.channel, facts.recipient, "text", window_ends_at=ends)
    if facts.template_name is not None:
        return Route(
            facts.channel,
            facts.recipient,
            "template",
            template_name=facts.template_name,
            window_ends_at=ends,
        )
    fallback = fallback_address(facts.addresses, facts.enabled)
    if fallback is not None:
        channel, address = fallback
        return Route(channel, address, f"fallback:{channel}", window_ends_at=ends)
    return Route(
        facts.channel,
        facts.recipient,
        "",
        window_ends_at=ends,
        refusal=WINDOW_CLOSED_REASON,
        refusal_code=WINDOW_CLOSED,
    )
