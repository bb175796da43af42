"""Staff notifications and user management in headless Chromium: the admin changes a
user's role and the audit line shows it; a secretariat member reads the new-complaint
notice and marks it read. The users and notifications pages are photographed at 375 px
and 1366 px and must not scroll sideways."""

from __future__ import annotations

import re

from playwright.async_api import ViewportSize, expect

from channels.base import ChannelName
from tests.browser.conftest import (
    PHONE,
    LiveServer,
    OpenPage,
    assert_no_horizontal_scroll,
)
from tests.browser.signing_in import sign_in
from tests.fakes import inbound

#: A common office laptop screen.
WIDE: ViewportSize = {"width": 1366, "height": 800}


async def test_the_admin_changes_a_role_and_the_audit_shows_it(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    await live_server.add_staff("ana", "admin", full_name="Ana Wijaya")
    await live_server.add_staff(
        "tono", "officer", full_name="Tono Saputra", email="tono.saputra@kantor.example"
    )
    await live_server.add_staff("sri", "secretariat", full_name="Sri Rahayu")
    for viewport in (WIDE, PHONE):
        page = await open_page("/inbox", viewport=viewport)
        await sign_in(page, "ana")
        await page.get_by_role("link", name="Pengguna").click()
        await expect(page.get_by_role("heading", level=1, name="Pengguna")).to_be_visible()
        await assert_no_horizontal_scroll(page)
        if viewport is WIDE:
            await page.get_by_role("link", name="tono").click()
            await page.get_by_label("Peran", exact=True).select_option("technical_lead")
            await page.get_by_role("button", name="Ubah peran").click()
            await expect(page.get_by_text("Peran telah diubah.")).to_be_visible()
            await assert_no_horizontal_scroll(page)
            await page.get_by_role("link", name="Pengguna").first.click()
        audit = page.locator("tr.audit-line").first
        await expect(audit).to_contain_text("Peran diubah")
        await expect(audit).to_contain_text("Petugas yang berkompeten → Ketua Tim Kerja Teknis")
        await expect(audit).to_contain_text("ana")
        await assert_no_horizontal_scroll(page)
        if viewport is PHONE:  # the account's own page on a phone
            await page.get_by_role("link", name="tono").click()
            await expect(page.locator("tr.audit-line")).to_have_count(1)
            await assert_no_horizontal_scroll(page)


async def test_a_new_complaint_notice_is_read_and_marked(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    await live_server.add_staff("sri", "secretariat", full_name="Sri Rahayu")
    for n, problem in enumerate(("laporan hasil uji terlambat", "sertifikat kalibrasi hilang")):
        await live_server.runtime.accept(
            inbound(
                ChannelName.EMAIL,
                f"<m{n}@example.com>",
                f"pelapor{n}@example.com",
                f"Nama: Budi Santoso\nPelanggan: PT Sinar Jaya Abadi Sentosa\nMasalah: {problem}",
            )
        )
    await live_server.settle()
    for viewport, count in ((PHONE, 2), (WIDE, 1)):
        page = await open_page("/inbox", viewport=viewport)
        await sign_in(page, "sri")
        link = page.locator("#nav-notifications")
        await expect(link).to_have_text(f"Pemberitahuan ({count})")
        await link.click()
        await expect(page.get_by_role("heading", level=1, name="Pemberitahuan")).to_be_visible()
        await expect(page.locator(".notice-item.unread")).to_have_count(count)
        await assert_no_horizontal_scroll(page)
        await page.get_by_role("button", name="Tandai sudah dibaca").first.click()
        await expect(page.locator(".notice-item.unread")).to_have_count(count - 1)
        if count - 1:
            await expect(page.locator("#nav-notifications")).to_have_text(
                f"Pemberitahuan ({count - 1})"
            )
        else:
            await expect(page.locator("#nav-notifications")).to_have_text("Pemberitahuan")
        await assert_no_horizontal_scroll(page)
        # The notice leads to its complaint.
        await page.locator(".notice-text a").first.click()
        await expect(page).to_have_url(re.compile(r"/inbox/complaints/ADU-2026-0000[12]$"))
    # A new complaint while the page is open: the header's count follows without a reload.
    await live_server.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "<m9@example.com>",
            "pelapor9@example.com",
            "Nama: Sari\nPelanggan: CV Maju\nMasalah: tagihan pengujian salah hitung",
        )
    )
    await live_server.settle()
    await expect(page.locator("#nav-notifications")).to_have_text("Pemberitahuan (1)")
