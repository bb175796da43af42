"""The Twilio webhooks: signatures against the public URL, dedupe, media, status callbacks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.twilio import EMPTY_TWIML, INBOUND_PATH, SIGNATURE_HEADER, STATUS_PATH
from storage.models import Attachment, DeliveryStatus, Message, OutboxMessage, QuarantinedInbound
from tests.harness.incoming import named_cases
from tests.harness.webhooks import WebhookCase, check_webhook, contains, starts_with
from tests.twilio.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_URL,
    Gateway,
    GatewayFactory,
    load_form,
    sign,
)

JPEG = b"\xff\xd8\xff\xe0" + b"\x00JFIF" + bytes(range(256)) * 20 + b"\xff\xd9"


async def test_bad_or_missing_signature_is_403_and_stores_nothing(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    form = load_form("sms_inbound.form")
    internal = str(gateway.client.make_url(INBOUND_PATH))
    caplog.set_level(logging.DEBUG)
    for signature in (
        "",  # missing
        "bm90IGEgc2lnbmF0dXJl",  # garbage
        sign(PUBLIC_URL + INBOUND_PATH, form, token="another-token"),  # wrong token
        sign(internal, form),  # signed for the internal URL, not the public one
        sign(PUBLIC_URL + INBOUND_PATH, {**form, "Body": "diubah"}),  # body changed
    ):
        resp = await gateway.post(INBOUND_PATH, form, signature=signature)
        assert resp.status == 403
        assert await resp.json() == {"error": "invalid signature"}
    assert await gateway.inbound_count() == 0
    assert "signature" in caplog.text
    assert AUTH_TOKEN not in caplog.text


async def test_signature_over_public_url_works_from_the_internal_address(
    gateway: Gateway,
) -> None:
    form = load_form("sms_inbound.form")
    # The test client reaches http://127.0.0.1:<port>; Twilio signed the public URL.
    assert not str(gateway.client.make_url(INBOUND_PATH)).startswith(PUBLIC_URL)
    resp = await gateway.post(INBOUND_PATH, form)
    assert resp.status == 200
    assert resp.content_type == "text/xml"
    assert await resp.text() == EMPTY_TWIML
    # A query string is part of what Twilio signs.
    form2 = {**form, "MessageSid": "SMquery", "SmsMessageSid": "SMquery"}
    path = INBOUND_PATH + "?office=bspji"
    resp = await gateway.post(path, form2, signed_url=PUBLIC_URL + path)
    assert resp.status == 200
    assert await gateway.inbound_count() == 2


async def test_without_a_public_url_the_signature_is_over_the_url_a_trusted_proxy_forwards(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    # nginx with TLS in front, ADUAN_PUBLIC_URL unset: Twilio signed the https URL it called.
    form = load_form("sms_inbound.form")
    forwarded = {
        SIGNATURE_HEADER: sign(PUBLIC_URL + INBOUND_PATH, form),
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "aduan.example.go.id",
    }
    behind = await make_gateway(public_url=None, trusted_proxies="127.0.0.1")
    resp = await behind.client.post(INBOUND_PATH, data=form, headers=forwarded)
    assert resp.status == 200
    assert await behind.inbound_count() == 1
    # The same headers from a peer that is not a trusted proxy are ignored.
    untrusted = await make_gateway(
        public_url=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/untrusted.sqlite3"
    )
    resp = await untrusted.client.post(INBOUND_PATH, data=form, headers=forwarded)
    assert resp.status == 403
    assert await untrusted.inbound_count() == 0


async def test_webhooks_are_off_without_twilio_credentials(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(twilio_account_sid=None, twilio_auth_token=None)
    form = load_form("sms_inbound.form")
    for path in (INBOUND_PATH, STATUS_PATH):
        resp = await gateway.post(path, form)
        assert resp.status == 404


SMS = load_form("sms_inbound")


def _malformed(name: str, change: dict[str, str], reason: str) -> WebhookCase:
    """A signed form with ``change``: acknowledged and quarantined with ``reason``;
    Twilio's retry adds no second row."""
    return WebhookCase(
        name,
        {**SMS, **change},
        answer=EMPTY_TWIML,
        quarantined={
            "channel": "twilio",
            "error": contains(reason),
            "source_ref": starts_with(INBOUND_PATH + "#"),
        },
        deliveries=2,
    )


