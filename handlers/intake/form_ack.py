"""Acknowledging a complaint filed on the public web form (docs/web-form.md, "Acknowledgement").

Anybody can type anybody's address into the form, so the acknowledgement of a
web-form complaint must not make the office a relay:

* at most ``per_recipient_day`` acknowledgements (and automatic rejection
  notices) go to one address in 24 hours, counted in the database
  (:mod:`storage.limits`); beyond that the complaint is still registered,
  nobody is told, and staff see an ``acknowledgement_withheld`` event;
* an address that has never written to the office itself (no earlier inbound
  message from it by email, SMS or WhatsApp, automatic replies not counted)
  gets the short acknowledgement:
  the tracking number, the follow-up time standard and the tracking link —
  never the text or the name as typed on the form
  (:func:`handlers.registration.short_acknowledgement_text`);
* a complainant who gave only a phone number is acknowledged by WhatsApp or
  SMS, whichever is on (:func:`acknowledge_by_phone`): WhatsApp outside the
  24-hour window goes as the profile's approved template or by SMS
  (:mod:`gateway.window`, ``whatsapp_template``); the message is in the
  outbox and on the complaint's thread like any other notice.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelName
from handlers.notifications import notify_complainant
from handlers.outbox import OutboxWriter
from storage import limits
from storage.models import Complaint, Message, OutboxMessage

#: Rate-limit kind of acknowledgement recipients (:func:`storage.limits.limit_key`).
ACK_KIND = "ack-recipient"
#: Channels whose inbound messages show that the sender owns the address:
#: mail from the mailbox, SMS and WhatsApp from the number.
PROVING_CHANNELS = (ChannelName.EMAIL.value, ChannelName.SMS.value, ChannelName.WHATSAPP.value)


@dataclass(frozen=True, slots=True)
class WebAckPolicy:
    """How web-form complaints are acknowledged.

    Attributes:
        track_url: the public tracking page (``https://…/track``), linked
            from the short acknowledgement; ``None`` leaves the link out.
        per_recipient_day: automatic messages to one address in 24 hours
            (``ADUAN_FORM_ACKS_PER_RECIPIENT_DAY``); 0 sends none.
    """

    track_url: str | None
    per_recipient_day: int = 3

    def link(self, tracking: str) -> str | None:
        """The tracking page for ``tracking`` (number filled in), or ``None``."""
        if not self.track_url:
            return None
        return f"{self.track_url}?number={tracking}"

    async def allow(
        self, session: AsyncSession, recipient: str, *, now: datetime | None = None
    ) -> bool:
        """Count one automatic message to ``recipient``; False when over the limit.

        Runs in the caller's transaction (the count commits with the outbox row).
        """
        if self.per_recipient_day < 1:
            return False
        verdict = await limits.hit(
            session,
            limits.limit_key(ACK_KIND, recipient.strip().lower()),
            (limits.Limit(self.per_recipient_day, timedelta(days=1)),),
            now=now,
        )
        return verdict.allowed


async def wrote_before(session: AsyncSession, address: str, before_message_id: int) -> bool:
    """Whether ``address`` sent the office a message itself (email, SMS, WhatsApp;
    not an automatic one such as an out-of-office reply) before message
    ``before_message_id``."""
    found = await session.scalar(
        select(Message.id)
        .where(
            Message.direction == "in",
            Message.channel.in_(PROVING_CHANNELS),
            # An auto-reply (out of office, bounce) may answer our own
            # acknowledgement: it shows nothing of the owner's intent.
            Message.automatic.is_(False),
            Message.sender == address,
            Message.id < before_message_id,
        )
        .limit(1)
    )
    return found is not None


def is_phone_only(sender: str) -> bool:
    """Whether a web-form sender is a phone number (the form gave no email)."""
    return bool(sender) and "@" not in sender


async def acknowledge_by_phone(
    session: AsyncSession,
    writer: OutboxWriter,
    complaint: Complaint,
    text: str,
    *,
    enabled: Collection[str],
) -> OutboxMessage | None:
    """Acknowledge a phone-only web-form complaint on the phone's channel.

    Routed like every later notice (:func:`handlers.notifications.complaint_route`:
    WhatsApp when on, else SMS) and recorded as a ``complainant_notified``
    event; ``None`` (and a ``notification_unroutable`` event for staff)
    when neither is on. The caller has already counted the recipient
    against :attr:`WebAckPolicy.per_recipient_day`.
    """
    return await notify_complainant(
        session, writer, complaint, text, actor="system", enabled=enabled
    )
