"""/metrics: counters move after webhooks, database gauges, the bearer token, and
several processes' files added up (docs/observability.md)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from channels.api import SIGNATURE_HEADER, sign
from gateway.app import create_app
from gateway.db_gauges import read_gauges
from gateway.metrics import process_exposition
from gateway.metrics_dir import ENV, fold_dead
from storage.models import Complaint, OutboxMessage
from tests.runtime_fixtures import make_harness

SECRET = "s3cret-for-tests"
TOKEN = "metrics-token-0123456789"
ROOT = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition: (name, labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def api_body(external_id: str) -> bytes:
    return json.dumps(
        {
            "id": external_id,
            "from": {"email": "Budi@Example.com", "name": "Budi Santoso"},
            "text": "Laporan hasil uji kami terlambat dua minggu",
            "fields": {"customer_name": "PT Sinar Jaya"},
        }
    ).encode()


async def scrape(client: Any, **headers: str) -> dict[Any, float]:
    resp = await client.get("/metrics", headers=headers)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    return samples(await resp.text())


async def test_counters_move_after_webhooks(aiohttp_client: Any, tmp_path: Path) -> None:
    h = await make_harness(tmp_path, webhook_secret=SECRET)
    client = await aiohttp_client(create_app(h.runtime.settings, runtime=h.runtime))
    before = await scrape(client)
    raw = api_body("metrics-1")
    for _ in range(2):  # the second delivery is a duplicate, absorbed
        resp = await client.post(
            "/webhooks/api", data=raw, headers={SIGNATURE_HEADER: sign(SECRET, raw)}
        )
        assert resp.status == 200
    await h.settle()
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("aduan_inbound_messages_total", channel="api") == 1
    assert moved("aduan_inbound_duplicates_total", channel="api") == 1
    assert moved("aduan_webhook_duration_seconds_count", route="/webhooks/api", channel="api") == 2
    assert (
        moved("aduan_http_requests_total", route="/webhooks/api", method="POST", status="200") == 2
    )
    assert value(after, "aduan_database_up") == 1
    assert ("aduan_outbox_backlog", frozenset({("status", "pending")})) in after
    assert value(after, "aduan_processing_lag_seconds") == 0  # processed by now
    await h.runtime.close()


async def test_database_gauges_at_a_given_time(aiohttp_client: Any, tmp_path: Path) -> None:
    h = await make_harness(tmp_path, webhook_secret=SECRET)
    client = await aiohttp_client(create_app(h.runtime.settings, runtime=h.runtime))
    raw = api_body("metrics-2")
    resp = await client.post(
        "/webhooks/api", data=raw, headers={SIGNATURE_HEADER: sign(SECRET, raw)}
    )
    assert resp.status == 200
    await h.settle()
    async with h.runtime.sessions() as s:
        due = await s.scalar(select(func.max(Complaint.step_due_at)))
        assert due is not None  # the default profile gives the first step a time standard
    async with h.runtime.sessions() as s, s.begin():
        s.add(
            OutboxMessage(
                idempotency_key="gauge-test",
                channel="sms",
                recipient="+6281200000000",
                body="x",
                created_at=due,
                next_attempt_at=due,
            )
        )
    later = due + timedelta(hours=1)
    gauges = await read_gauges(h.runtime.sessions, now=later)
    assert gauges.breaches == {"complaint": 1, "appeal": 0}
    assert gauges.outbox_backlog["pending"] == 1
    assert gauges.outbox_due_wait == pytest.approx(3600)
    assert gauges.outbox_oldest_age == pytest.approx(3600)
    assert gauges.unprocessed == 0 and gauges.processing_lag == 0
    before = await read_gauges(h.runtime.sessions, now=due - timedelta(seconds=1))
    assert before.breaches["complaint"] == 0
    await h.runtime.close()


async def test_token_is_required_when_set(aiohttp_client: Any, tmp_path: Path) -> None:
    h = await make_harness(tmp_path, metrics_token=TOKEN)
    client = await aiohttp_client(create_app(h.runtime.settings, runtime=h.runtime))
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ):
        resp = await client.get("/metrics", headers=headers)
        assert resp.status == 401, headers
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert TOKEN not in await resp.text()
    found = await scrape(client, Authorization=f"Bearer {TOKEN}")
    assert value(found, "aduan_database_up") == 1
    await h.runtime.close()


RECORDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from gateway.metrics_dir import enable_multiprocess
    enable_multiprocess(Path(sys.argv[1]))
    from gateway.metrics import count_inbound, count_send_failure, observe_request
    for _ in range(int(sys.argv[2])):
        count_inbound("sms", duplicate=False)
    count_send_failure("sms", "TemporaryError")
    observe_request("/webhooks/twilio", "POST", 200, 0.02)
    print("recorded", flush=True)
    sys.stdin.readline()  # stay alive until told to end
    """
)


def start_recorder(directory: Path, times: int) -> subprocess.Popen[str]:
    """A process that records ``times`` inbound SMS and stays alive until its stdin closes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(ENV, None)
    child = subprocess.Popen(
        [sys.executable, "-c", RECORDER, str(directory), str(times)],
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "recorded"
    return child


def end(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.close()
    assert child.wait(timeout=60) == 0


def test_two_processes_files_are_added_up_and_folded_when_dead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "metrics"
    first = start_recorder(directory, 3)
    second = start_recorder(directory, 4)  # starts while the first runs: folds nothing
    files = sorted(p.name for p in directory.glob("*.db"))
    assert files == sorted(
        f"{kind}_{child.pid}.db" for kind in ("counter", "histogram") for child in (first, second)
    )
    monkeypatch.setenv(ENV, str(directory))

    def totals() -> dict[Any, float]:
        return samples(process_exposition().decode())

    found = totals()
    assert value(found, "aduan_inbound_messages_total", channel="sms") == 7
    assert (
        value(found, "aduan_send_failures_total", channel="sms", error_class="TemporaryError") == 2
    )
    assert (
        value(
            found,
            "aduan_webhook_duration_seconds_count",
            route="/webhooks/twilio",
            channel="twilio",
        )
        == 2
    )
    end(first)
    end(second)
    # Both recorders have ended: a starting process folds their files into one per kind.
    (directory / "gauge_livesum_999999999.db").write_bytes(b"")
    assert fold_dead(directory) == len(files) + 1
    assert sorted(p.name for p in directory.glob("*.db")) == [
        "counter_dead.db",
        "histogram_dead.db",
    ]
    assert totals() == found
    third = start_recorder(directory, 1)  # a third process adds to the folded totals
    assert value(totals(), "aduan_inbound_messages_total", channel="sms") == 8
    end(third)


def test_settings_refuse_a_short_token_and_an_unknown_log_format() -> None:
    from gateway.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match=r"ADUAN_METRICS_TOKEN: .*at least 16"):
        load_settings(metrics_token="short")
    with pytest.raises(ConfigError, match="ADUAN_LOG_FORMAT"):
        load_settings(log_format="yaml")
    settings = load_settings(data_dir=Path("/srv/x"))
    assert settings.effective_metrics_dir == Path("/srv/x/metrics")


def test_an_unusable_metrics_directory_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway.cli import main

    for name in [n for n in os.environ if n.startswith("ADUAN_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv(ENV, raising=False)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("ADUAN_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ADUAN_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("ADUAN_METRICS_DIR", str(blocker / "metrics"))
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        assert main(["worker"]) == 2
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("aduan: ADUAN_METRICS_DIR: cannot use")
    assert ENV not in os.environ
