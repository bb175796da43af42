"""Staff notifications: a new complaint for the first step's owners, an assignment for the
assignee; in the inbox with a count, by email when configured, once per event."""

from __future__ import annotations

import re

from sqlalchemy import delete, select, update

from channels.base import ChannelName
from handlers import staff_notices
from storage.models import Complaint, OutboxMessage, StaffNotification, StaffUser
from tests.fakes import inbound
from tests.inbox.conftest import Site, add_staff
from tests.inbox.test_complaint_page import SRI, TEXT, events_of, file_complaint, load, post

COUNT_RE = re.compile(
    r'id="nav-notifications"[^>]*>([^<]*)(?:<span class="notice-count">\((\d+)\)</span>)?'
)


async def set_emails(site: Site, **emails: str) -> None:
    async with site.h.runtime.sessions() as s, s.begin():
        for username, email in emails.items():
            await s.execute(
                update(StaffUser).where(StaffUser.username == username).values(email=email)
            )


async def notices(site: Site, username: str | None = None) -> list[tuple[str, str, str]]:
    """(username, kind, event_key) of every notice, oldest first."""
    async with site.h.runtime.sessions() as s:
        query = (
            select(StaffUser.username, StaffNotification.kind, StaffNotification.event_key)
            .join(StaffUser, StaffUser.id == StaffNotification.staff_user_id)
            .order_by(StaffNotification.id)
        )
        if username:
            query = query.where(StaffUser.username == username)
        return [tuple(row) for row in (await s.execute(query)).all()]  # type: ignore[misc]


async def staff_mails(site: Site) -> list[tuple[str, str, str]]:
    """(recipient, subject, body) of staged staff emails (no contact), oldest first."""
    async with site.h.runtime.sessions() as s:
        rows = await s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.contact_id.is_(None), OutboxMessage.channel == "email")
            .order_by(OutboxMessage.id)
        )
        return [(r.recipient, r.subject or "", r.body) for r in rows]


async def nav_count(site: Site, path: str = "/inbox") -> int:
    response = await site.client.get(path)
    assert response.status == 200
    found = COUNT_RE.search(await response.text())
    assert found is not None and found.group(1).strip() == "Pemberitahuan"
    return int(found.group(2) or 0)


async def announce(
    site: Site, complaint: Complaint, *, email_enabled: bool
) -> list[StaffNotification]:
    """Run the registration's notices of ``complaint`` (again) in one transaction."""
    async with site.h.runtime.work() as s:
        return await staff_notices.notify_new_complaint(
            s,
            profile=site.h.runtime.profile,
            complaint=complaint,
            writer=site.h.runtime.writer,
            email_enabled=email_enabled,
        )


async def test_a_new_complaint_notifies_the_first_steps_owners_in_the_inbox_and_by_email(
    site: Site,
) -> None:
    await add_staff(site.h, ("dewi", "secretariat"), ("ana", "admin"), ("lama", "secretariat"))
    await set_emails(site, sri="sri@kantor.example", maya="maya@kantor.example")
    async with site.h.runtime.sessions() as s, s.begin():
        await s.execute(update(StaffUser).where(StaffUser.username == "lama").values(active=False))
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    complaint = await load(site, tracking)
    key = staff_notices.registered_key(complaint.id)
    # The default profile's first step "received" is owned by the secretariat only.
    assert await notices(site) == [("sri", "new_complaint", key), ("dewi", "new_complaint", key)]
    [mail] = await staff_mails(site)
    assert mail[0] == "sri@kantor.example"
    assert mail[1] == f"[{tracking}] Pengaduan baru"
    assert f"Pengaduan baru {tracking} (PT Sinar Jaya) telah dicatat" in mail[2]
    assert f"A new complaint {tracking} (PT Sinar Jaya) was registered" in mail[2]
    assert f"/inbox/complaints/{tracking}" in mail[2]
    assert "sri@kantor.example" in [m.recipient for m in site.h.email.sent]

    await site.sign_in("sri")
    assert await nav_count(site) == 1
    page = await (await site.client.get("/inbox/notifications")).text()
    assert f'href="/inbox/complaints/{tracking}"' in page
    assert f"Pengaduan baru {tracking} (PT Sinar Jaya) menunggu pada langkah Diterima." in page
    await site.client.get("/inbox?lang=en")
    page = await (await site.client.get("/inbox/notifications")).text()
    assert f"New complaint {tracking} (PT Sinar Jaya) waits in the step Received." in page


