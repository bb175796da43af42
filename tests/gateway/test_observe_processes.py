"""Real ``aduan serve`` and ``aduan worker`` processes: the serve's ``/metrics`` shows
the worker's counters (one host, one metrics directory), ``/readyz`` turns 503 when
Redis does not answer, and ``ADUAN_LOG_FORMAT=json`` gives one JSON object per line
(docs/observability.md)."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import make_engine
from tests.gateway.test_clean_stop import (
    aduan,
    exit_status,
    post_api_message,
    serve_env_without_redis,
    until,
    until_serving,
)
from tests.services import free_port

API_SECRET = "observe-api-secret"
TOKEN = "observe-metrics-token-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def total(text: str, name: str, **labels: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


async def test_serve_shows_the_workers_metrics_and_logs_json(tmp_path: Path) -> None:
    engine = await make_engine("postgresql", tmp_path)
    await engine.dispose()
    port = free_port()
    env = serve_env_without_redis(
        tmp_path,
        port,
        API_SECRET,
        ADUAN_LOG_FORMAT="json",
        ADUAN_METRICS_TOKEN=TOKEN,
        ADUAN_HEALTHZ_TIMEOUT="1",
    )
    serve = aduan(["serve"], env, tmp_path)
    worker: Any = None
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def metrics() -> str:
                async with http.get(f"{base}/metrics", headers=AUTH) as resp:
                    assert resp.status == 200
                    return await resp.text()

            await until_serving(http, serve, base, tmp_path / "serve.err")
            async with http.get(f"{base}/metrics") as resp:
                assert resp.status == 401
            async with http.get(f"{base}/readyz") as resp:
                body = await resp.json()
                assert resp.status == 503, body
                assert body["checks"]["redis"]["ok"] is False
                assert body["checks"]["database"]["ok"] is True
            await post_api_message(http, base, "portal-observe-1", API_SECRET)
            assert total(await metrics(), "aduan_inbound_messages_total", channel="api") == 1
            # The serve hands work to Redis and sweeps nothing itself; the worker
            # (Redis away: it polls the database) sweeps, in its own process.
            assert total(await metrics(), "aduan_sweeps_total") == 0
            worker = aduan(["worker"], env, tmp_path)

            async def worker_swept() -> bool:
                if worker.poll() is not None:
                    pytest.fail((tmp_path / "worker.err").read_text())
                return total(await metrics(), "aduan_sweeps_total", sweep="time_standards") >= 1

            await until(worker_swept)
            text = await metrics()
            assert total(text, "aduan_database_up") == 1
            assert total(text, "aduan_unprocessed_messages") in (0, 1)
        for process in (worker, serve):
            process.send_signal(signal.SIGTERM)
        assert await exit_status(worker, tmp_path / "worker.err") == 0
        assert await exit_status(serve, tmp_path / "serve.err") == 0
    finally:
        for process in (worker, serve):
            if process is not None and process.poll() is None:
                process.kill()
    files = sorted(p.name for p in (tmp_path / "metrics").glob("*.db"))
    assert any(f.startswith("counter_") for f in files), files
    err = (tmp_path / "serve.err").read_text()
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "aduan.access"]
    posted = next(line for line in access if line["route"] == "/webhooks/api")
    assert posted["status"] == 200 and len(posted["request_id"]) == 32
    assert "budi@example.com" not in err
    assert TOKEN not in err and API_SECRET not in err
