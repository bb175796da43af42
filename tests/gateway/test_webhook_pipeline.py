"""The webhook pipeline against hostile but correctly signed payloads.

One gateway with every provider route on (Twilio, WhatsApp Cloud, Telegram
webhook, the JSON API), on SQLite and on PostgreSQL, answering real signed
requests: each value that used to give a 500 is stored cleaned and cut to
its column (the full value kept in ``raw["_originals"]``) or answered 200
and quarantined with its reason; a body that is not JSON or nests too deep
is 400. Nothing is half-stored and no traceback reaches the log.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest
from multidict import MultiDict
from sqlalchemy import select
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from gateway.app import create_app
from gateway.config import load_settings
from gateway.inbound.sanitise import LIMITS
from gateway.runtime import Runtime, build_runtime
from gateway.webhooks.caps import BODY_CAPS
from gateway.webhooks.deadline import RETRY_AFTER_SECONDS, late_count
from storage.migrate import upgrade
from storage.models import Contact, DeliveryStatus, Message, QuarantinedInbound
from tests.conftest import _postgres_engine
from tests.harness.webhooks import hmac_sha256
from tests.services import POSTGRES_URL
from tests.telegram.fake_bot_api import FakeBotApi
from tests.twilio.fake_twilio import FakeTwilio
from tests.whatsapp_cloud.fake_graph import FakeGraph

PUBLIC_URL = "https://aduan.example.go.id"
TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "pipeline-twilio-token"
WA_TOKEN = "pipeline-wa-token"
WA_SECRET = "pipeline-app-secret"
TG_TOKEN = "42424242:pipeline-token-" + "a" * 30
TG_SECRET = "pipeline-Secret_1"
API_SECRET = "pipeline-api-secret"
PHONE = "+6281234567890"
LONG_ID = "X" * 400


@dataclass
class Gateway:
    runtime: Runtime
    client: Any

    async def count(self, model: Any) -> int:
        return len(await self.rows(model))

    async def rows(self, model: Any) -> list[Any]:
        async with self.runtime.sessions() as s:
            query = select(model).order_by(model.id)
            if model is Message:  # the bot's answers are not what was received
                query = query.where(Message.direction == "in")
            return list(await s.scalars(query))

    async def twilio(self, path: str, body: str) -> Any:
        """POST a raw form body signed as Twilio signs it: over its decoded values."""
        params = MultiDict(parse_qsl(body, keep_blank_values=True, errors="replace"))
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + path, params)
        return await self.client.post(
            path,
            data=body.encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )

    async def _json(self, channel: str, raw: bytes, header: str, value: str) -> Any:
        """POST the JSON body ``raw`` to ``/webhooks/<channel>`` with ``header: value``."""
        return await self.client.post(
            f"/webhooks/{channel}",
            data=raw,
            headers={"Content-Type": "application/json", header: value},
        )

    async def whatsapp(self, raw: bytes) -> Any:
        return await self._json("whatsapp", raw, "X-Hub-Signature-256", hmac_sha256(WA_SECRET, raw))

    async def telegram(self, raw: bytes) -> Any:
        return await self._json("telegram", raw, "X-Telegram-Bot-Api-Secret-Token", TG_SECRET)

    async def api(self, raw: bytes) -> Any:
        return await self._json("api", raw, "X-Aduan-Signature", hmac_sha256(API_SECRET, raw))


@pytest.fixture(params=["sqlite", "postgresql"])
async def gw(
    request: pytest.FixtureRequest, tmp_path: Path, aiohttp_client: Any, aiohttp_server: Any
) -> AsyncIterator[Gateway]:
    if request.param == "postgresql":
        await (await _postgres_engine()).dispose()  # empty schema, or skip
        database_url = POSTGRES_URL
    else:
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'p.sqlite3'}"
    twilio = FakeTwilio(TWILIO_SID, TWILIO_TOKEN)
    await twilio.start()
    graph = FakeGraph(WA_TOKEN)
    graph.base_url = str((await aiohttp_server(graph.app)).make_url("")).rstrip("/")
    bot = FakeBotApi(TG_TOKEN)
    bot.base = str((await aiohttp_server(bot.app)).make_url("")).rstrip("/")
    settings = load_settings(
        database_url=database_url,
        data_dir=tmp_path,
        public_url=PUBLIC_URL,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_sms_from="+62211234567",
        twilio_api_base=twilio.url,
        whatsapp_token=WA_TOKEN,
        whatsapp_app_secret=WA_SECRET,
        whatsapp_verify_token="verify",
        whatsapp_phone_number_id="1234567890",
        whatsapp_api_base=graph.base_url,
        telegram_token=TG_TOKEN,
        telegram_webhook_secret=TG_SECRET,
        telegram_api_base=bot.api_base,
        webhook_secret=API_SECRET,
    )
    runtime = await build_runtime(settings, use_redis=False)
    await upgrade(runtime.engine)
    client = await aiohttp_client(create_app(settings, runtime=runtime, run_channels=False))
    yield Gateway(runtime, client)
    await client.close()
    await twilio.close()


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert bad == [], [r.getMessage() for r in bad]
    assert "Traceback" not in caplog.text


def assert_storable(value: Any) -> None:
    """No NUL, no lone surrogate anywhere (PostgreSQL would refuse either)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    assert "\\u0000" not in text and "\x00" not in text
    text.encode("utf-8")  # raises on a lone surrogate


