"""aduan behind a real nginx with TLS, configured from deploy/nginx.conf (docs/deploy.md).

The application is served in the test on a free port with
``ADUAN_TRUSTED_PROXIES=127.0.0.1`` and no ``ADUAN_PUBLIC_URL``, so the Origin
check and the ``Secure`` cookie can only come from what nginx forwards. The
test's clients reach nginx over https from their own loopback addresses
(127.0.0.2, 127.0.0.3 …): nginx appends that address to ``X-Forwarded-For``
and aduan, whose peer is nginx on 127.0.0.1, takes it as the client's — while
anything a client wrote in that header itself is ignored, as the client is
not a trusted proxy.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from channels.base import ChannelName
from gateway.app import create_app
from gateway.inbox.throttle import ThrottlePolicy
from storage.models import Complaint, LoginThrottle, Message, StaffSession
from tests.deploy.nginx_instance import Nginx, require_nginx, run_nginx
from tests.fakes import inbound
from tests.inbox.conftest import CSRF_RE, PASSWORD, add_staff
from tests.runtime_fixtures import Harness, make_harness
from tests.services import free_port

WRONG = "salah-sandi-123"
REPLY = "Laporan Bapak sedang kami periksa melalui jalur aman."


@dataclass
class Proxied:
    """The app (``h``) behind nginx (``nginx``)."""

    h: Harness
    nginx: Nginx

    def client(self, address: str) -> aiohttp.ClientSession:
        """A browser-like https client connecting from ``address`` (a loopback address)."""
        context = ssl.create_default_context(cafile=str(self.nginx.certificate))
        connector = aiohttp.TCPConnector(ssl=context, local_addr=(address, 0))
        return aiohttp.ClientSession(
            base_url=self.nginx.https_url,
            connector=connector,
            # The cookie jar keeps cookies of a bare IP address only when unsafe.
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            headers={"Origin": self.nginx.https_url},
        )


@pytest.fixture
async def proxied(tmp_path: Path) -> AsyncIterator[Proxied]:
    require_nginx()
    app_port = free_port()
    h = await make_harness(
        tmp_path / "app", http_port=app_port, trusted_proxies="127.0.0.1", form_min_seconds=0
    )
    await add_staff(h, ("sri", "secretariat"), ("maya", "manager"))
    runner = web.AppRunner(
        create_app(h.runtime.settings, runtime=h.runtime, run_channels=False),
        handle_signals=False,
        access_log=None,
        shutdown_timeout=5,
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", app_port).start()
        with run_nginx(tmp_path / "nginx", app_port) as nginx:
            yield Proxied(h, nginx)
    finally:
        await runner.cleanup()
        await h.runtime.close()


async def _csrf(client: aiohttp.ClientSession, path: str) -> str:
    async with client.get(path) as page:
        assert page.status == 200, (path, page.status)
        found = CSRF_RE.search(await page.text())
    assert found is not None
    return found.group(1)


async def _sign_in(
    client: aiohttp.ClientSession, username: str, password: str, **headers: str
) -> aiohttp.ClientResponse:
    csrf = await _csrf(client, "/inbox/login")
    async with client.post(
        "/inbox/login",
        data={"username": username, "password": password, "csrf": csrf, "next": "/inbox"},
        headers=headers,
        allow_redirects=False,
    ) as response:
        await response.read()
    return response


async def _file_complaint(h: Harness) -> str:
    text = "Nama: Budi Santoso\nPelanggan: PT Sinar Jaya\nMasalah: hasil uji terlambat"
    await h.runtime.accept(inbound(ChannelName.EMAIL, "nginx-1", "budi@example.com", text))
    await h.settle()
    async with h.runtime.sessions() as s:
        tracking = await s.scalar(select(Complaint.tracking_number))
    assert tracking is not None
    return tracking


async def _throttle_keys(h: Harness) -> dict[str, int]:
    async with h.runtime.sessions() as s:
        return {r.key: r.failures for r in await s.scalars(select(LoginThrottle))}


async def test_staff_sign_in_reply_and_status_change_over_https_through_nginx(
    proxied: Proxied,
) -> None:
    h = proxied.h
    tracking = await _file_complaint(h)
    async with proxied.client("127.0.0.2") as browser:
        signed_in = await _sign_in(browser, "sri", PASSWORD)
        assert signed_in.status == 303, proxied.nginx.error_log()
        session_cookie = next(
            value
            for value in signed_in.headers.getall("Set-Cookie")
            if value.startswith("aduan_session=")
        )
        # The client used https (X-Forwarded-Proto), so the cookie is Secure.
        assert re.search(r";\s*Secure", session_cookie, re.IGNORECASE), session_cookie

        page = f"/inbox/complaints/{tracking}"
        csrf = await _csrf(browser, page)
        async with browser.post(
            f"{page}/reply", data={"text": REPLY, "csrf": csrf}, allow_redirects=False
        ) as replied:
            assert replied.status == 303, await replied.text()
            assert replied.headers["Location"].endswith(f"{page}?done=reply#result")
        # A status change goes through the same way.
        csrf = await _csrf(browser, page)
        async with browser.post(
            f"{page}/transition", data={"name": "verify", "csrf": csrf}, allow_redirects=False
        ) as verified:
            assert verified.status == 303, await verified.text()
        # The same form from another site's page is refused (the Origin check).
        async with browser.post(
            f"{page}/reply",
            data={"text": "dari situs lain", "csrf": csrf},
            headers={"Origin": "https://evil.example"},
            allow_redirects=False,
        ) as cross:
            assert cross.status == 403

        # The inbox's live updates come through (server-sent events, not buffered).
        async with browser.get("/inbox/events") as events:
            assert events.status == 200
            assert events.headers["Content-Type"].startswith("text/event-stream")
            assert await events.content.readuntil(b"\n\n") == b"retry: 5000\n\n"

    await h.settle()
    async with h.runtime.sessions() as s:
        stored = list(await s.scalars(select(Message.text).where(Message.text.contains(REPLY))))
        addresses = list(await s.scalars(select(StaffSession.ip)))
        status = await s.scalar(select(Complaint.status))
    assert stored == [REPLY]
    assert status == "verified"
    assert any(REPLY in m.text for m in h.email.sent if m.recipient == "budi@example.com")
    assert "dari situs lain" not in "".join(m.text for m in h.email.sent)
    # The session records the client's address, not nginx's.
    assert addresses == ["127.0.0.2"]


async def test_each_client_behind_nginx_has_its_own_sign_in_budget(proxied: Proxied) -> None:
    limit = ThrottlePolicy().ip_limit
    async with proxied.client("127.0.0.3") as guesser:
        for n in range(limit):
            # What the client writes in X-Forwarded-For itself is not believed.
            wrong = await _sign_in(guesser, f"nobody{n}", WRONG, **{"X-Forwarded-For": "192.0.2.9"})
            assert wrong.status == 401, n
        assert (await _sign_in(guesser, "maya", PASSWORD)).status == 429
    # Another client of the same office, behind the same nginx, still signs in.
    async with proxied.client("127.0.0.4") as colleague:
        assert (await _sign_in(colleague, "maya", PASSWORD)).status == 303
    keys = await _throttle_keys(proxied.h)
    assert keys["ip:127.0.0.3"] >= limit
    assert "ip:127.0.0.1" not in keys and "ip:192.0.2.9" not in keys


async def test_plain_http_is_sent_to_https(proxied: Proxied) -> None:
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"{proxied.nginx.http_url}/inbox/login", allow_redirects=False) as response,
    ):
        assert response.status == 301
        assert response.headers["Location"] == "https://127.0.0.1/inbox/login"
