"""``aduan serve`` freezes what start-up left alive, so full collections stay short."""

from __future__ import annotations

import gc

from aiohttp import web

from gateway.gc_freeze import freeze_after_startup


async def test_objects_alive_after_startup_are_frozen() -> None:
    app = web.Application()
    freeze_after_startup(app)
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        await app.on_startup[-1](app)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
