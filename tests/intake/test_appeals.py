"""Appeals (banding): the window, the panel of three with one chair, impartiality,
no member who handled the complaint, a final decision (docs/appeals.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from channels.base import ChannelName
from handlers.appeals import AppealRefusal, AppealRefused
from storage.models import Appeal, Complaint, ComplaintEvent
from storage.types import utcnow
from tests.fakes import inbound
from tests.intake.appeal_steps import decide_only_appeal, only_appeal, seat_member
from tests.intake.test_workflow import BAYU, CAPA, SRI, TONO, act, filed
from tests.runtime_fixtures import Harness, add_staff

DECLARATION = "Saya menyatakan tidak memiliki kepentingan dalam perselisihan ini."


async def closed_complaint(h: Harness) -> Complaint:
    complaint = await filed(h)
    await act(h, complaint.id, "verify", SRI)
    await act(h, complaint.id, "route", BAYU, category="technical", assignee="tono")
    await act(h, complaint.id, "record_capa", TONO, capa=CAPA)
    await act(h, complaint.id, "verify_result", SRI, result="Laporan diterbitkan ulang.")
    return await act(h, complaint.id, "close", SRI)


async def appeal_by_email(h: Harness, complaint: Complaint, message_id: str) -> None:
    await h.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            message_id,
            "budi@example.com",
            f"BANDING {complaint.tracking_number}\nHasilnya tidak sesuai dengan data kami.",
        )
    )
    await h.settle()


async def seat(
    h: Harness,
    complaint: Complaint,
    username: str,
    chair: bool = False,
    declaration: str = DECLARATION,
) -> None:
    assert (await only_appeal(h.runtime.sessions)).complaint_id == complaint.id
    await seat_member(
        h, username, declaration=declaration, role="manager", actor="staff:mira", chair=chair
    )


async def decide(h: Harness, complaint: Complaint, chair: str) -> None:
    assert (await only_appeal(h.runtime.sessions)).complaint_id == complaint.id
    await decide_only_appeal(
        h, decision="Banding ditolak; hasil uji sudah sesuai metode.", chair=chair
    )


async def test_appeal_path_from_the_complainants_channel_to_a_final_decision(
    harness: Harness,
) -> None:
    h = harness
    complaint = await closed_complaint(h)
    await add_staff(
        h.runtime.sessions, dict.fromkeys(("ani", "dedi", "eka", "fajar"), "appeal_panel")
    )

    await appeal_by_email(h, complaint, "appeal-1@x")
    assert (
        "Banding atas pengaduan" in h.email.sent[-1].text
        and "telah kami terima" in h.email.sent[-1].text
    )
    async with h.runtime.sessions() as s:
        appeal = await s.scalar(select(Appeal))
    assert appeal is not None and appeal.reason == "Hasilnya tidak sesuai dengan data kami."
    assert appeal.opened_by == "complainant:email"

    # Whoever handled the complaint may not sit on the panel.
    for involved in ("sri", "tono", "bayu"):
        with pytest.raises(AppealRefused) as refused:
            await seat(h, complaint, involved)
        assert refused.value.code is AppealRefusal.INVOLVED
    with pytest.raises(AppealRefused) as refused:
        await seat(h, complaint, "ani", declaration="  ")
    assert refused.value.code is AppealRefusal.NO_DECLARATION

    await seat(h, complaint, "ani", chair=True)
    with pytest.raises(AppealRefused) as refused:
        await seat(h, complaint, "dedi", chair=True)
    assert refused.value.code is AppealRefusal.SECOND_CHAIR
    await seat(h, complaint, "dedi")
    with pytest.raises(AppealRefused) as refused:  # a panel of two cannot decide
        await decide(h, complaint, "ani")
    assert refused.value.code is AppealRefusal.PANEL_INCOMPLETE
    await seat(h, complaint, "eka")
    with pytest.raises(AppealRefused) as refused:
        await seat(h, complaint, "fajar")
    assert refused.value.code is AppealRefusal.PANEL_FULL

    with pytest.raises(AppealRefused) as refused:
        await decide(h, complaint, "dedi")
    assert refused.value.code is AppealRefusal.NOT_CHAIR
    await decide(h, complaint, "ani")
    assert "Keputusan Tim Penyelesaian Banding" in h.email.sent[-1].text
    assert "bersifat akhir" in h.email.sent[-1].text

    # The decision is final: a second appeal is refused, with the reason sent.
    await appeal_by_email(h, complaint, "appeal-2@x")
    assert (
        "tidak dapat diterima" in h.email.sent[-1].text
        and "bersifat akhir" in h.email.sent[-1].text
    )
    async with h.runtime.sessions() as s:
        kinds = list(
            await s.scalars(
                select(ComplaintEvent.kind)
                .where(ComplaintEvent.kind.like("appeal%"))
                .order_by(ComplaintEvent.id)
            )
        )
    assert kinds == ["appeal_opened"] + ["appeal_panel_member_added"] * 3 + [
        "appeal_decided",
        "appeal_refused",
    ]


async def test_appeal_after_the_window_is_refused_and_the_complainant_told_why(
    harness: Harness,
) -> None:
    h = harness
    complaint = await closed_complaint(h)
    async with h.runtime.sessions() as s, s.begin():
        await s.execute(
            update(ComplaintEvent)
            .where(ComplaintEvent.to_status == "closed")
            .values(at=utcnow() - timedelta(days=16))
        )
    await appeal_by_email(h, complaint, "late@x")
    assert "batas waktu banding 15 hari sejak hasil diterima telah lewat" in h.email.sent[-1].text
    await assert_refused_as_late(h)


async def assert_refused_as_late(h: Harness) -> None:
    """No appeal was opened and the refusal recorded says the window had passed."""
    async with h.runtime.sessions() as s:
        assert await s.scalar(select(Appeal)) is None
        refused = await s.scalar(
            select(ComplaintEvent).where(ComplaintEvent.kind == "appeal_refused")
        )
    assert refused is not None and refused.data["code"] == "window_passed"


async def test_no_appeal_before_the_result(harness: Harness) -> None:
    h = harness
    complaint = await filed(h)
    await appeal_by_email(h, complaint, "early@x")
    assert "hasil penanganan belum disampaikan" in h.email.sent[-1].text


async def test_last_seat_goes_to_the_chair(harness: Harness) -> None:
    h = harness
    complaint = await closed_complaint(h)
    await add_staff(h.runtime.sessions, dict.fromkeys(("ani", "dedi", "eka"), "appeal_panel"))
    await appeal_by_email(h, complaint, "a@x")
    await seat(h, complaint, "ani")
    await seat(h, complaint, "dedi")
    with pytest.raises(AppealRefused) as refused:
        await seat(h, complaint, "eka")
    assert refused.value.code is AppealRefusal.CHAIR_MISSING


async def test_a_stranger_cannot_appeal_someone_elses_complaint(harness: Harness) -> None:
    h = harness
    complaint = await closed_complaint(h)
    await h.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "eve@x",
            "eve@example.com",
            f"banding {complaint.tracking_number} saya tidak terima",
        )
    )
    await h.settle()
    assert (
        h.email.sent[-1].recipient == "eve@example.com"
        and "tidak ditemukan" in h.email.sent[-1].text
    )
    async with h.runtime.sessions() as s:
        assert await s.scalar(select(Appeal)) is None
