"""The HTTP client side every HTTP channel shares: one aiohttp session a channel
reuses for all its requests, and reading ``Retry-After``.

A channel that calls its provider over HTTP (Twilio, the WhatsApp Cloud API,
the Telegram Bot API) holds one :class:`ChannelSession`: a single
:class:`aiohttp.ClientSession` with one connection pool, opened on the first
request (inside the running event loop) and closed by the channel's
``stop()`` (docs/channels.md, "Writing a channel module"). Timeouts are given
per request or as the session's default; errors are the channel's to
classify into :mod:`channels.errors`. Media downloads do not use it: they go
through :class:`channels.media.MediaFetcher`, whose connector refuses private
addresses (docs/attachments.md).
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

import aiohttp

__all__ = ["ChannelSession", "retry_after_seconds"]


class ChannelSession:
    """One :class:`aiohttp.ClientSession` for a channel, reused by all its requests.

    Args:
        timeout: the default for requests that pass none (an
            :class:`aiohttp.ClientTimeout`, seconds).
        limit: connections the pool opens at most, across hosts.

    :meth:`get` opens the session on first use and again after :meth:`close`;
    it must run inside the event loop that will use the session.
    """

    def __init__(self, *, timeout: aiohttp.ClientTimeout, limit: int = 100) -> None:
        self._timeout = timeout
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        """The open session (opened now when there is none or it was closed)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, connector=aiohttp.TCPConnector(limit=self._limit)
            )
        return self._session

    @property
    def open(self) -> bool:
        """True while a session is open."""
        return self._session is not None and not self._session.closed

    async def close(self) -> None:
        """Close the session and its connections; closing twice is harmless."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from an HTTP ``Retry-After`` value, or ``None`` when absent or unreadable.

    The value is a number of seconds or an HTTP date (RFC 9110, 10.2.3); a
    date in the past or a negative number gives 0. ``now`` (aware) is the
    clock for a date, the current time by default.
    """
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
