"""/readyz: required checks (database, Redis) decide 200/503; outbox and pollers are
reported (docs/observability.md, "Readiness"); /healthz stays the database alone."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from gateway.app import create_app
from gateway.readiness import poller_leases
from storage import leases
from storage.db import Deadlines, create_engine
from tests.runtime_fixtures import make_harness
from tests.services import empty_redis_or_skip

EMAIL = {
    "imap_host": "imap.kantor.example",
    "imap_user": "pengaduan@kantor.example",
    "imap_password": "imap-password-x",
    "smtp_host": "smtp.kantor.example",
    "email_from": "pengaduan@kantor.example",
}


def dead_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def readyz(client: Any) -> tuple[int, dict[str, Any]]:
    resp = await client.get("/readyz")
    return resp.status, await resp.json()


async def test_ready_with_the_database_and_report_only_checks(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    h = await make_harness(tmp_path, **EMAIL)
    client = await aiohttp_client(create_app(h.runtime.settings, runtime=h.runtime))
    status, body = await readyz(client)
    assert status == 200 and body["status"] == "ready"
    assert body["checks"]["database"] == {"ok": True, "required": True}
    assert "redis" not in body["checks"]
    assert body["checks"]["outbox"]["ok"] is True
    assert body["checks"]["outbox"]["required"] is False
    (lease,) = poller_leases(h.runtime.settings)
    assert lease.startswith("imap:")
    # No process polls the mailbox: reported, not ready-deciding.
    assert body["checks"][f"poller:{lease}"] == {
        "ok": False,
        "required": False,
        "reason": "no lease",
    }
    assert body["degraded"] is True
    # This process takes the lease: its heartbeat is fresh, and it is here.
    assert await leases.acquire(h.runtime.sessions, lease, h.runtime.holder, 60)
    status, body = await readyz(client)
    check = body["checks"][f"poller:{lease}"]
    assert status == 200 and check["ok"] is True and check["here"] is True
    assert 0 < check["lease_remaining_seconds"] <= 60
    assert body["degraded"] is False
    await h.runtime.close()


async def test_not_ready_when_redis_does_not_answer(aiohttp_client: Any, tmp_path: Path) -> None:
    h = await make_harness(tmp_path, redis_url=f"redis://127.0.0.1:{dead_port()}/0")
    client = await aiohttp_client(create_app(h.runtime.settings, runtime=h.runtime))
    status, body = await readyz(client)
    assert status == 503 and body["status"] == "not ready"
    assert body["checks"]["database"]["ok"] is True
    redis = body["checks"]["redis"]
    assert redis["ok"] is False and redis["required"] is True
    assert redis["reason"]  # a class name or the deadline, never connection details
    assert "127.0.0.1" not in redis["reason"]
    # Liveness is not readiness: /healthz still answers 200.
    assert (await client.get("/healthz")).status == 200
    await h.runtime.close()


async def test_ready_with_a_live_redis(aiohttp_client: Any, tmp_path: Path) -> None:
    url = await empty_redis_or_skip()
    h = await make_harness(tmp_path, redis_url=url)
    client = await aiohttp_client(create_app(h.runtime.settings, runtime=h.runtime))
    status, body = await readyz(client)
    assert status == 200 and body["checks"]["redis"] == {"ok": True, "required": True}
    await h.runtime.close()


async def test_not_ready_when_the_database_is_down(aiohttp_client: Any, tmp_path: Path) -> None:
    h = await make_harness(tmp_path, healthz_timeout=1.5)
    client = await aiohttp_client(create_app(h.runtime.settings, runtime=h.runtime))
    assert (await readyz(client))[0] == 200
    gone = create_engine(
        f"postgresql+asyncpg://postgres@127.0.0.1:{dead_port()}/aduan",
        deadlines=Deadlines(connect=1.0, pool=1.0, statement=1.0, idle_in_transaction=5.0),
    )
    working = h.runtime.sessions.kw["bind"]
    h.runtime.sessions.configure(bind=gone)
    try:
        status, body = await readyz(client)
        assert status == 503 and body["status"] == "not ready"
        assert body["checks"]["database"]["ok"] is False
        assert body["checks"]["outbox"]["ok"] is False
        # /metrics still answers, saying the database is down.
        resp = await client.get("/metrics")
        assert resp.status == 200
        assert "aduan_database_up 0.0" in await resp.text()
    finally:
        h.runtime.sessions.configure(bind=working)
        await gone.dispose()
    await h.runtime.close()
