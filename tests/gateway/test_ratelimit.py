"""Pacing: per-key and overall spacing of sends."""

from __future__ import annotations

import asyncio
import time

from channels.ratelimit import Pacer


async def test_per_key_spacing_and_independent_keys() -> None:
    pacer = Pacer(per_key=20, overall=None)  # 50 ms apart per key
    started = time.monotonic()
    await asyncio.gather(pacer.wait("a"), pacer.wait("a"), pacer.wait("a"), pacer.wait("b"))
    elapsed = time.monotonic() - started
    assert 0.09 <= elapsed < 0.3  # a: 0, 50, 100 ms; b not delayed by a


async def test_overall_limit_spaces_all_keys() -> None:
    pacer = Pacer(per_key=None, overall=50)  # 20 ms apart overall
    delays = [await pacer.wait(str(i)) for i in range(3)]
    assert delays[0] == 0 and all(d > 0.005 for d in delays[1:])
