"""Fixtures for the WhatsApp Cloud API channel: a fake Graph server, settings,
signed webhook posts and a started runtime with the real channel."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from channels.ratelimit import Pacer
from channels.whatsapp_cloud import SIGNATURE_HEADER, WhatsAppCloudChannel
from gateway.app import create_app
from gateway.channel_configs import whatsapp_config
from gateway.config import Settings
from gateway.runtime import Runtime, build_runtime
from storage.migrate import upgrade
from tests.harness.conversation import settle
from tests.harness.payloads import Payloads
from tests.harness.settings import channel_settings
from tests.harness.webhooks import hmac_sha256
from tests.whatsapp_cloud.fake_graph import FakeGraph

DATA = Path(__file__).parent / "data"
PAYLOADS = Payloads(DATA)
TOKEN = "EAAtest-access-token-not-real"
APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "verify-me-please"
PHONE_NUMBER_ID = "1234567890"


def payload(name: str, *, live: bool = False) -> dict[str, Any]:
    """A recorded webhook body from ``data/<name>.json``.

    ``live`` sets every message and status ``timestamp`` to now, as Meta's are
    on arrival: the recordings are older than WhatsApp's 24-hour window, and
    a reply to a message that old must go as a template.
    """
    data: dict[str, Any] = PAYLOADS.json(name)
    if live:
        now = str(int(time.time()))
        for entry in data.get("entry", []):
            for change in entry.get("changes", []):
                value = change.get("value", {})
                for item in [*value.get("messages", []), *value.get("statuses", [])]:
                    item["timestamp"] = now
    return data


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    """``X-Hub-Signature-256`` computed independently of the code under test."""
    return hmac_sha256(secret, body)


def make_settings(tmp_path: Path, api_base: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "whatsapp_token": TOKEN,
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_verify_token": VERIFY_TOKEN,
        "whatsapp_phone_number_id": PHONE_NUMBER_ID,
        "whatsapp_api_base": api_base,
    }
    return channel_settings(tmp_path, values, overrides)


def fast_pacer() -> Pacer:
    return Pacer(per_key=None, overall=None)


@pytest.fixture
async def graph(aiohttp_server: Any) -> FakeGraph:
    fake = FakeGraph(TOKEN)
    await fake.serve(aiohttp_server, fake.app)
    return fake


@pytest.fixture
def settings(tmp_path: Path, graph: FakeGraph) -> Settings:
    return make_settings(tmp_path, graph.base_url)


@pytest.fixture
async def channel(settings: Settings) -> AsyncIterator[WhatsAppCloudChannel]:
    ch = WhatsAppCloudChannel(whatsapp_config(settings), pacer=fast_pacer())
    await ch.start()
    yield ch
    await ch.stop()


@dataclass
class Gateway:
    """A started runtime with the real WhatsApp channel and an HTTP test client."""

    runtime: Runtime
    channel: WhatsAppCloudChannel
    client: Any
    graph: FakeGraph

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until processing is done and nothing is being or due to be sent."""
        await settle(self.runtime, timeout)

    async def post(self, body: dict[str, Any] | bytes, *, sign: bool = True) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if sign:
            headers[SIGNATURE_HEADER] = signature(raw)
        return await self.client.post("/webhooks/whatsapp", data=raw, headers=headers)


MakeGateway = Callable[..., Any]


@pytest.fixture
def make_gateway(
    tmp_path: Path, graph: FakeGraph, aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Any]:
    """``await make_gateway(pacer=None, default_pacing=False, **settings)`` → a
    started :class:`Gateway`."""

    async def make(
        *, pacer: Pacer | None = None, default_pacing: bool = False, **overrides: Any
    ) -> Gateway:
        settings = make_settings(tmp_path, graph.base_url, **overrides)
        if default_pacing:  # the channel's own: 1 message a second per recipient
            channel = WhatsAppCloudChannel(whatsapp_config(settings))
        else:
            channel = WhatsAppCloudChannel(whatsapp_config(settings), pacer=pacer or fast_pacer())
        runtime = await build_runtime(
            settings, use_redis=False, extra_channels={"whatsapp": channel}
        )
        await upgrade(runtime.engine)
        await runtime.start(run_channels=False)
        await channel.start()
        client = await aiohttp_client(create_app(settings, runtime=runtime, run_channels=False))
        return Gateway(runtime, channel, client, graph)

    return make


WA_ID = "6281234567890"
_message_ids = itertools.count(1)


def inbound(text: str, *, wa_id: str = WA_ID, n: int | None = None) -> dict[str, Any]:
    """A text from ``wa_id`` in Meta's shape, timestamped now, without a profile
    name (the bot then asks for the name)."""
    n = next(_message_ids) if n is None else n
    body = payload("text", live=True)
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"] = [{"wa_id": wa_id, "profile": {}}]
    message = value["messages"][0]
    message["from"] = wa_id
    message["id"] = f"wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFkNPTlZFUlNBVElPTi{n:04d}"
    message["text"]["body"] = text
    return body


@dataclass
class WhatsAppCitizen:
    """A WhatsApp user talking to the gateway: each message a signed webhook,
    each reply the ``text.body`` of a send the fake Graph API received for them."""

    gateway: Gateway
    wa_id: str = WA_ID

    async def say(self, text: str) -> None:
        resp = await self.gateway.post(inbound(text, wa_id=self.wa_id))
        assert resp.status == 200

    def received(self) -> list[str]:
        return [s["text"]["body"] for s in self.gateway.graph.sends if s["to"] == self.wa_id]

    async def settle(self) -> None:
        await self.gateway.settle()
