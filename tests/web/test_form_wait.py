"""``POST /`` waits for its message to be processed on a signal, not by polling.

The request reads the message's state once and then waits for the
processor's announcement (gateway/processed.py): in-process on the embedded
default, over Redis pub/sub when an arq worker processes the message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.base import ChannelName
from gateway.config import load_settings
from gateway.ingest import ingest_batch
from gateway.processed import ProcessedSignal
from gateway.runtime import InProcessRuntime, Runtime, build_runtime
from gateway.web.submit import _wait_processed
from storage.models import Complaint, Message
from tests.conftest import make_engine
from tests.fakes import inbound
from tests.runtime_fixtures import COMPLETE_COMPLAINT
from tests.services import POSTGRES_URL, empty_redis_or_skip

#: Far longer than any test may take: a wait that ends did so on the signal.
LONG_WAIT = 60.0


@contextmanager
def state_reads(engine: AsyncEngine) -> Iterator[list[str]]:
    """Record the statements that read a message's ``processed_at`` on ``engine``."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT messages.processed_at".upper()):
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def _store(runtime: Runtime, external_id: str) -> tuple[int, int]:
    """Store an email message without asking anybody to process it; (message id, contact id)."""
    (stored,) = await ingest_batch(
        runtime.sessions,
        [inbound(ChannelName.EMAIL, external_id, "budi@example.com", COMPLETE_COMPLAINT)],
    )
    return stored.message_id, stored.contact_id


async def _wait_ends_when_processed(gateway: Runtime, processing: InProcessRuntime) -> None:
    message_id, contact_id = await _store(gateway, "wait-1")
    with state_reads(gateway.engine) as reads:
        waiting = asyncio.create_task(_wait_processed(gateway, message_id, LONG_WAIT))
        # Let the wait subscribe, read once and block.
        for _ in range(200):
            if reads:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        assert not waiting.done()
        assert await processing.processor.process_contact(contact_id) == 1
        async with asyncio.timeout(5):
            await waiting
    assert len(reads) == 1  # one read, then the signal: no polling
    async with gateway.sessions() as session:
        message = await session.get(Message, message_id)
        assert message is not None and message.processed_at is not None
        assert await session.scalar(select(Complaint)) is not None


async def _already_processed_returns_at_once(
    gateway: Runtime, processing: InProcessRuntime
) -> None:
    message_id, contact_id = await _store(gateway, "wait-2")
    assert await processing.processor.process_contact(contact_id) == 1
    with state_reads(gateway.engine) as reads:
        async with asyncio.timeout(5):
            await _wait_processed(gateway, message_id, LONG_WAIT)
    assert len(reads) == 1


@pytest.fixture
async def embedded(runtime: InProcessRuntime) -> AsyncIterator[InProcessRuntime]:
    """The embedded default (SQLite, jobs in-process), migrated; closed afterwards."""
    try:
        yield runtime
    finally:
        await runtime.close()


async def test_embedded_wait_ends_on_the_processors_signal(embedded: InProcessRuntime) -> None:
    await _wait_ends_when_processed(embedded, embedded)
    await _already_processed_returns_at_once(embedded, embedded)


async def test_embedded_wait_gives_up_after_its_time(embedded: Runtime) -> None:
    message_id, _ = await _store(embedded, "wait-3")
    with state_reads(embedded.engine) as reads:
        async with asyncio.timeout(5):
            await _wait_processed(embedded, message_id, 0.2)
    assert len(reads) == 1
    async with embedded.sessions() as session:
        message = await session.get(Message, message_id)
        assert message is not None and message.processed_at is None


@pytest.mark.redis
@pytest.mark.postgres
async def test_gateway_wait_ends_on_the_workers_redis_announcement(tmp_path: Path) -> None:
    redis_url = await empty_redis_or_skip()
    engine = await make_engine("postgresql", tmp_path)  # skips/fails if PostgreSQL is absent
    await engine.dispose()
    settings = load_settings(database_url=POSTGRES_URL, redis_url=redis_url, data_dir=tmp_path)
    gateway = await build_runtime(settings)
    worker = await build_runtime(settings, use_redis=False)
    assert gateway.processed.listen_redis and not worker.processed.listen_redis
    try:
        await _wait_ends_when_processed(gateway, worker)
        await _already_processed_returns_at_once(gateway, worker)
    finally:
        await worker.close()
        await gateway.close()


async def test_a_wait_does_not_block_while_redis_is_away() -> None:
    signal = ProcessedSignal(redis_url="redis://127.0.0.1:1/0", listen_redis=True)
    try:
        async with asyncio.timeout(10):
            async with signal.watch(7) as watch:
                assert not watch.reachable
                assert await watch.wait(LONG_WAIT) is False
        assert signal.outage is not None and signal.outage.down
        # The in-process registry still works for a process running its own jobs.
        async with signal.watch(8) as watch:
            signal.announce([8])
            assert watch.event.is_set()
    finally:
        await signal.close()
