"""Signed Twilio webhooks whose ``MediaUrl`` points where it must not: the message
is stored, the attachment recorded as skipped with the reason, and nothing
else is reached (docs/attachments.md)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from channels.twilio import INBOUND_PATH
from storage.models import Attachment, Message
from tests.media.servers import recording_server
from tests.twilio.conftest import ACCOUNT_SID, AUTH_TOKEN, Gateway, load_form

MESSAGE_SID = "MM3b4c5d6e7f8091a2b3c4d5e6f7081920"
MEDIA_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{MESSAGE_SID}/Media/ME{'4' * 32}"


async def stored(gateway: Gateway) -> tuple[list[Message], list[Attachment]]:
    async with gateway.runtime.sessions() as s:
        messages = list(await s.scalars(select(Message).where(Message.direction == "in")))
        attachments = list(await s.scalars(select(Attachment).order_by(Attachment.id)))
    return messages, attachments


def form_with(*urls: str) -> dict[str, str]:
    form = load_form("whatsapp_image.form")
    form["NumMedia"] = str(len(urls))
    for i, url in enumerate(urls):
        form[f"MediaUrl{i}"] = url
        form[f"MediaContentType{i}"] = "image/jpeg"
    return form


async def test_media_url_to_a_local_service_is_not_fetched(gateway: Gateway) -> None:
    async with recording_server() as victim:
        form = form_with(victim.url + MEDIA_PATH, "http://169.254.169.254" + MEDIA_PATH)
        resp = await gateway.post(INBOUND_PATH, form)
        assert resp.status == 200
    assert victim.requests == []
    [message], [local, metadata] = await stored(gateway)
    assert message.text == "ini foto laporannya"
    assert (local.message_id, local.content, local.size) == (message.id, b"", 0)
    assert local.skipped_reason == "refused: a file on 127.0.0.1, a loopback address"
    assert metadata.skipped_reason == "refused: a file on 169.254.169.254, a link-local address"
    assert gateway.fake.media_requests == []


async def test_media_url_off_the_twilio_hosts_or_account_is_not_fetched(gateway: Gateway) -> None:
    other_account = MEDIA_PATH.replace(ACCOUNT_SID, "AC" + "f" * 32)
    form = form_with(
        "https://evil.example" + MEDIA_PATH,
        "http://api.twilio.com" + MEDIA_PATH,
        gateway.fake.url + other_account,
        gateway.fake.url + "/2010-04-01/Accounts/../../internal",
    )
    assert (await gateway.post(INBOUND_PATH, form)).status == 200
    [_message], attachments = await stored(gateway)
    assert [a.skipped_reason for a in attachments] == [
        "refused: a file on evil.example, not a Twilio media host",
        "refused: a file on api.twilio.com without https",
        "refused: MediaUrl belongs to another Twilio account",
        "refused: MediaUrl is not a Twilio media path",
    ]
    # The credentials never left: not even the configured base was asked.
    assert gateway.fake.media_requests == []


async def test_redirect_from_twilio_to_a_private_address_is_refused(gateway: Gateway) -> None:
    async with recording_server() as victim:
        gateway.fake.media_redirects[MEDIA_PATH] = f"{victim.url}/latest/meta-data/"
        resp = await gateway.post(INBOUND_PATH, form_with(gateway.fake.url + MEDIA_PATH))
        assert resp.status == 200
    assert victim.requests == []
    [auth] = gateway.fake.media_requests  # the configured base was asked, with credentials
    assert auth is not None and auth.startswith("Basic ")
    [_message], [attachment] = await stored(gateway)
    assert attachment.content == b""
    assert attachment.skipped_reason == "refused: a redirect to 127.0.0.1, a loopback address"


async def test_refusals_leave_no_secret_in_the_log(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    form = form_with(f"http://user:{AUTH_TOKEN}@127.0.0.1:9{MEDIA_PATH}")
    assert (await gateway.post(INBOUND_PATH, form)).status == 200
    [_message], [attachment] = await stored(gateway)
    assert attachment.skipped_reason is not None
    assert AUTH_TOKEN not in attachment.skipped_reason
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("channels")]
    assert any("refused" in line for line in ours)
    assert not any(AUTH_TOKEN in line for line in ours)
