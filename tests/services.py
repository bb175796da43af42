"""Helpers for tests that need an outside service (PostgreSQL, Redis, Dovecot, nginx).

A test needing a service that is absent is skipped with a visible reason, or
fails when ``ADUAN_REQUIRE_SERVICES=1`` (CI). :func:`free_port` and
:func:`self_signed` serve the tests that start a local server of their own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed(directory: Path, *, dns: str | None = None) -> tuple[Path, Path] | None:
    """A throw-away self-signed certificate and key (PEM files ``cert.pem`` and
    ``key.pem`` in ``directory``) for ``127.0.0.1`` and, given ``dns``, that host
    name too (its common name then, ``127.0.0.1`` otherwise), valid two days.

    Made by the openssl command; ``None`` when it is missing or fails.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    names = "IP:127.0.0.1" + (f",DNS:{dns}" if dns else "")
    result = subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={dns or '127.0.0.1'}",
            "-addext",
            f"subjectAltName={names}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        capture_output=True,
        check=False,
        timeout=60,
    )
    return (cert, key) if result.returncode == 0 else None
