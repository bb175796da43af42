"""The report queries on both databases: SQLite (the embedded default) and
PostgreSQL (scale-out) give the same register and recap."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gateway.queries.complaint_list import VisibilityRule
from gateway.reports.period import Period
from gateway.reports.recap import StepTiming, Tally, build_recap
from gateway.reports.register import count_entries, register_entries
from handlers.profile import Profile
from storage.db import SessionFactory
from storage.models import Complaint, ComplaintEvent, Contact
from tests.inbox.reports_seed import wib

PERIOD = Period(date(2026, 11, 1), date(2026, 11, 30), "Asia/Jakarta")


def _complaint(contact: Contact, number: int, received: datetime, **values: object) -> Complaint:
    return Complaint(
        tracking_number=f"ADU-2026-{number:05d}",
        contact_id=contact.id,
        channel=values.pop("channel", "email"),
        contact_address=f"p{number}@example.com",
        complainant_name=f"Pengadu {number}",
        customer_name="PT Sinar Jaya",
        problem="laporan hasil uji terlambat",
        received_at=received,
        received_by="channel:email",
        **values,
    )


def _move(complaint: Complaint, at: datetime, before: str, after: str) -> ComplaintEvent:
    return ComplaintEvent(
        complaint_id=complaint.id,
        at=at,
        actor="staff:sri",
        kind="transition",
        from_status=before,
        to_status=after,
        data={},
    )


async def test_register_and_recap_queries(any_sessions: SessionFactory, profile: Profile) -> None:
    async with any_sessions() as s, s.begin():
        contact = Contact(display_name="Pengadu")
        s.add(contact)
        await s.flush()
        # Received 1 Nov 00:30 WIB = 31 Oct 17:30 UTC: inside the period by office time.
        first = _complaint(
            contact,
            1,
            wib(11, 1, 0, 30),
            status="archived",
            category="technical",
            assignee="tono",
            satisfaction=4,
            satisfaction_at=wib(11, 3, 8, 0),
        )
        second = _complaint(contact, 2, wib(11, 30, 23, 50), channel="sms", status="received")
        outside = _complaint(contact, 3, wib(12, 1, 0, 0))
        s.add_all([first, second, outside])
        await s.flush()
        s.add_all(
            [
                _move(first, wib(11, 1, 0, 40), "received", "rejected"),  # 10 min: on time
                _move(first, wib(11, 2, 9, 0), "rejected", "archived"),  # archiving is not closing
            ]
        )
    async with any_sessions() as s:
        entries = await register_entries(s, profile=profile, period=PERIOD)
        assert [e.tracking_number for e in entries] == ["ADU-2026-00001", "ADU-2026-00002"]
        assert entries[0].closed_at == datetime(2026, 10, 31, 17, 40, tzinfo=UTC)
        assert entries[1].closed_at is None
        assert await count_entries(s, period=PERIOD) == 2
        team = VisibilityRule(assignee_in=frozenset({"tono"}))
        assert [
            e.tracking_number
            for e in await register_entries(s, profile=profile, period=PERIOD, visible=team)
        ] == ["ADU-2026-00001"]
        recap = await build_recap(s, profile=profile, period=PERIOD)
        limited = await build_recap(s, profile=profile, period=PERIOD, visible=team)
    assert recap.received == 2
    assert recap.by_channel == (Tally("email", 1), Tally("sms", 1))
    assert [(t.key, t.count) for t in recap.by_status if t.count] == [
        ("received", 1),
        ("archived", 1),
    ]
    assert recap.steps[0] == StepTiming("received", left=1, on_time=1)
    assert recap.close_times.count == 1
    assert recap.close_times.mean_hours == pytest.approx(10 / 60)
    assert recap.close_times.p90_working_days == 0
    assert recap.satisfaction.distribution == (0, 0, 0, 1, 0)
    assert limited.received == 1 and limited.by_channel == (Tally("email", 1),)
