"""Fixtures for the Telegram channel: the fake Bot API, recorded updates, a runtime."""

from __future__ import annotations

import copy
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.telegram import SECRET_HEADER, TelegramChannel
from gateway.channel_configs import telegram_config
from gateway.config import Settings
from gateway.runtime import Runtime, build_runtime
from storage.migrate import upgrade
from storage.models import Message
from tests.harness.conversation import settle
from tests.harness.payloads import Payloads
from tests.harness.settings import channel_settings
from tests.telegram.fake_bot_api import FakeBotApi

DATA = Path(__file__).parent / "data"
PAYLOADS = Payloads(DATA)
WEBHOOK_PATH = "/webhooks/telegram"
TOKEN = "123456:TEST-token-" + "a" * 30
SECRET = "webhook-Secret_42"
CHAT = 987654321


def sample(name: str) -> dict[str, Any]:
    """A recorded Update from ``tests/telegram/data/<name>.json``."""
    data: dict[str, Any] = PAYLOADS.json(name)
    return data


def fresh(update: dict[str, Any]) -> dict[str, Any]:
    """``update`` dated now (the intake engine does not answer stale messages)."""
    update = copy.deepcopy(update)
    for key in ("message", "edited_message"):
        if key in update:
            update[key]["date"] = int(time.time())
    return update


def text_update(update_id: int, text: str, *, chat_id: int = CHAT) -> dict[str, Any]:
    """The recorded text update with another id, text and chat, dated now."""
    update = fresh(sample("text"))
    update["update_id"] = update_id
    message = update["message"]
    message["message_id"] = update_id % 100000
    message["text"] = text
    message["chat"]["id"] = chat_id
    message["from"]["id"] = chat_id
    return update


@pytest.fixture
async def fake(aiohttp_server: Any) -> FakeBotApi:
    """A running fake Bot API for :data:`TOKEN`."""
    api = FakeBotApi(TOKEN)
    await api.serve(aiohttp_server, api.app)
    return api


def make_settings(tmp_path: Path, fake: FakeBotApi, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_token": TOKEN,
        "telegram_webhook_secret": SECRET,
        "telegram_api_base": fake.api_base,
        "public_url": "https://aduan.example.go.id",
    }
    return channel_settings(tmp_path, values, overrides)


@dataclass
class Stack:
    """A started runtime whose ``telegram`` channel talks to the fake."""

    runtime: Runtime
    channel: TelegramChannel
    fake: FakeBotApi

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until processing is done and nothing is being or due to be sent."""
        await settle(self.runtime, timeout)

    async def inbound(self) -> list[Message]:
        async with self.runtime.sessions() as s:
            return list(
                await s.scalars(
                    select(Message).where(Message.direction == "in").order_by(Message.id)
                )
            )

    def new_channel(self, holder: str, **options: Any) -> TelegramChannel:
        """Another channel on the same database (as another process would run)."""
        return TelegramChannel(
            telegram_config(self.runtime.settings),
            self.runtime.sessions,
            self.runtime.accept,
            holder=holder,
            **options,
        )


async def make_stack(
    tmp_path: Path,
    fake: FakeBotApi,
    *,
    channel_options: dict[str, Any] | None = None,
    **settings: Any,
) -> Stack:
    """Build, migrate and start a runtime with the Telegram channel in ``runtime.channels``."""
    runtime = await build_runtime(make_settings(tmp_path, fake, **settings), use_redis=False)
    channel = TelegramChannel(
        telegram_config(runtime.settings),
        runtime.sessions,
        runtime.accept,
        holder="t",
        **(channel_options or {}),
    )
    runtime.channels["telegram"] = channel
    await upgrade(runtime.engine)
    await runtime.start(run_channels=False)
    return Stack(runtime, channel, fake)


@pytest.fixture
async def stack(tmp_path: Path, fake: FakeBotApi) -> AsyncIterator[Stack]:
    s = await make_stack(tmp_path, fake)
    yield s
    await s.runtime.close()


StackFactory = Callable[..., Awaitable[Stack]]


async def post_update(client: Any, update: Any, headers: dict[str, str] | None = None) -> Any:
    """POST ``update`` (a dict, or raw bytes) to the webhook with the secret header
    (``headers`` replaces it)."""
    data = update if isinstance(update, bytes) else json.dumps(update).encode()
    return await client.post(
        WEBHOOK_PATH,
        data=data,
        headers={"Content-Type": "application/json", **(headers or {SECRET_HEADER: SECRET})},
    )


_update_ids = itertools.count(700)


@dataclass
class TelegramCitizen:
    """A Telegram user talking to the gateway: each message an update posted to
    the webhook through ``client``, each reply a ``sendMessage`` to their chat."""

    client: Any
    stack: Stack
    chat_id: int = CHAT

    async def say(self, text: str) -> None:
        resp = await post_update(
            self.client, text_update(next(_update_ids), text, chat_id=self.chat_id)
        )
        assert resp.status == 200, await resp.text()

    def received(self) -> list[str]:
        return self.stack.fake.texts(self.chat_id)

    async def settle(self) -> None:
        await self.stack.settle()


@dataclass
class PolledTelegramCitizen(TelegramCitizen):
    """The same user with the bot on long polling: each message an update queued at
    the fake Bot API and fetched by one ``getUpdates`` of the channel (``client``
    unused)."""

    async def say(self, text: str) -> None:
        await self.stack.fake.push(text_update(next(_update_ids), text, chat_id=self.chat_id))
        assert await self.stack.channel.poll_once() == 1
