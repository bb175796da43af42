"""Long polling: order, offset after commit, retry on failure, restart, one poller per bot."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from channels.base import InboundMessage
from channels.errors import RateLimited, TemporaryError
from channels.ratelimit import Pacer
from channels.telegram import TelegramChannel
from gateway.config import TelegramMode
from gateway.runtime import build_runtime
from storage import leases
from storage.migrate import upgrade
from storage.models import Message, QuarantinedInbound
from tests.harness.conversation import Conversation, registered
from tests.harness.conversations import FIRST_COMPLAINT_FIELDS, first_complaint
from tests.harness.rows import wait_until
from tests.telegram.conftest import (
    CHAT,
    PolledTelegramCitizen,
    Stack,
    make_settings,
    make_stack,
    sample,
    text_update,
)
from tests.telegram.fake_bot_api import FakeBotApi

pytestmark = pytest.mark.filterwarnings(
    # python-telegram-bot's own RetryAfter constructor reads its deprecated int form.
    "ignore:Deprecated since version v22.2:telegram.warnings.PTBDeprecationWarning"
)


@pytest.fixture
async def polling(tmp_path: Path, fake: FakeBotApi) -> Any:
    s = await make_stack(
        tmp_path,
        fake,
        telegram_mode=TelegramMode.POLLING,
        channel_options={"pacer": Pacer(per_key=50.0, overall=None)},
    )
    yield s
    await s.runtime.close()


class FlakyAccept:
    """Commits through the runtime, failing the first time for chosen update ids."""

    def __init__(self, stack: Stack, fail_once: set[str]) -> None:
        self.stack = stack
        self.fail_once = set(fail_once)
        self.calls: list[str] = []

    async def __call__(self, message: InboundMessage) -> object:
        self.calls.append(message.external_id)
        if message.external_id in self.fail_once:
            self.fail_once.discard(message.external_id)
            raise RuntimeError("database is locked")
        return await self.stack.runtime.accept(message)


async def stored_ids(stack: Stack) -> list[str]:
    return [m.external_id or "" for m in await stack.inbound()]


async def test_updates_are_accepted_in_order_and_the_offset_follows_commits(
    polling: Stack, fake: FakeBotApi
) -> None:
    channel = polling.channel
    await fake.push(*(text_update(100 + i, f"pesan {i}") for i in range(3)))
    assert await channel.poll_once() == 3
    assert await stored_ids(polling) == ["100", "101", "102"]
    assert channel.offset == 103
    [call] = fake.method_calls("getUpdates")
    assert "offset" not in call  # a fresh poller asks for every unconfirmed update
    assert call["allowed_updates"] == '["message"]' and call["timeout"] == "0"
    # The next call confirms them at Telegram.
    assert await channel.poll_once() == 0
    assert fake.method_calls("getUpdates")[-1]["offset"] == "103"
    assert fake.updates == []


async def test_a_failing_accept_is_retried_not_skipped(polling: Stack, fake: FakeBotApi) -> None:
    accept = FlakyAccept(polling, {"201"})
    channel = polling.new_channel("h1")
    channel._accept = accept
    await fake.push(*(text_update(200 + i, f"pesan {i}") for i in range(3)))
    with pytest.raises(RuntimeError, match="database is locked"):
        await channel.poll_once()
    assert await stored_ids(polling) == ["200"]
    assert channel.offset == 201  # not past the failed one
    assert await channel.poll_once() == 2
    assert accept.calls == ["200", "201", "201", "202"]
    assert await stored_ids(polling) == ["200", "201", "202"]
    assert channel.offset == 203
    await channel.stop()


async def test_unparseable_and_ignored_updates_move_the_offset(
    polling: Stack, fake: FakeBotApi
) -> None:
    broken = text_update(301, "x")
    del broken["message"]["date"]
    await fake.push(text_update(300, "satu"), broken, sample("callback_query") | {"update_id": 302})
    await fake.push(text_update(303, "dua"))
    assert await polling.channel.poll_once() == 4
    assert await stored_ids(polling) == ["300", "303"]
    assert polling.channel.offset == 304


async def test_restart_resumes_without_losing_or_repeating(
    polling: Stack, fake: FakeBotApi
) -> None:
    await fake.push(*(text_update(400 + i, f"pesan {i}") for i in range(3)))
    assert await polling.channel.poll_once() == 3
    await polling.settle()
    replies = len(fake.sent)
    # The process dies before its next getUpdates confirmed 400-402 at Telegram;
    # meanwhile two more arrive.
    await fake.push(text_update(403, "pesan 3"), text_update(404, "pesan 4"))
    restarted = polling.new_channel("after-restart")
    assert restarted.offset is None
    assert await restarted.poll_once() == 5
    assert await stored_ids(polling) == ["400", "401", "402", "403", "404"]
    assert restarted.offset == 405
    await polling.settle()
    # Only the two new messages were processed (the repeats were duplicates).
    assert len(fake.sent) - replies <= 2
    await restarted.stop()


async def test_random_update_ids_after_an_idle_week_are_not_lost(
    polling: Stack, fake: FakeBotApi
) -> None:
    """Telegram picks a random next update_id after a week without updates."""
    await fake.push(text_update(900_000, "lama"))
    assert await polling.channel.poll_once() == 1
    assert await polling.channel.poll_once() == 0  # confirms 900000
    restarted = polling.new_channel("a-week-later")
    await fake.push(text_update(12_345, "pesan baru setelah seminggu"))
    assert await restarted.poll_once() == 1
    assert await stored_ids(polling) == ["900000", "12345"]
    await restarted.stop()


async def test_getupdates_errors_are_classified(polling: Stack, fake: FakeBotApi) -> None:
    fake.fail_rate_limited("getUpdates", retry_after=7)
    with pytest.raises(RateLimited) as info:
        await polling.channel.poll_once()
    assert info.value.retry_after == 7
    fake.fail_server("getUpdates")
    with pytest.raises(TemporaryError):
        await polling.channel.poll_once()
    assert polling.channel.offset is None


async def wait_for(condition: Any, timeout: float = 5.0) -> None:
    await wait_until(condition, timeout, step=0.02)


async def test_only_one_process_polls_a_bot(polling: Stack, fake: FakeBotApi) -> None:
    fake.webhook = {"url": "https://old.example/webhooks/telegram"}  # removed by the poller
    options = {"poll_timeout": 1, "retry_seconds": 0.05, "lease_ttl_seconds": 3.0}
    first = polling.new_channel("process-a", **options)
    second = polling.new_channel("process-b", **options)
    await first.start()
    await second.start()
    await fake.push(*(text_update(500 + i, f"pesan {i}") for i in range(4)))

    async def all_stored() -> bool:
        return len(await stored_ids(polling)) == 4

    await wait_for(all_stored)
    assert [first.holds_lease, second.holds_lease].count(True) == 1
    assert fake.conflicts == 0
    assert fake.webhook == {}
    assert first.status()["polling"] and second.status()["polling"]
    holder, other = (first, second) if first.holds_lease else (second, first)
    # Stopping the holder releases the lease promptly (its long poll is cancelled)
    # and the other process takes over.
    loop = asyncio.get_running_loop()
    started = loop.time()
    await holder.stop()
    assert loop.time() - started < 1.0
    assert not holder.holds_lease
    await fake.push(text_update(504, "setelah pindah"))

    async def taken_over() -> bool:
        return other.holds_lease and len(await stored_ids(polling)) == 5

    await wait_for(taken_over)
    await other.stop()
    assert fake.conflicts == 0
    # Released, not left to lapse: a third process gets it at once.
    assert await leases.acquire(polling.runtime.sessions, other.lease_name, "process-c", 5)


async def test_polling_starts_from_the_channel_start(tmp_path: Path, fake: FakeBotApi) -> None:
    stack = await make_stack(
        tmp_path,
        fake,
        telegram_mode=TelegramMode.POLLING,
        channel_options={"poll_timeout": 1, "retry_seconds": 0.05},
    )
    try:
        channel: TelegramChannel = stack.channel
        await channel.start()
        assert fake.method_calls("getMe")
        await fake.push(text_update(600, "halo"))

        async def stored() -> bool:
            return await stored_ids(stack) == ["600"]

        await wait_for(stored)
        assert channel.status()["holds_lease"] is True
    finally:
        await stack.runtime.close()
    assert not stack.channel.status()["polling"]


async def test_gateway_poller_quarantines_what_it_cannot_parse_and_cleans_what_it_stores(
    tmp_path: Path, fake: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    # The channel as the gateway builds it (gateway/runtime.py): the pipeline's
    # accept (sanitise, quarantine what cannot be stored) and quarantine.
    runtime = await build_runtime(
        make_settings(tmp_path, fake, telegram_mode=TelegramMode.POLLING), use_redis=False
    )
    await upgrade(runtime.engine)
    await runtime.start(run_channels=False)
    channel = runtime.channels["telegram"]
    assert isinstance(channel, TelegramChannel)
    overflow = text_update(500, "x")
    overflow["message"]["date"] = 10**20  # OverflowError inside python-telegram-bot
    wrong_type = text_update(501, "y")
    wrong_type["message"]["entities"] = "bold"
    dirty = text_update(502, "tolong\x00\ud800 dibantu")
    dirty["message"]["from"]["first_name"] = "N" * 300
    await fake.push(overflow, wrong_type, dirty, text_update(503, "biasa"))
    try:
        assert await channel.poll_once() == 4
        assert channel.offset == 504
        async with runtime.sessions() as s:
            rows = list(await s.scalars(select(QuarantinedInbound).order_by(QuarantinedInbound.id)))
            stored = list(
                await s.scalars(
                    select(Message).where(Message.direction == "in").order_by(Message.id)
                )
            )
        assert [r.source_ref for r in rows] == [
            "telegram-poll#update#500",
            "telegram-poll#update#501",
        ]
        assert rows[0].error == "not a Telegram update: OverflowError"
        assert json.loads(rows[1].raw)["message"]["entities"] == "bold"
        assert [m.external_id for m in stored] == ["502", "503"]
        assert stored[0].text == "tolong dibantu"
        assert stored[0].sender_name == "N" * 200
        # Telegram's next getUpdates confirms all four: nothing is asked again.
        assert await channel.poll_once() == 0
        assert not [r for r in caplog.records if r.exc_info]
    finally:
        await runtime.close()


async def test_a_database_error_text_never_reaches_the_log(
    polling: Stack, fake: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    # SQLAlchemy puts the statement's parameters in its error text.
    leaky = "(sqlite3.OperationalError) disk I/O error [parameters: ('+6281234567890', 'Siti')]"

    async def failing(message: InboundMessage) -> object:
        raise RuntimeError(leaky)

    channel = polling.new_channel("h-leak")
    channel._accept = failing
    await fake.push(text_update(600, "rahasia"))
    with pytest.raises(RuntimeError):
        await channel.poll_once()
    assert channel.offset is None  # not past the update: it is retried
    assert "+6281234567890" not in caplog.text and "Siti" not in caplog.text
    assert "+6281234567890" not in str(channel.status())
    await channel.stop()


async def test_a_database_outage_while_polling_is_logged_once(
    polling: Stack, fake: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    down = {"refused": 0}

    async def unreachable(message: InboundMessage) -> object:
        if down["refused"] < 6:
            down["refused"] += 1
            raise OperationalError("INSERT", {}, ConnectionRefusedError("refused"))
        return await polling.runtime.accept(message)

    channel = polling.new_channel(
        "h-outage", poll_timeout=0, retry_seconds=0.01, max_backoff_seconds=0.02
    )
    channel._accept = unreachable
    await fake.push(text_update(700, "saat basis data mati"))
    await channel.start()

    async def stored() -> bool:
        working = not channel._loop.in_outage
        return working and await stored_ids(polling) == ["700"]

    try:
        await wait_for(stored)
    finally:
        await channel.stop()
    assert down["refused"] == 6
    ours = [r for r in caplog.records if r.name.startswith(("channels.", "aduan"))]
    problems = [r.getMessage() for r in ours if r.levelno >= logging.WARNING]
    assert len(problems) == 1 and "OperationalError" in problems[0], problems
    assert [r for r in ours if "working again" in r.getMessage()]
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_complete_conversation_over_long_polling(polling: Stack) -> None:
    conversation = Conversation(PolledTelegramCitizen(None, polling))
    await conversation.play(first_complaint("/start", profile_name=True))
    complaint = await registered(
        polling.runtime.sessions, conversation, str(CHAT), FIRST_COMPLAINT_FIELDS, thread=False
    )
    assert complaint.channel == "telegram"
