"""The SOP workflow of the default profile: transitions, guards, notifications,
time standards, reminders and escalations (docs/sop/README.md, docs/time-standards.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from channels.base import ChannelName
from handlers.workflow import (
    Actor,
    Refusal,
    TransitionRefused,
    sweep_time_standards,
)
from storage.models import Complaint, ComplaintEvent
from storage.types import utcnow
from tests.fakes import inbound
from tests.office_clock import office_after, office_before
from tests.runtime_fixtures import CAPA, Harness, add_staff

SRI = Actor("sri", "secretariat")
BAYU = Actor("bayu", "business_lead")
TONO = Actor("tono", "officer")


async def filed(h: Harness) -> Complaint:
    await add_staff(
        h.runtime.sessions, {"sri": "secretariat", "bayu": "business_lead", "tono": "officer"}
    )
    return await h.file("wf@x")


async def act(h: Harness, complaint_id: int, name: str, actor: Actor, **data: Any) -> Complaint:
    complaint = await h.runtime.transition(complaint_id, name, actor, data)
    await h.settle()
    return complaint


async def test_happy_path_with_the_complainant_told_at_each_notified_step(harness: Harness) -> None:
    h = harness
    complaint = await filed(h)
    assert complaint.status == "received"
    calendar = harness.runtime.profile.office.calendar()
    # 15 minutes of office time (from the next opening when received outside hours).
    assert complaint.step_due_at == calendar.add_office_time(
        complaint.received_at, timedelta(minutes=15)
    )
    sent_before = len(h.email.sent)

    c = await act(h, complaint.id, "verify", SRI)
    assert c.status == "verified" and "telah kami verifikasi" in h.email.sent[-1].text
    c = await act(h, complaint.id, "route", BAYU, category="technical", assignee="tono")
    assert (c.status, c.category, c.assignee) == ("in_follow_up", "technical", "tono")
    # 3 working days, ending at midnight office time.
    due = c.step_due_at
    assert due is not None
    local = due.astimezone(ZoneInfo("Asia/Jakarta"))
    assert (local.hour, local.minute) == (23, 59)
    assert "sedang ditindaklanjuti" in h.email.sent[-1].text
    c = await act(h, complaint.id, "record_capa", TONO, capa=CAPA)
    assert c.details["record_capa"]["capa"]["corrective_action"] == "Tambah analis pada shift sore"
    c = await act(h, complaint.id, "verify_result", SRI, result="Laporan telah diterbitkan ulang.")
    c = await act(h, complaint.id, "close", SRI)
    assert c.status == "closed" and c.step_due_at is None
    outcome = h.email.sent[-1]
    assert "Laporan telah diterbitkan ulang." in outcome.text and "banding" in outcome.text
    assert outcome.subject == f"Selesai [{complaint.tracking_number}]"
    await act(h, complaint.id, "archive", SRI)

    # verify, route and close notify; capa, result verification and archive do not.
    assert len(h.email.sent) - sent_before == 3
    async with h.runtime.sessions() as s:
        events = list(await s.scalars(select(ComplaintEvent).order_by(ComplaintEvent.id)))
    moves = [(e.from_status, e.to_status, e.actor) for e in events if e.kind == "transition"]
    assert moves == [
        ("received", "verified", "staff:sri"),
        ("verified", "in_follow_up", "staff:bayu"),
        ("in_follow_up", "capa_recorded", "staff:tono"),
        ("capa_recorded", "result_verified", "staff:sri"),
        ("result_verified", "closed", "staff:sri"),
        ("closed", "archived", "staff:sri"),
    ]


@pytest.mark.parametrize(
    ("name", "actor", "data", "code"),
    [
        ("verify", TONO, {}, Refusal.FORBIDDEN),
        ("route", BAYU, {"category": "technical", "assignee": "tono"}, Refusal.WRONG_STATE),
        ("reject", SRI, {}, Refusal.MISSING_DATA),
        ("fly", SRI, {}, Refusal.UNKNOWN_TRANSITION),
    ],
)
async def test_refusals_change_nothing(
    harness: Harness, name: str, actor: Actor, data: dict[str, Any], code: Refusal
) -> None:
    h = harness
    complaint = await filed(h)
    with pytest.raises(TransitionRefused) as refused:
        await act(h, complaint.id, name, actor, **data)
    assert refused.value.code is code
    async with h.runtime.sessions() as s:
        again = await s.get(Complaint, complaint.id)
        kinds = list(await s.scalars(select(ComplaintEvent.kind)))
    assert again is not None and again.status == "received" and kinds == ["registered"]


async def test_route_checks_category_assignee_and_capa(harness: Harness) -> None:
    h = harness
    complaint = await filed(h)
    await act(h, complaint.id, "verify", SRI)
    with pytest.raises(TransitionRefused, match="category must be one of"):
        await act(h, complaint.id, "route", BAYU, category="urgent", assignee="tono")
    with pytest.raises(TransitionRefused, match="no active staff user 'ghost'"):
        await act(h, complaint.id, "route", BAYU, category="technical", assignee="ghost")
    await act(h, complaint.id, "route", BAYU, category="administrative", assignee="tono")
    with pytest.raises(TransitionRefused, match="the CAPA form needs cause"):
        await act(h, complaint.id, "record_capa", TONO, capa={**CAPA, "cause": " "})
    # The same form rules as recording the CAPA on its own (handlers.records).
    with pytest.raises(TransitionRefused, match="unknown CAPA fields budget"):
        await act(h, complaint.id, "record_capa", TONO, capa={**CAPA, "budget": "10 juta"})
    with pytest.raises(TransitionRefused, match="CAPA field owner must be text"):
        await act(h, complaint.id, "record_capa", TONO, capa={**CAPA, "owner": 7})
    # admin may do anything the workflow allows from the current state.
    c = await act(h, complaint.id, "record_capa", Actor("root", "admin"), capa=CAPA)
    assert c.status == "capa_recorded"


async def test_rejection_tells_the_complainant_why(harness: Harness) -> None:
    h = harness
    complaint = await filed(h)
    await act(
        h,
        complaint.id,
        "reject",
        SRI,
        reason="diajukan lewat dari 3 hari kerja setelah laporan akhir",
    )
    assert (
        "tidak dapat kami tindak lanjuti: diajukan lewat dari 3 hari kerja" in h.email.sent[-1].text
    )
    # The record stays, and status tells the complainant too.
    await h.runtime.accept(
        inbound(
            ChannelName.EMAIL, "st@x", "budi@example.com", f"status {complaint.tracking_number}"
        )
    )
    await h.settle()
    assert "Ditolak" in h.email.sent[-1].text


async def test_overdue_step_gets_one_reminder_and_one_escalation(harness: Harness) -> None:
    h = harness
    complaint = await filed(h)
    profile = h.runtime.profile
    due = complaint.step_due_at
    assert due is not None

    async def sweep(at: Any) -> dict[str, int]:
        async with h.runtime.sessions() as s, s.begin():
            return await sweep_time_standards(s, profile=profile, now=at)

    calendar = profile.office.calendar()

    def before(minutes: int) -> datetime:
        return office_before(calendar, due, timedelta(minutes=minutes))

    def after(minutes: int) -> datetime:
        return office_after(calendar, due, timedelta(minutes=minutes))

    assert await sweep(before(10)) == {"reminded": 0, "escalated": 0}
    assert await sweep(before(4)) == {"reminded": 1, "escalated": 0}
    assert await sweep(before(2)) == {"reminded": 0, "escalated": 0}
    assert await sweep(after(1)) == {"reminded": 0, "escalated": 1}
    for minutes in (2, 30, 600):
        assert await sweep(after(minutes)) == {"reminded": 0, "escalated": 0}
    async with h.runtime.sessions() as s:
        kinds = list(await s.scalars(select(ComplaintEvent.kind).order_by(ComplaintEvent.id)))
    assert kinds == ["registered", "step_reminder", "step_overdue_escalated"]
    # A transition starts a new step with a fresh reminder and escalation.
    c = await act(h, complaint.id, "verify", SRI)
    assert c.reminded_at is None and c.escalated_at is None
    assert c.step_due_at is not None and c.step_due_at > utcnow()


async def test_status_reply_names_the_step_and_the_next_date(harness: Harness) -> None:
    h = harness
    complaint = await filed(h)
    await act(h, complaint.id, "verify", SRI)
    await h.runtime.accept(
        inbound(
            ChannelName.EMAIL, "st2@x", "budi@example.com", f"status {complaint.tracking_number}"
        )
    )
    await h.settle()
    reply = h.email.sent[-1].text
    assert "Diverifikasi" in reply and "Langkah berikutnya diperkirakan selesai" in reply


async def test_closing_asks_for_a_rating_and_records_it_once(harness: Harness) -> None:
    h = harness
    complaint = await filed(h)
    await act(h, complaint.id, "verify", SRI)
    await act(h, complaint.id, "route", BAYU, category="technical", assignee="tono")
    await act(h, complaint.id, "record_capa", TONO, capa=CAPA)
    await act(h, complaint.id, "verify_result", SRI, result="Laporan telah diterbitkan ulang.")
    await act(h, complaint.id, "close", SRI)
    closing = h.email.sent[-1]
    assert "Balas dengan satu angka dari 1 (sangat tidak puas) sampai 5" in closing.text
    # The complainant answers the closing mail with a number.
    await h.runtime.accept(inbound(ChannelName.EMAIL, "rate@x", "budi@example.com", "4"))
    await h.settle()
    assert h.email.sent[-1].text == "Terima kasih atas penilaian Anda."
    async with h.runtime.sessions() as s:
        rated = await s.get(Complaint, complaint.id)
        assert rated is not None and rated.satisfaction == 4 and rated.satisfaction_at is not None
    # A second number is not a second rating: it starts an ordinary message.
    await h.runtime.accept(inbound(ChannelName.EMAIL, "rate2@x", "budi@example.com", "1"))
    await h.settle()
    async with h.runtime.sessions() as s:
        rated = await s.get(Complaint, complaint.id)
        kinds = list(
            await s.scalars(
                select(ComplaintEvent.kind).where(ComplaintEvent.kind == "satisfaction")
            )
        )
    assert rated is not None and rated.satisfaction == 4 and kinds == ["satisfaction"]


async def test_a_number_while_filling_a_draft_is_not_a_rating(harness: Harness) -> None:
    h = harness
    # On chat, "2" while confirming a draft picks the field to change.
    phone = "+6281234567801"
    for i, text in enumerate(
        ["nama saya Budi dari PT Sinar Jaya, laporan hasil uji terlambat dua minggu", "2"]
    ):
        await h.runtime.accept(inbound(ChannelName.SMS, f"r{i}", phone, text))
        await h.settle()
    assert "pelanggan/peserta" in h.sms.texts()[-1]
