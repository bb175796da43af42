"""Standalone appeals end to end over HTTP (BSPJI Pontianak PR-LS-8.1.4): the
public appeal form, then the staff appeal pages through steps 1-2, the panel
(competence checked) and the final decision sent to the appellant."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.app import create_app
from storage.models import Appeal, AppealPanelMember, AppealStatus
from tests.inbox.conftest import Site, add_staff
from tests.intake.test_appeal_standards import DECLARATION, STAFF
from tests.runtime_fixtures import make_harness
from tests.web.conftest import fresh_token

REFERENCE = re.compile(r"PTK-BDG-\d{4}-\d{5}")
EMAIL = "sinta@example.com"


@pytest.fixture
async def ptk(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[Site]:
    h = await make_harness(tmp_path, sop_profile="bspji_pontianak", form_min_seconds=0)
    await add_staff(h, *STAFF.items())
    client = await aiohttp_client(
        create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
    )
    yield Site(client, h)


async def form_token(site: Site) -> str:
    return await fresh_token(site.client, path="/banding")


def appeal_form(token: str, **overrides: str) -> dict[str, str]:
    form = {
        "token": token,
        "lang": "id",
        "appellant_name": "Sinta Dewi",
        "contact_email": EMAIL,
        "contact_phone": "",
        "contested_decision": "Penolakan sertifikat SPPT-SNI No. 77/2026 oleh LSPro, 2 Des 2026",
        "reason": "Dokumen kami lengkap; penilaian memakai standar versi lama.",
    }
    form.update(overrides)
    return form


async def the_appeal(site: Site) -> Appeal:
    async with site.h.runtime.sessions() as s:
        appeal = await s.scalar(select(Appeal))
    assert appeal is not None
    return appeal


async def sign_in_as(site: Site, username: str) -> None:
    """A fresh browser for ``username`` (each person signs in on their own)."""
    site.client.session.cookie_jar.clear()
    assert (await site.sign_in(username)).status == 303


async def post(site: Site, path: str, data: dict[str, str]) -> Any:
    csrf = await site.csrf(path.rsplit("/", 1)[0])
    return await site.client.post(path, data={"csrf": csrf, **data}, allow_redirects=False)


async def test_a_web_appeal_runs_through_the_staff_pages_to_the_final_decision(
    ptk: Site,
) -> None:
    site, h = ptk, ptk.h
    sent = await site.client.post("/banding", data=appeal_form(await form_token(site)))
    assert sent.status == 200
    page = await sent.text()
    found = REFERENCE.search(page)
    assert found is not None
    await h.settle()
    ack = h.email.sent[-1]
    assert ack.recipient == EMAIL and found.group(0) in ack.text
    appeal = await the_appeal(site)
    assert (appeal.reference, appeal.complaint_id, appeal.channel) == (found.group(0), None, "web")
    assert appeal.address == EMAIL and appeal.appellant_name == "Sinta Dewi"
    assert appeal.step == "identify"

    # Steps 1-2 by customer service.
    await sign_in_as(site, "customer_service")
    listing = await site.client.get("/inbox/banding")
    assert listing.status == 200 and appeal.reference in await listing.text()
    base = f"/inbox/banding/{appeal.id}"
    page = await site.client.get(base)
    assert "Penolakan sertifikat SPPT-SNI" in await page.text()
    for data in (
        {"step": "identify", "note": "Banding atas keputusan sertifikasi; data benar."},
        {
            "step": "record_type",
            "appeal_type": "certification_decision",
            "subject": "certification",
        },
        {"step": "pass_on", "passed_to": "head_of_office"},
    ):
        answer = await post(site, f"{base}/step", data)
        assert answer.status == 303 and "done=step" in answer.headers["Location"], data
    appeal = await the_appeal(site)
    assert appeal.step is None and appeal.subject == "certification"

    # The head of office forms the panel: a role not competent is refused.
    await sign_in_as(site, "head_of_office")
    page = await (await site.client.get(base)).text()
    assert 'value="ani"' in page and 'value="head_of_office"' not in page  # only competent
    answer = await post(
        site,
        f"{base}/panel",
        {"username": "head_of_office", "chair": "1", "declaration": DECLARATION},
    )
    assert answer.status == 303 and "refused=not_competent" in answer.headers["Location"]
    shown = await (await site.client.get(answer.headers["Location"])).text()
    assert "tidak kompeten" in shown
    async with h.runtime.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(AppealPanelMember)) == 0
    for username, chair in (("ani", "1"), ("dedi", ""), ("eka", "")):
        answer = await post(
            site,
            f"{base}/panel",
            {"username": username, "chair": chair, "declaration": DECLARATION},
        )
        assert "done=panel" in answer.headers["Location"], username

    # The chair records the final decision; the appellant is told by email.
    await sign_in_as(site, "ani")
    answer = await post(
        site, f"{base}/decision", {"decision": "Banding diterima; penilaian diulang."}
    )
    assert "done=decision" in answer.headers["Location"]
    await h.settle()
    told = h.email.sent[-1]
    assert told.recipient == EMAIL and "penilaian diulang" in told.text
    assert appeal.reference is not None and appeal.reference in told.text
    assert (await the_appeal(site)).status == AppealStatus.DECIDED


async def test_the_appeal_form_refuses_what_is_missing_and_stores_nothing(ptk: Site) -> None:
    site = ptk
    answer = await site.client.post(
        "/banding",
        data=appeal_form(await form_token(site), contact_email="", reason=""),
    )
    assert answer.status == 422
    text = await answer.text()
    assert "alamat email atau nomor telepon" in text and "alasan banding" in text.lower()
    async with site.h.runtime.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Appeal)) == 0


async def test_a_form_sent_twice_records_one_appeal(ptk: Site) -> None:
    site = ptk
    form = appeal_form(await form_token(site))
    first = await site.client.post("/banding", data=form)
    second = await site.client.post("/banding", data=form)
    assert first.status == second.status == 200
    assert "sudah terkirim" in await second.text()
    async with site.h.runtime.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Appeal)) == 1


async def test_offices_without_standalone_appeals_have_no_appeal_form(site: Site) -> None:
    assert (await site.client.get("/banding")).status == 404
    assert "/banding" not in await (await site.client.get("/")).text()


async def test_roles_outside_the_appeal_section_may_not_see_appeals(site: Site) -> None:
    """Default profile: secretariat and manager work on appeals, an officer does not."""
    await sign_in_as(site, "tono")
    assert (await site.client.get("/inbox/banding")).status == 403
    assert 'href="/inbox/banding"' not in await (await site.client.get("/inbox")).text()
    await sign_in_as(site, "sri")
    listing = await site.client.get("/inbox/banding")
    assert listing.status == 200 and "Belum ada banding" in await listing.text()
