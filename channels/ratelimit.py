"""Pacing outgoing messages to a provider's documented limits.

A :class:`Pacer` spaces sends so that no key (a chat, a recipient, a sender
number) gets more than ``per_key`` messages per second and the whole channel
no more than ``overall`` per second (Telegram: about 1/s per chat and 30/s
overall; WhatsApp Cloud API: 80/s per number). It only delays; the provider's
own 429 answers are still honoured through
:class:`channels.errors.RateLimited` by the outbox.

How slots are chosen (the same in every gate): a message to a key may go
``1/per_key`` after that key's previous one; the overall limit is a grid of
slots ``1/overall`` apart, each taken by one message. A message takes the
first free grid slot at or after its key's next free time, so a key with a
queue (the later parts of a long message) does not hold back other keys:
they take the free grid slots before it.

A channel takes any :class:`RateGate`; the :class:`Pacer` is the in-process
one, right for a single process (the embedded default). Several processes
sending for the same sender share one gate instead, which the gateway builds
on Redis or the database (docs/architecture.md, "Shared rate limits").
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable
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


def first_free(start: float, interval: float, taken: Callable[[int], bool]) -> int:
    """Index of the first grid slot (``index * interval`` seconds) at or after
    ``start`` for which ``taken(index)`` is false."""
    index = math.ceil(start / interval - 1e-9)
    while taken(index):
        index += 1
    return index


class Pacer:
    """Async pacing per key and overall (rates in messages/s; ``None``: no limit).

    A :class:`RateGate` for one process: its slots live in memory, on
    :func:`time.monotonic`'s clock. Remembers the last ``max_keys`` keys.
    """

    def __init__(
        self, *, per_key: float | None, overall: float | None, max_keys: int = 10000
    ) -> None:
        self._per_key = 1.0 / per_key if per_key else 0.0
        self._overall = 1.0 / overall if overall else 0.0
        self._next_key: OrderedDict[str, float] = OrderedDict()
        self._taken: set[int] = set()
        self._max_keys = max_keys

    async def reserve(self, key: str) -> float:
        """Reserve the next slot for a message to ``key`` without waiting.

        Returns the slot on :func:`time.monotonic`'s clock (seconds).
        """
        now = time.monotonic()
        start = max(now, self._next_key.get(key, 0.0))
        if self._overall:
            if len(self._taken) > 1000:
                past = math.floor(now / self._overall)
                self._taken = {i for i in self._taken if i >= past}
            index = first_free(start, self._overall, self._taken.__contains__)
            self._taken.add(index)
            start = max(start, index * self._overall)
        if self._per_key:
            self._next_key[key] = start + self._per_key
            self._next_key.move_to_end(key)
            while len(self._next_key) > self._max_keys:
                self._next_key.popitem(last=False)
        return start

    async def wait(self, key: str) -> float:
        """Wait until a message to ``key`` may go; returns the seconds waited."""
        delay = await self.reserve(key) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
            return delay
        return 0.0
