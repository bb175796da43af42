"""WhatsApp Cloud API (Meta) channel: webhooks in, Graph API messages out.

Inbound (the routes, caps and storing are ``gateway/webhooks/``,
docs/webhooks.md; this module verifies and parses):

* ``GET /webhooks/whatsapp`` — Meta's subscription handshake: ``hub.mode=subscribe``
  and ``hub.verify_token`` equal to ``ADUAN_WHATSAPP_VERIFY_TOKEN`` → 200 with
  ``hub.challenge`` echoed as ``text/plain``; anything else → 403.
* ``POST /webhooks/whatsapp`` — a JSON body of the documented shape::

      {"object": "whatsapp_business_account",
       "entry": [{"id": "<WABA id>", "changes": [{"field": "messages", "value": {
           "messaging_product": "whatsapp",
           "metadata": {"display_phone_number": "…", "phone_number_id": "…"},
           "contacts": [{"profile": {"name": "Budi"}, "wa_id": "6281234567890"}],
           "messages": [{"from": "6281234567890", "id": "wamid.…",
                         "timestamp": "1763600000", "type": "text",
                         "text": {"body": "halo"}}],
           "statuses": [{"id": "wamid.…", "status": "delivered",
                         "timestamp": "1763600001", "recipient_id": "…",
                         "errors": [{"code": 131047, "title": "…"}]}]}}]}]}

  signed with ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw
  body)>``, verified over the raw bytes before anything is parsed
  (:func:`verify_signature`), then split into messages and statuses by
  :func:`parse_payload`. Each message's media is downloaded (two Graph
  requests, size-limited, short timeouts; a failure becomes an
  :class:`~channels.base.Attachment` with ``skipped_reason``, never a 5xx).

Outbound: ``POST {base}/{version}/{phone_number_id}/messages`` with the access
token as a Bearer token; free-form text (split at 4096 characters) inside the
24-hour customer-service window, an approved template otherwise. Sends are
paced to 1 message/s per recipient (conservative against error 131056, "pair
rate limit") and 80/s overall (the default throughput of a number); Graph
errors are mapped to :mod:`channels.errors` by :func:`classify_error`.

Secrets (access token, app secret, verify token) are never logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
from pydantic import SecretStr

from channels.addresses import AddressError, normalise_phone
from channels.base import (
    Attachment,
    Channel,
    ChannelName,
    DeliveryReport,
    DeliveryState,
    InboundMessage,
    OutboundMessage,
    SendResult,
    Template,
    normalise_status,
)
from channels.errors import (
    ChannelError,
    InboundParseError,
    PermanentError,
    RateLimited,
    TemporaryError,
)
from channels.http import ChannelSession, retry_after_seconds
from channels.media import MediaFetcher, MediaPolicy, MediaRefused, skipped
from channels.ratelimit import Pacer, RateGate
from channels.text import split_text as split_any

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
#: Meta's webhook bodies are a few kB; anything far larger is refused with 413.
MAX_BODY_BYTES = 3 * 1024 * 1024
#: Longest text body the Cloud API accepts in one message (characters).
TEXT_LIMIT = 4096
#: Pacing: messages per second to one recipient, and overall per number.
PER_RECIPIENT_PER_SECOND = 1.0
OVERALL_PER_SECOND = 80.0
#: Seconds to wait after a rate-limit answer without a ``Retry-After`` header;
#: the pair rate limit (131056) clears only after a few seconds.
DEFAULT_RATE_LIMIT_DELAY = 3.0
PAIR_RATE_LIMIT_DELAY = 6.0
#: Graph calls for sending (seconds); Meta waits for our webhook answer too, so
#: media downloads use shorter limits.
SEND_TIMEOUT = aiohttp.ClientTimeout(total=20, connect=5, sock_read=15)
MEDIA_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=3, sock_read=5)

#: Message types whose payload object carries a downloadable media ``id``.
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
#: A Cloud API media id (Graph object id): digits only.
MEDIA_ID = re.compile(r"[0-9]{1,32}")
#: Where Graph media live: the lookup on the Graph API, the bytes on the
#: ``lookaside.fbsbx.com`` URL it answers (both read with the access token,
#: Cloud API "Media" reference); Meta's CDN hosts only by redirect, without it.
MEDIA_HOSTS = frozenset({"graph.facebook.com", "lookaside.fbsbx.com"})
MEDIA_REDIRECT_HOSTS = frozenset({"*.fbsbx.com", "*.fbcdn.net"})

# Graph error codes (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).
PAIR_RATE_LIMIT = 131056
REENGAGEMENT = 131047
#: Throughput and spam limits: 4 app request limit, 80007 WABA rate limit,
#: 130429 throughput reached, 131048 spam rate limit, 131056 pair rate limit.
RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131048, PAIR_RATE_LIMIT})
#: Worth retrying later: 1 unknown, 2 service, 131000 something went wrong,
#: 131016 service unavailable, 133004 server temporarily unavailable.
TEMPORARY_CODES = frozenset({1, 2, 131000, 131016, 133004})
#: Will not succeed on retry: 0/190 token, 3/10/200-299 permissions, 100 invalid
#: parameter, 368 policy block, 131005 access denied, 131008 missing parameter,
#: 131009 invalid parameter value, 131021 recipient is sender, 131026
#: undeliverable, 131031 account locked, 131042 payment, 131045 certificate,
#: 131051 unsupported type, 131052/131053 media, 133010 number not registered;
#: 132000-132999 template errors are matched by range.
PERMANENT_CODES = frozenset(
    {0, 3, 10, 100, 190, 368, 131005, 131008, 131009, 131021, 131026, 131031}
    | {131042, 131045, 131051, 131052, 131053, 133010}
)


# ---------------------------------------------------------------- signatures


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` signs the raw ``body`` with ``secret`` (constant-time).

    The hex digest is compared case-insensitively; a missing header is False.
    """
    if not header:
        return False
    value = header.strip()
    if not value.lower().startswith("sha256="):
        return False
    expected = sign(secret, body)
    given = "sha256=" + value[len("sha256=") :].lower()
    return hmac.compare_digest(expected.encode(), given.encode())


