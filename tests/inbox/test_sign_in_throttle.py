"""Sign-in throttle reserved before argon2, trusted proxies, unreadable sign-in forms."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

import gateway.inbox.auth as auth
from gateway.app import create_app
from gateway.inbox.throttle import ThrottlePolicy, record_success, reserve
from gateway.passwords import verify_password
from storage.db import session_factory
from storage.models import LoginThrottle, StaffSession
from storage.types import utcnow
from tests.inbox.conftest import CSRF_RE, PASSWORD, Site, add_staff
from tests.runtime_fixtures import make_harness

WRONG = "salah-sandi-123"
POLICY = ThrottlePolicy()


@pytest.fixture
async def proxied(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[Site]:
    """The app behind a reverse proxy on 127.0.0.1 (the test client's address)."""
    h = await make_harness(tmp_path / "proxied", trusted_proxies="127.0.0.1")
    await add_staff(h, ("sri", "secretariat"), ("maya", "manager"))
    client = await aiohttp_client(
        create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
    )
    yield Site(client, h)
    await h.runtime.close()


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification the sign-in runs (the hash verified)."""
    calls: list[str] = []

    def counting(hashed: str, password: str) -> bool:
        calls.append(hashed)
        return verify_password(hashed, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    return calls


async def _form_token(site: Site) -> str:
    page = await site.client.get("/inbox/login")
    found = CSRF_RE.search(await page.text())
    assert found is not None
    return found.group(1)


async def _attempt(
    site: Site, username: str, password: str, client: str | None = None, **headers: str
) -> Any:
    csrf = await _form_token(site)
    if client is not None:
        headers["X-Forwarded-For"] = client
    return await site.client.post(
        "/inbox/login",
        data={"username": username, "password": password, "csrf": csrf, "next": "/inbox"},
        headers=headers,
        allow_redirects=False,
    )


async def _raw_sign_in(site: Site, headers: dict[str, str]) -> tuple[Any, str]:
    """Sign in as sri sending the cookies by hand: ``Secure`` cookies are not sent
    back over the test's plain http, as a browser behind the TLS proxy would."""
    page = await site.client.get("/inbox/login")
    found = CSRF_RE.search(await page.text())
    assert found is not None
    csrf = found.group(1)
    response = await site.client.post(
        "/inbox/login",
        data={"username": "sri", "password": PASSWORD, "csrf": csrf, "next": "/inbox"},
        headers={**headers, "Cookie": f"aduan_login_csrf={csrf}"},
        allow_redirects=False,
    )
    session = response.cookies.get("aduan_session")
    return response, session.value if session is not None else ""


async def _raw_logout(site: Site, session: str, headers: dict[str, str]) -> Any:
    cookie = {"Cookie": f"aduan_session={session}"}
    page = await site.client.get("/inbox", headers=cookie)
    found = CSRF_RE.search(await page.text())
    assert page.status == 200 and found is not None
    return await site.client.post(
        "/inbox/logout",
        data={"csrf": found.group(1)},
        headers={**headers, **cookie},
        allow_redirects=False,
    )


async def _keys(site: Site) -> dict[str, int]:
    async with site.h.runtime.sessions() as s:
        return {r.key: r.failures for r in await s.scalars(select(LoginThrottle))}


async def _end_locks(site: Site) -> None:
    """Let every lock pass (instead of waiting for it)."""
    async with site.h.runtime.sessions() as s, s.begin():
        await s.execute(update(LoginThrottle).values(locked_until=utcnow() - timedelta(seconds=1)))


async def test_forty_concurrent_wrong_passwords_reach_argon2_at_most_five_times(
    site: Site, verifications: list[str]
) -> None:
    csrf = await _form_token(site)
    # A client of its own: no cookie jar updated between the concurrent requests.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as raw:

        async def attempt() -> int:
            async with raw.post(
                site.client.make_url("/inbox/login"),
                data={"username": "sri", "password": WRONG, "csrf": csrf},
                headers={"Cookie": f"aduan_login_csrf={csrf}"},
                allow_redirects=False,
            ) as response:
                return response.status

        statuses = await asyncio.gather(*(attempt() for _ in range(40)))
    assert set(statuses) <= {401, 429}
    assert len(verifications) == statuses.count(401) <= POLICY.user_free
    assert statuses.count(429) >= 40 - POLICY.user_free
    assert (await _keys(site))["user:sri"] == POLICY.user_free
    # Locked: even the right password is refused without a verification.
    before = len(verifications)
    locked = await site.sign_in("sri")
    assert locked.status == 429 and len(verifications) == before
    wait = re.search(r"Coba lagi dalam (\d+) detik\.", await locked.text())
    assert wait is not None and 1 <= int(wait.group(1)) <= 30  # the first back-off: 30 s
    assert locked.headers["Retry-After"] == wait.group(1)


async def test_a_spray_from_many_addresses_backs_off_and_the_owner_still_gets_in(
    proxied: Site, verifications: list[str]
) -> None:
    for n in range(POLICY.user_free):
        assert (await _attempt(proxied, "sri", WRONG, f"203.0.113.{n + 1}")).status == 401
    # Each address is fresh, yet the account now waits: no further guess is checked.
    refused = await _attempt(proxied, "sri", WRONG, "203.0.113.99")
    assert refused.status == 429 and len(verifications) == POLICY.user_free
    # The owner, from another address, waits the back-off too …
    assert (await _attempt(proxied, "sri", PASSWORD, "198.51.100.7")).status == 429
    # … and once it has passed, signs in.
    await _end_locks(proxied)
    signed_in = await _attempt(proxied, "sri", PASSWORD, "198.51.100.7")
    assert signed_in.status == 303
    keys = await _keys(proxied)
    assert "user:sri" not in keys  # a success clears the account
    assert keys["ip:198.51.100.7"] == 0  # and gives the address its attempt back
    assert keys["ip:203.0.113.1"] == 1


async def test_the_address_key_is_the_forwarded_client_only_from_a_trusted_proxy(
    proxied: Site, site: Site
) -> None:
    spoofed = {"X-Forwarded-For": "203.0.113.50"}
    # Behind the trusted proxy: counted for the forwarded client …
    for n in range(POLICY.ip_limit):
        assert (await _attempt(proxied, f"nobody{n}", WRONG, **spoofed)).status == 401
    assert (await _attempt(proxied, "maya", PASSWORD, **spoofed)).status == 429
    # … and another client behind the same proxy is not locked out.
    assert (await _attempt(proxied, "maya", PASSWORD, "203.0.113.51")).status == 303
    assert "ip:127.0.0.1" not in await _keys(proxied)
    # Without trusted proxies the header is ignored: the peer is the client.
    await _attempt(site, "nobody", WRONG, **spoofed)
    keys = await _keys(site)
    assert "ip:127.0.0.1" in keys and "ip:203.0.113.50" not in keys


async def test_behind_a_tls_proxy_staff_posts_pass_the_origin_check(proxied: Site) -> None:
    forwarded = {
        "X-Forwarded-For": "198.51.100.7",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "aduan.example.go.id",
        "Origin": "https://aduan.example.go.id",
    }
    signed_in, session = await _raw_sign_in(proxied, forwarded)
    assert signed_in.status == 303 and session
    assert "Secure" in signed_in.headers["Set-Cookie"]  # the client used https
    out = await _raw_logout(proxied, session, forwarded)
    assert out.status == 303
    # Another site's page is still refused.
    evil, _ = await _raw_sign_in(proxied, {**forwarded, "Origin": "https://evil.example"})
    assert evil.status == 403


async def test_forwarded_headers_from_an_untrusted_peer_are_ignored(site: Site) -> None:
    forwarded = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "aduan.example.go.id",
        "Origin": "https://aduan.example.go.id",
    }
    refused, _ = await _raw_sign_in(site, forwarded)
    assert refused.status == 403
    # The peer's own host is this site: signed in, and the cookie is not Secure (plain http).
    own, session = await _raw_sign_in(site, {"X-Forwarded-Proto": "https"})
    assert own.status == 303 and session
    assert "Secure" not in own.headers["Set-Cookie"]


