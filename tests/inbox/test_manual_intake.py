"""Manual intake by staff: telephone, in person, letter, suggestion box (README.md, "Staff inbox")."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from channels.base import ChannelName
from handlers.dates import office_today
from handlers.manual_intake import (
    AlreadyRegistered,
    ManualComplaint,
    ManualResult,
    Source,
    register_manual,
)
from handlers.outbox import OutboxWriter
from handlers.profile import Profile, load_profile
from storage.db import SessionFactory
from storage.models import (
    Complaint,
    ComplaintEvent,
    Contact,
    ContactAddress,
    Message,
    OutboxMessage,
)
from tests.fakes import inbound
from tests.inbox.conftest import Site
from tests.runtime_fixtures import make_harness

TOKEN_RE = re.compile(r'name="submission-token" value="([0-9a-f]{32})"')
ZONE = ZoneInfo("Asia/Jakarta")


async def open_form(site: Site) -> tuple[str, str]:
    """The intake page's CSRF and submission tokens."""
    page = await site.client.get("/inbox/intake")
    assert page.status == 200, page.status
    body = await page.text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', body)
    token = TOKEN_RE.search(body)
    assert csrf is not None and token is not None
    return csrf.group(1), token.group(1)


def form(csrf: str, token: str, given: dict[str, str] | None = None) -> dict[str, str]:
    """A filled-in telephone complaint received today, with ``given`` inputs changed."""
    today = office_today("Asia/Jakarta").isoformat()
    data = {
        "csrf": csrf,
        "submission-token": token,
        "intake-source": "phone",
        "received-on": today,
        "complainant_name": "Budi Santoso",
        "customer_name": "PT Sinar Jaya",
        "problem": "Laporan hasil uji belum kami terima sejak dua minggu lalu.",
        "contact-email": "",
        "contact-phone": "",
        "complainant-language": "id",
    }
    data.update(given or {})
    return data


async def complaints(site: Site) -> list[Complaint]:
    async with site.h.runtime.sessions() as s:
        return list(await s.scalars(select(Complaint).order_by(Complaint.id)))


async def count(site: Site, model: Any) -> int:
    async with site.h.runtime.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_form_has_the_profile_fields_source_and_date(site: Site) -> None:
    await site.sign_in("sri")
    page = await site.client.get("/inbox/intake")
    body = await page.text()
    assert page.status == 200
    assert "Catat pengaduan" in body and "Nama pengadu" in body and "Nama pelanggan/peserta" in body
    for label in ("Telepon", "Datang langsung", "Surat", "Kotak saran"):
        assert label in body
    today = office_today("Asia/Jakarta").isoformat()
    assert f'type="date" value="{today}" max="{today}"' in body
    assert 'name="csrf"' in body and TOKEN_RE.search(body)
    # The browser must not offer the clerk's own name, email or number.
    typed_inputs = re.findall(r'<input[^>]*type="(?:text|email|tel)"[^>]*>', body)
    assert len(typed_inputs) >= 4  # the profile's names, the email and the phone
    assert all('autocomplete="off"' in tag for tag in typed_inputs), typed_inputs
    english = await (await site.client.get("/inbox/intake?lang=en")).text()
    assert "Record a complaint" in english and "Suggestion box" in english


async def test_a_telephone_complaint_is_registered_and_acknowledged_by_sms(site: Site) -> None:
    await site.sign_in("sri")
    csrf, token = await open_form(site)
    response = await site.client.post(
        "/inbox/intake",
        data=form(csrf, token, {"contact-phone": "0812 3456 7890"}),
        allow_redirects=False,
    )
    assert response.status == 303
    [complaint] = await complaints(site)
    assert response.headers["Location"] == f"/inbox/complaints/{complaint.tracking_number}"
    assert complaint.channel == "manual" and complaint.received_by == "staff:sri"
    assert complaint.details["manual_intake"] == {
        "source": "phone",
        "received_on": office_today("Asia/Jakarta").isoformat(),
    }
    assert complaint.contact_address == "+6281234567890"
    assert complaint.complainant_name == "Budi Santoso" and complaint.status == "received"
    await site.h.settle()
    [sms] = site.h.sms.sent
    assert sms.recipient == "+6281234567890"
    assert complaint.tracking_number in sms.text
    assert "Pengaduan Anda telah kami catat dengan nomor pengaduan" in sms.text
    assert "3 hari kerja" in sms.text and "PT Sinar Jaya" in sms.text
    assert site.h.email.sent == []
    async with site.h.runtime.sessions() as s:
        address = await s.scalar(select(ContactAddress).where(ContactAddress.kind == "phone"))
        record = await s.scalar(select(Message).where(Message.channel == "manual"))
        events = list(
            await s.scalars(
                select(ComplaintEvent.kind).where(ComplaintEvent.complaint_id == complaint.id)
            )
        )
    assert address is not None and address.address == "+6281234567890"
    assert address.contact_id == complaint.contact_id
    assert record is not None and record.complaint_id == complaint.id
    assert record.external_id == token and record.processed_at is not None
    assert record.raw["source"] == "phone" and record.raw["received_by"] == "staff:sri"
    assert events == ["registered", "complainant_notified"]


