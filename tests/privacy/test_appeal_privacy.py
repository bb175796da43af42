"""Personal data of an appeal made without a complaint (PR-LS-8.1.4 step 1)
reaches export, erasure and contact merges like a complaint's (docs/privacy.md)."""

from __future__ import annotations

import json

from sqlalchemy import select

from channels.base import ChannelName
from handlers.contacts import merge_contacts, processing_paused, undo_merge
from handlers.privacy import PLACEHOLDER, erase_contact, export_contact, export_json
from storage.models import Appeal, AppealEvent, ContactAddress
from tests.fakes import inbound
from tests.intake.test_standalone_appeals import (
    BUDI,
    DECISION,
    REASON,
    appeal_by_email,
    pontianak,  # noqa: F401 - the fixture
)
from tests.privacy.conftest import personal_data_left
from tests.runtime_fixtures import Harness

PHONE = "+6281255501234"


async def contact_of(h: Harness, address: str) -> int:
    async with h.runtime.sessions() as session:
        contact_id = await session.scalar(
            select(ContactAddress.contact_id).where(ContactAddress.address == address)
        )
    assert contact_id is not None
    return int(contact_id)


async def test_a_standalone_appeal_is_exported_and_erased_with_its_appellant(
    pontianak: Harness,  # noqa: F811 - the fixture imported above
) -> None:
    h = pontianak
    appeal = await appeal_by_email(h)
    assert appeal.complaint_id is None and appeal.appellant_name == "Budi Santoso"
    contact_id = await contact_of(h, BUDI)
    assert appeal.contact_id == contact_id

    async with h.runtime.work() as session:
        document = json.loads(
            export_json(await export_contact(session, contact_id, actor="staff:admin"))
        )
    [exported] = document["appeals"]
    assert exported["id"] == appeal.id and exported["contested_decision"] == DECISION
    assert exported["reason"] == REASON and exported["address"] == BUDI
    assert document["appeal_events"] and all(
        e["appeal_id"] == appeal.id for e in document["appeal_events"]
    )

    originals = ("Budi Santoso", DECISION, REASON, BUDI)
    assert await personal_data_left(h, originals)  # the search finds what is there
    async with processing_paused(h.runtime.sessions, (contact_id,), holder="test"):
        async with h.runtime.work() as session:
            counts = await erase_contact(session, contact_id, actor="cli:root")
    assert counts["appeals"] == 1
    assert await personal_data_left(h, originals) == []
    async with h.runtime.sessions() as session:
        erased = await session.get(Appeal, appeal.id)
        assert erased is not None
        assert (erased.appellant_name, erased.address, erased.reason) == (PLACEHOLDER,) * 3
        assert erased.contested_decision == PLACEHOLDER
        # The register of appeals keeps the row, its reference and its history's steps.
        assert erased.reference == appeal.reference
        kinds = list(await session.scalars(select(AppealEvent.kind)))
    assert kinds


async def test_a_merge_moves_the_appeal_and_its_undo_moves_it_back(
    pontianak: Harness,  # noqa: F811 - the fixture imported above
) -> None:
    h = pontianak
    appeal = await appeal_by_email(h)
    await h.runtime.accept(inbound(ChannelName.SMS, "s-1", PHONE, "halo"))
    await h.settle()
    mail, phone = await contact_of(h, BUDI), await contact_of(h, PHONE)
    async with h.runtime.work() as session:
        merge = await merge_contacts(session, target_id=phone, source_id=mail, actor="staff:sri")
    assert merge.moved["appeals"] == [appeal.id]
    async with h.runtime.sessions() as session:
        moved = await session.get(Appeal, appeal.id)
        assert moved is not None and moved.contact_id == phone
    async with h.runtime.work() as session:
        await undo_merge(session, merge_id=merge.id, actor="staff:sri")
    async with h.runtime.sessions() as session:
        back = await session.get(Appeal, appeal.id)
        assert back is not None and back.contact_id == mail
