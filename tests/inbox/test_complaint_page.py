"""The complaint page: thread across channels, reply, transitions, notes, field
edits, what a role may do, CSRF (README.md, "Staff inbox")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from channels.base import ChannelName
from handlers.workflow import Actor
from storage.models import (
    Complaint,
    ComplaintEvent,
    ComplaintRead,
    ContactAddress,
    OutboxMessage,
    StaffUser,
)
from tests.inbox.conftest import Site

TEXT = "Nama: {name}\nPelanggan: PT Sinar Jaya\nMasalah: {problem}"
SRI = Actor("sri", "secretariat")
#: One request of each kind that changes a complaint: (action path, form data).
CHANGES = (
    ("reply", {"text": "Halo"}),
    ("transition", {"name": "verify"}),
    ("note", {"text": "catatan"}),
    ("fields", {"field_customer_name": "PT Lain"}),
)


async def file_complaint(
    site: Site,
    channel: ChannelName,
    sender: str,
    *,
    name: str = "Budi Santoso",
    problem: str = "laporan hasil uji terlambat dua minggu",
    key: str | None = None,
) -> str:
    """File a complete complaint on ``channel`` (chat channels confirm with "ya")."""
    key = key or f"{channel}-{sender}-{problem[:10]}"
    text = TEXT.format(name=name, problem=problem)
    return (await site.h.file(key, sender, text, channel)).tracking_number


async def two_complaints_of_one_person(site: Site) -> tuple[str, str]:
    """One person, two complaints: by WhatsApp and, with the same contact, by email
    (their tracking numbers in that order)."""
    by_wa = await file_complaint(
        site, ChannelName.WHATSAPP, "+6281234567890", problem="sertifikat kalibrasi hilang"
    )
    wa = await load(site, by_wa)
    async with site.h.runtime.sessions() as s, s.begin():
        s.add(ContactAddress(contact_id=wa.contact_id, kind="email", address="budi@example.com"))
    by_mail = await file_complaint(
        site, ChannelName.EMAIL, "budi@example.com", problem="laporan uji belum diterima"
    )
    assert (await load(site, by_mail)).contact_id == wa.contact_id
    return by_wa, by_mail


async def load(site: Site, tracking: str) -> Complaint:
    async with site.h.runtime.sessions() as s:
        complaint = await s.scalar(select(Complaint).where(Complaint.tracking_number == tracking))
    assert complaint is not None
    return complaint


@dataclass(frozen=True)
class Snapshot:
    """What a refused request must leave unchanged."""

    status: str
    assignee: str | None
    fields: tuple[str, str, str]
    events: int
    outbox: int
    sent: int


async def snapshot(site: Site, tracking: str) -> Snapshot:
    complaint = await load(site, tracking)
    async with site.h.runtime.sessions() as s:
        events = await s.scalar(
            select(func.count())
            .select_from(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint.id)
        )
        outbox = await s.scalar(select(func.count()).select_from(OutboxMessage))
    return Snapshot(
        complaint.status,
        complaint.assignee,
        (complaint.complainant_name, complaint.customer_name, complaint.problem),
        int(events or 0),
        int(outbox or 0),
        len(site.h.email.sent) + len(site.h.sms.sent),
    )


async def events_of(site: Site, tracking: str, kind: str) -> list[ComplaintEvent]:
    complaint = await load(site, tracking)
    async with site.h.runtime.sessions() as s:
        return list(
            await s.scalars(
                select(ComplaintEvent)
                .where(ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.kind == kind)
                .order_by(ComplaintEvent.id)
            )
        )


async def post(
    site: Site, tracking: str, action: str, data: dict[str, str], *, csrf: bool = True
) -> Any:
    """POST a complaint-page form the way the browser does (with the page's CSRF token)."""
    form = dict(data)
    if csrf:
        form["csrf"] = await site.csrf("/inbox")
    response = await site.client.post(
        f"/inbox/complaints/{tracking}/{action}", data=form, allow_redirects=False
    )
    await site.h.settle()
    return response


def query_of(response: Any) -> str:
    location = response.headers["Location"]
    return location.split("?", 1)[1] if "?" in location else ""


async def page(site: Site, tracking: str, query: str = "") -> str:
    response = await site.client.get(f"/inbox/complaints/{tracking}{query}")
    assert response.status == 200, response.status
    return await response.text()


async def test_the_thread_shows_every_channel_of_the_contact(site: Site) -> None:
    by_wa, by_mail = await two_complaints_of_one_person(site)
    wa, mail = await load(site, by_wa), await load(site, by_mail)
    assert mail.contact_id == wa.contact_id and by_mail != by_wa

    await site.sign_in("sri")
    body = await page(site, by_mail)
    assert "laporan uji belum diterima" in body and "sertifikat kalibrasi hilang" in body
    thread = body[body.index('id="thread"') : body.index('id="reply"')]
    assert thread.index("sertifikat kalibrasi hilang") < thread.index("laporan uji belum diterima")
    assert "WhatsApp" in thread and "Email" in thread
    # The WhatsApp messages belong to the other complaint, linked from the thread.
    assert f'href="/inbox/complaints/{by_wa}"' in thread
    # Header: status, channel, receiving channel, time standard.
    header = body[: body.index('id="thread"')]
    assert by_mail in header and "Diterima" in header and "Email" in header
    assert "cp-due-" in header and "Belum ditugaskan" in header
    # The bot's answers are in the thread too, as outbound messages.
    assert "Balasan otomatis" in thread
    # Opening the page marked the complaint read for sri.
    async with site.h.runtime.sessions() as s:
        sri = await s.scalar(select(StaffUser).where(StaffUser.username == "sri"))
        assert sri is not None
        read = await s.get(ComplaintRead, (mail.id, sri.id))
    assert read is not None
    listing = await (await site.client.get("/inbox")).text()
    assert f'href="/inbox/complaints/{by_mail}"' in listing


async def test_a_reply_reaches_the_complainant_on_their_channel(site: Site) -> None:
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    await site.sign_in("sri")
    body = await page(site, tracking)
    assert "Dikirim melalui Email ke budi@example.com." in body
    sent = len(site.h.email.sent)
    response = await post(
        site, tracking, "reply", {"text": "Laporan Bapak sedang kami periksa, mohon ditunggu."}
    )
    assert response.status == 303
    assert response.headers["Location"].endswith(f"/inbox/complaints/{tracking}?done=reply#result")
    assert len(site.h.email.sent) == sent + 1
    message = site.h.email.sent[-1]
    assert message.recipient == "budi@example.com"
    assert "Laporan Bapak sedang kami periksa" in message.text
    assert tracking in (message.subject or "")
    body = await page(site, tracking, "?done=reply")
    assert "Pesan sedang dikirim kepada pengadu." in body
    thread = body[body.index('id="thread"') : body.index('id="reply"')]
    assert "Laporan Bapak sedang kami periksa" in thread and "Sri (sri)" in thread
    assert "Terkirim" in thread
    [notified] = [
        e
        for e in await events_of(site, tracking, "complainant_notified")
        if "sedang kami periksa" in (e.note or "")
    ]
    assert notified.actor == "staff:sri"


async def test_an_empty_reply_is_refused_and_changes_nothing(site: Site) -> None:
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    await site.sign_in("sri")
    before = await snapshot(site, tracking)
    response = await post(site, tracking, "reply", {"text": "   "})
    assert response.status == 303 and query_of(response) == "refused=missing_data#result"
    assert await snapshot(site, tracking) == before
    body = await page(site, tracking, "?refused=missing_data")
    assert "Ada isian wajib yang masih kosong." in body and "Tidak ada yang diubah." in body


async def test_a_transition_by_the_right_role_notifies_the_complainant(site: Site) -> None:
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    await site.sign_in("sri")
    body = await page(site, tracking)
    steps = body[body.index('id="actions"') :]
    assert 'name="name" value="verify"' in steps and 'name="name" value="reject"' in steps
    assert 'name="reason"' in steps  # reject asks for its reason, verify for nothing
    sent = len(site.h.email.sent)
    response = await post(site, tracking, "transition", {"name": "verify"})
    assert response.status == 303 and query_of(response) == "done=transition#result"
    assert (await load(site, tracking)).status == "verified"
    assert len(site.h.email.sent) == sent + 1
    assert tracking in site.h.email.sent[-1].text and "verifikasi" in site.h.email.sent[-1].text

    # Routing asks for a category and an assignee, and records both.
    body = await page(site, tracking)
    assert 'id="t-route-category"' in body and 'id="t-route-assignee"' in body
    response = await post(
        site,
        tracking,
        "transition",
        {"name": "route", "category": "technical", "assignee": "tono"},
    )
    complaint = await load(site, tracking)
    assert (complaint.status, complaint.category, complaint.assignee) == (
        "in_follow_up",
        "technical",
        "tono",
    )
    history = await page(site, tracking)
    history = history[history.index('id="history"') :]
    assert "Langkah diambil: Teruskan untuk tindak lanjut" in history
    assert "Diverifikasi → Dalam tindak lanjut" in history and "Tono (tono)" in history


async def test_a_refused_transition_says_why_and_changes_nothing(site: Site) -> None:
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    await site.sign_in("sri")
    before = await snapshot(site, tracking)
    response = await post(site, tracking, "transition", {"name": "reject", "reason": ""})
    assert query_of(response) == "refused=missing_data#result"
    response = await post(site, tracking, "transition", {"name": "close"})
    assert query_of(response) == "refused=wrong_state#result"
    response = await post(site, tracking, "transition", {"name": "fly"})
    assert query_of(response) == "refused=unknown_transition#result"
    assert await snapshot(site, tracking) == before
    body = await page(site, tracking, "?refused=wrong_state")
    assert "tidak lagi berada pada tahap" in body and 'role="alert"' in body


async def test_a_forged_transition_outside_the_role_is_forbidden(site: Site) -> None:
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    await site.sign_in("maya")  # the quality manager; "verify" is the secretariat's
    body = await page(site, tracking)
    assert 'value="verify"' not in body  # not offered …
    before = await snapshot(site, tracking)
    response = await post(site, tracking, "transition", {"name": "verify"})  # … and refused
    assert response.status == 403
    assert "tidak ada yang diubah" in (await response.text()).lower()
    assert await snapshot(site, tracking) == before
    # Opening an appeal is for the appeal roles only; an officer may not either.
    await site.h.runtime.staff.transition(tracking, "verify", SRI, {})
    await site.h.runtime.staff.transition(
        tracking, "route", SRI, {"category": "technical", "assignee": "tono"}
    )
    await site.h.settle()
    site.client.session.cookie_jar.clear()
    await site.sign_in("tono")
    before = await snapshot(site, tracking)
    for action, data in (
        ("transition", {"name": "reject", "reason": "bukan wewenang"}),
        ("appeal", {"reason": "tidak setuju"}),
    ):
        response = await post(site, tracking, action, data)
        assert response.status == 403, action
    assert await snapshot(site, tracking) == before


async def test_requests_without_the_csrf_token_change_nothing(site: Site) -> None:
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    await site.sign_in("sri")
    before = await snapshot(site, tracking)
    for action, data in CHANGES:
        missing = await post(site, tracking, action, data, csrf=False)
        assert missing.status == 403, action
        wrong = await post(site, tracking, action, {**data, "csrf": "tebakan"}, csrf=False)
        assert wrong.status == 403, action
    cross = await site.client.post(
        f"/inbox/complaints/{tracking}/reply",
        data={"text": "Halo", "csrf": await site.csrf()},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert cross.status == 403
    await site.h.settle()
    assert await snapshot(site, tracking) == before


async def test_notes_stay_internal(site: Site) -> None:
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    await site.sign_in("sri")
    before = await snapshot(site, tracking)
    response = await post(site, tracking, "note", {"text": "Pelanggan menelepon pukul 10."})
    assert query_of(response) == "done=note#result"
    after = await snapshot(site, tracking)
    assert (after.outbox, after.sent, after.events) == (
        before.outbox,
        before.sent,
        before.events + 1,
    )
    body = await page(site, tracking)
    history = body[body.index('id="history"') :]
    assert "Pelanggan menelepon pukul 10." in history
    assert "cp-internal" in history and "tidak pernah dikirim ke pengadu" in history
    thread = body[body.index('id="thread"') : body.index('id="reply"')]
    assert "Pelanggan menelepon" not in thread


async def test_field_edits_are_audited_and_invalid_ones_refused(site: Site) -> None:
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    await site.sign_in("sri")
    body = await page(site, tracking)
    assert 'id="field-customer_name"' in body and 'id="field-problem"' in body
    complaint = await load(site, tracking)
    form = {
        "field_complainant_name": complaint.complainant_name,
        "field_customer_name": "PT Sinar Jaya Abadi",
        "field_problem": complaint.problem,
    }
    response = await post(site, tracking, "fields", form)
    assert query_of(response) == "done=fields#result"
    assert (await load(site, tracking)).customer_name == "PT Sinar Jaya Abadi"
    [edit] = await events_of(site, tracking, "field_edited")
    assert edit.actor == "staff:sri"
    assert edit.data == {
        "field": "customer_name",
        "old": "PT Sinar Jaya",
        "new": "PT Sinar Jaya Abadi",
    }
    body = await page(site, tracking)
    history = body[body.index('id="history"') :]
    assert "Data dikoreksi: Nama pelanggan/peserta" in history
    assert "PT Sinar Jaya Abadi" in history and "Sri (sri)" in history

    # The same values again: nothing recorded.
    response = await post(site, tracking, "fields", {**form})
    assert query_of(response) == "done=unchanged#result"
    assert len(await events_of(site, tracking, "field_edited")) == 1

    # An invalid name refuses the whole edit, the valid problem text included.
    before = await snapshot(site, tracking)
    response = await post(
        site,
        tracking,
        "fields",
        {**form, "field_complainant_name": "1", "field_problem": "masalah yang lain sekali"},
    )
    assert query_of(response) == "refused=invalid_data&field=complainant_name#result"
    assert await snapshot(site, tracking) == before
    body = await page(site, tracking, "?" + query_of(response).split("#")[0])
    assert "Nama pengadu tidak diterima: Nama perlu diisi, minimal 2 huruf." in body


async def test_field_edits_need_a_role_that_manages_the_complaint(site: Site) -> None:
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    await site.h.runtime.staff.transition(tracking, "verify", SRI, {})
    await site.h.runtime.staff.transition(
        tracking, "route", SRI, {"category": "technical", "assignee": "rudi"}
    )
    await site.h.settle()
    async with site.h.runtime.sessions() as s, s.begin():
        s.add(
            StaffUser(
                username="ani",
                full_name="Ani",
                role="appeal_panel",
                password_hash=(
                    await s.scalar(
                        select(StaffUser.password_hash).where(StaffUser.username == "sri")
                    )
                ),
            )
        )
    await site.sign_in("ani")
    body = await page(site, tracking)
    assert 'action="/inbox/complaints/' + tracking + '/fields"' not in body
    before = await snapshot(site, tracking)
    response = await post(site, tracking, "fields", {"field_customer_name": "PT Lain"})
    assert response.status == 403
    assert await snapshot(site, tracking) == before


async def test_an_officer_outside_the_team_gets_404(site: Site) -> None:
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    await site.sign_in("tono")
    assert (await site.client.get(f"/inbox/complaints/{tracking}")).status == 404
    assert (await site.client.get("/inbox/complaints/ADU-2026-99999")).status == 404
    before = await snapshot(site, tracking)
    for action, data in CHANGES:
        response = await post(site, tracking, action, data)
        assert response.status == 404, action
        assert "Pengaduan tidak ditemukan" in await response.text()
    assert await snapshot(site, tracking) == before
    # Assigned to a team mate, it becomes visible.
    await site.h.runtime.staff.transition(tracking, "verify", SRI, {})
    await site.h.runtime.staff.transition(
        tracking, "route", SRI, {"category": "technical", "assignee": "rudi"}
    )
    await site.h.settle()
    assert (await site.client.get(f"/inbox/complaints/{tracking}")).status == 200
    assert re.search(r"<h1>.*" + re.escape(tracking), await page(site, tracking))
