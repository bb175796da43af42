"""Shared rate limits: several processes sending for one sender keep its rate together."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from channels.base import ChannelName, OutboundMessage
from channels.errors import TemporaryError
from channels.ratelimit import Pacer
from channels.twilio import TwilioChannel
from gateway.channel_configs import twilio_config
from gateway.config import load_settings
from gateway.rate_gates import (
    DatabaseSlots,
    FallbackSlots,
    RedisSlots,
    Request,
    SharedGate,
    Slot,
    build_rate_gates,
    redis_client,
)
from gateway.runtime import build_runtime
from storage.db import SessionFactory, create_engine, session_factory
from tests.conftest import make_engine
from tests.services import POSTGRES_URL, REDIS_URL, empty_redis_or_skip
from tests.twilio.conftest import twilio_settings
from tests.twilio.fake_twilio import FakeTwilio

RATE = 1.0  # messages per second per sender
SENDS = 10
# Slot times are floats of microseconds on one clock; allow rounding only.
EPSILON = 1e-5


async def split_between(gates: Sequence[SharedGate], key: str, sends: int) -> list[float]:
    """Reserve ``sends`` slots for ``key``, alternately on each gate, all at once."""
    slots = await asyncio.gather(*(gates[i % len(gates)].reserve(key) for i in range(sends)))
    return sorted(slot.at for slot in slots)


def assert_spaced(times: list[float], interval: float) -> None:
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= interval - EPSILON for gap in gaps), gaps


async def test_two_processes_share_one_rate_through_redis() -> None:
    await empty_redis_or_skip()
    books = [RedisSlots(redis_client(REDIS_URL)), RedisSlots(redis_client(REDIS_URL))]
    try:
        gates = [SharedGate(b, "sms", per_key=RATE, overall=None) for b in books]
        times = await split_between(gates, "+62211234567", SENDS)
        assert len(times) == SENDS
        assert_spaced(times, 1 / RATE)
        # Another sender is not held back by the first one's queue.
        other = await gates[0].reserve("+62217654321")
        assert other.delay < 1 / RATE
    finally:
        for book in books:
            await book.close()


async def test_two_processes_share_one_rate_through_postgresql(tmp_path: Path) -> None:
    migrated = await make_engine("postgresql", tmp_path)  # skips/fails without PostgreSQL
    other = create_engine(POSTGRES_URL)  # a second process: its own connections
    try:
        books = [
            DatabaseSlots(session_factory(migrated)),
            DatabaseSlots(session_factory(other)),
        ]
        gates = [SharedGate(b, "sms", per_key=RATE, overall=None) for b in books]
        times = await split_between(gates, "+62211234567", SENDS)
        assert len(times) == SENDS
        assert_spaced(times, 1 / RATE)
    finally:
        await migrated.dispose()
        await other.dispose()


async def check_overall_and_per_key(gates: Sequence[SharedGate]) -> None:
    """One message per 10 s per chat and 10/s overall, over ``gates``."""
    chat_a = [await gates[i % len(gates)].reserve("a") for i in range(3)]
    chat_b = await asyncio.gather(*(gates[i % len(gates)].reserve(f"b{i}") for i in range(6)))
    assert_spaced([s.at for s in chat_a], 10.0)  # per chat
    everything = sorted(s.at for s in [*chat_a, *chat_b])
    assert_spaced(everything, 0.1)  # overall: 10/s
    # Other chats take the free overall slots before chat a's queued messages.
    assert max(s.at for s in chat_b) < chat_a[1].at


async def test_overall_and_per_key_rates_on_the_database(sessions: SessionFactory) -> None:
    book = DatabaseSlots(sessions)
    await check_overall_and_per_key([SharedGate(book, "telegram", per_key=0.1, overall=10.0)])


async def test_overall_and_per_key_rates_through_redis() -> None:
    await empty_redis_or_skip()
    books = [RedisSlots(redis_client(REDIS_URL)), RedisSlots(redis_client(REDIS_URL))]
    try:
        gates = [SharedGate(b, "telegram", per_key=0.1, overall=10.0) for b in books]
        await check_overall_and_per_key(gates)
    finally:
        for book in books:
            await book.close()


async def test_overall_and_per_key_rates_through_postgresql(tmp_path: Path) -> None:
    migrated = await make_engine("postgresql", tmp_path)
    other = create_engine(POSTGRES_URL)
    try:
        gates = [
            SharedGate(DatabaseSlots(session_factory(e)), "telegram", per_key=0.1, overall=10.0)
            for e in (migrated, other)
        ]
        await check_overall_and_per_key(gates)
    finally:
        await migrated.dispose()
        await other.dispose()


async def test_database_gate_rows_are_pruned_once_long_free(sessions: SessionFactory) -> None:
    book = DatabaseSlots(sessions)
    gate = SharedGate(book, "sms", per_key=RATE, overall=None)
    slot = await gate.reserve("+62211234567")
    at = datetime.fromtimestamp(slot.at, UTC)
    assert await book.prune(older_than=at) == 0  # still in use
    assert await book.prune(older_than=at + timedelta(seconds=2)) == 1  # the sender's row


async def test_redis_down_falls_back_to_the_database_and_logs_once(
    sessions: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on port 1: every Redis call fails at once.
    book = FallbackSlots(
        RedisSlots(redis_client("redis://127.0.0.1:1/0", timeout=0.5)),
        DatabaseSlots(sessions),
        retry_seconds=0,
    )
    gate = SharedGate(book, "sms", per_key=RATE, overall=None)
    with caplog.at_level(logging.WARNING, logger="gateway.rate_gates"):
        times = sorted([(await gate.reserve("+62211234567")).at for _ in range(3)])
    assert book.degraded
    assert_spaced(times, 1 / RATE)
    outages = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(outages) == 1
    await book.close()


class FlakyBook:
    """A primary that fails ``failures`` times, then answers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    async def reserve(self, request: Request) -> Slot:
        if self.failures:
            self.failures -= 1
            raise RedisConnectionError("connection refused")
        return Slot(at=0.0, delay=0.0)

    async def close(self) -> None:
        pass


