"""Rate limits shared by every process sending for the same sender.

A provider's limits are per sender (a Twilio number, a WhatsApp number, a
Telegram bot), not per process: two workers each pacing themselves to
1 SMS/s send 2/s together. Here the next free send time of every key lives in
one place all processes see, and each send reserves a slot atomically
(docs/architecture.md, "Shared rate limits"):

- **Redis** (``ADUAN_REDIS_URL`` set): one Lua script reads and moves the
  key's next free time and takes the grid slot, on Redis's own clock
  (:mod:`gateway.rate_gates.redis_slots`).
- **The database** otherwise, and whenever Redis does not answer: rows in
  the ``leases`` table, one per key (locked, read and moved) and one per
  taken grid slot, in one transaction (:mod:`gateway.rate_gates.database_slots`);
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
import logging
import time

from sqlalchemy.exc import SQLAlchemyError

from channels.errors import TemporaryError
from channels.ratelimit import Pacer, RateGate
from gateway.rate_gates.database_slots import DatabaseSlots
from gateway.rate_gates.redis_slots import RedisSlots, redis_client, redis_errors
from gateway.rate_gates.slots import Request, Slot, SlotBook
from storage.db import SessionFactory

__all__ = [
    "DatabaseSlots",
    "FallbackSlots",
    "RateGates",
    "RedisSlots",
    "Request",
    "SharedGate",
    "Slot",
    "SlotBook",
    "build_rate_gates",
    "redis_client",
]

log = logging.getLogger(__name__)


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
        self._errors = redis_errors()

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
