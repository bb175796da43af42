"""Records the SOPs ask for: receiving officer, complaint type, CAPA monitoring,
the ITS answer without a nonconformity, and who reads the reports."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.base import ChannelName
from gateway.api.routes import detail as api_detail
from gateway.app import create_app
from gateway.inbox.access import may_report
from handlers.capa_monitoring import add_monitoring_entry, monitoring_entries
from handlers.profile import PROFILES_DIR, load_profile
from handlers.workflow import Actor, Refusal, TransitionRefused
from storage.models import Complaint, ComplaintEvent, Contact
from tests.fakes import inbound
from tests.inbox.conftest import Site, add_staff
from tests.inbox.reports_seed import CAPA
from tests.runtime_fixtures import make_harness

SRI = Actor("sri", "secretariat")
TONO = Actor("tono", "officer")
NOVEMBER = {"from": "2026-11-01", "to": "2026-12-31"}


async def office_site(aiohttp_client: Any, tmp_path: Path, profile: str) -> Site:
    """A served app on ``profile`` with one staff account per role (username = role)."""
    h = await make_harness(tmp_path, sop_profile=profile)
    await add_staff(h, *((role, role) for role in h.runtime.profile.roles), ("root", "admin"))
    client = await aiohttp_client(
        create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
    )
    return Site(client, h)


@pytest.fixture
async def its(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[Site]:
    site = await office_site(aiohttp_client, tmp_path, "its")
    yield site
    await site.h.runtime.close()


@pytest.fixture
async def pontianak(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[Site]:
    site = await office_site(aiohttp_client, tmp_path, "bspji_pontianak")
    yield site
    await site.h.runtime.close()


async def file(site: Site, sender: str = "budi@example.com") -> Complaint:
    profile = site.h.runtime.profile
    values = {
        "complainant_name": "Budi Santoso",
        "customer_name": "PT Sinar Jaya",
        "problem": "Laporan hasil uji kami terlambat dua minggu tanpa kabar.",
    }
    text = "\n".join(f"{profile.field(k).label.id}: {v}" for k, v in values.items())
    await site.h.runtime.accept(inbound(ChannelName.EMAIL, f"m-{sender}", sender, text))
    await site.h.settle()
    async with site.h.runtime.sessions() as s:
        complaint = await s.scalar(select(Complaint).where(Complaint.contact_address == sender))
    assert complaint is not None
    return complaint


async def reload(site: Site, complaint_id: int) -> Complaint:
    async with site.h.runtime.sessions() as s:
        complaint = await s.get(Complaint, complaint_id)
    assert complaint is not None
    return complaint


# --- receiving officer (SOP-7.9-1 item 2) ---------------------------------------


async def test_the_first_step_makes_its_taker_the_receiving_officer(site: Site) -> None:
    complaint = await file(site)
    assert complaint.receiving_officer is None and complaint.received_by == "channel:email"
    await site.h.runtime.transition(complaint.id, "verify", SRI, {})
    await site.h.runtime.transition(
        complaint.id, "route", SRI, {"category": "technical", "assignee": "tono"}
    )
    await site.h.runtime.transition(complaint.id, "record_capa", TONO, {"capa": CAPA})
    taken = await reload(site, complaint.id)
    # Sri took the first step; Tono's later step does not change the record.
    assert (taken.receiving_officer, taken.receiving_officer_name) == ("staff:sri", "Sri")
    assert taken.channel == "email" and taken.received_by == "channel:email"  # channel kept

    await site.sign_in("maya")
    page = await (await site.client.get(f"/inbox/complaints/{taken.tracking_number}")).text()
    assert "Sri (sri)" in page
    csv_body = await site.client.get(
        "/inbox/reports/register", params={**NOVEMBER, "format": "csv"}
    )
    rows = list(csv.reader(io.StringIO((await csv_body.read()).decode("utf-8-sig"))))
    header, row = rows[0], rows[1]
    assert row[header.index("Penerima pengaduan")] == "Sri (sri)"
    assert row[header.index("Kanal")] == "Email"


async def test_the_api_gives_the_receiving_officer_and_the_channel(site: Site) -> None:
    complaint = await file(site)
    await site.h.runtime.transition(complaint.id, "verify", SRI, {})
    body = await api_detail(site.h.runtime, complaint.tracking_number, "admin")
    assert body.receiving_officer == "staff:sri" and body.receiving_officer_name == "Sri"
    assert body.received_by == "channel:email" and body.channel == "email"


# --- report access per profile (reports.roles) ---------------------------------


@pytest.mark.parametrize("path", sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
def test_every_profile_names_its_report_readers_with_a_clause(path: str) -> None:
    profile = load_profile(path)
    assert profile.reports.roles and profile.reports.source
    assert may_report(profile, "admin")
    for role in profile.roles:
        assert may_report(profile, role) is (role in profile.reports.roles), role


@pytest.mark.parametrize(
    ("profile", "readers", "others"),
    [
        ("bbspjikfk", ("pjtk_staff", "team_lead"), ("technical_team",)),
        ("its", ("registration_staff", "monitoring_staff"), ()),
        ("kecamatan_bandungan", ("staff", "sekcam", "camat"), ()),
        ("bspji_pontianak", ("customer_service",), ("appeal_panel",)),
    ],
)
async def test_register_and_recap_open_to_the_roles_the_sop_charges(
    aiohttp_client: Any,
    tmp_path: Path,
    profile: str,
    readers: tuple[str, ...],
    others: tuple[str, ...],
) -> None:
    site = await office_site(aiohttp_client, tmp_path, profile)
    try:
        for username in (*readers, "root"):
            site.client.session.cookie_jar.clear()
            await site.sign_in(username)
            for report in ("register", "recap"):
                response = await site.client.get(f"/inbox/reports/{report}", params=NOVEMBER)
                assert response.status == 200, (username, report)
        for username in others:
            site.client.session.cookie_jar.clear()
            await site.sign_in(username)
            for report in ("register", "recap"):
                response = await site.client.get(f"/inbox/reports/{report}", params=NOVEMBER)
                assert response.status == 403, (username, report)
    finally:
        await site.h.runtime.close()


# --- complaint type (PR-LS-8.1.4 step 2) ---------------------------------------


async def test_pontianak_records_the_complaint_type_when_passing_it_on(pontianak: Site) -> None:
    site = pontianak
    cs = Actor("customer_service", "customer_service")
    complaint = await file(site)
    await site.h.runtime.transition(complaint.id, "identify", cs, {"note": "Keluhan benar."})
    for data, code in (
        ({"assignee": "technical_in_charge"}, Refusal.MISSING_DATA),
        ({"assignee": "technical_in_charge", "complaint_type": "gossip"}, Refusal.INVALID_DATA),
    ):
        with pytest.raises(TransitionRefused) as refused:
            await site.h.runtime.transition(complaint.id, "refer", cs, data)
        assert refused.value.code is code
    unchanged = await reload(site, complaint.id)
    assert unchanged.status == "identified" and unchanged.complaint_type is None
    await site.h.runtime.transition(
        complaint.id,
        "refer",
        cs,
        {"assignee": "technical_in_charge", "complaint_type": "certification"},
    )
    typed = await reload(site, complaint.id)
    assert typed.complaint_type == "certification" and typed.status == "in_follow_up"

    await site.sign_in("customer_service")
    page = await (await site.client.get(f"/inbox/complaints/{typed.tracking_number}")).text()
    assert "Jenis keluhan" in page and "Sertifikasi produk" in page
    response = await site.client.get(
        "/inbox/reports/register", params={**NOVEMBER, "format": "csv"}
    )
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert rows[1][rows[0].index("Jenis keluhan")] == "Sertifikasi produk"


async def test_the_refer_form_offers_the_profile_types(pontianak: Site) -> None:
    site = pontianak
    cs = Actor("customer_service", "customer_service")
    complaint = await file(site)
    await site.h.runtime.transition(complaint.id, "identify", cs, {"note": "Keluhan benar."})
    await site.sign_in("customer_service")
    page = await (await site.client.get(f"/inbox/complaints/{complaint.tracking_number}")).text()
    assert 'name="complaint_type"' in page
    for kind in site.h.runtime.profile.complaint_types:
        assert f'<option value="{kind.id}">' in page
    url = f"/inbox/complaints/{complaint.tracking_number}"
    response = await site.client.post(
        f"{url}/transition",
        data={
            "csrf": await site.csrf(url),
            "name": "refer",
            "complaint_type": "testing",
            "assignee": "technical_in_charge",
        },
        allow_redirects=False,
    )
    assert response.status == 303 and "done=transition" in response.headers["Location"]
    assert (await reload(site, complaint.id)).complaint_type == "testing"


# --- ITS: monitoring (step f) and the answer without nonconformity (c, e) ---------


async def to_corrective_programme(site: Site) -> Complaint:
    complaint = await file(site)
    staff = Actor("registration_staff", "registration_staff")
    head = Actor("division_head", "division_head")
    await site.h.runtime.transition(complaint.id, "confirm", staff, {})
    await site.h.runtime.transition(
        complaint.id, "report_nonconformity", staff, {"nonconformity": "LK-2026-011"}
    )
    await site.h.runtime.transition(
        complaint.id, "plan_correction", head, {"note": "Jadwal legalisir dipercepat."}
    )
    return await reload(site, complaint.id)


async def test_monitoring_entries_are_dated_shown_and_exported(its: Site) -> None:
    site = its
    complaint = await to_corrective_programme(site)
    assert complaint.status == "corrective_programme"
    await site.sign_in("division_head")
    url = f"/inbox/complaints/{complaint.tracking_number}"
    page = await (await site.client.get(url)).text()
    assert "Tambahkan catatan pemantauan" in page
    csrf = await site.csrf(url)
    response = await site.client.post(
        f"{url}/capa/monitoring",
        data={"csrf": csrf, "on": "2026-11-20", "text": "Legalisir kini selesai dalam 2 hari."},
        allow_redirects=False,
    )
    assert response.status == 303 and "done=monitoring" in response.headers["Location"]
    page = await (await site.client.get(url)).text()
    assert "20 November 2026" in page and "Legalisir kini selesai dalam 2 hari." in page
    async with site.h.runtime.sessions() as s:
        entries = (await monitoring_entries(s, [complaint.id]))[complaint.id]
    assert [(e.on, e.by) for e in entries] == [(date(2026, 11, 20), "staff:division_head")]

    response = await site.client.get(
        "/inbox/reports/register", params={**NOVEMBER, "format": "csv"}
    )
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    column = rows[0].index("Pemantauan program perbaikan")
    assert rows[1][column] == "2026-11-20: Legalisir kini selesai dalam 2 hari."


async def monitoring_refusal(site: Site, complaint: Complaint, on: date, text: str) -> Refusal:
    """The division head's monitoring entry (``on``, ``text``) on ``complaint`` is refused
    (as of 21 November 2026); returns the refusal's code."""
    async with site.h.runtime.sessions() as s, s.begin():
        loaded = await s.get(Complaint, complaint.id)
        assert loaded is not None
        with pytest.raises(TransitionRefused) as refused:
            await add_monitoring_entry(
                s,
                profile=site.h.runtime.profile,
                complaint=loaded,
                on=on,
                text=text,
                actor=Actor("division_head", "division_head"),
                today=date(2026, 11, 21),
            )
    return refused.value.code


