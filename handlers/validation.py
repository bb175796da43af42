"""Checking one intake value against its profile field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from gateway.addresses import AddressError, normalise_email, normalise_phone
from gateway.i18n import t
from handlers.dates import format_day, office_today, parse_informal_date
from handlers.profile import FieldKind, IntakeField

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


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
            t(
                language,
                "{label} is too short (at least {n} characters).",
                label=label,
                n=field.min_length,
            )
        )
    if len(value) > field.max_length:
        return Checked(
            None,
            t(
                language,
                "{label} is too long (at most {n} characters).",
                label=label,
                n=field.max_length,
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
