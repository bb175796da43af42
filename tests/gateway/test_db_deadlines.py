"""Deadlines on the database: statements, connecting, the pool, and /healthz."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.app import create_app
from gateway.config import db_deadlines, load_settings
from gateway.runtime import build_runtime
from storage.db import Deadlines, create_engine
from tests.hung_server import freezable_proxy, hung_server
from tests.runtime_fixtures import Harness
from tests.services import POSTGRES_URL, unavailable

# Far beyond every deadline under test, and below asyncpg's own 60 s connect
# timeout: reaching it means a deadline was not applied.
NEVER = 30.0


async def finishes(awaitable: Awaitable[Any]) -> BaseException | None:
    """Run ``awaitable``; fail the test if it has not ended after :data:`NEVER`
    seconds, else return what it raised (None when it returned)."""
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=NEVER)
    if not done:
        task.cancel()
        pytest.fail("the database call hung past every deadline")
    return task.exception()


async def postgres_or_skip(engine: AsyncEngine) -> None:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        await engine.dispose()
        unavailable("PostgreSQL", f"{POSTGRES_URL}: {exc!r}")


def hung_url(port: int) -> str:
    url = make_url(POSTGRES_URL).set(host="127.0.0.1", port=port)
    return url.render_as_string(hide_password=False)


def test_serving_deadlines_come_from_settings() -> None:
    settings = load_settings(
        db_connect_timeout=1.5,
        db_statement_timeout=4,
        db_pool_timeout=2,
        db_idle_transaction_timeout=30,
    )
    assert db_deadlines(settings) == Deadlines(
        connect=1.5, pool=2.0, statement=4.0, idle_in_transaction=30.0
    )
    defaults = db_deadlines(load_settings())
    assert defaults.statement is not None
    assert defaults.connect + defaults.pool + defaults.statement < 15  # Twilio waits 15 s


async def test_postgres_statement_timeout_cancels_a_slow_statement() -> None:
    engine = create_engine(POSTGRES_URL, deadlines=Deadlines(statement=0.3))
    await postgres_or_skip(engine)
    try:

        async def sleep_beyond() -> None:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT pg_sleep(20)"))

        raised = await finishes(sleep_beyond())
        assert isinstance(raised, DBAPIError)
        # 57014 query_canceled: the server's statement_timeout ended it.
        assert getattr(raised.orig, "sqlstate", None) == "57014"
        async with engine.connect() as conn:  # the pool is still usable
            assert (await conn.execute(text("SHOW statement_timeout"))).scalar() == "300ms"
    finally:
        await engine.dispose()


async def test_postgres_idle_in_transaction_timeout_is_set() -> None:
    engine = create_engine(POSTGRES_URL, deadlines=Deadlines(idle_in_transaction=42))
    await postgres_or_skip(engine)
    try:
        async with engine.connect() as conn:
            shown = await conn.execute(text("SHOW idle_in_transaction_session_timeout"))
            assert shown.scalar() == "42s"
    finally:
        await engine.dispose()


async def test_hung_database_connect_fails_within_the_connect_timeout() -> None:
    async with hung_server() as port:
        engine = create_engine(hung_url(port), deadlines=Deadlines(connect=0.3))
        try:

            async def connect() -> None:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))

            raised = await finishes(connect())
            assert isinstance(raised, TimeoutError)
        finally:
            await engine.dispose()


async def test_postgres_that_stops_answering_mid_session_ends_the_wait() -> None:
    real = make_url(POSTGRES_URL)
    probe = create_engine(POSTGRES_URL)
    await postgres_or_skip(probe)
    await probe.dispose()
    async with freezable_proxy(real.host or "127.0.0.1", real.port or 5432) as (port, proxy):
        engine = create_engine(hung_url(port), deadlines=Deadlines(statement=0.3))
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))  # connected, answering
                proxy.freeze()

                async def query() -> None:
                    await conn.execute(text("SELECT 1"))

                raised = await finishes(query())
                # The server cannot cancel what it never sees: the client-side
                # bound (statement + 1 s) ends the wait.
                assert isinstance(raised, TimeoutError)
                await conn.invalidate()
        finally:
            await engine.dispose()


async def test_sqlite_busy_timeout_ends_a_wait_for_another_writer(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'busy.sqlite3'}"
    holder = create_engine(url)
    waiter = create_engine(url, deadlines=Deadlines(statement=0.2))
    try:
        async with holder.connect() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
            await conn.commit()
            await conn.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock

            async def write() -> None:
                async with waiter.begin() as other:
                    await other.execute(text("INSERT INTO t VALUES (2)"))

            raised = await finishes(write())
            assert isinstance(raised, OperationalError)
            assert "locked" in str(raised)
            await conn.rollback()
    finally:
        await holder.dispose()
        await waiter.dispose()


async def test_sqlite_pool_timeout_ends_a_wait_for_the_connection(tmp_path: Path) -> None:
    engine = create_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'pool.sqlite3'}", deadlines=Deadlines(pool=0.2)
    )
    try:
        async with engine.connect():  # the one pooled connection is taken

            async def second() -> None:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))

            raised = await finishes(second())
            assert isinstance(raised, PoolTimeout)
    finally:
        await engine.dispose()


async def test_healthz_answers_503_in_time_when_the_database_hangs(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    async with hung_server() as port:
        settings = load_settings(
            data_dir=tmp_path,
            database_url=hung_url(port),
            db_connect_timeout=3,  # the health deadline (0.2 s) must fire first
            healthz_timeout=0.2,
        )
        runtime = await build_runtime(settings, use_redis=False)
        client = await aiohttp_client(create_app(settings, runtime=runtime, run_channels=False))
        for _ in range(2):  # the second check waits on the same stuck probe
            resp = await asyncio.wait_for(client.get("/healthz"), NEVER)
            assert resp.status == 503
            assert await resp.json() == {
                "status": "error",
                "reason": "database did not answer within 0.2 s",
            }
        await client.close()


async def test_healthz_ok_with_a_database_that_answers(
    aiohttp_client: Any, harness: Harness
) -> None:
    runtime = harness.runtime
    client = await aiohttp_client(create_app(runtime.settings, runtime=runtime, run_channels=False))
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}