async def test_monitoring_is_refused_outside_the_corrective_states(its: Site) -> None:
    site = its
    complaint = await file(site)
    code = await monitoring_refusal(site, complaint, date(2026, 11, 20), "Terlalu awal.")
    assert code is Refusal.WRONG_STATE


async def test_monitoring_refuses_a_future_day_and_an_empty_text(its: Site) -> None:
    site = its
    complaint = await to_corrective_programme(site)
    for on, text, code in (
        (date(2026, 11, 22), "Besok.", Refusal.INVALID_DATA),
        (date(2026, 11, 20), "   ", Refusal.MISSING_DATA),
    ):
        assert await monitoring_refusal(site, complaint, on, text) is code
    async with site.h.runtime.sessions() as s:
        kinds = list(
            await s.scalars(
                select(ComplaintEvent.kind).where(ComplaintEvent.complaint_id == complaint.id)
            )
        )
    assert "capa_monitoring" not in kinds


async def test_its_answers_a_complaint_without_nonconformity(its: Site) -> None:
    site = its
    complaint = await file(site)
    staff = Actor("registration_staff", "registration_staff")
    await site.h.runtime.transition(complaint.id, "confirm", staff, {})
    sent = len(site.h.email.sent)
    await site.h.runtime.transition(
        complaint.id,
        "answer_no_nonconformity",
        staff,
        {"result": "Legalisir diproses sesuai prosedur dalam 3 hari."},
    )
    await site.h.settle()
    answered = await reload(site, complaint.id)
    profile = site.h.runtime.profile
    assert answered.status == "answered" and profile.workflow.states["answered"].final
    assert answered.step_due_at is None
    [told] = site.h.email.sent[sent:]
    assert "Legalisir diproses sesuai prosedur dalam 3 hari." in told.text
    assert "tidak menemukan ketidaksesuaian" in told.text
    assert "answered" in profile.retention.closed_states
    await site.h.runtime.transition(complaint.id, "archive", staff, {})
    assert (await reload(site, complaint.id)).status == "archived"


