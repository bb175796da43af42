"""The inbox list page: every channel in one list, filters, search, what an
officer may see, the live list fragment and the event stream (docs/inbox.md)."""

from __future__ import annotations

import asyncio
import re

from channels.base import ChannelName
from handlers.workflow import Actor
from tests.inbox.conftest import Site

TEXT = "Nama: {name}\nPelanggan: PT Sinar Jaya\nMasalah: {problem}"


async def file(site: Site, channel: ChannelName, sender: str, name: str, problem: str) -> str:
    text = TEXT.format(name=name, problem=problem)
    complaint = await site.h.file(f"{channel}-{sender}", sender, text, channel)
    return complaint.tracking_number


async def test_one_list_for_every_channel_with_filters_and_search(site: Site) -> None:
    by_mail = await file(
        site, ChannelName.EMAIL, "budi@example.com", "Budi", "laporan uji terlambat"
    )
    by_wa = await file(
        site, ChannelName.WHATSAPP, "+6281234567890", "Siti", "sertifikat hilang di kantor"
    )
    await site.sign_in("sri")

    body = await (await site.client.get("/inbox")).text()
    assert by_mail in body and by_wa in body
    assert body.index(by_wa) < body.index(by_mail)  # newest activity first
    assert "Belum dibaca" in body and "WhatsApp" in body

    only_wa = await (await site.client.get("/inbox?channel=whatsapp")).text()
    assert by_wa in only_wa and by_mail not in only_wa
    found = await (await site.client.get("/inbox", params={"q": "sertifikat"})).text()
    assert by_wa in found and by_mail not in found
    by_number = await (await site.client.get("/inbox", params={"q": by_mail})).text()
    assert by_mail in by_number and by_wa not in by_number
    bad = await site.client.get("/inbox?received_from=2026-12-01&received_to=2026-11-01")
    bad_body = await bad.text()
    assert bad.status == 200 and "Beberapa filter tidak valid" in bad_body
    assert by_mail in bad_body and by_wa in bad_body  # the invalid filter is ignored

    fragment = await site.client.get("/inbox?channel=email", headers={"X-Fragment": "list"})
    html = await fragment.text()
    assert by_mail in html and by_wa not in html and "<html" not in html


async def test_an_officer_sees_only_the_teams_complaints(site: Site) -> None:
    mine = await file(site, ChannelName.EMAIL, "a@example.com", "Ani", "laporan uji terlambat")
    other = await file(site, ChannelName.EMAIL, "b@example.com", "Bob", "biaya pengujian salah")
    sri = Actor("sri", "secretariat")
    bayu = Actor("maya", "admin")
    await site.h.runtime.transition(mine, "verify", sri, {})
    await site.h.runtime.transition(
        mine, "route", bayu, {"category": "technical", "assignee": "rudi"}
    )
    await site.h.settle()
    await site.sign_in("tono")
    body = await (await site.client.get("/inbox")).text()
    assert mine in body and other not in body


async def test_the_event_stream_announces_new_activity(site: Site) -> None:
    await site.sign_in("sri")
    stream = await site.client.get("/inbox/events")
    assert stream.status == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    assert await stream.content.readline() == b"retry: 5000\n"
    await stream.content.readline()

    async def next_event() -> bytes:
        while True:
            line = await stream.content.readline()
            if line.startswith(b"event:"):
                return line

    waiting = asyncio.create_task(next_event())
    await asyncio.sleep(0.2)
    await file(site, ChannelName.EMAIL, "new@example.com", "Nia", "laporan uji terlambat lagi")
    assert await asyncio.wait_for(waiting, 10) == b"event: activity\n"
    stream.close()


async def test_activity_between_the_page_and_its_stream_is_announced(site: Site) -> None:
    """The list is rendered with the activity mark it saw; a complaint stored before
    the page's stream opened is announced to that stream at once (not lost)."""
    await site.sign_in("sri")
    page = await site.client.get("/inbox")
    found = re.search(r'data-activity-mark="(\d+-\d+)"', await page.text())
    assert found is not None
    await file(site, ChannelName.EMAIL, "gap@example.com", "Nia", "laporan uji terlambat lagi")
    stream = await site.client.get("/inbox/events", params={"since": found.group(1)})
    assert await stream.content.readline() == b"retry: 5000\n"

    async def next_event() -> bytes:
        while True:
            line = await stream.content.readline()
            if line.startswith(b"event:"):
                return line

    assert await asyncio.wait_for(next_event(), 10) == b"event: activity\n"
    stream.close()
    # A mark that is not one is ignored (the stream still works, nothing announced at once).
    odd = await site.client.get("/inbox/events", params={"since": "<script>"})
    assert odd.status == 200
    odd.close()