def verify_handshake(verify_token: str, query: Mapping[str, str]) -> bool:
    """True for Meta's subscription handshake with the right token.

    ``query`` holds ``hub.mode`` (must be ``subscribe``), ``hub.verify_token``
    (compared in constant time with ``verify_token``) and a non-empty
    ``hub.challenge`` (echoed by the route).
    """
    token = query.get("hub.verify_token", "")
    good = hmac.compare_digest(token.encode(), verify_token.encode())
    return query.get("hub.mode", "") == "subscribe" and good and bool(query.get("hub.challenge"))


# -------------------------------------------------------------------- parsing


@dataclass(frozen=True, slots=True)
class StatusReport:
    """One ``statuses[]`` entry of a webhook: what happened to a message we sent.

    Attributes:
        provider_id: the ``wamid.…`` our send returned (``outbox.provider_id``).
        status: the normalised state (``sent``, ``delivered``, ``read``, ``failed``).
        error_code: ``errors[0].code`` as a string for failures (e.g. ``"131047"``).
        occurred_at: the provider's ``timestamp``, timezone-aware UTC.
        recipient: E.164 of ``recipient_id`` when it is a phone number, else as given.
        raw: the status object as received (JSON-serialisable).
    """

    provider_id: str
    status: DeliveryState
    error_code: str | None
    occurred_at: datetime
    recipient: str | None
    raw: Mapping[str, Any] = field(default_factory=dict)


