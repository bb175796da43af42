"""Telling a waiting request that a message has been processed, without polling.

The web form's ``POST /`` waits a moment for its message to be processed, so
the confirmation page normally shows the tracking number at once
(docs/web-form.md, "Waiting for processing"). The processor announces the ids of the
messages each turn committed (:meth:`ProcessedSignal.announce`, called only
after the commit); a request waits on that announcement:

* in-process (the embedded default, and any process running its own jobs): a
  registry of waiters per message id in this process;
* across processes (``aduan serve`` with Redis, where an arq worker
  processes the message): the worker publishes to a Redis pub/sub channel
  per message id (:func:`processed_channel`), which the gateway subscribes to.

A waiter registers (and, with Redis, has its subscription confirmed) *before*
it reads ``processed_at`` once, so an announcement cannot fall between the
read and the wait. Redis stays a transport only (docs/architecture.md,
"Scale-out"): a lost or undeliverable announcement only makes the request
wait its full time, and while Redis is away a request does not wait at all
(the confirmation page refreshes itself until the complaint exists).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from gateway.redis_link import (
    COMMAND_TIMEOUT_SECONDS,
    REDIS_DOWN_ERRORS,
    Outage,
    close_quietly,
    connect,
)

log = logging.getLogger(__name__)


def processed_channel(redis_url: str, message_id: int) -> str:
    """The Redis pub/sub channel announcing that ``message_id`` was processed,
    e.g. ``aduan:3:processed:42`` for database 3 of ``redis_url``.

    Pub/sub channels are shared by every database of one Redis server, so the
    database number keeps two deployments on one server apart.
    """
    path = urlsplit(redis_url).path.strip("/")
    return f"aduan:{path or '0'}:processed:{message_id}"


class Watch:
    """One request's wait for one message (see :meth:`ProcessedSignal.watch`)."""

    def __init__(self, message_id: int) -> None:
        self.message_id = message_id
        self.event = asyncio.Event()
        #: False when the announcement cannot reach this process (Redis away).
        self.reachable = True

    async def wait(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until the message is announced, at most ``timeout`` seconds;
        True when it was. Returns at once when it already was, or when no
        announcement can reach this process (False)."""
        if self.event.is_set() or not self.reachable:
            return self.event.is_set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.event.wait()
        return self.event.is_set()


class ProcessedSignal:
    """Announcements of processed messages, in-process and optionally over Redis.

    ``redis_url``: when set, every announcement is also published to Redis
    (a worker's, for the gateway that stored the message). ``listen_redis``:
    waits also subscribe to Redis (a gateway handing its work to workers).
    No connection is made before the first use; a Redis failure is logged
    once per outage (:class:`gateway.redis_link.Outage`) and never raises
    into the processor or the request.
    """

    def __init__(self, *, redis_url: str | None = None, listen_redis: bool = False) -> None:
        if listen_redis and not redis_url:
            raise ValueError("listening on Redis needs a Redis URL")
        self.redis_url = redis_url
        self.listen_redis = listen_redis
        self._waiters: dict[int, set[Watch]] = {}
        self._client: Any = None
        self._publishing: set[asyncio.Task[None]] = set()
        self.outage = (
            Outage(
                "processed signal",
                redis_url,
                while_down="web form requests do not wait for processing",
            )
            if redis_url
            else None
        )

    def _redis(self) -> Any:
        assert self.redis_url is not None
        if self._client is None:
            self._client = connect(self.redis_url)
        return self._client

    def announce(self, message_ids: Sequence[int]) -> None:
        """Wake the waiters of ``message_ids`` (processed and committed); with a
        Redis URL, also publish them for other processes (in the background)."""
        for message_id in message_ids:
            for watch in self._waiters.get(message_id, ()):
                watch.event.set()
        if self.redis_url and message_ids:
            task = asyncio.get_running_loop().create_task(self._publish(list(message_ids)))
            self._publishing.add(task)
            task.add_done_callback(self._publishing.discard)

    async def _publish(self, message_ids: list[int]) -> None:
        assert self.redis_url is not None and self.outage is not None
        if not self.outage.may_try():
            return
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_SECONDS):
                # A turn's messages in one round trip.
                async with self._redis().pipeline(transaction=False) as pipe:
                    for message_id in message_ids:
                        pipe.publish(processed_channel(self.redis_url, message_id), "1")
                    await pipe.execute()
        except REDIS_DOWN_ERRORS as exc:
            self.outage.failed(exc)
            return
        self.outage.succeeded()

    @contextlib.asynccontextmanager
    async def watch(
        self, message_id: int, *, subscribe_seconds: float = COMMAND_TIMEOUT_SECONDS
    ) -> AsyncIterator[Watch]:
        """Register a wait for ``message_id``; read the message's state inside
        the block, then :meth:`Watch.wait` (no announcement is lost between).

        With ``listen_redis`` the subscription is confirmed before the block
        starts, waiting at most ``subscribe_seconds`` (and never longer than the
        Redis command timeout); when Redis cannot be reached in that time the
        watch is marked unreachable and waits return at once.
        """
        watch = Watch(message_id)
        self._waiters.setdefault(message_id, set()).add(watch)
        reader: asyncio.Task[None] | None = None
        pubsub: Any = None
        try:
            if self.listen_redis:
                pubsub = await self._subscribe(
                    message_id, min(subscribe_seconds, COMMAND_TIMEOUT_SECONDS)
                )
                if pubsub is None:
                    watch.reachable = False
                else:
                    reader = asyncio.create_task(self._read(pubsub, watch))
            yield watch
        finally:
            waiters = self._waiters.get(message_id)
            if waiters is not None:
                waiters.discard(watch)
                if not waiters:
                    del self._waiters[message_id]
            if reader is not None:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, *REDIS_DOWN_ERRORS):
                    await reader
            if pubsub is not None:
                with contextlib.suppress(*REDIS_DOWN_ERRORS):
                    async with asyncio.timeout(COMMAND_TIMEOUT_SECONDS):
                        await pubsub.aclose()

    async def _subscribe(self, message_id: int, timeout: float) -> Any:  # noqa: ASYNC109
        """A pub/sub whose subscription Redis confirmed within ``timeout``
        seconds, or ``None`` (Redis away or too slow)."""
        assert self.redis_url is not None and self.outage is not None
        if not self.outage.may_try():
            return None
        pubsub = self._redis().pubsub()
        try:
            async with asyncio.timeout(timeout):
                await pubsub.subscribe(processed_channel(self.redis_url, message_id))
                # The confirmation: from now on a publish reaches us.
                while await pubsub.get_message(timeout=None) is None:
                    pass  # pragma: no cover - get_message(timeout=None) blocks until one
        except REDIS_DOWN_ERRORS as exc:
            self.outage.failed(exc)
            with contextlib.suppress(*REDIS_DOWN_ERRORS):
                await pubsub.aclose()
            return None
        self.outage.succeeded()
        return pubsub

    @staticmethod
    async def _read(pubsub: Any, watch: Watch) -> None:
        async for message in pubsub.listen():
            if message.get("type") == "message":
                watch.event.set()
                return

    async def close(self) -> None:
        """Let announcements on their way to Redis finish (bounded by the Redis
        command timeout), then close the Redis client."""
        if self._publishing:
            await asyncio.wait(list(self._publishing), timeout=COMMAND_TIMEOUT_SECONDS)
        if self._client is not None:
            await close_quietly(self._client)
            self._client = None
