"""Checking one intake value against its profile field."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date

from channels.addresses import AddressError, normalise_email, normalise_phone
from handlers.dates import format_day, office_today, parse_informal_date
from handlers.i18n import t, tn
from handlers.profile import FieldKind, IntakeField

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_TOKEN = re.compile(r"[0-9a-f]{32}")
# C0/C1 control characters except TAB and LF (CR is folded into LF first).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def new_token() -> str:
    """A fresh submission id: ``uuid4().hex`` (32 lower-case hex characters).

    The dedupe key (``external_id``) of a form submission: the nonce of the
    public form's signed token (:mod:`gateway.web.token`) and the staff's
    manual-intake token.
    """
    return uuid.uuid4().hex


def is_token(value: str) -> bool:
    """True when ``value`` has the shape of a submission id (32 lower-case hex)."""
    return _TOKEN.fullmatch(value) is not None


def clean_input(value: str) -> str:
    """What a browser sent, made safe to store and compare.

    Unicode NFC; CR LF and lone CR become LF; other control characters (NUL
    included, which PostgreSQL text columns reject) are removed. Whitespace is
    otherwise kept as typed; trimming is :func:`check_value`'s job.
    """
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", _CONTROL.sub("", text))


@dataclass(frozen=True, slots=True)
class Checked:
    """Result of :func:`check_value`: ``value`` when valid, else ``error`` (in the language asked)."""

    value: str | None
    error: str | None


def check_value(
    field: IntakeField,
    raw: str,
    language: str,
    *,
    today: date | None = None,
    timezone: str = "Asia/Jakarta",
) -> Checked:
    """Validate and clean ``raw`` for ``field``.

    Whitespace is trimmed (and folded, except for long text); lengths are in
    characters; ``name`` needs two letters and no ``@``; ``email``/``phone`` are
    normalised (E.164 for phones); ``date`` is read by
    :func:`handlers.dates.parse_informal_date` relative to ``today`` (default:
    today in the office's IANA ``timezone``), must not be after ``today`` and
    is stored as ``YYYY-MM-DD``; ``pattern`` must match the whole (cleaned)
    value. The error is the profile's ``invalid`` text, or a generic one.
    """
    if field.kind is FieldKind.LONGTEXT:
        value = "\n".join(line.rstrip() for line in raw.strip().splitlines()).strip()
    else:
        value = re.sub(r"\s+", " ", raw).strip()
    invalid = field.invalid.get(language) if field.invalid else None

    def fail(reason: str) -> Checked:
        return Checked(None, invalid or reason)

    label = field.label.get(language)
    if len(value) < max(field.min_length, 1 if field.required else 0):
        return fail(
            tn(
                language,
                "{label} is too short (at least {n} character).",
                "{label} is too short (at least {n} characters).",
                field.min_length,
                label=label,
            )
        )
    if len(value) > field.max_length:
        return Checked(
            None,
            tn(
                language,
                "{label} is too long (at most {n} character).",
                "{label} is too long (at most {n} characters).",
                field.max_length,
                label=label,
            ),
        )
    if field.kind is FieldKind.NAME:
        if "@" in value or len(_LETTER.findall(value)) < 2:
            return fail(t(language, "{label} must be a name.", label=label))
    elif field.kind is FieldKind.EMAIL:
        try:
            value = normalise_email(value)
        except AddressError:
            return fail(t(language, "{label} must be an email address.", label=label))
    elif field.kind is FieldKind.PHONE:
        try:
            value = normalise_phone(value)
        except AddressError:
            return fail(t(language, "{label} must be a phone number.", label=label))
    elif field.kind is FieldKind.DATE:
        day_today = today or office_today(timezone)
        day = parse_informal_date(value, day_today)
        if day is None:
            return fail(
                t(language, "{label} must be a date, for example 12 November 2026.", label=label)
            )
        if day > day_today:
            return fail(t(language, "{label} cannot be a date in the future.", label=label))
        value = day.isoformat()
    if field.pattern and not re.fullmatch(field.pattern, value):
        return fail(t(language, "{label} is not in the expected form.", label=label))
    return Checked(value, None)


def display_value(field: IntakeField, value: str, language: str) -> str:
    """A stored value as a person reads it: ``date`` fields as ``12 November 2026``.

    Other kinds, and a date that is not ``YYYY-MM-DD``, are returned unchanged.
    """
    if field.kind is FieldKind.DATE:
        try:
            return format_day(date.fromisoformat(value), language)
        except ValueError:
            return value
    return value
