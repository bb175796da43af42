"""Rate limits shared by every process sending for the same sender.

A provider's limits are per sender (a Twilio number, a WhatsApp number, a
Telegram bot), not per process: two workers each pacing themselves to
1 SMS/s send 2/s together. Here the next free send time of every key lives in
one place all processes see, and each send reserves a slot atomically
(docs/architecture.md, "Shared rate limits"):

- **Redis** (``ADUAN_REDIS_URL`` set): one Lua script reads and moves the
  key's next free time and takes the grid slot, on Redis's own clock
  (:class:`RedisSlots`).
- **The database** otherwise, and whenever Redis does not answer: rows in
  the ``leases`` table, one per key (locked, read and moved) and one per
  taken grid slot, in one transaction (:class:`DatabaseSlots`);
  PostgreSQL's clock on PostgreSQL.
- **In process** on the embedded default (SQLite without Redis), where only
  one process runs: :class:`channels.ratelimit.Pacer`.

Slots are chosen as :mod:`channels.ratelimit` describes (a next free time
per key, a grid of slots for the overall limit). A reservation returns the
slot (:class:`Slot`); :class:`SharedGate` then sleeps until it, which is the
:class:`channels.ratelimit.RateGate` the channels take.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from channels.errors import TemporaryError
from channels.ratelimit import Pacer, RateGate
from storage.db import SessionFactory
from storage.models import Lease
from storage.types import utcnow

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """What one send reserves: ``key``, a queue whose next free time moves
    ``key_seconds`` past the slot, and ``grid``, the overall limit's slots
    ``grid_seconds`` apart. A ``None`` name means no such limit."""

    key: str | None
    key_seconds: float
    grid: str | None
    grid_seconds: float


#: Prefix of the gate rows in ``leases`` and of the keys in Redis.
PREFIX = "rate:"
_HOLDER = "rate-gate"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LONGEST_NAME = 200  # leases.name


@dataclass(frozen=True)
class Slot:
    """A reserved send time: ``at`` in Unix seconds on the backend's clock,
    ``delay`` the seconds from the reservation until then (≥ 0)."""

    at: float
    delay: float


class SlotBook(Protocol):
    """Where the next free send times live; shared by the processes using it."""

    async def reserve(self, request: Request) -> Slot:
        """Reserve the earliest slot at or after the key's next free time that
        is a free grid slot; take it, and move the key's next free time on.

        Raises whatever the backend raises when it cannot be reached.
        """
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def _row_name(name: str) -> str:
    full = PREFIX + name
    if len(full) <= _LONGEST_NAME:
        return full
    return PREFIX + hashlib.sha256(name.encode()).hexdigest()


# KEYS[1]: the key's next free time; KEYS[2]: the grid's prefix (a grid slot
# is the key "<prefix>:<index>", set once). ARGV: key and grid spacing in
# microseconds, 0 for none. Redis's TIME is the one clock, so hosts with
# skewed clocks still agree. Times are Unix microseconds; every key lapses a
# second after its time has passed.
_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local key_us = tonumber(ARGV[1])
local grid_us = tonumber(ARGV[2])
local slot = now
if key_us > 0 then
  local v = tonumber(redis.call('GET', KEYS[1]) or '0')
  if v > slot then slot = v end
end
if grid_us > 0 then
  local index = math.ceil(slot / grid_us)
  while true do
    local at = index * grid_us
    local ttl = math.ceil((at - now) / 1000) + 1000
    if redis.call('SET', KEYS[2] .. ':' .. string.format('%.0f', index), '1',
                  'NX', 'PX', ttl) then
      break
    end
    index = index + 1
  end
  if index * grid_us > slot then slot = index * grid_us end
end
if key_us > 0 then
  local free = slot + key_us
  redis.call('SET', KEYS[1], string.format('%.0f', free),
             'PX', math.ceil((free - now) / 1000) + 1000)
end
return {string.format('%.0f', slot), string.format('%.0f', now)}
"""


def _micros(seconds: float) -> int:
    # Rounded up: a grid never runs faster than the provider's rate.
    return max(0, math.ceil(seconds * 1_000_000))


