"""User management in the inbox: admin only, every change audited, the last admin kept,
sessions ended on deactivation and password reset, bad input refused and nothing changed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from gateway.passwords import verify_password
from gateway.staff_sessions import SessionPolicy, start_session
from storage.models import StaffSession, StaffUser, StaffUserAudit
from tests.inbox.conftest import PASSWORD, Site, add_staff

GENERATED_RE = re.compile(r'<code class="password-once">([^<]+)</code>')


@dataclass(frozen=True)
class Accounts:
    """What a refused request must leave unchanged."""

    users: tuple[tuple[str, str, bool, str], ...]
    audit: int
    sessions: int


async def accounts(site: Site) -> Accounts:
    async with site.h.runtime.sessions() as s:
        users = (
            await s.execute(
                select(
                    StaffUser.username, StaffUser.role, StaffUser.active, StaffUser.password_hash
                ).order_by(StaffUser.username)
            )
        ).all()
        audit = await s.scalar(select(func.count()).select_from(StaffUserAudit))
        sessions = await s.scalar(select(func.count()).select_from(StaffSession))
    return Accounts(tuple(tuple(u) for u in users), int(audit or 0), int(sessions or 0))  # type: ignore[misc]


async def user_id(site: Site, username: str) -> int:
    async with site.h.runtime.sessions() as s:
        found = await s.scalar(select(StaffUser.id).where(StaffUser.username == username))
    assert found is not None
    return found


async def user(site: Site, username: str) -> StaffUser:
    async with site.h.runtime.sessions() as s:
        found = await s.scalar(select(StaffUser).where(StaffUser.username == username))
    assert found is not None
    return found


async def open_session(site: Site, username: str) -> str:
    """A session of ``username`` opened as the sign-in does; returns its cookie token."""
    async with site.h.runtime.sessions() as s, s.begin():
        token, _ = await start_session(
            s, await user(site, username), policy=SessionPolicy(), ip=None, user_agent=None
        )
    return token


async def works(site: Site, token: str) -> bool:
    """Whether the session cookie ``token`` still opens the inbox (asked without other cookies)."""
    jar = site.client.session.cookie_jar
    saved = list(jar)
    jar.clear()
    try:
        response = await site.client.get(
            "/inbox", headers={"Cookie": f"aduan_session={token}"}, allow_redirects=False
        )
        return response.status == 200
    finally:
        for morsel in saved:
            jar.update_cookies({morsel.key: morsel.value}, response_url=site.client.make_url("/"))


async def send(site: Site, path: str, data: dict[str, str], *, csrf: bool = True) -> Any:
    form = dict(data)
    if csrf:
        form["csrf"] = await site.csrf("/inbox/users")
    return await site.client.post(path, data=form, allow_redirects=False)


async def admin_site(site: Site) -> Site:
    await add_staff(site.h, ("ana", "admin"))
    assert (await site.sign_in("ana")).status == 303
    return site


async def test_the_admin_changes_a_role_and_it_is_audited(site: Site) -> None:
    await admin_site(site)
    page = await (await site.client.get("/inbox/users")).text()
    # The list: username, full name, the role's profile label, status, last sign-in.
    assert "Petugas yang berkompeten" in page and "Tono" in page
    assert 'href="/inbox/users"' in page  # the nav link, for the admin only
    tono = await user_id(site, "tono")
    response = await send(site, f"/inbox/users/{tono}/role", {"role": "technical_lead"})
    assert response.status == 303
    assert response.headers["Location"] == f"/inbox/users/{tono}?done=role_changed"
    assert (await user(site, "tono")).role == "technical_lead"
    async with site.h.runtime.sessions() as s:
        [line] = list(await s.scalars(select(StaffUserAudit)))
    assert (line.username, line.action, line.actor) == ("tono", "role_changed", "staff:ana")
    assert (line.before, line.after) == ({"role": "officer"}, {"role": "technical_lead"})
    page = await (await site.client.get("/inbox/users")).text()
    audit = page[page.index('class="stack-table audit-table"') :]
    assert "Peran diubah" in audit
    assert "Petugas yang berkompeten → Ketua Tim Kerja Teknis" in audit
    detail = await (await site.client.get(f"/inbox/users/{tono}?done=role_changed")).text()
    assert "Peran telah diubah." in detail and "Ketua Tim Kerja Teknis" in detail


async def test_a_non_admin_gets_403_and_changes_nothing(site: Site) -> None:
    await add_staff(site.h, ("ana", "admin"))
    await site.sign_in("maya")  # the quality manager
    home = await (await site.client.get("/inbox")).text()
    assert 'href="/inbox/users"' not in home
    assert (await site.client.get("/inbox/users")).status == 403
    tono = await user_id(site, "tono")
    assert (await site.client.get(f"/inbox/users/{tono}")).status == 403
    before = await accounts(site)
    csrf = await site.csrf("/inbox")
    for path, data in (
        (f"/inbox/users/{tono}/role", {"role": "admin"}),
        (f"/inbox/users/{tono}/active", {"active": "0"}),
        (f"/inbox/users/{tono}/password", {"password": "x" * 20}),
        ("/inbox/users", {"username": "baru", "full_name": "Baru", "role": "admin"}),
    ):
        response = await site.client.post(path, data={**data, "csrf": csrf}, allow_redirects=False)
        assert response.status == 403, path
    assert await accounts(site) == before


async def test_the_last_admin_can_be_neither_demoted_nor_deactivated(site: Site) -> None:
    await admin_site(site)
    ana = await user_id(site, "ana")
    before = await accounts(site)
    for path, data in (
        (f"/inbox/users/{ana}/role", {"role": "manager"}),
        (f"/inbox/users/{ana}/active", {"active": "0"}),
    ):
        response = await send(site, path, data)
        assert response.status == 400, path
        assert "Ini administrator aktif terakhir" in await response.text()
    assert await accounts(site) == before
    # With a second admin, the first may be demoted; then the second is the last.
    tono = await user_id(site, "tono")
    assert (await send(site, f"/inbox/users/{tono}/role", {"role": "admin"})).status == 303
    assert (await send(site, f"/inbox/users/{ana}/role", {"role": "manager"})).status == 303
    assert (await user(site, "ana")).role == "manager"
    site.client.session.cookie_jar.clear()
    await site.sign_in("tono")
    response = await send(site, f"/inbox/users/{tono}/active", {"active": "0"})
    assert response.status == 400
    assert (await user(site, "tono")).active


async def test_a_deactivated_users_session_stops_working(site: Site) -> None:
    await admin_site(site)
    token = await open_session(site, "rudi")
    assert await works(site, token)
    rudi = await user_id(site, "rudi")
    response = await send(site, f"/inbox/users/{rudi}/active", {"active": "0"})
    assert response.status == 303
    assert not await works(site, token)
    assert not (await user(site, "rudi")).active
    async with site.h.runtime.sessions() as s:
        left = await s.scalar(
            select(func.count()).select_from(StaffSession).where(StaffSession.staff_user_id == rudi)
        )
        actions = list(await s.scalars(select(StaffUserAudit.action)))
    assert left == 0 and actions == ["deactivated"]
    # Deactivated: the right password no longer signs in; reactivated, it does.
    site.client.session.cookie_jar.clear()
    assert (await site.sign_in("rudi")).status == 401
    await site.sign_in("ana")
    assert (await send(site, f"/inbox/users/{rudi}/active", {"active": "1"})).status == 303
    site.client.session.cookie_jar.clear()
    assert (await site.sign_in("rudi")).status == 303


async def test_reset_password_ends_sessions_and_shows_a_generated_one_once(site: Site) -> None:
    await admin_site(site)
    token = await open_session(site, "rudi")
    rudi = await user_id(site, "rudi")
    response = await send(site, f"/inbox/users/{rudi}/password", {"password": ""})
    assert response.status == 200
    found = GENERATED_RE.search(await response.text())
    assert found is not None
    generated = found.group(1)
    assert response.headers["Cache-Control"] == "no-store"
    assert not await works(site, token)
    hashed = (await user(site, "rudi")).password_hash
    assert verify_password(hashed, generated) and not verify_password(hashed, PASSWORD)
    async with site.h.runtime.sessions() as s:
        [line] = list(await s.scalars(select(StaffUserAudit)))
    assert line.action == "password_reset" and line.after == {"generated": True}
    assert generated not in str(line.before) + str(line.after)
    # Shown once: the account's page no longer has it.
    assert generated not in await (await site.client.get(f"/inbox/users/{rudi}")).text()
    # A typed temporary password works the same way, and is never audited.
    response = await send(site, f"/inbox/users/{rudi}/password", {"password": "sementara-123"})
    assert response.status == 303
    site.client.session.cookie_jar.clear()
    assert (await site.sign_in("rudi", "sementara-123")).status == 303


async def test_the_admin_adds_an_account(site: Site) -> None:
    await admin_site(site)
    response = await send(
        site,
        "/inbox/users",
        {
            "username": "wati",
            "full_name": "Wati Lestari",
            "email": "wati@kantor.example",
            "role": "head_admin",
            "password": "rahasia-wati-1",
        },
    )
    assert response.status == 303
    wati = await user(site, "wati")
    assert (wati.full_name, wati.email, wati.role, wati.active) == (
        "Wati Lestari",
        "wati@kantor.example",
        "head_admin",
        True,
    )
    async with site.h.runtime.sessions() as s:
        [line] = list(await s.scalars(select(StaffUserAudit)))
    assert line.action == "created" and line.after["role"] == "head_admin"
    assert "rahasia-wati-1" not in str(line.after)
    page = await (await site.client.get("/inbox/users")).text()
    assert "Akun ditambahkan" in page and "Kepala Bagian Tata Usaha" in page
    site.client.session.cookie_jar.clear()
    assert (await site.sign_in("wati", "rahasia-wati-1")).status == 303


async def test_bad_input_is_a_clear_error_and_changes_nothing(site: Site) -> None:
    await admin_site(site)
    tono = await user_id(site, "tono")
    before = await accounts(site)
    good = {"username": "wati", "full_name": "Wati", "email": "", "role": "officer"}
    for path, data, text in (
        (f"/inbox/users/{tono}/role", {"role": "raja"}, "Pilih salah satu peran yang tersedia."),
        ("/inbox/users", {**good, "role": "raja"}, "Pilih salah satu peran yang tersedia."),
        ("/inbox/users", {**good, "username": "tono"}, "Nama pengguna itu sudah dipakai."),
        ("/inbox/users", {**good, "password": "pendek"}, "minimal 10 karakter"),
        (f"/inbox/users/{tono}/password", {"password": "pendek"}, "minimal 10 karakter"),
        ("/inbox/users", {**good, "username": "dua kata"}, "tanpa spasi"),
        ("/inbox/users", {**good, "full_name": ""}, "Isi nama lengkap"),
        ("/inbox/users", {**good, "email": "bukan-email"}, "Alamat email tidak valid."),
    ):
        response = await send(site, path, data)
        assert response.status == 400, (path, data)
        body = await response.text()
        assert "Tidak ada yang diubah" in body or "Nothing was changed" in body
        assert text.lower() in body.lower(), (path, text)
    # Without the CSRF token or from another site: 403.
    response = await send(site, f"/inbox/users/{tono}/role", {"role": "manager"}, csrf=False)
    assert response.status == 403
    response = await site.client.post(
        f"/inbox/users/{tono}/role",
        data={"role": "manager", "csrf": await site.csrf("/inbox/users")},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert response.status == 403
    assert await accounts(site) == before
    assert (await site.client.get("/inbox/users/99999")).status == 404


async def test_an_admin_resetting_their_own_password_sees_it_once_and_signs_in_again(
    site: Site,
) -> None:
    await admin_site(site)
    ana = await user_id(site, "ana")
    response = await send(site, f"/inbox/users/{ana}/password", {"password": ""})
    assert response.status == 200
    found = GENERATED_RE.search(await response.text())
    assert found is not None
    response = await site.client.get("/inbox", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/inbox/login")
    assert (await site.sign_in("ana", found.group(1))).status == 303