async def test_a_letter_with_an_email_reuses_the_contact_and_is_acknowledged_by_email(
    site: Site,
) -> None:
    # Budi wrote by email before: the letter is the same person, the same contact.
    await site.h.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "<first@example.com>",
            "budi@example.com",
            "Nama: Budi\nPelanggan: PT Sinar Jaya\nMasalah: sertifikat belum dikirim",
            sender_name="Budi",
        )
    )
    await site.h.settle()
    site.h.email.sent.clear()
    async with site.h.runtime.sessions() as s:
        known = await s.scalar(select(ContactAddress.contact_id))
    await site.sign_in("sri")
    csrf, token = await open_form(site)
    yesterday = office_today("Asia/Jakarta") - timedelta(days=1)
    response = await site.client.post(
        "/inbox/intake",
        data=form(
            csrf,
            token,
            {
                "intake-source": "letter",
                "received-on": yesterday.isoformat(),
                "contact-email": " Budi@Example.COM ",
                "contact-phone": "+62 812-1111-2222",
                "complainant-language": "en",
            },
        ),
        allow_redirects=False,
    )
    assert response.status == 303
    letter = (await complaints(site))[-1]
    assert letter.contact_id == known and letter.contact_address == "budi@example.com"
    assert letter.details["manual_intake"]["source"] == "letter"
    assert letter.received_at == datetime.combine(yesterday, time.min, tzinfo=ZONE)
    assert letter.language == "en"
    async with site.h.runtime.sessions() as s:
        rows = await s.execute(
            select(ContactAddress.kind, ContactAddress.address).where(
                ContactAddress.contact_id == known
            )
        )
        addresses = {(kind, address) for kind, address in rows}
    assert addresses == {("email", "budi@example.com"), ("phone", "+6281211112222")}
    await site.h.settle()
    [mail] = site.h.email.sent
    assert mail.recipient == "budi@example.com"
    assert mail.subject == f"Your complaint [{letter.tracking_number}]"
    assert f"registered with tracking number {letter.tracking_number}" in mail.text
    assert site.h.sms.sent == []


async def test_a_suggestion_box_complaint_may_be_anonymous_and_nobody_is_messaged(
    site: Site,
) -> None:
    await site.sign_in("sri")
    csrf, token = await open_form(site)
    response = await site.client.post(
        "/inbox/intake",
        data=form(csrf, token, {"intake-source": "suggestion_box", "complainant_name": "Anonim"}),
        allow_redirects=False,
    )
    assert response.status == 303
    [complaint] = await complaints(site)
    assert complaint.contact_address == "" and complaint.complainant_name == "Anonim"
    assert complaint.details["manual_intake"]["source"] == "suggestion_box"
    await site.h.settle()
    assert site.h.sms.sent == [] and site.h.email.sent == []
    assert await count(site, OutboxMessage) == 0
    async with site.h.runtime.sessions() as s:
        contact = await s.get(Contact, complaint.contact_id)
    assert contact is not None and contact.addresses == []


async def test_errors_are_shown_with_the_typed_values_kept_and_nothing_is_stored(
    site: Site,
) -> None:
    await site.sign_in("sri")
    csrf, token = await open_form(site)
    tomorrow = office_today("Asia/Jakarta") + timedelta(days=1)
    response = await site.client.post(
        "/inbox/intake",
        data=form(
            csrf,
            token,
            {
                "intake-source": "",
                "received-on": tomorrow.isoformat(),
                "complainant_name": "Budi <script>alert(1)</script>",
                "customer_name": "P",
                "problem": "pendek",
                "contact-email": "bukan-email",
            },
        ),
    )
    body = await response.text()
    assert response.status == 422
    assert "Ada yang perlu diperbaiki" in body and "<title>Kesalahan: " in body
    assert "Pilih cara pengaduan diterima." in body
    assert "Tanggal diterima tidak boleh di masa depan." in body
    assert "Nama pelanggan/peserta perlu diisi, minimal 2 huruf." in body
    assert "Mohon jelaskan masalahnya sedikit lebih lengkap" in body
    assert "Masukkan alamat email, misalnya nama@example.com." in body
    # Typed values kept (escaped), the same submission token, nothing stored.
    assert 'value="Budi &lt;script&gt;alert(1)&lt;/script&gt;"' in body
    assert "<script>alert(1)</script>" not in body
    assert 'value="bukan-email"' in body and ">pendek</textarea>" in body
    assert f'value="{token}"' in body
    assert await count(site, Complaint) == 0 and await count(site, Contact) == 0

    # A telephone complaint needs a way to reach the complainant.
    missing = await site.client.post("/inbox/intake", data=form(csrf, token))
    text = await missing.text()
    assert missing.status == 422
    assert "hanya pengaduan dari kotak saran yang boleh tanpa identitas" in text
    assert await count(site, Complaint) == 0 and await count(site, Message) == 0