WEBHOOK = [
    WebhookCase(
        "recorded_sms",
        SMS,
        answer=EMPTY_TWIML,
        stored={
            "channel": "sms",
            "external_id": "SM1f0e8ad8e0a4b2c5d6e7f8091a2b3c4d",
            "sender": "+6281234567890",
            "text": "Selamat siang, laporan hasil uji kami belum keluar",
        },
        deliveries=2,
    ),
    _malformed("no_message_sid", {"MessageSid": "", "SmsMessageSid": ""}, "MessageSid is required"),
    _malformed("from_not_a_number", {"From": "bukan nomor"}, "not a phone number"),
    _malformed("num_media_word", {"NumMedia": "banyak"}, "NumMedia must be a number"),
    # A status callback posted to the inbound URL is acknowledged, not a message.
    WebhookCase("status_callback_to_inbound", load_form("status_whatsapp_read")),
]


@named_cases(WEBHOOK)
async def test_webhook(gateway: Gateway, case: WebhookCase) -> None:
    async def post(form: dict[str, str]) -> Any:
        return await gateway.post(INBOUND_PATH, form)

    await check_webhook(case, post, gateway.runtime.sessions)


async def test_same_message_sid_three_times_gives_one_message_and_one_reply(
    gateway: Gateway,
) -> None:
    form = load_form("whatsapp_inbound.form")
    for _ in range(3):
        resp = await gateway.post(INBOUND_PATH, form)
        assert resp.status == 200
        assert await resp.text() == EMPTY_TWIML
    await gateway.settle()
    assert await gateway.inbound_count() == 1
    [reply] = gateway.fake.messages
    assert reply["To"] == "whatsapp:+6281234567890"
    async with gateway.runtime.sessions() as s:
        [msg] = list(await s.scalars(select(Message).where(Message.direction == "in")))
    assert (msg.channel, msg.external_id, msg.sender) == (
        "whatsapp",
        "SM2a9b8c7d6e5f40312233445566778899",
        "+6281234567890",
    )
    assert msg.raw["WaId"] == "6281234567890"


async def attachments(gateway: Gateway) -> list[Attachment]:
    async with gateway.runtime.sessions() as s:
        return list(await s.scalars(select(Attachment).order_by(Attachment.id)))


def image_form(gateway: Gateway, content: bytes = JPEG) -> dict[str, str]:
    form = load_form("whatsapp_image.form")
    form["MediaUrl0"] = gateway.fake.add_media(
        form["MessageSid"], "ME4c5d6e7f8091a2b3c4d5e6f708192a3b", content, "image/jpeg"
    )
    return form


async def test_media_is_downloaded_with_basic_auth_and_stored(gateway: Gateway) -> None:
    resp = await gateway.post(INBOUND_PATH, image_form(gateway))
    assert resp.status == 200
    [auth_header] = gateway.fake.media_requests
    assert auth_header is not None and auth_header.startswith("Basic ")
    [att] = await attachments(gateway)
    assert att.content == JPEG and att.size == len(JPEG)
    assert att.content_type == "image/jpeg"
    assert att.filename == "ME4c5d6e7f8091a2b3c4d5e6f708192a3b.jpg"
    assert att.skipped_reason is None


