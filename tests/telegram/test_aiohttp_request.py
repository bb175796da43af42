"""The Bot API over aiohttp: python-telegram-bot's ``Bot`` with
:class:`channels.telegram.request.AiohttpRequest` (docs/channels.md,
"Telegram's HTTP client") — forms and uploads on the wire, timeouts (read,
pool, the long poll's) as PTB's ``TimedOut``, network errors as its
``NetworkError``, no redirect followed, and no httpx client made."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import web
from pydantic import SecretStr
from telegram.error import NetworkError, TimedOut

from channels.base import ChannelName, InboundMessage, OutboundMessage
from channels.errors import TemporaryError
from channels.http import ChannelSession
from channels.ratelimit import Pacer
from channels.telegram import TelegramChannel, TelegramConfig, classify, make_bot
from channels.telegram.request import AiohttpRequest, client_timeout
from gateway.channel_configs import telegram_config
from storage.db import SessionFactory
from tests.telegram.conftest import CHAT, TOKEN, make_settings, text_update
from tests.telegram.fake_bot_api import BOT_USER, FakeBotApi

SESSION_TIMEOUT = aiohttp.ClientTimeout(total=30)


@dataclass
class Call:
    """One Bot API call as it arrived: method, content type, fields and files."""

    method: str
    content_type: str
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str | None, bytes, str]] = field(default_factory=dict)


@dataclass
class Wire:
    """A small Bot API that records the wire format of each call."""

    calls: list[Call] = field(default_factory=list)
    delay: float = 0.0
    base: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if method == "moved":
            raise web.HTTPFound(f"/bot{TOKEN}/elsewhere")
        call = Call(method, request.content_type)
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                assert isinstance(part, aiohttp.BodyPartReader)
                content = await part.read()
                if part.filename is None:
                    call.fields[str(part.name)] = content.decode()
                else:
                    ctype = part.headers.get("Content-Type", "")
                    call.files[str(part.name)] = (part.filename, bytes(content), ctype)
        elif request.can_read_body:
            call.fields = {k: str(v) for k, v in (await request.post()).items()}
        self.calls.append(call)
        await asyncio.sleep(self.delay)
        if method == "getMe":
            return web.json_response({"ok": True, "result": BOT_USER})
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": []})
        message = {"message_id": 7, "date": 0, "chat": {"id": CHAT, "type": "private"}}
        return web.json_response({"ok": True, "result": message})

    @property
    def config(self) -> TelegramConfig:
        return TelegramConfig(telegram_token=SecretStr(TOKEN), telegram_api_base=f"{self.base}/bot")

    def url(self, method: str) -> str:
        return f"{self.base}/bot{TOKEN}/{method}"


@pytest.fixture
async def wire(aiohttp_server: Any) -> Wire:
    api = Wire()
    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", api.handle)  # a followed redirect GETs
    server = await aiohttp_server(app)
    api.base = str(server.make_url("")).rstrip("/")
    return api


@pytest.fixture
async def http() -> AsyncIterator[ChannelSession]:
    session = ChannelSession(timeout=SESSION_TIMEOUT)
    yield session
    await session.close()


async def test_calls_go_as_forms_and_uploads_as_multipart(wire: Wire) -> None:
    async with make_bot(wire.config) as bot:
        assert isinstance(bot.request, AiohttpRequest)
        await bot.send_message(chat_id=CHAT, text="Laporan diterima ✓")
        await bot.send_document(chat_id=CHAT, document=b"isi surat", filename="surat.txt")
    sent, uploaded = (c for c in wire.calls if c.method != "getMe")
    assert sent.content_type == "application/x-www-form-urlencoded"
    assert sent.fields == {"chat_id": str(CHAT), "text": "Laporan diterima ✓"}
    assert uploaded.content_type == "multipart/form-data"
    assert uploaded.fields == {"chat_id": str(CHAT)}
    assert uploaded.files == {"document": ("surat.txt", b"isi surat", "text/plain")}


def test_ptb_timeouts_become_one_aiohttp_timeout() -> None:
    assert client_timeout(connect=5, read=10, write=10, pool=10) == aiohttp.ClientTimeout(
        total=35, connect=15, sock_connect=5, sock_read=10
    )
    # No read limit: nothing bounds the whole request either.
    assert client_timeout(connect=5, read=None, write=10, pool=1) == aiohttp.ClientTimeout(
        total=None, connect=6, sock_connect=5, sock_read=None
    )


async def test_a_slow_answer_is_timed_out_and_temporary(wire: Wire, http: ChannelSession) -> None:
    wire.delay = 1.0
    request = AiohttpRequest(http, read_timeout=0.2)
    with pytest.raises(TimedOut) as info:
        await request.post(wire.url("sendMessage"))
    assert type(classify(info.value, TOKEN)) is TemporaryError


async def test_a_long_poll_reads_for_as_long_as_the_call_says(
    wire: Wire, http: ChannelSession
) -> None:
    wire.delay = 0.5
    request = AiohttpRequest(http, read_timeout=0.2)
    # getUpdates passes its wait plus a margin as the read timeout.
    assert await request.post(wire.url("getUpdates"), read_timeout=2.0) == []
    with pytest.raises(TimedOut):
        await request.post(wire.url("getUpdates"))


async def test_waiting_for_a_pooled_connection_is_bounded(wire: Wire) -> None:
    wire.delay = 1.0
    one = ChannelSession(timeout=SESSION_TIMEOUT, limit=1)
    request = AiohttpRequest(one, pool_timeout=0.1, connect_timeout=0.1, read_timeout=5.0)
    try:
        busy = asyncio.create_task(request.post(wire.url("sendMessage")))
        await asyncio.sleep(0.2)  # the one connection is taken
        with pytest.raises(TimedOut):
            await request.post(wire.url("sendMessage"))
        await busy
    finally:
        await one.close()


async def test_a_refused_connection_is_a_network_error_without_the_token(
    http: ChannelSession,
) -> None:
    request = AiohttpRequest(http)
    with pytest.raises(NetworkError) as info:
        await request.post(f"http://127.0.0.1:9/bot{TOKEN}/getMe")
    assert not isinstance(info.value, TimedOut)
    error = classify(info.value, TOKEN)
    assert type(error) is TemporaryError
    assert TOKEN not in str(error) and TOKEN.partition(":")[2] not in str(error)


async def test_a_redirect_is_not_followed(wire: Wire, http: ChannelSession) -> None:
    request = AiohttpRequest(http)
    with pytest.raises(NetworkError):
        await request.post(wire.url("moved"))
    assert [c.method for c in wire.calls] == []  # "elsewhere" was never asked


async def test_shutdown_closes_the_session_and_a_request_opens_it_again(
    wire: Wire, http: ChannelSession
) -> None:
    request = AiohttpRequest(http)
    await request.post(wire.url("getMe"))
    assert http.open
    await request.shutdown()
    assert not http.open
    assert (await request.post(wire.url("getMe")))["username"] == BOT_USER["username"]


async def test_the_channel_polls_and_sends_without_an_httpx_client(
    tmp_path: Path, fake: FakeBotApi, sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an httpx client was made")

    monkeypatch.setattr(httpx.AsyncClient, "__init__", refuse)
    accepted: list[InboundMessage] = []

    async def accept(message: InboundMessage) -> None:
        accepted.append(message)

    channel = TelegramChannel(
        telegram_config(make_settings(tmp_path, fake)),
        sessions,
        accept,
        holder="t",
        pacer=Pacer(per_key=None, overall=None),
    )
    try:
        await fake.push(text_update(501, "halo"))
        assert await channel.poll_once(wait=0) == 1
        await channel.send(
            OutboundMessage(
                idempotency_key="aio-1",
                channel=ChannelName.TELEGRAM,
                recipient=str(CHAT),
                text="Terima kasih",
            )
        )
    finally:
        await channel.stop()
    assert [m.text for m in accepted] == ["halo"]
    assert fake.texts(CHAT) == ["Terima kasih"]
