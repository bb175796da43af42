"""Contact pages and merging two contacts that are one person (docs/privacy.md)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelName
from handlers.contacts import (
    MOVED_TABLES,
    MergeRefusal,
    MergeRefused,
    lease_name,
    merge_contacts,
    processing_paused,
    undo_merge,
)
from storage import leases
from storage.db import SessionFactory
from storage.models import (
    Complaint,
    ComplaintEvent,
    Contact,
    ContactAddress,
    ContactMerge,
    Conversation,
    Message,
    OutboxMessage,
)
from tests.fakes import inbound
from tests.inbox.conftest import Site

TEXT = "Nama: {name}\nPelanggan: PT Sinar Jaya\nMasalah: {problem}"
WA = "+6281234567890"
MAIL = "budi@example.com"

Snapshot = dict[str, dict[int, int]]


async def file(site: Site, channel: ChannelName, sender: str, problem: str) -> Complaint:
    """A complaint by ``sender`` on ``channel`` (chat intake confirms with "ya")."""
    text = TEXT.format(name="Budi Santoso", problem=problem)
    return await site.h.file(f"{channel}-{sender}-1", sender, text, channel)


async def start_draft(site: Site, sender: str) -> int:
    """A WhatsApp contact in the middle of the intake conversation; returns its id."""
    await site.h.runtime.accept(inbound(ChannelName.WHATSAPP, f"draft-{sender}", sender, "halo"))
    await site.h.settle()
    return await contact_of(site, "phone", sender)


async def contact_of(site: Site, kind: str, address: str) -> int:
    async with site.h.runtime.sessions() as s:
        found = await s.scalar(
            select(ContactAddress.contact_id).where(
                ContactAddress.kind == kind, ContactAddress.address == address
            )
        )
    assert found is not None
    return found


async def snapshot(sessions: SessionFactory) -> Snapshot:
    """Every row that follows a contact: table key → {row id: contact id}."""
    found: Snapshot = {}
    async with sessions() as s:
        for key, model in MOVED_TABLES:
            table: Any = model
            rows = await s.execute(select(table.id, table.contact_id))
            found[key] = {row_id: contact_id for row_id, contact_id in rows}
    return found


async def post(site: Site, path: str, data: dict[str, str], page: str) -> Any:
    return await site.client.post(
        path, data={"csrf": await site.csrf(page), **data}, allow_redirects=False
    )


async def test_merging_a_whatsapp_and_an_email_contact_audited_and_undone(site: Site) -> None:
    by_wa = await file(site, ChannelName.WHATSAPP, WA, "sertifikat hilang di kantor")
    by_mail = await file(site, ChannelName.EMAIL, MAIL, "laporan uji terlambat")
    wa_id, mail_id = by_wa.contact_id, by_mail.contact_id
    assert wa_id != mail_id
    before = await snapshot(site.h.runtime.sessions)
    await site.sign_in("sri")

    # Search for the other contact by its number as people write it.
    page = await site.client.get(f"/inbox/contacts/{mail_id}", params={"q": "0812-3456-7890"})
    body = await page.text()
    assert page.status == 200
    assert f'name="source" value="{wa_id}"' in body and MAIL in body

    merged = await post(site, f"/inbox/contacts/{mail_id}/merge", {"source": str(wa_id)}, "/inbox")
    assert merged.status == 303
    assert merged.headers["Location"] == f"/inbox/contacts/{mail_id}?done=merged"
    body = await (await site.client.get(merged.headers["Location"])).text()
    assert "Kontak telah digabungkan" in body
    assert WA in body and MAIL in body
    assert by_wa.tracking_number in body and by_mail.tracking_number in body
    assert "Telepon (WhatsApp, SMS)" in body

    after = await snapshot(site.h.runtime.sessions)
    async with site.h.runtime.sessions() as s:
        merge = await s.scalar(select(ContactMerge))
        source = await s.get(Contact, wa_id)
        events = list(
            await s.scalars(select(ComplaintEvent).where(ComplaintEvent.kind == "contact_merged"))
        )
    assert merge is not None and merge.merged_by == "staff:sri"
    assert (merge.target_id, merge.source_id, merge.undone_at) == (mail_id, wa_id, None)
    for key, rows in before.items():
        moved = sorted(i for i, owner in rows.items() if owner == wa_id)
        assert merge.moved[key] == moved, key
        assert all(after[key][i] == mail_id for i in moved)
        assert {i: o for i, o in after[key].items() if i not in moved} == {
            i: o for i, o in rows.items() if i not in moved
        }
    assert merge.moved["complaints"] == [by_wa.id] and merge.moved["messages"]
    assert source is not None and source.merged_into_id == mail_id  # kept, marked
    assert [(e.complaint_id, e.actor) for e in events] == [(by_wa.id, "staff:sri")]
    assert events[0].data == {"merge_id": merge.id, "source_id": wa_id, "target_id": mail_id}

    # The merged contact's page points to the other one; new WhatsApp messages
    # from the number belong to the merged contact now.
    source_page = await (await site.client.get(f"/inbox/contacts/{wa_id}")).text()
    assert (
        f'href="/inbox/contacts/{mail_id}"' in source_page and "telah digabungkan ke" in source_page
    )
    await site.h.runtime.accept(inbound(ChannelName.WHATSAPP, "wa-after", WA, "halo lagi"))
    await site.h.settle()
    async with site.h.runtime.sessions() as s:
        late = await s.scalar(select(Message).where(Message.external_id == "wa-after"))
    assert late is not None and late.contact_id == mail_id
    # It continues the person's newest open complaint (handlers/intake.py).
    assert late.complaint_id in (by_wa.id, by_mail.id)

    # Undo moves exactly the recorded rows back.
    undone = await post(site, f"/inbox/contact-merges/{merge.id}/undo", {}, "/inbox")
    assert undone.status == 303
    assert undone.headers["Location"] == f"/inbox/contacts/{mail_id}?done=undone"
    restored = await snapshot(site.h.runtime.sessions)
    for key, rows in before.items():
        assert {i: restored[key][i] for i in rows} == rows, key
    assert restored["messages"][late.id] == mail_id  # arrived while merged: stays
    async with site.h.runtime.sessions() as s:
        merge_after = await s.get(ContactMerge, merge.id)
        source = await s.get(Contact, wa_id)
        undo_events = list(
            await s.scalars(
                select(ComplaintEvent.complaint_id).where(
                    ComplaintEvent.kind == "contact_merge_undone"
                )
            )
        )
    assert merge_after is not None and merge_after.undone_by == "staff:sri"
    assert merge_after.undone_at is not None
    assert source is not None and source.merged_into_id is None
    assert undo_events == [by_wa.id]
    history = await (await site.client.get(f"/inbox/contacts/{mail_id}")).text()
    assert "Riwayat penggabungan" in history and "Batalkan penggabungan #" not in history

    again = await post(site, f"/inbox/contact-merges/{merge.id}/undo", {}, "/inbox")
    assert again.status == 409 and "Penggabungan ini sudah dibatalkan." in await again.text()
    assert await snapshot(site.h.runtime.sessions) == restored


async def test_refused_merges_change_nothing(site: Site) -> None:
    one = await start_draft(site, "+6281311112222")
    two = await start_draft(site, "+6281311113333")
    third = (await file(site, ChannelName.EMAIL, MAIL, "laporan uji terlambat")).contact_id
    await site.sign_in("sri")
    before = await snapshot(site.h.runtime.sessions)

    itself = await post(site, f"/inbox/contacts/{one}/merge", {"source": str(one)}, "/inbox")
    assert itself.status == 409
    assert "tidak dapat digabungkan dengan dirinya sendiri" in await itself.text()

    drafts = await post(site, f"/inbox/contacts/{one}/merge", {"source": str(two)}, "/inbox")
    text = await drafts.text()
    assert drafts.status == 409
    assert "Kedua kontak sedang dalam percakapan penerimaan di WhatsApp" in text
    assert "Tidak ada yang diubah" in text

    nothing = await post(site, f"/inbox/contacts/{one}/merge", {"source": ""}, "/inbox")
    assert nothing.status == 400
    unknown = await post(site, f"/inbox/contacts/{one}/merge", {"source": "99999"}, "/inbox")
    assert unknown.status == 400 and "Kontak #99999 tidak ada." in await unknown.text()
    assert await snapshot(site.h.runtime.sessions) == before
    async with site.h.runtime.sessions() as s:
        assert await s.scalar(select(ContactMerge)) is None

    # Merged once; merging the merged contact again, or into it, is refused.
    done = await post(site, f"/inbox/contacts/{third}/merge", {"source": str(one)}, "/inbox")
    assert done.status == 303
    merged = await snapshot(site.h.runtime.sessions)
    for target, source in ((two, one), (one, two)):
        refused = await post(
            site, f"/inbox/contacts/{target}/merge", {"source": str(source)}, "/inbox"
        )
        assert refused.status == 409
        assert "sudah digabungkan ke kontak lain" in await refused.text()
    assert await snapshot(site.h.runtime.sessions) == merged


async def test_only_secretariat_admin_and_manager_may_merge_or_undo(site: Site) -> None:
    wa = (await file(site, ChannelName.WHATSAPP, WA, "sertifikat hilang di kantor")).contact_id
    mail = (await file(site, ChannelName.EMAIL, MAIL, "laporan uji terlambat")).contact_id
    before = await snapshot(site.h.runtime.sessions)
    await site.sign_in("tono")  # an officer
    refused = await post(site, f"/inbox/contacts/{mail}/merge", {"source": str(wa)}, "/inbox")
    assert refused.status == 403 and "Peran Anda" in await refused.text()
    no_csrf = await site.client.post(
        f"/inbox/contacts/{mail}/merge", data={"source": str(wa)}, allow_redirects=False
    )
    assert no_csrf.status == 403
    assert await snapshot(site.h.runtime.sessions) == before

    site.client.session.cookie_jar.clear()
    await site.sign_in("maya")  # the quality manager may
    page = await (await site.client.get(f"/inbox/contacts/{mail}?q=Budi")).text()
    assert "Gabungkan ke kontak ini" in page
    merged = await post(site, f"/inbox/contacts/{mail}/merge", {"source": str(wa)}, "/inbox")
    assert merged.status == 303
    async with site.h.runtime.sessions() as s:
        merge = await s.scalar(select(ContactMerge))
    assert merge is not None

    site.client.session.cookie_jar.clear()
    await site.sign_in("tono")
    undo = await post(site, f"/inbox/contact-merges/{merge.id}/undo", {}, "/inbox")
    assert undo.status == 403
    async with site.h.runtime.sessions() as s:
        still = await s.get(ContactMerge, merge.id)
    assert still is not None and still.undone_at is None


async def test_officers_see_only_contacts_of_their_teams_complaints(site: Site) -> None:
    wa = await file(site, ChannelName.WHATSAPP, WA, "sertifikat hilang di kantor")
    mail = await file(site, ChannelName.EMAIL, MAIL, "laporan uji terlambat")
    async with site.h.runtime.sessions() as s, s.begin():
        complaint = await s.get(Complaint, mail.id)
        assert complaint is not None
        complaint.assignee = "rudi"  # tono's team (the officers)
    await site.sign_in("tono")
    assert (await site.client.get(f"/inbox/contacts/{wa.contact_id}")).status == 404
    page = await site.client.get(f"/inbox/contacts/{mail.contact_id}")
    body = await page.text()
    assert page.status == 200 and mail.tracking_number in body
    assert "Gabungkan kontak lain" not in body  # no merge form for an officer
    listed = await (await site.client.get("/inbox/contacts")).text()
    assert f"/inbox/contacts/{mail.contact_id}" in listed
    assert f"/inbox/contacts/{wa.contact_id}" not in listed


async def test_contact_search_and_safe_rendering(site: Site) -> None:
    await site.h.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "<x@example.com>",
            "x@example.com",
            TEXT.format(name="Budi", problem="laporan uji terlambat"),
            sender_name="<script>alert(1)</script>",
        )
    )
    await site.h.settle()
    await site.sign_in("sri")
    body = await (await site.client.get("/inbox/contacts", params={"q": "x@example"})).text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert" not in body
    contact = re.search(r'href="/inbox/contacts/(\d+)"', body)
    assert contact is not None
    page = await site.client.get(f"/inbox/contacts/{contact.group(1)}")
    assert page.status == 200 and "<script>alert" not in await page.text()
    assert (await site.client.get("/inbox/contacts/999999")).status == 404
    none = await (await site.client.get("/inbox/contacts", params={"q": "tidak-ada"})).text()
    assert "Tidak ada kontak yang cocok." in none


# --- the domain rules on SQLite and PostgreSQL ------------------------------------


async def _contact(session: AsyncSession, name: str, kind: str, address: str) -> int:
    contact = Contact(display_name=name)
    session.add(contact)
    await session.flush()
    session.add(ContactAddress(contact_id=contact.id, kind=kind, address=address))
    return contact.id


async def test_merge_and_undo_move_exactly_the_recorded_rows(
    any_sessions: SessionFactory,
) -> None:
    async with any_sessions() as s, s.begin():
        target = await _contact(s, "Budi", "email", MAIL)
        source = await _contact(s, "Budi WA", "phone", WA)
        other = await _contact(s, "Siti", "phone", "+6281399998888")
        s.add(ContactAddress(contact_id=source, kind="telegram", address="777"))
        draft = Conversation(contact_id=source, channel="whatsapp", state="collecting")
        s.add(draft)
        for contact in (source, other):
            s.add(
                Message(
                    channel="whatsapp",
                    external_id=f"m-{contact}",
                    direction="in",
                    contact_id=contact,
                    sender=WA,
                    text="halo",
                )
            )
        await s.flush()
        s.add(
            OutboxMessage(
                idempotency_key=f"k-{source}",
                contact_id=source,
                channel="whatsapp",
                recipient=WA,
                body="terima kasih",
            )
        )
    before = await snapshot(any_sessions)
    async with any_sessions() as s, s.begin():
        merge = await merge_contacts(s, target_id=target, source_id=source, actor="staff:sri")
    merged = await snapshot(any_sessions)
    assert merge.moved["contact_addresses"] == sorted(
        i for i, c in before["contact_addresses"].items() if c == source
    )
    assert len(merge.moved["contact_addresses"]) == 2
    assert merge.moved["conversations"] == [draft.id] and len(merge.moved["outbox"]) == 1
    assert merge.moved["complaints"] == []
    for key, rows in merged.items():
        assert source not in rows.values(), key
        assert [i for i, c in rows.items() if c == other] == [
            i for i, c in before[key].items() if c == other
        ]

    async with any_sessions() as s, s.begin():
        with pytest.raises(MergeRefused) as again:
            await merge_contacts(s, target_id=other, source_id=source, actor="staff:sri")
    assert again.value.code is MergeRefusal.ALREADY_MERGED

    async with any_sessions() as s, s.begin():
        undone = await undo_merge(s, merge_id=merge.id, actor="staff:maya")
    assert undone.undone_by == "staff:maya"
    assert await snapshot(any_sessions) == before
    async with any_sessions() as s, s.begin():
        with pytest.raises(MergeRefused) as twice:
            await undo_merge(s, merge_id=merge.id, actor="staff:maya")
        with pytest.raises(LookupError):
            await merge_contacts(s, target_id=target, source_id=424242, actor="staff:sri")
    assert twice.value.code is MergeRefusal.ALREADY_UNDONE
    assert await snapshot(any_sessions) == before


async def test_undo_waits_for_a_later_merge_of_the_target(any_sessions: SessionFactory) -> None:
    async with any_sessions() as s, s.begin():
        first = await _contact(s, "A", "email", "a@example.com")
        second = await _contact(s, "B", "email", "b@example.com")
        third = await _contact(s, "C", "email", "c@example.com")
    async with any_sessions() as s, s.begin():
        inner = await merge_contacts(s, target_id=second, source_id=first, actor="staff:sri")
        await merge_contacts(s, target_id=third, source_id=second, actor="staff:sri")
    before = await snapshot(any_sessions)
    async with any_sessions() as s, s.begin():
        with pytest.raises(MergeRefused) as refused:
            await undo_merge(s, merge_id=inner.id, actor="staff:sri")
    assert refused.value.code is MergeRefusal.TARGET_MERGED
    assert await snapshot(any_sessions) == before


async def test_a_merge_waits_for_message_processing_of_either_contact(
    any_sessions: SessionFactory,
) -> None:
    """The per-contact processing lease (gateway/processor.py) excludes a merge."""
    assert await leases.acquire(any_sessions, lease_name(7), "processor-1", 30)
    with pytest.raises(MergeRefused) as busy:
        async with processing_paused(any_sessions, (3, 7), holder="h", wait_seconds=0.3):
            pytest.fail("entered while a processor held contact 7")
    assert busy.value.code is MergeRefusal.BUSY
    # Nothing of ours is left behind: the processor's lease is intact, 3 is free.
    assert await leases.acquire(any_sessions, lease_name(3), "processor-2", 30)
    await leases.release(any_sessions, lease_name(3), "processor-2")
    await leases.release(any_sessions, lease_name(7), "processor-1")
    async with processing_paused(any_sessions, (3, 7), holder="h", wait_seconds=0.3):
        # While paused, a processor cannot take either contact.
        assert not await leases.acquire(any_sessions, lease_name(7), "processor-1", 30)
    assert await leases.acquire(any_sessions, lease_name(7), "processor-1", 30)
