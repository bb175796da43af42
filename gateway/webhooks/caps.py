"""Size caps on request bodies: per route, on ``Content-Length`` and while reading,
with a per-process budget for large bodies (docs/webhooks.md, "Caps")."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from aiohttp import web

from channels import api as api_channel
from channels import twilio
from channels import whatsapp_cloud as whatsapp
from channels.telegram import WEBHOOK_PATH as TELEGRAM_PATH
from handlers.i18n import t

log = logging.getLogger(__name__)


API_PATH: Final = "/webhooks/api"

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
