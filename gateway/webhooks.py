"""The one webhook pipeline for every provider route (docs/webhooks.md).

Every provider request goes through the same steps, in this order:

1. **size cap** for the route (:data:`BODY_CAPS`), on ``Content-Length`` and
   while reading (:func:`body_caps` middleware): never more than the cap is
   buffered;
2. **signature or secret** checked over the raw bytes, before any parsing;
3. **decoding**: Twilio forms with :func:`urllib.parse.parse_qsl` over the
   capped bytes, JSON with a nesting limit (:data:`JSON_MAX_DEPTH`); a body
   that is not a form or not JSON is answered 400;
4. **parsing** by the channel module into inbound messages and delivery
   reports (pure functions of the provider's wire format);
5. **sanitising** (:func:`sanitise_message`, :func:`sanitise_report`): NUL and
   lone surrogates removed, every stored string cut to its column length (from
   the SQLAlchemy models), the full value kept in ``raw["_originals"]``;
6. **storing**: messages through ``Runtime.accept`` (one transaction each),
   reports through :func:`gateway.delivery.record_delivery_status`;
7. **acknowledging** once everything is committed.

A signed payload never gets a 5xx for what it contains: what cannot be
parsed or stored is answered 200 and kept in ``quarantined_inbound`` with the
reason (:func:`quarantine`), so the provider stops redelivering it and staff
can look at it. Only a database that cannot be reached gives a 5xx (the
provider then retries, reliability rule 1). Logs name the route and the kind
of fault, never a value from the payload (it holds phone numbers, names and
complaint text).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from channels import api as api_channel
from channels import twilio
from channels import whatsapp_cloud as whatsapp
from channels.base import Attachment, ChannelName, DeliveryReport, InboundMessage
from channels.errors import InboundParseError
from channels.telegram import SECRET_HEADER as TELEGRAM_SECRET_HEADER
from channels.telegram import WEBHOOK_PATH as TELEGRAM_PATH
from channels.telegram import TelegramChannel, verify_secret
from gateway.config import TelegramMode
from gateway.delivery import record_delivery_status
from gateway.remote import client_address
from gateway.runtime import twilio_config
from handlers.i18n import t
from storage.db import SessionFactory
from storage.models import Attachment as AttachmentRow
from storage.models import (
    Contact,
    ContactAddress,
    DeliveryStatus,
    Message,
    QuarantinedInbound,
)
from storage.types import utcnow

if TYPE_CHECKING:
    from gateway.ingest import IngestResult
    from gateway.runtime import Runtime

log = logging.getLogger(__name__)

API_PATH: Final = "/webhooks/api"

# ----------------------------------------------------------------- size caps

KIB: Final = 1024
MIB: Final = 1024 * 1024

#: Twilio inbound form: ``Body`` is at most 1600 characters (Twilio's limit),
#: percent-encoded at most 12 bytes each (4 UTF-8 bytes x ``%XX``) = 19.2 KB,
#: plus up to 10 ``MediaUrl``/``MediaContentType`` pairs and some 30 short
#: fields; 32 KiB leaves room without allowing anything large.
TWILIO_FORM_CAP: Final = 32 * KIB
#: Twilio status callback: a dozen short fields.
TWILIO_STATUS_CAP: Final = 8 * KIB
#: Meta documents webhook payloads of up to 3 MB.
WHATSAPP_CAP: Final = 3 * MIB
#: A Telegram Update is a few KB (a message of at most 4096 characters plus
#: entities); 1 MiB is far above any real one.
TELEGRAM_CAP: Final = 1 * MIB
#: The signed JSON intake API (``channels/api.py``): a message of at most
#: 20000 characters with fields; 1 MiB.
API_CAP: Final = api_channel.MAX_BODY_BYTES
#: Small forms answered before anyone is signed in.
SMALL_FORM_CAP: Final = 8 * KIB

#: Body cap in bytes per (method, route path) of every unauthenticated POST
#: route, the public complaint form (``POST /``, which carries attachments)
#: excepted. Routes not listed keep the application-wide limit.
BODY_CAPS: Final[Mapping[tuple[str, str], int]] = {
    ("POST", twilio.INBOUND_PATH): TWILIO_FORM_CAP,
    ("POST", twilio.STATUS_PATH): TWILIO_STATUS_CAP,
    ("POST", whatsapp.WEBHOOK_PATH): WHATSAPP_CAP,
    ("POST", TELEGRAM_PATH): TELEGRAM_CAP,
    ("POST", API_PATH): API_CAP,
    ("POST", "/inbox/login"): SMALL_FORM_CAP,
    ("POST", "/inbox/logout"): SMALL_FORM_CAP,
    ("POST", "/inbox/setup"): SMALL_FORM_CAP,
    ("POST", "/track"): SMALL_FORM_CAP,
}

#: A body up to this size (declared ``Content-Length``) is read without
#: further ado: every small-capped route stays below it.
SMALL_BODY: Final = 64 * KIB
#: Bytes that bodies over :data:`SMALL_BODY` (or without a declared length on
#: a route whose cap is larger) may hold in memory together, per process. A
#: request that would exceed it is answered 503 with ``Retry-After`` (the
#: providers retry); real webhook bodies are a few KB and never draw on it.
LARGE_BODY_BUDGET: Final = 16 * MIB

#: Deepest JSON nesting accepted (objects and arrays). Real payloads nest
#: about 10 levels (a WhatsApp interactive reply: body, entry, change, value,
#: message, interactive, reply; a Telegram reply with entities).
JSON_MAX_DEPTH: Final = 32
#: Most fields accepted in one Twilio form (a real one has about 40).
TWILIO_MAX_FIELDS: Final = 200


def body_cap(request: web.Request) -> int | None:
    """The body cap in bytes for ``request``'s route, ``None`` when it has none."""
    resource = request.match_info.route.resource
    if resource is None:
        return None
    return BODY_CAPS.get((request.method, resource.canonical))


