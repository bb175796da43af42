"""Fixtures for the Twilio channel: a fake Twilio API, and the whole gateway on SQLite.

Webhook signatures are computed with the twilio library's
``RequestValidator.compute_signature`` over the *public* URL, never our own HMAC.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from channels.base import Channel, ChannelName
from channels.twilio import INBOUND_PATH, SIGNATURE_HEADER, TwilioChannel
from gateway.app import create_app
from gateway.channel_configs import twilio_config
from gateway.config import Settings
from gateway.runtime import Runtime, build_runtime
from storage.migrate import upgrade
from storage.models import Message
from tests.harness.conversation import settle
from tests.harness.payloads import Payloads
from tests.harness.rows import count_rows
from tests.harness.settings import channel_settings
from tests.twilio.fake_twilio import FakeTwilio

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "twilio-test-auth-token-0123456789"
PUBLIC_URL = "https://aduan.example.go.id"
OFFICE = "+62211234567"
PAYLOADS = Payloads(Path(__file__).parent / "data")
#: A recorded webhook body from ``data/`` (form-encoded, as Twilio posts it).
load_form = PAYLOADS.form


def sign(url: str, form: Mapping[str, str], token: str = AUTH_TOKEN) -> str:
    """``X-Twilio-Signature`` for ``form`` posted to ``url``, by the twilio library."""
    return str(RequestValidator(token).compute_signature(url, dict(form)))


def twilio_settings(tmp_path: Path, fake: FakeTwilio, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_sms_from": "+62211234567",
        "twilio_whatsapp_from": "whatsapp:+62211234567",
        "twilio_api_base": fake.url,
        "twilio_sms_per_second": 200.0,
        "public_url": PUBLIC_URL,
    }
    return channel_settings(tmp_path, values, overrides)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    server = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    await server.start()
    yield server
    await server.close()


@dataclass
class Gateway:
    """The running gateway (runtime + aiohttp test client) and the fake Twilio."""

    runtime: Runtime
    client: Any
    fake: FakeTwilio

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    async def post(
        self,
        path: str,
        form: Mapping[str, str],
        *,
        signature: str | None = None,
        signed_url: str | None = None,
    ) -> Any:
        """POST ``form`` to ``path``, signed for the public URL unless told otherwise."""
        if signature is None:
            signature = sign(signed_url or PUBLIC_URL + path, form)
        return await self.client.post(path, data=dict(form), headers={SIGNATURE_HEADER: signature})

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until processing is done and nothing is being or due to be sent."""
        await settle(self.runtime, timeout)

    async def inbound_count(self) -> int:
        return await count_rows(self.runtime.sessions, Message, Message.direction == "in")


GatewayFactory = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def make_gateway(
    fake: FakeTwilio, tmp_path: Path, aiohttp_client: Any
) -> AsyncIterator[GatewayFactory]:
    """Build the gateway with both Twilio channels; keyword arguments override settings."""
    runtimes: list[Runtime] = []

    async def build(**overrides: Any) -> Gateway:
        settings = twilio_settings(tmp_path, fake, **overrides)
        channels: dict[str, Channel] = {}
        if settings.twilio_account_sid and settings.twilio_auth_token:
            channels = {
                "sms": TwilioChannel(twilio_config(settings), kind=ChannelName.SMS),
                "whatsapp": TwilioChannel(twilio_config(settings), kind=ChannelName.WHATSAPP),
            }
        runtime = await build_runtime(
            settings,
            use_redis=False,
            extra_channels=channels,
        )
        runtimes.append(runtime)
        await upgrade(runtime.engine)
        await runtime.start(run_channels=False)
        client = await aiohttp_client(create_app(settings, runtime=runtime, run_channels=False))
        return Gateway(runtime, client, fake)

    yield build
    for runtime in runtimes:
        await runtime.close()


@pytest.fixture
async def gateway(make_gateway: GatewayFactory) -> Gateway:
    return await make_gateway()


def inbound_form(kind: ChannelName, sender: str, sid: str, text: str) -> dict[str, str]:
    """The form Twilio posts for a text from ``sender`` to the office on ``kind``."""
    prefix = "whatsapp:" if kind is ChannelName.WHATSAPP else ""
    form = {
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": text,
        "To": prefix + OFFICE,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": prefix + sender,
        "ApiVersion": "2010-04-01",
    }
    if kind is ChannelName.WHATSAPP:
        form.update(MessageType="text", WaId=sender.lstrip("+"), ReferralNumMedia="0")
    return form


_sids = itertools.count(1)


@dataclass
class TwilioCitizen:
    """A phone talking to the gateway over Twilio (``kind``: SMS or WhatsApp): each
    message a signed webhook, each reply what the fake Twilio accepted for it."""

    gateway: Gateway
    kind: ChannelName
    sender: str

    @property
    def address(self) -> str:
        """``sender`` as Twilio writes it on ``kind`` (``whatsapp:+62…`` or ``+62…``)."""
        return ("whatsapp:" if self.kind is ChannelName.WHATSAPP else "") + self.sender

    async def say(self, text: str) -> None:
        sid = f"SM{self.kind.value}{next(_sids):028d}"
        resp = await self.gateway.post(
            INBOUND_PATH, inbound_form(self.kind, self.sender, sid, text)
        )
        assert resp.status == 200

    def received(self) -> list[str]:
        return [m["Body"] for m in self.gateway.fake.messages if m["To"] == self.address]

    async def settle(self) -> None:
        await self.gateway.settle()
