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

#: The pytest-xdist worker this process is (``gw0``, ``gw1``, …), or ``""``
#: when the suite runs in one process. Each worker gets a database and a Redis
#: database of its own, so tests running at once never share one.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
#: Redis databases per server (the default ``databases 16``).
REDIS_DATABASES = 16


def worker_number(worker: str = WORKER) -> int:
    """``gw3`` → 3; 0 outside pytest-xdist."""
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def postgres_url_for(base: str, worker: str = WORKER) -> str:
    """``base`` (a PostgreSQL URL) with ``_<worker>`` appended to its database
    name under pytest-xdist (``…/test`` → ``…/test_gw1``); ``base`` otherwise.
    :func:`ensure_worker_database` creates that database."""
    if not worker:
        return base
    from sqlalchemy.engine import make_url

    url = make_url(base)
    return url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)


def redis_url_for(base: str, worker: str = WORKER) -> str:
    """``base`` (a Redis URL ending in ``/<n>``) with the database counted down
    by the worker's number under pytest-xdist (``/15`` → ``/13`` for ``gw2``)."""
    if not worker:
        return base
    head, _, index = base.rpartition("/")
    number = int(index) if index.isdigit() else 0
    return f"{head}/{(number - worker_number(worker)) % REDIS_DATABASES}"


BASE_POSTGRES_URL = os.environ.get(
    "ADUAN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
POSTGRES_URL = postgres_url_for(BASE_POSTGRES_URL)
REDIS_URL = redis_url_for(os.environ.get("ADUAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))


async def ensure_worker_database() -> None:
    """Create this worker's PostgreSQL database (:data:`POSTGRES_URL`) when it
    is missing, connecting to the base database; nothing outside pytest-xdist.
    An unreachable server is left for the tests to report."""
    if POSTGRES_URL == BASE_POSTGRES_URL:
        return
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    name = make_url(POSTGRES_URL).database
    engine = create_async_engine(BASE_POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            query = text("SELECT 1 FROM pg_database WHERE datname = :name")
            if not await conn.scalar(query, {"name": name}):
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:  # the tests report an unreachable server themselves
        pass
    finally:
        await engine.dispose()


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
