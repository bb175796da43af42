"""Reminders and escalations reach staff by email (docs/time-standards.md): the
assignee before a step is due, the supervisors once it is overdue — one email
each, not one per sweep; appeal steps remind the panel's chair."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from channels.base import ChannelName
from gateway.config import load_settings
from gateway.runtime import build_runtime
from handlers.appeal_standards import sweep_appeal_standards
from handlers.i18n import t
from handlers.profile import load_profile
from handlers.staff_notices import ASSIGNED_SUBJECT, NEW_COMPLAINT_SUBJECT
from handlers.workflow import Actor, sweep_time_standards
from storage.migrate import upgrade
from storage.models import Complaint, ComplaintEvent, OutboxMessage
from tests.fakes import RecordingChannel, inbound
from tests.intake.test_appeal_standards import STAFF as PONTIANAK_STAFF
from tests.intake.test_appeal_standards import appeal_by_email, closed_complaint, seat
from tests.office_clock import office_after, office_before
from tests.runtime_fixtures import COMPLETE_COMPLAINT, Harness, add_staff, make_harness

#: username → (role, email); bayu has no address and only sees the inbox.
STAFF = {
    "sri": ("secretariat", "sri@balai.go.id"),
    "bayu": ("business_lead", None),
    "tono": ("officer", "tono@balai.go.id"),
    "rudi": ("officer", "rudi@balai.go.id"),
    "maya": ("manager", "maya@balai.go.id"),
    "joko": ("manager", "joko@balai.go.id"),
}

LABEL = load_profile("default").workflow.states["in_follow_up"].label.id  # type: ignore[union-attr]


#: Subject endings of the new-complaint and assignment notices
#: (tests/inbox/test_staff_notifications.py), left out here.
NOTICES = tuple(
    t("id", subject, tracking="").removeprefix("[] ")
    for subject in (NEW_COMPLAINT_SUBJECT, ASSIGNED_SUBJECT)
)


async def staff_emails(h: Harness) -> list[tuple[str, str]]:
    """(recipient, subject) of every reminder or escalation sent to a staff address."""
    addresses = {email for _, email in STAFF.values() if email} | {
        f"{name}@balai.go.id" for name in PONTIANAK_STAFF
    }
    return [
        (m.recipient, m.subject or "")
        for m in h.email.sent
        if m.recipient in addresses and not (m.subject or "").endswith(NOTICES)
    ]


async def sweep(h: Harness, when_offset: timedelta, due_of: Complaint) -> dict[str, int]:
    """Sweep ``when_offset`` of office time after (or, negative, before) the due time."""
    assert due_of.step_due_at is not None
    calendar = h.runtime.profile.office.calendar()
    due = due_of.step_due_at
    when = (
        office_after(calendar, due, when_offset)
        if when_offset >= timedelta(0)
        else office_before(calendar, due, -when_offset)
    )
    async with h.runtime.work() as session:
        counts = await sweep_time_standards(
            session,
            profile=h.runtime.profile,
            now=when,
            writer=h.runtime.writer,
        )
    await h.settle()
    return counts


async def test_the_assignee_is_reminded_and_the_supervisors_told_once(tmp_path: Path) -> None:
    h = await make_harness(tmp_path)
    try:
        await add_staff(h.runtime.sessions, STAFF)
        complaint = await h.file("a1")
        complaint = await h.runtime.transition(
            complaint.id, "verify", Actor("sri", "secretariat"), {}
        )
        complaint = await h.runtime.transition(
            complaint.id,
            "route",
            Actor("bayu", "business_lead"),
            {"category": "technical", "assignee": "tono"},
        )
        await h.settle()
        assert await staff_emails(h) == []

        assert await sweep(h, -timedelta(hours=5), complaint) == {"reminded": 0, "escalated": 0}
        # The default profile reminds 5 minutes ahead.
        assert await sweep(h, -timedelta(minutes=4), complaint) == {"reminded": 1, "escalated": 0}
        assert await sweep(h, -timedelta(minutes=2), complaint) == {"reminded": 0, "escalated": 0}
        [(to, subject)] = await staff_emails(h)
        assert to == "tono@balai.go.id"  # the assignee, not every officer
        assert complaint.tracking_number in subject
        reminder = h.email.sent[-1].text
        assert (
            "PT Sinar Jaya" in reminder and "Dalam tindak lanjut" in reminder
        ) or "tindak" in reminder
        # Indonesian first, then English.
        assert reminder.index("Mohon diselesaikan") < reminder.index("Please complete it")

        for minutes in (1, 2, 500):
            await sweep(h, timedelta(minutes=minutes), complaint)
        emails = await staff_emails(h)
        assert sorted(to for to, _ in emails[1:]) == ["joko@balai.go.id", "maya@balai.go.id"]
        assert all(complaint.tracking_number in subject for _, subject in emails)
        assert "tono" in h.email.sent[-1].text  # the escalation names the assignee
    finally:
        await h.runtime.close()


async def test_an_overdue_appeal_decision_reminds_the_chair(tmp_path: Path) -> None:
    h = await make_harness(tmp_path, sop_profile="bspji_pontianak")
    try:
        await add_staff(
            h.runtime.sessions,
            {name: (role, f"{name}@balai.go.id") for name, role in PONTIANAK_STAFF.items()},
        )
        complaint = await closed_complaint(h)
        appeal = await appeal_by_email(h, complaint)
        assert appeal.step_due_at is not None
        completed = appeal.opened_at + timedelta(hours=1)
        await seat(h, "ani", completed, chair=True)
        await seat(h, "dedi", completed)
        appeal = await seat(h, "eka", completed)
        assert appeal.step_due_at is not None
        calendar = h.runtime.profile.office.calendar()
        for left in (timedelta(minutes=5), timedelta(minutes=1)):
            async with h.runtime.work() as session:
                await sweep_appeal_standards(
                    session,
                    profile=h.runtime.profile,
                    now=office_before(calendar, appeal.step_due_at, left),
                    writer=h.runtime.writer,
                )
            await h.settle()
        [(to, subject)] = await staff_emails(h)
        assert to == "ani@balai.go.id" and complaint.tracking_number in subject
        assert "Keputusan Tim Penyelesaian Banding" in h.email.sent[-1].text
    finally:
        await h.runtime.close()


async def test_without_email_reminders_are_recorded_and_no_staff_email_is_staged(
    tmp_path: Path,
) -> None:
    """An office running SMS only: the sweep records the reminder and the
    escalation on the complaint (the inbox shows them) and stages no staff
    email, which no channel could send and the outbox would retry for ever."""
    sms = RecordingChannel(ChannelName.SMS)
    runtime = await build_runtime(
        load_settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}"),
        use_redis=False,
        extra_channels={"sms": sms},
    )
    await upgrade(runtime.engine)
    await runtime.start(run_channels=False)
    try:
        assert "email" not in runtime.channels
        await add_staff(runtime.sessions, STAFF)
        await runtime.accept(
            inbound(
                ChannelName.SMS,
                "s1",
                "+6281234500001",
                COMPLETE_COMPLAINT,
            )
        )
        assert runtime.jobs is not None and runtime.processor is not None
        await runtime.jobs.idle()  # type: ignore[attr-defined]
        await runtime.accept(inbound(ChannelName.SMS, "s2", "+6281234500001", "ya"))
        await runtime.jobs.idle()  # type: ignore[attr-defined]
        async with runtime.sessions() as s:
            complaint = await s.scalar(select(Complaint))
        assert complaint is not None and complaint.step_due_at is not None
        calendar = runtime.profile.office.calendar()
        for when in (
            office_before(calendar, complaint.step_due_at, timedelta(minutes=4)),
            office_after(calendar, complaint.step_due_at, timedelta(minutes=1)),
        ):
            counts = await runtime.processor.sweep_time_standards(now=when)
            assert counts["reminded"] + counts["escalated"] == 1, counts
        async with runtime.sessions() as s:
            kinds = set(await s.scalars(select(ComplaintEvent.kind)))
            staged = list(
                await s.scalars(
                    select(OutboxMessage.recipient).where(OutboxMessage.channel == "email")
                )
            )
        assert {"step_reminder", "step_overdue_escalated"} <= kinds
        assert staged == []
    finally:
        await runtime.close()
