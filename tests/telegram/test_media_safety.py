"""Telegram updates whose file reference is malformed, or whose ``getFile``
answer points outside the Bot API's file store: nothing is downloaded, the
message is stored and the attachment recorded as skipped (docs/attachments.md)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.ratelimit import Pacer
from channels.telegram import SECRET_HEADER
from gateway.app import create_app
from storage.models import Attachment
from tests.telegram.conftest import SECRET, TOKEN, Stack, make_stack, sample
from tests.telegram.fake_bot_api import FakeBotApi

URL = "/webhooks/telegram"
VOICE_ID = "AwACAgUAAxkBAAMOZ-voice"


async def client_for(aiohttp_client: Any, tmp_path: Path, fake: FakeBotApi) -> tuple[Any, Stack]:
    stack = await make_stack(
        tmp_path, fake, channel_options={"pacer": Pacer(per_key=50.0, overall=None)}
    )
    app = create_app(stack.runtime.settings, runtime=stack.runtime, run_channels=False)
    return await aiohttp_client(app), stack


async def post(client: Any, update: dict[str, Any]) -> Any:
    return await client.post(
        URL,
        data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json", SECRET_HEADER: SECRET},
    )


async def attachments(stack: Stack) -> list[Attachment]:
    async with stack.runtime.sessions() as s:
        return list(await s.scalars(select(Attachment).order_by(Attachment.id)))


@pytest.mark.parametrize("file_id", ["../../getMe?x=", "AwAC/../../x", "a b", "x" * 300])
async def test_a_malformed_file_id_is_refused_without_any_request(
    aiohttp_client: Any, tmp_path: Path, fake: FakeBotApi, file_id: str
) -> None:
    client, stack = await client_for(aiohttp_client, tmp_path, fake)
    update = copy.deepcopy(sample("voice"))
    update["message"]["voice"]["file_id"] = file_id
    assert (await post(client, update)).status == 200
    assert fake.method_calls("getFile") == [] and fake.downloads == []
    [attachment] = await attachments(stack)
    assert attachment.content == b""
    assert attachment.skipped_reason == "refused: the file_id is not a Telegram file id"
    assert len(await stack.inbound()) == 1


@pytest.mark.parametrize(
    "file_path", ["../../bot123/getMe", "voice/../../../etc/passwd", "/etc/passwd", "a//b", ""]
)
async def test_a_file_path_outside_the_file_store_is_not_downloaded(
    aiohttp_client: Any, tmp_path: Path, fake: FakeBotApi, file_path: str
) -> None:
    client, stack = await client_for(aiohttp_client, tmp_path, fake)
    fake.files[VOICE_ID] = (file_path, b"OggS voice")
    assert (await post(client, sample("voice"))).status == 200
    assert len(fake.method_calls("getFile")) == 1
    assert fake.downloads == []
    [attachment] = await attachments(stack)
    assert attachment.skipped_reason == "refused: getFile answered no usable file_path"


async def test_the_file_is_fetched_from_the_configured_base_with_the_token_kept_out_of_reasons(
    aiohttp_client: Any, tmp_path: Path, fake: FakeBotApi
) -> None:
    client, stack = await client_for(aiohttp_client, tmp_path, fake)
    # getFile fails: the reason is stored without the token (it is in the URL).
    assert (await post(client, sample("voice"))).status == 200
    [failed] = await attachments(stack)
    assert failed.skipped_reason == "download failed: HTTP 400"
    assert TOKEN not in failed.skipped_reason
    fake.add_file(VOICE_ID, b"OggS voice", "voice/file_7.oga")
    update = copy.deepcopy(sample("voice"))
    update["update_id"] += 1
    update["message"]["message_id"] += 1
    assert (await post(client, update)).status == 200
    assert fake.downloads == ["voice/file_7.oga"]
    _failed, stored = await attachments(stack)
    assert (stored.content, stored.skipped_reason) == (b"OggS voice", None)
