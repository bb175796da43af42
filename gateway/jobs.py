"""Running background work: in-process (embedded default) or through arq and Redis.

Both runners offer the same three requests, each taking ids, never objects:
process a contact's pending messages, send outbox rows, and the periodic
sweeps (stale inbound messages, due outbox rows, expired drafts; hourly, the
profile's retention policy, docs/privacy.md). The
database stays the source of truth; Redis only carries the requests, and the
sweeps catch anything a lost request left behind (DESIGN.md, "Embedded
default, and scale-out").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from gateway.outbox import Dispatcher
from gateway.processor import Processor

log = logging.getLogger(__name__)

SWEEP_SECONDS = 5.0
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
    sender are handled in order by one task. The sweep runs every
    ``sweep_seconds``; the retention policy every ``retention_seconds`` (the
    first time after at most :data:`RETENTION_FIRST_DELAY_SECONDS`).
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
        self._dirty: set[int] = set()
        self._running: dict[int, asyncio.Task[None]] = {}
        self._later: dict[int, asyncio.TimerHandle] = {}
        self._send_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._dispatching = False

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
                        await self.processor.process_contact(contact_id)
                except Exception:
                    log.exception("processing contact %s failed", contact_id)
        finally:
            self._running.pop(contact_id, None)

    async def _send_loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._send_event.wait(), timeout=self.sweep_seconds)
            self._send_event.clear()
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
        while not self._stopping:
            try:
                stale = 0.0 if first else self.sweep_seconds
                contacts = await self.processor.pending_contacts(older_than_seconds=stale)
                for contact_id in contacts:
                    self.request_processing(contact_id)
                await self.processor.expire_conversations()
                await self.processor.sweep_time_standards()
                if loop.time() >= retention_due:
                    retention_due = loop.time() + self.retention_seconds
                    counts = await self.processor.sweep_retention()
                    if any(counts.values()):
                        log.info("retention policy applied: %s", counts)
                first = False
            except Exception:
                log.exception("sweep failed")
            await asyncio.sleep(self.sweep_seconds)

    async def start(self) -> None:
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._send_loop(), name="aduan-outbox"),
            asyncio.create_task(self._sweep_loop(), name="aduan-sweep"),
        ]
        self._send_event.set()

    async def stop(self) -> None:
        self._stopping = True
        for handle in self._later.values():
            handle.cancel()
        self._later.clear()
        self._send_event.set()
        for task in self._tasks:
            task.cancel()
        running = list(self._running.values())
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # Let contact tasks finish the message they are on (its own transaction).
        if running:
            await asyncio.wait(running, timeout=10)
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


class ArqJobs:
    """Hands requests to arq workers through Redis (``aduan worker``)."""

    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._pending: set[asyncio.Task[Any]] = set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The periodic sweep in the worker picks the work up anyway.
            log.warning("enqueue failed: %r", task.exception())

    def request_processing(self, contact_id: int) -> None:
        self._spawn(self._redis.enqueue_job("process_contact", contact_id))

    def request_processing_later(self, contact_id: int, delay_seconds: float) -> None:
        self._spawn(self._redis.enqueue_job("process_contact", contact_id, _defer_by=delay_seconds))

    def request_sending(self, staged: Sequence[tuple[int, str]]) -> None:
        for outbox_id, key in staged:
            self._spawn(
                self._redis.enqueue_job("send_outbox", outbox_id, key, _job_id=f"outbox:{key}")
            )

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=5)
        await self._redis.aclose()
