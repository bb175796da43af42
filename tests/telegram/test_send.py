"""Sending: splitting, pacing per chat, error classification, set_webhook, no token in logs."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import pytest

from channels.base import ChannelName, OutboundMessage, Template
from channels.errors import PermanentError, RateLimited, TemporaryError
from channels.ratelimit import Pacer
from channels.telegram import TelegramChannel, set_webhook
from gateway.channel_configs import telegram_config
from storage.db import SessionFactory
from tests.telegram.conftest import CHAT, TOKEN, make_settings
from tests.telegram.fake_bot_api import FakeBotApi

pytestmark = pytest.mark.filterwarnings(
    # python-telegram-bot's own RetryAfter constructor reads its deprecated int form.
    "ignore:Deprecated since version v22.2:telegram.warnings.PTBDeprecationWarning"
)

FAST = Pacer(per_key=None, overall=None)


async def _nothing(message: object) -> None:
    raise AssertionError("not used")


def make_channel(
    tmp_path: Path, fake: FakeBotApi, sessions: SessionFactory, **options: Any
) -> TelegramChannel:
    settings = options.pop("settings", {})
    return TelegramChannel(
        telegram_config(make_settings(tmp_path, fake, **settings)),
        sessions,
        _nothing,
        holder="t",
        **options,
    )


def our_logs(caplog: Any) -> str:
    """Everything logged except the fake server's own access log."""
    return "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if r.name != "aiohttp.access"
    )


def out(text: str, recipient: str = str(CHAT), key: str = "k1", **extra: Any) -> OutboundMessage:
    return OutboundMessage(
        idempotency_key=key,
        channel=ChannelName.TELEGRAM,
        recipient=recipient,
        text=text,
        **extra,
    )


async def test_send_returns_the_message_id_and_ignores_templates(
    tmp_path: Path, fake: FakeBotApi, sessions: SessionFactory
) -> None:
    channel = make_channel(tmp_path, fake, sessions, pacer=FAST)
    result = await channel.send(
        out("Terima kasih, aduan Anda kami terima.", template=Template("ack", "id"))
    )
    [sent] = fake.sent
    assert (sent.chat_id, sent.text) == (CHAT, "Terima kasih, aduan Anda kami terima.")
    assert result.provider_id == str(sent.message_id)
    assert fake.method_calls("getMe")  # initialised on first use
    await channel.stop()


async def test_long_text_goes_as_parts_in_order(
    tmp_path: Path, fake: FakeBotApi, sessions: SessionFactory
) -> None:
    channel = make_channel(tmp_path, fake, sessions, pacer=FAST)
    paragraphs = [f"Bagian {i}: " + "isi " * 400 for i in range(5)]
    result = await channel.send(out("\n\n".join(paragraphs)))
    texts = fake.texts()
    assert len(texts) >= 2 and all(len(t) <= 4096 for t in texts)
    assert all(t.startswith("Bagian ") for t in texts)  # cut at paragraph breaks
    # Nothing lost, nothing reordered.
    assert " ".join(" ".join(texts).split()) == " ".join("\n\n".join(paragraphs).split())
    assert result.provider_id == str(fake.sent[0].message_id)
    await channel.stop()


async def test_a_retry_resumes_at_the_part_that_failed(
    tmp_path: Path, fake: FakeBotApi, sessions: SessionFactory
) -> None:
    channel = make_channel(tmp_path, fake, sessions, pacer=FAST)
    text = "\n\n".join(f"Bagian {i}. " + "isi " * 900 for i in range(3))
    fake.fail_server(after=1)  # part 1 goes, part 2 gets a 500
    with pytest.raises(TemporaryError):
        await channel.send(out(text, key="long"))
    assert len(fake.sent) == 1
    result = await channel.send(out(text, key="long"))
    parts = [s.text for s in fake.sent]
    assert [p.split(".")[0] for p in parts] == ["Bagian 0", "Bagian 1", "Bagian 2"]
    assert result.provider_id == str(fake.sent[0].message_id)
    assert len(fake.method_calls("sendMessage")) == 4  # part 2 twice, nothing else repeated
    await channel.stop()


async def test_pacing_per_chat(tmp_path: Path, fake: FakeBotApi, sessions: SessionFactory) -> None:
    channel = make_channel(tmp_path, fake, sessions)  # default: 1/s per chat, 30/s overall
    await channel.send(out("satu", key="a"))
    await channel.send(out("dua", key="b"))
    await channel.send(out("lain", recipient="111", key="c"))
    first, second, other = fake.sent
    assert second.at - first.at >= 0.95  # about 1 message/s to one chat
    assert other.at - second.at < 0.5  # another chat is not held back by it
    await channel.stop()