async def test_an_assignment_notifies_the_assignee_but_not_who_assigns_themselves(
    site: Site,
) -> None:
    await set_emails(site, tono="tono@kantor.example")
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    await site.sign_in("sri")
    # Sri takes the complaint herself: nobody is told.
    response = await post(site, tracking, "assign", {"assignee": "sri"})
    assert response.status == 303
    assert [n for n in await notices(site) if n[1] == "assigned"] == []
    await site.h.runtime.staff.transition(tracking, "verify", SRI, {})
    # Routing names the competent officer (SOP-7.9-1 items 6-8): Tono is told.
    await site.h.runtime.staff.transition(
        tracking, "route", SRI, {"category": "technical", "assignee": "tono"}
    )
    await site.h.settle()
    [route] = [
        e for e in await events_of(site, tracking, "transition") if e.data["transition"] == "route"
    ]
    assert await notices(site, "tono") == [
        ("tono", "assigned", staff_notices.assigned_key(route.id))
    ]
    mails = [m for m in await staff_mails(site) if m[0] == "tono@kantor.example"]
    assert len(mails) == 1 and mails[0][1] == f"[{tracking}] Ditugaskan kepada Anda"
    assert f"Sri menugaskan pengaduan {tracking} (PT Sinar Jaya) kepada Anda." in mails[0][2]
    # Reassigned in the inbox to Rudi (no email address): a notice in the inbox only.
    response = await post(site, tracking, "assign", {"assignee": "rudi"})
    assert response.status == 303
    [assigned] = [
        e for e in await events_of(site, tracking, "assigned") if e.data["assignee"] == "rudi"
    ]
    assert await notices(site, "rudi") == [
        ("rudi", "assigned", staff_notices.assigned_key(assigned.id))
    ]
    assert len(await staff_mails(site)) == 1  # only Tono's: nobody else has an address
    site.client.session.cookie_jar.clear()
    await site.sign_in("rudi")
    assert await nav_count(site) == 1


async def test_the_same_event_processed_twice_notifies_once(site: Site) -> None:
    await set_emails(site, sri="sri@kantor.example", tono="tono@kantor.example")
    message = inbound(
        ChannelName.EMAIL,
        "mail-1",
        "budi@example.com",
        TEXT.format(name="Budi Santoso", problem="laporan hasil uji terlambat dua minggu"),
    )
    await site.h.runtime.accept(message)
    await site.h.settle()
    await site.h.runtime.accept(message)  # the provider delivers it again
    await site.h.settle()
    assert len(await notices(site)) == 1 and len(await staff_mails(site)) == 1
    async with site.h.runtime.sessions() as s:
        complaint = await s.scalar(select(Complaint))
    assert complaint is not None
    # Running the registration's and the assignment's notices again adds nothing.
    again = await announce(site, complaint, email_enabled=True)
    assert again == []
    await site.h.runtime.staff.assign(complaint.tracking_number, "tono", SRI)
    [assigned] = await events_of(site, complaint.tracking_number, "assigned")
    complaint = await load(site, complaint.tracking_number)
    for _ in range(2):
        async with site.h.runtime.work() as s:
            repeat = await staff_notices.notify_assignment(
                s,
                complaint=complaint,
                event_id=assigned.id,
                actor_username="sri",
                writer=site.h.runtime.writer,
                email_enabled=True,
            )
        assert repeat == []
    await site.h.settle()
    assert len(await notices(site, "tono")) == 1
    assert [m[0] for m in await staff_mails(site)] == ["sri@kantor.example", "tono@kantor.example"]


