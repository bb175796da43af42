"""A channel the profile does not list runs no complaint conversation; the
message is kept for staff and the sender told the office's channels once.

ITS (PM-BAPKM.AP.1-24 step a, section 9) lists only email and manual intake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from channels.base import ChannelName
from gateway.app import create_app
from handlers.channel_policy import accepts, channels_text
from handlers.profile import load_profile
from storage.models import Appeal, Complaint, Contact, Conversation, Message, OutboxMessage
from tests.fakes import inbound
from tests.inbox.conftest import Site, add_staff
from tests.runtime_fixtures import make_harness

OFFICE_MAIL = "pengaduan@its.example.id"
PHONE = "+6281234567890"
COMPLAINT = (
    "Nama: Budi Santoso\nPelanggan: Budi Santoso\n"
    "Masalah: legalisir ijazah saya sudah dua minggu belum selesai"
)


@pytest.fixture
async def its(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[Site]:
    h = await make_harness(tmp_path, sop_profile="its", email_from=OFFICE_MAIL, form_min_seconds=0)
    await add_staff(h, ("root", "admin"), ("registration_staff", "registration_staff"))
    client = await aiohttp_client(
        create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
    )
    yield Site(client, h)
    await h.runtime.close()


async def count(site: Site, model: Any) -> int:
    async with site.h.runtime.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def test_the_channel_list_names_addresses_where_known() -> None:
    profile = load_profile("its")
    assert not accepts(profile, "sms") and not accepts(profile, "web")
    assert accepts(profile, "email") and accepts(profile, "manual")
    text = channels_text(profile, "id", {"email": OFFICE_MAIL, "sms": PHONE})
    assert text == f"email ({OFFICE_MAIL}), datang langsung, telepon, atau surat"
    english = channels_text(profile, "en", {})
    assert english == "email, in person, by telephone or by letter"


async def test_an_sms_is_kept_for_staff_and_the_sender_told_once(its: Site) -> None:
    site = its
    await site.h.runtime.accept(inbound(ChannelName.SMS, "s1", PHONE, COMPLAINT))
    await site.h.settle()
    await site.h.runtime.accept(inbound(ChannelName.SMS, "s2", PHONE, "ya"))
    await site.h.settle()
    # An appeal by SMS is not opened either (no conversation of any kind).
    await site.h.runtime.accept(
        inbound(ChannelName.SMS, "s3", PHONE, "BANDING ITS-2026-00001 hasilnya tidak adil")
    )
    await site.h.settle()

    assert await count(site, Complaint) == 0
    assert await count(site, Conversation) == 0
    assert await count(site, Appeal) == 0
    async with site.h.runtime.sessions() as s:
        kept = list(await s.scalars(select(Message).where(Message.direction == "in")))
        notices = list(await s.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")))
    assert len(kept) == 3 and kept[0].text == COMPLAINT
    assert all(m.processed_at is not None for m in kept)  # handled, nothing set aside
    [notice] = notices  # told once, not on every message
    assert notice.recipient == PHONE
    assert "tidak menerima pengaduan melalui SMS" in notice.body
    assert f"email ({OFFICE_MAIL})" in notice.body
    assert "Pesan Anda tetap kami simpan" in notice.body

    # Staff read the message on the contact's page.
    await site.sign_in("root")
    async with site.h.runtime.sessions() as s:
        contact_id = await s.scalar(select(Contact.id))
    page = await (await site.client.get(f"/inbox/contacts/{contact_id}")).text()
    assert "Pesan yang tidak terkait pengaduan" in page
    assert "legalisir ijazah saya sudah dua minggu belum selesai" in page


async def test_an_email_still_runs_the_complaint_conversation(its: Site) -> None:
    site = its
    await site.h.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "m1",
            "budi@example.com",
            COMPLAINT.replace("Pelanggan", "Nama pelanggan"),
        )
    )
    await site.h.settle()
    assert await count(site, Complaint) == 1


async def test_the_web_form_names_the_channels_and_stores_nothing(its: Site) -> None:
    site = its
    page = await site.client.get("/", params={"lang": "id"})
    assert page.status == 200
    body = await page.text()
    assert "Pengaduan tidak diterima melalui formulir ini" in body
    assert f"menerima pengaduan melalui: email ({OFFICE_MAIL})" in body
    assert 'name="problem"' not in body
    english = await (await site.client.get("/", params={"lang": "en"})).text()
    assert "takes complaints by: email" in english

    refused = await site.client.post(
        "/",
        data={
            "lang": "id",
            "complainant_name": "Budi Santoso",
            "customer_name": "Budi Santoso",
            "problem": "Legalisir ijazah saya belum selesai.",
            "contact_phone": "0812-3456-7890",
        },
    )
    assert refused.status == 403
    assert "tidak kami simpan" in await refused.text()
    assert await count(site, Message) == 0 and await count(site, Complaint) == 0
