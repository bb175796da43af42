"""Staff sign-in: sessions, cookie flags, CSRF, throttling, first run (docs/staff-access.md)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select, update

from gateway.app import create_app
from gateway.inbox.auth import SETUP_TOKEN_FILE, ensure_setup_token
from storage.models import StaffSession, StaffUser
from storage.types import utcnow
from tests.inbox.conftest import CSRF_RE, PASSWORD, Site
from tests.runtime_fixtures import make_harness


async def sessions_count(site: Site) -> int:
    async with site.h.runtime.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(StaffSession)) or 0)


async def test_pages_need_a_session(site: Site) -> None:
    response = await site.client.get("/inbox?channel=email", allow_redirects=False)
    assert response.status == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == "/inbox/login"
    assert parse_qs(location.query) == {"next": ["/inbox?channel=email"]}
    response = await site.client.post("/inbox/logout", allow_redirects=False)
    assert response.status == 401
    page = await site.client.get("/inbox/login")
    assert page.status == 200 and 'autocomplete="current-password"' in await page.text()


async def test_sign_in_sets_a_safe_cookie_and_opens_the_inbox(site: Site) -> None:
    response = await site.sign_in("sri", next_="/inbox?channel=email")
    assert response.status == 303 and response.headers["Location"] == "/inbox?channel=email"
    cookie = next(h for h in response.headers.getall("Set-Cookie") if "aduan_session=" in h)
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "path"} <= flags and "secure" not in flags  # http here
    assert "SameSite=Lax" in cookie and "Path=/inbox" in cookie
    page = await site.client.get("/inbox")
    assert page.status == 200
    body = await page.text()
    assert "Kotak masuk" in body and "Sri" in body
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    async with site.h.runtime.sessions() as s:
        row = await s.scalar(select(StaffSession))
    assert row is not None and len(row.token_hash) == 64
    assert row.token_hash not in cookie  # only the hash is stored


async def test_wrong_password_and_unknown_user_look_the_same_and_are_throttled(site: Site) -> None:
    wrong = await site.sign_in("sri", "salah-sandi-123")
    unknown = await site.sign_in("siapa", "salah-sandi-123")
    assert wrong.status == unknown.status == 401
    assert "Nama pengguna atau kata sandi salah." in await wrong.text()
    for _ in range(4):  # five failures in all lock the account
        await site.sign_in("sri", "salah-sandi-123")
    locked = await site.sign_in("sri")  # right password, but locked after 5 failures
    assert locked.status == 429 and "Terlalu banyak percobaan gagal" in await locked.text()
    assert await sessions_count(site) == 0
    other = await site.sign_in("maya")  # another account is not locked
    assert other.status == 303
    async with site.h.runtime.sessions() as s, s.begin():
        from storage.models import LoginThrottle

        await s.execute(update(LoginThrottle).values(locked_until=utcnow() - timedelta(seconds=1)))
    site.client.session.cookie_jar.clear()  # maya's browser is not sri's
    assert (await site.sign_in("sri")).status == 303


async def test_sign_in_without_the_form_token_or_from_another_site_is_refused(site: Site) -> None:
    await site.client.get("/inbox/login")
    forged = await site.client.post(
        "/inbox/login",
        data={"username": "sri", "password": PASSWORD, "csrf": "guess"},
        allow_redirects=False,
    )
    assert forged.status == 403
    page = await site.client.get("/inbox/login")
    token = CSRF_RE.search(await page.text())
    assert token is not None
    cross = await site.client.post(
        "/inbox/login",
        data={"username": "sri", "password": PASSWORD, "csrf": token.group(1)},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert cross.status == 403
    assert await sessions_count(site) == 0


async def test_state_changes_need_the_session_csrf_token(site: Site) -> None:
    await site.sign_in("sri")
    refused = await site.client.post("/inbox/logout", data={}, allow_redirects=False)
    assert refused.status == 403 and "tidak ada yang diubah" in await refused.text()
    wrong = await site.client.post("/inbox/logout", data={"csrf": "x"}, allow_redirects=False)
    assert wrong.status == 403
    assert await sessions_count(site) == 1
    csrf = await site.csrf()
    cross = await site.client.post(
        "/inbox/logout",
        data={"csrf": csrf},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert cross.status == 403 and await sessions_count(site) == 1
    out = await site.client.post("/inbox/logout", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 303 and await sessions_count(site) == 0
    again = await site.client.get("/inbox", allow_redirects=False)
    assert again.status == 303


async def test_idle_expired_and_deactivated_sessions_end(site: Site) -> None:
    await site.sign_in("sri")
    async with site.h.runtime.sessions() as s, s.begin():
        await s.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(hours=3)))
    assert (await site.client.get("/inbox", allow_redirects=False)).status == 303
    assert await sessions_count(site) == 0

    await site.sign_in("sri")
    async with site.h.runtime.sessions() as s, s.begin():
        await s.execute(update(StaffSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await site.client.get("/inbox", allow_redirects=False)).status == 303

    await site.sign_in("sri")
    async with site.h.runtime.sessions() as s, s.begin():
        await s.execute(update(StaffUser).where(StaffUser.username == "sri").values(active=False))
    assert (await site.client.get("/inbox", allow_redirects=False)).status == 303


async def test_no_open_redirect_after_sign_in(site: Site) -> None:
    for target in ("https://evil.example/", "//evil.example/inbox", "/track", "/inbox\\@evil"):
        site.client.session.cookie_jar.clear()
        response = await site.sign_in("sri", next_=target)
        assert response.headers["Location"] == "/inbox", target


async def test_first_run_creates_the_administrator_once(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    h = await make_harness(tmp_path)
    client = await aiohttp_client(
        create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
    )
    token = ensure_setup_token(tmp_path)
    assert (tmp_path / SETUP_TOKEN_FILE).stat().st_mode & 0o077 == 0
    assert (await client.get("/inbox/setup")).status == 404
    assert (await client.get("/inbox/setup?token=wrong")).status == 404
    page = await client.get(f"/inbox/setup?token={token}")
    assert page.status == 200

    async def set_up(shown: str, full_name: str, password: str) -> Any:
        """Send the setup form of the page ``shown`` for the account ``admin``."""
        csrf = CSRF_RE.search(shown)
        assert csrf is not None
        return await client.post(
            f"/inbox/setup?token={token}",
            data={
                "csrf": csrf.group(1),
                "username": "admin",
                "full_name": full_name,
                "password": password,
                "password2": password,
            },
            allow_redirects=False,
        )

    short = await set_up(await page.text(), "Admin", "x")
    assert short.status == 400 and "minimal 10 karakter" in await short.text()
    done = await set_up(await short.text(), "Admin Balai", PASSWORD)
    assert done.status == 303 and done.headers["Location"] == "/inbox"
    assert (await client.get("/inbox")).status == 200  # signed in
    assert not (tmp_path / SETUP_TOKEN_FILE).exists()
    assert (await client.get(f"/inbox/setup?token={token}")).status == 404
    async with h.runtime.sessions() as s:
        [admin] = list(await s.scalars(select(StaffUser)))
    assert (admin.username, admin.role) == ("admin", "admin")
    assert admin.password_hash.startswith("$argon2id$")


async def test_cookies_are_secure_behind_https(aiohttp_client: Any, tmp_path: Path) -> None:
    h = await make_harness(tmp_path, public_url="https://aduan.example.go.id")
    client = await aiohttp_client(
        create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
    )
    page = await client.get("/inbox/login")
    cookie = page.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie
