"""The staff complaint page in headless Chromium: hostile content stays inert, the
page fits a 375-px phone, works by keyboard, and a reply reaches the complainant
(README.md, "Staff inbox")."""

from __future__ import annotations

from playwright.async_api import expect
from sqlalchemy import select

from channels.base import ChannelName
from channels.email.parse import parse_email
from storage.models import Complaint
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    LiveServer,
    OpenPage,
    assert_no_horizontal_scroll,
)
from tests.browser.signing_in import PASSWORD, sign_in
from tests.fakes import inbound
from tests.inbox.test_complaint_safety import hostile_email


async def file_hostile(server: LiveServer) -> str:
    """An HTML email with scripts, event handlers and attachments; and a WhatsApp
    message with a script tag from the same person."""
    await server.runtime.accept(
        parse_email(
            hostile_email(),
            own_addresses=("pengaduan@kantor.example",),
            max_attachment_bytes=10_000,
        )
    )
    await server.settle()
    async with server.runtime.sessions() as s:
        complaint = await s.scalar(
            select(Complaint).where(Complaint.contact_address == "budi@example.com")
        )
    assert complaint is not None
    return complaint.tracking_number


async def test_hostile_content_is_inert_and_the_page_fits_a_phone(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    await live_server.add_staff("sri", "secretariat", password=PASSWORD)
    tracking = await file_hostile(live_server)
    await live_server.runtime.accept(
        inbound(
            ChannelName.WHATSAPP,
            "wa-1",
            "+6281234567890",
            "Nama: Siti\nPelanggan: CV Maju\nMasalah: <script>window.__x=1</script> sertifikat hilang",
        )
    )
    await live_server.settle()
    # Chat intake confirms before registering.
    await live_server.runtime.accept(inbound(ChannelName.WHATSAPP, "wa-2", "+6281234567890", "ya"))
    await live_server.settle()

    page = await open_page("/inbox/login", viewport=PHONE)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await sign_in(page, "sri")
    await page.goto(f"/inbox/complaints/{tracking}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(tracking)
    await expect(page.locator(".cp-html b")).to_have_text("laporan")
    # The image attachment is previewed from our own route; it loaded.
    preview = page.locator(".cp-preview img")
    await expect(preview).to_have_count(1)
    assert await preview.evaluate("img => img.complete && img.naturalWidth === 1")
    await assert_no_horizontal_scroll(page)

    # Keyboard: the correction form is a disclosure that opens with Enter.
    summary = page.locator("summary", has_text="Koreksi data")
    await summary.focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_label("Nama pelanggan/peserta")).to_be_visible()
    await page.get_by_label("Nama pelanggan/peserta").fill("PT Sinar Jaya Abadi")
    await page.get_by_role("button", name="Simpan koreksi").click()
    await expect(page.locator("#result")).to_contain_text("Koreksi disimpan")
    await expect(page.locator("#history")).to_contain_text("PT Sinar Jaya Abadi")

    async with live_server.runtime.sessions() as s:
        other = await s.scalar(
            select(Complaint.tracking_number).where(Complaint.channel == "whatsapp")
        )
    assert other is not None
    await page.goto(f"/inbox/complaints/{other}")
    await expect(page.locator(".cp-thread")).to_contain_text("<script>window.__x=1</script>")
    await assert_no_horizontal_scroll(page)

    assert await page.evaluate("() => window.__x") is None
    assert dialogs == []


async def test_a_reply_from_the_page_reaches_the_complainant(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    await live_server.add_staff("sri", "secretariat", password=PASSWORD)
    tracking = await file_hostile(live_server)
    page = await open_page("/inbox/login", viewport=DESKTOP)
    await sign_in(page, "sri")
    await page.goto(f"/inbox/complaints/{tracking}")
    await page.get_by_label("Pesan").fill("Laporan Bapak sedang kami periksa.")
    await page.get_by_role("button", name="Kirim ke pengadu").click()
    await expect(page.locator("#result")).to_contain_text("Pesan sedang dikirim kepada pengadu.")
    await live_server.settle()
    assert any(
        "Laporan Bapak sedang kami periksa." in m.text
        for m in live_server.sent_to("budi@example.com")
    )
    await page.reload()
    await expect(page.locator(".cp-thread")).to_contain_text("Laporan Bapak sedang kami periksa.")
