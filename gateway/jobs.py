"""Running background work: in-process (embedded default) or through arq and Redis.

Both runners offer the same three requests, each taking ids, never objects:
process a contact's pending messages, send outbox rows, and the periodic
sweeps (stale inbound messages, due outbox rows, expired drafts; hourly, the
profile's retention policy, docs/privacy.md). The
database stays the source of truth; Redis only carries the requests, and the
sweeps catch anything a lost request left behind (docs/architecture.md,
"Scale-out").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from arq.constants import in_progress_key_prefix

from gateway.outbox import Dispatcher
from gateway.processor import Processor
from gateway.redis_link import (
    COMMAND_TIMEOUT_SECONDS,
    Outage,
    close_quietly,
    connect,
    is_redis_down,
)

log = logging.getLogger(__name__)

SWEEP_SECONDS = 5.0
#: How often a worker polls the database for pending messages and due outbox
#: rows while Redis is away (no request reaches it then), in seconds.
FAST_POLL_SECONDS = 1.0
#: A processing request whose contact's job is running is tried again after
#: this long (seconds), doubling up to :data:`RECHECK_MAX_SECONDS`, for at most
#: :data:`RECHECK_LIMIT_SECONDS` (a job that runs longer, or whose worker was
#: killed, leaves the message to the database polling).
RECHECK_FIRST_SECONDS = 0.25
RECHECK_MAX_SECONDS = 1.0
RECHECK_LIMIT_SECONDS = 60.0
#: How long a stop waits for cancelled tasks to end, in seconds.
CANCEL_WAIT_SECONDS = 5.0
#: How long a stop waits for contact tasks to finish the turn they are on, in seconds.
STOP_PROCESSING_SECONDS = 10.0
#: How often the retention policy is applied (docs/privacy.md), in seconds:
#: its periods are days and years, so hourly is plenty.
RETENTION_SWEEP_SECONDS = 3600.0
#: The first retention pass waits this long after start, in seconds, so a
#: start-up catches up on messages first.
RETENTION_FIRST_DELAY_SECONDS = 60.0


class Jobs(Protocol):
    """What the gateway asks of a job runner."""

    def request_processing(self, contact_id: int) -> None:
        """Process the pending messages of ``contact_id`` soon."""

    def request_processing_later(self, contact_id: int, delay_seconds: float) -> None:
        """Process the pending messages of ``contact_id`` after ``delay_seconds``
        (a chat turn waiting for its quiet gap)."""

    def request_sending(self, staged: Sequence[tuple[int, str]]) -> None:
        """Send these (outbox id, idempotency key) rows soon."""

    async def start(self) -> None:
        """Start background tasks."""

    async def stop(self) -> None:
        """Stop background tasks, letting running work finish its transaction."""


async def cancel_and_wait(tasks: Sequence[asyncio.Future[Any]], timeout: float) -> None:  # noqa: ASYNC109
    """Cancel the unfinished ``tasks`` and wait at most ``timeout`` seconds for
    them to end (a task may swallow its cancellation); their results and
    errors are retrieved, so none is reported as never retrieved."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        _done, stuck = await asyncio.wait(pending, timeout=timeout)
        if stuck:
            log.warning("%s tasks did not end after being cancelled", len(stuck))
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()


async def sweep_once(
    processor: Processor, dispatcher: Dispatcher, *, stale_seconds: float
) -> dict[str, int]:
    """One pass of every periodic job; returns counts per job (for logs and tests):
    ``processed``, ``expired``, ``sent`` and the retention policy's counts
    (:func:`handlers.privacy.apply_retention`)."""
    contacts = await processor.pending_contacts(older_than_seconds=stale_seconds)
    processed = 0
    for contact_id in contacts:
        processed += await processor.process_contact(contact_id)
    expired = await processor.expire_conversations()
    await processor.sweep_time_standards()
    retention = await processor.sweep_retention()
    sent = await dispatcher.dispatch_due()
    return {"processed": processed, "expired": expired, "sent": sent, **retention}


