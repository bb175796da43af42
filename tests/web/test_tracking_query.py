"""The tracking read (gateway/queries/tracking.py): shown only to the complainant's contact."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from channels.base import ChannelName
from gateway.ingest import ingest_batch
from gateway.queries.tracking import track
from gateway.runtime import InProcessRuntime, Runtime
from storage.models import Complaint
from tests.fakes import inbound
from tests.runtime_fixtures import COMPLETE_COMPLAINT


@pytest.fixture
async def filed(runtime: InProcessRuntime) -> AsyncIterator[tuple[Runtime, Complaint]]:
    """A complaint filed by email from budi@example.com and registered."""
    try:
        # Stored without asking the job runner, then processed here.
        (stored,) = await ingest_batch(
            runtime.sessions,
            [inbound(ChannelName.EMAIL, "track-1", "budi@example.com", COMPLETE_COMPLAINT)],
        )
        assert await runtime.processor.process_contact(stored.contact_id) == 1
        async with runtime.sessions() as session:
            complaint = await session.scalar(select(Complaint))
        assert complaint is not None
        yield runtime, complaint
    finally:
        await runtime.close()


async def test_the_complainants_contact_sees_the_complaint(
    filed: tuple[Runtime, Complaint],
) -> None:
    runtime, complaint = filed
    view = await track(
        runtime.sessions, runtime.profile, complaint.tracking_number, "budi@example.com"
    )
    assert view is not None
    assert view.tracking == complaint.tracking_number
    assert view.status == complaint.status
    assert view.received_at == complaint.received_at
    assert view.updated_at >= complaint.received_at
    assert view.appeal is None


async def test_another_contact_and_an_unknown_number_get_the_same_none(
    filed: tuple[Runtime, Complaint],
) -> None:
    runtime, complaint = filed
    assert (
        await track(
            runtime.sessions, runtime.profile, complaint.tracking_number, "siti@example.com"
        )
        is None
    )
    unknown = complaint.tracking_number[:-5] + "99999"
    assert await track(runtime.sessions, runtime.profile, unknown, "budi@example.com") is None
