"""Helpers for tests that need an outside service (PostgreSQL, Redis, Dovecot).

A test needing a service that is absent is skipped with a visible reason, or
fails when ``ADUAN_REQUIRE_SERVICES=1`` (CI).
"""

from __future__ import annotations

import os

import pytest

POSTGRES_URL = os.environ.get(
    "ADUAN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("ADUAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def services_required() -> bool:
    """True when CI demands every service (``ADUAN_REQUIRE_SERVICES=1``)."""
    return os.environ.get("ADUAN_REQUIRE_SERVICES", "") not in ("", "0", "false", "no")


def unavailable(service: str, reason: str) -> None:
    """Skip the current test, or fail it when services are required."""
    message = f"{service} unavailable: {reason}"
    if services_required():
        pytest.fail(message + " (ADUAN_REQUIRE_SERVICES=1)")
    pytest.skip(message)


async def empty_redis_or_skip() -> str:
    """The test Redis (``ADUAN_TEST_REDIS_URL``), its database emptied; skips the
    test (fails in CI) when Redis does not answer."""
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
        await client.flushdb()
    except Exception as exc:
        unavailable("Redis", f"{REDIS_URL}: {exc!r}")
    finally:
        await client.aclose()
    return REDIS_URL