class RedisSlots:
    """Slots in Redis, reserved by one atomic Lua script (see the module text).

    ``client`` is a ``redis.asyncio.Redis``; its socket timeouts bound a
    reservation when Redis hangs. Raises ``redis.exceptions.RedisError`` (or
    ``OSError``/``TimeoutError``) when Redis cannot be reached.
    """

    def __init__(self, client: Redis, *, namespace: str = "aduan:") -> None:
        self._client = client
        self._namespace = namespace
        self._script = client.register_script(_RESERVE_LUA)

    async def reserve(self, request: Request) -> Slot:
        """See :meth:`SlotBook.reserve`."""
        keys = [
            self._namespace + _row_name(request.key or "-"),
            self._namespace + _row_name(request.grid or "-"),
        ]
        args = [
            _micros(request.key_seconds) if request.key else 0,
            _micros(request.grid_seconds) if request.grid else 0,
        ]
        slot, now = await self._script(keys=keys, args=args)
        at, at_now = int(slot), int(now)
        return Slot(at=at / 1_000_000, delay=(at - at_now) / 1_000_000)

    async def close(self) -> None:
        """Close the Redis connections."""
        await self._client.aclose()


class DatabaseSlots:
    """Slots as rows of ``leases`` (see the module text): ``rate:<key>`` whose
    ``expires_at`` is the key's next free time, and ``rate:<grid>@<index>``
    for each taken grid slot, ``expires_at`` its time.

    One transaction per reservation: the key's row is created if missing and
    locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has one writer at a
    time); grid rows are inserted from the first candidate on until one is
    new (a concurrent insert of the same slot waits for the other
    transaction, then finds it taken). Rows long past their time are deleted
    every ``prune_every`` reservations. Raises SQLAlchemy's errors (including
    the database deadlines' timeouts).
    """

    def __init__(self, sessions: SessionFactory, *, prune_every: int = 1000) -> None:
        self._sessions = sessions
        self._prune_every = prune_every
        self._count = 0

    async def reserve(self, request: Request) -> Slot:
        """See :meth:`SlotBook.reserve`."""
        async with self._sessions() as session, session.begin():
            postgres = session.get_bind().dialect.name == "postgresql"
            insert = postgres_insert if postgres else sqlite_insert
            key = _row_name(request.key) if request.key else None
            if key is not None:  # the first statement writes: SQLite's lock is ours
                await session.execute(
                    insert(Lease)
                    .values(name=key, holder=_HOLDER, expires_at=_EPOCH)
                    .on_conflict_do_nothing(index_elements=["name"])
                )
                row = await session.execute(
                    select(Lease.expires_at).where(Lease.name == key).with_for_update()
                )
                key_free = row.scalar_one()
            now = await _database_now(session, postgres=postgres)
            slot = max(now, key_free) if key is not None else now
            if request.grid:
                grid_us = _micros(request.grid_seconds)
                index = math.ceil(_epoch_micros(slot) / grid_us)
                while True:
                    at = _EPOCH + timedelta(microseconds=index * grid_us)
                    taken = await session.execute(
                        insert(Lease)
                        .values(
                            name=f"{_row_name(request.grid)}@{index}", holder=_HOLDER, expires_at=at
                        )
                        .on_conflict_do_nothing(index_elements=["name"])
                    )
                    if taken.rowcount:  # type: ignore[attr-defined]
                        break
                    index += 1
                slot = max(slot, at)
            if key is not None:
                await session.execute(
                    update(Lease)
                    .where(Lease.name == key)
                    .values(expires_at=slot + timedelta(seconds=request.key_seconds))
                )
        self._count += 1
        if self._count % self._prune_every == 0:
            await self.prune(older_than=now - timedelta(minutes=1))
        return Slot(at=slot.timestamp(), delay=(slot - now).total_seconds())

    async def prune(self, *, older_than: datetime) -> int:
        """Delete gate rows free since before ``older_than``; returns how many."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(Lease).where(
                    Lease.name.startswith(PREFIX, autoescape=True),
                    Lease.holder == _HOLDER,
                    Lease.expires_at < older_than,
                )
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def close(self) -> None:
        """Nothing to release: sessions come from the runtime's engine."""


def _epoch_micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


async def _database_now(session: AsyncSession, *, postgres: bool) -> datetime:
    if not postgres:
        return utcnow()  # SQLite: one host
    now: datetime = (await session.execute(select(func.clock_timestamp()))).scalar_one()
    return now.astimezone(UTC)


def _redis_errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError, TimeoutError)


