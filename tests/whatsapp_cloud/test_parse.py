"""Parsing Meta's webhook bodies: every recorded message type, statuses, bad shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from channels.base import ChannelName
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
from tests.whatsapp_cloud.conftest import DATA, payload, signature

SENDER = "+6281234567890"
WHEN = datetime(2025, 11, 20, 0, 53, 20, tzinfo=UTC)  # 1763600000


def one(name: str) -> Any:
    messages, statuses = parse_payload(payload(name))
    assert len(messages) == 1 and statuses == []
    return messages[0]


def test_text_message() -> None:
    msg = one("text")
    assert msg.channel is ChannelName.WHATSAPP
    assert msg.external_id.startswith("wamid.")
    assert msg.sender == SENDER
    assert msg.sender_name == "Budi Santoso"
    assert msg.text == "Halo, saya mau komplain soal laporan hasil uji"
    assert msg.received_at == WHEN
    assert msg.attachments == () and msg.automatic is False
    assert msg.raw["message"]["type"] == "text"
    assert msg.raw["metadata"]["phone_number_id"] == "1234567890"
    json.dumps(msg.raw)  # kept for audit: JSON-serialisable


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
    ("name", "text"),
    [
        ("button_reply", "Ya"),
        ("list_reply", "Administrasi"),
        ("template_button", "Cek status"),
    ],
)
def test_replies_carry_the_chosen_title(name: str, text: str) -> None:
    assert one(name).text == text


@pytest.mark.parametrize("name", ["location", "contacts", "reaction", "unsupported"])
def test_types_without_words_become_empty_messages(name: str) -> None:
    msg = one(name)
    assert msg.text == "" and msg.sender == SENDER and media_refs(msg) == []
    assert msg.raw["message"]["type"] == name


def test_system_message_is_automatic() -> None:
    msg = one("system")
    assert msg.automatic is True and msg.text == "" and msg.sender_name is None


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


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "body must be an object"),
        ({"object": "page", "entry": []}, "object must be whatsapp_business_account"),
        ({"object": "whatsapp_business_account"}, "body has no entry list"),
        ({"entry": {"id": 1}}, "entry must be a list"),
        ({"entry": [{"changes": [{"field": "messages"}]}]}, "entry[0].changes[0].value"),
        (
            {"entry": [{"changes": [{"value": {"messages": [{"id": "w", "timestamp": "1"}]}}]}]},
            "messages[0].from",
        ),
        (
            {
                "entry": [
                    {
                        "changes": [
                            {
                                "value": {
                                    "messages": [{"id": "w", "from": "62812", "timestamp": "1"}]
                                }
                            }
                        ]
                    }
                ]
            },
            "not a valid phone number",
        ),
        (
            {
                "entry": [
                    {
                        "changes": [
                            {
                                "value": {
                                    "messages": [
                                        {"id": "w", "from": "6281234567890", "timestamp": "soon"}
                                    ]
                                }
                            }
                        ]
                    }
                ]
            },
            "timestamp must be unix seconds",
        ),
    ],
)
def test_malformed_bodies_raise_with_a_reason(body: Any, reason: str) -> None:
    with pytest.raises(InboundParseError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse_payload(body)


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
