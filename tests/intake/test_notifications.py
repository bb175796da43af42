"""Progress messages to complainants go on the channel they used, and are recorded."""

from __future__ import annotations

from sqlalchemy import select

from channels.base import ChannelName
from handlers.notifications import complaint_route
from storage.models import Complaint, ComplaintEvent
from tests.fakes import inbound
from tests.runtime_fixtures import COMPLETE_COMPLAINT, Harness


async def only_complaint(h: Harness) -> Complaint:
    async with h.runtime.sessions() as s:
        [complaint] = list(await s.scalars(select(Complaint)))
        return complaint


async def test_email_update_threads_on_the_complaint(harness: Harness) -> None:
    h = harness
    await h.runtime.accept(
        inbound(
            ChannelName.EMAIL, "first@x", "budi@example.com", COMPLETE_COMPLAINT, subject="Keluhan"
        )
    )
    await h.settle()
    complaint = await only_complaint(h)
    assert complaint.thread_key == "first@x"
    assert (
        await h.runtime.notify(complaint.id, "Sedang diverifikasi.", actor="staff:sri") is not None
    )
    await h.settle()
    update = h.email.sent[-1]
    assert update.text == "Sedang diverifikasi." and update.recipient == "budi@example.com"
    assert update.subject == f"[{complaint.tracking_number}]"
    assert update.thread_refs == ("first@x",)
    async with h.runtime.sessions() as s:
        kinds = list(await s.scalars(select(ComplaintEvent.kind).order_by(ComplaintEvent.id)))
    assert kinds == ["registered", "complainant_notified"]


async def test_web_complaint_is_notified_by_the_phone_it_gave_or_flagged(harness: Harness) -> None:
    h = harness
    # A web-form complaint that left only a phone number, with no chat channel on.
    await h.runtime.accept(
        inbound(
            ChannelName.WEB,
            "a" * 32,
            "+6281234567890",
            "laporan hasil uji terlambat",
            fields={
                "complainant_name": "Budi",
                "customer_name": "PT A",
                "problem": "laporan hasil uji terlambat",
            },
        )
    )
    await h.settle()
    complaint = await only_complaint(h)
    assert complaint_route(complaint, enabled=["email"]) is None
    assert complaint_route(complaint, enabled=["sms", "whatsapp"]) == ("whatsapp", "+6281234567890")
    # SMS is on in this runtime: the phone number chooses it.
    assert (
        await h.runtime.notify(complaint.id, "Sedang diverifikasi.", actor="staff:sri") is not None
    )
    await h.settle()
    assert h.sms.sent[-1].recipient == "+6281234567890"
    h.runtime.channels.pop("sms")
    assert await h.runtime.notify(complaint.id, "Lagi.", actor="staff:sri") is None
    async with h.runtime.sessions() as s:
        kinds = list(await s.scalars(select(ComplaintEvent.kind).order_by(ComplaintEvent.id)))
    # The acknowledgement went by SMS too (a phone-only web complaint), then the notice.
    assert kinds == [
        "registered",
        "complainant_notified",
        "complainant_notified",
        "notification_unroutable",
    ]
    assert complaint.tracking_number in h.sms.sent[0].text
