"""Sending is one form post to Messages.json over the channel's aiohttp session:
the request on the wire (basic auth, form fields), Twilio's error JSON → our
error classes, ``Retry-After``, timeouts and redirects, one connection pool,
and no twilio REST client (docs/channels.md, "Sending over the channel's
aiohttp session")."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels import twilio
from channels.base import ChannelName, OutboundMessage, Template
from channels.errors import ChannelError, PermanentError, RateLimited, TemporaryError
from channels.http import retry_after_seconds
from channels.twilio import TwilioChannel, error_from_answer
from gateway.channel_configs import twilio_config
from tests.twilio.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, twilio_settings
from tests.twilio.fake_twilio import FakeTwilio

BUDI = "+6281234567890"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


@dataclass
class Seen:
    """What arrived at a server: method, path, headers and the client's port."""

    method: str
    path: str
    headers: dict[str, str]
    port: int


@dataclass
class Recorder:
    """The fake Twilio API behind a middleware that records every request."""

    fake: FakeTwilio
    seen: list[Seen] = field(default_factory=list)


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    rec = Recorder(fake)

    async def record(request: web.Request, _response: web.StreamResponse) -> None:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        port = peer[1] if peer else 0
        rec.seen.append(Seen(request.method, request.path, dict(request.headers), port))

    app = fake.app()
    app.on_response_prepare.append(record)
    fake.server = TestServer(app)
    await fake.server.start_server()
    yield rec
    await fake.close()


