"""Signed JSON webhook for the office's own systems (``POST /webhooks/api``).

Offices already run websites and service portals (e.g. SIPTENAN in the
BBSPJIKFK SOP) that take complaints; they forward each one here. The body is
signed like Meta's webhooks: ``X-Aduan-Signature: sha256=<hex HMAC-SHA256 of the
raw body with ADUAN_WEBHOOK_SECRET>``. A bad signature gets 403 and nothing is
stored; a body that is not JSON gets 400, one that is JSON but not a valid
message 200 ``{"status": "quarantined", "error": reason}`` (kept for staff;
the route is ``gateway/webhooks/``, docs/webhooks.md).

Body (JSON object)::

    {"id": "portal-123",                       # unique per message: dedupe key
     "from": {"email": "budi@example.com",     # or "phone": "0812…"
              "name": "Budi Santoso"},          # optional
     "text": "Laporan hasil uji terlambat",    # the message
     "subject": "…", "language": "id"|"en",    # optional
     "fields": {"customer_name": "PT Sinar Jaya"},  # optional profile fields
     "in_reply_to": ["portal-122"],            # optional thread references
     "received_at": "2026-11-21T08:00:00+07:00"}  # optional, ISO 8601

Answer: ``200 {"status": "accepted", "message_id": N, "duplicate": false}``
once the message is committed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime
from typing import Any

from channels.addresses import AddressError, normalise_email, normalise_phone
from channels.base import Channel, ChannelName, InboundMessage, OutboundMessage, SendResult
from channels.errors import InboundParseError, PermanentError

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Aduan-Signature"
MAX_BODY_BYTES = 1024 * 1024


@functools.lru_cache(maxsize=4)
def _keyed(secret: str) -> hmac.HMAC:
    """HMAC-SHA256 state with ``secret`` already keyed in: copying it is about half
    the cost of keying a new one for every request."""
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=<hex>``."""
    mac = _keyed(secret).copy()
    mac.update(body)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is the right signature of ``body`` (constant-time compare)."""
    if not header:
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


def _text(value: Any, name: str, *, required: bool = False, limit: int = 20000) -> str | None:
    if value is None:
        if required:
            raise InboundParseError(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise InboundParseError(f"{name} must be a string")
    if len(value) > limit:
        raise InboundParseError(f"{name} is longer than {limit} characters")
    return value


class ApiChannel(Channel):
    """The signed JSON webhook channel; inbound only."""

    name = ChannelName.API
    interactive = False
    threaded = True

    def parse(self, raw: Any) -> InboundMessage:
        """Parse the raw JSON body (bytes) into an inbound message.

        Raises:
            InboundParseError: not JSON, or as :func:`parse_body`.
        """
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise InboundParseError(f"body is not JSON: {type(exc).__name__}") from None
        return parse_body(data)

    async def send(self, message: OutboundMessage) -> SendResult:
        """The API channel is inbound only; replies go by the contact's email or phone."""
        raise PermanentError("the API channel has no outbound route")


def parse_body(data: Any) -> InboundMessage:
    """Turn the decoded JSON body into an inbound message (pure).

    Raises:
        InboundParseError: not an object, or a field missing or of the wrong
            type, a ``received_at`` that is not ISO 8601 with an offset or
            outside the years 1-9999 in UTC (the message says which).
    """
    if not isinstance(data, dict):
        raise InboundParseError("body must be a JSON object")
    external_id = _text(data.get("id"), "id", required=True, limit=200) or ""
    if not external_id.strip():
        raise InboundParseError("id must not be empty")
    sender_data = data.get("from")
    if not isinstance(sender_data, dict):
        raise InboundParseError("from must be an object with email or phone")
    email = _text(sender_data.get("email"), "from.email", limit=320)
    phone = _text(sender_data.get("phone"), "from.phone", limit=40)
    try:
        if email:
            sender = normalise_email(email)
        elif phone:
            sender = normalise_phone(phone)
        else:
            raise InboundParseError("from needs email or phone")
    except AddressError as exc:
        raise InboundParseError(str(exc)) from None
    fields = data.get("fields") or {}
    if not isinstance(fields, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in fields.items()
    ):
        raise InboundParseError("fields must be an object of strings")
    refs = data.get("in_reply_to") or []
    if isinstance(refs, str):
        refs = [refs]
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise InboundParseError("in_reply_to must be a string or a list of strings")
    received_at = datetime.now(UTC)
    if data.get("received_at") is not None:
        stamp = _text(data.get("received_at"), "received_at", limit=64) or ""
        try:
            received_at = datetime.fromisoformat(stamp)
        except ValueError:
            raise InboundParseError("received_at must be ISO 8601") from None
        if received_at.tzinfo is None:
            raise InboundParseError("received_at needs a time zone offset")
        try:
            received_at = received_at.astimezone(UTC)
        except OverflowError:
            raise InboundParseError("received_at is out of range") from None
    language = _text(data.get("language"), "language", limit=8)
    if language not in (None, "id", "en"):
        raise InboundParseError("language must be id or en")
    return InboundMessage(
        channel=ChannelName.API,
        external_id=external_id.strip(),
        sender=sender,
        text=_text(data.get("text"), "text") or "",
        received_at=received_at,
        sender_name=_text(sender_data.get("name"), "from.name", limit=200),
        subject=_text(data.get("subject"), "subject", limit=500),
        fields=dict(fields),
        thread_refs=tuple(refs),
        language=language,
        raw=data,
    )
