"""python-telegram-bot exceptions → :mod:`channels.errors` (docs/channels.md, "Writing a channel module").

=====================================  ======================================
``telegram.error``                     ours
=====================================  ======================================
``RetryAfter`` (429, ``retry_after``)  ``RateLimited(retry_after=seconds)``
``Forbidden`` (403, bot blocked)       ``PermanentError(code=403)``
``InvalidToken`` (401/404)             ``PermanentError(code=401)``
``BadRequest`` (400, chat not found)   ``PermanentError(code=400)``
``ChatMigrated``                       ``PermanentError(code=400)``
``TimedOut``, ``NetworkError``, 5xx    ``TemporaryError``
``Conflict`` (409), other              ``TemporaryError``
=====================================  ======================================

Messages never contain the bot token (it is replaced by ``***``).
"""

from __future__ import annotations

import warnings
from datetime import timedelta

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from channels.errors import ChannelError, PermanentError, RateLimited, TemporaryError

__all__ = ["classify", "redact", "retry_after_seconds"]


def redact(text: str, token: str | None) -> str:
    """``text`` with the bot token (and its secret half) replaced by ``***``."""
    if token:
        text = text.replace(token, "***")
        secret = token.partition(":")[2]
        if len(secret) >= 8:
            text = text.replace(secret, "***")
    return text


def retry_after_seconds(error: RetryAfter) -> float:
    """Seconds to wait from a ``RetryAfter`` (int or ``timedelta`` by PTB setting)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def classify(error: Exception, token: str | None = None) -> ChannelError:
    """The channel error to raise for ``error`` from a Bot API call (see the table)."""
    message = redact(f"telegram: {error}", token)
    if isinstance(error, ChannelError):
        return error
    if isinstance(error, RetryAfter):
        return RateLimited(message, retry_after=retry_after_seconds(error), code=429)
    if isinstance(error, Forbidden):
        return PermanentError(message, code=403)
    if isinstance(error, InvalidToken):
        return PermanentError(message, code=401)
    if isinstance(error, ChatMigrated):
        return PermanentError(f"{message} (new chat id {error.new_chat_id})", code=400)
    if isinstance(error, BadRequest):  # before NetworkError: BadRequest subclasses it
        return PermanentError(message, code=400)
    if isinstance(error, TimedOut | NetworkError | Conflict | TelegramError):
        return TemporaryError(message)
    return TemporaryError(redact(f"telegram: {type(error).__name__}: {error}", token))