async def test_redis_is_used_again_once_it_returns(
    sessions: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    book = FallbackSlots(FlakyBook(failures=2), DatabaseSlots(sessions), retry_seconds=0)
    spacing = Request(key="sms:+62211234567", key_seconds=1.0, grid=None, grid_seconds=0)
    with caplog.at_level(logging.INFO, logger="gateway.rate_gates"):
        first = await book.reserve(spacing)
        await book.reserve(spacing)
        assert book.degraded and first.at > 0  # from the database
        assert await book.reserve(spacing) == Slot(at=0.0, delay=0.0)  # from Redis again
    assert not book.degraded
    messages = [r.getMessage() for r in caplog.records]
    assert sum("Redis unavailable" in m for m in messages) == 1
    assert sum("Redis is back" in m for m in messages) == 1


async def test_a_gate_that_cannot_reserve_is_a_temporary_send_failure(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unmigrated.sqlite3'}")
    gate = SharedGate(DatabaseSlots(session_factory(engine)), "sms", per_key=1, overall=None)
    try:
        with pytest.raises(TemporaryError, match="rate limit not reserved: OperationalError"):
            await gate.wait("+62211234567")  # no leases table: the database refuses
    finally:
        await engine.dispose()


def test_backend_follows_the_deployment(sessions: SessionFactory) -> None:
    embedded = build_rate_gates(sessions, redis_url=None, embedded=True)
    assert embedded.book is None
    assert isinstance(embedded.gate("sms", per_key=1, overall=None), Pacer)
    database = build_rate_gates(sessions, redis_url=None, embedded=False)
    assert isinstance(database.book, DatabaseSlots)
    assert isinstance(database.gate("sms", per_key=1, overall=None), SharedGate)
    shared = build_rate_gates(sessions, redis_url=REDIS_URL, embedded=False)
    assert isinstance(shared.book, FallbackSlots)


async def test_runtime_gives_the_sms_channel_the_shared_gate(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'g.sqlite3'}",
        redis_url=REDIS_URL,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="twilio-test-auth-token-0123456789",
        twilio_sms_from="+62211234567",
    )
    runtime = await build_runtime(settings, use_redis=False)
    try:
        sms = runtime.channels[ChannelName.SMS]
        assert isinstance(sms, TwilioChannel)
        assert isinstance(sms._pacer, SharedGate)
        assert runtime.rate_gates is not None
        assert isinstance(runtime.rate_gates.book, FallbackSlots)
    finally:
        await runtime.close()


class RecordingGate:
    def __init__(self) -> None:
        self.keys: list[str] = []

    async def wait(self, key: str) -> float:
        self.keys.append(key)
        return 0.0


async def test_twilio_sms_waits_on_its_gate_per_sender(tmp_path: Path) -> None:
    fake = FakeTwilio("AC" + "0" * 32, "twilio-test-auth-token-0123456789")
    await fake.start()
    gate = RecordingGate()
    channel = TwilioChannel(
        twilio_config(twilio_settings(tmp_path, fake)), kind=ChannelName.SMS, pacer=gate
    )
    try:
        message = OutboundMessage(
            idempotency_key="outbox-1",
            channel=ChannelName.SMS,
            recipient="+6281234567890",
            text="halo",
        )
        await channel.send(message)
        assert gate.keys == ["+62211234567"]
        assert len(fake.messages) == 1
    finally:
        await channel.stop()
        await fake.close()
