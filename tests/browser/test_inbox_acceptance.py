"""The staff inbox as a secretary uses it, in headless Chromium: sign in; a
WhatsApp and an email complaint in one list; filter by channel; open one;
reply — it reaches the complainant's channel; change its status — the
complainant receives the progress update; record a phone complaint by manual
intake."""

from __future__ import annotations

import re

from playwright.async_api import expect
from sqlalchemy import select

from channels.base import ChannelName
from storage.models import Complaint
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    LiveServer,
    OpenPage,
    assert_no_horizontal_scroll,
)
from tests.browser.signing_in import PASSWORD, sign_in
from tests.fakes import RecordingChannel, inbound
from tests.runtime_fixtures import newest_complaint

WA_NUMBER = "+6281234567890"


async def tracking_of(server: LiveServer, address: str) -> str:
    return (await newest_complaint(server.runtime.sessions, address)).tracking_number


async def file_two_complaints(server: LiveServer) -> tuple[str, str]:
    """A WhatsApp complaint (confirmed in the chat) and an email complaint."""
    await server.runtime.accept(
        inbound(
            ChannelName.WHATSAPP,
            "wamid.1",
            WA_NUMBER,
            "Nama: Siti Aminah\nPelanggan: CV Maju Jaya\nMasalah: sertifikat produk belum terbit",
        )
    )
    await server.settle()
    await server.runtime.accept(inbound(ChannelName.WHATSAPP, "wamid.2", WA_NUMBER, "ya"))
    await server.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "<m1@example.com>",
            "budi@example.com",
            "Nama: Budi Santoso\nPelanggan: PT Sinar Jaya\nMasalah: laporan hasil uji terlambat",
        )
    )
    await server.settle()
    return await tracking_of(server, WA_NUMBER), await tracking_of(server, "budi@example.com")


async def test_secretariat_works_complaints_from_every_channel(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    whatsapp = RecordingChannel(ChannelName.WHATSAPP)  # the local fake provider
    live_server.runtime.channels[ChannelName.WHATSAPP.value] = whatsapp
    await live_server.add_staff("sri", "secretariat", password=PASSWORD)
    by_wa, by_mail = await file_two_complaints(live_server)
    acknowledged = len(whatsapp.sent)
    assert acknowledged >= 1 and by_wa in whatsapp.sent[-1].text

    page = await open_page("/inbox", viewport=DESKTOP)  # the sign-in page first
    await sign_in(page, "sri")
    rows = page.locator("table.inbox tbody tr")
    await expect(rows).to_have_count(2)
    await expect(page.get_by_role("link", name=by_wa)).to_be_visible()
    await expect(page.get_by_role("link", name=by_mail)).to_be_visible()

    await page.get_by_label("Kanal").select_option("whatsapp")
    await page.get_by_role("button", name="Terapkan").click()
    await expect(rows).to_have_count(1)
    await expect(page.get_by_role("link", name=by_mail)).to_have_count(0)

    await page.get_by_role("link", name=by_wa).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(by_wa)
    await page.get_by_label("Pesan", exact=True).fill("Sertifikat Bapak/Ibu sedang kami cek.")
    await page.get_by_role("button", name="Kirim ke pengadu").click()
    await live_server.settle()
    assert whatsapp.sent[-1].recipient == WA_NUMBER
    assert whatsapp.sent[-1].text.startswith("Sertifikat Bapak/Ibu sedang kami cek.")
    await expect(page.locator("main")).to_contain_text("Sertifikat Bapak/Ibu sedang kami cek.")

    await page.get_by_role("button", name="Verifikasi data pelanggan").click()
    await live_server.settle()
    update = whatsapp.sent[-1]
    assert update.recipient == WA_NUMBER and by_wa in update.text
    assert len(whatsapp.sent) == acknowledged + 2
    async with live_server.runtime.sessions() as s:
        complaint = await s.scalar(select(Complaint).where(Complaint.tracking_number == by_wa))
    assert complaint is not None and complaint.status == "verified"
    await expect(page.locator("main")).to_contain_text("Diverifikasi")


async def test_a_phone_complaint_is_recorded_by_manual_intake_on_a_phone(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    await live_server.add_staff("sri", "secretariat", password=PASSWORD, full_name="Sri Wahyuni")
    page = await open_page("/inbox/login", viewport=PHONE)
    await sign_in(page, "sri")
    await page.get_by_role("link", name="Catat pengaduan").click()
    await page.get_by_label("Telepon", exact=True).check()
    await page.get_by_label(re.compile(r"^Nama pengadu")).fill("Wati Lestari")
    await page.get_by_label(re.compile(r"^Nama pelanggan")).fill("UD Berkah")
    await page.get_by_label(re.compile(r"^Masalah")).fill(
        "Hasil uji air minum belum dikirim sejak bulan lalu."
    )
    await page.get_by_label(re.compile(r"^Nomor telepon atau WhatsApp")).fill("0812 9876 5432")
    await assert_no_horizontal_scroll(page)
    await page.get_by_role("button", name="Daftarkan pengaduan").click()
    await expect(page).to_have_url(re.compile(r"/inbox/complaints/ADU-\d{4}-\d{5}$"))
    await live_server.settle()
    tracking = await tracking_of(live_server, "+6281298765432")
    async with live_server.runtime.sessions() as s:
        complaint = await s.scalar(select(Complaint).where(Complaint.tracking_number == tracking))
    assert complaint is not None
    assert (complaint.channel, complaint.received_by) == ("manual", "staff:sri")
    [ack] = live_server.sent_to("+6281298765432")  # by SMS: WhatsApp is not configured here
    assert tracking in ack.text


async def test_new_complaints_appear_without_a_reload(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    await live_server.add_staff("sri", "secretariat", password=PASSWORD)
    page = await open_page("/inbox", viewport=DESKTOP)
    await sign_in(page, "sri")
    await expect(page.locator("table.inbox tbody tr")).to_have_count(0)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    await live_server.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "<live@example.com>",
            "live@example.com",
            "Nama: Rina\nPelanggan: PT Baru\nMasalah: tagihan pengujian ganda",
        )
    )
    await live_server.settle()
    tracking = await tracking_of(live_server, "live@example.com")
    await expect(page.get_by_role("link", name=tracking)).to_be_visible(timeout=15_000)
    assert navigations == []  # the list changed in place
