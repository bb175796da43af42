"""BBSPJIKFK 5.1.11 step 6: an appeal within 15 days of the result, whatever
the complaint's later state (step 6 informs and archives together); refusals
give the true reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from channels.base import ChannelName
from handlers.appeals import AppealRefusal, OpenResult, open_appeal
from storage.models import Appeal, Complaint, ComplaintEvent
from tests.fakes import inbound
from tests.intake.test_appeals import assert_refused_as_late
from tests.intake.test_profiles import WALKS, Step, act
from tests.runtime_fixtures import Harness, staffed

PHONE = "+6281234567890"


@pytest.fixture
async def kfk(tmp_path: Path) -> AsyncIterator[Harness]:
    """A runtime on the BBSPJIKFK profile with one staff user per role."""
    async with staffed(tmp_path, "bbspjikfk") as h:
        yield h


async def sms(h: Harness, external_id: str, text: str) -> None:
    await h.runtime.accept(inbound(ChannelName.SMS, external_id, PHONE, text))
    await h.settle()


async def file_by_sms(h: Harness) -> Complaint | None:
    """A complaint filed and confirmed by SMS (5.1.11 steps 1-2); the one in the database."""
    profile = h.runtime.profile
    values = {
        "complainant_name": "Budi Santoso",
        "customer_name": "PT Sinar Jaya",
        "problem": "Laporan hasil uji kadar air kami terlambat dua minggu dari jadwal.",
    }
    await sms(h, "f1", "\n".join(f"{profile.field(k).label.id}: {v}" for k, v in values.items()))
    await sms(h, "f2", "ya")
    async with h.runtime.sessions() as s:
        return await s.scalar(select(Complaint))


async def result_given(h: Harness, *, archive: bool) -> tuple[Complaint, datetime]:
    """A complaint filed by SMS and taken through 5.1.11 steps 2-6; with
    ``archive`` also archived (step 6: inform and archive). Returns it and
    the moment the result was given (the move into ``closed``)."""
    complaint = await file_by_sms(h)
    assert complaint is not None and complaint.channel == "sms"
    for step in WALKS["bbspjikfk"].steps:
        complaint = await act(h, complaint.id, step)
    if archive:
        complaint = await act(h, complaint.id, Step("archive", "pjtk_staff", "archived", None))
    assert complaint.status == ("archived" if archive else "closed")
    async with h.runtime.sessions() as s:
        given = await s.scalar(
            select(ComplaintEvent.at).where(
                ComplaintEvent.complaint_id == complaint.id,
                ComplaintEvent.to_status == "closed",
            )
        )
    assert given is not None
    return complaint, given


async def appeal_at(
    h: Harness, complaint: Complaint, now: datetime, *, opened_by: str = "complainant:sms"
) -> OpenResult:
    """Open an appeal on ``complaint`` at ``now`` through the handler; its
    notice goes through the outbox to the complainant's channel (SMS here)."""
    async with h.runtime.work() as s:
        fresh = await s.get(Complaint, complaint.id)
        assert fresh is not None
        result = await open_appeal(
            s,
            profile=h.runtime.profile,
            writer=h.runtime.writer,
            complaint=fresh,
            reason="Hasil penyelesaian tidak sesuai dengan data kami.",
            opened_by=opened_by,
            enabled_channels=h.runtime.channels.keys(),
            now=now,
        )
    await h.settle()
    return result


async def test_appeal_by_sms_five_days_after_the_archived_result_is_accepted(
    kfk: Harness,
) -> None:
    h = kfk
    complaint, given = await result_given(h, archive=True)
    # The result was given five days ago (the complaint archived since).
    async with h.runtime.sessions() as s, s.begin():
        for status, at in (
            ("closed", given - timedelta(days=5)),
            ("archived", given - timedelta(days=5, minutes=-1)),
        ):
            await s.execute(
                update(ComplaintEvent)
                .where(
                    ComplaintEvent.complaint_id == complaint.id,
                    ComplaintEvent.to_status == status,
                )
                .values(at=at)
            )
    await sms(h, "appeal", f"BANDING {complaint.tracking_number} hasil tidak sesuai data kami")
    assert h.sms.sent[-1].recipient == PHONE
    assert "Banding atas keluhan" in h.sms.sent[-1].text
    assert "telah kami terima" in h.sms.sent[-1].text
    async with h.runtime.sessions() as s:
        appeal = await s.scalar(select(Appeal))
        fresh = await s.get(Complaint, complaint.id)
    assert appeal is not None and appeal.complaint_id == complaint.id
    assert appeal.opened_by == "complainant:sms" and appeal.reason == "hasil tidak sesuai data kami"
    assert fresh is not None and fresh.status == "archived"


async def test_appeal_sixteen_days_after_the_result_is_refused_with_the_date_it_passed(
    kfk: Harness,
) -> None:
    h = kfk
    complaint, given = await result_given(h, archive=True)
    result = await appeal_at(h, complaint, given + timedelta(days=16))
    assert result.appeal is None and result.refusal is AppealRefusal.WINDOW_PASSED
    deadline = (given + timedelta(days=15)).astimezone(ZoneInfo(h.runtime.profile.office.timezone))
    day = deadline.strftime("%d-%m-%Y %H:%M")
    assert result.reason is not None and day in result.reason
    text = h.sms.sent[-1].text
    assert h.sms.sent[-1].recipient == PHONE
    assert "batas waktu banding 15 hari sejak hasil diterima telah lewat pada" in text
    assert day in text and "belum disampaikan" not in text
    await assert_refused_as_late(h)


async def test_closed_but_not_archived_is_accepted_within_the_window(kfk: Harness) -> None:
    h = kfk
    complaint, given = await result_given(h, archive=False)
    result = await appeal_at(h, complaint, given + timedelta(days=5))
    assert result.appeal is not None and result.refusal is None
    assert "telah kami terima" in h.sms.sent[-1].text


async def test_last_day_of_the_window_is_accepted(kfk: Harness) -> None:
    h = kfk
    complaint, given = await result_given(h, archive=True)
    result = await appeal_at(h, complaint, given + timedelta(days=15))
    assert result.appeal is not None


async def test_no_result_ever_given_is_the_only_not_yet_reason(kfk: Harness) -> None:
    """Rejected before any result: the reason is that no result was given,
    never that the window passed (and the other way round above)."""
    h = kfk
    complaint = await file_by_sms(h)
    assert complaint is not None
    result = await appeal_at(h, complaint, complaint.received_at + timedelta(days=40))
    assert result.refusal is AppealRefusal.NO_RESULT_YET
    assert "hasil penanganan belum disampaikan" in h.sms.sent[-1].text
