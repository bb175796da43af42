"""Export and erasure of a complainant's personal data (docs/privacy.md), on
SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import io
import json
import zipfile

from sqlalchemy import func, select

from channels.base import ChannelName
from gateway.register import register_rows
from handlers.contacts import processing_paused
from handlers.privacy import (
    PLACEHOLDER,
    erase_contact,
    export_contact,
    export_json,
    export_zip,
)
from storage.models import (
    Complaint,
    ComplaintEvent,
    Contact,
    ContactAddress,
    OutboxMessage,
    PersonalDataAudit,
)
from tests.fakes import inbound
from tests.privacy.conftest import (
    CUSTOMER,
    FILE_BYTES,
    FILENAME,
    MAIL,
    NAME,
    PHONE,
    PROBLEM,
    WA_PROBLEM,
    Filed,
    personal_data_left,
)


async def test_export_holds_everything_of_the_contact(filed: Filed) -> None:
    async with filed.h.runtime.work() as session:
        export = await export_contact(session, filed.contact_id, actor="staff:admin")
    document = json.loads(export_json(export))
    assert document["contact"]["id"] == filed.contact_id
    assert [c["id"] for c in document["merged_contacts"]] != []
    assert {a["address"] for a in document["addresses"]} == {MAIL, PHONE}
    problems = {c["problem"] for c in document["complaints"]}
    assert problems == {PROBLEM, WA_PROBLEM}
    assert {c["complainant_name"] for c in document["complaints"]} == {NAME}
    assert all(c["tracking_number"].startswith("ADU-") for c in document["complaints"])
    kinds = {e["kind"] for e in document["complaint_events"]}
    assert {"registered", "contact_merged"} <= kinds
    inbound_mail = [
        m for m in document["messages"] if m["channel"] == "email" and m["direction"] == "in"
    ]
    assert inbound_mail and "rfc822_b64" in inbound_mail[0]["raw"]
    assert any(m["text"] == "ya" for m in document["messages"])
    [attachment] = document["attachments"]
    assert attachment["filename"] == FILENAME
    assert base64.b64decode(attachment["content_base64"]) == FILE_BYTES
    assert document["outbox"] and all(o["recipient"] in (MAIL, PHONE) for o in document["outbox"])
    assert len(document["merges"]) == 1

    archive = zipfile.ZipFile(io.BytesIO(export_zip(export)))
    assert archive.read(attachment["file"]) == FILE_BYTES
    assert json.loads(archive.read("data.json"))["complaints"] == document["complaints"]

    async with filed.h.runtime.sessions() as session:
        [audit] = list(await session.scalars(select(PersonalDataAudit)))
    assert (audit.action, audit.actor, audit.contact_id) == (
        "export",
        "staff:admin",
        filed.contact_id,
    )
    assert audit.counts["complaints"] == 2 and audit.counts["attachments"] == 1


async def test_erase_leaves_no_personal_data_and_the_register_counts(filed: Filed) -> None:
    h = filed.h
    assert await personal_data_left(h)  # the search finds what is there
    async with processing_paused(h.runtime.sessions, (filed.contact_id,), holder="test"):
        async with h.runtime.work() as session:
            counts = await erase_contact(session, filed.contact_id, actor="cli:root")
    assert counts["complaints"] == 2 and counts["contact_addresses"] == 2
    assert counts["attachments"] == 1 and counts["messages"] >= 4

    assert await personal_data_left(h) == []

    # The register keeps both complaints: numbers, channels, dates, statuses.
    rows = await register_rows(h.runtime.sessions, h.runtime.profile)
    assert len(rows) == 2
    assert {r.channel for r in rows} == {"email", "whatsapp"}
    assert {r.complainant_name for r in rows} == {PLACEHOLDER}
    assert all(r.tracking_number.startswith("ADU-") and r.status == "received" for r in rows)
    async with h.runtime.sessions() as session:
        complaints = list(await session.scalars(select(Complaint)))
        assert all(c.personal_data_erased_at is not None for c in complaints)
        assert all(c.received_at is not None for c in complaints)
        kinds = set(await session.scalars(select(ComplaintEvent.kind)))
        assert {"registered", "contact_merged"} <= kinds
        contact = await session.get(Contact, filed.contact_id)
        assert contact is not None and contact.erased_at is not None
        unsent = await session.scalar(
            select(func.count()).where(OutboxMessage.status.in_(["pending", "sending"]))
        )
        assert unsent == 0
        [audit] = list(await session.scalars(select(PersonalDataAudit)))
    assert (audit.action, audit.actor) == ("erase", "cli:root")
    assert all(isinstance(v, int) for v in audit.counts.values())

    # The export now holds only placeholders.
    async with h.runtime.work() as session:
        document = json.loads(
            export_json(await export_contact(session, filed.contact_id, actor="t"))
        )
    assert document["addresses"] == []
    assert {c["customer_name"] for c in document["complaints"]} == {PLACEHOLDER}
    assert CUSTOMER not in json.dumps(document, ensure_ascii=False)

    # The same number writing again is a new contact.
    await h.runtime.accept(inbound(ChannelName.WHATSAPP, "wa-again", PHONE, "halo"))
    await h.settle()
    async with h.runtime.sessions() as session:
        owner = await session.scalar(
            select(ContactAddress.contact_id).where(ContactAddress.address == PHONE)
        )
    assert owner is not None and owner != filed.contact_id


async def test_erase_is_idempotent(filed: Filed) -> None:
    h = filed.h
    async with h.runtime.work() as session:
        await erase_contact(session, filed.contact_id, actor="staff:admin")
    async with h.runtime.sessions() as session:
        before = [
            (c.id, c.complainant_name, c.personal_data_erased_at)
            for c in await session.scalars(select(Complaint).order_by(Complaint.id))
        ]
    async with h.runtime.work() as session:
        again = await erase_contact(session, filed.contact_id, actor="staff:admin")
    assert again["contact_addresses"] == 0
    async with h.runtime.sessions() as session:
        after = [
            (c.id, c.complainant_name, c.personal_data_erased_at)
            for c in await session.scalars(select(Complaint).order_by(Complaint.id))
        ]
        audits = list(await session.scalars(select(PersonalDataAudit.action)))
    assert after == before
    assert audits == ["erase", "erase"]
    assert await personal_data_left(h) == []