# ------------------------------------------------------------------- Twilio


async def test_twilio_message_with_nul_bad_utf8_and_long_values_is_stored_cut(
    gw: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    long_name = "Budi " * 60  # 300 characters, the column holds 200
    kept = long_name.strip()
    body = (
        f"MessageSid={LONG_ID}&From={quote('whatsapp:' + PHONE)}&To=whatsapp%3A%2B62211234567"
        f"&Body=halo%00%ED%A0%80dunia&ProfileName={quote(long_name)}&NumMedia=0"
    )
    for _ in range(2):  # a redelivery is a duplicate, not a second row
        resp = await gw.twilio("/webhooks/twilio", body)
        assert resp.status == 200
    [row] = await gw.rows(Message)
    assert row.text == "halo\ufffd\ufffd\ufffddunia"
    assert row.external_id is not None and len(row.external_id) == LIMITS["external_id"]
    assert row.sender_name == kept[: LIMITS["sender_name"]]
    assert row.raw["_originals"] == {"external_id": LONG_ID, "sender_name": kept}
    assert row.raw["MessageSid"] == LONG_ID
    assert_storable(row.raw)
    [contact] = await gw.rows(Contact)
    assert contact.display_name == kept[: LIMITS["sender_name"]]
    assert_no_traceback(caplog)
    assert PHONE not in caplog.text


async def test_twilio_status_with_long_sid_and_error_code_is_recorded_cut(
    gw: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    code = "3" * 60
    body = f"MessageSid={LONG_ID}&MessageStatus=undelivered&ErrorCode={code}&To={quote(PHONE)}"
    resp = await gw.twilio("/webhooks/twilio/status", body)
    assert resp.status == 200
    [row] = await gw.rows(DeliveryStatus)
    assert len(row.provider_id) == LIMITS["provider_id"]
    assert row.error_code == code[: LIMITS["error_code"]]
    assert row.raw["_originals"] == {"provider_id": LONG_ID, "error_code": code}
    assert_no_traceback(caplog)


async def test_twilio_form_with_a_key_twice_is_quarantined(
    gw: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    body = f"MessageSid=SM1&From={quote(PHONE)}&Body=a&Body=b"
    resp = await gw.twilio("/webhooks/twilio", body)
    assert resp.status == 200
    assert await gw.count(Message) == 0
    [row] = await gw.rows(QuarantinedInbound)
    assert row.error == "Body given twice" and row.raw == body.encode()
    assert_no_traceback(caplog)


# ----------------------------------------------------------------- WhatsApp


def wa_body(message: dict[str, Any], name: str = "Budi") -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "62211234567", "phone_number_id": "1234567890"},
        "contacts": [{"profile": {"name": name}, "wa_id": PHONE[1:]}],
        "messages": [message],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(body).encode()


def wa_message(**extra: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    return {
        "from": PHONE[1:],
        "id": "wamid.1",
        "timestamp": str(now),
        "type": "text",
        "text": {"body": "halo"},
        **extra,
    }


async def test_whatsapp_nul_surrogates_and_long_values_are_stored_cleaned(
    gw: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    name = "\ud800Siti\x00" + "a" * 300
    msg = wa_message(id=LONG_ID, text={"body": "rusak\x00 \udfff parah"})
    resp = await gw.whatsapp(wa_body(msg, name))
    assert resp.status == 200
    assert (await resp.json())["quarantined"] == 0
    [row] = await gw.rows(Message)
    assert row.text == "rusak  parah"
    assert row.sender_name == ("Siti" + "a" * 300)[: LIMITS["sender_name"]]
    assert len(row.external_id or "") == LIMITS["external_id"]
    assert_storable(row.raw)
    assert_no_traceback(caplog)


async def test_whatsapp_bad_timestamp_is_quarantined_and_deep_json_is_400(
    gw: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    resp = await gw.whatsapp(wa_body(wa_message(timestamp="9" * 30)))
    assert resp.status == 200
    answer = await resp.json()
    assert answer["status"] == "quarantined" and "timestamp" in answer["error"]
    resp = await gw.whatsapp(b"[" * 100_000)
    assert resp.status == 400
    assert "deeper" in (await resp.json())["error"]
    resp = await gw.whatsapp(b'{"a":' * 40 + b"1" + b"}" * 40)
    assert resp.status == 400
    assert await gw.count(Message) == 0 and await gw.count(Contact) == 0
    assert await gw.count(QuarantinedInbound) == 1
    assert_no_traceback(caplog)


# ----------------------------------------------------------------- Telegram


def tg_update(update_id: int, **message: Any) -> dict[str, Any]:
    base = {
        "message_id": 1,
        "date": int(datetime.now(UTC).timestamp()),
        "chat": {"id": 5550001, "type": "private"},
        "from": {"id": 5550001, "is_bot": False, "first_name": "Rina"},
        "text": "halo",
    }
    base.update(message)
    return {"update_id": update_id, "message": base}


@pytest.mark.parametrize(
    "bad",
    [
        {"date": 10**20},  # OverflowError inside the library
        {"from": {"id": 1, "is_bot": False, "first_name": 5}},
        {"entities": "bold"},
        {"photo": [{"file_id": 1, "width": "x"}]},
        {"reply_to_message": [1, 2]},
        {"from": {"id": 1, "is_bot": False, "first_name": "A", "language_code": 7}},
    ],
)
async def test_telegram_wrong_types_are_acknowledged_and_quarantined(
    gw: Gateway, caplog: pytest.LogCaptureFixture, bad: dict[str, Any]
) -> None:
    raw = json.dumps(tg_update(7, **bad)).encode()
    resp = await gw.telegram(raw)
    assert resp.status == 200
    answer = await resp.json()
    assert answer["status"] in ("quarantined", "accepted"), answer
    if answer["status"] == "quarantined":
        assert await gw.count(Message) == 0 and await gw.count(Contact) == 0
        [row] = await gw.rows(QuarantinedInbound)
        assert row.raw == raw and row.error
    else:  # the library tolerates it: stored cleanly
        [row] = await gw.rows(Message)
        assert_storable(row.raw)
    assert_no_traceback(caplog)


async def test_telegram_nul_and_surrogates_are_stored_cleaned_deep_json_is_400(
    gw: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    update = tg_update(
        8,
        text="tolong\x00\ud800 dibantu",
        **{"from": {"id": 1, "is_bot": False, "first_name": "R" * 300}},
    )
    resp = await gw.telegram(json.dumps(update).encode())
    assert resp.status == 200 and (await resp.json())["status"] == "accepted"
    [row] = await gw.rows(Message)
    assert row.text == "tolong dibantu"
    assert row.sender_name == "R" * LIMITS["sender_name"]
    assert row.raw["_originals"]["sender_name"] == "R" * 300
    assert_storable(row.raw)
    resp = await gw.telegram(b"[" * 100_000)
    assert resp.status == 400
    assert_no_traceback(caplog)


# ------------------------------------------------------------------ JSON API


def api_body(**extra: Any) -> bytes:
    data = {"id": "portal-9", "from": {"email": "budi@example.com"}, "text": "halo", **extra}
    return json.dumps(data).encode()


async def test_api_dates_out_of_range_or_far_ahead(
    gw: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    resp = await gw.api(api_body(received_at="9999-12-31T23:59:59-01:00"))
    assert resp.status == 200
    answer = await resp.json()
    assert answer == {"status": "quarantined", "error": "received_at is out of range"}
    assert await gw.count(Message) == 0 and await gw.count(Contact) == 0

    before = datetime.now(UTC)
    ahead = (before + timedelta(days=3650)).isoformat()
    resp = await gw.api(api_body(id="portal-10", received_at=ahead, text="a\x00b\ud800c"))
    assert resp.status == 200 and (await resp.json())["status"] == "accepted"
    [row] = await gw.rows(Message)
    assert before <= row.received_at <= datetime.now(UTC)
    assert row.raw["_originals"]["received_at"] == datetime.fromisoformat(ahead).isoformat()
    assert row.text == "abc"
    resp = await gw.api(b"[" * 100_000)
    assert resp.status == 400
    assert_no_traceback(caplog)


# ---------------------------------------------------------------- size caps


async def test_caps_answer_before_reading_in_the_reader_s_language(gw: Gateway) -> None:
    big = b"a" * (BODY_CAPS[("POST", "/inbox/login")] + 1)
    resp = await gw.client.post(
        "/inbox/login", data=big, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert resp.status == 413
    assert (await resp.text()).splitlines() == [
        "Kiriman terlalu besar untuk kami terima.",
        "The request is too large to accept.",
    ]
    over = BODY_CAPS[("POST", "/webhooks/twilio")] + 1
    resp = await gw.client.post("/webhooks/twilio", data=b"a" * over)
    assert resp.status == 413
    assert "too large" in (await resp.json())["error"]
    assert await gw.count(Message) == 0 and await gw.count(QuarantinedInbound) == 0


# ------------------------------------------------------------------ deadline


async def test_every_route_answers_503_when_storing_stalls_and_a_redelivery_is_stored_once(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stalled store (an injected slow ingest) gets 503 with Retry-After within
    the webhook deadline on every provider route; the stalled write still
    commits, and the provider's redelivery is a duplicate, not a second row."""
    gw.runtime.settings.webhook_deadline = 0.2
    gate = asyncio.Event()
    submit = gw.runtime.batcher.submit

    async def stalled(message: Any) -> Any:
        await gate.wait()
        return await submit(message)

    monkeypatch.setattr(gw.runtime.batcher, "submit", stalled)
    twilio_body = f"MessageSid=SM{'7' * 32}&From={quote(PHONE)}&To=%2B62211234567&Body=halo"
    deliveries = [
        lambda: gw.twilio("/webhooks/twilio", twilio_body),
        lambda: gw.whatsapp(wa_body(wa_message(id="wamid.late"))),
        lambda: gw.telegram(json.dumps(tg_update(77, text="halo")).encode()),
        lambda: gw.api(api_body(id="portal-late")),
    ]
    for deliver in deliveries:
        resp = await asyncio.wait_for(deliver(), 10)  # answered while the store stalls
        assert resp.status == 503
        assert resp.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert (await resp.json()) == {"error": "storage is slow; retry later"}
    assert await gw.count(Message) == 0
    gate.set()  # the database recovers: the stalled writes commit
    for _ in range(500):
        if late_count() == 0:
            break
        await asyncio.sleep(0.01)
    assert late_count() == 0
    assert await gw.count(Message) == 4
    gw.runtime.settings.webhook_deadline = 30.0
    for deliver in deliveries:  # the providers deliver again
        resp = await deliver()
        assert resp.status == 200
    assert await gw.count(Message) == 4
