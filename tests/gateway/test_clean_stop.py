"""Real ``aduan worker`` and ``aduan serve`` processes: clean stop, start without Redis.

SIGTERM to a worker in the middle of a provider call lets the call finish,
records it, and exits 0 without a traceback: the reply goes out once.
``aduan serve`` pointed at a Redis that is not there starts, stores a
webhook's message, and stops cleanly too.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from channels.base import ChannelName, OutboundMessage, SendResult
from gateway.config import load_settings
from gateway.runtime import build_runtime
from storage.models import Message, OutboxMessage, OutboxStatus
from tests.conftest import make_engine
from tests.fakes import RecordingChannel, inbound
from tests.harness.rows import wait_until
from tests.harness.webhooks import hmac_sha256
from tests.runtime_fixtures import COMPLETE_COMPLAINT
from tests.services import POSTGRES_URL, empty_redis_or_skip, free_port
from tests.twilio.fake_twilio import FakeTwilio

REPO = Path(__file__).resolve().parents[2]
TWILIO_SID = "AC" + "2" * 32
TWILIO_TOKEN = "clean-stop-token"
SMS_FROM = "+62211234567"
API_SECRET = "clean-stop-api-secret"
#: How long the fake provider takes to answer a send, in seconds.
SLOW_SEND_SECONDS = 3.0


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of an ``aduan`` child process: no inherited ADUAN_* setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env.update(
        ADUAN_DATABASE_URL=POSTGRES_URL,
        ADUAN_DATA_DIR=str(tmp_path),
        ADUAN_TURN_GAP_SECONDS="0",
        ADUAN_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def serve_env_without_redis(
    tmp_path: Path, port: int, secret: str = API_SECRET, **extra: str
) -> dict[str, str]:
    """:func:`child_env` for ``aduan serve`` on ``127.0.0.1:port`` with ``secret``
    as the API webhook secret and a Redis URL nothing listens on; ``extra`` on top."""
    return child_env(
        tmp_path,
        ADUAN_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        ADUAN_HTTP_HOST="127.0.0.1",
        ADUAN_HTTP_PORT=str(port),
        ADUAN_WEBHOOK_SECRET=secret,
        **extra,
    )


def aduan(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.Popen[bytes]:
    """Start ``aduan <args>`` with stdout and stderr in files under ``tmp_path``."""
    out = (tmp_path / f"{args[0]}.out").open("wb")
    err = (tmp_path / f"{args[0]}.err").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", *args], cwd=REPO, env=env, stdout=out, stderr=err
    )


async def exit_status(
    process: subprocess.Popen[bytes],
    log: Path,
    timeout: float = 90.0,
) -> int:
    """The exit status of ``process``; fails (with the end of ``log``) after ``timeout`` s."""
    try:
        return await asyncio.to_thread(process.wait, timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        tail = "\n".join(log.read_text().splitlines()[-30:])
        pytest.fail(f"the process did not stop within {timeout} s:\n{tail}")


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    await wait_until(check, timeout=60.0, step=0.1)


async def until_serving(
    http: aiohttp.ClientSession, serve: subprocess.Popen[bytes], base: str, err: Path
) -> None:
    """Wait until the ``aduan serve`` child answers ``/healthz`` 200; fail with its
    stderr if it exited first."""

    async def healthy() -> bool:
        if serve.poll() is not None:
            pytest.fail(err.read_text())
        try:
            async with http.get(f"{base}/healthz") as resp:
                return resp.status == 200
        except aiohttp.ClientError:
            return False

    await until(healthy)


async def post_api_message(
    http: aiohttp.ClientSession, base: str, message_id: str, secret: str = API_SECRET
) -> None:
    """POST one message ("halo" from budi@example.com) signed with ``secret`` to
    ``/webhooks/api``; asserts it was answered 200."""
    raw = json.dumps(
        {"id": message_id, "from": {"email": "budi@example.com"}, "text": "halo"}
    ).encode()
    sig = hmac_sha256(secret, raw)
    async with http.post(
        f"{base}/webhooks/api",
        data=raw,
        headers={"Content-Type": "application/json", "X-Aduan-Signature": sig},
    ) as resp:
        assert resp.status == 200, await resp.text()


async def slow_twilio() -> tuple[FakeTwilio, asyncio.Event]:
    """The fake Twilio API answering each send after :data:`SLOW_SEND_SECONDS`;
    the event is set when the first send arrives."""
    fake = FakeTwilio(TWILIO_SID, TWILIO_TOKEN)
    arrived = asyncio.Event()

    @web.middleware
    async def slow(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method == "POST":
            arrived.set()
            await asyncio.sleep(SLOW_SEND_SECONDS)
        response: web.StreamResponse = await handler(request)
        return response

    app = fake.app()
    app.middlewares.append(slow)
    fake.server = TestServer(app)
    await fake.server.start_server()
    return fake, arrived


async def test_sigterm_lets_a_worker_finish_its_send_and_exit_cleanly(tmp_path: Path) -> None:
    redis_url = await empty_redis_or_skip()
    engine = await make_engine("postgresql", tmp_path)
    await engine.dispose()
    fake, arrived = await slow_twilio()
    settings = load_settings(
        database_url=POSTGRES_URL,
        data_dir=tmp_path,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_sms_from=SMS_FROM,
        twilio_api_base=fake.url,
    )
    # Store an SMS as a gateway would; the worker processes it and answers.
    store = await build_runtime(settings, use_redis=False)
    await store.batcher.submit(inbound(ChannelName.SMS, "SM-stop-1", "+6281234567890", "halo"))
    await store.engine.dispose()

    env = child_env(
        tmp_path,
        ADUAN_REDIS_URL=redis_url,
        ADUAN_TWILIO_ACCOUNT_SID=TWILIO_SID,
        ADUAN_TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        ADUAN_TWILIO_SMS_FROM=SMS_FROM,
        ADUAN_TWILIO_API_BASE=fake.url,
    )
    worker = aduan(["worker"], env, tmp_path)
    try:
        await asyncio.wait_for(arrived.wait(), 60)  # a send is in flight now
        worker.send_signal(signal.SIGTERM)
        status = await exit_status(worker, tmp_path / "worker.err")
    finally:
        if worker.poll() is None:
            worker.kill()
        await fake.close()
    stderr = (tmp_path / "worker.err").read_text() + (tmp_path / "worker.out").read_text()
    assert status == 0, stderr
    assert "Traceback" not in stderr
    assert "worker: stopped" in stderr

    async with store.sessions() as session:
        rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    await store.engine.dispose()
    assert rows and len(fake.messages) >= 1
    # Every send the provider answered is recorded as sent, none twice, and
    # nothing was left claimed ("sending") for another process to repeat.
    assert [r.status for r in rows if r.status == OutboxStatus.SENDING] == []
    sent_bodies = [r.body for r in rows if r.status == OutboxStatus.SENT]
    assert sorted(sent_bodies) == sorted(fake.bodies())
    assert len(set(fake.bodies())) == len(fake.bodies())


async def test_serve_starts_without_redis_and_stores_a_webhooks_message(tmp_path: Path) -> None:
    engine = await make_engine("postgresql", tmp_path)
    await engine.dispose()
    port = free_port()
    env = serve_env_without_redis(tmp_path, port)
    serve = aduan(["serve"], env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await until_serving(http, serve, base, tmp_path / "serve.err")
            await post_api_message(http, base, "portal-redis-1")
        serve.send_signal(signal.SIGTERM)
        status = await exit_status(serve, tmp_path / "serve.err")
    finally:
        if serve.poll() is None:
            serve.kill()
    stderr = (tmp_path / "serve.err").read_text()
    assert status == 0, stderr
    assert "Traceback" not in stderr
    engine = await make_engine_without_reset()
    try:
        async with engine.connect() as conn:
            stored = (
                await conn.execute(select(Message.external_id).where(Message.direction == "in"))
            ).all()
    finally:
        await engine.dispose()
    assert [row[0] for row in stored] == ["portal-redis-1"]


async def make_engine_without_reset() -> Any:
    from storage.db import create_engine

    return create_engine(POSTGRES_URL)


class HangingChannel(RecordingChannel):
    """An email channel whose sends never answer (a hung provider)."""

    def __init__(self) -> None:
        super().__init__(ChannelName.EMAIL, interactive=False)
        self.calls = 0

    async def send(self, message: OutboundMessage) -> SendResult:
        self.calls += 1
        await asyncio.Event().wait()
        raise AssertionError("never answered")


async def test_a_second_stop_cancels_a_hung_send_whose_claim_lapses_within_30_s(
    tmp_path: Path,
) -> None:
    from gateway.outbox import CLAIM_MARGIN_SECONDS, SEND_TIMEOUT_SECONDS
    from gateway.worker import WorkerService

    engine = await make_engine("postgresql", tmp_path)
    await engine.dispose()
    settings = load_settings(
        database_url=POSTGRES_URL,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",  # away: the polling does the work
        data_dir=tmp_path,
    )
    hanging = HangingChannel()
    runtime = await build_runtime(settings, use_redis=False, extra_channels={"email": hanging})
    assert runtime.dispatcher is not None
    assert runtime.dispatcher.lease_seconds == SEND_TIMEOUT_SECONDS + CLAIM_MARGIN_SECONDS == 30
    # Stored without a request: the worker's database polling finds it.
    await runtime.batcher.submit(
        inbound(
            ChannelName.EMAIL,
            "hang-1",
            "budi@example.com",
            COMPLETE_COMPLAINT,
        )
    )
    service = WorkerService(settings, runtime=runtime, run_channels=False)
    running = asyncio.create_task(service.run())

    async def hung() -> bool:
        return hanging.calls > 0

    await until(hung)
    service.stop()
    await asyncio.sleep(0.5)
    assert not running.done()  # a clean stop waits for the send in flight
    service.stop()  # the second request forces it
    await asyncio.wait_for(running, 30)
    assert service.forced and runtime.closed

    check = await make_engine_without_reset()
    try:
        async with check.connect() as conn:
            [(status, lease_until)] = (
                await conn.execute(select(OutboxMessage.status, OutboxMessage.lease_until))
            ).all()
            now = (await conn.execute(select(func.now()))).scalar_one()
    finally:
        await check.dispose()
    # Left claimed by the cancelled send: any worker sends it again once the
    # claim lapses, at most 30 s from now.
    assert status == OutboxStatus.SENDING
    assert lease_until is not None
    assert (lease_until - now).total_seconds() <= SEND_TIMEOUT_SECONDS + CLAIM_MARGIN_SECONDS
