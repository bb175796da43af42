"""Redis as a transport only: lazy connections, outage tracking, reconnect backoff.

The database holds every piece of work; Redis only carries requests to run
it sooner (docs/architecture.md, "Scale-out"). So nothing in a gateway or
worker process needs Redis to start or to keep running: a connection is made
on first use, a failure starts an *outage* that is logged once (and its end
once), and attempts during an outage are spaced by a capped exponential
backoff. While Redis is away the workers poll the database instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from arq.connections import ArqRedis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

#: Seconds a Redis connect may take before it counts as a failure.
CONNECT_TIMEOUT_SECONDS = 2.0
#: Seconds a Redis command may take before it counts as a failure (a hung
#: server must not hang a worker's job loop or a gateway's enqueue).
COMMAND_TIMEOUT_SECONDS = 5.0
#: First delay after a failure, doubled on each further failure up to
#: :data:`BACKOFF_CAP_SECONDS`. The cap keeps the time from Redis returning to
#: its use again well inside a minute.
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 8.0

#: Exceptions that mean "Redis is not reachable right now" (refused, reset,
#: timed out, loading, read-only replica ...), as opposed to a bug.
REDIS_DOWN_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


def connect(url: str) -> ArqRedis:
    """An arq Redis client for ``url`` (``redis://host:port/db``), without any I/O.

    The connection pool connects on the first command and reconnects after a
    failure by itself; connect and command timeouts are
    :data:`CONNECT_TIMEOUT_SECONDS` and :data:`COMMAND_TIMEOUT_SECONDS`.
    Raises ``ValueError`` for a malformed URL.
    """
    client: ArqRedis = ArqRedis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=COMMAND_TIMEOUT_SECONDS,
    )
    return client


def redacted(url: str) -> str:
    """``url`` without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


class Outage:
    """The state of one process's link to Redis, logged once per change.

    ``who`` names the user in the log lines ("gateway", "worker"); ``while_down``
    says what happens meanwhile. :meth:`failed` starts (or continues) an
    outage and returns the backoff before the next attempt, in seconds;
    :meth:`succeeded` ends it. :meth:`may_try` tells whether the backoff has
    passed (time from :func:`time.monotonic`).
    """

    def __init__(self, who: str, url: str, *, while_down: str) -> None:
        self.who = who
        self.url = redacted(url)
        self.while_down = while_down
        self.down_since: float | None = None
        self.failures = 0
        self.dropped = 0
        self._next_try = 0.0

    @property
    def down(self) -> bool:
        """True during an outage."""
        return self.down_since is not None

    def may_try(self) -> bool:
        """True when a connection attempt is due (always, outside an outage)."""
        return self.down_since is None or time.monotonic() >= self._next_try

    def failed(self, exc: BaseException) -> float:
        """Record a failed attempt; returns the backoff in seconds."""
        self.failures += 1
        delay = float(min(BACKOFF_CAP_SECONDS, BACKOFF_FIRST_SECONDS * 2.0 ** (self.failures - 1)))
        now = time.monotonic()
        self._next_try = now + delay
        if self.down_since is None:
            self.down_since = now
            log.warning(
                "%s: Redis at %s is unreachable (%s); %s until it returns",
                self.who,
                self.url,
                _reason(exc),
                self.while_down,
            )
        else:
            log.debug("%s: Redis still unreachable (%s)", self.who, _reason(exc))
        return delay

    def succeeded(self) -> None:
        """Record a working connection; logs the end of an outage."""
        if self.down_since is not None:
            extra = (
                f"; {self.dropped} requests left to the database polling" if self.dropped else ""
            )
            log.warning(
                "%s: Redis at %s is reachable again after %.1f s%s",
                self.who,
                self.url,
                time.monotonic() - self.down_since,
                extra,
            )
        self.down_since = None
        self.failures = 0
        self.dropped = 0
        self._next_try = 0.0


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def is_redis_down(exc: BaseException) -> bool:
    """True when ``exc`` means Redis is unreachable (see :data:`REDIS_DOWN_ERRORS`)."""
    return isinstance(exc, REDIS_DOWN_ERRORS)


async def close_quietly(client: Any) -> None:
    """Close a Redis client, ignoring the errors of one whose server is gone."""
    try:
        async with asyncio.timeout(COMMAND_TIMEOUT_SECONDS):
            await client.aclose(close_connection_pool=True)
    except Exception:  # closing a dead link is best effort
        log.debug("closing the Redis client failed", exc_info=True)
