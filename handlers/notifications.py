"""Telling a complainant about their complaint, on the channel they used.

The one way staff actions and the SOP workflow reach a complainant: a
message staged in the outbox in the caller's transaction (docs/architecture.md, "Reliability rules" 4),
addressed like the complaint's intake — the complaint's own channel and
address, or by email for web-form and API complaints that gave one — and
recorded as a complaint event (ISO 10002: communicating the decision).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelName
from handlers.outbox import Draft, OutboxWriter
from storage.event_kinds import ComplaintEventKind
from storage.models import Complaint, ComplaintEvent, OutboxMessage

#: Channels whose address can carry a message back.
REPLYABLE = frozenset(
    {ChannelName.EMAIL, ChannelName.WHATSAPP, ChannelName.SMS, ChannelName.TELEGRAM}
)


def complaint_route(complaint: Complaint, enabled: Collection[str]) -> tuple[str, str] | None:
    """(channel, address) for messages about ``complaint``, or ``None`` if it has none.

    The complaint's own chat or email channel; for the web form, the API and
    manual intake, the address given chooses: email when email is on, a phone
    number by WhatsApp (outside its 24-hour window the template or SMS, see
    :mod:`gateway.window`) or else SMS, whichever is on. An anonymous
    complaint (no address) has no route.
    """
    address = complaint.contact_address
    if not address:  # anonymous (e.g. from the suggestion box): nobody to tell
        return None
    return address_route(complaint.channel, address, enabled)


def address_route(channel: str, address: str, enabled: Collection[str]) -> tuple[str, str] | None:
    """(channel, address) for answering on ``channel`` to a non-empty ``address``, or ``None``.

    A chat or email channel (:data:`REPLYABLE`) answers on itself; otherwise
    (web form, API, manual intake) an address with ``@`` is answered by email
    when email is on, any other by WhatsApp or else SMS, whichever is on.
    """
    if channel in REPLYABLE:
        return channel, address
    if "@" in address:
        return (ChannelName.EMAIL.value, address) if ChannelName.EMAIL.value in enabled else None
    for fallback in (ChannelName.WHATSAPP, ChannelName.SMS):
        if fallback.value in enabled:
            return fallback.value, address
    return None


async def notify_complainant(
    session: AsyncSession,
    writer: OutboxWriter,
    complaint: Complaint,
    text: str,
    *,
    actor: str,
    enabled: Collection[str],
    subject: str | None = None,
) -> OutboxMessage | None:
    """Stage ``text`` to the complainant of ``complaint`` and record it.

    Returns the outbox row, or ``None`` when the complaint has no route back
    (a ``notification_unroutable`` event is recorded instead, for staff).
    Email messages carry the tracking number in the subject and thread on
    the complaint's first message.
    """
    route = complaint_route(complaint, enabled)
    if route is None:
        session.add(
            ComplaintEvent(
                complaint_id=complaint.id,
                actor=actor,
                kind=ComplaintEventKind.NOTIFICATION_UNROUTABLE,
                note=text,
            )
        )
        return None
    channel, recipient = route
    refs: tuple[str, ...] = ()
    if channel == ChannelName.EMAIL:
        tag = f"[{complaint.tracking_number}]"
        subject = f"{subject} {tag}" if subject and tag not in subject else (subject or tag)
        if complaint.thread_key:
            refs = (complaint.thread_key,)
    row = await writer.add(
        session,
        Draft(
            channel=channel,
            recipient=recipient,
            text=text,
            contact_id=complaint.contact_id,
            subject=subject if channel == ChannelName.EMAIL else None,
            thread_refs=refs,
            language=complaint.language,
            complaint_id=complaint.id,
            automatic=False,
            sender=actor,
        ),
    )
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            actor=actor,
            kind=ComplaintEventKind.COMPLAINANT_NOTIFIED,
            note=text,
            data={"outbox_id": row.id, "channel": channel},
        )
    )
    return row