class InProcessJobs:
    """Runs everything as asyncio tasks in this process.

    Requests for one contact are coalesced: while its task runs, a new request
    only marks it dirty and the task goes round again, so messages of one
    sender are handled in order by one task.

    The database is polled for pending messages and due outbox rows every
    ``sweep_seconds``, or every :data:`FAST_POLL_SECONDS` after
    ``fast_poll(True)`` (a worker whose Redis is away: no request reaches it
    then, so polling is the only way work is found). Expired drafts and SOP
    time standards are swept every ``sweep_seconds``; the retention policy
    every ``retention_seconds`` (the first time after at most
    :data:`RETENTION_FIRST_DELAY_SECONDS`).

    :meth:`stop` takes no new work, lets sends in flight finish (bounded by
    the dispatcher's send timeout) and contact tasks finish their turn
    (bounded by :data:`STOP_PROCESSING_SECONDS`), then cancels what is left.
    """

    def __init__(
        self,
        processor: Processor,
        dispatcher: Dispatcher,
        *,
        sweep_seconds: float = SWEEP_SECONDS,
        processing_concurrency: int = 1,
        retention_seconds: float = RETENTION_SWEEP_SECONDS,
    ) -> None:
        self.processor = processor
        # Few contacts at a time: processing yields the database and the CPU to
        # ingest under load, and catches up when the burst is over.
        self._processing_slots = asyncio.Semaphore(processing_concurrency)
        self.dispatcher = dispatcher
        self.sweep_seconds = sweep_seconds
        self.retention_seconds = retention_seconds
        self.fast = False
        self._dirty: set[int] = set()
        self._running: dict[int, asyncio.Task[None]] = {}
        self._later: dict[int, asyncio.TimerHandle] = {}
        self._send_event = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._dispatching = False

    @property
    def poll_seconds(self) -> float:
        """The current interval of database polling, in seconds."""
        return min(FAST_POLL_SECONDS, self.sweep_seconds) if self.fast else self.sweep_seconds

    def fast_poll(self, on: bool) -> None:
        """Poll the database every :data:`FAST_POLL_SECONDS` (``on``) or every
        ``sweep_seconds``; switching on polls at once."""
        if on == self.fast:
            return
        self.fast = on
        if on:
            self._wake.set()
            self._send_event.set()

    def request_processing(self, contact_id: int) -> None:
        if self._stopping:
            return
        self._dirty.add(contact_id)
        if contact_id not in self._running:
            self._running[contact_id] = asyncio.create_task(self._run_contact(contact_id))

    def request_processing_later(self, contact_id: int, delay_seconds: float) -> None:
        if self._stopping:
            return
        earlier = self._later.pop(contact_id, None)
        if earlier is not None:
            earlier.cancel()

        def due() -> None:
            self._later.pop(contact_id, None)
            self.request_processing(contact_id)

        loop = asyncio.get_running_loop()
        self._later[contact_id] = loop.call_later(max(delay_seconds, 0.0), due)

    def request_sending(self, staged: Sequence[tuple[int, str]]) -> None:
        if staged:
            self._send_event.set()

    async def _run_contact(self, contact_id: int) -> None:
        try:
            while contact_id in self._dirty and not self._stopping:
                self._dirty.discard(contact_id)
                try:
                    async with self._processing_slots:
                        if self._stopping:
                            return
                        await self.processor.process_contact(contact_id)
                except Exception:
                    log.exception("processing contact %s failed", contact_id)
        finally:
            self._running.pop(contact_id, None)

    async def _send_loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._send_event.wait(), timeout=self.poll_seconds)
            self._send_event.clear()
            if self._stopping:
                return
            self._dispatching = True
            try:
                await self.dispatcher.dispatch_due()
            except Exception:
                log.exception("outbox dispatch failed")
            finally:
                self._dispatching = False

    async def _sweep_loop(self) -> None:
        first = True
        loop = asyncio.get_running_loop()
        retention_due = loop.time() + min(self.retention_seconds, RETENTION_FIRST_DELAY_SECONDS)
        sweep_due = loop.time()
        while not self._stopping:
            try:
                # A message younger than the normal interval has its own
                # request on the way, unless none can come (first pass, or
                # Redis away).
                stale = 0.0 if first or self.fast else self.sweep_seconds
                contacts = await self.processor.pending_contacts(older_than_seconds=stale)
                for contact_id in contacts:
                    self.request_processing(contact_id)
                if loop.time() >= sweep_due and not self._stopping:
                    sweep_due = loop.time() + self.sweep_seconds
                    await self.processor.expire_conversations()
                    await self.processor.sweep_time_standards()
                if loop.time() >= retention_due and not self._stopping:
                    retention_due = loop.time() + self.retention_seconds
                    counts = await self.processor.sweep_retention()
                    if any(counts.values()):
                        log.info("retention policy applied: %s", counts)
                first = False
            except Exception:
                log.exception("sweep failed")
            if self._stopping:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    async def start(self) -> None:
        self._stopping = False
        self.dispatcher.open()
        self._tasks = [
            asyncio.create_task(self._send_loop(), name="aduan-outbox"),
            asyncio.create_task(self._sweep_loop(), name="aduan-sweep"),
        ]
        self._send_event.set()

    async def stop(self) -> None:
        self._stopping = True
        self.dispatcher.close()
        for handle in self._later.values():
            handle.cancel()
        self._later.clear()
        self._send_event.set()
        self._wake.set()
        # The loops end after the pass they are on; a send in flight finishes
        # (bounded by the send timeout) rather than being cut mid-call.
        loops = list(self._tasks)
        if self.dispatcher.sending:
            log.info("stop: waiting for %s sends in flight", self.dispatcher.sending)
        if loops:
            await asyncio.wait(loops, timeout=self.dispatcher.lease_seconds)
        await self.dispatcher.drain()
        # Contact tasks finish the turn they are on (its own transaction).
        running = list(self._running.values())
        if running:
            log.info("stop: waiting for %s contacts being processed", len(running))
            await asyncio.wait(running, timeout=STOP_PROCESSING_SECONDS)
        leftover = [task for task in loops + running if not task.done()]
        if leftover:
            log.warning("stop: cancelling %s background tasks still running", len(leftover))
        await cancel_and_wait(loops + running, CANCEL_WAIT_SECONDS)
        self._tasks = []

    async def idle(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until no contact task runs or waits for its turn, no send is in
        flight and nothing is due (tests)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            busy = (
                bool(self._running)
                or bool(self._later)
                or self._dispatching
                or self._send_event.is_set()
            )
            if (
                not busy
                and not await self.dispatcher.due_ids(1)
                and not await self.dispatcher.in_flight()
            ):
                return
            if not self._running:
                await self.dispatcher.dispatch_due()
            await asyncio.sleep(0.02)
        raise TimeoutError("background work did not settle")


#: Sentinel: a request not handed to Redis (outage); the database polling finds the work.
_DROPPED: Any = object()


def processing_job_id(contact_id: int) -> str:
    """The arq job id of a contact's processing job: one per contact, so a
    backlog of one sender is one queued job, not one per message."""
    return f"process:{contact_id}"


class ArqJobs:
    """Hands requests to arq workers through Redis (``aduan worker``).

    Needs no Redis to start: the client connects on first use and reconnects
    by itself. While Redis is away a request is dropped (the outage is logged
    once, :class:`gateway.redis_link.Outage`; attempts are spaced by its
    backoff) and the workers' database polling finds the work; a request
    never raises into its caller (a webhook is answered whatever Redis does).

    Processing requests are coalesced per contact under the job id
    :func:`processing_job_id`. A request whose job already exists is covered
    when that job is still queued (it starts after the message was stored);
    when it is running it may have looked before the message was stored, so
    the request is tried again after ``recheck_seconds`` (doubling up to
    :data:`RECHECK_MAX_SECONDS`) until it is queued or finds a queued job.
    """

    def __init__(
        self, url: str, *, redis: Any = None, recheck_seconds: float = RECHECK_FIRST_SECONDS
    ) -> None:
        self._redis = redis if redis is not None else connect(url)
        self.recheck_seconds = recheck_seconds
        self.outage = Outage(
            "gateway", url, while_down="work is left to the workers' database polling"
        )
        self._pending: set[asyncio.Task[Any]] = set()
        self._dirty: set[int] = set()
        self._enqueuers: dict[int, asyncio.Task[None]] = {}
        self._closed = False

    @property
    def redis(self) -> Any:
        """The arq Redis client (tests)."""
        return self._redis

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The periodic sweep in the worker picks the work up anyway.
            log.warning("enqueue failed: %r", task.exception())

    async def _call(self, command: Callable[[Any], Coroutine[Any, Any, Any]]) -> Any:
        """Run one Redis command; :data:`_DROPPED` during an outage."""
        if not self.outage.may_try():
            self.outage.dropped += 1
            return _DROPPED
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_SECONDS):
                result = await command(self._redis)
        except Exception as exc:
            if not is_redis_down(exc):
                raise
            self.outage.failed(exc)
            self.outage.dropped += 1
            return _DROPPED
        self.outage.succeeded()
        return result

    async def _enqueue_processing(self, contact_id: int, defer_by: float | None) -> None:
        job_id = processing_job_id(contact_id)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + RECHECK_LIMIT_SECONDS
        pause = self.recheck_seconds
        while not self._closed and loop.time() < give_up:
            job = await self._call(
                lambda r: r.enqueue_job(
                    "process_contact", contact_id, _job_id=job_id, _defer_by=defer_by
                )
            )
            if job is _DROPPED or job is not None:
                return
            running = await self._call(lambda r: r.exists(in_progress_key_prefix + job_id))
            if running is _DROPPED or not running:
                return  # queued: it starts after the message was stored
            await asyncio.sleep(pause)
            pause = min(pause * 2, RECHECK_MAX_SECONDS)

    async def _processing_loop(self, contact_id: int) -> None:
        try:
            while contact_id in self._dirty and not self._closed:
                self._dirty.discard(contact_id)
                await self._enqueue_processing(contact_id, None)
        finally:
            self._enqueuers.pop(contact_id, None)

    def request_processing(self, contact_id: int) -> None:
        if self._closed:
            return
        self._dirty.add(contact_id)
        if contact_id not in self._enqueuers:
            self._enqueuers[contact_id] = self._spawn(self._processing_loop(contact_id))

    def request_processing_later(self, contact_id: int, delay_seconds: float) -> None:
        if self._closed:
            return
        self._spawn(self._enqueue_processing(contact_id, max(delay_seconds, 0.0)))

    def request_sending(self, staged: Sequence[tuple[int, str]]) -> None:
        if self._closed:
            return
        for outbox_id, key in staged:
            self._spawn(self._enqueue_sending(outbox_id, key))

    async def _enqueue_sending(self, outbox_id: int, key: str) -> None:
        await self._call(
            lambda r: r.enqueue_job("send_outbox", outbox_id, key, _job_id=f"outbox:{key}")
        )

    async def start(self) -> None:
        self._closed = False

    async def flush(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait for the requests on their way to Redis, at most ``timeout`` seconds."""
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=timeout)

    async def stop(self) -> None:
        await self.flush()
        self._closed = True
        await cancel_and_wait(list(self._pending), CANCEL_WAIT_SECONDS)
        await close_quietly(self._redis)
