"""The complaint page's other forms: assignment, the CAPA form, the appeal and its
panel, and where a reply goes on WhatsApp (README.md, "Staff inbox")."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from channels.base import ChannelName
from gateway.inbox.reply_route import WindowPlan, reply_route
from handlers.profile import WhatsAppTemplate
from handlers.records import current_capa
from handlers.workflow import Actor
from storage.models import Message, StaffUser
from storage.types import utcnow
from tests.inbox.conftest import Site
from tests.inbox.test_complaint_page import (
    SRI,
    events_of,
    file_complaint,
    load,
    page,
    post,
    query_of,
    snapshot,
)

CAPA = {
    "capa_cause": "Antrean pengujian menumpuk",
    "capa_correction": "Laporan diterbitkan hari ini",
    "capa_corrective_action": "Tambah analis pada shift sore",
    "capa_preventive_action": "Pantau antrean mingguan",
    "capa_owner": "tono",
    "capa_due_date": "2026-12-01",
}
DECLARATION = "Saya menyatakan tidak memiliki kepentingan atas pengaduan ini."


async def add_panel_staff(site: Site, *usernames: str) -> None:
    async with site.h.runtime.sessions() as s, s.begin():
        hashed = await s.scalar(select(StaffUser.password_hash).where(StaffUser.username == "sri"))
        assert hashed is not None
        for username in usernames:
            s.add(
                StaffUser(
                    username=username,
                    full_name=username.title(),
                    role="appeal_panel",
                    password_hash=hashed,
                )
            )


async def switch(site: Site, username: str) -> None:
    site.client.session.cookie_jar.clear()
    response = await site.sign_in(username)
    assert response.status == 303, username


async def test_assignment_and_the_capa_form(site: Site) -> None:
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    await site.h.runtime.staff.transition(tracking, "verify", SRI, {})
    await site.h.settle()
    await site.sign_in("sri")
    body = await page(site, tracking)
    assert 'id="assign-assignee"' in body
    response = await post(site, tracking, "assign", {"assignee": "rudi", "note": "cuti"})
    assert query_of(response) == "done=assign#result"
    assert (await load(site, tracking)).assignee == "rudi"
    [assigned] = await events_of(site, tracking, "assigned")
    assert assigned.data == {"assignee": "rudi", "previous": None} and assigned.note == "cuti"
    response = await post(site, tracking, "assign", {"assignee": "nobody"})
    assert query_of(response) == "refused=invalid_data#result"
    assert (await load(site, tracking)).assignee == "rudi"

    await site.h.runtime.staff.transition(
        tracking, "route", SRI, {"category": "technical", "assignee": "tono"}
    )
    await site.h.settle()
    await switch(site, "tono")
    body = await page(site, tracking)
    assert 'id="t-record_capa-capa-cause"' in body  # the transition asks for the CAPA form
    incomplete = {**CAPA, "capa_owner": ""}
    before = await snapshot(site, tracking)
    response = await post(site, tracking, "transition", {"name": "record_capa", **incomplete})
    assert query_of(response) == "refused=missing_data#result"
    assert await snapshot(site, tracking) == before
    response = await post(site, tracking, "transition", {"name": "record_capa", **CAPA})
    assert query_of(response) == "done=transition#result"
    complaint = await load(site, tracking)
    assert complaint.status == "capa_recorded"
    assert current_capa(complaint) == {k.removeprefix("capa_"): v for k, v in CAPA.items()}

    # The quality manager adds the effectiveness check later; the rest is kept.
    await switch(site, "maya")
    body = await page(site, tracking)
    assert "Antrean pengujian menumpuk" in body and 'id="capa-effectiveness_check"' in body
    form = {**CAPA, "capa_effectiveness_check": "Tidak ada keterlambatan sebulan"}
    response = await post(site, tracking, "capa", form)
    assert query_of(response) == "done=capa#result"
    capa = current_capa(await load(site, tracking))
    assert capa is not None
    assert capa["effectiveness_check"] == "Tidak ada keterlambatan sebulan"
    assert capa["cause"] == CAPA["capa_cause"]
    body = await page(site, tracking)
    history = body[body.index('id="history"') :]
    assert "Formulir tindakan koreksi dan pencegahan dicatat" in history
    assert "Pemeriksaan efektivitas" in history

    # An appeal panel member manages nothing.
    await add_panel_staff(site, "ani")
    await switch(site, "ani")
    body = await page(site, tracking)
    assert (
        'id="assign-assignee"' not in body
        and 'action="/inbox/complaints/' not in body.split('id="capa"')[1].split("</section>")[0]
    )
    before = await snapshot(site, tracking)
    assert (await post(site, tracking, "assign", {"assignee": "sri"})).status == 403
    assert (await post(site, tracking, "capa", form)).status == 403
    assert await snapshot(site, tracking) == before


async def close(site: Site, tracking: str) -> None:
    admin = Actor("maya", "admin")
    for actor, name, data in (
        (SRI, "verify", {}),
        (admin, "route", {"category": "administrative", "assignee": "tono"}),
        (Actor("tono", "officer"), "record_capa", {"capa": {k[5:]: v for k, v in CAPA.items()}}),
        (SRI, "verify_result", {"result": "Biaya dikembalikan."}),
        (SRI, "close", {}),
    ):
        await site.h.runtime.staff.transition(tracking, name, actor, data)
    await site.h.settle()


async def test_the_appeal_and_its_panel(site: Site) -> None:
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    await close(site, tracking)
    await add_panel_staff(site, "ani", "budi", "cici")
    await site.sign_in("sri")
    body = await page(site, tracking)
    assert 'id="appeal-reason"' in body
    sent = len(site.h.email.sent)
    response = await post(site, tracking, "appeal", {"reason": "Surat banding tertanggal 1 Des"})
    assert query_of(response) == "done=appeal#result"
    assert len(site.h.email.sent) == sent + 1 and "banding" in site.h.email.sent[-1].text.lower()
    body = await page(site, tracking)
    appeal = body[body.index('id="appeal"') :]
    assert "Pembentukan Tim Penyelesaian Banding" in appeal and "batas" in appeal
    assert "Surat banding tertanggal 1 Des" in appeal and 'id="panel-chair"' in appeal
    # A second appeal is refused, recorded and told to the complainant.
    response = await post(site, tracking, "appeal", {"reason": "lagi"})
    assert query_of(response) == "refused=already_appealed&told=1#result"
    told = await page(site, tracking, "?refused=already_appealed&told=1")
    assert (
        "Banding sudah pernah diajukan" in told and "alasannya disampaikan kepada pengadu" in told
    )
    assert [e.note for e in await events_of(site, tracking, "appeal_refused")] != []

    await switch(site, "maya")
    response = await post(
        site, tracking, "appeal/panel", {"username": "tono", "declaration": DECLARATION}
    )
    assert query_of(response) == "refused=involved#result"
    body = await page(site, tracking, "?refused=involved")
    assert "pernah menangani pengaduan ini" in body
    for username, chair in (("ani", ""), ("budi", ""), ("cici", "1")):
        response = await post(
            site,
            tracking,
            "appeal/panel",
            {"username": username, "chair": chair, "declaration": DECLARATION},
        )
        assert query_of(response) == "done=panel#result", username
    body = await page(site, tracking)
    appeal = body[body.index('id="appeal"') :]
    assert "Menunggu keputusan tim banding" in appeal and "(3 dari 3 anggota)" in appeal
    assert 'id="panel-username"' not in appeal  # the panel is complete
    assert 'id="appeal-decision"' not in appeal  # maya is not the chair

    await switch(site, "ani")
    assert 'id="appeal-decision"' not in await page(site, tracking)
    before = await snapshot(site, tracking)
    response = await post(site, tracking, "appeal/decision", {"decision": "Ditolak"})
    assert response.status == 403
    assert await snapshot(site, tracking) == before

    await switch(site, "cici")
    assert 'id="appeal-decision"' in await page(site, tracking)
    response = await post(site, tracking, "appeal/decision", {"decision": "Banding diterima."})
    assert query_of(response) == "done=decision#result"
    assert "Banding diterima." in site.h.email.sent[-1].text
    body = await page(site, tracking)
    appeal = body[body.index('id="appeal"') :]
    assert "Sudah diputuskan (akhir)" in appeal and "Banding diterima." in appeal
    [decided] = await events_of(site, tracking, "appeal_decided")
    assert decided.actor == "staff:cici"


async def test_the_reply_box_tells_where_a_whatsapp_reply_goes(site: Site) -> None:
    tracking = await file_complaint(site, ChannelName.WHATSAPP, "+6281234567890")
    await site.sign_in("sri")
    body = await page(site, tracking)
    reply = body[body.index('id="reply"') : body.index('id="note"')]
    assert "Dikirim melalui WhatsApp ke +6281234567890." in reply
    assert "Jendela 24 jam WhatsApp terbuka sampai" in reply
    assert "WhatsApp belum dikonfigurasi di server ini" in reply  # the test runtime has no WhatsApp

    # Two days without a WhatsApp message from the complainant: the window is closed.
    async with site.h.runtime.sessions() as s, s.begin():
        await s.execute(update(Message).values(received_at=utcnow() - timedelta(days=2)))
    body = await page(site, tracking)
    reply = body[body.index('id="reply"') : body.index('id="note"')]
    assert "jadi pesan dikirim melalui SMS ke +6281234567890" in reply  # no template: SMS

    runtime = site.h.runtime
    complaint = await load(site, tracking)
    with_template = runtime.profile.model_copy(
        update={"whatsapp_template": WhatsAppTemplate(name="aduan_update")}
    )
    async with runtime.sessions() as s:
        route = await reply_route(
            s, profile=with_template, complaint=complaint, enabled={"whatsapp"}, now=utcnow()
        )
        assert (route.window, route.template) == (WindowPlan.TEMPLATE, "aduan_update")
        route = await reply_route(
            s, profile=runtime.profile, complaint=complaint, enabled={"whatsapp"}, now=utcnow()
        )
        assert route.window is WindowPlan.UNDELIVERABLE and route.enabled
        route = await reply_route(
            s,
            profile=runtime.profile,
            complaint=complaint,
            enabled={"whatsapp"},
            now=utcnow() - timedelta(days=2),
        )
        assert route.window is WindowPlan.OPEN
    with_template_body = (
        "WhatsApp's 24-hour window is closed (the complainant has not written on WhatsApp"
    )
    english = await (await site.client.get(f"/inbox/complaints/{tracking}?lang=en")).text()
    assert "Sent by WhatsApp to +6281234567890." in english
    assert with_template_body not in english  # this profile has no template: SMS instead
    assert "instead" in english
