"""An officer's complaint page shows only their team's complaints of a contact:
the thread and the attachment route apply the same rule as the list."""

from __future__ import annotations

from sqlalchemy import select, update

from channels.base import ChannelName
from storage.models import Complaint, Message
from tests.fakes import inbound
from tests.inbox.conftest import Site
from tests.inbox.test_complaint_page import (
    file_complaint,
    load,
    page,
    two_complaints_of_one_person,
)
from tests.inbox.test_complaint_safety import PNG, attachment_ids, file_hostile_email


async def _assign(site: Site, tracking: str, assignee: str | None) -> None:
    async with site.h.runtime.sessions() as s, s.begin():
        await s.execute(
            update(Complaint).where(Complaint.tracking_number == tracking).values(assignee=assignee)
        )


def _thread(body: str) -> str:
    return body[body.index('id="thread"') : body.index('id="reply"')]


async def test_the_thread_leaves_out_another_teams_complaint_of_the_same_person(
    site: Site,
) -> None:
    own, other = await two_complaints_of_one_person(site)
    await _assign(site, own, "rudi")  # an officer: tono's team
    await _assign(site, other, "maya")  # the manager's, not the officers'
    contact_id = (await load(site, own)).contact_id
    # A message of the same person outside any complaint (a STATUS query, say).
    await site.h.runtime.accept(
        inbound(ChannelName.WHATSAPP, "loose-1", "+6281234567890", "halo, ada nomor baru?")
    )
    await site.h.settle()
    async with site.h.runtime.sessions() as s, s.begin():
        await s.execute(
            update(Message).where(Message.external_id == "loose-1").values(complaint_id=None)
        )

    await site.sign_in("tono")
    thread = _thread(await page(site, own))
    assert "sertifikat kalibrasi hilang" in thread
    assert "laporan uji belum diterima" not in thread
    assert other not in thread
    assert "ada nomor baru" not in thread
    assert (await site.client.get(f"/inbox/complaints/{other}")).status == 404

    # The secretariat sees the whole thread of the person.
    site.client.session.cookie_jar.clear()
    await site.sign_in("sri")
    thread = _thread(await page(site, own))
    assert "laporan uji belum diterima" in thread and "ada nomor baru" in thread
    assert f'href="/inbox/complaints/{other}"' in thread
    async with site.h.runtime.sessions() as s:
        assert (
            await s.scalar(select(Message.contact_id).where(Message.external_id == "loose-1"))
            == contact_id
        )


async def test_an_attachment_of_another_teams_complaint_is_not_served(site: Site) -> None:
    own = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    await _assign(site, own, "rudi")  # tono's team has a complaint of this person …
    contact_id = (await load(site, own)).contact_id
    with_files = await load(site, await file_hostile_email(site))
    assert with_files.tracking_number != own and with_files.contact_id == contact_id
    await _assign(site, with_files.tracking_number, "maya")  # … the files are in another's
    ids = await attachment_ids(site)

    await site.sign_in("tono")
    assert (await site.client.get(f"/inbox/attachments/{ids['foto.png']}")).status == 404
    await _assign(site, with_files.tracking_number, "rudi")
    image = await site.client.get(f"/inbox/attachments/{ids['foto.png']}")
    assert image.status == 200 and await image.read() == PNG
