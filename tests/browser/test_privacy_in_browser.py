"""Personal data in headless Chromium, at phone width (docs/privacy.md): the citizen
reaches the privacy notice from the form; an administrator erases a contact's
personal data from its page after typing its number, and the complaint stays
in the register."""

from __future__ import annotations

from playwright.async_api import expect
from sqlalchemy import func, select

from storage.models import Complaint
from tests.browser.conftest import (
    PHONE,
    LiveServer,
    OpenPage,
    assert_no_horizontal_scroll,
)
from tests.browser.signing_in import PASSWORD, sign_in
from tests.browser.test_public_pages import submit_form


async def test_a_citizen_reads_the_notice_and_an_admin_erases_their_data(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    citizen = await open_page("/", viewport=PHONE)
    number = await submit_form(
        citizen,
        name="Rina Wulandari",
        customer="CV Maju Bersama",
        problem="Sertifikat kalibrasi timbangan belum kami terima.",
        email="rina.wulandari@example.com",
    )
    await citizen.goto("/")
    await citizen.get_by_role("link", name="Pemberitahuan privasi").click()
    await expect(citizen.get_by_role("heading", level=1)).to_have_text("Pemberitahuan privasi")
    await assert_no_horizontal_scroll(citizen)
    await live_server.settle()

    await live_server.add_staff("admin", "admin", password=PASSWORD)
    page = await open_page("/inbox", viewport=PHONE)
    await sign_in(page, "admin")
    await page.goto("/inbox/contacts/1")
    await expect(page.get_by_role("heading", name="Data pribadi")).to_be_visible()
    await page.get_by_role("link", name="Hapus data pribadi…").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hapus data pribadi kontak #1")
    await assert_no_horizontal_scroll(page)
    await page.get_by_label("Ketik nomor kontak 1 untuk menegaskan penghapusan.").fill("1")
    await page.get_by_role("button", name="Hapus data pribadi", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text(
        "Data pribadi kontak ini telah dihapus"
    )
    await expect(page.locator("main")).not_to_contain_text("Rina Wulandari")
    await assert_no_horizontal_scroll(page)

    async with live_server.runtime.sessions() as session:
        kept = await session.scalar(
            select(func.count()).select_from(Complaint).where(Complaint.tracking_number == number)
        )
        name = await session.scalar(
            select(Complaint.complainant_name).where(Complaint.tracking_number == number)
        )
    assert kept == 1
    assert name != "Rina Wulandari"
