"""The Telegram channel.

Modules, one job each:

* :mod:`.parse` — Update JSON → :class:`InboundMessage`, file references (pure);
* :mod:`.errors` — python-telegram-bot exceptions → our error classes;
* :mod:`.channel` — :class:`TelegramChannel` (send, download, long polling
  with a lease), :func:`verify_secret` and :func:`set_webhook`.

The webhook route ``POST /webhooks/telegram`` is ``gateway/webhooks/``
(docs/webhooks.md).
"""

from __future__ import annotations

from channels.telegram.channel import (
    ALLOWED_UPDATES,
    SECRET_HEADER,
    WEBHOOK_PATH,
    Accept,
    TelegramChannel,
    TelegramConfig,
    api_bases,
    lease_name_for,
    make_bot,
    set_webhook,
    split_text,
    verify_secret,
)
from channels.telegram.errors import classify
from channels.telegram.parse import FileRef, file_refs, parse_update

__all__ = [
    "ALLOWED_UPDATES",
    "SECRET_HEADER",
    "WEBHOOK_PATH",
    "Accept",
    "FileRef",
    "TelegramChannel",
    "TelegramConfig",
    "api_bases",
    "classify",
    "file_refs",
    "lease_name_for",
    "make_bot",
    "parse_update",
    "set_webhook",
    "split_text",
    "verify_secret",
]
