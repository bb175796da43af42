"""Pacing in one process: per-key and overall spacing of sends (the reserved slots)."""

from __future__ import annotations

import asyncio
import itertools
import time

from channels.ratelimit import Pacer, RateGate

EPSILON = 1e-9


async def test_per_key_spacing_and_independent_keys() -> None:
    pacer = Pacer(per_key=20, overall=None)  # 50 ms apart per key
    a1, a2, a3, b1 = await asyncio.gather(
        pacer.reserve("a"), pacer.reserve("a"), pacer.reserve("a"), pacer.reserve("b")
    )
    assert a2 - a1 >= 0.05 - EPSILON and a3 - a2 >= 0.05 - EPSILON
    assert b1 <= time.monotonic()  # b is not queued behind a: its slot is now


async def test_overall_limit_spaces_all_keys() -> None:
    pacer = Pacer(per_key=None, overall=50)  # 20 ms apart overall
    slots = [await pacer.reserve(str(i)) for i in range(3)]
    assert all(later - earlier >= 0.02 - EPSILON for earlier, later in itertools.pairwise(slots))


async def test_a_queued_key_does_not_hold_back_other_keys() -> None:
    pacer = Pacer(per_key=0.1, overall=10)  # one per 10 s per chat, 10/s overall
    a = [await pacer.reserve("a") for _ in range(3)]
    others = [await pacer.reserve(f"b{i}") for i in range(5)]
    assert all(y - x >= 10 - EPSILON for x, y in itertools.pairwise(a))
    everything = sorted([*a, *others])
    assert all(y - x >= 0.1 - EPSILON for x, y in itertools.pairwise(everything))
    assert max(others) < a[1]  # the other chats went in the free slots before a's queue


async def test_wait_sleeps_until_the_slot() -> None:
    pacer = Pacer(per_key=20, overall=None)
    assert await pacer.wait("a") == 0.0
    assert await pacer.wait("a") > 0  # the second message to "a" had to wait
    assert await pacer.wait("b") == 0.0


def test_pacer_is_a_rate_gate() -> None:
    gate: RateGate = Pacer(per_key=1, overall=None)
    assert callable(gate.wait)
