"""Normalising contact addresses (phone numbers, email addresses)."""

from __future__ import annotations

import re

import phonenumbers

from channels.base import ChannelName

DEFAULT_REGION = "ID"

# One "@", no spaces, a dotted domain of letters, digits and hyphens.
_EMAIL = re.compile(
    r"[^@\s<>()\[\],;:\"]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+"
)


class AddressError(ValueError):
    """An address that cannot be normalised (not a phone number, not an email)."""


def normalise_phone(value: str, region: str = DEFAULT_REGION) -> str:
    """Return ``value`` as E.164 (``+6281234567890``).

    ``0812…``, ``+62 812…``, ``62812…`` and ``whatsapp:+62812…`` are one number
    (docs/channels.md, "Phone numbers"). Raises :class:`AddressError` if not a valid
    number.
    """
    raw = value.strip()
    for prefix in ("whatsapp:", "tel:", "sms:"):
        if raw.lower().startswith(prefix):
            raw = raw[len(prefix) :]
    digits = raw.replace(" ", "").replace("-", "")
    if digits.startswith("62") and not digits.startswith("+"):
        digits = "+" + digits
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException as exc:
        raise AddressError(f"not a phone number: {value!r} ({exc})") from None
    if not phonenumbers.is_valid_number(number):
        raise AddressError(f"not a valid phone number: {value!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(value: str) -> str:
    """Lower-case and trim an email address; raises :class:`AddressError` if it has no ``@``."""
    addr = value.strip().strip("<>").lower()
    if not _EMAIL.fullmatch(addr):
        raise AddressError(f"not an email address: {value!r}")
    return addr


def address_kind(channel: str, address: str) -> str:
    """The contact-address kind for a sender on ``channel``.

    WhatsApp and SMS share ``phone`` so one number is one contact; the web form,
    the API and manual intake carry an email or a phone number.
    """
    if channel == ChannelName.EMAIL:
        return "email"
    if channel in (ChannelName.WHATSAPP, ChannelName.SMS):
        return "phone"
    if channel == ChannelName.TELEGRAM:
        return "telegram"
    return "email" if "@" in address else "phone"
