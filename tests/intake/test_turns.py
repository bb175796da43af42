"""Turn assembly (handlers/intake/turns.py): which pending messages form one turn, and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handlers.intake.commands import parse_command
from handlers.intake.turns import plan_turn
from storage.models import Message

NOW = datetime(2030, 1, 7, 3, 0, tzinfo=UTC)  # any instant: only differences matter


def message(channel: str, text: str, seconds_ago: float, number: int) -> Message:
    return Message(
        id=number,
        channel=channel,
        text=text,
        direction="in",
        contact_id=1,
        sender="+628123",
        created_at=NOW - timedelta(seconds=seconds_ago),
    )


def is_command(m: Message) -> bool:
    return parse_command(m.text, "ADU") is not None


def plan(pending: list[Message], gap: float = 2.5, wait: float = 12.0):  # type: ignore[no-untyped-def]
    return plan_turn(
        pending, now=NOW, gap_seconds=gap, max_wait_seconds=wait, is_command=is_command
    )


def test_a_burst_waits_for_the_quiet_gap_then_is_one_turn() -> None:
    burst = [
        message("whatsapp", "permisi min", 1.4, 1),
        message("whatsapp", "mau lapor", 1.0, 2),
        message("whatsapp", "hasil lab saya belum keluar", 0.5, 3),
    ]
    waiting = plan(burst)
    assert waiting.messages == () and waiting.wait_seconds == pytest.approx(2.0)
    later = [message(m.channel, m.text, 3.0 + i * 0.1, m.id) for i, m in enumerate(burst)]
    assert [m.id for m in plan(later).messages] == [1, 2, 3]


def test_a_long_story_in_many_messages_is_answered_after_the_longest_wait() -> None:
    typing = [message("telegram", f"bagian {i}", 13 - i, i) for i in range(1, 13)]
    assert typing[-1].created_at > NOW - timedelta(seconds=2.5)  # still typing
    assert len(plan(typing).messages) == 12  # but the first waited 12 s


def test_email_and_the_web_form_are_never_held_back() -> None:
    mail = message("email", "Yth. Bapak/Ibu …", 0.1, 1)
    assert plan([mail, message("email", "susulan", 0.05, 2)]).messages == (mail,)
    form = message("web", "sertifikat belum terbit", 0.1, 3)
    assert plan([form]).messages == (form,)


def test_a_command_is_a_turn_of_its_own_and_closes_the_burst_before_it() -> None:
    first = message("sms", "mau lapor", 0.3, 1)
    cancel = message("sms", "batal", 0.2, 2)
    assert plan([first, cancel]).messages == (first,)  # closed by the command: no wait
    assert plan([cancel, message("sms", "halo", 0.1, 3)]).messages == (cancel,)


def test_another_channel_closes_the_burst() -> None:
    wa = message("whatsapp", "halo", 0.3, 1)
    sms = message("sms", "halo", 0.2, 2)
    assert plan([wa, sms]).messages == (wa,)


def test_no_gap_handles_each_message_at_once() -> None:
    pending = [message("sms", "a", 0.1, 1), message("sms", "b", 0.0, 2)]
    assert [m.id for m in plan(pending, gap=0).messages] == [1]


def test_nothing_pending_is_an_error() -> None:
    with pytest.raises(ValueError, match="no pending message"):
        plan([])