def delivery_report(report: StatusReport) -> DeliveryReport:
    """The channel-neutral :class:`~channels.base.DeliveryReport` of a status."""
    return DeliveryReport(
        channel=ChannelName.WHATSAPP,
        provider_id=report.provider_id,
        status=report.status,
        error_code=report.error_code,
        occurred_at=report.occurred_at,
        raw=report.raw,
    )


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A media object of an inbound message, to download by ``media_id``.

    Stored in ``InboundMessage.raw["media"]`` as a plain dict of these fields.
    """

    media_id: str
    kind: str
    mime_type: str
    filename: str | None = None
    sha256: str | None = None


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InboundParseError(f"{where} must be an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InboundParseError(f"{where} must be a list")
    return value


def _str(value: Any, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise InboundParseError(f"{where} must be a non-empty string")
    return value.strip()


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _timestamp(value: Any, where: str) -> datetime:
    """Unix seconds (Meta sends a decimal string) → aware UTC datetime."""
    try:
        seconds = int(str(value).strip())
        return datetime.fromtimestamp(seconds, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise InboundParseError(f"{where} must be unix seconds, got {value!r}") from None


def _phone(wa_id: str, where: str) -> str:
    """A Cloud API ``wa_id`` (digits, country code first, no ``+``) → E.164."""
    digits = wa_id.strip().lstrip("+")
    try:
        return normalise_phone("+" + digits)
    except AddressError as exc:
        raise InboundParseError(f"{where}: {exc}") from None


def _message_text(kind: str, msg: Mapping[str, Any]) -> str:
    """The words a person typed or chose; ``""`` for types without any."""
    body: Any = None
    if kind == "text":
        body = _obj(msg.get("text"), "text").get("body")
    elif kind == "interactive":
        inter = _obj(msg.get("interactive"), "interactive")
        reply = inter.get(str(inter.get("type") or ""))
        if isinstance(reply, Mapping):
            body = reply.get("title")
    elif kind == "button":
        button = msg.get("button")
        if isinstance(button, Mapping):
            body = button.get("text") or button.get("payload")
    elif kind in ("image", "document", "video"):
        media = msg.get(kind)
        if isinstance(media, Mapping):
            body = media.get("caption")
    return body if isinstance(body, str) else ""


def _media_ref(kind: str, msg: Mapping[str, Any]) -> MediaRef | None:
    if kind not in MEDIA_TYPES:
        return None
    media = msg.get(kind)
    if not isinstance(media, Mapping) or not _opt_str(media.get("id")):
        return None
    return MediaRef(
        media_id=str(media["id"]).strip(),
        kind=kind,
        mime_type=_opt_str(media.get("mime_type")) or "application/octet-stream",
        filename=_opt_str(media.get("filename")),
        sha256=_opt_str(media.get("sha256")),
    )


def _parse_message(
    msg_value: Any,
    where: str,
    names: Mapping[str, str],
    metadata: Mapping[str, Any],
) -> InboundMessage:
    msg = _obj(msg_value, where)
    wamid = _str(msg.get("id"), f"{where}.id")
    wa_from = _str(msg.get("from"), f"{where}.from")
    received_at = _timestamp(msg.get("timestamp"), f"{where}.timestamp")
    kind = _opt_str(msg.get("type")) or "unknown"
    media = _media_ref(kind, msg)
    raw: dict[str, Any] = {
        "message": dict(msg),
        "metadata": dict(metadata),
        "media": [
            {
                "media_id": media.media_id,
                "kind": media.kind,
                "mime_type": media.mime_type,
                "filename": media.filename,
                "sha256": media.sha256,
            }
        ]
        if media
        else [],
    }
    return InboundMessage(
        channel=ChannelName.WHATSAPP,
        external_id=wamid,
        sender=_phone(wa_from, f"{where}.from"),
        text=_message_text(kind, msg).strip(),
        received_at=received_at,
        sender_name=names.get(wa_from.lstrip("+")),
        # "system" messages (e.g. the user changed number) are WhatsApp's own:
        # stored, never answered (reliability rule 6).
        automatic=kind == "system",
        raw=raw,
    )


def _parse_status(value: Any, where: str) -> StatusReport | None:
    status = _obj(value, where)
    wamid = _str(status.get("id"), f"{where}.id")
    word = _str(status.get("status"), f"{where}.status")
    state = normalise_status(word)
    if state is None:  # e.g. "deleted", "warning": nothing to record
        log.info("whatsapp: ignoring status %r for %s", word, wamid)
        return None
    error_code: str | None = None
    errors = _list(status.get("errors"), f"{where}.errors")
    if errors and isinstance(errors[0], Mapping) and errors[0].get("code") is not None:
        error_code = str(errors[0]["code"])
    recipient = _opt_str(status.get("recipient_id"))
    if recipient is not None:
        try:
            recipient = normalise_phone("+" + recipient.lstrip("+"))
        except AddressError:
            pass  # a group or a BSUID: keep it as given
    return StatusReport(
        provider_id=wamid,
        status=state,
        error_code=error_code,
        occurred_at=_timestamp(status.get("timestamp"), f"{where}.timestamp"),
        recipient=recipient,
        raw=dict(status),
    )


def parse_payload(body: Any) -> tuple[list[InboundMessage], list[StatusReport]]:
    """Split a webhook body into inbound messages and delivery reports (pure).

    ``body`` is the decoded JSON (see the module docstring for the shape).
    Changes whose ``field`` is not ``messages`` (template reviews, account
    updates) are ignored, as are status words the gateway does not track.
    Messages of every type become an :class:`InboundMessage` — location,
    contacts, sticker, reaction and unsupported ones with ``text=""`` so the
    intake engine answers politely; media ids are listed in ``raw["media"]``.

    Raises:
        InboundParseError: the body is not the documented shape (the message
            names the offending path, e.g. ``entry[0].changes[0].value``).
    """
    data = _obj(body, "body")
    obj = data.get("object")
    if obj is not None and obj != "whatsapp_business_account":
        raise InboundParseError(f"object must be whatsapp_business_account, got {obj!r}")
    if "entry" not in data:
        raise InboundParseError("body has no entry list")
    messages: list[InboundMessage] = []
    statuses: list[StatusReport] = []
    for i, entry_value in enumerate(_list(data.get("entry"), "entry")):
        entry = _obj(entry_value, f"entry[{i}]")
        for j, change_value in enumerate(_list(entry.get("changes"), f"entry[{i}].changes")):
            where = f"entry[{i}].changes[{j}]"
            change = _obj(change_value, where)
            if change.get("field", "messages") != "messages":
                continue
            value = _obj(change.get("value"), f"{where}.value")
            metadata = value.get("metadata")
            metadata = metadata if isinstance(metadata, Mapping) else {}
            names: dict[str, str] = {}
            for k, contact in enumerate(_list(value.get("contacts"), f"{where}.value.contacts")):
                contact = _obj(contact, f"{where}.value.contacts[{k}]")
                profile = contact.get("profile")
                name = _opt_str(profile.get("name")) if isinstance(profile, Mapping) else None
                wa_id = _opt_str(contact.get("wa_id"))
                if wa_id and name:
                    names[wa_id.strip().lstrip("+")] = name.strip()
            for k, msg in enumerate(_list(value.get("messages"), f"{where}.value.messages")):
                messages.append(
                    _parse_message(msg, f"{where}.value.messages[{k}]", names, metadata)
                )
            for k, st in enumerate(_list(value.get("statuses"), f"{where}.value.statuses")):
                report = _parse_status(st, f"{where}.value.statuses[{k}]")
                if report is not None:
                    statuses.append(report)
    return messages, statuses


def media_refs(message: InboundMessage) -> list[MediaRef]:
    """The media to download for a parsed message (from ``raw["media"]``)."""
    refs: list[MediaRef] = []
    for item in message.raw.get("media") or []:
        if isinstance(item, Mapping) and item.get("media_id"):
            refs.append(
                MediaRef(
                    media_id=str(item["media_id"]),
                    kind=str(item.get("kind") or "document"),
                    mime_type=str(item.get("mime_type") or "application/octet-stream"),
                    filename=_opt_str(item.get("filename")),
                    sha256=_opt_str(item.get("sha256")),
                )
            )
    return refs


def _default_filename(ref: MediaRef) -> str:
    if ref.filename:
        return ref.filename.replace("/", "_").replace("\\", "_")[:200]
    base_type = ref.mime_type.split(";", 1)[0].strip().lower()
    ext = {"audio/ogg": ".ogg", "image/webp": ".webp", "image/jpeg": ".jpg"}.get(
        base_type
    ) or mimetypes.guess_extension(base_type)
    return f"{ref.kind}-{ref.media_id}{ext or ''}"


def media_policy(settings: WhatsAppCloudConfig) -> MediaPolicy:
    """The fetch rules for Cloud API media (docs/attachments.md): the configured
    ``ADUAN_WHATSAPP_API_BASE`` and :data:`MEDIA_HOSTS`, redirects to
    :data:`MEDIA_REDIRECT_HOSTS`, ``MEDIA_TIMEOUT`` and ``attachment_max_bytes``."""
    return MediaPolicy(
        provider="WhatsApp",
        base_url=settings.whatsapp_api_base,
        hosts=MEDIA_HOSTS,
        redirect_hosts=MEDIA_REDIRECT_HOSTS,
        credential_hosts=MEDIA_HOSTS,
        max_bytes=settings.attachment_max_bytes,
        timeout=float(MEDIA_TIMEOUT.total or 10),
    )


# -------------------------------------------------------------------- sending


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """WhatsApp-sized parts of ``text`` (characters), in order; ``[]`` for blank text.

    See :func:`channels.text.split_text`.
    """
    return split_any(text, limit, utf16=False)


_SPACES = re.compile(r"\s+")


def clean_template_parameter(value: str) -> str:
    """Make ``value`` acceptable as a template body parameter.

    Meta rejects parameters with new lines, tabs or more than four consecutive
    spaces (error 132018) and empty ones: every whitespace run becomes one
    space, the ends are trimmed, and an empty value becomes ``"-"``.
    """
    cleaned = _SPACES.sub(" ", value).strip()
    return cleaned or "-"


def text_payload(to: str, body: str) -> dict[str, Any]:
    """The JSON of one free-form text message to ``to`` (digits, no ``+``)."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body, "preview_url": False},
    }