# --- the register exports every profile field -------------------------------------


async def test_the_register_exports_every_intake_field_and_the_rejection_reason(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    site = await office_site(aiohttp_client, tmp_path, "bbspjikkp")
    try:
        async with site.h.runtime.sessions() as s, s.begin():
            contact = Contact(display_name="Budi")
            s.add(contact)
            await s.flush()
            late = Complaint(
                tracking_number="KKP-2026-00001",
                contact_id=contact.id,
                channel="email",
                contact_address="budi@example.com",
                complainant_name="Budi Santoso",
                customer_name="Laboratorium Uji Sinar",
                problem="Nilai z kami dihitung dengan nilai acuan yang salah.",
                extra_fields={"final_report_date": "2026-11-02"},
                received_at=datetime(2026, 11, 16, 2, 0, tzinfo=UTC),
                received_by="channel:email",
                status="rejected",
                details={"reject": {"reason": "diajukan lebih dari 3 hari kerja", "by": "system"}},
            )
            s.add(late)
        await site.sign_in("secretariat")
        response = await site.client.get(
            "/inbox/reports/register", params={**NOVEMBER, "format": "csv"}
        )
        assert response.status == 200
        rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
        header, row = rows[0], rows[1]
        label = site.h.runtime.profile.field("final_report_date").label.id
        assert header[-1] == label and row[-1] == "2026-11-02"
        assert row[header.index("Alasan penolakan")] == "diajukan lebih dari 3 hari kerja"
        assert row[header.index("Penerima pengaduan")] == "Penerimaan otomatis (Email)"
    finally:
        await site.h.runtime.close()
