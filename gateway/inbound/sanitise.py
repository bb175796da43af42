"""Making parsed values storable: NUL and lone surrogates removed, strings cut to
their column lengths with the full value kept (docs/webhooks.md, "Sanitising")."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import inspect as sa_inspect

from channels.base import Attachment, DeliveryReport, InboundMessage
from storage.models import Attachment as AttachmentRow
from storage.models import (
    Contact,
    ContactAddress,
    DeliveryStatus,
    Message,
    QuarantinedInbound,
)

log = logging.getLogger(__name__)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(value: str) -> str:
    """``value`` without NUL and lone surrogates (PostgreSQL stores neither).

    A surrogate left in a Python string is always lone: JSON and UTF-8
    decoding join the valid pairs into one code point.
    """
    return _UNSTORABLE.sub("", value)


def _storable_as_is(value: Any) -> bool:
    """Whether ``value`` is plain JSON with nothing :func:`clean_json` would change:
    one pass of the C encoder (NaN and infinities refused, anything not JSON
    refused) and one search of its output for lone surrogates (written as they
    are) and NUL (written ``\\u0000``; a text holding those six characters
    takes the slow path, which is only slower)."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return False
    return "\\u0000" not in text and _UNSTORABLE.search(text) is None


def clean_json(value: Any) -> Any:
    """A JSON-serialisable copy of ``value`` storable on PostgreSQL ``jsonb``.

    Strings (keys too) lose NUL and lone surrogates; NaN and infinities (which
    the stdlib decoder accepts) become strings; anything else not JSON becomes
    its string form. Recursion is bounded by the JSON depth limit upstream.
    A value that needs none of this (every real payload: decoded JSON or a
    form, string keys) is returned as it is, not copied.
    """
    if _storable_as_is(value):
        return value
    return _clean_json(value)


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {clean_text(str(k)): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(v) for v in value]
    return clean_text(str(value))


def column_length(model: type[Any], name: str) -> int:
    """The declared length of a ``String(n)`` column of a mapped model.

    Raises:
        ValueError: the column has no length (``Text``).
    """
    length = getattr(sa_inspect(model).columns[name].type, "length", None)
    if not isinstance(length, int):
        raise ValueError(f"{model.__name__}.{name} has no length")
    return length


#: Column lengths, read from the models (a contact's display name and
#: address are written from the message's sender name and sender).
LIMITS: Final[Mapping[str, int]] = {
    "external_id": column_length(Message, "external_id"),
    "sender": min(column_length(Message, "sender"), column_length(ContactAddress, "address")),
    "sender_name": min(
        column_length(Message, "sender_name"), column_length(Contact, "display_name")
    ),
    "subject": column_length(Message, "subject"),
    "language": column_length(Message, "language"),
    "filename": column_length(AttachmentRow, "filename"),
    "content_type": column_length(AttachmentRow, "content_type"),
    "skipped_reason": column_length(AttachmentRow, "skipped_reason"),
    "provider_id": column_length(DeliveryStatus, "provider_id"),
    "error_code": column_length(DeliveryStatus, "error_code"),
    "quarantine_channel": column_length(QuarantinedInbound, "channel"),
    "source_ref": column_length(QuarantinedInbound, "source_ref"),
}

#: How far ahead of our clock a provider's timestamp may be before it is
#: replaced by the time of receipt (clock skew between servers).
MAX_CLOCK_SKEW: Final = timedelta(hours=1)


def cut_key(value: str, limit: int) -> str:
    """``value`` if it fits ``limit`` characters, else a shorter unique stand-in.

    For keys (dedupe ids, addresses): the first characters, ``#`` and the
    SHA-256 of the whole value, so two long keys with one prefix stay apart
    and a redelivery maps to the same key.
    """
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return value[: limit - len(digest) - 1] + "#" + digest


class _Cutter:
    """Cleans values and remembers the originals of those it had to cut."""

    def __init__(self) -> None:
        self.originals: dict[str, str] = {}

    def text(self, value: str, name: str, *, key: bool = False) -> str:
        cleaned = clean_text(value)
        limit = LIMITS[name]
        if len(cleaned) <= limit:
            return cleaned
        self.originals[name] = cleaned
        return cut_key(cleaned, limit) if key else cleaned[:limit]

    def optional(self, value: str | None, name: str) -> str | None:
        return None if value is None else self.text(value, name)

    def raw(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        cleaned: dict[str, Any] = dict(clean_json(raw))
        if self.originals:
            cleaned["_originals"] = dict(self.originals)
        return cleaned


def _clean_attachment(attachment: Attachment, cutter: _Cutter) -> Attachment:
    return dataclasses.replace(
        attachment,
        filename=cutter.text(attachment.filename, "filename"),
        content_type=cutter.text(attachment.content_type, "content_type"),
        skipped_reason=cutter.optional(attachment.skipped_reason, "skipped_reason"),
    )


def _clock(when: datetime, name: str, cutter: _Cutter, now: datetime) -> datetime:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when > now + MAX_CLOCK_SKEW:
        cutter.originals[name] = when.isoformat()
        return now
    return when


def sanitise_message(message: InboundMessage, *, now: datetime | None = None) -> InboundMessage:
    """``message`` made storable: see the module docstring, step 5.

    ``external_id`` and ``sender`` are keys and are cut with :func:`cut_key`;
    other strings are cut to their column length. A ``received_at`` more than
    :data:`MAX_CLOCK_SKEW` ahead of ``now`` becomes ``now``. Every cut or
    replaced value is kept whole in ``raw["_originals"]``; the text has no
    column limit and is only cleaned.
    """
    now = now or datetime.now(UTC)
    cut = _Cutter()
    # One new message; ``raw`` last, once every cut value is noted in ``cut``.
    return dataclasses.replace(
        message,
        external_id=cut.text(message.external_id, "external_id", key=True),
        sender=cut.text(message.sender, "sender", key=True),
        text=clean_text(message.text),
        received_at=_clock(message.received_at, "received_at", cut, now),
        sender_name=cut.optional(message.sender_name, "sender_name"),
        subject=cut.optional(message.subject, "subject"),
        fields={clean_text(k): clean_text(v) for k, v in message.fields.items()},
        thread_refs=tuple(clean_text(r) for r in message.thread_refs),
        language=cut.optional(message.language, "language"),
        attachments=tuple(_clean_attachment(a, cut) for a in message.attachments),
        raw=cut.raw(message.raw),
    )


def sanitise_report(report: DeliveryReport, *, now: datetime | None = None) -> DeliveryReport:
    """``report`` made storable: ``provider_id`` cut as a key, ``error_code`` to
    its column, a future ``occurred_at`` replaced by ``now``; originals in
    ``raw["_originals"]``."""
    now = now or datetime.now(UTC)
    cut = _Cutter()
    return dataclasses.replace(
        report,
        provider_id=cut.text(report.provider_id, "provider_id", key=True),
        error_code=cut.optional(report.error_code, "error_code"),
        occurred_at=(
            None
            if report.occurred_at is None
            else _clock(report.occurred_at, "occurred_at", cut, now)
        ),
        raw=cut.raw(report.raw),
    )