def template_payload(to: str, template: Template) -> dict[str, Any]:
    """The JSON of an approved-template message; variables fill ``{{1}}…`` in order."""
    body: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if template.variables:
        body["components"] = [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": clean_template_parameter(v)}
                    for v in template.variables
                ],
            }
        ]
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": body,
    }


def classify_error(status: int, body: Any, headers: Mapping[str, str]) -> ChannelError:
    """Map a failed Graph API answer to the error the outbox acts on.

    ``body`` is the decoded JSON (``{"error": {"code": 131056, "message": …,
    "error_data": {"details": …}}}``) or anything else; ``headers`` supplies
    ``Retry-After``. Rules (Meta's Cloud API error-code table):

    * 131056 pair rate limit, 130429 throughput, 131048 spam limit, 4, 80007 and
      HTTP 429 → :class:`RateLimited` (``Retry-After`` or a few seconds; 131056
      at least :data:`PAIR_RATE_LIMIT_DELAY`).
    * 131047 re-engagement (outside the 24-hour window) → :class:`PermanentError`
      telling staff to send an approved template.
    * 131026 undeliverable, 131051, 100 invalid parameter, 132xxx template
      errors, 190 token, permission errors and other known codes →
      :class:`PermanentError`.
    * 1, 2, 131000, 131016, 133004, HTTP 5xx → :class:`TemporaryError`.
    * Unknown codes: 4xx → permanent, otherwise temporary.
    """
    error = body.get("error") if isinstance(body, Mapping) else None
    error = error if isinstance(error, Mapping) else {}
    raw_code = error.get("code")
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    message = _opt_str(error.get("message")) or f"HTTP {status}"
    data = error.get("error_data")
    details = _opt_str(data.get("details")) if isinstance(data, Mapping) else None
    text = f"WhatsApp Cloud API error {code if code is not None else status}: {message}"
    if details and details != message:
        text += f" ({details})"
    reported: int = code if code is not None else status
    if code in RATE_LIMIT_CODES or status == 429:
        wait = retry_after_seconds(headers.get("Retry-After"))
        if code == PAIR_RATE_LIMIT:
            wait = max(wait or 0.0, PAIR_RATE_LIMIT_DELAY)
        return RateLimited(
            text, retry_after=DEFAULT_RATE_LIMIT_DELAY if wait is None else wait, code=reported
        )
    if code == REENGAGEMENT:
        return PermanentError(
            "outside the 24-hour customer-service window: WhatsApp accepts only an approved "
            f"template until the complainant writes again (error {REENGAGEMENT}: {message})",
            code=REENGAGEMENT,
        )
    if code is not None:
        if code in PERMANENT_CODES or 132000 <= code <= 132999 or 200 <= code <= 299:
            return PermanentError(text, code=code)
        if code in TEMPORARY_CODES:
            return TemporaryError(text, code=code)
    if status >= 500 or status < 400:
        return TemporaryError(text, code=reported)
    return PermanentError(text, code=reported)


