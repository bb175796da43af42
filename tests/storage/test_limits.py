"""Rate limits and used form nonces in the database (storage/limits.py), on
SQLite and PostgreSQL: exact sliding windows, concurrency, pruning."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import limits
from storage.db import session_factory
from storage.limits import Limit
from storage.models import FormNonce, RateLimit

# A fixed instant: nothing here depends on the wall clock.
T0 = datetime(2026, 3, 5, 7, 0, tzinfo=UTC)
RULES = (Limit(5, timedelta(minutes=10)), Limit(20, timedelta(days=1)))


async def hit_at(engine: AsyncEngine, key: str, when: datetime) -> limits.Verdict:
    sessions = session_factory(engine)
    async with sessions() as s, s.begin():
        return await limits.hit(s, key, RULES, now=when)


async def test_sliding_window_allows_exactly_the_limit(any_engine: AsyncEngine) -> None:
    key = limits.limit_key("form-address", "203.0.113.7")
    for i in range(5):
        assert (await hit_at(any_engine, key, T0 + timedelta(seconds=i))).allowed
    refused = await hit_at(any_engine, key, T0 + timedelta(seconds=30))
    assert not refused.allowed
    # The first hit (T0) leaves the 10-minute window at T0 + 10 min.
    assert refused.retry_after == timedelta(minutes=10) - timedelta(seconds=30)
    assert not (await hit_at(any_engine, key, T0 + timedelta(minutes=9, seconds=59))).allowed
    assert (await hit_at(any_engine, key, T0 + timedelta(minutes=10))).allowed
    # A refused hit was not recorded: the log holds the six allowed ones.
    async with session_factory(any_engine)() as s:
        row = await s.get(RateLimit, key)
        assert row is not None and len(row.hits) == 6
        assert "203.0.113.7" not in row.key


async def test_the_daily_limit_holds_across_ten_minute_windows(any_engine: AsyncEngine) -> None:
    key = limits.limit_key("form-address", "198.51.100.1")
    allowed = 0
    for block in range(6):  # five an hour: never over 5 in 10 minutes
        for i in range(5):
            when = T0 + timedelta(hours=block, seconds=i)
            allowed += (await hit_at(any_engine, key, when)).allowed
    assert allowed == 20
    late = await hit_at(any_engine, key, T0 + timedelta(hours=23))
    assert not late.allowed
    assert late.retry_after == timedelta(hours=1)
    assert (await hit_at(any_engine, key, T0 + timedelta(days=1, seconds=1))).allowed


async def test_keys_are_counted_apart(any_engine: AsyncEngine) -> None:
    a = limits.limit_key("form-address", "192.0.2.1")
    b = limits.limit_key("track-address", "192.0.2.1")
    assert a != b
    for i in range(5):
        assert (await hit_at(any_engine, a, T0 + timedelta(seconds=i))).allowed
    assert not (await hit_at(any_engine, a, T0 + timedelta(seconds=6))).allowed
    assert (await hit_at(any_engine, b, T0 + timedelta(seconds=6))).allowed


async def test_concurrent_hits_never_exceed_the_limit(any_engine: AsyncEngine) -> None:
    key = limits.limit_key("ack-recipient", "korban@example.com")
    verdicts = await asyncio.gather(*(hit_at(any_engine, key, T0) for _ in range(20)))
    assert sum(v.allowed for v in verdicts) == 5


async def test_prune_removes_only_what_expired(any_engine: AsyncEngine) -> None:
    sessions = session_factory(any_engine)
    old = limits.limit_key("form-address", "192.0.2.10")
    new = limits.limit_key("form-address", "192.0.2.11")
    await hit_at(any_engine, old, T0)
    await hit_at(any_engine, new, T0 + timedelta(hours=20))
    async with sessions() as s, s.begin():
        await limits.use_nonce(s, "a" * 32, limits.NONCE_SUBMITTED, T0 + timedelta(hours=4))
        await limits.use_nonce(s, "b" * 32, limits.NONCE_HONEYPOT, T0 + timedelta(days=2))
    async with sessions() as s, s.begin():
        assert await limits.prune(s, now=T0 + timedelta(days=1, minutes=1)) == 2
    async with sessions() as s:
        assert list(await s.scalars(select(RateLimit.key))) == [new]
        assert list(await s.scalars(select(FormNonce.nonce))) == ["b" * 32]


async def test_a_nonce_keeps_its_first_use(any_engine: AsyncEngine) -> None:
    sessions = session_factory(any_engine)
    nonce = "c" * 32
    async with sessions() as s:
        assert await limits.used_nonce(s, nonce) is None
    for kind in (limits.NONCE_HONEYPOT, limits.NONCE_SUBMITTED):
        async with sessions() as s, s.begin():
            await limits.use_nonce(s, nonce, kind, T0 + timedelta(hours=4))
    async with sessions() as s:
        assert await limits.used_nonce(s, nonce) == limits.NONCE_HONEYPOT
        assert await s.scalar(select(func.count()).select_from(FormNonce)) == 1


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="count"):
        Limit(0, timedelta(minutes=1))
    with pytest.raises(ValueError, match="window"):
        Limit(1, timedelta(0))