@pytest.mark.parametrize(
    ("program", "error", "code"),
    [
        (lambda f: f.fail_blocked(), PermanentError, 403),
        (lambda f: f.fail_chat_not_found(), PermanentError, 400),
        (lambda f: f.fail_server(), TemporaryError, None),
    ],
)
async def test_errors_are_classified(
    tmp_path: Path,
    fake: FakeBotApi,
    sessions: SessionFactory,
    program: Any,
    error: type[Exception],
    code: int | None,
) -> None:
    channel = make_channel(tmp_path, fake, sessions, pacer=FAST)
    await channel.ready()
    program(fake)
    with pytest.raises(error) as info:
        await channel.send(out("halo"))
    assert type(info.value) is error
    assert getattr(info.value, "code", None) == code
    await channel.stop()


async def test_rate_limit_carries_retry_after(
    tmp_path: Path, fake: FakeBotApi, sessions: SessionFactory
) -> None:
    channel = make_channel(tmp_path, fake, sessions, pacer=FAST)
    await channel.ready()
    fake.fail_rate_limited(retry_after=3)
    with pytest.raises(RateLimited) as info:
        await channel.send(out("halo"))
    assert info.value.retry_after == 3.0
    await channel.stop()


async def test_bad_recipient_and_empty_text_are_permanent(
    tmp_path: Path, fake: FakeBotApi, sessions: SessionFactory
) -> None:
    channel = make_channel(tmp_path, fake, sessions, pacer=FAST)
    with pytest.raises(PermanentError, match="chat id"):
        await channel.send(out("halo", recipient="budi@example.com"))
    with pytest.raises(PermanentError, match="empty"):
        await channel.send(out("   "))
    assert fake.calls == []


async def test_rejected_token_is_permanent_and_never_logged(
    tmp_path: Path, fake: FakeBotApi, sessions: SessionFactory, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "999999:WRONG-secret-part-" + "b" * 30
    channel = make_channel(tmp_path, fake, sessions, pacer=FAST, settings={"telegram_token": wrong})
    with pytest.raises(PermanentError) as info:
        await channel.send(out("halo"))
    assert "WRONG-secret-part" not in str(info.value)
    await channel.start()  # logs the failure
    await channel.stop()
    assert "WRONG-secret-part" not in our_logs(caplog)
    assert "telegram: bot not ready" in our_logs(caplog)


async def test_token_not_in_logs_while_working(
    tmp_path: Path, fake: FakeBotApi, sessions: SessionFactory, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    channel = make_channel(tmp_path, fake, sessions, pacer=FAST)
    await channel.start()
    await channel.send(out("halo"))
    status = channel.status()
    assert status["bot"] == "AduanTestBot" and status["mode"] == "webhook"
    assert "TEST-token" not in repr(status)
    fake.fail_server()
    with pytest.raises(TemporaryError):
        await channel.send(out("halo lagi", key="k2"))
    await channel.stop()
    assert fake.sent
    assert "TEST-token" not in our_logs(caplog)


async def test_network_errors_are_temporary(tmp_path: Path, sessions: SessionFactory) -> None:
    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fake = FakeBotApi(TOKEN)
    fake.base = f"http://127.0.0.1:{port}"
    channel = make_channel(tmp_path, fake, sessions, pacer=FAST)
    with pytest.raises(TemporaryError):
        await channel.send(out("halo"))
    await channel.stop()


async def test_set_webhook_registers_url_and_secret(tmp_path: Path, fake: FakeBotApi) -> None:
    url = await set_webhook(telegram_config(make_settings(tmp_path, fake)))
    assert url == "https://aduan.example.go.id/webhooks/telegram"
    assert fake.webhook == {
        "url": url,
        "secret_token": "webhook-Secret_42",
        "allowed_updates": ["message"],
    }


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"public_url": "http://aduan.example.go.id"}, "https"),
        ({"public_url": None}, "https"),
        ({"telegram_webhook_secret": None}, "ADUAN_TELEGRAM_WEBHOOK_SECRET is not set"),
        ({"telegram_webhook_secret": "has spaces!"}, "A-Z"),
        ({"telegram_token": None}, "ADUAN_TELEGRAM_TOKEN"),
    ],
)
async def test_set_webhook_refuses_bad_settings(
    tmp_path: Path, fake: FakeBotApi, overrides: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        await set_webhook(telegram_config(make_settings(tmp_path, fake, **overrides)))
    assert fake.calls == []
