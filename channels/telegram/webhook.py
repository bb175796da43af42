"""``POST /webhooks/telegram``: the Telegram webhook (DESIGN.md rules 1, 2, 8).

Telegram echoes the ``secret_token`` given to ``setWebhook`` in the
``X-Telegram-Bot-Api-Secret-Token`` header. Answers:

* 404 when Telegram is not configured (no token or secret), in polling mode,
  or the channel was not built;
* 403 ``{"error": "invalid secret token"}`` and nothing stored when the header
  is missing or wrong (compared in constant time; logged without secrets);
* 413 for a body over 1 MiB; 400 ``{"error": reason}`` for a body that is not
  JSON or not a valid Update;
* 200 ``{"status": "ignored"}`` for updates that carry no message
  (``edited_message``, ``callback_query``, …) — acknowledged so Telegram stops
  resending them;
* 200 ``{"status": "accepted", "message_id": N, "duplicate": bool}`` once the
  message is committed. Files are downloaded first; a file that fails becomes
  an attachment with ``skipped_reason``, never an error answer.

A database failure while committing gives a 5xx so Telegram redelivers.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from channels.base import ChannelName
from channels.errors import InboundParseError
from channels.telegram.channel import WEBHOOK_PATH, TelegramChannel, verify_secret
from gateway.config import TelegramMode

__all__ = ["SECRET_HEADER", "add_routes", "receive"]

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_BODY_BYTES = 1024 * 1024


async def receive(request: web.Request) -> web.Response:
    """Verify the secret, parse, download files, commit, then answer 200."""
    from gateway.app import get_runtime

    runtime = get_runtime(request)
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
    if not verify_secret(
        settings.telegram_webhook_secret.get_secret_value(), request.headers.get(SECRET_HEADER)
    ):
        log.warning(
            "telegram webhook: %s secret token from %s",
            "wrong" if SECRET_HEADER in request.headers else "missing",
            request.remote,
        )
        return web.json_response({"error": "invalid secret token"}, status=403)
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return web.json_response({"error": "body too large"}, status=413)
    body = await request.read()
    if len(body) > MAX_BODY_BYTES:
        return web.json_response({"error": "body too large"}, status=413)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return web.json_response({"error": f"body is not JSON: {exc}"}, status=400)
    try:
        message = channel.parse(data)
    except InboundParseError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    if message is None:
        return web.json_response({"status": "ignored"})
    message = await channel.prepare(message)
    result = await runtime.accept(message)
    return web.json_response(
        {"status": "accepted", "message_id": result.message_id, "duplicate": result.duplicate}
    )


def add_routes(app: web.Application) -> None:
    """Register ``POST /webhooks/telegram``."""
    app.router.add_post(WEBHOOK_PATH, receive)
