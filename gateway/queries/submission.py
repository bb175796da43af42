"""Web-form submissions as the public pages read them (docs/web-form.md).

A web-form message is stored under the form token's nonce as its
``external_id`` (docs/web-form.md, "Form token"); its ``raw`` keeps what was
typed, including the two contact inputs named here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.addresses import AddressError, normalise_email, normalise_phone
from channels.base import ChannelName
from handlers.notifications import complaint_route
from handlers.profile import Profile
from handlers.registration import initial_status
from storage import limits
from storage.models import Complaint, Message

#: Names of the form's two contact inputs, also the keys in a stored message's ``raw``.
EMAIL_FIELD = "contact_email"
PHONE_FIELD = "contact_phone"


def form_contacts(raw: Mapping[str, Any] | None) -> list[str]:
    """The normalised email and phone a web-form message carried in ``raw``
    (unparseable ones left out), email first."""
    found: list[str] = []
    raw = raw or {}
    for key, normalise in ((EMAIL_FIELD, normalise_email), (PHONE_FIELD, normalise_phone)):
        value = raw.get(key)
        if isinstance(value, str) and value.strip():
            try:
                found.append(normalise(value))
            except AddressError:
                pass
    return found


def _web_message(external_id: str) -> Any:
    return select(Message).where(
        Message.channel == ChannelName.WEB.value,
        Message.external_id == external_id,
        Message.direction == "in",
    )


async def web_message_id(session: AsyncSession, external_id: str) -> int | None:
    """The id of the web-form message stored under ``external_id``, or ``None``."""
    found: int | None = await session.scalar(
        _web_message(external_id).with_only_columns(Message.id)
    )
    return found


async def is_processed(session: AsyncSession, message_id: int) -> bool:
    """True when message ``message_id`` has been processed (or set aside)."""
    return (
        await session.scalar(select(Message.processed_at).where(Message.id == message_id))
    ) is not None


async def stored_raw(session: AsyncSession, message_id: int) -> dict[str, Any]:
    """What message ``message_id`` carried as received (``{}`` when unknown)."""
    return dict(await session.scalar(select(Message.raw).where(Message.id == message_id)) or {})


def rejection_reason(profile: Profile, complaint: Complaint) -> str | None:
    """Why ``complaint`` was rejected at registration, or ``None`` if it was not.

    A complaint the acceptance window rejected (SOP-7.9-1 item 3,
    :mod:`handlers.acceptance`) is in the target state of the window's
    transition with that transition's reason recorded in ``details``; the
    reason is in the complaint's language, as the complainant was told.
    """
    window = profile.acceptance_window
    workflow = profile.workflow
    if window is None or complaint.status == initial_status(profile):
        return None
    try:
        transition = workflow.transition(window.transition)
    except KeyError:
        return None
    recorded = (complaint.details or {}).get(transition.name)
    if complaint.status != transition.to or not isinstance(recorded, Mapping):
        return None
    reason = recorded.get("reason")
    return reason if isinstance(reason, str) and reason else None


@dataclass(frozen=True, slots=True)
class SubmittedComplaint:
    """The complaint a submission registered, as its confirmation page shows it.

    ``values``: each recorded intake field by key (the identity fields and
    the profile's others, as text); ``rejection``: why it was not accepted
    (:func:`rejection_reason`), else ``None``; ``notified``: whether the
    complainant has a route to be told (:func:`handlers.notifications.complaint_route`).
    """

    tracking_number: str
    received_at: datetime
    contact_address: str
    values: Mapping[str, str]
    rejection: str | None
    notified: bool


def _submitted(
    profile: Profile, complaint: Complaint, enabled: Collection[str]
) -> SubmittedComplaint:
    values: dict[str, str] = {
        "complainant_name": complaint.complainant_name,
        "customer_name": complaint.customer_name,
        "problem": complaint.problem,
    }
    values.update({k: str(v) for k, v in (complaint.extra_fields or {}).items()})
    return SubmittedComplaint(
        tracking_number=complaint.tracking_number,
        received_at=complaint.received_at,
        contact_address=complaint.contact_address,
        values=values,
        rejection=rejection_reason(profile, complaint),
        notified=complaint_route(complaint, enabled) is not None,
    )


@dataclass(frozen=True, slots=True)
class Submission:
    """A stored web-form submission for its confirmation page.

    ``complaint`` is ``None`` until processing registered one (or when the
    message led to none); ``processed`` tells which. ``contacts`` are the
    normalised email and phone given on the form (:func:`form_contacts`).
    """

    language: str | None
    sender: str
    created_at: datetime
    processed: bool
    contacts: tuple[str, ...]
    complaint: SubmittedComplaint | None


@dataclass(frozen=True, slots=True)
class HoneypotSubmission:
    """A submission whose honeypot was filled in: nothing was stored or sent
    (docs/web-form.md, "Honeypot"); its page still says "received"."""


async def find_submission(
    session: AsyncSession, external_id: str, *, profile: Profile, enabled: Collection[str]
) -> Submission | HoneypotSubmission | None:
    """The submission stored under ``external_id`` (a form token's nonce), a
    :class:`HoneypotSubmission` for a honeypot nonce, or ``None`` when
    nothing was sent under it. ``enabled``: the channels that are on (for
    :attr:`SubmittedComplaint.notified`)."""
    message = await session.scalar(_web_message(external_id))
    if message is None:
        if await limits.used_nonce(session, external_id) == limits.NONCE_HONEYPOT:
            return HoneypotSubmission()
        return None
    complaint = (
        await session.get(Complaint, message.complaint_id)
        if message.complaint_id is not None
        else None
    )
    return Submission(
        language=message.language,
        sender=message.sender,
        created_at=message.created_at,
        processed=message.processed_at is not None,
        contacts=tuple(form_contacts(message.raw)),
        complaint=_submitted(profile, complaint, enabled) if complaint is not None else None,
    )
