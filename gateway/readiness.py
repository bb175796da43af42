"""``GET /readyz``: can this process do its work, check by check (docs/observability.md).

Checks, each bounded by ``ADUAN_HEALTHZ_TIMEOUT`` and run at the same time
(:class:`gateway.probes.Probes`):

* ``database`` — ``SELECT 1``; **required**;
* ``redis`` — ``PING``, only when ``ADUAN_REDIS_URL`` is set; **required**
  (without it work reaches the workers only by their sweep);
* ``outbox`` — the backlog and how long the oldest due row has waited;
  reported, ``ok`` while that wait is under :data:`OUTBOX_LATE_SECONDS`;
* ``poller:<lease>`` — each poller this configuration runs (the IMAP
  mailbox; Telegram in polling mode): its lease in the ``leases`` table is
  its heartbeat, renewed while the poller runs; ``ok`` while unexpired.
  ``here`` says whether this process holds it. Reported.

Only required checks decide the status: 200 ``"ready"`` or 503 ``"not
ready"``. A backlog or a stalled poller does not make this process worse at
taking webhooks and form posts, and every ``aduan serve`` sees the same
backlog: failing readiness for it would take them all out of a load balancer
together, turning a partial outage into a whole one. They set ``"degraded":
true`` and have their own alerts on ``/metrics``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import text

from channels.email.imap import lease_name_for as imap_lease_name
from channels.email.imap import mailbox_key_for
from channels.telegram import lease_name_for as telegram_lease_name
from gateway.app_runtime import get_runtime
from gateway.channel_configs import email_config
from gateway.config import Settings, TelegramMode, channel_states
from gateway.db_gauges import DatabaseGauges, read_gauges
from gateway.probes import PROBES, Outcome, install
from gateway.runtime import Runtime

PATH = "/readyz"
#: A due outbox row waiting longer than this marks the outbox check not ok.
OUTBOX_LATE_SECONDS = 300.0


def poller_leases(settings: Settings) -> list[str]:
    """The lease names of the pollers ``settings`` turn on (IMAP; Telegram polling)."""
    enabled = {s.name for s in channel_states(settings) if s.enabled}
    names = []
    if "email" in enabled:
        names.append(imap_lease_name(mailbox_key_for(email_config(settings))))
    if (
        "telegram" in enabled
        and settings.telegram_mode is TelegramMode.POLLING
        and settings.telegram_token is not None
    ):
        names.append(telegram_lease_name(settings.telegram_token.get_secret_value()))
    return names


async def _select_one(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        await session.execute(text("SELECT 1"))


async def _ping_redis(url: str, limit: float) -> None:
    client = Redis.from_url(url, socket_connect_timeout=limit, socket_timeout=limit)
    try:
        await client.ping()
    finally:
        await client.aclose()


def _failed(outcome: Outcome[Any]) -> dict[str, Any]:
    return {"ok": False, "required": True, "reason": outcome.reason}


def _reported(runtime: Runtime, gauges: Outcome[DatabaseGauges]) -> dict[str, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {}
    if not gauges.ok or gauges.value is None:
        checks["outbox"] = {"ok": False, "required": False, "reason": gauges.reason}
        for name in poller_leases(runtime.settings):
            checks[f"poller:{name}"] = {"ok": False, "required": False, "reason": gauges.reason}
        return checks
    g = gauges.value
    checks["outbox"] = {
        "ok": g.outbox_due_wait < OUTBOX_LATE_SECONDS,
        "required": False,
        "backlog": sum(g.outbox_backlog.values()),
        "oldest_age_seconds": round(g.outbox_oldest_age, 3),
        "due_wait_seconds": round(g.outbox_due_wait, 3),
    }
    for name in poller_leases(runtime.settings):
        lease = g.poller_leases.get(name)
        if lease is None:
            checks[f"poller:{name}"] = {"ok": False, "required": False, "reason": "no lease"}
            continue
        remaining, holder = lease
        checks[f"poller:{name}"] = {
            "ok": remaining >= 0,
            "required": False,
            "lease_remaining_seconds": round(remaining, 3),
            "here": holder == runtime.holder,
        }
    return checks


async def ready(request: web.Request) -> web.Response:
    """``GET /readyz``: ``{"status", "degraded", "checks": {name: {"ok", "required", …}}}``,
    200 when every required check passed, else 503 (module docstring)."""
    runtime = get_runtime(request)
    settings = runtime.settings
    limit = settings.healthz_timeout
    probes = request.app[PROBES]
    database_check = probes.run("db", lambda: _select_one(runtime), limit)
    gauges_check = probes.run("gauges", lambda: read_gauges(runtime.sessions), limit)
    redis_url = settings.redis_url
    if redis_url:
        redis_check = probes.run("redis", lambda: _ping_redis(redis_url, limit), limit)
        database, gauges, redis = await asyncio.gather(database_check, gauges_check, redis_check)
    else:
        database, gauges = await asyncio.gather(database_check, gauges_check)
        redis = None
    checks: dict[str, dict[str, Any]] = {
        "database": {"ok": True, "required": True} if database.ok else _failed(database)
    }
    if redis is not None:
        checks["redis"] = {"ok": True, "required": True} if redis.ok else _failed(redis)
    checks.update(_reported(runtime, gauges))
    is_ready = all(c["ok"] for c in checks.values() if c["required"])
    degraded = not all(c["ok"] for c in checks.values() if not c["required"])
    return web.json_response(
        {"status": "ready" if is_ready else "not ready", "degraded": degraded, "checks": checks},
        status=200 if is_ready else 503,
    )


def add_routes(app: web.Application) -> None:
    """Register ``GET /readyz`` on ``app``."""
    install(app)
    app.router.add_get(PATH, ready)
