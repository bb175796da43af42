"""Signing staff in through the inbox's sign-in page, as a person does."""

from __future__ import annotations

from playwright.async_api import Page, expect

#: The password of every staff account the browser tests create.
PASSWORD = "kata-sandi-uji-1"


async def sign_in(page: Page, username: str = "sri") -> None:
    """Sign ``username`` in (password :data:`PASSWORD`) on the sign-in page shown,
    and wait for the inbox."""
    await page.get_by_label("Nama pengguna").fill(username)
    await page.get_by_label("Kata sandi").fill(PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_role("heading", level=1, name="Kotak masuk")).to_be_visible()
