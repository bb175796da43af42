"""Time standards of the appeal steps (BSPJI Pontianak PR-LS-8.1.4 steps 4-5):
forming the panel in 1 day, its decision in 1 day, one reminder and one
escalation per step, never twice, also when sweeps run at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from channels.base import ChannelName
from handlers.appeal_standards import sweep_appeal_standards
from handlers.appeal_steps import complete_step
from handlers.appeals import AppealProgress, appeal_progress
from handlers.profile import Profile, load_profile
from handlers.workflow import Actor
from storage.db import SessionFactory
from storage.models import (
    Appeal,
    AppealStatus,
    Complaint,
    ComplaintEvent,
    Contact,
)
from tests.fakes import inbound
from tests.intake.appeal_steps import decide_only_appeal, seat_member
from tests.office_clock import office_after, office_before
from tests.runtime_fixtures import Harness, staffed

PONTIANAK = "bspji_pontianak"
ZONE = ZoneInfo("Asia/Pontianak")
DECLARATION = "Saya menyatakan tidak berpihak dan tidak terlibat dalam perselisihan ini."
CAPA = {
    "cause": "Kalibrasi neraca terlambat",
    "correction": "Pengujian diulang dengan neraca terkalibrasi",
    "corrective_action": "Jadwal kalibrasi dipantau bulanan",
    "preventive_action": "Pengingat kalibrasi otomatis",
    "owner": "technical_in_charge",
    "due_date": "2026-12-01",
}
#: Staff of the office (username = role) and three independent panel members.
STAFF = {
    "customer_service": "customer_service",
    "technical_in_charge": "technical_in_charge",
    "head_of_office": "head_of_office",
    "ani": "appeal_panel",
    "dedi": "appeal_panel",
    "eka": "appeal_panel",
}


@pytest.fixture
async def pontianak(tmp_path: Path) -> AsyncIterator[Harness]:
    """A runtime on the BSPJI Pontianak profile with its staff."""
    async with staffed(tmp_path, PONTIANAK, STAFF) as h:
        yield h


async def closed_complaint(h: Harness) -> Complaint:
    """A complaint filed by e-mail and taken through PR-LS-8.1.4 steps 1-3 and 5."""
    values = {
        "complainant_name": "Budi Santoso",
        "customer_name": "PT Sinar Jaya",
        "problem": "Laporan hasil uji kadar air tidak sesuai dengan hasil laboratorium kami.",
    }
    complaint = await h.file_labelled("c@x", values)
    cs = Actor("customer_service", "customer_service")
    pjt = Actor("technical_in_charge", "technical_in_charge")
    for name, actor, data in (
        ("identify", cs, {"note": "Keluhan benar: laporan memakai data contoh lain."}),
        ("refer", cs, {"complaint_type": "testing", "assignee": "technical_in_charge"}),
        ("report_nonconformity", pjt, {"nonconformity": "LK-2026-007", "capa": CAPA}),
        ("close", cs, {"result": "Pengujian diulang; laporan diterbitkan ulang."}),
    ):
        complaint = await h.runtime.transition(complaint.id, name, actor, data)
        await h.settle()
    assert complaint.status == "closed"
    return complaint


async def appeal_by_email(h: Harness, complaint: Complaint) -> Appeal:
    """The complainant appeals with BANDING on their channel; the opened appeal."""
    await h.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "banding@x",
            "budi@example.com",
            f"BANDING {complaint.tracking_number}\nHasil ulang masih tidak sesuai.",
        )
    )
    await h.settle()
    opened = await current_appeal(h)
    return await through_pre_panel_steps(h, opened.opened_at)


async def through_pre_panel_steps(h: Harness, at: datetime) -> Appeal:
    """PR-LS-8.1.4 steps 1-2 on the appeal, all at ``at``: identify, record its
    type and subject (testing: the panel members' role is competent), pass on."""
    for step, data in (
        ("identify", {"note": "Banding atas hasil uji ulang; data klien cocok."}),
        ("record_type", {"appeal_type": "testing_result", "subject": "testing"}),
        ("pass_on", {"passed_to": "head_of_office"}),
    ):
        await record_step(h, step, "customer_service", at, **data)
    return await current_appeal(h)


async def record_step(h: Harness, name: str, role: str, at: datetime, **data: Any) -> Appeal:
    """Record step ``name`` of the only appeal as ``staff:<role>`` at ``at``; the appeal after."""
    async with h.runtime.sessions() as s, s.begin():
        appeal = await s.scalar(select(Appeal))
        assert appeal is not None
        await complete_step(
            s,
            profile=h.runtime.profile,
            appeal=appeal,
            step=name,
            actor=f"staff:{role}",
            actor_role=role,
            now=at,
            **data,
        )
    return await current_appeal(h)


async def current_appeal(h: Harness) -> Appeal:
    async with h.runtime.sessions() as s:
        appeal = await s.scalar(select(Appeal))
    assert appeal is not None
    return appeal


async def seat(h: Harness, username: str, at: datetime, *, chair: bool = False) -> Appeal:
    """Seat ``username`` on the panel at ``at``; the appeal afterwards."""
    return await seat_member(
        h, username, declaration=DECLARATION, role="head_of_office", chair=chair, now=at
    )


async def decide(h: Harness, at: datetime) -> Appeal:
    return await decide_only_appeal(
        h,
        decision="Banding diterima sebagian; pengujian ketiga oleh analis lain.",
        chair="ani",
        now=at,
    )


async def progress_of(h: Harness, profile: Profile, complaint_id: int) -> AppealProgress:
    """The appeal's progress as the complaint page shows it (must exist)."""
    async with h.runtime.sessions() as s:
        fresh = await s.get(Complaint, complaint_id)
        assert fresh is not None
        progress = await appeal_progress(s, profile=profile, complaint=fresh)
    assert progress is not None
    return progress


async def sweep(sessions: SessionFactory, profile: Profile, at: datetime) -> dict[str, int]:
    async with sessions() as s, s.begin():
        return await sweep_appeal_standards(s, profile=profile, now=at)


async def step_events(sessions: SessionFactory) -> list[ComplaintEvent]:
    async with sessions() as s:
        return list(
            await s.scalars(
                select(ComplaintEvent)
                .where(ComplaintEvent.kind.like("appeal_step_%"))
                .order_by(ComplaintEvent.id)
            )
        )


def test_pontianak_gives_each_appeal_step_one_working_day() -> None:
    """PR-LS-8.1.4 steps 4-5 say "1 hari", read like the profile's other "hari"
    (``office.day_count: working_days``): a panel formed from a Friday
    morning is due on Monday at the same time; one started after Friday's
    closing counts from Monday's opening."""
    profile = load_profile(PONTIANAK)
    assert profile.appeal is not None
    panel, decision = profile.appeal.panel_standard, profile.appeal.decision_standard
    assert panel is not None and decision is not None
    assert (panel.amount, panel.unit) == (decision.amount, decision.unit) == (1, "days")
    calendar = profile.office.calendar()
    friday = datetime(2026, 5, 8, 10, 15, tzinfo=ZONE)
    assert panel.due(friday, calendar) == datetime(2026, 5, 11, 10, 15, tzinfo=ZONE)
    evening = datetime(2026, 5, 8, 16, 30, tzinfo=ZONE)
    assert panel.due(evening, calendar) == datetime(2026, 5, 12, 7, 30, tzinfo=ZONE)


async def test_opening_starts_the_panel_step_and_the_full_panel_the_decision_step(
    pontianak: Harness,
) -> None:
    h = pontianak
    profile = h.runtime.profile
    complaint = await closed_complaint(h)
    appeal = await appeal_by_email(h, complaint)
    opened = appeal.opened_at
    calendar = profile.office.calendar()
    assert profile.appeal is not None and profile.appeal.panel_standard is not None
    one_day = profile.appeal.panel_standard
    # Step 4: the panel is due one working day after opening (office time).
    assert appeal.step_due_at == one_day.due(opened, calendar)
    assert appeal.step_due_at is not None
    assert calendar.office_time_between(opened, appeal.step_due_at) > timedelta(0)
    assert (appeal.reminded_at, appeal.escalated_at) == (None, None)
    progress = await progress_of(h, profile, complaint.id)
    assert (progress.step, progress.due_at, progress.chair) == (
        "panel",
        one_day.due(opened, calendar),
        None,
    )

    # Two seats do not complete the panel: still step 4, same due time.
    appeal = await seat(h, "ani", opened + timedelta(hours=2), chair=True)
    appeal = await seat(h, "dedi", opened + timedelta(hours=3))
    assert appeal.step_due_at == one_day.due(opened, calendar)
    # The seat completing the panel starts step 5: due one day after it.
    completed = opened + timedelta(hours=5, minutes=17)
    appeal = await seat(h, "eka", completed)
    assert appeal.step_due_at == one_day.due(completed, calendar)
    assert (appeal.reminded_at, appeal.escalated_at) == (None, None)
    progress = await progress_of(h, profile, complaint.id)
    assert (progress.step, progress.due_at, progress.chair) == (
        "decision",
        one_day.due(completed, calendar),
        "ani",
    )

    # The decision ends the timed steps.
    appeal = await decide(h, completed + timedelta(hours=4))
    assert appeal.status == AppealStatus.DECIDED and appeal.step_due_at is None
    progress = await progress_of(h, profile, complaint.id)
    assert (progress.step, progress.due_at) == ("decided", None)


async def test_each_step_gets_one_reminder_and_one_escalation(pontianak: Harness) -> None:
    h = pontianak
    profile = h.runtime.profile
    assert profile.appeal is not None
    sessions = h.runtime.sessions
    complaint = await closed_complaint(h)
    appeal = await appeal_by_email(h, complaint)
    due = appeal.step_due_at
    assert due is not None
    calendar = profile.office.calendar()

    def before(minutes: int) -> datetime:
        return office_before(calendar, due, timedelta(minutes=minutes))

    def after(minutes: int) -> datetime:
        return office_after(calendar, due, timedelta(minutes=minutes))

    # remind_before is 10 minutes (of office time) in this profile.
    assert await sweep(sessions, profile, before(11)) == {
        "reminded": 0,
        "escalated": 0,
    }
    assert await step_events(sessions) == []
    reminded = [await sweep(sessions, profile, before(m)) for m in (9, 5, 1)]
    assert reminded == [
        {"reminded": 1, "escalated": 0},
        {"reminded": 0, "escalated": 0},
        {"reminded": 0, "escalated": 0},
    ]
    escalated = [await sweep(sessions, profile, after(m)) for m in (1, 2, 600)]
    assert escalated == [
        {"reminded": 0, "escalated": 1},
        {"reminded": 0, "escalated": 0},
        {"reminded": 0, "escalated": 0},
    ]
    reminder, escalation = await step_events(sessions)
    assert (reminder.kind, escalation.kind) == (
        "appeal_step_reminder",
        "appeal_step_overdue_escalated",
    )
    assert reminder.complaint_id == escalation.complaint_id == complaint.id
    assert reminder.at == before(9) and escalation.at == after(1)
    assert reminder.data == {
        "appeal_id": appeal.id,
        "step": "panel",
        "roles": ["customer_service", "head_of_office", "appeal_panel"],
        "chair": None,
        "due_at": due.isoformat(),
    }
    assert escalation.data["roles"] == ["head_of_office"]  # the workflow's escalate_to
    assert escalation.data["step"] == "panel" and escalation.actor == "system"

    # The panel is completed late; step 5 starts with fresh marks. The first
    # sweep after it is already past due: one escalation and no late reminder.
    completed = due + timedelta(hours=3)
    await seat(h, "ani", completed - timedelta(hours=1), chair=True)
    await seat(h, "dedi", completed - timedelta(minutes=30))
    appeal = await seat(h, "eka", completed)
    decision_due = appeal.step_due_at
    assert profile.appeal.decision_standard is not None
    assert decision_due == profile.appeal.decision_standard.due(completed, calendar)
    assert (appeal.reminded_at, appeal.escalated_at) == (None, None)
    assert decision_due is not None
    later = office_after(calendar, decision_due, timedelta(minutes=5))
    assert await sweep(sessions, profile, later) == {
        "reminded": 0,
        "escalated": 1,
    }
    for minutes in (6, 60, 6000):
        at = office_after(calendar, decision_due, timedelta(minutes=minutes))
        assert await sweep(sessions, profile, at) == {
            "reminded": 0,
            "escalated": 0,
        }
    appeal = await current_appeal(h)
    assert appeal.reminded_at is not None and appeal.escalated_at is not None
    *_, late = await step_events(sessions)
    assert [e.kind for e in await step_events(sessions)] == [
        "appeal_step_reminder",
        "appeal_step_overdue_escalated",
        "appeal_step_overdue_escalated",
    ]
    assert (late.data["step"], late.data["chair"], late.data["roles"]) == (
        "decision",
        "ani",
        ["head_of_office"],
    )


async def test_decided_appeals_are_not_swept(pontianak: Harness) -> None:
    h = pontianak
    profile = h.runtime.profile
    complaint = await closed_complaint(h)
    appeal = await appeal_by_email(h, complaint)
    start = appeal.opened_at
    await seat(h, "ani", start + timedelta(minutes=10), chair=True)
    await seat(h, "dedi", start + timedelta(minutes=20))
    await seat(h, "eka", start + timedelta(minutes=30))
    appeal = await decide(h, start + timedelta(hours=1))
    assert appeal.step_due_at is None
    far = start + timedelta(days=30)
    assert await sweep(h.runtime.sessions, profile, far) == {"reminded": 0, "escalated": 0}
    # Even a decided appeal that still carried a due time (an older row) is left alone.
    async with h.runtime.sessions() as s, s.begin():
        await s.execute(update(Appeal).values(step_due_at=start + timedelta(hours=2)))
    assert await sweep(h.runtime.sessions, profile, far) == {"reminded": 0, "escalated": 0}
    assert await step_events(h.runtime.sessions) == []


async def test_the_processor_sweep_merges_appeal_counts(pontianak: Harness) -> None:
    h = pontianak
    processor = h.runtime.processor
    assert processor is not None
    complaint = await closed_complaint(h)
    await appeal_by_email(h, complaint)
    # A sweep in office hours (Monday 10:00) after the step fell due.
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=ZONE)
    async with h.runtime.sessions() as s, s.begin():
        await s.execute(update(Appeal).values(step_due_at=monday - timedelta(minutes=1)))
    assert await processor.sweep_time_standards(now=monday) == {
        "reminded": 0,
        "escalated": 0,
        "appeal_reminded": 0,
        "appeal_escalated": 1,
    }
    assert (await processor.sweep_time_standards(now=monday))["appeal_escalated"] == 0
    [event] = await step_events(h.runtime.sessions)
    assert event.kind == "appeal_step_overdue_escalated" and event.complaint_id == complaint.id


