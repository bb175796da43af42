"""Pacing outgoing messages to a provider's documented limits.

A :class:`Pacer` spaces sends so that no key (a chat, a recipient, a sender
number) gets more than ``per_key`` messages per second and the whole channel
no more than ``overall`` per second (Telegram: about 1/s per chat and 30/s
overall; WhatsApp Cloud API: 80/s per number). It only delays; the provider's
own 429 answers are still honoured through
:class:`channels.errors.RateLimited` by the outbox.

A channel takes any :class:`RateGate`; the :class:`Pacer` is the in-process
one, right for a single process (the embedded default). Several processes
sending for the same sender share one gate instead, which the gateway builds
on Redis or the database (docs/architecture.md, "Shared rate limits").
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Protocol


class RateGate(Protocol):
    """Spaces sends: ``await gate.wait(key)`` returns when a message to ``key`` may go.

    ``key`` is what the provider limits per (a chat, a recipient, a sender
    number); the gate also applies its overall rate, if any. Returns the
    seconds waited (0 when the send may go at once). Never raises for
    pacing reasons; a provider's own 429 is still handled by the outbox.
    """

    async def wait(self, key: str) -> float:
        """Wait for ``key``'s next slot; returns the seconds waited."""
        ...


class Pacer:
    """Async pacing by minimum interval, per key and overall (rates in messages/s).

    A :class:`RateGate` for one process: its slots live in memory.
    """

    def __init__(
        self, *, per_key: float | None, overall: float | None, max_keys: int = 10000
    ) -> None:
        self._per_key = 1.0 / per_key if per_key else 0.0
        self._overall = 1.0 / overall if overall else 0.0
        self._next_key: OrderedDict[str, float] = OrderedDict()
        self._next_all = 0.0
        self._max_keys = max_keys
        self._lock = asyncio.Lock()

    async def wait(self, key: str) -> float:
        """Wait until a message to ``key`` may go; returns the seconds waited."""
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next_all, self._next_key.get(key, 0.0))
            self._next_all = start + self._overall
            self._next_key[key] = start + self._per_key
            self._next_key.move_to_end(key)
            while len(self._next_key) > self._max_keys:
                self._next_key.popitem(last=False)
        delay = start - now
        if delay > 0:
            await asyncio.sleep(delay)
        return delay
