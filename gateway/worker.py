"""The worker (``aduan worker``): runs processing, sending and sweeps, with or without Redis.

Jobs take ids, never objects. Redis only carries requests to do work sooner;
the database holds the work (docs/architecture.md, "Scale-out"). So the
worker:

* builds its runtime first and always polls the database for due work
  (pending messages through the contact lease, due outbox rows through the
  outbox claim, sweeps) — every :data:`gateway.jobs.SWEEP_SECONDS` while Redis
  is up, every :data:`gateway.jobs.FAST_POLL_SECONDS` while it is away;
* runs arq's job loop while Redis is reachable and starts it again, with a
  capped exponential backoff, when Redis goes away (the outage is logged once
  when it starts and once when it ends);
* stops cleanly (:meth:`WorkerService.stop`): takes no more jobs, lets the
  jobs and sends in flight finish (bounded by the send timeout), stops the
  jobs before the channels, then closes the runtime (docs/architecture.md,
  "Stopping").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from arq.connections import RedisSettings
from arq.worker import Worker

from gateway.config import Settings, load_settings
from gateway.jobs import CANCEL_WAIT_SECONDS, cancel_and_wait
from gateway.redis_link import (
    BACKOFF_CAP_SECONDS,
    COMMAND_TIMEOUT_SECONDS,
    Outage,
    close_quietly,
    connect,
    is_redis_down,
)
from gateway.runtime import InProcessRuntime, build_runtime

log = logging.getLogger(__name__)

#: arq jobs run at once by one worker.
MAX_JOBS = 20
#: Seconds one job may run before arq cancels it.
JOB_TIMEOUT_SECONDS = 300
#: Seconds between two looks at the arq queue.
POLL_DELAY_SECONDS = 0.5


def redis_settings(settings: Settings) -> RedisSettings:
    """arq connection settings from ``ADUAN_REDIS_URL``; ``ValueError`` when unset."""
    if not settings.redis_url:
        raise ValueError("ADUAN_REDIS_URL is not set")
    return RedisSettings.from_dsn(settings.redis_url)


def _runtime(ctx: dict[str, Any]) -> InProcessRuntime:
    runtime = ctx["runtime"]
    assert isinstance(runtime, InProcessRuntime)
    return runtime


async def process_contact(ctx: dict[str, Any], contact_id: int) -> int:
    """Job: process the pending messages of one contact (job id
    :func:`gateway.jobs.processing_job_id`, one per contact)."""
    return await _runtime(ctx).processor.process_contact(contact_id)


async def send_outbox(ctx: dict[str, Any], outbox_id: int, idempotency_key: str) -> bool:
    """Job: send one outbox row (the idempotency key travels with the job)."""
    return await _runtime(ctx).dispatcher.dispatch_one(outbox_id)


async def startup(ctx: dict[str, Any]) -> None:
    """arq start hook when arq's own ``Worker`` is run with :func:`worker_settings`:
    builds and starts the runtime unless the caller gave one (tests)."""
    if isinstance(ctx.get("runtime"), InProcessRuntime):
        return
    settings = ctx.get("settings") or load_settings()
    runtime = await build_runtime(settings, use_redis=False)
    ctx["runtime"] = runtime
    await runtime.start()


async def shutdown(ctx: dict[str, Any]) -> None:
    """arq stop hook: close the runtime."""
    runtime = ctx.get("runtime")
    if isinstance(runtime, InProcessRuntime):
        await runtime.close()


def worker_settings(settings: Settings) -> dict[str, Any]:
    """arq ``Worker`` keyword arguments for the worker's functions (tests run
    arq's ``Worker`` with them directly; ``aduan worker`` runs
    :class:`WorkerService`)."""
    return {
        "functions": [process_contact, send_outbox],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": redis_settings(settings),
        "ctx": {"settings": settings},
        "keep_result": 0,
        "max_jobs": MAX_JOBS,
        "job_timeout": JOB_TIMEOUT_SECONDS,
    }


class WorkerService:
    """One worker process: its runtime, database polling, and arq while Redis is up.

    ``runtime`` is built from ``settings`` by :meth:`run` unless given (tests);
    it runs its jobs in this process (:class:`gateway.runtime.InProcessRuntime`,
    whose :class:`gateway.jobs.InProcessJobs` do the database polling).
    :meth:`run` returns after :meth:`stop`; it raises only when the runtime cannot be built or started (bad configuration,
    database unreachable at start).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        runtime: InProcessRuntime | None = None,
        run_channels: bool = True,
        poll_delay: float = POLL_DELAY_SECONDS,
    ) -> None:
        if not settings.redis_url:
            raise ValueError("ADUAN_REDIS_URL is not set")
        self.settings = settings
        self.runtime = runtime
        self.run_channels = run_channels
        self.poll_delay = poll_delay
        self.outage = Outage(
            "worker",
            settings.redis_url,
            while_down="polling the database every second for due work",
        )
        self.arq: Worker | None = None
        #: How many times arq's job loop was started (tests, logs).
        self.arq_starts = 0
        self._stop = asyncio.Event()
        self._force = asyncio.Event()
        self._started = asyncio.Event()

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop.is_set()

    @property
    def forced(self) -> bool:
        """True once :meth:`stop` was called twice (work in flight was cancelled)."""
        return self._force.is_set()

    def stop(self) -> None:
        """Ask for a clean stop; a second call forces it (work in flight is cancelled)."""
        if self._stop.is_set():
            if not self._force.is_set():
                log.warning("worker: second stop request, cancelling the work in flight")
            self._force.set()
            return
        log.info("worker: stopping (no new jobs; work in flight finishes)")
        self._stop.set()

    async def started(self) -> None:
        """Wait until the runtime runs and the database polling is on (tests)."""
        await self._started.wait()

    async def run(self) -> None:
        """Run until :meth:`stop`, then stop cleanly (see the module docs)."""
        if self.runtime is None:
            self.runtime = await build_runtime(self.settings, use_redis=False)
        runtime = self.runtime
        try:
            await runtime.start(run_channels=self.run_channels)
            self._started.set()
            await self._supervise(runtime)
        finally:
            runtime.dispatcher.close()
            await self._close_runtime(runtime)
        log.info("worker: stopped")

    async def _close_runtime(self, runtime: InProcessRuntime) -> None:
        closing = asyncio.ensure_future(runtime.close())
        force = asyncio.ensure_future(self._force.wait())
        try:
            await asyncio.wait({closing, force}, return_when=asyncio.FIRST_COMPLETED)
            if not closing.done():
                await cancel_and_wait([closing], CANCEL_WAIT_SECONDS)
                # The engine is disposed even on a forced stop: no transaction
                # is left open on the database server.
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(CANCEL_WAIT_SECONDS):
                        await runtime.engine.dispose()
            else:
                closing.result()
        finally:
            force.cancel()

    async def _supervise(self, runtime: InProcessRuntime) -> None:
        assert self.settings.redis_url is not None
        jobs = runtime.jobs
        while not self._stop.is_set():
            client = connect(self.settings.redis_url)
            try:
                await self._run_arq(client, runtime)
            except Exception as exc:
                jobs.fast_poll(True)
                if is_redis_down(exc):
                    delay = self.outage.failed(exc)
                else:
                    log.exception("worker: the job loop failed; starting it again")
                    delay = BACKOFF_CAP_SECONDS
                await self._sleep(delay)
            finally:
                await close_quietly(client)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    async def _run_arq(self, client: Any, runtime: InProcessRuntime) -> None:
        """One life of arq's job loop: until Redis fails (raises) or a stop (returns)."""
        jobs = runtime.jobs
        async with asyncio.timeout(COMMAND_TIMEOUT_SECONDS):
            await client.ping()
        self.outage.succeeded()
        jobs.fast_poll(False)
        worker = Worker(
            functions=[process_contact, send_outbox],
            redis_pool=client,
            ctx={"runtime": runtime, "settings": self.settings},
            handle_signals=False,
            keep_result=0,
            max_jobs=MAX_JOBS,
            job_timeout=JOB_TIMEOUT_SECONDS,
            poll_delay=self.poll_delay,
        )
        self.arq = worker
        self.arq_starts += 1
        main = asyncio.ensure_future(worker.main())
        worker.main_task = main
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({main, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if main.done():
            # Redis went away (or the loop failed): poll the database at once,
            # let the jobs running now finish their database work, then report
            # the failure.
            jobs.fast_poll(True)
            await self._finish_jobs(worker, runtime)
            main.result()
            return
        # A stop: take no more jobs, let those running finish.
        worker.allow_pick_jobs = False
        runtime.dispatcher.close()
        await self._finish_jobs(worker, runtime)
        # arq's loop is cancelled; a Redis command may swallow the
        # cancellation, so the wait is bounded and the client closed anyway.
        await cancel_and_wait([main], CANCEL_WAIT_SECONDS)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(COMMAND_TIMEOUT_SECONDS):
                await client.delete(worker.health_check_key)
        self.arq = None

    async def _finish_jobs(self, worker: Worker, runtime: InProcessRuntime) -> None:
        """Wait for arq's running jobs, bounded by the send timeout plus the
        claim margin (or until a forced stop), then cancel what is left."""
        tasks = [task for task in worker.tasks.values() if not task.done()]
        if tasks:
            log.info("worker: waiting for %s jobs in flight", len(tasks))
            await _wait_unless(tasks, runtime.dispatcher.lease_seconds, self._force)
        await cancel_and_wait(list(worker.tasks.values()), CANCEL_WAIT_SECONDS)
        for task in worker.tasks.values():
            if task.done() and not task.cancelled():
                error = task.exception()
                if error is not None and not is_redis_down(error):
                    log.warning("worker: a job ended with %r", error)
        worker.tasks.clear()


async def _wait_unless(tasks: list[asyncio.Task[Any]], limit: float, force: asyncio.Event) -> None:
    """Wait for all ``tasks``, at most ``limit`` seconds or until ``force`` is set
    (nothing is cancelled here)."""
    everything = asyncio.ensure_future(asyncio.wait(tasks))
    forced = asyncio.ensure_future(force.wait())
    try:
        await asyncio.wait({everything, forced}, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
    finally:
        everything.cancel()
        forced.cancel()


async def run_worker(settings: Settings) -> int:
    """``aduan worker``: run a :class:`WorkerService` until SIGTERM or SIGINT.

    The first signal stops cleanly (exit status 0); a second one forces the
    stop, cancelling the work in flight (exit status 1).
    """
    service = WorkerService(settings)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, service.stop)
    try:
        await service.run()
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
    return 1 if service.forced else 0