# ------------------------------------------------------------- on both databases


async def open_appeal_row(sessions: SessionFactory, due: datetime) -> int:
    """A complaint with an open appeal whose panel step is due at ``due``."""
    async with sessions() as s, s.begin():
        contact = Contact()
        s.add(contact)
        await s.flush()
        complaint = Complaint(
            tracking_number="PTK-2026-00001",
            contact_id=contact.id,
            channel="email",
            contact_address="budi@example.com",
            complainant_name="Budi",
            customer_name="PT Sinar Jaya",
            problem="Hasil uji tidak sesuai",
            received_at=due - timedelta(days=5),
            received_by="channel:email",
            status="closed",
        )
        s.add(complaint)
        await s.flush()
        appeal = Appeal(
            complaint_id=complaint.id,
            opened_at=due - timedelta(days=1),
            opened_by="complainant:email",
            reason="Hasil ulang tidak sesuai",
            status=AppealStatus.OPEN.value,
            step_due_at=due,
        )
        s.add(appeal)
        await s.flush()
        return appeal.id


async def test_concurrent_sweeps_record_each_mark_once(any_sessions: SessionFactory) -> None:
    profile = load_profile(PONTIANAK)
    due = datetime(2026, 5, 8, 10, 30, tzinfo=ZONE)  # a Friday, in office hours
    appeal_id = await open_appeal_row(any_sessions, due)

    async def rounds(at: datetime) -> list[dict[str, int]]:
        return list(await asyncio.gather(*(sweep(any_sessions, profile, at) for _ in range(4))))

    reminded = await rounds(due - timedelta(minutes=5))
    assert sum(r["reminded"] for r in reminded) == 1
    assert sum(r["escalated"] for r in reminded) == 0
    escalated = await rounds(due + timedelta(minutes=5))
    assert sum(r["escalated"] for r in escalated) == 1
    assert sum(r["reminded"] for r in escalated) == 0
    events = await step_events(any_sessions)
    assert [(e.kind, e.data["appeal_id"]) for e in events] == [
        ("appeal_step_reminder", appeal_id),
        ("appeal_step_overdue_escalated", appeal_id),
    ]


