"""``GET /healthz``: is the database answering, within its own deadline.

The probe is one ``SELECT 1``. It runs as its own task and the handler waits
for it at most ``ADUAN_HEALTHZ_TIMEOUT`` seconds, so a hung database gives a
503 in time even when cleaning up the stuck connection takes longer
(docs/architecture.md, "Deadlines"). While one probe is still stuck, later
checks wait on that same probe instead of opening another connection: a
monitor polling an unhealthy gateway does not pile up connections.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from sqlalchemy import text

from gateway.app_runtime import get_runtime
from storage.db import SessionFactory

log = logging.getLogger(__name__)

_PROBE: web.AppKey[dict[str, asyncio.Task[None]]] = web.AppKey("health_probe", dict)


async def _select_one(sessions: SessionFactory) -> None:
    async with sessions() as session:
        await session.execute(text("SELECT 1"))


def _forget(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a failed probe is reported by the handler


async def health(request: web.Request) -> web.Response:
    """``GET /healthz``: ``200 {"status": "ok"}`` when the database answered in time.

    Otherwise ``503 {"status": "error", "reason": …}``: ``reason`` is
    ``"database did not answer within N s"`` or the exception's class name
    (never its message, which could carry connection details).
    """
    runtime = get_runtime(request)
    limit = runtime.settings.healthz_timeout
    probes = request.app[_PROBE]
    task = probes.get("db")
    if task is None or task.done():
        task = asyncio.create_task(_select_one(runtime.sessions))
        task.add_done_callback(_forget)
        probes["db"] = task
    done, _ = await asyncio.wait({task}, timeout=limit)
    if not done:
        log.warning("health check: the database did not answer within %s s", limit)
        reason = f"database did not answer within {limit:g} s"
        return web.json_response({"status": "error", "reason": reason}, status=503)
    exc = task.exception() if not task.cancelled() else asyncio.CancelledError()
    if exc is not None:
        return web.json_response({"status": "error", "reason": type(exc).__name__}, status=503)
    return web.json_response({"status": "ok"})


def add_routes(app: web.Application) -> None:
    """Register ``GET /healthz`` on ``app``; a stuck probe is cancelled at cleanup."""
    app[_PROBE] = {}

    async def cancel_probe(app: web.Application) -> None:
        for task in app[_PROBE].values():
            task.cancel()

    app.on_cleanup.append(cancel_probe)
    app.router.add_get("/healthz", health)
