"""The webhook deadline: a provider is answered 503 when storing takes too long, well
inside its own timeout (docs/webhooks.md, "Deadline").

A provider that gets no answer in time (Twilio after 15 s) treats the request
as failed, and a request held open that long ties up a connection on both
sides. So storing runs as its own task, and the route waits for it at most
``ADUAN_WEBHOOK_DEADLINE`` seconds: then it answers 503 with ``Retry-After``
and the provider delivers again later. The task is not cancelled: the message
may still be committed after the 503 (a transaction is never cut off midway),
and the redelivery is then a duplicate that changes nothing (dedupe on the
provider's id, reliability rule 2). Nothing is acknowledged before it is
committed (rule 1). A store that fails because the database cannot be reached
(refused or lost connection, a timeout: :func:`storage.transient.is_transient`)
is answered 503 with ``Retry-After`` too, not 500: nothing was stored, and the
provider is asked to come back rather than told the request was bad.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Final, TypeVar

from aiohttp import web

from storage.transient import is_transient

log = logging.getLogger(__name__)

T = TypeVar("T")

#: ``Retry-After`` of the 503, in seconds.
RETRY_AFTER_SECONDS: Final = 5
#: Storing tasks still running after their 503, at most, per process: past
#: this a request is answered 503 at once, without starting to store (a hung
#: database must not fill the memory with waiting payloads).
MAX_LATE: Final = 1000

_late: set[asyncio.Task[Any]] = set()


class StorageLate(Exception):
    """Storing did not finish within the webhook deadline; the route answers 503."""


def late_count() -> int:
    """Storing tasks still running after their request was answered 503."""
    return len(_late)


def _finished(task: asyncio.Task[Any]) -> None:
    _late.discard(task)
    if task.cancelled():
        log.warning("webhook storing cancelled after its deadline (the provider redelivers)")
    elif (exc := task.exception()) is not None:
        log.warning(
            "webhook storing failed after its deadline (the provider redelivers): %s",
            type(exc).__name__,
        )
    else:
        log.info("webhook stored after its deadline; the redelivery will be a duplicate")


async def within(seconds: float, work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` (storing, with its commit) and return its result, waiting at
    most ``seconds``.

    Raises:
        StorageLate: ``seconds`` passed first, or :data:`MAX_LATE` late tasks
            are still running (``work`` is then not started). A started
            ``work`` keeps running and may still commit.
        Exception: whatever ``work`` raised within the deadline.
    """
    if len(_late) >= MAX_LATE:
        work.close()
        log.warning("webhook refused: %s storing tasks still running", len(_late))
        raise StorageLate
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    # One future woken by whichever comes first, the task or the timer: a
    # cheaper wait than wait_for(shield(task)), which matters per request.
    woken: asyncio.Future[None] = loop.create_future()

    def wake(_: object = None) -> None:
        if not woken.done():
            woken.set_result(None)

    timer = loop.call_later(seconds, wake)
    task.add_done_callback(wake)
    try:
        await woken
    finally:
        timer.cancel()
        task.remove_done_callback(wake)
        if not task.done():
            _late.add(task)
            task.add_done_callback(_finished)
    if task.done():
        return task.result()
    log.warning("webhook storing passed its %.1f s deadline; answering 503", seconds)
    raise StorageLate


def late_answer() -> web.Response:
    """The 503 for a request whose storing passed the deadline."""
    return web.json_response(
        {"error": "storage is slow; retry later"},
        status=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def unavailable_answer() -> web.Response:
    """The 503 for a request whose storing failed because the database is unreachable."""
    return web.json_response(
        {"error": "storage is unavailable; retry later"},
        status=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def answers_late(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """``handler`` answering :func:`late_answer` when it raises :class:`StorageLate`,
    and :func:`unavailable_answer` when it raises a transient database error
    (:func:`storage.transient.is_transient`); any other error propagates (500)."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except StorageLate:
            return late_answer()
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning(
                "webhook not stored, the database is unavailable (%s); answering 503",
                type(exc).__name__,
            )
            return unavailable_answer()

    guarded.__name__ = getattr(handler, "__name__", "webhook")
    guarded.__doc__ = handler.__doc__
    return guarded
