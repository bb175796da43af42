"""The provider routes: Twilio, WhatsApp Cloud, Telegram and the JSON intake API,
each through the steps of :mod:`gateway.webhooks` (docs/webhooks.md)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web
from multidict import MultiDict
from sqlalchemy import select

from channels import api as api_channel
from channels import twilio
from channels import whatsapp_cloud as whatsapp
from channels.base import ChannelName, InboundMessage
from channels.errors import InboundParseError
from channels.telegram import SECRET_HEADER as TELEGRAM_SECRET_HEADER
from channels.telegram import WEBHOOK_PATH as TELEGRAM_PATH
from channels.telegram import TelegramChannel, verify_secret
from gateway.app_runtime import get_runtime
from gateway.channel_configs import twilio_config
from gateway.config import TelegramMode
from gateway.inbound.sanitise import LIMITS, clean_text, cut_key
from gateway.inbound.store import keep_unparsed, store_message, store_report
from gateway.remote import client_address, public_base
from gateway.runtime import Runtime
from gateway.webhooks.caps import API_PATH, read_body
from gateway.webhooks.deadline import answers_late, within
from gateway.webhooks.decode import load_json, parse_form_body
from storage.models import (
    Message,
)

log = logging.getLogger(__name__)


def _runtime(request: web.Request) -> Runtime:
    return get_runtime(request)


def _deadline(runtime: Runtime) -> float:
    """Seconds storing may take before the provider is answered 503 (gateway.webhooks.deadline)."""
    return runtime.settings.webhook_deadline


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
    # What Twilio signed: the URL it called (docs/deploy.md, behind a proxy).
    url = public_base(request) + request.path_qs
    if not twilio.verify(settings.twilio_auth_token.get_secret_value(), url, form, signature):
        log.warning(
            "twilio webhook %s: %s signature from %s",
            route,
            "bad" if signature else "missing",
            client_address(request),
        )
        return web.json_response({"error": "invalid signature"}, status=403)
    return form, raw


async def _twilio_hook(
    request: web.Request,
    path: str,
    store: Callable[[Runtime, MultiDict[str], bytes], Coroutine[Any, Any, None]],
) -> web.Response | None:
    """A signed Twilio form for ``path`` handed to ``store`` within the webhook deadline.

    Returns the refusal when the form or its signature does not hold
    (:func:`_twilio_form`), else ``None`` once ``store`` is done.
    """
    signed = await _twilio_form(request, path)
    if isinstance(signed, web.Response):
        return signed
    form, raw = signed
    runtime = _runtime(request)
    await within(_deadline(runtime), store(runtime, form, raw))
    return None


async def twilio_inbound(request: web.Request) -> web.Response:
    """``POST /webhooks/twilio``: an SMS or WhatsApp message; 200 empty TwiML once
    committed or quarantined (replies go through the outbox, never inline); 503
    with ``Retry-After`` when storing passes ``ADUAN_WEBHOOK_DEADLINE``."""
    refused = await _twilio_hook(request, twilio.INBOUND_PATH, _twilio_store)
    return _twiml() if refused is None else refused


async def _twilio_store(runtime: Runtime, form: MultiDict[str], raw: bytes) -> None:
    """Steps 4-6 for a Twilio message: parse, fetch media, store or quarantine."""
    try:
        message = twilio.parse_form(twilio.single_values(form))
    except InboundParseError as exc:
        await keep_unparsed(runtime.sessions, "twilio", twilio.INBOUND_PATH, raw, exc)
        return
    if message is None:
        return
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


async def twilio_status(request: web.Request) -> web.Response:
    """``POST /webhooks/twilio/status``: a delivery report; 200 once recorded,
    ignored (unknown status word) or quarantined; 503 past the webhook deadline."""
    refused = await _twilio_hook(request, twilio.STATUS_PATH, _twilio_store_status)
    return web.Response(status=200) if refused is None else refused


async def _twilio_store_status(runtime: Runtime, form: MultiDict[str], raw: bytes) -> None:
    """Steps 4-6 for a Twilio delivery report: parse, record or quarantine."""
    try:
        report = twilio.parse_status_form(twilio.single_values(form))
    except InboundParseError as exc:
        await keep_unparsed(runtime.sessions, "twilio", twilio.STATUS_PATH, raw, exc)
        return
    if report is not None:
        await store_report(runtime, report, source=twilio.STATUS_PATH)


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
    "quarantined", "error": reason}`` for JSON that is not a webhook body; 503
    with ``Retry-After`` when storing passes ``ADUAN_WEBHOOK_DEADLINE``.
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
    return await within(_deadline(runtime), _whatsapp_store(runtime, channel, body, raw))


async def _whatsapp_store(
    runtime: Runtime, channel: whatsapp.WhatsAppCloudChannel, body: Any, raw: bytes
) -> web.Response:
    """Steps 4-6 for a WhatsApp body: parse, fetch media, store or quarantine each
    message and status; the answer of :func:`whatsapp_receive`."""
    try:
        messages, statuses = whatsapp.parse_payload(body)
    except InboundParseError as exc:
        await keep_unparsed(
            runtime.sessions, ChannelName.WHATSAPP.value, whatsapp.WEBHOOK_PATH, raw, exc
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
    "duplicate": bool}`` once committed; 503 with ``Retry-After`` when
    storing passes ``ADUAN_WEBHOOK_DEADLINE``. Files are downloaded first; a
    failed one becomes an attachment with ``skipped_reason``.
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
    return await within(_deadline(runtime), _telegram_store(runtime, channel, data, raw))


async def _telegram_store(
    runtime: Runtime, channel: TelegramChannel, data: Any, raw: bytes
) -> web.Response:
    """Steps 4-6 for a Telegram update: parse, fetch files, store or quarantine;
    the answer of :func:`telegram_receive`."""
    try:
        message = channel.parse(data)
    except InboundParseError as exc:
        await keep_unparsed(runtime.sessions, ChannelName.TELEGRAM.value, TELEGRAM_PATH, raw, exc)
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
    committed; 503 with ``Retry-After`` when storing passes
    ``ADUAN_WEBHOOK_DEADLINE``.
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
    return await within(_deadline(runtime), _api_store(runtime, data, raw))


async def _api_store(runtime: Runtime, data: Any, raw: bytes) -> web.Response:
    """Steps 4-6 for the JSON intake API: parse, store or quarantine; the answer of
    :func:`api_receive`."""
    try:
        message = api_channel.parse_body(data)
    except InboundParseError as exc:
        await keep_unparsed(runtime.sessions, ChannelName.API.value, API_PATH, raw, exc)
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

    The :func:`gateway.webhooks.caps.body_caps` middleware is installed by
    ``gateway.app``.
    """
    app.router.add_post(twilio.INBOUND_PATH, answers_late(twilio_inbound))
    app.router.add_post(twilio.STATUS_PATH, answers_late(twilio_status))
    app.router.add_get(whatsapp.WEBHOOK_PATH, whatsapp_handshake)
    app.router.add_post(whatsapp.WEBHOOK_PATH, answers_late(whatsapp_receive))
    app.router.add_post(TELEGRAM_PATH, answers_late(telegram_receive))
    app.router.add_post(API_PATH, answers_late(api_receive))
