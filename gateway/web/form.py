"""The public web form (``GET``/``POST /``): validation and parsing.

The form carries every intake field of the SOP profile (in profile order), a
contact group (an email address and/or a phone number, at least one), the
language of the page, a hidden server-signed form token and a honeypot input
(:data:`HONEYPOT_FIELD`, hidden from people; see ``docs/web-form.md``).

The form is the office's own page, not a provider's wire format, so it lives
here beside the routes and may use the SOP profile and the translations.

The signed token (:mod:`gateway.web.token`) carries a random nonce of 32
lower-case hex characters; that nonce becomes the message's ``external_id``,
so a double submit (back button, double click, retry after a timeout) is
stored once: the database's unique constraint on ``messages(channel,
external_id)`` decides (docs/web-form.md, "Form token").

Everything here is pure (no I/O): :func:`validate` checks a submitted form and
:meth:`WebForm.parse` turns a valid one into an
:class:`~channels.base.InboundMessage`. The routes live in
:mod:`gateway.web.public`; whether the token's signature and age hold is
checked there (:class:`gateway.web.token.FormTokens`), not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from channels.addresses import AddressError, normalise_email, normalise_phone
from channels.base import ChannelName, InboundMessage
from channels.errors import InboundParseError
from gateway.queries.submission import EMAIL_FIELD, PHONE_FIELD
from handlers.i18n import normalise_language, t, tn
from handlers.profile import Profile, ProfileError
from handlers.validation import check_value, clean_input, is_token, new_token
from storage.types import utcnow

__all__ = [
    "CONTACT_GROUP",
    "EMAIL_FIELD",
    "HONEYPOT_FIELD",
    "LANGUAGE_FIELD",
    "PHONE_FIELD",
    "RESERVED_NAMES",
    "TOKEN_ERROR",
    "TOKEN_FIELD",
    "ContactDetails",
    "FormResult",
    "WebForm",
    "check_profile",
    "clean_input",
    "is_token",
    "new_token",
    "validate",
]

#: Name of the hidden signed form-token input (:mod:`gateway.web.token`).
TOKEN_FIELD = "token"  # noqa: S105 - an input name, not a secret
#: Name of the honeypot input: off-screen, ``aria-hidden``, out of the tab
#: order, so people leave it empty and form-filling bots do not
#: (docs/web-form.md, "Honeypot"). A name a bot is keen to fill.
HONEYPOT_FIELD = "website"
#: Name of the hidden language input (``id`` or ``en``).
LANGUAGE_FIELD = "lang"
#: Error key used when neither contact input is filled in (shown on the group).
CONTACT_GROUP = "contact"
#: Error key for a missing or malformed submission token.
TOKEN_ERROR = TOKEN_FIELD

#: Input names the form uses besides the profile's fields; a profile field may
#: not use one of these keys (checked by :func:`check_profile`).
RESERVED_NAMES = frozenset(
    {TOKEN_FIELD, LANGUAGE_FIELD, EMAIL_FIELD, PHONE_FIELD, CONTACT_GROUP, HONEYPOT_FIELD}
)

#: Longest accepted email address (RFC 5321 path limit) and phone input, in characters.
EMAIL_MAX_LENGTH = 320
PHONE_MAX_LENGTH = 40
#: Longest token input kept, in characters (a signed token is about 90).
TOKEN_MAX_LENGTH = 200


def check_profile(profile: Profile) -> None:
    """Make sure the profile's field keys do not clash with the form's own inputs.

    Raises:
        ProfileError: naming the clashing keys.
    """
    clashes = sorted(f.key for f in profile.intake.fields if f.key in RESERVED_NAMES)
    if clashes:
        raise ProfileError(
            "intake field keys reserved by the web form: "
            + ", ".join(clashes)
            + " (rename them in the profile)"
        )


@dataclass(frozen=True, slots=True)
class ContactDetails:
    """How the complainant can be reached: normalised email and/or E.164 phone.

    At least one is set (:func:`validate` guarantees it).
    """

    email: str | None = None
    phone: str | None = None

    @property
    def address(self) -> str:
        """The message sender: the email when given, else the phone."""
        address = self.email or self.phone
        if address is None:  # pragma: no cover - validate() never builds this
            raise ValueError("no contact address")
        return address


@dataclass(frozen=True, slots=True)
class FormResult:
    """The outcome of :func:`validate`.

    Attributes:
        language: ``"id"`` or ``"en"``, from the form's language input.
        token: the signed form token as sent (stripped), else ``None`` when
            missing or longer than :data:`TOKEN_MAX_LENGTH`; its signature and
            age are checked by the route (:class:`gateway.web.token.FormTokens`).
        honeypot: True when the hidden honeypot input was filled in.
        typed: what was typed, per input name, after :func:`clean_input` (used
            to re-render the form and kept as the message's ``raw``). Only the
            form's own inputs are kept; unknown names are dropped.
        values: profile field key → cleaned value, for every filled-in field
            that passed :func:`handlers.validation.check_value`.
        contact: the normalised contact when valid, else ``None``.
        errors: input name (profile field key, ``contact_email``,
            ``contact_phone``, ``contact`` for the whole group, ``token``) →
            message in ``language``, in form order. Empty when valid.
    """

    language: str
    token: str | None
    typed: Mapping[str, str]
    values: Mapping[str, str]
    contact: ContactDetails | None
    errors: Mapping[str, str] = field(default_factory=dict)
    honeypot: bool = False

    @property
    def ok(self) -> bool:
        """True when the form can be accepted as it is."""
        return not self.errors and self.token is not None and self.contact is not None

    def to_message(self, external_id: str, received_at: datetime | None = None) -> InboundMessage:
        """The inbound message for a valid form (see :meth:`WebForm.parse`).

        ``external_id`` is the submission id: the nonce of the verified form
        token (32 lower-case hex characters).

        Raises:
            InboundParseError: when the form has errors (naming the inputs) or
                ``external_id`` is not a submission id.
        """
        if not self.ok or self.contact is None:
            names = ", ".join(self.errors) or "token, contact"
            raise InboundParseError(f"invalid web form: {names}")
        if not is_token(external_id):
            raise InboundParseError("invalid web form: submission id")
        return InboundMessage(
            channel=ChannelName.WEB,
            external_id=external_id,
            sender=self.contact.address,
            text=self.values.get("problem", ""),
            received_at=received_at or utcnow(),
            sender_name=self.values.get("complainant_name"),
            fields=dict(self.values),
            language=self.language,
            raw=dict(self.typed),
        )


def _first(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    return clean_input(value) if isinstance(value, str) else ""


def _check_contact(
    typed_email: str, typed_phone: str, language: str, errors: dict[str, str]
) -> ContactDetails | None:
    email = typed_email.strip()
    phone = typed_phone.strip()
    email_value: str | None = None
    phone_value: str | None = None
    if email:
        if len(email) > EMAIL_MAX_LENGTH:
            errors[EMAIL_FIELD] = tn(
                language,
                "The email address is too long (at most {n} character).",
                "The email address is too long (at most {n} characters).",
                EMAIL_MAX_LENGTH,
            )
        else:
            try:
                email_value = normalise_email(email)
            except AddressError:
                errors[EMAIL_FIELD] = t(
                    language, "Enter an email address such as name@example.com."
                )
    if phone:
        if len(phone) > PHONE_MAX_LENGTH:
            errors[PHONE_FIELD] = t(language, "Enter a phone number such as 0812 3456 7890.")
        else:
            try:
                phone_value = normalise_phone(phone)
            except AddressError:
                errors[PHONE_FIELD] = t(language, "Enter a phone number such as 0812 3456 7890.")
    if not email and not phone:
        errors[CONTACT_GROUP] = t(
            language, "Give an email address or a phone number so that we can reach you."
        )
        return None
    if EMAIL_FIELD in errors or PHONE_FIELD in errors:
        return None
    return ContactDetails(email=email_value, phone=phone_value)


def validate(form: Mapping[str, str], profile: Profile, language: str) -> FormResult:
    """Check a submitted web form against ``profile``; pure, never raises on input.

    Rules: every required profile field must pass
    :func:`handlers.validation.check_value` (lengths, name, email/phone, date —
    the browser's ``YYYY-MM-DD`` or an informal date, not after today in the
    office's time zone —, pattern; SOP-7.9-1 item 2 for the mandated identity
    fields); an optional field left
    empty is skipped. At least one of email and phone is required; the email is
    lower-cased (:func:`channels.addresses.normalise_email`), the phone normalised
    to E.164 with region ID (:func:`channels.addresses.normalise_phone`, so
    ``0812…``, ``+62 812…`` and ``62812…`` are one number). The token must be
    present (its signature and age are the route's to check). A filled-in
    honeypot is reported in :attr:`FormResult.honeypot`, not as an error.

    ``form`` maps input names to the submitted strings (first value of each).
    Error messages are in ``language`` (``"id"``/``"en"``).
    """
    language = normalise_language(language)
    typed: dict[str, str] = {}
    values: dict[str, str] = {}
    errors: dict[str, str] = {}

    for intake_field in profile.intake.fields:
        raw = _first(form, intake_field.key)
        typed[intake_field.key] = raw
        if not raw.strip() and not intake_field.required:
            continue
        checked = check_value(intake_field, raw, language, timezone=profile.office.timezone)
        if checked.value is not None:
            values[intake_field.key] = checked.value
        else:
            errors[intake_field.key] = checked.error or t(language, "Check this answer.")

    typed[EMAIL_FIELD] = _first(form, EMAIL_FIELD)
    typed[PHONE_FIELD] = _first(form, PHONE_FIELD)
    contact = _check_contact(typed[EMAIL_FIELD], typed[PHONE_FIELD], language, errors)
    typed[LANGUAGE_FIELD] = language

    raw_token = _first(form, TOKEN_FIELD).strip()
    token = raw_token if raw_token and len(raw_token) <= TOKEN_MAX_LENGTH else None
    if token is None:
        errors[TOKEN_ERROR] = t(
            language,
            "This form was incomplete or too old. Check your answers and send it again.",
        )
    return FormResult(
        language=language,
        token=token,
        typed=typed,
        values=values,
        contact=contact,
        errors=errors,
        honeypot=bool(_first(form, HONEYPOT_FIELD).strip()),
    )


class WebForm:
    """The public web form of one SOP profile: validation and parsing.

    Replies to web-form complainants go by email when they gave an address and
    email is on (:func:`handlers.intake.default_route`); the form itself
    cannot send.

    Raises:
        ProfileError: from the constructor, when a profile field key clashes
            with the form's own inputs (:data:`RESERVED_NAMES`).
    """

    def __init__(self, profile: Profile) -> None:
        check_profile(profile)
        self.profile = profile

    def validate(self, form: Mapping[str, str], language: str | None = None) -> FormResult:
        """:func:`validate` with this form's profile; ``language`` defaults to the form's."""
        lang = normalise_language(language if language is not None else form.get(LANGUAGE_FIELD))
        return validate(form, self.profile, lang)

    def parse(
        self, raw: Any, external_id: str, received_at: datetime | None = None
    ) -> InboundMessage:
        """Turn a submitted form (input name → string) into an inbound message.

        The message has channel ``web``, ``external_id`` = the submission id
        (the verified token's nonce), ``sender`` = the email if given else the
        phone, ``sender_name`` = the complainant name, ``text`` = the problem,
        ``fields`` = the cleaned profile values, ``language`` from the form's
        language input and ``raw`` = the form's inputs without the token and
        the honeypot (the other contact address is only there).

        Raises:
            InboundParseError: when ``raw`` is not a mapping of strings or the
                form does not pass :func:`validate`.
        """
        if not isinstance(raw, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
        ):
            raise InboundParseError("web form must be a mapping of strings")
        return self.validate(raw).to_message(external_id, received_at)
