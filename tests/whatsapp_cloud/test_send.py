"""Sending through the fake Graph API: body shape, splitting, templates, errors."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from channels.base import ChannelName, OutboundMessage, Template
from channels.errors import PermanentError, RateLimited, TemporaryError
from channels.whatsapp_cloud import (
    TEXT_LIMIT,
    WhatsAppCloudChannel,
    classify_error,
    clean_template_parameter,
    split_text,
)
from gateway.channel_configs import whatsapp_config
from gateway.config import Settings
from tests.whatsapp_cloud.conftest import PHONE_NUMBER_ID, TOKEN, make_settings
from tests.whatsapp_cloud.fake_graph import FakeGraph

TO = "+6281234567890"


def out(text: str = "Halo", *, template: Template | None = None, to: str = TO) -> OutboundMessage:
    return OutboundMessage(
        idempotency_key="k1",
        channel=ChannelName.WHATSAPP,
        recipient=to,
        text=text,
        template=template,
    )


async def test_text_send_body_shape(channel: WhatsAppCloudChannel, graph: FakeGraph) -> None:
    result = await channel.send(out("Terima kasih, laporan Anda kami terima."))
    assert result.provider_id == "wamid.FAKE000001"
    [req] = graph.requests
    assert req.method == "POST"
    assert req.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"
    assert req.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "6281234567890",
        "type": "text",
        "text": {"body": "Terima kasih, laporan Anda kami terima.", "preview_url": False},
    }


async def test_local_number_is_sent_as_international_digits(
    channel: WhatsAppCloudChannel, graph: FakeGraph
) -> None:
    await channel.send(out(to="0812-3456-7890"))
    assert graph.sends[0]["to"] == "6281234567890"


async def test_long_text_is_split_in_order_and_first_wamid_returned(
    channel: WhatsAppCloudChannel, graph: FakeGraph
) -> None:
    paragraph = ("Laporan hasil uji terlambat dua minggu. " * 60).strip()  # ~2400 chars
    text = "\n\n".join([f"Bagian {i}. {paragraph}" for i in range(1, 5)])
    result = await channel.send(out(text))
    bodies = graph.sent_texts()
    # Two paragraphs exceed 4096 characters, so each goes alone, whole, in order.
    assert [b[:8] for b in bodies] == ["Bagian 1", "Bagian 2", "Bagian 3", "Bagian 4"]
    assert all(len(b) <= TEXT_LIMIT for b in bodies)
    assert "\n\n".join(bodies) == text
    assert result.provider_id == "wamid.FAKE000001"


def test_split_prefers_paragraph_then_sentence_then_word() -> None:
    assert split_text("short") == ["short"]
    assert split_text("aaaa\n\nbbbb", limit=8) == ["aaaa", "bbbb"]
    assert split_text("Satu dua. Tiga empat lima", limit=16) == ["Satu dua.", "Tiga empat lima"]
    assert split_text("satu dua tiga empat", limit=10) == ["satu dua", "tiga empat"]
    assert split_text("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]
    parts = split_text(("kata " * 3000).strip())
    assert all(len(p) <= TEXT_LIMIT for p in parts) and all(not p.endswith(" ") for p in parts)
    assert " ".join(parts) == ("kata " * 3000).strip()


async def test_template_payload(channel: WhatsAppCloudChannel, graph: FakeGraph) -> None:
    template = Template(
        name="aduan_update",
        language="id",
        variables=("ADU-2026-00042", "Budi\tSantoso", "baris satu\nbaris dua     akhir", "  "),
    )
    result = await channel.send(out("ignored", template=template))
    assert result.provider_id == "wamid.FAKE000001"
    assert graph.sends == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "6281234567890",
            "type": "template",
            "template": {
                "name": "aduan_update",
                "language": {"code": "id"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "ADU-2026-00042"},
                            {"type": "text", "text": "Budi Santoso"},
                            {"type": "text", "text": "baris satu baris dua akhir"},
                            {"type": "text", "text": "-"},
                        ],
                    }
                ],
            },
        }
    ]


def test_clean_template_parameter() -> None:
    assert clean_template_parameter("a\n\tb    c ") == "a b c"
    assert clean_template_parameter("") == "-"


async def test_pair_rate_limit_131056(channel: WhatsAppCloudChannel, graph: FakeGraph) -> None:
    graph.fail_next(
        131056, message="(#131056) (Business Account, Consumer Account) pair rate limit hit"
    )
    with pytest.raises(RateLimited) as info:
        await channel.send(out())
    assert info.value.code == 131056 and info.value.retry_after >= 5


async def test_throughput_130429_with_http_429_honours_retry_after(
    channel: WhatsAppCloudChannel, graph: FakeGraph
) -> None:
    graph.fail_next(130429, status=429, message="Rate limit hit", retry_after="17")
    with pytest.raises(RateLimited) as info:
        await channel.send(out())
    assert info.value.code == 130429 and info.value.retry_after == 17


async def test_plain_http_429_without_code(channel: WhatsAppCloudChannel, graph: FakeGraph) -> None:
    graph.fail_next_raw(429, "Too Many Requests")
    with pytest.raises(RateLimited) as info:
        await channel.send(out())
    assert info.value.retry_after > 0


async def test_reengagement_131047_is_permanent_and_says_why(
    channel: WhatsAppCloudChannel, graph: FakeGraph
) -> None:
    graph.fail_next(131047, message="Re-engagement message")
    with pytest.raises(PermanentError) as info:
        await channel.send(out())
    assert info.value.code == 131047
    assert "24-hour" in str(info.value) and "template" in str(info.value)


UNDELIVERABLE = "Message undeliverable"
WENT_WRONG = "Something went wrong"


@pytest.mark.parametrize(
    ("code", "status", "message", "kind"),
    [
        *(
            (code, status, UNDELIVERABLE, PermanentError)
            for code, status in [
                (131026, 400),
                (131051, 400),
                (100, 400),
                (132001, 404),
                (190, 401),
                (131009, 400),
            ]
        ),
        *(
            (code, status, WENT_WRONG, TemporaryError)
            for code, status in [(131000, 500), (1, 400), (2, 503), (131016, 503)]
        ),
    ],
)
async def test_errors_are_permanent_or_temporary(
    channel: WhatsAppCloudChannel,
    graph: FakeGraph,
    code: int,
    status: int,
    message: str,
    kind: type[Exception],
) -> None:
    graph.fail_next(code, status=status, message=message)
    with pytest.raises(kind) as info:
        await channel.send(out())
    assert info.value.code == code  # type: ignore[attr-defined]
    if kind is PermanentError:
        assert not isinstance(info.value, TemporaryError)
    else:
        assert not isinstance(info.value, RateLimited)


async def test_bare_500_is_temporary(channel: WhatsAppCloudChannel, graph: FakeGraph) -> None:
    graph.fail_next_raw(500, "<html>Internal Server Error</html>")
    with pytest.raises(TemporaryError) as info:
        await channel.send(out())
    assert info.value.code == 500


async def test_wrong_token_is_permanent(graph: FakeGraph, tmp_path: Path) -> None:
    ch = WhatsAppCloudChannel(
        whatsapp_config(make_settings(tmp_path, graph.base_url, whatsapp_token="expired"))
    )
    try:
        with pytest.raises(PermanentError) as info:
            await ch.send(out())
        assert info.value.code == 190
        assert "expired" not in str(info.value)
    finally:
        await ch.stop()


async def test_connection_error_is_temporary(tmp_path: Path, unused_tcp_port: int) -> None:
    ch = WhatsAppCloudChannel(
        whatsapp_config(make_settings(tmp_path, f"http://127.0.0.1:{unused_tcp_port}"))
    )
    try:
        with pytest.raises(TemporaryError, match="unreachable"):
            await ch.send(out())
    finally:
        await ch.stop()


async def test_not_configured_or_bad_recipient_is_permanent(
    channel: WhatsAppCloudChannel, tmp_path: Path, graph: FakeGraph
) -> None:
    ch = WhatsAppCloudChannel(
        whatsapp_config(make_settings(tmp_path, graph.base_url, whatsapp_phone_number_id=None))
    )
    with pytest.raises(PermanentError, match="not configured"):
        await ch.send(out())
    with pytest.raises(PermanentError, match="phone number"):
        await channel.send(out(to="12"))
    with pytest.raises(PermanentError, match="empty"):
        await channel.send(out("   "))
    assert graph.requests == []


def test_retry_after_http_date_and_default() -> None:
    body = {"error": {"code": 130429, "message": "Rate limit hit"}}
    err = classify_error(400, body, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert isinstance(err, RateLimited) and err.retry_after == 0
    err = classify_error(400, body, {})
    assert isinstance(err, RateLimited) and 0 < err.retry_after < 10
    assert isinstance(classify_error(404, None, {}), PermanentError)


async def test_default_pacing_is_one_per_second_per_recipient(
    settings: Settings, graph: FakeGraph
) -> None:
    ch = WhatsAppCloudChannel(whatsapp_config(settings))
    try:
        started = time.monotonic()
        await ch.send(out("satu"))
        await ch.send(out("dua", to="+6285712345678"))  # another recipient: not delayed
        assert time.monotonic() - started < 0.5
        await ch.send(out("tiga"))
        assert time.monotonic() - started >= 0.9
    finally:
        await ch.stop()
    assert graph.sent_texts() == ["satu", "dua", "tiga"]
