"""Signed WhatsApp Cloud API webhooks whose media reference points where it must
not: no request with the access token leaves for it, the message is stored and
the attachment recorded as skipped with the reason (docs/attachments.md)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import Attachment, Message
from tests.media.servers import recording_server
from tests.whatsapp_cloud.conftest import TOKEN, Gateway, MakeGateway, payload

IMAGE_ID = "1003383421387256"


def image_with_id(media_id: str) -> dict[str, Any]:
    body = copy.deepcopy(payload("image", live=True))
    body["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["id"] = media_id
    return body


async def stored(gw: Gateway) -> tuple[list[Message], list[Attachment]]:
    async with gw.runtime.sessions() as s:
        messages = list(await s.scalars(select(Message).where(Message.direction == "in")))
        attachments = list(await s.scalars(select(Attachment).order_by(Attachment.id)))
    return messages, attachments


@pytest.mark.parametrize(
    "media_id", ["../../x", "../../v21.0/1234567890/messages", "123?fields=x", "12 34", "１２３"]
)
async def test_a_media_id_that_is_not_a_number_is_refused_without_any_request(
    make_gateway: MakeGateway, media_id: str
) -> None:
    gw: Gateway = await make_gateway()
    assert (await gw.post(image_with_id(media_id))).status == 200
    assert [r for r in gw.graph.requests if r.method == "GET"] == []
    [message], [attachment] = await stored(gw)
    assert message.text == "foto sertifikat yang salah"
    assert attachment.content == b""
    assert attachment.skipped_reason == "refused: the media id is not a number"


async def test_a_lookup_url_to_a_local_service_is_not_fetched(make_gateway: MakeGateway) -> None:
    gw: Gateway = await make_gateway()
    gw.graph.add_media(IMAGE_ID, b"\xff\xd8 jpeg", "image/jpeg")
    async with recording_server() as victim:
        gw.graph.media_urls[IMAGE_ID] = f"{victim.url}/whatsapp_business/attachments/?mid=1"
        assert (await gw.post(payload("image", live=True))).status == 200
    assert victim.requests == []
    [lookup] = [r for r in gw.graph.requests if r.method == "GET"]
    assert lookup.path == f"/v21.0/{IMAGE_ID}"
    _messages, [attachment] = await stored(gw)
    assert attachment.skipped_reason == "refused: a file on 127.0.0.1, a loopback address"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, a link-local address"),
        ("https://evil.example/x", "evil.example, not a WhatsApp media host"),
        ("http://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1", "without https"),
        ("file:///etc/passwd", "not http(s)"),
    ],
)
async def test_a_lookup_url_off_meta_hosts_is_refused(
    make_gateway: MakeGateway, url: str, reason: str
) -> None:
    gw: Gateway = await make_gateway()
    gw.graph.add_media(IMAGE_ID, b"\xff\xd8 jpeg", "image/jpeg")
    gw.graph.media_urls[IMAGE_ID] = url
    assert (await gw.post(payload("image", live=True))).status == 200
    _messages, [attachment] = await stored(gw)
    assert attachment.skipped_reason is not None and reason in attachment.skipped_reason
    assert TOKEN not in attachment.skipped_reason
