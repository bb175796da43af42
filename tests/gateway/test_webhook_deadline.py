"""The webhook deadline: 503 with Retry-After while the database cannot take the write,
the late write still commits, and the redelivery changes nothing."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from channels.api import SIGNATURE_HEADER, sign
from gateway.app import create_app
from gateway.webhooks import deadline
from gateway.webhooks.deadline import RETRY_AFTER_SECONDS, StorageLate, late_count, within
from storage.models import Message
from tests.runtime_fixtures import make_harness

SECRET = "deadline-secret"


async def settle() -> None:
    """Wait (bounded) until no storing task outlives its 503."""
    for _ in range(1000):
        if late_count() == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("a late storing task never finished")


async def test_a_held_sqlite_write_lock_gets_503_then_the_message_is_stored_once(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    h = await make_harness(tmp_path, webhook_secret=SECRET, webhook_deadline=0.3)
    try:
        client = await aiohttp_client(
            create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
        )
        raw = json.dumps(
            {"id": "portal-77", "from": {"email": "budi@example.com"}, "text": "halo"}
        ).encode()
        headers = {SIGNATURE_HEADER: sign(SECRET, raw)}
        # Another process holds SQLite's write lock: the insert waits in SQLite's
        # busy handler, far longer than the deadline.
        holder = sqlite3.connect(tmp_path / "h.sqlite3", isolation_level=None, timeout=10)
        holder.execute("BEGIN IMMEDIATE")
        try:
            resp = await asyncio.wait_for(
                client.post("/webhooks/api", data=raw, headers=headers), 5
            )
            assert resp.status == 503
            assert resp.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
            assert late_count() == 1
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        await settle()  # the late write commits once the lock is gone
        h.runtime.settings.webhook_deadline = 30.0
        resp = await client.post("/webhooks/api", data=raw, headers=headers)  # the redelivery
        assert resp.status == 200
        answer = await resp.json()
        assert answer["status"] == "accepted" and answer["duplicate"] is True
        async with h.runtime.sessions() as s:
            stored = await s.scalar(
                select(func.count()).select_from(Message).where(Message.external_id == "portal-77")
            )
        assert stored == 1
    finally:
        await settle()
        await h.runtime.close()


async def test_within_returns_in_time_and_raises_what_the_work_raised() -> None:
    async def quick() -> int:
        return 7

    async def broken() -> int:
        raise ValueError("bad")

    assert await within(1.0, quick()) == 7
    with pytest.raises(ValueError, match="bad"):
        await within(1.0, broken())
    assert late_count() == 0


async def test_late_work_is_not_cancelled_and_finishes_after_the_503() -> None:
    gate = asyncio.Event()
    done: list[str] = []

    async def slow() -> None:
        await gate.wait()
        done.append("committed")

    with pytest.raises(StorageLate):
        await within(0.01, slow())
    assert late_count() == 1 and done == []
    gate.set()
    await settle()
    assert done == ["committed"]


async def test_past_the_late_bound_storing_is_not_even_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deadline, "MAX_LATE", 1)
    gate = asyncio.Event()
    started: list[int] = []

    async def slow(n: int) -> None:
        started.append(n)
        await gate.wait()

    with pytest.raises(StorageLate):
        await within(0.01, slow(1))
    with pytest.raises(StorageLate):  # answered 503 at once: a hung database fills nothing
        await within(10.0, slow(2))
    assert started == [1]
    gate.set()
    await settle()


async def test_a_database_that_refuses_gets_503_and_other_errors_still_propagate() -> None:
    """Storing failed because the database refused the connection: nothing was
    stored, so the provider is asked to retry (503 with Retry-After), not told
    the request failed for good (500); a bug still surfaces as an error."""
    from aiohttp.test_utils import make_mocked_request
    from sqlalchemy.exc import OperationalError

    async def refused(request: Any) -> Any:
        raise OperationalError("INSERT INTO messages", None, ConnectionRefusedError("refused"))

    async def buggy(request: Any) -> Any:
        raise KeyError("a bug")

    request = make_mocked_request("POST", "/webhooks/api")
    answer = await deadline.answers_late(refused)(request)
    assert answer.status == 503
    assert answer.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    with pytest.raises(KeyError):
        await deadline.answers_late(buggy)(request)
