"""Group commit of inbound messages: the SQLite driver path writes the rows the ORM
would, its lookups use the unique indexes, and the batch writer neither loses
a caller nor keeps the connection from everyone else."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.base import ChannelName, InboundMessage
from gateway import ingest_sqlite
from gateway.ingest import IngestBatcher, store_batch
from storage.db import SessionFactory, create_engine, session_factory
from storage.migrate import upgrade
from tests.fakes import inbound


def varied() -> list[InboundMessage]:
    """Messages using every column ingest writes, a redelivery within the batch too."""
    when = datetime(2026, 11, 21, 1, 2, 3, 456789, tzinfo=UTC)
    return [
        InboundMessage(
            channel=ChannelName.API,
            external_id="portal-1",
            sender="budi@example.com",
            text="Laporan hasil uji terlambat — mohon dibantu 🙏",
            received_at=when,
            sender_name="Budi Santoso",
            subject="Hasil uji",
            fields={"customer_name": "PT Sinar Jaya", "kota": "Bandung"},
            thread_refs=("portal-0", "portal-00"),
            automatic=True,
            language="en",
            raw={"id": "portal-1", "nested": {"list": [1, 2.5, None, True, "é"]}},
        ),
        inbound(ChannelName.SMS, "SM1", "+6281234567890", "halo"),
        inbound(ChannelName.SMS, "SM2", "+6281234567890", ""),
        inbound(ChannelName.EMAIL, "<a@x>", "siti@example.com", "hi", sender_name=None),
        inbound(ChannelName.SMS, "SM1", "+6281234567890", "halo"),
    ]


async def migrated(path: Path) -> AsyncEngine:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    return engine


def rows(path: Path) -> list[tuple[Any, ...]]:
    """Every column of the inbound messages but the insert time, in id order."""
    with sqlite3.connect(path) as db:
        columns = [c[1] for c in db.execute("PRAGMA table_info(messages)") if c[1] != "created_at"]
        return db.execute(f"SELECT {', '.join(columns)} FROM messages ORDER BY id").fetchall()


async def test_sqlite_driver_path_writes_the_rows_of_the_orm_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_path, orm_path = tmp_path / "fast.sqlite3", tmp_path / "orm.sqlite3"
    fast, orm = await migrated(fast_path), await migrated(orm_path)
    messages = varied()
    try:
        async with session_factory(fast)() as s, s.begin():
            fast_results = await store_batch(s, messages)

        async def no_driver(_session: Any) -> None:
            return None

        monkeypatch.setattr(ingest_sqlite, "driver_connection", no_driver)
        async with session_factory(orm)() as s, s.begin():
            orm_results = await store_batch(s, messages)
    finally:
        await fast.dispose()
        await orm.dispose()
    assert fast_results == orm_results
    assert [r.duplicate for r in fast_results] == [False, False, False, False, True]
    assert fast_results[4].message_id == fast_results[1].message_id
    assert rows(fast_path) == rows(orm_path)
    assert len(rows(fast_path)) == 4


async def test_sqlite_lookups_search_the_unique_indexes(tmp_path: Path) -> None:
    path = tmp_path / "plan.sqlite3"
    engine = await migrated(path)
    statements: list[str] = []
    try:
        sessions = session_factory(engine)
        async with sessions() as s, s.begin():
            await store_batch(s, varied())
        async with sessions() as s, s.begin():
            driver = await ingest_sqlite.driver_connection(s)
            assert driver is not None
            await driver.set_trace_callback(statements.append)
            results = await store_batch(s, varied())  # known senders, every message a redelivery
            await driver.set_trace_callback(None)
    finally:
        await engine.dispose()
    assert all(r.duplicate for r in results)
    selects = [q for q in statements if q.startswith("SELECT")]
    assert len(selects) == 2  # senders, then the stored messages
    with sqlite3.connect(path) as db:
        for query in selects:
            plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + query))
            assert "SCAN" not in plan, plan
            assert "USING INDEX" in plan, plan


async def test_batcher_answers_every_caller_and_lets_others_in_during_a_burst(
    sessions: SessionFactory,
) -> None:
    batcher = IngestBatcher(sessions, max_batch=4, max_hold_seconds=0.0)
    burst = [inbound(ChannelName.SMS, f"SM{i}", f"+62812345678{i % 5:02d}", "x") for i in range(40)]
    submitted = [asyncio.ensure_future(batcher.submit(m)) for m in burst]
    await asyncio.sleep(0)
    # Someone else (processing, a staff page) asks for the one SQLite
    # connection while the burst is being written: it gets it before the end.
    async with sessions() as s:
        await s.connection()
        pending_when_served = sum(not f.done() for f in submitted)
    results = await asyncio.gather(*submitted)
    assert pending_when_served > 0
    assert len({r.message_id for r in results}) == 40
    assert not any(r.duplicate for r in results)


async def test_batcher_fails_its_callers_when_the_database_cannot_be_opened(
    tmp_path: Path,
) -> None:
    (tmp_path / "not-a-file.sqlite3").mkdir()
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'not-a-file.sqlite3'}")
    try:
        batcher = IngestBatcher(session_factory(engine))
        with pytest.raises(Exception, match="unable to open"):
            await asyncio.wait_for(batcher.submit(inbound(ChannelName.SMS, "S", "+62", "x")), 10)
    finally:
        await engine.dispose()
