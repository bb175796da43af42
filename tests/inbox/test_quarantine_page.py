"""Staff see the mail kept aside (``/inbox/quarantine``) and download its original."""

from __future__ import annotations

import dataclasses

from tests.email.memory_mailbox import CONFIG, MemoryMailbox, MemoryPoller, plain
from tests.inbox.conftest import Site

TRUSTED = "mx.bspji.go.id"

FORGED = (
    f"Authentication-Results: {TRUSTED}; spf=fail smtp.mailfrom=evil.example; dmarc=fail\r\n"
    "From: Budi Santoso <budi@example.com>\r\n"
    "Subject: BANDING ADU-2026-00001 <script>alert(1)</script>\r\n"
    "Message-ID: <forged@evil.example>\r\n"
    "\r\n"
    "BANDING ADU-2026-00001 hasil tidak sesuai\r\n"
).encode()
JUNK = b"this is not an email\r\n\x00\x01\x02"


async def kept_aside(site: Site) -> MemoryMailbox:
    box = MemoryMailbox()
    box.append(FORGED)
    box.append(JUNK)
    box.append(plain("normal@example.com"))
    config = dataclasses.replace(CONFIG, trusted_authserv_id=TRUSTED)
    poller = MemoryPoller(box, config, site.h.runtime.sessions, site.h.runtime.accept, holder="t")
    assert await poller.poll_once() == 3
    await site.h.settle()
    return box


async def test_the_secretariat_sees_why_mail_was_kept_aside(site: Site) -> None:
    box = await kept_aside(site)
    assert (await site.sign_in("sri")).status == 303

    page = await site.client.get("/inbox/quarantine")
    assert page.status == 200
    html = await page.text()
    assert "Pesan yang disisihkan" in html
    assert "Gagal pemeriksaan pengirim (SPF/DMARC) di server surel kantor" in html
    assert f"authentication failed at {TRUSTED}: spf=fail, dmarc=fail" in html
    assert "Tidak dapat dibaca sebagai surel" in html
    assert "Budi Santoso &lt;budi@example.com&gt;" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert 'href="/inbox/quarantine"' in html  # in the navigation

    download = await site.client.get("/inbox/quarantine/1.eml")
    assert download.status == 200
    assert await download.read() == box.mail[1]
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert (await site.client.get("/inbox/quarantine/99.eml")).status == 404


async def test_an_officer_may_not_read_mail_kept_aside(site: Site) -> None:
    await kept_aside(site)
    assert (await site.sign_in("tono")).status == 303
    assert (await site.client.get("/inbox/quarantine")).status == 403
    assert (await site.client.get("/inbox/quarantine/1.eml")).status == 403
    home = await site.client.get("/inbox")
    assert 'href="/inbox/quarantine"' not in await home.text()


async def test_a_provider_payload_kept_aside_is_shown_as_one(site: Site) -> None:
    """A signed webhook body that could not be read sits beside the mail, named for
    what it is: no mail headers read from it, the provider's reason, a ``.txt``."""
    from gateway.inbound.store import quarantine

    body = b'{"update_id": 7, "message": {"from": "From: Palsu <x@example.com>"}}'
    await quarantine(
        site.h.runtime.sessions,
        channel="telegram",
        source_ref="telegram#update#7",
        raw=body,
        error="update is not a Telegram Update: bad type",
    )
    assert (await site.sign_in("sri")).status == 303
    html = await (await site.client.get("/inbox/quarantine")).text()
    assert "Tidak dapat dibaca dari penyedia layanan" in html
    assert "Telegram" in html
    assert "Palsu" not in html  # a payload's text is not read as mail headers

    download = await site.client.get("/inbox/quarantine/1.eml")
    assert await download.read() == body
    assert download.headers["Content-Disposition"] == 'attachment; filename="kept-aside-1.txt"'