async def test_appeal_escalate_to_overrides_the_workflows(sessions: SessionFactory) -> None:
    shipped = load_profile(PONTIANAK)
    assert shipped.appeal is not None
    profile = shipped.model_copy(
        update={"appeal": shipped.appeal.model_copy(update={"escalate_to": ("appeal_panel",)})}
    )
    due = datetime(2026, 5, 8, 10, 30, tzinfo=ZONE)  # a Friday, in office hours
    await open_appeal_row(sessions, due)
    assert await sweep(sessions, profile, due + timedelta(seconds=1)) == {
        "reminded": 0,
        "escalated": 1,
    }
    [event] = await step_events(sessions)
    assert event.data["roles"] == ["appeal_panel"]


async def test_profiles_without_appeal_standards_sweep_nothing(
    sessions: SessionFactory,
) -> None:
    """BBSPJIKFK has appeals but no appeal time standards: the due time of an
    appeal row is then not acted on."""
    profile = load_profile("bbspjikfk")
    assert profile.appeal is not None and profile.appeal.panel_standard is None
    due = datetime(2026, 5, 8, 10, 30, tzinfo=ZONE)  # a Friday, in office hours
    await open_appeal_row(sessions, due)
    result: dict[str, Any] = await sweep(sessions, profile, due + timedelta(days=2))
    assert result == {"reminded": 0, "escalated": 0}
