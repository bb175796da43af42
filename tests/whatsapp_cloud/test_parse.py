"""Parsing Meta's webhook bodies: every recorded message type, statuses, bad shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from channels.base import ChannelName, InboundMessage
from channels.errors import InboundParseError
from channels.whatsapp_cloud import (
    WhatsAppCloudChannel,
    media_refs,
    parse_payload,
    sign,
    verify_signature,
)
from gateway.channel_configs import whatsapp_config
from gateway.config import load_settings
from gateway.delivery import Delivery
from tests.harness.incoming import Check, IncomingCase, check_incoming, named_cases
from tests.whatsapp_cloud.conftest import DATA, payload, signature

SENDER = "+6281234567890"
WHEN = datetime(2025, 11, 20, 0, 53, 20, tzinfo=UTC)  # 1763600000


def one(name: str) -> Any:
    messages, statuses = parse_payload(payload(name))
    assert len(messages) == 1 and statuses == []
    return messages[0]


def first(body: Any) -> InboundMessage | None:
    """The one message of a webhook body (``None`` if it carries none)."""
    messages, statuses = parse_payload(body)
    assert len(messages) <= 1 and statuses == []
    return messages[0] if messages else None


WORDLESS = {"text": "", "sender": SENDER}


def _message(**fields: Any) -> Any:
    return {"entry": [{"changes": [{"value": {"messages": [fields]}}]}]}


INCOMING = [
    IncomingCase(
        "text",
        payload("text"),
        {
            "channel": ChannelName.WHATSAPP,
            "external_id": Check(lambda v: v.startswith("wamid."), "a wamid"),
            "sender": SENDER,
            "sender_name": "Budi Santoso",
            "text": "Halo, saya mau komplain soal laporan hasil uji",
            "received_at": WHEN,
            "attachments": (),
            "automatic": False,
            # Kept for audit: JSON-serialisable, with the message and its metadata.
            "raw": Check(
                lambda raw: (
                    raw["message"]["type"] == "text"
                    and raw["metadata"]["phone_number_id"] == "1234567890"
                    and json.dumps(raw) is not None
                ),
                "the message and its metadata, JSON-serialisable",
            ),
        },
    ),
    # Replies carry the chosen title.
    IncomingCase("button_reply", payload("button_reply"), {"text": "Ya"}),
    IncomingCase("list_reply", payload("list_reply"), {"text": "Administrasi"}),
    IncomingCase("template_button", payload("template_button"), {"text": "Cek status"}),
    # Types without words become empty messages.
    *(
        IncomingCase(
            name,
            payload(name),
            {
                **WORDLESS,
                "raw": Check(lambda raw, n=name: raw["message"]["type"] == n, f"a {name}"),
            },
            message=Check(lambda m: media_refs(m) == [], "without media"),
        )
        for name in ("location", "contacts", "reaction", "unsupported")
    ),
    IncomingCase("system", payload("system"), {"automatic": True, "text": "", "sender_name": None}),
    # Malformed bodies raise with a reason.
    IncomingCase("a_list", [], error="body must be an object"),
    IncomingCase(
        "a_page_object",
        {"object": "page", "entry": []},
        error="object must be whatsapp_business_account",
    ),
    IncomingCase(
        "no_entry", {"object": "whatsapp_business_account"}, error="body has no entry list"
    ),
    IncomingCase("entry_object", {"entry": {"id": 1}}, error="entry must be a list"),
    IncomingCase(
        "no_value",
        {"entry": [{"changes": [{"field": "messages"}]}]},
        error="entry[0].changes[0].value",
    ),
    IncomingCase("no_from", _message(id="w", timestamp="1"), error="messages[0].from"),
    IncomingCase(
        "short_from",
        _message(id="w", timestamp="1", **{"from": "62812"}),
        error="not a valid phone number",
    ),
    IncomingCase(
        "timestamp_word",
        _message(id="w", timestamp="soon", **{"from": "6281234567890"}),
        error="timestamp must be unix seconds",
    ),
]


@named_cases(INCOMING)
def test_incoming(case: IncomingCase) -> None:
    check_incoming(case, first)


@pytest.mark.parametrize(
    ("name", "text", "media"),
    [
        ("image", "foto sertifikat yang salah", ("1003383421387256", "image", "image/jpeg")),
        ("document", "laporan hasil uji", ("1566871557440395", "document", "application/pdf")),
        ("voice", "", ("2139347319754391", "audio", "audio/ogg; codecs=opus")),
        ("sticker", "", ("1386227345405428", "sticker", "image/webp")),
    ],
)
def test_media_messages_list_their_media_ids(
    name: str, text: str, media: tuple[str, str, str]
) -> None:
    msg = one(name)
    assert msg.text == text
    [ref] = media_refs(msg)
    assert (ref.media_id, ref.kind, ref.mime_type) == media
    if name == "document":
        assert ref.filename == "LHU-2026-118.pdf"


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("status_sent", Delivery.SENT, None),
        ("status_delivered", Delivery.DELIVERED, None),
        ("status_read", Delivery.READ, None),
        ("status_failed", Delivery.FAILED, "131047"),
    ],
)
def test_statuses(name: str, status: Delivery, code: str | None) -> None:
    messages, [report] = parse_payload(payload(name))
    assert messages == []
    assert report.provider_id.startswith("wamid.")
    assert report.status is status and report.error_code == code
    assert report.recipient == SENDER
    assert report.occurred_at.tzinfo is not None
    assert report.raw["status"] == name.removeprefix("status_")


def test_unknown_status_words_and_other_fields_are_ignored() -> None:
    body = payload("status_read")
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "deleted"
    assert parse_payload(body) == ([], [])
    body = payload("text")
    body["entry"][0]["changes"][0]["field"] = "message_template_status_update"
    assert parse_payload(body) == ([], [])


def test_batched_messages_keep_order_and_names_match_wa_id() -> None:
    body = payload("text")
    value = body["entry"][0]["changes"][0]["value"]
    second = dict(value["messages"][0], id="wamid.second", **{"from": "6285712345678"})
    value["messages"].append(second)
    value["contacts"].append({"profile": {"name": "Siti"}, "wa_id": "6285712345678"})
    messages, _ = parse_payload(body)
    assert [(m.external_id, m.sender, m.sender_name) for m in messages] == [
        (messages[0].external_id, SENDER, "Budi Santoso"),
        ("wamid.second", "+6285712345678", "Siti"),
    ]


def test_channel_parse_returns_first_message_or_none() -> None:
    ch = WhatsAppCloudChannel(whatsapp_config(load_settings()))
    raw = (DATA / "text.json").read_bytes()
    msg = ch.parse(raw)
    assert msg is not None and msg.text.startswith("Halo")
    assert ch.parse(payload("status_read")) is None
    with pytest.raises(InboundParseError, match="not JSON"):
        ch.parse(b"{nope")


def test_signature_helpers_match_an_independent_hmac() -> None:
    body = (DATA / "text.json").read_bytes()
    good = signature(body)
    assert sign("app-secret-for-tests", body) == good
    assert verify_signature("app-secret-for-tests", body, good)
    assert verify_signature("app-secret-for-tests", body, good.upper().replace("SHA256", "sha256"))
    assert not verify_signature("app-secret-for-tests", body + b" ", good)
    assert not verify_signature("other", body, good)
    for header in (None, "", "sha256=", good.removeprefix("sha256="), "sha1=" + good[7:]):
        assert not verify_signature("app-secret-for-tests", body, header)
