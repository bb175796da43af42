"""``POST /webhooks/telegram``: secret check, 400s, dedupe, files, and a whole conversation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from channels.ratelimit import Pacer
from channels.telegram import SECRET_HEADER
from gateway.app import create_app
from gateway.config import TelegramMode
from storage.models import Attachment, Message
from tests.harness.conversation import Conversation, registered
from tests.harness.conversations import (
    FIRST_COMPLAINT,
    FIRST_COMPLAINT_FIELDS,
    first_complaint,
)
from tests.harness.incoming import named_cases
from tests.harness.webhooks import (
    NOT_JSON,
    WebhookCase,
    check_webhook,
    equals,
    quarantined_json,
)
from tests.telegram.conftest import (
    CHAT,
    SECRET,
    WEBHOOK_PATH,
    Stack,
    TelegramCitizen,
    fresh,
    make_stack,
    post_update,
    sample,
)
from tests.telegram.fake_bot_api import FakeBotApi

URL = WEBHOOK_PATH


async def client_for(
    aiohttp_client: Any, tmp_path: Path, fake: FakeBotApi, **settings: Any
) -> tuple[Any, Stack]:
    stack = await make_stack(
        tmp_path,
        fake,
        channel_options={"pacer": Pacer(per_key=50.0, overall=None)},
        **settings,
    )
    app = create_app(stack.runtime.settings, runtime=stack.runtime, run_channels=False)
    return await aiohttp_client(app), stack


post = post_update


async def test_wrong_or_missing_secret_is_refused_and_nothing_stored(
    aiohttp_client: Any, tmp_path: Path, fake: FakeBotApi, caplog: Any
) -> None:
    client, stack = await client_for(aiohttp_client, tmp_path, fake)
    for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}):
        resp = await client.post(URL, data=json.dumps(sample("text")), headers=headers)
        assert resp.status == 403
        assert await resp.json() == {"error": "invalid secret token"}
    assert await stack.inbound() == []
    assert fake.calls == []
    assert SECRET not in caplog.text


WEBHOOK = [
    # A malformed body gets 400 (not JSON) or is quarantined with a reason.
    NOT_JSON,
    quarantined_json("a_list", b"[1]", "update must be a JSON object"),
    quarantined_json("update_id_string", {"update_id": "x"}, "update_id must be an integer"),
    quarantined_json("no_date", {"update_id": 1, "message": {"message_id": 1}}, "message.date"),
    # Updates that are not messages are acknowledged and not stored.
    *(
        WebhookCase(name, sample(name), answer=equals({"status": "ignored"}))
        for name in ("edited_message", "callback_query", "my_chat_member")
    ),
]


@named_cases(WEBHOOK)
async def test_webhook(
    aiohttp_client: Any, tmp_path: Path, fake: FakeBotApi, case: WebhookCase
) -> None:
    client, stack = await client_for(aiohttp_client, tmp_path, fake)

    async def post_case(update: Any) -> Any:
        return await post(client, update)

    await check_webhook(case, post_case, stack.runtime.sessions)
    await stack.settle()
    assert await stack.inbound() == []
    assert fake.sent == []


async def test_off_when_not_configured_or_polling(
    aiohttp_client: Any, tmp_path: Path, fake: FakeBotApi
) -> None:
    client, _ = await client_for(
        aiohttp_client, tmp_path / "a", fake, telegram_mode=TelegramMode.POLLING
    )
    assert (await post(client, sample("text"))).status == 404
    client, _ = await client_for(aiohttp_client, tmp_path / "b", fake, telegram_webhook_secret=None)
    assert (await post(client, sample("text"))).status == 404
    # Configured, but the channel is not in the runtime: nothing could answer.
    client, stack = await client_for(aiohttp_client, tmp_path / "c", fake)
    del stack.runtime.channels["telegram"]
    assert (await post(client, sample("text"))).status == 404
    assert await stack.inbound() == []


async def test_three_deliveries_give_one_message_and_one_reply(
    aiohttp_client: Any, tmp_path: Path, fake: FakeBotApi
) -> None:
    client, stack = await client_for(aiohttp_client, tmp_path, fake)
    answers = []
    update = fresh(sample("text"))
    for _ in range(3):
        resp = await post(client, update)
        assert resp.status == 200
        answers.append(await resp.json())
    assert [a["duplicate"] for a in answers] == [False, True, True]
    assert len({a["message_id"] for a in answers}) == 1
    await stack.settle()
    [message] = await stack.inbound()
    assert (message.channel, message.external_id, message.sender) == (
        "telegram",
        "850000101",
        str(CHAT),
    )
    assert len(fake.sent) == 1 and fake.sent[0].chat_id == CHAT


async def test_files_are_downloaded_within_the_limit(
    aiohttp_client: Any, tmp_path: Path, fake: FakeBotApi
) -> None:
    client, stack = await client_for(aiohttp_client, tmp_path, fake, attachment_max_bytes=30000)
    photo = b"\xff\xd8\xff\xe0 fake jpeg"
    fake.add_file("AgACAgUAAxkBAAMMZ-large", photo, "photos/file_1.jpg")
    fake.add_file("AwACAgUAAxkBAAMOZ-voice", b"OggS voice")
    # The photo is listed at 61234 bytes in the update but getFile says smaller: the
    # update's size is what Telegram will serve, so it is skipped before any request.
    resp = await post(client, sample("photo_caption"))
    assert resp.status == 200
    resp = await post(client, sample("voice"))
    assert resp.status == 200
    # The document's file_id is unknown to the fake: getFile fails -> skipped, still 200.
    resp = await post(client, sample("document"))
    assert resp.status == 200
    # Redelivery of the voice message does not download again.
    downloads = len(fake.downloads)
    assert (await post(client, sample("voice"))).status == 200
    assert len(fake.downloads) == downloads
    async with stack.runtime.sessions() as s:
        rows = {a.filename: a for a in await s.scalars(select(Attachment).order_by(Attachment.id))}
        assert (await s.scalar(select(func.count()).select_from(Message)) or 0) >= 3
    big = rows["photo-AQADlarge.jpg"]
    assert big.content == b"" and big.skipped_reason is not None
    assert "too large" in big.skipped_reason
    voice = rows["voice-AgADvoice.ogg"]
    assert (voice.content, voice.size, voice.content_type, voice.skipped_reason) == (
        b"OggS voice",
        10,
        "audio/ogg",
        None,
    )
    doc = rows["surat_pengantar.pdf"]
    assert doc.content == b"" and doc.skipped_reason and "download failed" in doc.skipped_reason


async def test_small_photo_is_downloaded(
    aiohttp_client: Any, tmp_path: Path, fake: FakeBotApi
) -> None:
    client, stack = await client_for(aiohttp_client, tmp_path, fake)
    photo = b"\xff\xd8\xff\xe0 fake jpeg"
    fake.add_file("AgACAgUAAxkBAAMMZ-large", photo, "photos/file_1.jpg")
    assert (await post(client, sample("photo_caption"))).status == 200
    assert fake.downloads == ["photos/file_1.jpg"]
    async with stack.runtime.sessions() as s:
        [row] = list(await s.scalars(select(Attachment)))
    assert (row.content, row.content_type, row.skipped_reason) == (photo, "image/jpeg", None)


async def test_one_complete_conversation_to_a_tracking_number(
    aiohttp_client: Any, tmp_path: Path, fake: FakeBotApi
) -> None:
    client, stack = await client_for(aiohttp_client, tmp_path, fake)
    conversation = Conversation(TelegramCitizen(client, stack))
    # "/start" says nothing: the problem is asked first, then who; the Telegram
    # profile name is offered as a suggestion only.
    await conversation.play(first_complaint("/start", profile_name=True))
    assert len(fake.sent) == len(FIRST_COMPLAINT)
    complaint = await registered(
        stack.runtime.sessions, conversation, str(CHAT), FIRST_COMPLAINT_FIELDS, thread=False
    )
    assert complaint.received_by == "channel:telegram"
    assert complaint.channel == "telegram"
    # A later progress update from staff reaches the same chat.
    assert await stack.runtime.notify(
        complaint.id, "Pengaduan Anda sedang diverifikasi.", actor="staff:sri"
    )
    await stack.settle()
    assert fake.texts(CHAT)[-1] == "Pengaduan Anda sedang diverifikasi."