def _too_large_text() -> str:
    """The refusal people read (Indonesian, then English; ``aduan.po``)."""
    return "\n".join(
        (
            t("id", "The request is too large to accept."),
            t("en", "The request is too large to accept."),
            "",
        )
    )


def _busy_text() -> str:
    """The 503 people read (Indonesian, then English; ``aduan.po``)."""
    return "\n".join(
        (
            t("id", "Too many large requests at once. Try again in a moment."),
            t("en", "Too many large requests at once. Try again in a moment."),
            "",
        )
    )


def _too_large(request: web.Request, cap: int) -> web.Response:
    if request.path.startswith("/webhooks/"):
        text = f"request body too large (limit {cap} bytes)"
        return web.json_response({"error": text}, status=413)
    return web.Response(status=413, text=_too_large_text(), content_type="text/plain")


class _Budget:
    """Bytes still free for large bodies; taken and given back around a request."""

    def __init__(self, total: int) -> None:
        self.free = total

    def take(self, amount: int) -> bool:
        if amount > self.free:
            return False
        self.free -= amount
        return True

    def give(self, amount: int) -> None:
        self.free += amount


_LARGE_BODIES = _Budget(LARGE_BODY_BUDGET)


def _busy(request: web.Request) -> web.Response:
    headers = {"Retry-After": "1"}
    if request.path.startswith("/webhooks/"):
        text = "too many large requests at once, retry later"
        return web.json_response({"error": text}, status=503, headers=headers)
    return web.Response(status=503, text=_busy_text(), content_type="text/plain", headers=headers)


