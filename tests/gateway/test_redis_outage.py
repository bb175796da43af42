"""Redis is transport only: workers and the gateway run on without it.

A worker that starts while Redis is away processes and answers stored
messages by polling the database; a worker whose Redis stops and starts again
keeps running, logs the outage once, and takes jobs again once Redis is back.
Processing requests are coalesced per contact (one queued job however many
messages), and a request made while that contact's job runs is not lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from channels.base import ChannelName
from gateway.config import Settings, load_settings
from gateway.jobs import ArqJobs, InProcessJobs, processing_job_id
from gateway.runtime import Runtime, build_runtime
from gateway.worker import WorkerService
from storage.models import Complaint, Message, OutboxMessage, OutboxStatus
from tests.conftest import make_engine
from tests.fakes import RecordingChannel, inbound
from tests.gateway.redis_instance import StoppableRedis
from tests.harness.rows import wait_until
from tests.runtime_fixtures import COMPLETE_COMPLAINT
from tests.services import POSTGRES_URL, empty_redis_or_skip, free_port


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    """Wait until ``check()`` is true; fails after ``timeout`` seconds."""
    await wait_until(check, timeout)


async def holds(value: bool) -> bool:
    """``value``, as an awaitable for :func:`until`."""
    return value


async def settings_on_postgres(tmp_path: Path, redis_url: str) -> Settings:
    engine = await make_engine("postgresql", tmp_path)  # skips/fails without PostgreSQL
    await engine.dispose()
    return load_settings(database_url=POSTGRES_URL, redis_url=redis_url, data_dir=tmp_path)


async def gateway_runtime(settings: Settings) -> Runtime:
    runtime = await build_runtime(
        settings, extra_channels={"email": RecordingChannel(ChannelName.EMAIL)}
    )
    assert isinstance(runtime.jobs, ArqJobs)
    await runtime.start(run_channels=False)
    return runtime


async def worker_runtime(settings: Settings, *, sweep_seconds: float = 5.0) -> Runtime:
    runtime = await build_runtime(
        settings,
        use_redis=False,
        extra_channels={"email": RecordingChannel(ChannelName.EMAIL, interactive=False)},
    )
    assert isinstance(runtime.jobs, InProcessJobs)
    runtime.jobs.sweep_seconds = sweep_seconds
    return runtime


async def complaints(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Complaint)) or 0)


async def sent(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.SENT.value)
            )
            or 0
        )


def outage_lines(caplog: pytest.LogCaptureFixture, who: str) -> tuple[int, int]:
    """(outage starts, outage ends) logged by ``who``."""
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.redis_link"]
    starts = sum(1 for m in lines if m.startswith(f"{who}:") and "unreachable (" in m)
    ends = sum(1 for m in lines if m.startswith(f"{who}:") and "reachable again" in m)
    return starts, ends


@pytest.fixture
async def redis() -> AsyncIterator[StoppableRedis]:
    instance = StoppableRedis()
    await instance.start()
    await instance.flush()
    try:
        yield instance
    finally:
        await instance.stop()


async def test_worker_starts_without_redis_and_answers_by_polling_the_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings = await settings_on_postgres(tmp_path, dead)
    gateway = await gateway_runtime(settings)  # starts without Redis too
    worker_rt = await worker_runtime(settings, sweep_seconds=3600)
    service = WorkerService(settings, runtime=worker_rt, run_channels=False)
    running = asyncio.create_task(service.run())
    try:
        await gateway.accept(
            inbound(ChannelName.EMAIL, "o1@x", "budi@example.com", COMPLETE_COMPLAINT)
        )
        # Only the fast database polling can find it: Redis is away and the
        # normal sweep interval is an hour.
        await until(lambda: complaints(worker_rt), timeout=30)
        await until(lambda: sent(worker_rt), timeout=30)
        await until(lambda: holds(service.outage.failures >= 3), timeout=30)
        assert not running.done()
        assert service.outage.down and service.arq_starts == 0
        assert outage_lines(caplog, "worker") == (1, 0)  # once, not per attempt
        assert outage_lines(caplog, "gateway") == (1, 0)
    finally:
        service.stop()
        await asyncio.wait_for(running, 60)
        await gateway.close()
    assert worker_rt.closed
    assert running.result() is None


async def test_worker_keeps_running_through_a_redis_restart(
    tmp_path: Path, redis: StoppableRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = await settings_on_postgres(tmp_path, redis.url)
    gateway = await gateway_runtime(settings)
    # With Redis up the normal database sweep is an hour here: what is done
    # then is done by arq jobs.
    worker_rt = await worker_runtime(settings, sweep_seconds=3600)
    service = WorkerService(settings, runtime=worker_rt, run_channels=False, poll_delay=0.05)
    running = asyncio.create_task(service.run())

    async def message(n: int) -> None:
        text = COMPLETE_COMPLAINT.replace("Budi", f"Budi {n}")
        await gateway.accept(inbound(ChannelName.EMAIL, f"r{n}@x", f"budi{n}@example.com", text))

    try:
        await service.started()
        await until(lambda: holds(service.arq_starts == 1))
        await message(1)
        await until(lambda: complaints_at_least(worker_rt, 1))

        await redis.stop()
        await until(lambda: holds(service.outage.down))
        await message(2)  # the gateway cannot hand it over: polling finds it
        await until(lambda: complaints_at_least(worker_rt, 2))
        assert not running.done()

        await redis.start()
        await until(lambda: holds(service.arq_starts == 2 and not service.outage.down))
        await message(3)  # enqueued after Redis returned: an arq job does it
        await until(lambda: complaints_at_least(worker_rt, 3))
        await until(lambda: sent_at_least(worker_rt, 3))
        assert not running.done()
        assert outage_lines(caplog, "worker") == (1, 1)
        # No other trace of the outage: no error, no traceback per job or message.
        noisy = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
        assert noisy == [], [r.getMessage() for r in noisy]
    finally:
        service.stop()
        await asyncio.wait_for(running, 60)
        await gateway.close()
    assert running.result() is None


async def complaints_at_least(runtime: Runtime, n: int) -> bool:
    return await complaints(runtime) >= n


async def sent_at_least(runtime: Runtime, n: int) -> bool:
    return await sent(runtime) >= n


async def test_a_backlog_of_one_sender_is_one_queued_job_and_leaves_none(tmp_path: Path) -> None:
    from arq.constants import default_queue_name, job_key_prefix
    from arq.worker import Worker

    from gateway.worker import worker_settings

    url = await empty_redis_or_skip()
    settings = await settings_on_postgres(tmp_path, url)
    gateway = await gateway_runtime(settings)
    jobs = gateway.jobs
    assert isinstance(jobs, ArqJobs)
    worker_rt = await worker_runtime(settings)
    try:
        results = [
            await gateway.accept(
                inbound(
                    ChannelName.EMAIL, f"b{n}@x", "ani@example.com", f"{COMPLETE_COMPLAINT}\n{n}"
                )
            )
            for n in range(50)
        ]
        [contact_id] = {r.contact_id for r in results}
        await jobs.flush()
        redis = jobs.redis
        assert await redis.zcard(default_queue_name) == 1
        assert await redis.zrange(default_queue_name, 0, -1) == [
            processing_job_id(contact_id).encode()
        ]

        options = worker_settings(settings)
        options["ctx"] = {"runtime": worker_rt}
        worker = Worker(**options, burst=True, poll_delay=0.05, handle_signals=False)
        await worker.main()
        await worker.close()
        async with worker_rt.sessions() as session:
            left = await session.scalar(
                select(func.count()).select_from(Message).where(Message.processed_at.is_(None))
            )
        assert left == 0  # one job did the whole backlog
        assert await redis.zcard(default_queue_name) == 0
        assert await redis.keys(job_key_prefix + "*") == []  # no job left behind
    finally:
        await worker_rt.close()
        await gateway.close()


async def test_a_request_made_while_the_contacts_job_runs_is_queued_after_it(
    tmp_path: Path,
) -> None:
    from arq.constants import default_queue_name, in_progress_key_prefix, job_key_prefix

    url = await empty_redis_or_skip()
    jobs = ArqJobs(url, recheck_seconds=0.02)
    redis = jobs.redis
    job_id = processing_job_id(7)
    try:
        # The contact's job runs (arq holds its job and in-progress keys): it
        # may have looked for pending messages before this one was stored.
        await redis.set(job_key_prefix + job_id, b"running")
        await redis.set(in_progress_key_prefix + job_id, b"1")
        for _ in range(10):
            jobs.request_processing(7)
        await asyncio.sleep(0.2)
        assert await redis.zcard(default_queue_name) == 0  # not lost: still trying

        # The job ends (arq removes its keys): the request is queued now.
        await redis.delete(job_key_prefix + job_id, in_progress_key_prefix + job_id)
        await until(lambda: zcard_is(redis, default_queue_name, 1), timeout=10)
        await jobs.flush()
        assert await redis.zrange(default_queue_name, 0, -1) == [job_id.encode()]
    finally:
        await jobs.stop()


async def zcard_is(redis: object, key: str, n: int) -> bool:
    return int(await redis.zcard(key)) == n  # type: ignore[attr-defined]


async def test_gateway_requests_never_raise_while_redis_is_away() -> None:
    jobs = ArqJobs(f"redis://127.0.0.1:{free_port()}/0")
    try:
        jobs.request_processing(1)
        jobs.request_processing_later(2, 1.0)
        jobs.request_sending([(3, "k3")])
        await jobs.flush()
        assert jobs.outage.down
        failures = jobs.outage.failures
        for _ in range(20):  # inside the backoff: dropped without trying
            jobs.request_processing(4)
            await jobs.flush()
        assert jobs.outage.failures == failures
        assert jobs.outage.dropped >= 20
    finally:
        await jobs.stop()