async def test_roles_that_may_not_record_are_refused_and_nothing_is_stored(site: Site) -> None:
    await site.sign_in("sri")
    _csrf, token = await open_form(site)
    for username in ("tono", "maya"):  # an officer, the quality manager
        site.client.session.cookie_jar.clear()
        await site.sign_in(username)
        page = await site.client.get("/inbox/intake")
        assert page.status == 403
        own_csrf = await site.csrf()
        refused = await site.client.post(
            "/inbox/intake",
            data=form(own_csrf, token, {"contact-phone": "081234567890"}),
            allow_redirects=False,
        )
        assert refused.status == 403 and "Peran Anda" in await refused.text()
    assert await count(site, Complaint) == 0 and await count(site, Contact) == 0


async def test_without_the_csrf_token_nothing_is_stored(site: Site) -> None:
    await site.sign_in("sri")
    _csrf, token = await open_form(site)
    data = form("", token, {"contact-phone": "081234567890"})
    del data["csrf"]
    refused = await site.client.post("/inbox/intake", data=data, allow_redirects=False)
    assert refused.status == 403
    wrong = await site.client.post(
        "/inbox/intake", data={**data, "csrf": "tebakan"}, allow_redirects=False
    )
    assert wrong.status == 403
    assert await count(site, Complaint) == 0 and await count(site, Message) == 0


async def test_a_double_submit_registers_once(site: Site) -> None:
    await site.sign_in("sri")
    csrf, token = await open_form(site)
    data = form(csrf, token, {"contact-phone": "081234567890"})
    first = await site.client.post("/inbox/intake", data=data, allow_redirects=False)
    again = await site.client.post("/inbox/intake", data=data, allow_redirects=False)
    assert first.status == again.status == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert len(await complaints(site)) == 1
    await site.h.settle()
    assert len(site.h.sms.sent) == 1


async def test_the_acceptance_window_rejects_a_late_manual_complaint(tmp_path: Path) -> None:
    """BBSPJIKKP SOP-7.9-1 item 3: registered, then rejected; the reason replaces the ack."""
    h = await make_harness(tmp_path, sop_profile="bbspjikkp")
    try:
        profile = load_profile("bbspjikkp")
        today = office_today(profile.office.timezone)
        late = ManualComplaint(
            source=Source.IN_PERSON,
            received_on=today,
            values={
                "complainant_name": "Siti Aminah",
                "customer_name": "Lab Kimia Jaya",
                "problem": "Nilai z-score pada laporan akhir keliru.",
                "final_report_date": (today - timedelta(days=30)).isoformat(),
            },
            email=None,
            phone="+6281234567890",
            language="id",
            token="a" * 32,
        )
        async with h.runtime.work() as session:
            result = await register_manual(
                session,
                profile=profile,
                writer=h.runtime.writer,
                enabled_channels=list(h.runtime.channels),
                complaint=late,
                staff_username="sri",
            )
        assert result.acknowledgement is None
        assert result.complaint.status == "rejected"
        await h.settle()
        [notice] = h.sms.sent
        assert "lebih dari 3 hari kerja" in notice.text
        assert "telah kami catat" not in notice.text
    finally:
        await h.runtime.close()


async def test_registering_twice_with_one_token_stores_one_complaint(
    any_sessions: SessionFactory, profile: Profile
) -> None:
    """The unique (channel, external_id) of the intake record decides, on SQLite and PostgreSQL."""
    complaint = ManualComplaint(
        source=Source.PHONE,
        received_on=office_today(profile.office.timezone),
        values={
            "complainant_name": "Budi Santoso",
            "customer_name": "PT Sinar Jaya",
            "problem": "Laporan hasil uji belum kami terima.",
        },
        email="budi@example.com",
        phone="+6281234567890",
        language="id",
        token="b" * 32,
    )

    async def register() -> ManualResult:
        async with any_sessions() as session, session.begin():
            return await register_manual(
                session,
                profile=profile,
                writer=OutboxWriter(),
                enabled_channels=["email", "sms"],
                complaint=complaint,
                staff_username="sri",
            )

    first = await register()
    assert first.acknowledgement is not None and first.acknowledgement.channel == "email"
    with pytest.raises(AlreadyRegistered) as again:
        await register()
    assert again.value.tracking_number == first.complaint.tracking_number
    async with any_sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Complaint)) == 1
        assert await s.scalar(select(func.count()).select_from(Contact)) == 1
        rows = await s.execute(select(ContactAddress.kind, ContactAddress.address))
        assert sorted(rows.all()) == [("email", "budi@example.com"), ("phone", "+6281234567890")]