# -------------------------------------------------------------------- channel


@dataclass(frozen=True, slots=True)
class WhatsAppCloudConfig:
    """What the Cloud API channel needs, built by the gateway from its settings.

    Field names are those of the ``ADUAN_*`` settings they come from (README,
    "Configuration"); secrets are ``SecretStr`` and left out of ``repr``;
    ``attachment_max_bytes`` limits each media download.
    """

    whatsapp_token: SecretStr | None = field(default=None, repr=False)
    whatsapp_app_secret: SecretStr | None = field(default=None, repr=False)
    whatsapp_phone_number_id: str | None = None
    whatsapp_api_base: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    attachment_max_bytes: int = 10 * 1024 * 1024


class WhatsAppCloudChannel(Channel):
    """The WhatsApp Cloud API channel (Meta Graph API), chat-like.

    ``config`` is the :class:`WhatsAppCloudConfig`. One
    :class:`channels.http.ChannelSession` per channel, opened by :meth:`start`
    or on first use and closed by :meth:`stop`. ``pacer`` replaces the default
    in-process pacing (1/s per recipient, 80/s overall for the sending
    number): a gate shared by several processes, or a fast one in tests.
    """

    name = ChannelName.WHATSAPP
    interactive = True

    def __init__(self, config: WhatsAppCloudConfig, *, pacer: RateGate | None = None) -> None:
        self.config = config
        self.pacer: RateGate = pacer or Pacer(
            per_key=PER_RECIPIENT_PER_SECOND, overall=OVERALL_PER_SECOND
        )
        self._http = ChannelSession(timeout=SEND_TIMEOUT)

    # ------------------------------------------------------------ lifecycle

    @property
    def configured(self) -> bool:
        """Token, app secret and phone number id are set (webhooks and sends work)."""
        s = self.config
        return bool(s.whatsapp_token and s.whatsapp_app_secret and s.whatsapp_phone_number_id)

    @property
    def api_root(self) -> str:
        """``{whatsapp_api_base}/{whatsapp_api_version}`` without a trailing slash."""
        base = self.config.whatsapp_api_base.rstrip("/")
        return f"{base}/{self.config.whatsapp_api_version.strip('/')}"

    def _client(self) -> aiohttp.ClientSession:
        return self._http.get()

    def _auth(self) -> dict[str, str]:
        token = self.config.whatsapp_token
        if token is None:
            raise PermanentError("WhatsApp Cloud API is not configured (ADUAN_WHATSAPP_TOKEN)")
        return {"Authorization": f"Bearer {token.get_secret_value()}"}

    async def start(self) -> None:
        """Open the HTTP session."""
        self._client()

    async def stop(self) -> None:
        """Close the HTTP session."""
        await self._http.close()

    def status(self) -> Mapping[str, Any]:
        """Non-secret facts for ``check-config``."""
        return {
            "configured": self.configured,
            "phone_number_id": self.config.whatsapp_phone_number_id,
            "api": self.api_root,
        }

    # --------------------------------------------------------------- inbound

    def parse_payload(
        self, body: Mapping[str, Any]
    ) -> tuple[list[InboundMessage], list[StatusReport]]:
        """See :func:`parse_payload` (module level, pure)."""
        return parse_payload(body)

    def parse(self, raw: Any) -> InboundMessage | None:
        """The first message of a webhook body (bytes, str or decoded JSON).

        Returns ``None`` for a body carrying only statuses. Raises
        :class:`InboundParseError` for malformed input.
        """
        if isinstance(raw, bytes | bytearray | str):
            try:
                raw = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise InboundParseError(f"body is not JSON: {exc}") from None
        messages, _ = parse_payload(raw)
        return messages[0] if messages else None

    async def download_media(self, ref: MediaRef) -> Attachment:
        """Fetch one media object; never raises for provider trouble.

        The media id must be digits only (:data:`MEDIA_ID`), else nothing is
        requested. Two requests through :class:`channels.media.MediaFetcher`
        under :func:`media_policy`, both with the Bearer token:
        ``GET {root}/{media_id}`` → ``{"url": …, "mime_type": …, "file_size": …}``,
        then ``GET url`` for the bytes (https on ``lookaside.fbsbx.com``, or
        the configured base). Larger than ``attachment_max_bytes`` (checked on
        the announced size, ``Content-Length`` and while reading), a refused
        host or address, an error answer, a timeout or a connection error give
        an attachment with ``skipped_reason``.
        """
        filename = _default_filename(ref)
        limit = self.config.attachment_max_bytes

        def refused(reason: str, size: int = 0, mime: str = ref.mime_type) -> Attachment:
            return skipped("WhatsApp", filename, mime, MediaRefused(reason, size))

        if limit <= 0:
            return refused("attachments are disabled (ADUAN_ATTACHMENT_MAX_BYTES=0)")
        if not MEDIA_ID.fullmatch(ref.media_id):
            return refused("refused: the media id is not a number")
        try:
            credentials = self._auth()
        except PermanentError as exc:
            return refused(str(exc))
        mime = ref.mime_type
        async with MediaFetcher(media_policy(self.config)) as fetcher:
            try:
                info = await fetcher.get_json(
                    f"{self.api_root}/{ref.media_id}", credentials=credentials, what="media lookup"
                )
                if not isinstance(info, Mapping) or not isinstance(info.get("url"), str):
                    return refused("media lookup answer has no url")
                mime = _opt_str(info.get("mime_type")) or ref.mime_type
                announced = info.get("file_size")
                if isinstance(announced, int | str) and str(announced).isdigit():
                    if int(announced) > limit:
                        return refused(
                            f"too large: {announced} bytes, limit {limit} bytes",
                            int(announced),
                            mime,
                        )
                fetched = await fetcher.get(info["url"], credentials=credentials)
            except MediaRefused as exc:
                return refused(exc.reason, exc.size, mime)
        return Attachment(filename, mime, fetched.content, len(fetched.content))

    async def with_attachments(self, message: InboundMessage) -> InboundMessage:
        """``message`` with its media downloaded into ``attachments``."""
        refs = media_refs(message)
        if not refs:
            return message
        attachments = await asyncio.gather(*(self.download_media(ref) for ref in refs))
        return replace(message, attachments=(*message.attachments, *attachments))

    # -------------------------------------------------------------- outbound

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send ``message`` as text parts (≤ 4096 characters) or as a template.

        ``message.recipient`` is E.164; the Cloud API wants the digits without
        ``+``. Returns the first part's ``wamid``. A failure on a later part
        raises (the outbox retries the whole row: at-least-once delivery).

        Raises:
            RateLimited, TemporaryError, PermanentError: see :func:`classify_error`;
            timeouts and connection errors are temporary; a missing setting is
            permanent.
        """
        phone_number_id = self.config.whatsapp_phone_number_id
        if not phone_number_id or self.config.whatsapp_token is None:
            raise PermanentError(
                "WhatsApp Cloud API is not configured "
                "(ADUAN_WHATSAPP_TOKEN, ADUAN_WHATSAPP_PHONE_NUMBER_ID)"
            )
        try:
            to = normalise_phone(message.recipient).lstrip("+")
        except AddressError as exc:
            raise PermanentError(str(exc)) from None
        if message.template is not None:
            payloads = [template_payload(to, message.template)]
        else:
            parts = [p for p in split_text(message.text) if p]
            if not parts:
                raise PermanentError("empty message: nothing to send")
            payloads = [text_payload(to, part) for part in parts]
        url = f"{self.api_root}/{phone_number_id}/messages"
        first: str | None = None
        for payload in payloads:
            await self.pacer.wait(to)
            wamid = await self._post(url, payload)
            first = first or wamid
        return SendResult(provider_id=first)

    async def _post(self, url: str, payload: Mapping[str, Any]) -> str | None:
        """POST one message; the ``wamid`` of an accepted send, or an error raised."""
        session = self._client()
        try:
            async with session.post(url, json=payload, headers=self._auth()) as resp:
                raw = await resp.read()
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                if resp.status >= 300 or (isinstance(body, Mapping) and "error" in body):
                    raise classify_error(resp.status, body, resp.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TemporaryError(f"WhatsApp Cloud API unreachable: {type(exc).__name__}") from None
        messages = body.get("messages") if isinstance(body, Mapping) else None
        if isinstance(messages, list) and messages and isinstance(messages[0], Mapping):
            wamid = messages[0].get("id")
            if isinstance(wamid, str):
                return wamid
        log.warning("whatsapp send accepted without a message id (HTTP %s)", resp.status)
        return None
