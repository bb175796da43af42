"""Rate limits shared by every process sending for the same sender.

A provider's limits are per sender (a Twilio number, a WhatsApp number, a
Telegram bot), not per process: two workers each pacing themselves to
1 SMS/s send 2/s together. Here the next free send time of every key lives in
one place all processes see, and each send reserves a slot atomically
(docs/architecture.md, "Shared rate limits"):

- **Redis** (``ADUAN_REDIS_URL`` set): one Lua script reads and moves the
  keys' next free times on Redis's own clock (:class:`RedisSlots`).
- **The database** otherwise, and whenever Redis does not answer: a row per
  key in the ``leases`` table, locked, read and moved in one transaction
  (:class:`DatabaseSlots`); PostgreSQL's clock on PostgreSQL.
- **In process** on the embedded default (SQLite without Redis), where only
  one process runs: :class:`channels.ratelimit.Pacer`.

A reservation returns the slot (:class:`Slot`); :class:`SharedGate` then
sleeps until it, which is the :class:`channels.ratelimit.RateGate` the
channels take.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from channels.ratelimit import Pacer, RateGate
from storage.db import SessionFactory
from storage.models import Lease
from storage.types import utcnow

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

#: ``(name, seconds)``: after a reservation, key ``name`` is free again this
#: many seconds after the reserved slot.
Spacing = Sequence[tuple[str, float]]

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

    async def reserve(self, spacing: Spacing) -> Slot:
        """Reserve the earliest slot free for every name in ``spacing`` and
        move each name's next free time to the slot plus its seconds.

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


# KEYS: the names; ARGV: each name's spacing in microseconds. Redis's TIME is
# the one clock, so hosts with skewed clocks still agree. Values are Unix
# microseconds; each key lapses a second after it is free again.
_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = now
for i = 1, #KEYS do
  local v = tonumber(redis.call('GET', KEYS[i]) or '0')
  if v > slot then slot = v end
end
for i = 1, #KEYS do
  local free = slot + tonumber(ARGV[i])
  local ttl = math.ceil((free - now) / 1000) + 1000
  redis.call('SET', KEYS[i], string.format('%.0f', free), 'PX', ttl)
end
return {string.format('%.0f', slot), string.format('%.0f', now)}
"""


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

    async def reserve(self, spacing: Spacing) -> Slot:
        """See :meth:`SlotBook.reserve`."""
        keys = [self._namespace + _row_name(name) for name, _ in spacing]
        micros = [str(max(0, round(seconds * 1_000_000))) for _, seconds in spacing]
        slot, now = await self._script(keys=keys, args=micros)
        at, at_now = int(slot), int(now)
        return Slot(at=at / 1_000_000, delay=(at - at_now) / 1_000_000)

    async def close(self) -> None:
        """Close the Redis connections."""
        await self._client.aclose()


class DatabaseSlots:
    """Slots as rows of ``leases`` named ``rate:<name>`` whose ``expires_at`` is
    the next free time (see the module text).

    One transaction per reservation: the rows are created if missing, locked
    in name order (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has one
    writer at a time), read and moved. Rows long past their time are deleted
    every ``prune_every`` reservations. Raises SQLAlchemy's errors (including
    the database deadlines' timeouts).
    """

    def __init__(self, sessions: SessionFactory, *, prune_every: int = 1000) -> None:
        self._sessions = sessions
        self._prune_every = prune_every
        self._count = 0

    async def reserve(self, spacing: Spacing) -> Slot:
        """See :meth:`SlotBook.reserve`."""
        seconds = {_row_name(name): s for name, s in spacing}
        names = sorted(seconds)
        async with self._sessions() as session, session.begin():
            postgres = session.get_bind().dialect.name == "postgresql"
            insert = postgres_insert if postgres else sqlite_insert
            await session.execute(
                insert(Lease)
                .values([{"name": n, "holder": _HOLDER, "expires_at": _EPOCH} for n in names])
                .on_conflict_do_nothing(index_elements=["name"])
            )
            rows = await session.execute(
                select(Lease.expires_at)
                .where(Lease.name.in_(names))
                .order_by(Lease.name)
                .with_for_update()
            )
            now = await _database_now(session, postgres=postgres)
            slot = max([now, *rows.scalars()])
            for name in names:
                await session.execute(
                    update(Lease)
                    .where(Lease.name == name)
                    .values(expires_at=slot + timedelta(seconds=seconds[name]))
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

    async def reserve(self, spacing: Spacing) -> Slot:
        """See :meth:`SlotBook.reserve`; raises only what the database raises."""
        if time.monotonic() >= self._retry_at:
            try:
                slot = await self._primary.reserve(spacing)
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
        return await self._fallback.reserve(spacing)

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
    reserves the names ``<name>:<key>`` and ``<name>``.
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
        spacing: list[tuple[str, float]] = []
        if self._per_key is not None:
            spacing.append((f"{self._name}:{key}", self._per_key))
        if self._overall is not None:
            spacing.append((self._name, self._overall))
        if not spacing:
            return Slot(at=time.time(), delay=0.0)
        return await self._book.reserve(spacing)

    async def wait(self, key: str) -> float:
        """See :meth:`channels.ratelimit.RateGate.wait`."""
        slot = await self.reserve(key)
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