class Channels:
    """Twilio channels a test opens against a fake, each stopped after the test."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.opened: list[TwilioChannel] = []

    def open(
        self, fake: FakeTwilio, kind: ChannelName = ChannelName.SMS, **overrides: Any
    ) -> TwilioChannel:
        config = twilio_config(twilio_settings(self.tmp_path, fake, **overrides))
        self.opened.append(TwilioChannel(config, kind=kind))
        return self.opened[-1]


@pytest.fixture
async def channels(tmp_path: Path) -> AsyncIterator[Channels]:
    made = Channels(tmp_path)
    yield made
    for channel in made.opened:
        await channel.stop()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def sms_against(
    aiohttp_server: Any, channels: Channels, handler: Handler, **others: Handler
) -> TwilioChannel:
    """An SMS channel whose Messages.json is answered by ``handler``; ``others``
    answer POSTs to ``/{name}``."""
    app = web.Application()
    app.router.add_post(MESSAGES_PATH, handler)
    for name, other in others.items():
        app.router.add_post(f"/{name}", other)
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    fake.server = await aiohttp_server(app)
    return channels.open(fake)


def out(
    text: str = "halo", channel: ChannelName = ChannelName.SMS, **extra: Any
) -> OutboundMessage:
    return OutboundMessage(
        idempotency_key=extra.pop("key", "wire-1"),
        channel=channel,
        recipient=BUDI,
        text=text,
        **extra,
    )


async def test_a_send_is_a_form_post_with_basic_auth(
    recorder: Recorder, channels: Channels
) -> None:
    sms = channels.open(recorder.fake)
    await sms.send(out("Laporan diterima: ADU-2026-000042 ✓"))
    [request] = recorder.seen
    assert (request.method, request.path) == ("POST", MESSAGES_PATH)
    credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {credentials}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept"] == "application/json"
    # The form's values arrive as sent, UTF-8 included, and nothing else is sent.
    assert recorder.fake.messages == [
        {
            "To": BUDI,
            "From": "+62211234567",
            "Body": "Laporan diterima: ADU-2026-000042 ✓",
            "StatusCallback": PUBLIC_URL + "/webhooks/twilio/status",
        }
    ]


async def test_a_whatsapp_template_sends_only_its_fields(
    recorder: Recorder, channels: Channels
) -> None:
    wa = channels.open(recorder.fake, ChannelName.WHATSAPP, public_url=None)
    template = Template(
        name="status_update", language="id", variables=("ADU-1",), content_sid="HX" + "b" * 32
    )
    await wa.send(out("tidak dikirim", ChannelName.WHATSAPP, template=template))
    assert recorder.fake.messages == [
        {
            "To": "whatsapp:" + BUDI,
            "From": "whatsapp:+62211234567",
            "ContentSid": "HX" + "b" * 32,
            "ContentVariables": json.dumps({"1": "ADU-1"}),
        }
    ]


async def test_sends_share_one_connection_and_stop_closes_it(
    recorder: Recorder, channels: Channels
) -> None:
    sms = channels.open(recorder.fake)
    for i in range(3):
        await sms.send(out(key=f"pool-{i}"))
    ports = {seen.port for seen in recorder.seen}
    assert len(ports) == 1  # one kept-alive connection of the channel's pool
    await sms.stop()
    await sms.send(out(key="pool-after-stop"))  # the session opens again
    assert len(recorder.fake.messages) == 4
    assert recorder.seen[-1].port not in ports


# Twilio's documented error answers, and what the outbox is told.
ERROR_CASES: list[tuple[int, Any, dict[str, str], type[ChannelError], int, float | None]] = [
    # status, body, headers, error class, code, retry_after (None: not a rate limit)
    (400, {"code": 21211, "message": "Invalid 'To'", "status": 400}, {}, PermanentError, 21211, None),
    (400, {"code": 21610, "message": "unsubscribed", "status": 400}, {}, PermanentError, 21610, None),
    (400, {"code": 63016, "message": "outside window", "status": 400}, {}, PermanentError, 63016, None),
    (400, {"code": 21602, "message": "Body required", "status": 400}, {}, PermanentError, 21602, None),
    (401, {"code": 20003, "message": "Authenticate", "status": 401}, {}, PermanentError, 20003, None),
    (404, {"code": 20404, "message": "not found", "status": 404}, {}, PermanentError, 20404, None),
    (429, {"code": 20429, "message": "Too Many", "status": 429}, {"Retry-After": "9"}, RateLimited, 20429, 9.0),
    (400, {"code": 63018, "message": "rate", "status": 400}, {"Retry-After": "4"}, RateLimited, 63018, 4.0),
    (429, None, {"Retry-After": "2"}, RateLimited, 429, 2.0),
    (500, {"code": 20500, "message": "Internal", "status": 500}, {}, TemporaryError, 20500, None),
    (503, {"code": 20503, "message": "Unavailable", "status": 503}, {"Retry-After": "30"}, TemporaryError, 20503, None),
    (502, "<html>Bad Gateway</html>", {}, TemporaryError, 502, None),
    (408, {"message": "timeout"}, {}, TemporaryError, 408, None),
    (400, {"type": "https://www.twilio.com/docs/errors/21211", "title": "Invalid", "status": 400, "code": 21211, "detail": "Invalid 'To'"}, {}, PermanentError, 21211, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "code", "retry_after"),
    ERROR_CASES,
    ids=[f"{c[0]}-{c[4]}" for c in ERROR_CASES],
)
async def test_error_answers_become_our_errors_on_the_wire(
    aiohttp_server: Any,
    channels: Channels,
    status: int,
    body: Any,
    headers: dict[str, str],
    kind: type[ChannelError],
    code: int,
    retry_after: float | None,
) -> None:
    async def answer(request: web.Request) -> web.Response:
        if isinstance(body, str):
            return web.Response(status=status, text=body, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    sms = await sms_against(aiohttp_server, channels, answer)
    with pytest.raises(ChannelError) as info:
        await sms.send(out())
    error = info.value
    assert type(error) is kind, error
    assert error.code == code
    if retry_after is not None:
        assert isinstance(error, RateLimited) and error.retry_after == retry_after
    assert AUTH_TOKEN not in str(error)


def test_the_error_text_carries_message_and_more_info() -> None:
    error = error_from_answer(
        400,
        {
            "code": 21602,
            "message": "Message body is required.",
            "more_info": "https://www.twilio.com/docs/errors/21602",
            "status": 400,
        },
    )
    assert "Message body is required." in str(error)
    assert "https://www.twilio.com/docs/errors/21602" in str(error)
    # A code that is not a number is no code.
    assert error_from_answer(400, {"code": "x", "message": "m"}).code == 400
    assert error_from_answer(400, {"code": True}).code == 400


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(later, now=now) == 90.0
    assert retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0
    assert retry_after_seconds("7", now=now) == 7.0
    assert retry_after_seconds("-3", now=now) == 0.0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None) is None


async def test_a_retry_after_date_is_honoured(recorder: Recorder, channels: Channels) -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    recorder.fake.fail_next(
        429, 20429, "Too Many", {"Retry-After": format_datetime(when, usegmt=True)}
    )
    sms = channels.open(recorder.fake)
    with pytest.raises(RateLimited) as info:
        await sms.send(out())
    assert 60.0 < info.value.retry_after <= 120.0


async def test_a_slow_api_is_a_temporary_timeout(
    aiohttp_server: Any, channels: Channels, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2.0)
        return web.json_response({"sid": "SM" + "0" * 32}, status=201)

    monkeypatch.setattr(twilio, "SEND_TIMEOUT", twilio.aiohttp.ClientTimeout(total=0.2))
    sms = await sms_against(aiohttp_server, channels, slow)
    with pytest.raises(TemporaryError, match="TimeoutError") as info:
        await sms.send(out())
    assert type(info.value) is TemporaryError


async def test_a_redirect_is_not_followed_with_the_credentials(
    aiohttp_server: Any, channels: Channels
) -> None:
    elsewhere: list[str | None] = []

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/elsewhere")

    async def other(request: web.Request) -> web.Response:
        elsewhere.append(request.headers.get("Authorization"))
        return web.json_response({"sid": "SM" + "0" * 32}, status=201)

    sms = await sms_against(aiohttp_server, channels, moved, elsewhere=other)
    with pytest.raises(TemporaryError) as info:
        await sms.send(out())
    assert info.value.code == 307
    assert elsewhere == []


async def test_an_answer_without_a_sid_is_temporary(
    aiohttp_server: Any, channels: Channels
) -> None:
    async def odd(request: web.Request) -> web.Response:
        return web.Response(status=201, text="accepted")

    sms = await sms_against(aiohttp_server, channels, odd)
    with pytest.raises(TemporaryError, match="no sid"):
        await sms.send(out())


def test_the_channel_does_not_load_the_twilio_rest_client() -> None:
    code = (
        "import sys, channels.twilio; "
        "print(sorted(m for m in sys.modules if m.startswith(('twilio.rest', 'twilio.http', "
        "'twilio.base'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout.strip()
    assert loaded == "[]"
