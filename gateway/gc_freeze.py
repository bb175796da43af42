"""Garbage collection in ``aduan serve``: what is alive once start-up is done is moved
out of the collector's way (docs/webhooks.md, "Throughput").

Start-up leaves about a million long-lived objects behind (the SOP profile,
translation catalogues, SQLAlchemy's mappers, the provider libraries). A full
collection walks every one of them: under webhook load it stopped the event
loop for 300-430 ms a few times a minute, every request in flight waiting.
:func:`gc.freeze` moves them to a generation the collector never scans; what
is created afterwards (requests, sessions, messages) is collected as before.
"""

from __future__ import annotations

import gc
import logging

from aiohttp import web

log = logging.getLogger(__name__)


async def _freeze(_app: web.Application) -> None:
    gc.collect()  # what start-up left as garbage is freed, not kept for good
    gc.freeze()
    log.debug("%s start-up objects frozen", gc.get_freeze_count())


def freeze_after_startup(app: web.Application) -> None:
    """Freeze the objects alive once ``app`` (and its runtime) has started.

    For the serving process only: tests build many applications in one
    process, and whatever they froze would never be collected.
    """
    app.on_startup.append(_freeze)
