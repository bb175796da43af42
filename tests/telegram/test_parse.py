"""Parsing recorded Telegram updates and splitting long replies (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from channels.base import ChannelName
from channels.telegram import api_bases, file_refs, lease_name_for, parse_update, split_text
from channels.telegram.parse import language_of, normalise_command
from channels.text import utf16_length
from gateway.channel_configs import telegram_config
from gateway.config import load_settings
from tests.harness.incoming import Check, IncomingCase, check_incoming, named_cases
from tests.harness.payloads import DROP, substitute
from tests.telegram.conftest import CHAT, sample

TEXT = sample("text")


def _edit(changes: dict[str, Any]) -> dict[str, Any]:
    """The recorded text update with ``changes`` (dotted paths)."""
    return substitute(TEXT, changes)  # type: ignore[no-any-return]


def _deep_link() -> dict[str, Any]:
    update = sample("start")
    update["message"]["text"] = "/start kantor-bandungan"
    return update


INCOMING = [
    IncomingCase(
        "text",
        TEXT,
        {
            "channel": ChannelName.TELEGRAM,
            "external_id": "850000101",
            "sender": str(CHAT),
            "sender_name": "Budi Santoso",
            "text": "Selamat pagi, saya mau komplain laporan hasil uji terlambat",
            "received_at": datetime.fromtimestamp(1763704800, UTC),
            "language": "id",
            "attachments": (),
            "raw": TEXT,
        },
    ),
    IncomingCase(
        "english_user",
        _edit({"message.from.language_code": "en-US", "message.from.last_name": DROP}),
        {"language": "en", "sender_name": "Budi"},
    ),
    # The start command is an empty text, with or without a deep link.
    IncomingCase("start", sample("start"), {"text": "", "external_id": "850000100"}),
    IncomingCase("start_deep_link", _deep_link(), {"text": ""}),
    IncomingCase(
        "photo_caption",
        sample("photo_caption"),
        # parse is pure: nothing downloaded yet, the file_id is in raw for download.
        {
            "text": "Ini foto tanda terima sampel kami",
            "attachments": (),
            "raw": Check(
                lambda raw: raw["message"]["photo"][-1]["file_id"] == "AgACAgUAAxkBAAMMZ-large",
                "an update whose largest photo is in raw",
            ),
        },
    ),
    IncomingCase("document", sample("document"), {"text": "Surat pengantar pengujian"}),
    IncomingCase("voice", sample("voice"), {"text": ""}),
    # Other message kinds have an empty text.
    *(
        IncomingCase(name, sample(name), {"text": "", "sender": str(CHAT)})
        for name in ("sticker", "location", "contact")
    ),
    # Updates that are not messages, and group chats, are ignored.
    *(
        IncomingCase(name, sample(name), ignored=True)
        for name in ("edited_message", "callback_query", "my_chat_member")
    ),
    IncomingCase(
        "group_chat",
        _edit({"message.chat": {"id": -100123, "title": "Warga RT 05", "type": "supergroup"}}),
        ignored=True,
    ),
    # Malformed updates raise.
    IncomingCase("a_list", [1, 2], error="update must be a JSON object"),
    IncomingCase(
        "update_id_string",
        _edit({"update_id": "850000101"}),
        error="update_id must be an integer",
    ),
    IncomingCase("no_update_id", _edit({"update_id": DROP}), error="update_id must be"),
    IncomingCase("message_string", _edit({"message": "hi"}), error="message must be an object"),
    IncomingCase("no_date", _edit({"message.date": None}), error="message.date"),
    IncomingCase("no_chat_id", _edit({"message.chat": {}}), error="message.chat.id"),
    IncomingCase("text_number", _edit({"message.text": 5}), error="message.text"),
]


@named_cases(INCOMING)
def test_incoming(case: IncomingCase) -> None:
    check_incoming(case, parse_update)


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


def test_photo_caption_references_the_largest_size() -> None:
    [ref] = file_refs(sample("photo_caption"))
    assert ref.file_id == "AgACAgUAAxkBAAMMZ-large"
    assert (ref.filename, ref.content_type, ref.size) == (
        "photo-AQADlarge.jpg",
        "image/jpeg",
        61234,
    )


def test_document_and_voice_references() -> None:
    [doc] = file_refs(sample("document"))
    assert (doc.file_id, doc.filename, doc.content_type, doc.size) == (
        "BQACAgUAAxkBAAMNZ-doc",
        "surat_pengantar.pdf",
        "application/pdf",
        20480,
    )
    [voice] = file_refs(sample("voice"))
    assert (voice.filename, voice.content_type) == ("voice-AgADvoice.ogg", "audio/ogg")


@pytest.mark.parametrize("name", ["sticker", "location", "contact"])
def test_other_message_kinds_reference_no_file(name: str) -> None:
    assert file_refs(sample(name)) == ()  # stickers are not kept as attachments


@pytest.mark.parametrize(
    ("code", "language"),
    [("id", "id"), ("en", "en"), ("en-GB", "en"), ("jv", None), ("de", None), (None, None)],
)
def test_language_from_language_code(code: str | None, language: str | None) -> None:
    assert language_of(code) == language


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