@web.middleware
async def body_caps(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Refuse a body over its route's cap before anything reads it.

    A declared ``Content-Length`` over the cap is answered 413 at once; the
    handler then sees a request whose reads stop with 413 as soon as more than
    the cap arrived (chunked bodies), so at most the cap is ever buffered.
    A body that may exceed :data:`SMALL_BODY` first reserves its size (its
    cap when undeclared) from :data:`LARGE_BODY_BUDGET`, or gets 503.
    """
    cap = body_cap(request)
    if cap is None:
        return await handler(request)
    declared = request.content_length
    if declared is not None and declared > cap:
        return _too_large(request, cap)
    size = cap if declared is None else declared
    if size <= SMALL_BODY:
        return await handler(request.clone(client_max_size=cap))
    if not _LARGE_BODIES.take(size):
        log.warning("large-body budget exhausted: %s answered 503", request.path)
        return _busy(request)
    try:
        return await handler(request.clone(client_max_size=cap))
    finally:
        _LARGE_BODIES.give(size)


async def read_body(request: web.Request) -> bytes | web.Response:
    """The raw body under the route's cap, or the 413 answer."""
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _too_large(request, body_cap(request) or request.client_max_size)


# ------------------------------------------------------------------ decoding


def json_depth_within(value: Any, limit: int) -> bool:
    """Whether ``value`` (decoded JSON) nests at most ``limit`` levels (iterative)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def load_json(raw: bytes, *, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """Decode a JSON body, refusing nesting deeper than ``max_depth``.

    Raises:
        InboundParseError: not JSON (invalid UTF-8 included), or nested deeper
            than ``max_depth`` (the stdlib decoder's RecursionError on very deep
            input is turned into this too).
    """
    try:
        value = json.loads(raw)
    except RecursionError:
        raise InboundParseError(f"body nests deeper than {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InboundParseError(f"body is not JSON: {exc}") from None
    if not json_depth_within(value, max_depth):
        raise InboundParseError(f"body nests deeper than {max_depth} levels")
    return value


def parse_form_body(raw: bytes) -> MultiDict[str]:
    """Decode an ``application/x-www-form-urlencoded`` body (bytes already capped).

    Invalid UTF-8 becomes U+FFFD (as the signature check then sees it).

    Raises:
        InboundParseError: more than :data:`TWILIO_MAX_FIELDS` fields.
    """
    text = raw.decode("utf-8", errors="replace")
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="replace",
            max_num_fields=TWILIO_MAX_FIELDS,
        )
    except ValueError as exc:
        raise InboundParseError(f"body is not a form: {exc}") from None
    return MultiDict(pairs)


# ---------------------------------------------------------------- sanitising

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(value: str) -> str:
    """``value`` without NUL and lone surrogates (PostgreSQL stores neither).

    A surrogate left in a Python string is always lone: JSON and UTF-8
    decoding join the valid pairs into one code point.
    """
    return _UNSTORABLE.sub("", value)


def clean_json(value: Any) -> Any:
    """A JSON-serialisable copy of ``value`` storable on PostgreSQL ``jsonb``.

    Strings (keys too) lose NUL and lone surrogates; NaN and infinities (which
    the stdlib decoder accepts) become strings; anything else not JSON becomes
    its string form. Recursion is bounded by the JSON depth limit upstream.
    """
    if isinstance(value, str):
        return clean_text(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
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
        cleaned: dict[str, Any] = clean_json(raw)
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
    cleaned = dataclasses.replace(
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
    )
    return dataclasses.replace(cleaned, raw=cut.raw(message.raw))


def sanitise_report(report: DeliveryReport, *, now: datetime | None = None) -> DeliveryReport:
    """``report`` made storable: ``provider_id`` cut as a key, ``error_code`` to
    its column, a future ``occurred_at`` replaced by ``now``; originals in
    ``raw["_originals"]``."""
    now = now or datetime.now(UTC)
    cut = _Cutter()
    cleaned = dataclasses.replace(
        report,
        provider_id=cut.text(report.provider_id, "provider_id", key=True),
        error_code=cut.optional(report.error_code, "error_code"),
        occurred_at=(
            None
            if report.occurred_at is None
            else _clock(report.occurred_at, "occurred_at", cut, now)
        ),
    )
    return dataclasses.replace(cleaned, raw=cut.raw(report.raw))


# ---------------------------------------------------------------- quarantine

#: Errors meaning the database could not be reached: the request fails (5xx)
#: so the provider redelivers later, nothing is quarantined.
_UNAVAILABLE: Final = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    ConnectionError,
    TimeoutError,
)
#: Errors caused by what a payload holds: it is quarantined.
_UNSTORABLE_ERRORS: Final = (sa_exc.SQLAlchemyError, ValueError, TypeError, OverflowError)


async def quarantine(
    sessions: SessionFactory, *, channel: str, source_ref: str, raw: bytes, error: str
) -> bool:
    """Keep something received but not storable in ``quarantined_inbound``.

    ``source_ref`` identifies it at the source (unique: a redelivery adds
    nothing); ``raw`` is the payload as received; ``error`` the reason staff
    read. Commits before returning. Returns True when the row is new.
    """
    source_ref = cut_key(clean_text(source_ref), LIMITS["source_ref"])
    async with sessions() as session, session.begin():
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        new_id = (
            await session.execute(
                insert(QuarantinedInbound)
                .values(
                    channel=channel[: LIMITS["quarantine_channel"]],
                    source_ref=source_ref,
                    raw=raw,
                    error=clean_text(error),
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["source_ref"])
                .returning(QuarantinedInbound.id)
            )
        ).scalar_one_or_none()
    log.warning(
        "%s: payload quarantined (%s)", channel, "new" if new_id is not None else "seen before"
    )
    return new_id is not None


def body_ref(route: str, raw: bytes) -> str:
    """The quarantine ``source_ref`` of a whole request body: route and SHA-256."""
    return f"{route}#{hashlib.sha256(raw).hexdigest()}"


def _json_bytes(value: Mapping[str, Any]) -> bytes:
    return json.dumps(clean_json(value), ensure_ascii=False, default=str).encode()


def _reason(exc: BaseException) -> str:
    """A quarantine reason for a storage error (the DBAPI message, no parameters)."""
    detail = getattr(exc, "orig", None) or exc
    return f"not storable: {type(exc).__name__}: {str(detail).splitlines()[0][:500]}"


async def store_message(
    runtime: Runtime, message: InboundMessage, *, source: str
) -> IngestResult | None:
    """Sanitise and commit one message; quarantine it when it cannot be stored.

    Returns the ingest result, or ``None`` when the message was quarantined
    (``source_ref`` is ``source`` + ``#`` + the external id).

    Raises:
        sqlalchemy.exc.OperationalError, InterfaceError, ConnectionError,
        TimeoutError: the database is unreachable; the caller answers 5xx.
    """
    cleaned = sanitise_message(message)
    try:
        return await runtime.accept(cleaned)
    except _UNAVAILABLE:
        raise
    except _UNSTORABLE_ERRORS as exc:
        await quarantine(
            runtime.sessions,
            channel=str(message.channel),
            source_ref=f"{source}#{cleaned.external_id}",
            raw=_json_bytes(message.raw),
            error=_reason(exc),
        )
        return None


async def store_report(runtime: Runtime, report: DeliveryReport, *, source: str) -> bool:
    """Sanitise and record one delivery report; quarantine it when not storable.

    Returns True when stored (new or repeat), False when quarantined.

    Raises:
        as :func:`store_message` for an unreachable database.
    """
    cleaned = sanitise_report(report)
    try:
        await record_delivery_status(
            runtime.sessions,
            channel=str(cleaned.channel),
            provider_id=cleaned.provider_id,
            status=cleaned.status,
            error_code=cleaned.error_code,
            occurred_at=cleaned.occurred_at,
            raw=dict(cleaned.raw),
        )
    except _UNAVAILABLE:
        raise
    except _UNSTORABLE_ERRORS as exc:
        await quarantine(
            runtime.sessions,
            channel=str(report.channel),
            source_ref=f"{source}#status#{cleaned.provider_id}#{cleaned.status}",
            raw=_json_bytes(report.raw),
            error=_reason(exc),
        )
        return False
    return True


def polling_accept(runtime: Runtime) -> Callable[[InboundMessage], Awaitable[Any]]:
    """The ``accept`` for a polling channel: :func:`store_message` for it."""

    async def accept(message: InboundMessage) -> IngestResult | None:
        return await store_message(runtime, message, source=f"{message.channel}-poll")

    return accept


def polling_quarantine(
    runtime: Runtime, channel: ChannelName
) -> Callable[[str, bytes, str], Awaitable[Any]]:
    """The ``quarantine`` for a polling channel: ``(source_ref, raw, reason)``."""

    async def keep(source_ref: str, raw: bytes, reason: str) -> bool:
        return await quarantine(
            runtime.sessions, channel=str(channel), source_ref=source_ref, raw=raw, error=reason
        )

    return keep


# ------------------------------------------------------------------ answers


def _runtime(request: web.Request) -> Runtime:
    from gateway.app import get_runtime

    return get_runtime(request)


def _twiml() -> web.Response:
    return web.Response(text=twilio.EMPTY_TWIML, content_type="text/xml", charset="utf-8")


def _quarantined_json(reason: str) -> web.Response:
    return web.json_response({"status": "quarantined", "error": reason})


# -------------------------------------------------------------------- Twilio


async def _twilio_form(
    request: web.Request, route: str
) -> tuple[MultiDict[str], bytes] | web.Response:
    """Steps 1-3 for Twilio: capped body, signature over the decoded params.

    404 when Twilio is not configured, 413 over the cap, 400 for a body that is
    not a form, 403 for a bad or missing signature.
    """
    settings = _runtime(request).settings
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        raise web.HTTPNotFound()
    raw = await read_body(request)
    if isinstance(raw, web.Response):
        return raw
    if request.content_type not in ("application/x-www-form-urlencoded", ""):
        return web.json_response({"error": "body is not a form"}, status=400)
    try:
        form = parse_form_body(raw)
    except InboundParseError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    signature = request.headers.get(twilio.SIGNATURE_HEADER, "")
    url = settings.effective_public_url + request.path_qs
    if not twilio.verify(settings.twilio_auth_token.get_secret_value(), url, form, signature):
        log.warning(
            "twilio webhook %s: %s signature from %s",
            route,
            "bad" if signature else "missing",
            client_address(request),
        )
        return web.json_response({"error": "invalid signature"}, status=403)
    return form, raw


async def twilio_inbound(request: web.Request) -> web.Response:
    """``POST /webhooks/twilio``: an SMS or WhatsApp message; 200 empty TwiML once
    committed or quarantined (replies go through the outbox, never inline)."""
    signed = await _twilio_form(request, twilio.INBOUND_PATH)
    if isinstance(signed, web.Response):
        return signed
    form, raw = signed
    runtime = _runtime(request)
    try:
        message = twilio.parse_form(twilio.single_values(form))
    except InboundParseError as exc:
        await quarantine(
            runtime.sessions,
            channel="twilio",
            source_ref=body_ref(twilio.INBOUND_PATH, raw),
            raw=raw,
            error=str(exc),
        )
        return _twiml()
    if message is None:
        return _twiml()
    if twilio.media_items(message.raw):
        config = twilio_config(runtime.settings)
        attachments = await twilio.download_media(message.raw, config)
        message = dataclasses.replace(message, attachments=attachments)
    result = await store_message(runtime, message, source=twilio.INBOUND_PATH)
    if result is not None:
        log.info(
            "twilio %s message stored as %s%s",
            message.channel,
            result.message_id,
            " (duplicate)" if result.duplicate else "",
        )
    return _twiml()


async def twilio_status(request: web.Request) -> web.Response:
    """``POST /webhooks/twilio/status``: a delivery report; 200 once recorded,
    ignored (unknown status word) or quarantined."""
    signed = await _twilio_form(request, twilio.STATUS_PATH)
    if isinstance(signed, web.Response):
        return signed
    form, raw = signed
    runtime = _runtime(request)
    try:
        report = twilio.parse_status_form(twilio.single_values(form))
    except InboundParseError as exc:
        await quarantine(
            runtime.sessions,
            channel="twilio",
            source_ref=body_ref(twilio.STATUS_PATH, raw),
            raw=raw,
            error=str(exc),
        )
        return web.Response(status=200)
    if report is not None:
        await store_report(runtime, report, source=twilio.STATUS_PATH)
    return web.Response(status=200)


# ---------------------------------------------------------- WhatsApp Cloud


def _whatsapp_channel(request: web.Request) -> whatsapp.WhatsAppCloudChannel | None:
    channel = _runtime(request).channels.get(ChannelName.WHATSAPP.value)
    if isinstance(channel, whatsapp.WhatsAppCloudChannel) and channel.configured:
        return channel
    return None


async def whatsapp_handshake(request: web.Request) -> web.Response:
    """``GET /webhooks/whatsapp``: Meta's subscription handshake.

    ``hub.mode=subscribe`` and ``hub.verify_token`` equal to the configured
    verify token (constant-time) → 200 with ``hub.challenge`` as text/plain;
    otherwise 403; 404 when no verify token is configured.
    """
    expected = _runtime(request).settings.whatsapp_verify_token
    if expected is None:
        raise web.HTTPNotFound()
    if not whatsapp.verify_handshake(expected.get_secret_value(), request.query):
        log.warning("whatsapp verification refused from %s", client_address(request))
        return web.Response(status=403, text="forbidden", content_type="text/plain")
    return web.Response(text=request.query["hub.challenge"], content_type="text/plain")


async def _already_stored(runtime: Runtime, channel: ChannelName, external_id: str) -> bool:
    """Whether a message is stored already (skips re-downloading a redelivery's
    media; the unique constraint still decides what is a duplicate)."""
    async with runtime.sessions() as session:
        found = await session.scalar(
            select(Message.id)
            .where(
                Message.channel == channel.value,
                Message.external_id == cut_key(clean_text(external_id), LIMITS["external_id"]),
            )
            .limit(1)
        )
    return found is not None


async def whatsapp_receive(request: web.Request) -> web.Response:
    """``POST /webhooks/whatsapp``: messages and statuses of the Cloud API.

    Answers: 404 channel off; 413 over :data:`WHATSAPP_CAP`; 403 bad signature
    (nothing stored); 400 not JSON or too deep; 200 ``{"status": "accepted",
    "messages": n, "duplicates": d, "statuses": s, "quarantined": q}`` after
    every message and status is committed or quarantined; 200 ``{"status":
    "quarantined", "error": reason}`` for JSON that is not a webhook body.
    """
    channel = _whatsapp_channel(request)
    secret = channel.config.whatsapp_app_secret if channel else None
    if channel is None or secret is None:
        raise web.HTTPNotFound()
    raw = await read_body(request)
    if isinstance(raw, web.Response):
        return raw
    header = request.headers.get(whatsapp.SIGNATURE_HEADER)
    if not whatsapp.verify_signature(secret.get_secret_value(), raw, header):
        log.warning(
            "whatsapp webhook: %s signature from %s",
            "bad" if header else "missing",
            client_address(request),
        )
        return web.json_response({"error": "invalid signature"}, status=403)
    try:
        body = load_json(raw)
    except InboundParseError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    runtime = _runtime(request)
    try:
        messages, statuses = whatsapp.parse_payload(body)
    except InboundParseError as exc:
        await quarantine(
            runtime.sessions,
            channel=ChannelName.WHATSAPP.value,
            source_ref=body_ref(whatsapp.WEBHOOK_PATH, raw),
            raw=raw,
            error=str(exc),
        )
        return _quarantined_json(str(exc))

    async def prepare(message: InboundMessage) -> InboundMessage:
        if whatsapp.media_refs(message) and not await _already_stored(
            runtime, message.channel, message.external_id
        ):
            return await channel.with_attachments(message)
        return message

    # Downloads run side by side (Meta waits for this answer); messages are
    # then committed one by one, in the order Meta sent them (rule 3).
    prepared = await asyncio.gather(*(prepare(m) for m in messages))
    duplicates = quarantined = 0
    for message in prepared:
        result = await store_message(runtime, message, source=whatsapp.WEBHOOK_PATH)
        if result is None:
            quarantined += 1
        else:
            duplicates += result.duplicate
    for status in statuses:
        stored = await store_report(
            runtime, whatsapp.delivery_report(status), source=whatsapp.WEBHOOK_PATH
        )
        quarantined += not stored
    return web.json_response(
        {
            "status": "accepted",
            "messages": len(messages),
            "duplicates": duplicates,
            "statuses": len(statuses),
            "quarantined": quarantined,
        }
    )


# ------------------------------------------------------------------ Telegram


async def telegram_receive(request: web.Request) -> web.Response:
    """``POST /webhooks/telegram``: one Update (webhook mode).

    Answers: 404 when Telegram is off, in polling mode or not built; 403
    ``{"error": "invalid secret token"}`` (checked before the body is read);
    413 over :data:`TELEGRAM_CAP`; 400 not JSON or too deep; 200
    ``{"status": "ignored"}`` for updates without a private-chat message; 200
    ``{"status": "quarantined", "error": reason}`` for an update that cannot be
    parsed or stored; 200 ``{"status": "accepted", "message_id": N,
    "duplicate": bool}`` once committed. Files are downloaded first; a failed
    one becomes an attachment with ``skipped_reason``.
    """
    runtime = _runtime(request)
    settings = runtime.settings
    if (
        settings.telegram_token is None
        or settings.telegram_webhook_secret is None
        or settings.telegram_mode is not TelegramMode.WEBHOOK
    ):
        raise web.HTTPNotFound()
    channel = runtime.channels.get(ChannelName.TELEGRAM.value)
    if not isinstance(channel, TelegramChannel):
        log.warning("telegram webhook called but the Telegram channel is not running")
        raise web.HTTPNotFound()
    header = request.headers.get(TELEGRAM_SECRET_HEADER)
    if not verify_secret(settings.telegram_webhook_secret.get_secret_value(), header):
        log.warning(
            "telegram webhook: %s secret token from %s",
            "wrong" if header is not None else "missing",
            client_address(request),
        )
        return web.json_response({"error": "invalid secret token"}, status=403)
    raw = await read_body(request)
    if isinstance(raw, web.Response):
        return raw
    try:
        data = load_json(raw)
    except InboundParseError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    try:
        message = channel.parse(data)
    except InboundParseError as exc:
        await quarantine(
            runtime.sessions,
            channel=ChannelName.TELEGRAM.value,
            source_ref=body_ref(TELEGRAM_PATH, raw),
            raw=raw,
            error=str(exc),
        )
        return _quarantined_json(str(exc))
    if message is None:
        return web.json_response({"status": "ignored"})
    message = await channel.prepare(message)
    result = await store_message(runtime, message, source=TELEGRAM_PATH)
    if result is None:
        return _quarantined_json("not storable")
    return web.json_response(
        {"status": "accepted", "message_id": result.message_id, "duplicate": result.duplicate}
    )


# ----------------------------------------------------------------- JSON API


async def api_receive(request: web.Request) -> web.Response:
    """``POST /webhooks/api``: the signed JSON intake API (``channels/api.py``).

    Answers: 404 without ``ADUAN_WEBHOOK_SECRET``; 413 over :data:`API_CAP`;
    403 bad signature; 400 not JSON or too deep; 200 ``{"status":
    "quarantined", "error": reason}`` for a body that is not a valid message;
    200 ``{"status": "accepted", "message_id": N, "duplicate": bool}`` once
    committed.
    """
    runtime = _runtime(request)
    secret = runtime.settings.webhook_secret
    if secret is None:
        raise web.HTTPNotFound()
    raw = await read_body(request)
    if isinstance(raw, web.Response):
        return raw
    if not api_channel.verify(
        secret.get_secret_value(), raw, request.headers.get(api_channel.SIGNATURE_HEADER)
    ):
        log.warning("api webhook: bad signature from %s", client_address(request))
        return web.json_response({"error": "invalid signature"}, status=403)
    try:
        data = load_json(raw)
    except InboundParseError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    try:
        message = api_channel.parse_body(data)
    except InboundParseError as exc:
        await quarantine(
            runtime.sessions,
            channel=ChannelName.API.value,
            source_ref=body_ref(API_PATH, raw),
            raw=raw,
            error=str(exc),
        )
        return _quarantined_json(str(exc))
    result = await store_message(runtime, message, source=API_PATH)
    if result is None:
        return _quarantined_json("not storable")
    return web.json_response(
        {"status": "accepted", "message_id": result.message_id, "duplicate": result.duplicate}
    )


# -------------------------------------------------------------------- routes


def add_routes(app: web.Application) -> None:
    """Register every provider route.

    The :func:`body_caps` middleware is installed by ``gateway.app``.
    """
    app.router.add_post(twilio.INBOUND_PATH, twilio_inbound)
    app.router.add_post(twilio.STATUS_PATH, twilio_status)
    app.router.add_get(whatsapp.WEBHOOK_PATH, whatsapp_handshake)
    app.router.add_post(whatsapp.WEBHOOK_PATH, whatsapp_receive)
    app.router.add_post(TELEGRAM_PATH, telegram_receive)
    app.router.add_post(API_PATH, api_receive)


__all__ = [
    "BODY_CAPS",
    "JSON_MAX_DEPTH",
    "LIMITS",
    "add_routes",
    "body_caps",
    "clean_json",
    "clean_text",
    "load_json",
    "quarantine",
    "sanitise_message",
    "sanitise_report",
    "store_message",
    "store_report",
]
