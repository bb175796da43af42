"""What a rate gate reserves and returns, and the interface of the places
slots are kept (:class:`SlotBook`); see :mod:`gateway.rate_gates`."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


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
HOLDER = "rate-gate"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LONGEST_NAME = 200  # leases.name


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


def row_name(name: str) -> str:
    """``rate:<name>``, the name of a gate's row or Redis key; a name too long
    for ``leases.name`` (200 characters) is replaced by its SHA-256."""
    full = PREFIX + name
    if len(full) <= LONGEST_NAME:
        return full
    return PREFIX + hashlib.sha256(name.encode()).hexdigest()


def micros(seconds: float) -> int:
    """``seconds`` in whole microseconds, rounded up: a grid never runs faster
    than the provider's rate."""
    return max(0, math.ceil(seconds * 1_000_000))
