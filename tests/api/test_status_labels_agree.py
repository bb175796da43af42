"""The tracking page, the API and the inbox name a complaint's status alike
(:meth:`handlers.profile.Profile.status_label`)."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import update

from gateway.passwords import hash_password
from storage.models import Complaint, StaffUser
from tests.api.conftest import Api

PASSWORD = "kata-sandi-rahasia"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
TRACK_RE = re.compile(r"<dd><strong>([^<]*)</strong>")
HEADER_RE = re.compile(r'<span class="cp-badge cp-state">([^<]*)</span>')
ROW_RE = re.compile(r'<span class="badge status-badge[^"]*">([^<]*)</span>')


async def sign_in(api: Api) -> None:
    """Sign in as the manager ``maya`` (the fixture's account, given a password)."""
    async with api.h.runtime.sessions() as s, s.begin():
        await s.execute(
            update(StaffUser)
            .where(StaffUser.username == "maya")
            .values(password_hash=hash_password(PASSWORD))
        )
    page = await api.client.get("/inbox/login")
    csrf = CSRF_RE.search(await page.text())
    assert csrf is not None
    response = await api.client.post(
        "/inbox/login",
        data={"username": "maya", "password": PASSWORD, "csrf": csrf.group(1), "next": "/inbox"},
        allow_redirects=False,
    )
    assert response.status == 303 and response.headers["Location"] == "/inbox"


async def shown(api: Api, tracking: str, lang: str) -> dict[str, str]:
    """The status label of ``tracking`` on each surface, in ``lang``."""
    track = await api.client.post(
        "/track", data={"number": tracking, "contact": "budi@example.com", "lang": lang}
    )
    found = TRACK_RE.search(await track.text())
    _, body = await api.call("GET", f"/complaints/{tracking}")
    header = HEADER_RE.search(
        await (await api.client.get(f"/inbox/complaints/{tracking}?lang={lang}")).text()
    )
    row = ROW_RE.search(await (await api.client.get(f"/inbox?lang={lang}")).text())
    assert found and header and row
    return {
        "tracking page": html.unescape(found.group(1)),
        "api": body["status_label"][lang],
        "inbox complaint": html.unescape(header.group(1)),
        "inbox list": html.unescape(row.group(1)),
    }


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_tracking_page_api_and_inbox_show_the_same_label(api: Api, lang: str) -> None:
    tracking = await api.file()
    await sign_in(api)
    profile = api.h.runtime.profile

    expected = profile.status_label("received", lang)
    assert set((await shown(api, tracking, lang)).values()) == {expected}

    status, _ = await api.call(
        "POST", f"/complaints/{tracking}/transitions", json={"name": "verify"}
    )
    assert status == 200
    expected = profile.status_label("verified", lang)
    assert expected == profile.workflow.states["verified"].label.get(lang)
    assert set((await shown(api, tracking, lang)).values()) == {expected}


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_a_status_the_workflow_lacks_is_named_alike_too(api: Api, lang: str) -> None:
    """A state a changed profile no longer has: the same fallback everywhere."""
    tracking = await api.file()
    await sign_in(api)
    async with api.h.runtime.sessions() as s, s.begin():
        await s.execute(
            update(Complaint)
            .where(Complaint.tracking_number == tracking)
            .values(status="paused_by_office")
        )
    labels = await shown(api, tracking, lang)
    assert set(labels.values()) == {"paused_by_office"}, labels
