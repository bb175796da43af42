"""Manual intake: a complaint staff received by telephone, in person, by letter
or from the suggestion box (README.md, "Staff inbox").

The SOPs name these intake channels besides the electronic ones: "telepon",
"datang langsung", "surat" (SOP-7.9-1 item 1), the complaint or suggestion
box ("kotak pengaduan", BBSPJIKFK 5.1.11 steps 1-2; "kotak saran", Kecamatan
Bandungan steps 1-2). Staff type the profile's intake fields — the same labels,
kinds and validation as the public web form
(:func:`handlers.validation.check_value`) — plus the source, the day it was
received and the complainant's email and/or phone.

Rules:

* The receiving officer (SOP-7.9-1 item 2, "penerima pengaduan") is the
  signed-in staff member: ``received_by = "staff:<username>"``, channel
  ``manual``; the source and the day received are kept in
  ``Complaint.details["manual_intake"]``.
* At least an email or a phone number, except for the suggestion box, which
  may be anonymous: then no message is ever staged for the complainant at
  intake (there is nobody to reach).
* The day received is not in the future (office time zone). Today means now;
  an earlier day is recorded as the start of that day, office time, and the
  time standards count from it, as the SOP counts from receipt.
* The same person is the same contact: the contact is found by the
  normalised email or E.164 phone the way :mod:`gateway.ingest` finds
  senders, and an address not known yet is added to it.
* The complaint is registered by :func:`handlers.registration.register_complaint`
  (tracking number, first step, the profile's acceptance window), recorded as
  an inbound ``manual`` message whose ``external_id`` is the form's submission
  token — the unique ``(channel, external_id)`` constraint turns a double
  submit into :class:`AlreadyRegistered` (docs/architecture.md, "Reliability
  rules" 2) — and acknowledged with the tracking number and the follow-up
  standard through :func:`handlers.notifications.notify_complainant` (email,
  else WhatsApp or SMS), all in the caller's transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from channels.addresses import AddressError, normalise_email, normalise_phone
from channels.base import ChannelName
from handlers.contact_lookup import resolve_contact
from handlers.dates import office_today, parse_informal_date
from handlers.i18n import normalise_language, t
from handlers.notifications import notify_complainant
from handlers.outbox import OutboxWriter
from handlers.profile import Profile
from handlers.registration import acknowledgement_text, initial_status, register_complaint
from handlers.validation import check_value, clean_input, is_token
from storage.models import (
    Complaint,
    Contact,
    ContactAddress,
    Direction,
    Message,
    OutboxMessage,
)
from storage.types import utcnow

#: ``Complaint.details`` key holding the source and the day received.
DETAILS_KEY = "manual_intake"

#: Names of the form's own inputs. Profile field keys are ``[a-z][a-z0-9_]*``,
#: so names with a hyphen never clash with one.
SOURCE_FIELD = "intake-source"
RECEIVED_ON_FIELD = "received-on"
EMAIL_FIELD = "contact-email"
PHONE_FIELD = "contact-phone"
LANGUAGE_FIELD = "complainant-language"
TOKEN_FIELD = "submission-token"  # noqa: S105 - an input name, not a secret

#: Longest accepted email address and phone input, in characters (as the web form).
EMAIL_MAX_LENGTH = 320
PHONE_MAX_LENGTH = 40

#: Roles that may always record a complaint; the owners of the workflow's
#: initial state may too (:func:`may_register`).
INTAKE_ROLES = frozenset({"admin", "secretariat"})


class Source(enum.StrEnum):
    """How the complaint reached the office (the SOPs' non-electronic channels)."""

    PHONE = "phone"  #: telepon
    IN_PERSON = "in_person"  #: datang langsung
    LETTER = "letter"  #: surat
    SUGGESTION_BOX = "suggestion_box"  #: kotak saran


#: Sources where the complainant may stay anonymous (no email, no phone).
ANONYMOUS_SOURCES = frozenset({Source.SUGGESTION_BOX})


class Problem(enum.StrEnum):
    """What is wrong with one of the form's own inputs (the page words it)."""

    SOURCE = "source"  #: no source, or an unknown one
    RECEIVED_ON_MISSING = "received_on_missing"
    RECEIVED_ON_INVALID = "received_on_invalid"
    RECEIVED_ON_FUTURE = "received_on_future"
    CONTACT_MISSING = "contact_missing"  #: neither email nor phone, and not anonymous
    EMAIL_INVALID = "email_invalid"
    PHONE_INVALID = "phone_invalid"
    #: The submission token is missing or malformed.
    TOKEN = "token"  # noqa: S105 - a problem name, not a secret


@dataclass(frozen=True, slots=True)
class ManualComplaint:
    """A checked manual-intake form.

    ``values``: profile field key → cleaned value (every required field, and
    the optional ones filled in); ``email`` lower-case, ``phone`` E.164, both
    ``None`` only for an anonymous suggestion-box complaint; ``language`` the
    complainant's (``id``/``en``), for every message they get; ``token`` the
    form's submission token (32 lower-case hex characters).
    """

    source: Source
    received_on: date
    values: Mapping[str, str]
    email: str | None
    phone: str | None
    language: str
    token: str

    @property
    def anonymous(self) -> bool:
        """True when the complainant left no way to reach them."""
        return self.email is None and self.phone is None


@dataclass(frozen=True, slots=True)
class FormCheck:
    """The outcome of :func:`check_form`.

    ``typed``: what was typed per input name (cleaned by
    :func:`handlers.validation.clean_input`), to show the form again;
    ``field_errors``: profile field key → message (in the page language, from
    :func:`handlers.validation.check_value`); ``problems``: own input name →
    :class:`Problem`. ``complaint`` is set exactly when both are empty.
    """

    typed: Mapping[str, str]
    complaint: ManualComplaint | None
    field_errors: Mapping[str, str] = field(default_factory=dict)
    problems: Mapping[str, Problem] = field(default_factory=dict)


class AlreadyRegistered(Exception):
    """The form's submission token was registered before (a double submit).

    ``tracking_number`` is the complaint the first submission registered.
    """

    def __init__(self, tracking_number: str) -> None:
        super().__init__(f"already registered as {tracking_number}")
        self.tracking_number = tracking_number


@dataclass(frozen=True, slots=True)
class ManualResult:
    """A registered manual complaint and the acknowledgement staged for it.

    ``acknowledgement`` is ``None`` for an anonymous complaint, one rejected
    at registration by the acceptance window (its rejection notice was staged
    instead), or one without a route back (recorded as a
    ``notification_unroutable`` event).
    """

    complaint: Complaint
    acknowledgement: OutboxMessage | None


def manual_intake_enabled(profile: Profile) -> bool:
    """Whether the profile lists the ``manual`` channel (every shipped profile does)."""
    return ChannelName.MANUAL.value in profile.channels


def may_register(profile: Profile, role: str) -> bool:
    """Whether ``role`` may record a manual complaint.

    ``admin`` and ``secretariat`` (SOP-7.9-1 items 1-2: complaints reach the
    secretariat, which records them), and the roles owning the workflow's
    initial state (they receive and record complaints in that office's SOP,
    e.g. BBSPJIKFK 5.1.11 step 2).
    """
    if role in INTAKE_ROLES:
        return True
    workflow = profile.workflow
    return role in workflow.states[workflow.initial].owners


def _first(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return clean_input(value) if isinstance(value, str) else ""


def check_form(
    form: Mapping[str, Any], profile: Profile, *, language: str, today: date | None = None
) -> FormCheck:
    """Check a submitted manual-intake form against ``profile``; never raises on input.

    ``form`` maps input names to strings (other values are ignored); error
    messages are in ``language`` (the staff page's). ``today`` (default: today
    in the office's time zone) bounds the day received and date fields.
    Rules: the module docstring; each profile field as on the public web form
    (required fields must pass :func:`handlers.validation.check_value`, an
    optional field left empty is skipped).
    """
    language = normalise_language(language)
    day = today or office_today(profile.office.timezone)
    typed: dict[str, str] = {}
    values: dict[str, str] = {}
    field_errors: dict[str, str] = {}
    problems: dict[str, Problem] = {}

    typed[SOURCE_FIELD] = _first(form, SOURCE_FIELD).strip()
    source = Source(typed[SOURCE_FIELD]) if typed[SOURCE_FIELD] in set(Source) else None
    if source is None:
        problems[SOURCE_FIELD] = Problem.SOURCE

    typed[RECEIVED_ON_FIELD] = _first(form, RECEIVED_ON_FIELD).strip()
    received_on: date | None = None
    if not typed[RECEIVED_ON_FIELD]:
        problems[RECEIVED_ON_FIELD] = Problem.RECEIVED_ON_MISSING
    else:
        received_on = parse_informal_date(typed[RECEIVED_ON_FIELD], day)
        if received_on is None:
            problems[RECEIVED_ON_FIELD] = Problem.RECEIVED_ON_INVALID
        elif received_on > day:
            problems[RECEIVED_ON_FIELD] = Problem.RECEIVED_ON_FUTURE
            received_on = None

    for intake_field in profile.intake.fields:
        raw = _first(form, intake_field.key)
        typed[intake_field.key] = raw
        if not raw.strip() and not intake_field.required:
            continue
        checked = check_value(
            intake_field, raw, language, today=day, timezone=profile.office.timezone
        )
        if checked.value is not None:
            values[intake_field.key] = checked.value
        else:
            field_errors[intake_field.key] = checked.error or ""

    email, phone = _check_contact(form, typed, problems)
    if not typed[EMAIL_FIELD] and not typed[PHONE_FIELD] and source not in ANONYMOUS_SOURCES:
        problems[EMAIL_FIELD] = Problem.CONTACT_MISSING

    typed[LANGUAGE_FIELD] = normalise_language(_first(form, LANGUAGE_FIELD))
    token = _first(form, TOKEN_FIELD).strip()
    typed[TOKEN_FIELD] = token
    if not is_token(token):
        problems[TOKEN_FIELD] = Problem.TOKEN

    if field_errors or problems or source is None or received_on is None:
        return FormCheck(typed, None, field_errors, problems)
    return FormCheck(
        typed,
        ManualComplaint(
            source=source,
            received_on=received_on,
            values=values,
            email=email,
            phone=phone,
            language=typed[LANGUAGE_FIELD],
            token=token,
        ),
    )


def _check_contact(
    form: Mapping[str, Any], typed: dict[str, str], problems: dict[str, Problem]
) -> tuple[str | None, str | None]:
    """The normalised email and phone typed (``None`` when empty or invalid)."""
    typed[EMAIL_FIELD] = _first(form, EMAIL_FIELD).strip()
    typed[PHONE_FIELD] = _first(form, PHONE_FIELD).strip()
    email: str | None = None
    phone: str | None = None
    if typed[EMAIL_FIELD]:
        try:
            if len(typed[EMAIL_FIELD]) > EMAIL_MAX_LENGTH:
                raise AddressError("too long")
            email = normalise_email(typed[EMAIL_FIELD])
        except AddressError:
            problems[EMAIL_FIELD] = Problem.EMAIL_INVALID
    if typed[PHONE_FIELD]:
        try:
            if len(typed[PHONE_FIELD]) > PHONE_MAX_LENGTH:
                raise AddressError("too long")
            phone = normalise_phone(typed[PHONE_FIELD])
        except AddressError:
            problems[PHONE_FIELD] = Problem.PHONE_INVALID
    return email, phone


def received_moment(profile: Profile, received_on: date, now: datetime) -> datetime:
    """When a complaint received on ``received_on`` counts as received (aware UTC).

    ``now`` when that is today in the office's time zone; otherwise the
    start of that day, office time (the register records the day).
    """
    zone = ZoneInfo(profile.office.timezone)
    if received_on >= office_today(profile.office.timezone, now):
        return now
    return datetime.combine(received_on, time.min, tzinfo=zone).astimezone(now.tzinfo)


def reply_address(email: str | None, phone: str | None, enabled: Collection[str]) -> str:
    """The complaint's ``contact_address``: what every later message goes to.

    The email when given and email is on, else the phone (WhatsApp or SMS,
    :func:`handlers.notifications.complaint_route`), else the email (it
    cannot be reached now: recorded for staff), else ``""`` (anonymous).
    """
    if email and ChannelName.EMAIL.value in enabled:
        return email
    return phone or email or ""


async def find_or_create_contact(
    session: AsyncSession, *, email: str | None, phone: str | None, display_name: str
) -> int:
    """The id of the contact with ``email`` or ``phone``, created if neither is known.

    The email's contact wins over the phone's; an address not known yet is
    added to the chosen contact, one known for another contact is left there
    (two contacts become one only by an explicit merge,
    :mod:`handlers.contacts`). Without any address a new contact is created
    (an anonymous suggestion-box complaint). Concurrency-safe like
    :func:`handlers.contact_lookup.resolve_contact` (unique ``(kind, address)``).
    """
    wanted = [(kind, address) for kind, address in (("email", email), ("phone", phone)) if address]
    if not wanted:
        anonymous = Contact(display_name=display_name)
        session.add(anonymous)
        await session.flush()
        return anonymous.id
    known = {
        (kind, address): contact_id
        for kind, address, contact_id in await session.execute(
            select(ContactAddress.kind, ContactAddress.address, ContactAddress.contact_id).where(
                tuple_(ContactAddress.kind, ContactAddress.address).in_(wanted)
            )
        )
    }
    chosen = next((known[key] for key in wanted if key in known), None)
    if chosen is None:
        kind, address = wanted[0]
        chosen = await resolve_contact(session, ChannelName.MANUAL.value, address, display_name)
    for kind, address in wanted:
        if (kind, address) in known:
            continue
        try:
            async with session.begin_nested():
                session.add(ContactAddress(contact_id=chosen, kind=kind, address=address))
                await session.flush()
        except IntegrityError:
            continue  # added meanwhile (for this or another contact): leave it there
    contact = await session.get(Contact, chosen)
    if contact is not None and not contact.display_name:
        contact.display_name = display_name
    return chosen


async def register_manual(
    session: AsyncSession,
    *,
    profile: Profile,
    writer: OutboxWriter,
    enabled_channels: Collection[str],
    complaint: ManualComplaint,
    staff_username: str,
    now: datetime | None = None,
) -> ManualResult:
    """Register ``complaint`` received by staff member ``staff_username``; see the module docstring.

    Runs in the caller's transaction (which must be committed for anything
    to happen) and never commits. Raises :class:`AlreadyRegistered` when the
    form's token was registered before — the caller must then roll back
    (leave its unit of work with the exception).
    """
    now = now or utcnow()
    actor = f"staff:{staff_username}"
    values = dict(complaint.values)
    contact_id = await find_or_create_contact(
        session,
        email=complaint.email,
        phone=complaint.phone,
        display_name=values["complainant_name"],
    )
    address = reply_address(complaint.email, complaint.phone, enabled_channels)
    received_at = received_moment(profile, complaint.received_on, now)
    record = Message(
        channel=ChannelName.MANUAL.value,
        external_id=complaint.token,
        direction=Direction.IN.value,
        contact_id=contact_id,
        sender=address,
        sender_name=values["complainant_name"],
        text=values["problem"],
        fields=values,
        language=complaint.language,
        raw={
            "source": complaint.source.value,
            "received_on": complaint.received_on.isoformat(),
            "received_by": actor,
            "email": complaint.email,
            "phone": complaint.phone,
        },
        received_at=received_at,
        created_at=now,
        processed_at=now,  # nothing for the intake engine to do
    )
    try:
        async with session.begin_nested():
            session.add(record)
            await session.flush()
    except IntegrityError:
        tracking = await session.scalar(
            select(Complaint.tracking_number)
            .join(Message, Message.complaint_id == Complaint.id)
            .where(
                Message.channel == ChannelName.MANUAL.value,
                Message.external_id == complaint.token,
            )
        )
        if tracking is None:  # pragma: no cover - constraint fired for another reason
            raise
        raise AlreadyRegistered(tracking) from None
    # Anonymous: no route back, so not even a rejection notice is staged.
    reachable = () if complaint.anonymous else enabled_channels
    registered = await register_complaint(
        session,
        profile=profile,
        contact_id=contact_id,
        channel=ChannelName.MANUAL.value,
        contact_address=address,
        values=values,
        received_at=received_at,
        received_by=actor,
        language=complaint.language,
        actor=actor,
        writer=writer,
        enabled_channels=reachable,
    )
    registered.details = {
        **(registered.details or {}),
        DETAILS_KEY: {
            "source": complaint.source.value,
            "received_on": complaint.received_on.isoformat(),
        },
    }
    record.complaint_id = registered.id
    if complaint.anonymous or registered.status != initial_status(profile):
        # Nobody to tell, or rejected at registration (SOP-7.9-1 item 3): the
        # rejection notice replaces the acknowledgement.
        return ManualResult(registered, None)
    row = await notify_complainant(
        session,
        writer,
        registered,
        acknowledgement_text(profile, registered, values, complaint.language),
        actor=actor,
        enabled=enabled_channels,
        subject=t(complaint.language, "Your complaint"),
    )
    return ManualResult(registered, row)
