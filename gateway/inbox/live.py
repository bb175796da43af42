"""Live inbox updates over server-sent events (docs/inbox.md, "The list").

``GET /inbox/events`` is an ``text/event-stream``: an ``activity`` event
whenever a message arrives or is sent, or a complaint event is recorded, in
any process; a comment line every :data:`HEARTBEAT` seconds keeps proxies
from closing it. One :class:`ActivityFeed` per process polls two indexed
maxima (``messages.id``, ``complaint_events.id``) every ``interval`` seconds
while anyone listens and wakes every listener on a change — so the cost does
not grow with the number of open inboxes, and it works the same on the
embedded default and with several gateway processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import re

from aiohttp import web
from sqlalchemy import func, select

from gateway.app_runtime import get_runtime
from storage.db import SessionFactory
from storage.models import ComplaintEvent, Message

log = logging.getLogger(__name__)

#: Seconds between keep-alive comments on an idle stream.
HEARTBEAT = 20.0
#: The shape of an activity mark a page passes back (``?since=``).
_MARK = re.compile(r"\d{1,19}-\d{1,19}")


class ActivityFeed:
    """Wakes listeners when new messages or complaint events appear (see module docstring).

    Each listener carries the activity mark it last knew (:meth:`mark`): the
    list page is rendered with the mark read before its rows, and its stream
    subscribes with it (``?since=``), so a change that lands between the
    render and the subscription is announced at the first poll rather than
    lost.
    """

    def __init__(self, sessions: SessionFactory, interval: float = 1.0) -> None:
        self._sessions = sessions
        self._interval = interval
        # Listener -> the mark it last knew (None: whatever is current when polled first).
        self._listeners: dict[asyncio.Queue[str], str | None] = {}
        self._task: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    async def mark(self) -> str:
        """The current activity mark: ``"<max message id>-<max complaint event id>"``."""
        async with self._sessions() as session:
            messages = await session.scalar(select(func.max(Message.id)))
            events = await session.scalar(select(func.max(ComplaintEvent.id)))
        return f"{messages or 0}-{events or 0}"

    async def _run(self) -> None:
        while self._listeners and not self._closed.is_set():
            try:
                mark = await self.mark()
            except Exception:
                log.exception("activity feed: polling failed")
            else:
                for queue, known in list(self._listeners.items()):
                    if known == mark:
                        continue
                    self._listeners[queue] = mark
                    if known is not None and queue.empty():
                        queue.put_nowait(mark)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._closed.wait(), self._interval)

    def subscribe(self, since: str | None = None) -> asyncio.Queue[str]:
        """A queue that receives a token on every change after mark ``since`` (None:
        after the first poll); call :meth:`unsubscribe` after."""
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        self._listeners[queue] = since
        if self._task is None or self._task.done():
            # A context of its own: the feed outlives the request that started
            # it and must not log under that request's id.
            self._task = asyncio.create_task(
                self._run(), name="inbox-activity-feed", context=contextvars.Context()
            )
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        """Stop delivering to ``queue``; the polling stops with the last listener."""
        self._listeners.pop(queue, None)

    @property
    def closed(self) -> asyncio.Event:
        """Set at shutdown: every stream ends."""
        return self._closed

    async def close(self) -> None:
        """End every stream and the polling task (application shutdown)."""
        self._closed.set()
        for queue in list(self._listeners):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait("closed")
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 5)


class _Holder:
    """The application's feed, created on first use (the app is frozen by then)."""

    feed: ActivityFeed | None = None


FEED = web.AppKey("activity_feed", _Holder)


def feed(request: web.Request) -> ActivityFeed:
    """The application's :class:`ActivityFeed`, created on first use."""
    holder = request.app[FEED]
    if holder.feed is None:
        holder.feed = ActivityFeed(get_runtime(request).sessions)
    return holder.feed


async def events(request: web.Request) -> web.StreamResponse:
    """``GET /inbox/events``: the event stream (signed-in staff only, via the middleware)."""
    source = feed(request)
    # The baseline is fixed before the stream opens: a page that reads its data
    # when the stream opens (the notification count) then misses nothing, and a
    # list page passes the mark it was rendered with (``?since=``).
    since = request.query.get("since")
    queue = source.subscribe(since if since and _MARK.fullmatch(since) else await source.mark())
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    try:
        await response.prepare(request)
        await response.write(b"retry: 5000\n\n")
        while not source.closed.is_set():
            try:
                mark = await asyncio.wait_for(queue.get(), HEARTBEAT)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if source.closed.is_set():
                break
            await response.write(f"event: activity\ndata: {mark}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        source.unsubscribe(queue)
    return response


async def _shutdown(app: web.Application) -> None:
    holder = app[FEED]
    if holder.feed is not None:
        await holder.feed.close()


def add_routes(app: web.Application) -> None:
    """Register ``GET /inbox/events`` and close the streams at shutdown."""
    app[FEED] = _Holder()
    app.router.add_get("/inbox/events", events)
    app.on_shutdown.append(_shutdown)
