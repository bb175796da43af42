"""The arq worker (``aduan worker``): runs processing, sending and sweeps from Redis.

Jobs take ids, never objects, and are JSON-serialised (DESIGN.md). The
periodic sweep makes Redis a pure transport: a lost job is found again in the
database.
"""

from __future__ import annotations

from typing import Any

from arq.connections import RedisSettings

from gateway.config import Settings, load_settings
from gateway.runtime import Runtime, build_runtime


def redis_settings(settings: Settings) -> RedisSettings:
    """arq connection settings from ``ADUAN_REDIS_URL``."""
    if not settings.redis_url:
        raise ValueError("ADUAN_REDIS_URL is not set")
    return RedisSettings.from_dsn(settings.redis_url)


def _runtime(ctx: dict[str, Any]) -> Runtime:
    runtime = ctx["runtime"]
    assert isinstance(runtime, Runtime)
    return runtime


async def process_contact(ctx: dict[str, Any], contact_id: int) -> int:
    """Job: process the pending messages of one contact."""
    processor = _runtime(ctx).processor
    assert processor is not None
    return await processor.process_contact(contact_id)


async def send_outbox(ctx: dict[str, Any], outbox_id: int, idempotency_key: str) -> bool:
    """Job: send one outbox row (the idempotency key travels with the job)."""
    dispatcher = _runtime(ctx).dispatcher
    assert dispatcher is not None
    return await dispatcher.dispatch_one(outbox_id)


async def startup(ctx: dict[str, Any]) -> None:
    """Build the runtime. Inside the worker, work runs in-process: its sweeps find
    stale inbound messages, due outbox rows and expired drafts, and it runs the
    mailbox pollers (one per mailbox across processes, by lease)."""
    if isinstance(ctx.get("runtime"), Runtime):  # given by the caller (tests)
        return
    settings = ctx.get("settings") or load_settings()
    runtime = await build_runtime(settings, use_redis=False)
    ctx["runtime"] = runtime
    await runtime.start()


async def shutdown(ctx: dict[str, Any]) -> None:
    """Stop channels and dispose of the engine."""
    runtime = ctx.get("runtime")
    if isinstance(runtime, Runtime):
        await runtime.close()


def worker_settings(settings: Settings) -> dict[str, Any]:
    """arq ``Worker`` keyword arguments for ``aduan worker``."""
    return {
        "functions": [process_contact, send_outbox],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": redis_settings(settings),
        "ctx": {"settings": settings},
        "keep_result": 0,
        "max_jobs": 20,
        "job_timeout": 300,
    }
