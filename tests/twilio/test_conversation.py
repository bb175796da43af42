"""Whole conversations over WhatsApp-via-Twilio and over SMS.

Every inbound message is a signed Twilio webhook; every reply is what the fake
Twilio API received. One question per message, in Indonesian; the last reply
carries the tracking number; the complaint row has every mandated field
(SOP-7.9-1 item 2: complainant name, customer name, problem, complaint date,
receiving officer).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from channels.base import ChannelName
from channels.twilio import INBOUND_PATH, STATUS_PATH
from storage.models import Complaint, Contact, ContactAddress, OutboxMessage
from tests.twilio.conftest import ACCOUNT_SID, PUBLIC_URL, Gateway

TRACKING = re.compile(r"ADU-\d{4}-\d{5}")
OFFICE = "+62211234567"
ANSWERS = [
    "halo",
    "laporan hasil uji terlambat dua minggu",
    "Budi Santoso",
    "PT Sinar Jaya",
    "ya",
]


def inbound_form(kind: ChannelName, sender: str, sid: str, text: str) -> dict[str, str]:
    prefix = "whatsapp:" if kind is ChannelName.WHATSAPP else ""
    form = {
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": text,
        "To": prefix + OFFICE,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": prefix + sender,
        "ApiVersion": "2010-04-01",
    }
    if kind is ChannelName.WHATSAPP:
        form.update(MessageType="text", WaId=sender.lstrip("+"), ReferralNumMedia="0")
    return form


async def converse(gateway: Gateway, kind: ChannelName, sender: str) -> list[dict[str, str]]:
    fake = gateway.fake
    for i, text in enumerate(ANSWERS):
        before = len(fake.messages)
        resp = await gateway.post(
            INBOUND_PATH, inbound_form(kind, sender, f"SM{kind.value}{i:028d}", text)
        )
        assert resp.status == 200
        await gateway.settle()
        assert len(fake.messages) == before + 1, (text, fake.bodies())
    return fake.messages


@pytest.mark.parametrize("kind", [ChannelName.WHATSAPP, ChannelName.SMS])
async def test_complete_conversation(gateway: Gateway, kind: ChannelName) -> None:
    sender = "+6281234567890"
    sent = await converse(gateway, kind, sender)
    bodies = [m["Body"] for m in sent]
    prefix = "whatsapp:" if kind is ChannelName.WHATSAPP else ""
    for m in sent:
        assert m["To"] == prefix + sender
        assert m["From"] == prefix + OFFICE
        assert m["StatusCallback"] == PUBLIC_URL + STATUS_PATH
    # One question per message, in Indonesian: a greeting is answered with the
    # question for the problem, then who complains and for whom.
    assert "Terima kasih telah menghubungi" in bodies[0] and "ceritakan masalah" in bodies[0]
    assert "nama lengkap" in bodies[1]
    assert "pelanggan/peserta" in bodies[2]
    assert "1. Nama pengadu: Budi Santoso" in bodies[3] and "Balas YA" in bodies[3]
    for body in bodies[:4]:
        assert body.count("?") <= 1
        assert not TRACKING.search(body)
    match = TRACKING.search(bodies[4])
    assert match is not None

    async with gateway.runtime.sessions() as s:
        [complaint] = list(await s.scalars(select(Complaint)))
        outbox = list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        addresses = list(await s.scalars(select(ContactAddress)))
        contacts = list(await s.scalars(select(Contact)))
    assert complaint.tracking_number == match.group(0)
    assert complaint.complainant_name == "Budi Santoso"
    assert complaint.customer_name == "PT Sinar Jaya"
    assert complaint.problem == "laporan hasil uji terlambat dua minggu"
    assert complaint.received_at is not None
    assert complaint.received_by == f"channel:{kind.value}"
    assert complaint.channel == kind.value
    assert complaint.contact_address == sender
    assert len(contacts) == 1
    assert [(a.kind, a.address) for a in addresses] == [("phone", sender)]
    # Every outbox row went out, carrying the SID Twilio gave it.
    assert [r.status for r in outbox] == ["sent"] * 5
    assert [r.provider_id for r in outbox] == [f"SM{i:032x}" for i in range(1, 6)]
    assert all(r.channel == kind.value for r in outbox)

    # A later progress update from staff reaches the same number on the same channel.
    fake = gateway.fake
    outbox_id = await gateway.runtime.notify(
        complaint.id, "Pengaduan Anda sedang diverifikasi.", actor="staff:sri"
    )
    assert outbox_id is not None
    await gateway.settle()
    update = fake.messages[-1]
    assert update["Body"] == "Pengaduan Anda sedang diverifikasi."
    assert update["To"] == prefix + sender