class FallbackSlots:
    """Redis first; the database while Redis does not answer.

    After a failure Redis is tried again every ``retry_seconds``; the outage
    and the return are logged once each, not once per send. Sends never fail
    because Redis is away. While processes disagree on which backend is up
    (a few seconds around an outage) the rate is shared per backend.
    """

    def __init__(
        self, primary: SlotBook, fallback: SlotBook, *, retry_seconds: float = 5.0
    ) -> None:
        self._primary = primary
        self._fallback = fallback
        self._retry_seconds = retry_seconds
        self._retry_at = 0.0
        self._down = False
        self._errors = _redis_errors()

    @property
    def degraded(self) -> bool:
        """True while reservations go to the database because Redis failed."""
        return self._down

    async def reserve(self, request: Request) -> Slot:
        """See :meth:`SlotBook.reserve`; raises only what the database raises."""
        if time.monotonic() >= self._retry_at:
            try:
                slot = await self._primary.reserve(request)
            except self._errors as exc:
                if not self._down:
                    log.warning(
                        "rate limits: Redis unavailable (%s); sharing them through the "
                        "database until it returns",
                        type(exc).__name__,
                    )
                self._down = True
                self._retry_at = time.monotonic() + self._retry_seconds
            else:
                if self._down:
                    log.info("rate limits: Redis is back; sharing them through it again")
                    self._down = False
                return slot
        return await self._fallback.reserve(request)

    async def close(self) -> None:
        """Close both backends."""
        try:
            await self._primary.close()
        finally:
            await self._fallback.close()


class SharedGate:
    """A :class:`channels.ratelimit.RateGate` over a :class:`SlotBook`.

    ``name`` is the sender the limits belong to (``sms:+62…``,
    ``whatsapp:<phone number id>``, ``telegram``); ``per_key`` and ``overall``
    are messages per second (``None``: no such limit). A send to ``key``
    waits on the queue ``<name>:<key>`` and the grid ``<name>``.
    """

    def __init__(
        self, book: SlotBook, name: str, *, per_key: float | None, overall: float | None
    ) -> None:
        self._book = book
        self._name = name
        self._per_key = 1.0 / per_key if per_key else None
        self._overall = 1.0 / overall if overall else None

    async def reserve(self, key: str) -> Slot:
        """Reserve the next slot for a message to ``key`` (does not wait)."""
        if self._per_key is None and self._overall is None:
            return Slot(at=time.time(), delay=0.0)
        return await self._book.reserve(
            Request(
                key=f"{self._name}:{key}" if self._per_key is not None else None,
                key_seconds=self._per_key or 0.0,
                grid=self._name if self._overall is not None else None,
                grid_seconds=self._overall or 0.0,
            )
        )

    async def wait(self, key: str) -> float:
        """See :meth:`channels.ratelimit.RateGate.wait`.

        Raises:
            TemporaryError: no slot could be reserved (the database, and
                Redis if configured, did not answer); the outbox retries the
                send later, as after any temporary failure.
        """
        try:
            slot = await self.reserve(key)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            raise TemporaryError(f"rate limit not reserved: {type(exc).__name__}") from exc
        if slot.delay > 0:
            await asyncio.sleep(slot.delay)
        return max(0.0, slot.delay)


class RateGates:
    """Builds the gates of one process on one :class:`SlotBook`, or in-process
    :class:`channels.ratelimit.Pacer` gates when ``book`` is ``None``."""

    def __init__(self, book: SlotBook | None) -> None:
        self.book = book

    def gate(self, name: str, *, per_key: float | None, overall: float | None) -> RateGate:
        """The gate for sender ``name`` (rates in messages per second)."""
        if self.book is None:
            return Pacer(per_key=per_key, overall=overall)
        return SharedGate(self.book, name, per_key=per_key, overall=overall)

    async def close(self) -> None:
        """Release the backend's connections."""
        if self.book is not None:
            await self.book.close()


def redis_client(url: str, *, timeout: float = 1.0) -> Any:
    """A ``redis.asyncio.Redis`` for ``url`` whose connects and commands give up
    after ``timeout`` seconds (it connects on first use)."""
    from redis.asyncio import Redis

    return Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def build_rate_gates(
    sessions: SessionFactory, *, redis_url: str | None, embedded: bool
) -> RateGates:
    """The gates for a process: Redis with the database as fallback when
    ``redis_url`` is set, the database alone otherwise, in-process on the
    embedded default (``embedded``: SQLite without Redis, one process)."""
    database = DatabaseSlots(sessions)
    if redis_url:
        return RateGates(FallbackSlots(RedisSlots(redis_client(redis_url)), database))
    if embedded:
        return RateGates(None)
    return RateGates(database)
