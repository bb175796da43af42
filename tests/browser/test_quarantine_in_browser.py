"""The page of mail kept aside in headless Chromium, at phone width: reachable from the
navigation, readable without sideways scrolling, the original downloaded, no script error."""

from __future__ import annotations

import dataclasses

from playwright.async_api import expect

from tests.browser.conftest import (
    PHONE,
    LiveServer,
    OpenPage,
    assert_no_horizontal_scroll,
)
from tests.browser.signing_in import PASSWORD, sign_in
from tests.email.memory_mailbox import CONFIG, MemoryMailbox, MemoryPoller

FORGED = (
    b"Authentication-Results: mx.bspji.go.id; spf=fail smtp.mailfrom=evil.example; dmarc=fail\r\n"
    b"From: Budi Santoso <budi@example.com>\r\n"
    b"Subject: BANDING ADU-2026-00001\r\n"
    b"Message-ID: <forged@evil.example>\r\n"
    b"\r\n"
    b"BANDING ADU-2026-00001 hasil tidak sesuai\r\n"
)


async def test_the_secretariat_reads_mail_kept_aside_on_a_phone(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    await live_server.add_staff("sri", "secretariat", password=PASSWORD)
    box = MemoryMailbox()
    box.append(FORGED)
    poller = MemoryPoller(
        box,
        dataclasses.replace(CONFIG, trusted_authserv_id="mx.bspji.go.id"),
        live_server.runtime.sessions,
        live_server.runtime.accept,
        holder="t",
    )
    assert await poller.poll_once() == 1

    page = await open_page("/inbox", viewport=PHONE)
    await sign_in(page, "sri")
    await page.get_by_role("link", name="Pesan yang disisihkan").click()
    await expect(page.get_by_role("heading", level=1, name="Pesan yang disisihkan")).to_be_visible()
    await expect(page.get_by_text("Gagal pemeriksaan pengirim (SPF/DMARC)")).to_be_visible()
    await assert_no_horizontal_scroll(page)
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Unduh").click()
    download = await info.value
    path = await download.path()
    assert path is not None and path.read_bytes() == FORGED
