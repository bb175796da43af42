"""The intake conversation understands how people write, over signed Twilio SMS webhooks.

The shared understanding table (docs/intake.md) is played here, one
conversation a row: each ends registered with exactly the right fields, with
no question for something already said, every message kept as typed, and the
tracking number sent back. A burst of three messages within one second, with
the profile's own quiet gap, gets one question back.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from channels.base import ChannelName
from storage.models import Message
from tests.harness.conversation import ASKS, Conversation, registered
from tests.harness.conversations import UNDERSTANDING, IntakeCase
from tests.harness.incoming import named_cases
from tests.twilio.conftest import GatewayFactory, TwilioCitizen

SENDER = "+6281311110001"


@named_cases(UNDERSTANDING)
async def test_understanding(make_gateway: GatewayFactory, case: IntakeCase) -> None:
    gateway = await make_gateway(**case.settings)
    conversation = Conversation(TwilioCitizen(gateway, ChannelName.SMS, SENDER))
    await conversation.play(case.turns)
    await registered(gateway.runtime.sessions, conversation, SENDER, case.expected)
    assert {what: conversation.asked(what) for what in case.asked} == case.asked


async def test_three_messages_within_a_second_get_one_question_back(
    make_gateway: GatewayFactory,
) -> None:
    # turn_gap_seconds=None: the SOP profile's own quiet gap (2.5 s by default).
    gateway = await make_gateway(turn_gap_seconds=None)
    conversation = Conversation(TwilioCitizen(gateway, ChannelName.SMS, "+6281311110003"))
    started = asyncio.get_running_loop().time()
    replies = await conversation.send(
        "halo", "mau komplain", "hasil uji air sumur kami belum keluar"
    )
    assert asyncio.get_running_loop().time() - started >= 2.0  # it waited for the gap
    assert len(replies) == 1, replies
    assert ASKS["complainant_name"] in replies[0]
    async with gateway.runtime.sessions() as s:
        stored = list(await s.scalars(select(Message).where(Message.direction == "in")))
    # All three were stored (and acknowledged) and are part of one draft.
    assert len(stored) == 3 and len({m.conversation_id for m in stored}) == 1
