"""Whole conversations over WhatsApp-via-Twilio and over SMS.

Every inbound message is a signed Twilio webhook; every reply is what the fake
Twilio API received. The shared first-complaint table (one question per
message, in Indonesian; the last reply carries the tracking number) is played
on both kinds; the complaint row has every mandated field (SOP-7.9-1 item 2:
complainant name, customer name, problem, complaint date, receiving officer).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from channels.base import ChannelName
from channels.twilio import STATUS_PATH
from storage.models import Contact, ContactAddress, OutboxMessage
from tests.harness.conversation import Conversation, registered
from tests.harness.conversations import FIRST_COMPLAINT, FIRST_COMPLAINT_FIELDS
from tests.twilio.conftest import OFFICE, PUBLIC_URL, Gateway, TwilioCitizen, inbound_form

# Kept importable from here: the form now lives in the conftest.
__all__ = ["inbound_form"]


@pytest.mark.parametrize("kind", [ChannelName.WHATSAPP, ChannelName.SMS])
async def test_complete_conversation(gateway: Gateway, kind: ChannelName) -> None:
    sender = "+6281234567890"
    citizen = TwilioCitizen(gateway, kind, sender)
    conversation = Conversation(citizen)
    await conversation.play(FIRST_COMPLAINT)
    sent = gateway.fake.messages
    assert len(sent) == len(FIRST_COMPLAINT)
    prefix = "whatsapp:" if kind is ChannelName.WHATSAPP else ""
    for m in sent:
        assert m["To"] == prefix + sender
        assert m["From"] == prefix + OFFICE
        assert m["StatusCallback"] == PUBLIC_URL + STATUS_PATH

    complaint = await registered(
        gateway.runtime.sessions, conversation, sender, FIRST_COMPLAINT_FIELDS
    )
    async with gateway.runtime.sessions() as s:
        outbox = list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        addresses = list(await s.scalars(select(ContactAddress)))
        contacts = list(await s.scalars(select(Contact)))
    assert complaint.received_by == f"channel:{kind.value}"
    assert complaint.channel == kind.value
    assert len(contacts) == 1
    assert [(a.kind, a.address) for a in addresses] == [("phone", sender)]
    # Every outbox row went out, carrying the SID Twilio gave it.
    assert [r.status for r in outbox] == ["sent"] * 5
    assert [r.provider_id for r in outbox] == [f"SM{i:032x}" for i in range(1, 6)]
    assert all(r.channel == kind.value for r in outbox)

    # A later progress update from staff reaches the same number on the same channel.
    outbox_id = await gateway.runtime.notify(
        complaint.id, "Pengaduan Anda sedang diverifikasi.", actor="staff:sri"
    )
    assert outbox_id is not None
    await gateway.settle()
    update = gateway.fake.messages[-1]
    assert update["Body"] == "Pengaduan Anda sedang diverifikasi."
    assert update["To"] == prefix + sender