async def test_a_plain_proxy_pass_with_the_public_url_passes_the_origin_check(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    # nginx: TLS outside, `proxy_pass http://127.0.0.1:8080;` and no forwarded headers.
    h = await make_harness(tmp_path, public_url="https://aduan.example.go.id")
    await add_staff(h, ("sri", "secretariat"))
    client = await aiohttp_client(
        create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
    )
    site = Site(client, h)
    origin = {"Origin": "https://aduan.example.go.id"}
    signed_in, session = await _raw_sign_in(site, origin)
    assert signed_in.status == 303 and session
    assert (await _raw_logout(site, session, origin)).status == 303
    evil, _ = await _raw_sign_in(site, {"Origin": "https://aduan.example.go.id.evil.example"})
    assert evil.status == 403
    await h.runtime.close()


MALFORMED = [
    ("multipart/form-data", b"username=sri"),  # no boundary
    ("multipart/form-data; boundary=xyz", b"not a multipart body"),
    ("multipart/form-data; boundary=xyz", b"--xyz\r\nbroken header\r\n\r\nv\r\n--xyz--\r\n"),
    ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data\r\n\r\nv"),
    ("application/x-www-form-urlencoded; charset=no-such-charset", b"username=sri"),
]


@pytest.mark.parametrize(("content_type", "body"), MALFORMED)
async def test_an_unreadable_form_is_answered_400_and_changes_nothing(
    site: Site, content_type: str, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    await _form_token(site)
    response = await site.client.post(
        "/inbox/login", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == 400
    text = await response.text()
    assert "Formulir tidak dapat dibaca" in text and "Traceback" not in text
    assert await _keys(site) == {}
    assert "Traceback" not in caplog.text and "Error handling request" not in caplog.text
    # The same for a signed-in member's POST: 400, and the session stays.
    assert (await site.sign_in("sri")).status == 303
    csrf = await site.csrf()
    for extra in ({}, {"X-CSRF-Token": csrf}):  # the header does not skip reading the body
        response = await site.client.post(
            "/inbox/logout", data=body, headers={"Content-Type": content_type, **extra}
        )
        assert response.status == 400
    async with site.h.runtime.sessions() as s:
        assert await s.scalar(select(StaffSession.id)) is not None


def test_the_account_back_off_grows_to_its_cap() -> None:
    delays = [POLICY.user_delay(n) for n in range(1, 12)]
    assert delays[:4] == [None] * 4
    assert [d.total_seconds() for d in delays[4:] if d] == [30, 60, 120, 240, 480, 900, 900]


async def test_reservations_count_first_and_are_forgotten_after_quiet(
    any_engine: AsyncEngine,
) -> None:
    sessions = session_factory(any_engine)
    t0 = utcnow()

    async def attempt(at: timedelta, user: str = "sri", ip: str = "203.0.113.1") -> Any:
        async with sessions() as s, s.begin():
            return await reserve(s, user, ip, policy=POLICY, now=t0 + at)

    for n in range(POLICY.user_free):
        assert await attempt(timedelta(seconds=n)) is None
    last = timedelta(seconds=POLICY.user_free - 1)
    assert await attempt(last + timedelta(seconds=1)) == t0 + last + timedelta(seconds=30)
    # After the back-off one more guess goes through and doubles the wait.
    after = last + timedelta(seconds=31)
    assert await attempt(after) is None
    assert await attempt(after + timedelta(seconds=1)) == t0 + after + timedelta(seconds=60)
    # Quiet for longer than forget_after after the lock: the count starts again.
    later = after + timedelta(seconds=60) + POLICY.forget_after + timedelta(seconds=1)
    assert await attempt(later) is None
    async with sessions() as s:
        row = await s.get(LoginThrottle, "user:sri")
        assert row is not None and (row.failures, row.locked_until) == (1, None)
    async with sessions() as s, s.begin():
        await record_success(s, "sri", "203.0.113.1", policy=POLICY)
    async with sessions() as s, s.begin():
        assert await s.get(LoginThrottle, "user:sri") is None
        await s.execute(delete(LoginThrottle))


def test_login_page_texts_name_the_wait() -> None:
    now = utcnow()
    assert auth.wait_text(now + timedelta(seconds=29.2), now, "id") == "30 detik"
    assert auth.wait_text(now + timedelta(seconds=61), now, "en") == "2 minutes"
    assert re.fullmatch(r"15 menit", auth.wait_text(now + timedelta(minutes=15), now, "id"))


async def test_forty_concurrent_reservations_allow_at_most_the_budget(
    any_engine: AsyncEngine,
) -> None:
    # On PostgreSQL each transaction has its own connection: the row lock serialises them.
    sessions = session_factory(any_engine)
    now = utcnow()

    async def attempt(n: int) -> Any:
        async with sessions() as s, s.begin():
            return await reserve(s, "sri", f"203.0.113.{n}", policy=POLICY, now=now)

    results = await asyncio.gather(*(attempt(n) for n in range(40)))
    assert sum(r is None for r in results) == POLICY.user_free
    async with sessions() as s:
        row = await s.get(LoginThrottle, "user:sri")
        assert row is not None and row.failures == POLICY.user_free