async def test_marking_read_lowers_the_count_and_touches_only_ones_own(site: Site) -> None:
    first = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    second = await file_complaint(
        site, ChannelName.EMAIL, "ani@example.com", problem="sertifikat kalibrasi hilang"
    )
    await add_staff(site.h, ("dewi", "secretariat"))
    third = await file_complaint(
        site, ChannelName.EMAIL, "eko@example.com", problem="tagihan pengujian salah hitung"
    )
    await site.sign_in("sri")
    assert await nav_count(site) == 3
    assert (await (await site.client.get("/inbox/notifications/count")).json()) == {"unread": 3}
    page = await (await site.client.get("/inbox/notifications")).text()
    # Newest first.
    assert page.index(third) < page.index(second) < page.index(first)
    async with site.h.runtime.sessions() as s:
        ids = {
            username: notice_id
            for username, notice_id in (
                await s.execute(
                    select(StaffUser.username, StaffNotification.id)
                    .join(StaffUser, StaffUser.id == StaffNotification.staff_user_id)
                    .order_by(StaffNotification.id)
                )
            ).all()
        }
    csrf = await site.csrf("/inbox/notifications")
    # Dewi's notice cannot be marked by Sri: nothing changes.
    response = await site.client.post(
        f"/inbox/notifications/{ids['dewi']}/read", data={"csrf": csrf}, allow_redirects=False
    )
    assert response.status == 303
    # Without the CSRF token: refused, nothing changes.
    response = await site.client.post(
        f"/inbox/notifications/{ids['sri']}/read", data={}, allow_redirects=False
    )
    assert response.status == 403
    assert await nav_count(site) == 3
    response = await site.client.post(
        f"/inbox/notifications/{ids['sri']}/read", data={"csrf": csrf}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/inbox/notifications"
    assert await nav_count(site) == 2
    response = await site.client.post(
        "/inbox/notifications/read", data={"csrf": csrf}, allow_redirects=False
    )
    assert response.status == 303
    assert await nav_count(site) == 0
    assert (await (await site.client.get("/inbox/notifications/count")).json()) == {"unread": 0}
    site.client.session.cookie_jar.clear()
    await site.sign_in("dewi")
    assert await nav_count(site) == 1


async def test_no_email_without_email_and_admins_when_nobody_owns_the_first_step(
    site: Site,
) -> None:
    await add_staff(site.h, ("ana", "admin"))
    await set_emails(site, ana="ana@kantor.example")
    async with site.h.runtime.sessions() as s, s.begin():
        await s.execute(
            update(StaffUser).where(StaffUser.role == "secretariat").values(active=False)
        )
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    complaint = await load(site, tracking)
    assert [n[0] for n in await notices(site)] == ["ana"]
    assert [m[0] for m in await staff_mails(site)] == ["ana@kantor.example"]
    # Email not configured: the notice is kept, no email is staged.
    async with site.h.runtime.sessions() as s, s.begin():
        await s.execute(delete(StaffNotification))
    told = await announce(site, complaint, email_enabled=False)
    assert [n.kind for n in told] == ["new_complaint"]
    assert len(await staff_mails(site)) == 1


async def test_a_notice_keeps_no_personal_data_after_an_erasure(site: Site) -> None:
    from handlers.privacy import erase_contact

    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    complaint = await load(site, tracking)
    async with site.h.runtime.sessions() as s:
        [params] = list(await s.scalars(select(StaffNotification.params)))
    assert "PT Sinar Jaya" not in str(params) and "Budi" not in str(params)
    await site.sign_in("sri")
    assert "PT Sinar Jaya" in await (await site.client.get("/inbox/notifications")).text()
    async with site.h.runtime.sessions() as s, s.begin():
        await erase_contact(s, complaint.contact_id, actor="staff:ana")
    page = await (await site.client.get("/inbox/notifications")).text()
    assert tracking in page and "PT Sinar Jaya" not in page
