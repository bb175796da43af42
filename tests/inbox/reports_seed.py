"""Complaints for the report tests, filed and moved through the real flow, then
time-shifted in the database to known office-local moments (WIB, UTC+7).

November 2026 (the period under test) has no Indonesian public holiday, so
working days there are Monday to Friday.

* A (email, technical, tono): received Mon 2 Nov 09:00; verify 09:10 (on
  time), route 09:40 (late), record_capa Wed 4 Nov 10:00 (on time),
  verify_result 10:10 (on time), close 10:20 (on time); rated 5.
  Time to close 49 h 20 min, 2 working days.
* B (WhatsApp, administrative, tono): received Tue 10 Nov 08:00; verify 08:30
  (late), route 08:40 (on time), record_capa Mon 16 Nov 09:00 (late: due
  Fri 13 Nov), verify_result 09:05 (on time), close 09:30 (late); rated 3.
  Time to close 145 h 30 min, 4 working days.
* C (email, no category): received Fri 20 Nov 14:00, rejected 14:05 (on time).
  Time to close 5 min, 0 working days. Its problem starts with "=".
* D (email): received Fri 30 Oct 10:00, verify 10:05 (before the period),
  route Mon 2 Nov 09:00 (late, left in the period); still in follow-up.
* E (email): received Tue 1 Dec 09:00 (after the period).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from channels.base import ChannelName
from handlers.workflow import Actor
from storage.models import Complaint, ComplaintEvent
from tests.fakes import inbound
from tests.inbox.conftest import Site

WIB = ZoneInfo("Asia/Jakarta")
SRI = Actor("sri", "secretariat")
TONO = Actor("tono", "officer")
CAPA = {
    "cause": "Jadwal penerbitan laporan tidak dipantau",
    "correction": "Laporan diterbitkan hari ini",
    "corrective_action": "Pemantauan jadwal mingguan",
    "preventive_action": "Pengingat otomatis sebelum tenggat",
    "owner": "Ketua Tim Teknis",
    "due_date": "2026-11-30",
}


def wib(month: int, day: int, hour: int, minute: int) -> datetime:
    """A moment of 2026 in office time (WIB)."""
    return datetime(2026, month, day, hour, minute, tzinfo=WIB)


#: The report period the seeded complaints fall in, as the report forms take it.
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


@dataclass(frozen=True)
class Seeded:
    """Tracking numbers of the seeded complaints."""

    a: str
    b: str
    c: str
    d: str
    e: str


async def file(
    site: Site, channel: ChannelName, sender: str, name: str, customer: str, problem: str
) -> str:
    """File a complaint by ``channel`` (chat channels confirm with "ya"); its tracking number."""
    text = f"Nama: {name}\nPelanggan: {customer}\nMasalah: {problem}"
    complaint = await site.h.file(f"{channel}-{sender}", sender, text, channel)
    return complaint.tracking_number


async def handle_fully(site: Site, tracking: str, category: str) -> None:
    """verify → route (to tono) → record_capa → verify_result → close."""
    run = site.h.runtime.transition
    await run(tracking, "verify", SRI, {})
    await run(tracking, "route", SRI, {"category": category, "assignee": "tono"})
    await run(tracking, "record_capa", TONO, {"capa": CAPA})
    await run(tracking, "verify_result", SRI, {"result": "Laporan sudah dikirim ulang."})
    await run(tracking, "close", SRI, {})
    await site.h.settle()


async def rate(site: Site, channel: ChannelName, sender: str, score: int) -> None:
    """The complainant answers the closing notice with a score."""
    await site.h.runtime.accept(inbound(channel, f"rate-{sender}", sender, str(score)))
    await site.h.settle()


async def shift(
    site: Site,
    tracking: str,
    received: datetime,
    moves: list[datetime],
    rated: datetime | None = None,
) -> None:
    """Move the complaint's receipt (and its registration event), its transitions
    (in order) and its rating in time."""
    async with site.h.runtime.sessions() as s, s.begin():
        complaint = await s.scalar(select(Complaint).where(Complaint.tracking_number == tracking))
        assert complaint is not None
        complaint.received_at = received
        registered = await s.scalar(
            select(ComplaintEvent).where(
                ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.kind == "registered"
            )
        )
        assert registered is not None
        registered.at = received
        events = list(
            await s.scalars(
                select(ComplaintEvent)
                .where(
                    ComplaintEvent.complaint_id == complaint.id,
                    ComplaintEvent.kind == "transition",
                )
                .order_by(ComplaintEvent.id)
            )
        )
        assert len(events) == len(moves), (tracking, [e.to_status for e in events])
        for event, at in zip(events, moves, strict=True):
            event.at = at
        if rated is not None:
            assert complaint.satisfaction is not None
            complaint.satisfaction_at = rated


async def seed_november(site: Site) -> Seeded:
    """File and time-shift complaints A-E (module docstring)."""
    a = await file(
        site,
        ChannelName.EMAIL,
        "ani@example.com",
        "Ani Lestari",
        "@PT Sinar Jaya",
        "laporan hasil uji terlambat dua minggu",
    )
    b = await file(
        site,
        ChannelName.WHATSAPP,
        "+6281234567890",
        "Budi Santoso",
        "CV Maju Bersama",
        "sertifikat hilang <script>alert(1)</script> di kantor",
    )
    c = await file(
        site,
        ChannelName.EMAIL,
        "citra@example.com",
        "Citra Dewi",
        "PT Kalibrasi",
        '=HYPERLINK("http://evil.example","klik") biaya salah',
    )
    d = await file(
        site, ChannelName.EMAIL, "dodi@example.com", "Dodi", "PT Lama", "keluhan dari bulan lalu"
    )
    e = await file(
        site, ChannelName.EMAIL, "eko@example.com", "Eko", "PT Baru", "keluhan bulan depan saja"
    )
    await handle_fully(site, a, "technical")
    await rate(site, ChannelName.EMAIL, "ani@example.com", 5)
    await handle_fully(site, b, "administrative")
    await rate(site, ChannelName.WHATSAPP, "+6281234567890", 3)
    await site.h.runtime.transition(c, "reject", SRI, {"reason": "Di luar layanan kami."})
    await site.h.runtime.transition(d, "verify", SRI, {})
    await site.h.runtime.transition(d, "route", SRI, {"category": "technical", "assignee": "rudi"})
    await site.h.settle()
    await shift(
        site,
        a,
        wib(11, 2, 9, 0),
        [
            wib(11, 2, 9, 10),
            wib(11, 2, 9, 40),
            wib(11, 4, 10, 0),
            wib(11, 4, 10, 10),
            wib(11, 4, 10, 20),
        ],
        rated=wib(11, 4, 11, 0),
    )
    await shift(
        site,
        b,
        wib(11, 10, 8, 0),
        [
            wib(11, 10, 8, 30),
            wib(11, 10, 8, 40),
            wib(11, 16, 9, 0),
            wib(11, 16, 9, 5),
            wib(11, 16, 9, 30),
        ],
        rated=wib(11, 16, 10, 0),
    )
    await shift(site, c, wib(11, 20, 14, 0), [wib(11, 20, 14, 5)])
    await shift(site, d, wib(10, 30, 10, 0), [wib(10, 30, 10, 5), wib(11, 2, 9, 0)])
    await shift(site, e, wib(12, 1, 9, 0), [])
    return Seeded(a, b, c, d, e)


async def download_csv(
    site: Site, path: str, params: dict[str, str], filename: str
) -> list[list[str]]:
    """GET ``path`` as CSV (``format=csv`` added to ``params``): checks the status,
    the type, the attachment's ``filename`` and the UTF-8 byte-order mark Excel
    needs to read Indonesian text right; the rows."""
    response = await site.client.get(path, params={**params, "format": "csv"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    raw = await response.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
