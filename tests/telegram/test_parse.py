"""Parsing recorded Telegram updates and splitting long replies (pure functions)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from channels.base import ChannelName
from channels.errors import InboundParseError
from channels.telegram import api_bases, file_refs, lease_name_for, parse_update, split_text
from channels.telegram.parse import language_of, normalise_command
from channels.text import utf16_length
from gateway.channel_configs import telegram_config
from gateway.config import load_settings
from tests.telegram.conftest import CHAT, sample


def test_text_message() -> None:
    msg = parse_update(sample("text"))
    assert msg is not None
    assert msg.channel is ChannelName.TELEGRAM
    assert msg.external_id == "850000101"
    assert msg.sender == str(CHAT)
    assert msg.sender_name == "Budi Santoso"
    assert msg.text == "Selamat pagi, saya mau komplain laporan hasil uji terlambat"
    assert msg.received_at == datetime.fromtimestamp(1763704800, UTC)
    assert msg.received_at.tzinfo is not None
    assert msg.language == "id"
    assert msg.attachments == ()
    assert msg.raw == sample("text")


def test_start_command_is_an_empty_text() -> None:
    msg = parse_update(sample("start"))
    assert msg is not None and msg.text == "" and msg.external_id == "850000100"
    deep_link = sample("start")
    deep_link["message"]["text"] = "/start kantor-bandungan"
    msg = parse_update(deep_link)
    assert msg is not None and msg.text == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/start", ""),
        ("/start@AduanTestBot", ""),
        ("/batal", "batal"),
        ("/batal@AduanTestBot", "batal"),
        ("/help", "help"),
        ("/status ADU-2026-00042", "status ADU-2026-00042"),
        ("/startup rusak", "startup rusak"),
        ("bukan /perintah", "bukan /perintah"),
        ("/ halo", "/ halo"),
    ],
)
def test_commands_lose_their_slash(text: str, expected: str) -> None:
    assert normalise_command(text) == expected


def test_photo_caption_is_the_text_and_the_largest_size_is_referenced() -> None:
    update = sample("photo_caption")
    msg = parse_update(update)
    assert msg is not None and msg.text == "Ini foto tanda terima sampel kami"
    [ref] = file_refs(update)
    assert ref.file_id == "AgACAgUAAxkBAAMMZ-large"
    assert (ref.filename, ref.content_type, ref.size) == (
        "photo-AQADlarge.jpg",
        "image/jpeg",
        61234,
    )
    # parse is pure: nothing downloaded yet, the file_id is in raw for download.
    assert msg.attachments == ()
    assert msg.raw["message"]["photo"][-1]["file_id"] == ref.file_id


def test_document_and_voice_references() -> None:
    [doc] = file_refs(sample("document"))
    assert (doc.file_id, doc.filename, doc.content_type, doc.size) == (
        "BQACAgUAAxkBAAMNZ-doc",
        "surat_pengantar.pdf",
        "application/pdf",
        20480,
    )
    msg = parse_update(sample("document"))
    assert msg is not None and msg.text == "Surat pengantar pengujian"
    [voice] = file_refs(sample("voice"))
    assert (voice.filename, voice.content_type) == ("voice-AgADvoice.ogg", "audio/ogg")
    msg = parse_update(sample("voice"))
    assert msg is not None and msg.text == ""


@pytest.mark.parametrize("name", ["sticker", "location", "contact"])
def test_other_message_kinds_have_an_empty_text(name: str) -> None:
    msg = parse_update(sample(name))
    assert msg is not None
    assert msg.text == "" and msg.sender == str(CHAT)
    assert file_refs(sample(name)) == ()  # stickers are not kept as attachments


@pytest.mark.parametrize("name", ["edited_message", "callback_query", "my_chat_member"])
def test_non_message_updates_are_ignored(name: str) -> None:
    assert parse_update(sample(name)) is None


def test_group_chats_are_ignored() -> None:
    update = sample("text")
    update["message"]["chat"] = {"id": -100123, "title": "Warga RT 05", "type": "supergroup"}
    assert parse_update(update) is None


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda u: [1, 2], "update must be a JSON object"),
        (lambda u: {**u, "update_id": "850000101"}, "update_id must be an integer"),
        (lambda u: {k: v for k, v in u.items() if k != "update_id"}, "update_id must be"),
        (lambda u: {**u, "message": "hi"}, "message must be an object"),
        (lambda u: {**u, "message": {**u["message"], "date": None}}, "message.date"),
        (lambda u: {**u, "message": {**u["message"], "chat": {}}}, "message.chat.id"),
        (lambda u: {**u, "message": {**u["message"], "text": 5}}, "message.text"),
    ],
)
def test_malformed_updates_raise(mutate: Any, reason: str) -> None:
    with pytest.raises(InboundParseError, match=reason):
        parse_update(mutate(copy.deepcopy(sample("text"))))


@pytest.mark.parametrize(
    ("code", "language"),
    [("id", "id"), ("en", "en"), ("en-GB", "en"), ("jv", None), ("de", None), (None, None)],
)
def test_language_from_language_code(code: str | None, language: str | None) -> None:
    assert language_of(code) == language


def test_english_user() -> None:
    update = sample("text")
    update["message"]["from"]["language_code"] = "en-US"
    del update["message"]["from"]["last_name"]
    msg = parse_update(update)
    assert msg is not None and msg.language == "en" and msg.sender_name == "Budi"


# -- splitting ---------------------------------------------------------------------


def test_short_text_is_one_part() -> None:
    assert split_text("Terima kasih.") == ["Terima kasih."]
    assert split_text("   ") == []


def test_split_at_paragraphs_in_order() -> None:
    paragraphs = [f"Paragraf {i}. " + "kata " * 300 for i in range(6)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    parts = split_text(text)
    assert len(parts) > 1
    assert all(utf16_length(p) <= 4096 for p in parts)
    assert all(p.startswith("Paragraf") for p in parts)  # cut between paragraphs
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())


def test_split_at_sentences_then_words() -> None:
    sentence = "Laporan hasil uji terlambat dua minggu. "
    parts = split_text(sentence * 200, limit=500)
    assert all(p.endswith("minggu.") for p in parts)
    words = split_text("kata " * 300, limit=100)
    assert all(len(p) <= 100 and not p.endswith(" ") for p in words)
    assert all(w == "kata" for p in words for w in p.split())
    hard = split_text("x" * 250, limit=100)
    assert hard == ["x" * 100, "x" * 100, "x" * 50]


def test_split_counts_utf16_units() -> None:
    text = "🙏" * 3000  # 6000 UTF-16 units
    parts = split_text(text)
    assert [utf16_length(p) for p in parts] == [4096, 6000 - 4096]
    assert "".join(parts) == text


# -- small helpers -----------------------------------------------------------------


def test_lease_name_never_holds_the_token() -> None:
    assert lease_name_for("123456:TEST-token") == "telegram:123456"
    odd = lease_name_for("not-a-token")
    assert odd.startswith("telegram:sha256:") and "not-a-token" not in odd


def test_api_bases() -> None:
    default = load_settings(telegram_token="1:" + "x" * 35)
    assert api_bases(telegram_config(default)) == (
        "https://api.telegram.org/bot",
        "https://api.telegram.org/file/bot",
    )
    local = load_settings(
        telegram_token="1:" + "x" * 35, telegram_api_base="http://127.0.0.1:9/bot/"
    )
    assert api_bases(telegram_config(local)) == (
        "http://127.0.0.1:9/bot",
        "http://127.0.0.1:9/file/bot",
    )