async def test_oversized_media_is_skipped_with_a_reason(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(attachment_max_bytes=1000)
    resp = await gateway.post(INBOUND_PATH, image_form(gateway))
    assert resp.status == 200
    [att] = await attachments(gateway)
    assert att.content == b""
    assert att.skipped_reason is not None and "too large" in att.skipped_reason
    assert att.size == len(JPEG)
    assert await gateway.inbound_count() == 1


async def test_failed_media_download_never_fails_the_webhook(gateway: Gateway) -> None:
    form = load_form("whatsapp_image.form")
    # Not stored on the fake: 404; and a second item on another local port,
    # which is not the configured API base: refused without a request.
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM{'0' * 32}/Media/ME{'1' * 32}"
    form["MediaUrl0"] = gateway.fake.url + path
    form.update(
        NumMedia="2",
        MediaUrl1="http://127.0.0.1:9" + path,
        MediaContentType1="application/pdf",
    )
    resp = await gateway.post(INBOUND_PATH, form)
    assert resp.status == 200
    first, second = await attachments(gateway)
    assert first.skipped_reason == "download failed: HTTP 404"
    assert second.skipped_reason == "refused: a file on 127.0.0.1, a loopback address"
    assert second.filename == f"ME{'1' * 32}.pdf"
    assert await gateway.inbound_count() == 1


async def outbox_rows(gateway: Gateway) -> list[OutboxMessage]:
    async with gateway.runtime.sessions() as s:
        return list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_status_callbacks_move_delivery_status_forward_only(gateway: Gateway) -> None:
    await gateway.post(INBOUND_PATH, load_form("whatsapp_inbound.form"))
    await gateway.settle()
    [row] = await outbox_rows(gateway)
    sid = row.provider_id
    assert sid == f"SM{1:032x}"
    base = load_form("status_whatsapp_read.form")
    seen = []
    for word in ("sent", "delivered", "sent", "read", "failed", "delivered"):
        form = {**base, "MessageSid": sid, "SmsSid": sid}
        form.update(MessageStatus=word, SmsStatus=word)
        resp = await gateway.post(STATUS_PATH, form)
        assert resp.status == 200
        [row] = await outbox_rows(gateway)
        seen.append(row.delivery_status)
    assert seen == ["sent", "delivered", "delivered", "read", "read", "read"]
    async with gateway.runtime.sessions() as s:
        reports = list(await s.scalars(select(DeliveryStatus.status)))
    assert sorted(reports) == ["delivered", "failed", "read", "sent"]  # repeats stored once


async def test_undelivered_sms_records_the_error_code(gateway: Gateway) -> None:
    await gateway.post(INBOUND_PATH, load_form("sms_inbound.form"))
    await gateway.settle()
    [row] = await outbox_rows(gateway)
    assert row.channel == "sms"
    form = {**load_form("status_sms_undelivered.form"), "MessageSid": row.provider_id or ""}
    resp = await gateway.post(STATUS_PATH, form)
    assert resp.status == 200
    [row] = await outbox_rows(gateway)
    assert (row.delivery_status, row.delivery_error_code) == ("failed", "30003")


async def test_status_callback_edge_cases(gateway: Gateway) -> None:
    form = load_form("status_sms_undelivered.form")
    # Unknown status word: acknowledged, ignored.
    resp = await gateway.post(STATUS_PATH, {**form, "MessageStatus": "teleported"})
    assert resp.status == 200
    # Missing fields: acknowledged, quarantined with the reason.
    no_status = {k: v for k, v in form.items() if k not in ("MessageStatus", "SmsStatus")}
    resp = await gateway.post(STATUS_PATH, no_status)
    assert resp.status == 200
    no_sid = {k: v for k, v in form.items() if k not in ("MessageSid", "SmsSid")}
    resp = await gateway.post(STATUS_PATH, no_sid)
    assert resp.status == 200
    async with gateway.runtime.sessions() as s:
        errors = sorted(r.error for r in await s.scalars(select(QuarantinedInbound)))
    assert errors == ["MessageSid is required", "MessageStatus is required"]
    # Bad signature: 403, nothing stored.
    resp = await gateway.post(STATUS_PATH, form, signature="AAAA")
    assert resp.status == 403
    async with gateway.runtime.sessions() as s:
        assert list(await s.scalars(select(DeliveryStatus))) == []
