"""The webhook routes over the whole runtime: handshake, signatures, dedupe,
out-of-order statuses and media downloads."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import Attachment, DeliveryStatus, Message, OutboxMessage
from tests.harness.incoming import named_cases
from tests.harness.rows import count_rows
from tests.harness.webhooks import NOT_JSON, WebhookCase, check_webhook, quarantined_json
from tests.whatsapp_cloud.conftest import (
    APP_SECRET,
    TOKEN,
    VERIFY_TOKEN,
    Gateway,
    MakeGateway,
    payload,
    signature,
)


async def count(gw: Gateway, model: Any, *where: Any) -> int:
    return await count_rows(gw.runtime.sessions, model, *where)


def with_status(name: str, wamid: str) -> dict[str, Any]:
    body = payload(name, live=True)
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = wamid
    return body


# ------------------------------------------------------------------ handshake


async def test_verification_handshake(make_gateway: MakeGateway) -> None:
    gw: Gateway = await make_gateway()
    good = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    resp = await gw.client.get("/webhooks/whatsapp", params=good)
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    assert await resp.text() == "1158201444"
    for bad in (
        dict(good, **{"hub.verify_token": "wrong"}),
        dict(good, **{"hub.mode": "unsubscribe"}),
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {},
    ):
        resp = await gw.client.get("/webhooks/whatsapp", params=bad)
        assert resp.status == 403
        assert "1158201444" not in await resp.text()


async def test_handshake_and_receiver_are_off_when_not_configured(
    make_gateway: MakeGateway,
) -> None:
    gw: Gateway = await make_gateway(whatsapp_verify_token=None, whatsapp_app_secret=None)
    resp = await gw.client.get(
        "/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.challenge": "1"}
    )
    assert resp.status == 404
    resp = await gw.post(payload("text", live=True))
    assert resp.status == 404
    assert await count(gw, Message) == 0


# ----------------------------------------------------------------- signatures


async def test_bad_signature_gets_403_and_nothing_is_stored(
    make_gateway: MakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gw: Gateway = await make_gateway()
    raw = json.dumps(payload("text", live=True)).encode()
    caplog.set_level(logging.DEBUG)
    for headers in (
        {},
        {"X-Hub-Signature-256": "sha256=00"},
        {"X-Hub-Signature-256": signature(raw, "wrong-secret")},
        {"X-Hub-Signature-256": signature(raw + b"\n")},
        {"X-Hub-Signature-256": signature(raw).removeprefix("sha256=")},
    ):
        resp = await gw.client.post("/webhooks/whatsapp", data=raw, headers=headers)
        assert resp.status == 403
        assert await resp.json() == {"error": "invalid signature"}
    # The signature is over the raw bytes: re-serialised JSON does not match.
    pretty = json.dumps(payload("text", live=True), indent=2).encode()
    resp = await gw.client.post(
        "/webhooks/whatsapp", data=pretty, headers={"X-Hub-Signature-256": signature(raw)}
    )
    assert resp.status == 403
    await gw.settle()
    assert await count(gw, Message) == 0
    assert gw.graph.requests == []
    logged = caplog.text
    assert "signature" in logged
    assert APP_SECRET not in logged and TOKEN not in logged


async def test_good_signature_is_accepted(make_gateway: MakeGateway) -> None:
    gw: Gateway = await make_gateway()
    resp = await gw.post(payload("text", live=True))
    assert resp.status == 200
    assert await resp.json() == {
        "status": "accepted",
        "messages": 1,
        "duplicates": 0,
        "statuses": 0,
        "quarantined": 0,
    }
    assert await count(gw, Message, Message.direction == "in") == 1


# Malformed bodies get 400 (not JSON) or are quarantined with a reason.
WEBHOOK = [
    NOT_JSON,
    quarantined_json("a_list", b"[]", "body must be an object"),
    quarantined_json("no_entry", {"object": "whatsapp_business_account"}, "no entry"),
    quarantined_json(
        "no_from",
        {"entry": [{"changes": [{"value": {"messages": [{"id": "x"}]}}]}]},
        "messages[0].from",
    ),
]


@named_cases(WEBHOOK)
async def test_webhook(make_gateway: MakeGateway, case: WebhookCase) -> None:
    gw: Gateway = await make_gateway()
    await check_webhook(case, gw.post, gw.runtime.sessions)


# ---------------------------------------------------------------------- dedupe


async def test_three_deliveries_give_one_message_and_one_reply(make_gateway: MakeGateway) -> None:
    gw: Gateway = await make_gateway()
    body = payload("text", live=True)
    answers = []
    for _ in range(3):
        resp = await gw.post(body)
        assert resp.status == 200
        answers.append((await resp.json())["duplicates"])
    assert answers == [0, 1, 1]
    await gw.settle()
    assert await count(gw, Message, Message.direction == "in") == 1
    assert len(gw.graph.sends) == 1
    # A late redelivery after processing changes nothing either.
    assert (await gw.post(body)).status == 200
    await gw.settle()
    assert len(gw.graph.sends) == 1


async def test_every_message_type_is_accepted_without_error(make_gateway: MakeGateway) -> None:
    gw: Gateway = await make_gateway()
    names = [
        "sticker",
        "location",
        "contacts",
        "reaction",
        "unsupported",
        "button_reply",
        "list_reply",
        "template_button",
        "voice",
        "system",
    ]
    for name in names:
        resp = await gw.post(payload(name, live=True))
        assert resp.status == 200, name
    await gw.settle()
    assert await count(gw, Message, Message.direction == "in") == len(names)
    async with gw.runtime.sessions() as s:
        errors = list(
            await s.scalars(select(Message.process_error).where(Message.direction == "in"))
        )
    assert errors == [None] * len(names)


# --------------------------------------------------------------------- statuses


async def test_out_of_order_statuses_leave_the_row_at_read(make_gateway: MakeGateway) -> None:
    gw: Gateway = await make_gateway()
    assert (await gw.post(payload("text", live=True))).status == 200
    await gw.settle()
    async with gw.runtime.sessions() as s:
        [row] = list(await s.scalars(select(OutboxMessage)))
    assert row.provider_id == "wamid.FAKE000001"
    for name in ("status_read", "status_delivered", "status_sent", "status_read"):
        resp = await gw.post(with_status(name, row.provider_id))
        assert resp.status == 200
        assert (await resp.json())["statuses"] == 1
    async with gw.runtime.sessions() as s:
        row = await s.get_one(OutboxMessage, row.id)
    assert row.delivery_status == "read"
    assert await count(gw, DeliveryStatus) == 3  # the repeated "read" is stored once


async def test_failed_status_records_the_error_code(make_gateway: MakeGateway) -> None:
    gw: Gateway = await make_gateway()
    assert (await gw.post(payload("text", live=True))).status == 200
    await gw.settle()
    for name in ("status_sent", "status_failed"):
        assert (await gw.post(with_status(name, "wamid.FAKE000001"))).status == 200
    async with gw.runtime.sessions() as s:
        [row] = list(await s.scalars(select(OutboxMessage)))
    assert (row.delivery_status, row.delivery_error_code) == ("failed", "131047")


async def test_status_for_an_unknown_message_is_stored(make_gateway: MakeGateway) -> None:
    gw: Gateway = await make_gateway()
    resp = await gw.post(payload("status_delivered", live=True))
    assert resp.status == 200
    assert await count(gw, DeliveryStatus) == 1


# ------------------------------------------------------------------------ media


async def attachments(gw: Gateway) -> list[Attachment]:
    async with gw.runtime.sessions() as s:
        return list(await s.scalars(select(Attachment).order_by(Attachment.id)))


async def test_media_is_downloaded_and_attached(make_gateway: MakeGateway) -> None:
    gw: Gateway = await make_gateway()
    jpeg = b"\xff\xd8\xff\xe0" + b"foto" * 500
    pdf = b"%PDF-1.7\n" + b"0" * 3000
    gw.graph.add_media("1003383421387256", jpeg, "image/jpeg")
    gw.graph.add_media("1566871557440395", pdf, "application/pdf")
    for name in ("image", "document"):
        assert (await gw.post(payload(name, live=True))).status == 200
    [image, document] = await attachments(gw)
    assert (image.content, image.content_type, image.size) == (jpeg, "image/jpeg", len(jpeg))
    assert image.filename == "image-1003383421387256.jpg" and image.skipped_reason is None
    assert (document.content, document.filename) == (pdf, "LHU-2026-118.pdf")
    media_gets = [r for r in gw.graph.requests if r.method == "GET"]
    assert len(media_gets) == 4
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in media_gets)
    assert media_gets[0].path == "/v21.0/1003383421387256"
    assert media_gets[1].path == "/whatsapp_business/attachments/"
    # A redelivery is not downloaded again.
    assert (await gw.post(payload("image", live=True))).status == 200
    assert len([r for r in gw.graph.requests if r.method == "GET"]) == 4
    assert len(await attachments(gw)) == 2
    async with gw.runtime.sessions() as s:
        caption = await s.scalar(select(Message.text).where(Message.id == image.message_id))
    assert caption == "foto sertifikat yang salah"


async def test_oversize_media_is_skipped_not_failed(make_gateway: MakeGateway) -> None:
    gw: Gateway = await make_gateway(attachment_max_bytes=1000)
    gw.graph.add_media("1566871557440395", b"%PDF" + b"0" * 5000, "application/pdf")
    assert (await gw.post(payload("document", live=True))).status == 200
    [att] = await attachments(gw)
    assert att.content == b"" and att.size == 5004
    assert att.skipped_reason is not None and "1000 bytes" in att.skipped_reason
    # Checked on the announced size: the bytes were never fetched.
    assert not any(r.path.startswith("/whatsapp_business") for r in gw.graph.requests)


async def test_oversize_media_without_announced_size_is_caught_on_download(
    make_gateway: MakeGateway,
) -> None:
    gw: Gateway = await make_gateway(attachment_max_bytes=1000)
    gw.graph.hide_media_size = True
    gw.graph.add_media("1003383421387256", b"\xff\xd8" + b"x" * 4000, "image/jpeg")
    assert (await gw.post(payload("image", live=True))).status == 200
    [att] = await attachments(gw)
    assert att.content == b"" and att.skipped_reason == "too large: 4002 bytes, limit 1000 bytes"
    assert any(r.path.startswith("/whatsapp_business") for r in gw.graph.requests)


async def test_media_lookup_failure_is_skipped_and_message_still_stored(
    make_gateway: MakeGateway,
) -> None:
    gw: Gateway = await make_gateway()
    # The fake knows no media: the lookup answers Graph error 100.
    assert (await gw.post(payload("voice", live=True))).status == 200
    [att] = await attachments(gw)
    assert att.skipped_reason == "media lookup failed: HTTP 400"
    assert att.content_type == "audio/ogg; codecs=opus"
    assert att.filename == "audio-2139347319754391.ogg"
    await gw.settle()
    assert await count(gw, Message, Message.direction == "in") == 1


async def test_batch_with_messages_and_statuses(make_gateway: MakeGateway) -> None:
    gw: Gateway = await make_gateway()
    body = payload("text", live=True)
    value = body["entry"][0]["changes"][0]["value"]
    second = copy.deepcopy(value["messages"][0])
    second["id"] = "wamid.second"
    second["text"]["body"] = "PT Sinar Jaya"
    value["messages"].append(second)
    value["statuses"] = payload("status_sent", live=True)["entry"][0]["changes"][0]["value"][
        "statuses"
    ]
    resp = await gw.post(body)
    assert await resp.json() == {
        "status": "accepted",
        "messages": 2,
        "duplicates": 0,
        "statuses": 1,
        "quarantined": 0,
    }
    async with gw.runtime.sessions() as s:
        texts = list(
            await s.scalars(
                select(Message.text).where(Message.direction == "in").order_by(Message.id)
            )
        )
    assert texts == ["Halo, saya mau komplain soal laporan hasil uji", "PT Sinar Jaya"]
