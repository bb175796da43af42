"""The complaint register (Buku Register Keluhan) page and its downloads, the
period filter and who may read reports (docs/records.md)."""

from __future__ import annotations

import io
from datetime import datetime

from openpyxl import load_workbook

from gateway.reports.period import month_of
from gateway.reports.register import REPORT_COLUMNS, RegisterEntry
from storage.types import utcnow
from tests.inbox.conftest import Site
from tests.inbox.reports_seed import NOVEMBER, WIB, download_csv, seed_november

HEADERS = [
    "Nomor pengaduan",
    "Kanal",
    "Nama pengadu",
    "Nama pelanggan/peserta",
    "Masalah yang diadukan",
    "Tanggal pengaduan",
    "Penerima pengaduan",
    "Kontak",
    "Status",
    "Kategori",
    "Petugas",
    "Tanggal selesai",
]


def test_register_lines_have_the_cli_columns_then_assignee_and_closing() -> None:
    fields = tuple(RegisterEntry.__dataclass_fields__)
    assert fields == (*REPORT_COLUMNS, "receiving_officer", "extra_fields")
    assert REPORT_COLUMNS[-5:] == (
        "assignee",
        "closed_at",
        "complaint_type",
        "rejection_reason",
        "capa_monitoring",
    )


async def test_the_register_lists_the_complaints_received_in_the_period(site: Site) -> None:
    seeded = await seed_november(site)
    await site.sign_in("sri")
    response = await site.client.get("/inbox/reports/register", params=NOVEMBER)
    assert response.status == 200
    body = await response.text()
    assert "Buku Register Keluhan" in body and "3 keluhan diterima pada periode ini." in body
    assert body.index(seeded.a) < body.index(seeded.b) < body.index(seeded.c)
    assert seeded.d not in body and seeded.e not in body
    # Online complaints are received by whoever took the first step (SOP-7.9-1 item 2).
    assert "Penerimaan otomatis (Email)" not in body and "Sri (sri)" in body
    assert "Tono (tono)" in body
    assert "4 Nov 2026 10.20" in body  # A's closing date, office time
    assert f"/inbox/complaints/{seeded.a}/form.pdf" in body
    assert "<script>alert(1)</script>" not in body  # complainant text is escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert 'data-label="Masalah yang diadukan"' in body  # stacked cards on a phone
    assert "?from=2026-11-01&amp;to=2026-11-30&amp;format=csv" in body


async def test_the_register_downloads_as_csv_without_formulas(site: Site) -> None:
    seeded = await seed_november(site)
    await site.sign_in("sri")
    rows = await download_csv(
        site,
        "/inbox/reports/register",
        NOVEMBER,
        "buku-register-keluhan_2026-11-01_2026-11-30.csv",
    )
    assert rows[0] == [
        *HEADERS,
        "Jenis keluhan",
        "Alasan penolakan",
        "Pemantauan program perbaikan",
    ]
    assert [r[0] for r in rows[1:]] == [seeded.a, seeded.b, seeded.c]
    a, b, c = rows[1:]
    assert c[13] == "Di luar layanan kami." and a[13] == ""  # the rejection reason
    assert a[2:4] == ["Ani Lestari", "'@PT Sinar Jaya"]  # formula injection neutralised
    assert c[4] == '\'=HYPERLINK("http://evil.example","klik") biaya salah'
    assert b[7] == "'+6281234567890"  # a phone number is text, not a formula
    assert a[5] == "2026-11-02 09:00" and a[11] == "2026-11-04 10:20"
    assert a[6] == "Sri (sri)" and b[1] == "WhatsApp"  # received by the first step's taker
    assert a[8:11] == ["Selesai", "Teknis", "Tono (tono)"]
    assert c[8:12] == ["Ditolak", "Belum dikategorikan", "", "2026-11-20 14:05"]


async def test_the_register_downloads_as_xlsx_with_text_and_dates(site: Site) -> None:
    seeded = await seed_november(site)
    await site.sign_in("maya")
    response = await site.client.get(
        "/inbox/reports/register", params={**NOVEMBER, "format": "xlsx", "lang": "en"}
    )
    assert response.status == 200
    assert response.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="buku-register-keluhan_2026-11-01_2026-11-30.xlsx"'
    )
    sheet = load_workbook(io.BytesIO(await response.read())).active
    assert sheet is not None and sheet.title == "Complaint register"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Tracking number", "Channel", "Complainant name")
    assert [r[0] for r in rows[1:]] == [seeded.a, seeded.b, seeded.c]
    formula = sheet.cell(row=4, column=5)
    assert formula.data_type == "s" and formula.quotePrefix  # text, never a formula
    assert formula.value == '=HYPERLINK("http://evil.example","klik") biaya salah'
    assert sheet.cell(row=2, column=4).value == "@PT Sinar Jaya"
    assert rows[1][5] == datetime(2026, 11, 2, 9, 0)  # a date cell, office time
    assert rows[1][11] == datetime(2026, 11, 4, 10, 20)
    assert rows[2][11] is not None and rows[3][9] == "Not categorised"


async def test_the_period_defaults_to_this_month_and_bad_periods_say_so(site: Site) -> None:
    seeded = await seed_november(site)
    await site.sign_in("sri")
    october = await (
        await site.client.get(
            "/inbox/reports/register", params={"from": "2026-10-01", "to": "2026-10-31"}
        )
    ).text()
    assert seeded.d in october and seeded.a not in october
    this_month = month_of(utcnow().astimezone(WIB).date(), "Asia/Jakarta")
    default = await (await site.client.get("/inbox/reports/register")).text()
    assert f'value="{this_month.first.isoformat()}"' in default
    assert f'value="{this_month.last.isoformat()}"' in default
    for bad in ({"from": "2026-11-30", "to": "2026-11-01"}, {"from": "kemarin"}):
        response = await site.client.get("/inbox/reports/register", params=bad)
        page = await response.text()
        assert response.status == 200
        assert "Periode tidak valid, jadi yang ditampilkan bulan ini." in page
        assert f'value="{this_month.first.isoformat()}"' in page
    unknown = await site.client.get("/inbox/reports/register", params={"format": "pdf"})
    assert unknown.status == 400


async def test_reports_are_refused_to_roles_outside_the_secretariat_and_supervisors(
    site: Site,
) -> None:
    await seed_november(site)
    await site.sign_in("tono")  # an officer
    for path in (
        "/inbox/reports/register",
        "/inbox/reports/recap",
        "/inbox/reports/register?format=csv",
        "/inbox/reports/recap?format=xlsx",
    ):
        response = await site.client.get(path)
        assert response.status == 403, path
        body = await response.text()
        assert "Permintaan ditolak" in body and "Ani Lestari" not in body
    site.client.session.cookie_jar.clear()
    await site.sign_in("maya")  # the quality manager: the workflow's escalate_to
    assert (await site.client.get("/inbox/reports/register")).status == 200
    home = await site.client.get("/inbox/reports", allow_redirects=False)
    assert home.status == 303 and home.headers["Location"] == "/inbox/reports/recap"


async def test_reports_need_a_signed_in_session(site: Site) -> None:
    response = await site.client.get("/inbox/reports/register?format=csv", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/inbox/login")
