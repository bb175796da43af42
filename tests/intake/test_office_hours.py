"""Office hours in every time standard: counting, sweeps, the inbox, the recap,
the acknowledgement, and the profile's validation (docs/time-standards.md).

Every moment is fixed or derived from a fixed reference; nothing reads the
wall clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from gateway.queries.complaint_list import TimeState, due_soon_window, time_state
from gateway.reports.period import Period
from gateway.reports.recap import Move, step_timings
from handlers.appeal_standards import sweep_appeal_standards
from handlers.office_hours import DEFAULT_HOURS, OfficeHours
from handlers.profile import PROFILES_DIR, Profile, ProfileError, load_profile
from handlers.registration import acknowledgement_text
from handlers.texts import Duration
from handlers.timestandards import DayCount, Unit, WorkingCalendar, due_at
from handlers.workflow import reminder_lead, start_first_step, sweep_time_standards
from storage.db import SessionFactory
from storage.models import Complaint, ComplaintEvent, Contact
from tests.emailed_complaint import register_emailed
from tests.intake.test_appeal_standards import open_appeal_row

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")
WIT = ZoneInfo("Asia/Jayapura")
JAKARTA = WorkingCalendar("Asia/Jakarta")
#: A fixed Saturday in the future, the reference of the weekend scenario.
SATURDAY = date(2027, 1, 9)

#: Derandomised and without an example database, so CI runs the same inputs.
PROPERTY = settings(max_examples=200, deadline=None, derandomize=True, database=None)


def wib(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


# ------------------------------------------------------------------ counting


def _spans(hours: OfficeHours, weekday: int) -> tuple[tuple[time, time], ...]:
    day = hours.day(weekday)
    return () if day is None else day.spans()


def test_defaults_are_a_37_and_a_half_hour_government_week() -> None:
    assert DEFAULT_HOURS.weekly_minutes() == 37.5 * 60
    friday = DEFAULT_HOURS.day(4)
    assert friday is not None and (friday.open, friday.close) == (time(7, 30), time(16, 30))
    assert [(b.start, b.end) for b in friday.breaks] == [(time(11, 30), time(13, 0))]
    assert DEFAULT_HOURS.day(5) is None and DEFAULT_HOURS.day(6) is None
    for name in sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")):
        profile = load_profile(name)
        hours = profile.office.hours
        assert [_spans(hours, w) for w in range(7)] == [
            _spans(DEFAULT_HOURS, w) for w in range(7)
        ], name
        assert profile.office.day_count is DayCount.WORKING_DAYS, name


def test_saturday_night_complaint_is_due_fifteen_minutes_after_monday_opening() -> None:
    assert SATURDAY.weekday() == 5
    received = datetime.combine(SATURDAY, time(0, 30), tzinfo=WIB)
    due = Duration(amount=15, unit="minutes").due(received, JAKARTA)
    monday = SATURDAY + timedelta(days=2)
    assert due == datetime.combine(monday, time(7, 45), tzinfo=WIB)


@pytest.mark.parametrize("year", range(2026, 2036))
def test_a_weekend_receipt_counts_from_the_next_opening_in_any_year(year: int) -> None:
    """Year-independent: the first Saturday of March of any year, 00:30 local:
    15 minutes after the next working day's opening."""
    first = date(year, 3, 1)
    saturday = first + timedelta(days=(5 - first.weekday()) % 7)
    received = datetime.combine(saturday, time(0, 30), tzinfo=WIB)
    due = due_at(received, 15, Unit.MINUTES, JAKARTA)
    opening = JAKARTA.next_opening(received)
    assert opening.date() == JAKARTA.working_days_after(saturday, 0)
    assert opening.time() == time(7, 30) and due == opening + timedelta(minutes=15)
    assert JAKARTA.office_time_between(received, due) == timedelta(minutes=15)


def test_three_hari_over_christmas_is_due_on_30_december_2026() -> None:
    profile = load_profile("bbspjikfk")
    standard = profile.workflow.states["in_follow_up"].standard
    assert standard == Duration(amount=3, unit="days")
    calendar = profile.office.calendar()
    # holidays package: 24 Dec cuti bersama, 25 Dec Christmas, 26 Dec (Saturday).
    assert not calendar.is_working_day(date(2026, 12, 24))
    assert not calendar.is_working_day(date(2026, 12, 25))
    assert not calendar.is_working_day(date(2026, 12, 26))
    due = standard.due(wib(2026, 12, 23, 10), calendar)
    assert due == wib(2026, 12, 30, 10)
    # Counted as calendar days the same step would fall on Saturday, moved to
    # the next opening (Monday 28 December).
    calendar_days = WorkingCalendar("Asia/Jakarta", day_count=DayCount.CALENDAR_DAYS)
    assert standard.due(wib(2026, 12, 23, 10), calendar_days) == wib(2026, 12, 28, 7, 30)


def test_hours_across_the_friday_prayer_break() -> None:
    # Friday 20 November 2026, 11:00: 30 minutes before the break, then 13:00.
    assert due_at(wib(2026, 11, 20, 11), 1, Unit.HOURS, JAKARTA) == wib(2026, 11, 20, 13, 30)
    # Monday-Thursday the rest is 12:00-13:00.
    assert due_at(wib(2026, 11, 19, 11), 2, Unit.HOURS, JAKARTA) == wib(2026, 11, 19, 14)


def test_hours_across_the_night() -> None:
    # Thursday 15:30: 30 minutes until closing, 90 more from Friday's opening.
    assert due_at(wib(2026, 11, 19, 15, 30), 2, Unit.HOURS, JAKARTA) == wib(2026, 11, 20, 9)
    # Ending exactly at closing is due at closing, not the next morning.
    assert due_at(wib(2026, 11, 19, 15, 45), 15, Unit.MINUTES, JAKARTA) == wib(2026, 11, 19, 16)


def test_a_start_inside_a_break_starts_when_the_break_ends() -> None:
    assert due_at(wib(2026, 11, 23, 12, 15), 15, Unit.MINUTES, JAKARTA) == wib(2026, 11, 23, 13, 15)
    assert JAKARTA.next_opening(wib(2026, 11, 20, 12)) == wib(2026, 11, 20, 13)
    assert not JAKARTA.is_open(wib(2026, 11, 20, 11, 30))
    assert JAKARTA.is_open(wib(2026, 11, 20, 13))


def test_a_closed_weekday_is_skipped() -> None:
    hours = DEFAULT_HOURS.model_copy(update={"wednesday": None})
    office = WorkingCalendar("Asia/Jakarta", hours=hours)
    assert not office.is_working_day(date(2026, 11, 25))  # a Wednesday
    # Tuesday 15:50 + 30 minutes: 10 on Tuesday, 20 on Thursday.
    assert due_at(wib(2026, 11, 24, 15, 50), 30, Unit.MINUTES, office) == wib(2026, 11, 26, 7, 50)
    assert due_at(wib(2026, 11, 24, 10), 1, Unit.DAYS, office) == wib(2026, 11, 26, 10)


def test_an_office_leave_day_is_skipped() -> None:
    office = WorkingCalendar("Asia/Jakarta", leave_days=frozenset({date(2026, 11, 23)}))
    # Friday 16:20 + 15 minutes: 10 on Friday, 5 on Tuesday (Monday is leave).
    assert due_at(wib(2026, 11, 20, 16, 20), 15, Unit.MINUTES, office) == wib(2026, 11, 24, 7, 35)


def test_wib_wita_and_wit_offices_open_at_their_own_local_opening() -> None:
    # Thursday 23:00 UTC is Friday 06:00 WIB, 07:00 WITA, 08:00 WIT.
    start = datetime(2026, 11, 19, 23, 0, tzinfo=UTC)
    results = {
        zone.key: due_at(start, 15, Unit.MINUTES, WorkingCalendar(zone.key))
        for zone in (WIB, WITA, WIT)
    }
    assert results == {
        "Asia/Jakarta": datetime(2026, 11, 20, 7, 45, tzinfo=WIB),
        "Asia/Makassar": datetime(2026, 11, 20, 7, 45, tzinfo=WITA),
        "Asia/Jayapura": datetime(2026, 11, 20, 8, 15, tzinfo=WIT),
    }
    offsets = {key: value.utcoffset() for key, value in results.items()}
    assert offsets == {
        "Asia/Jakarta": timedelta(hours=7),
        "Asia/Makassar": timedelta(hours=8),
        "Asia/Jayapura": timedelta(hours=9),
    }


def test_working_days_unit_is_unchanged_end_of_day() -> None:
    due = due_at(wib(2026, 8, 14, 20), 3, Unit.WORKING_DAYS, JAKARTA)
    assert due.date() == date(2026, 8, 20) and (due.hour, due.minute) == (23, 59)


def test_office_time_between_counts_only_open_hours() -> None:
    friday_evening, monday_morning = wib(2026, 11, 20, 16), wib(2026, 11, 23, 8)
    assert JAKARTA.office_time_between(friday_evening, monday_morning) == timedelta(minutes=60)
    assert JAKARTA.office_time_between(monday_morning, friday_evening) == timedelta(0)
    with pytest.raises(ValueError, match="aware"):
        JAKARTA.is_open(datetime(2026, 11, 20, 10))


# ------------------------------------------------------------------ property

moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(WIB)
)
units = st.sampled_from([Unit.MINUTES, Unit.HOURS, Unit.DAYS])
calendars = st.sampled_from(
    [JAKARTA, WorkingCalendar("Asia/Jakarta", day_count=DayCount.CALENDAR_DAYS)]
)


@PROPERTY
@given(moments, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10)), units,
       st.integers(0, 200), st.integers(0, 200), calendars)  # fmt: skip
def test_due_at_is_monotonic_and_lands_in_office_hours(
    start: datetime,
    later: timedelta,
    unit: Unit,
    amount: int,
    more: int,
    calendar: WorkingCalendar,
) -> None:
    if unit is Unit.DAYS:
        amount, more = amount % 20, more % 20
    due = due_at(start, amount, unit, calendar)
    assert due >= start
    assert due_at(start + later, amount, unit, calendar) >= due
    assert due_at(start, amount + more, unit, calendar) >= due
    # Open, or the end of an open span (closing, or the start of a break).
    assert calendar.is_open(due) or calendar.is_open(due - timedelta(microseconds=1))


@PROPERTY
@given(moments, st.integers(0, 600))
def test_office_time_to_the_due_time_is_the_standard(start: datetime, minutes: int) -> None:
    due = due_at(start, minutes, Unit.MINUTES, JAKARTA)
    assert JAKARTA.office_time_between(start, due) == timedelta(minutes=minutes)


# ------------------------------------------------------------------ sweeps


def _complaint(contact_id: int, received: datetime, profile: Profile) -> Complaint:
    complaint = Complaint(
        tracking_number="ADU-2027-00001",
        contact_id=contact_id,
        channel="email",
        contact_address="budi@example.com",
        complainant_name="Budi",
        customer_name="PT Sinar Jaya",
        problem="Laporan hasil uji terlambat",
        received_at=received,
        received_by="channel:email",
        status="received",
    )
    start_first_step(profile, complaint, received)
    return complaint


async def test_weekend_complaint_is_reminded_and_escalated_only_on_monday(
    sessions: SessionFactory,
) -> None:
    profile = load_profile("default")  # first step 15 minutes, remind 5 minutes ahead
    received = datetime.combine(SATURDAY, time(0, 30), tzinfo=WIB)
    monday = SATURDAY + timedelta(days=2)
    async with sessions() as s, s.begin():
        contact = Contact()
        s.add(contact)
        await s.flush()
        complaint = _complaint(contact.id, received, profile)
        s.add(complaint)
    assert complaint.step_due_at == datetime.combine(monday, time(7, 45), tzinfo=WIB)

    async def sweep(at: datetime) -> dict[str, int]:
        async with sessions() as s, s.begin():
            return await sweep_time_standards(s, profile=profile, now=at)

    quiet = [
        datetime.combine(SATURDAY, time(0, 45), tzinfo=WIB),
        datetime.combine(SATURDAY, time(0, 55), tzinfo=WIB),
        datetime.combine(SATURDAY + timedelta(days=1), time(12), tzinfo=WIB),
        datetime.combine(monday, time(7, 31), tzinfo=WIB),
        datetime.combine(monday, time(7, 39), tzinfo=WIB),
    ]
    for at in quiet:
        assert await sweep(at) == {"reminded": 0, "escalated": 0}, at
    reminder_at = datetime.combine(monday, time(7, 40), tzinfo=WIB)
    assert await sweep(reminder_at) == {"reminded": 1, "escalated": 0}
    assert await sweep(datetime.combine(monday, time(7, 44), tzinfo=WIB)) == {
        "reminded": 0,
        "escalated": 0,
    }
    escalation_at = datetime.combine(monday, time(7, 46), tzinfo=WIB)
    assert await sweep(escalation_at) == {"reminded": 0, "escalated": 1}
    async with sessions() as s:
        events = list(await s.scalars(select(ComplaintEvent).order_by(ComplaintEvent.id)))
    assert [(e.kind, e.at) for e in events] == [
        ("step_reminder", reminder_at.astimezone(UTC)),
        ("step_overdue_escalated", escalation_at.astimezone(UTC)),
    ]


async def test_what_falls_due_at_night_is_escalated_at_the_next_opening(
    sessions: SessionFactory,
) -> None:
    profile = load_profile("default")
    async with sessions() as s, s.begin():
        contact = Contact()
        s.add(contact)
        await s.flush()
        complaint = _complaint(contact.id, wib(2026, 11, 19, 15, 50), profile)
        s.add(complaint)
    assert complaint.step_due_at == wib(2026, 11, 20, 7, 35)  # 10 min Thursday, 5 Friday
    async with sessions() as s, s.begin():
        stored = await s.get(Complaint, complaint.id)
        assert stored is not None
        stored.step_due_at = wib(2026, 11, 19, 15, 55)

    async def sweep(at: datetime) -> dict[str, int]:
        async with sessions() as s, s.begin():
            return await sweep_time_standards(s, profile=profile, now=at)

    assert await sweep(wib(2026, 11, 19, 20)) == {"reminded": 0, "escalated": 0}
    assert await sweep(wib(2026, 11, 20, 6)) == {"reminded": 0, "escalated": 0}
    assert await sweep(wib(2026, 11, 20, 7, 30)) == {"reminded": 0, "escalated": 1}


def test_reminder_lead_counts_office_time_over_a_break() -> None:
    profile = load_profile("default")
    # 5 minutes ahead at 11:58 on a Monday reach 13:03 (the rest is 12-13).
    now = wib(2026, 11, 23, 11, 58)
    assert now + reminder_lead(profile, now) == wib(2026, 11, 23, 13, 3)


def test_inbox_due_soon_agrees_with_office_time() -> None:
    profile = load_profile("default")
    saturday_night = datetime.combine(SATURDAY, time(0, 43), tzinfo=WIB)
    monday_due = datetime.combine(SATURDAY + timedelta(days=2), time(7, 45), tzinfo=WIB)
    window = due_soon_window(profile, saturday_night)
    # Neither overdue nor due soon over the weekend: it is Monday's work.
    assert time_state(monday_due, saturday_night, window) is TimeState.ON_TIME
    # On Friday after closing, a step due at Monday's opening is within the
    # office-time reminder lead (5 minutes of office time reach Monday 07:35).
    friday = wib(2026, 11, 20, 17)
    window = due_soon_window(profile, friday)
    assert friday + window == wib(2026, 11, 23, 7, 35)
    assert time_state(wib(2026, 11, 23, 7, 33), friday, window) is TimeState.DUE_SOON
    assert time_state(wib(2026, 11, 23, 9), friday, window) is TimeState.ON_TIME
    # In office hours the 24-hour window is the longer one.
    tuesday = wib(2026, 11, 24, 10)
    assert due_soon_window(profile, tuesday) == timedelta(hours=24)


# ------------------------------------------------------------------ recap, acknowledgement


def test_recap_on_time_rate_counts_office_time() -> None:
    profile = load_profile("default")
    received = datetime.combine(SATURDAY, time(0, 30), tzinfo=WIB)
    monday = SATURDAY + timedelta(days=2)
    moves = [
        # verified Monday 07:40: 10 office minutes after the receipt, on time.
        Move(1, datetime.combine(monday, time(7, 40), tzinfo=WIB), "received"),
        # verified Monday 08:00: 30 office minutes, late.
        Move(2, datetime.combine(monday, time(8, 0), tzinfo=WIB), "received"),
    ]
    period = Period(SATURDAY, monday, "Asia/Jakarta")
    timings = step_timings(
        profile.workflow, profile.office.calendar(), period, {1: received, 2: received}, moves
    )
    first = next(t for t in timings if t.state == "received")
    assert (first.left, first.on_time) == (2, 1)


def test_acknowledgement_promises_the_office_date() -> None:
    profile = load_profile("default")  # follow-up within 3 working days
    received = datetime.combine(SATURDAY, time(0, 30), tzinfo=WIB)
    complaint = Complaint(tracking_number="ADU-2027-00001", received_at=received)
    text = acknowledgement_text(profile, complaint, {"complainant_name": "Budi"}, "en")
    # Monday 11, Tuesday 12, Wednesday 13 January 2027: the third working day.
    assert "Wednesday, January 13, 2027" in text
    bbspjikfk = load_profile("bbspjikfk")  # follow-up "3 hari", working days
    text = acknowledgement_text(bbspjikfk, complaint, {"complainant_name": "Budi"}, "en")
    assert "Thursday, January 14, 2027" in text  # 3 working days after Monday 07:30


# ------------------------------------------------------------------ profile validation


def _profile_with_hours(tmp_path: Path, hours: Any) -> Path:
    data = yaml.safe_load((PROFILES_DIR / "default.yaml").read_text(encoding="utf-8"))
    data["office"]["hours"] = hours
    path = tmp_path / "office.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({"monday": {"open": "16:00", "close": "07:30"}}, "must be before closing time"),
        (
            {"monday": {"open": "07:30", "close": "16:00", "breaks": [{"start": "06:00", "end": "07:00"}]}},
            "must lie inside the day",
        ),
        (
            {
                "monday": {
                    "open": "07:30",
                    "close": "16:00",
                    "breaks": [{"start": "12:00", "end": "13:00"}, {"start": "12:30", "end": "13:30"}],
                }
            },
            "overlap",
        ),
        ({"monday": {"open": "07:30", "close": "16:00", "breaks": [{"start": "13:00", "end": "12:00"}]}},
         "break start 13:00 must be before its end 12:00"),
        ({"monday": {"open": 450, "close": "16:00"}}, 'as "HH:MM" in quotes'),
        ({"monday": "closed", "tuesday": None}, "at least one weekday"),
        ({"funday": {"open": "07:30", "close": "16:00"}}, "funday"),
    ],
)  # fmt: skip
def test_bad_office_hours_are_refused_clearly(tmp_path: Path, hours: Any, message: str) -> None:
    with pytest.raises(ProfileError) as error:
        load_profile(str(_profile_with_hours(tmp_path, hours)))
    assert message in str(error.value) and "office.hours" in str(error.value)


def test_an_office_may_give_its_own_hours(tmp_path: Path) -> None:
    hours = {
        "monday": {"open": "08:00", "close": "15:00", "breaks": [{"start": "12:00", "end": "12:30"}]},
        "saturday": {"open": "08:00", "close": "12:00"},
        "sunday": "closed",
    }  # fmt: skip
    profile = load_profile(str(_profile_with_hours(tmp_path, hours)))
    office = profile.office.hours
    assert isinstance(office, OfficeHours) and office.day(1) is None
    calendar = profile.office.calendar()
    assert calendar.is_working_day(date(2026, 11, 21))  # Saturday is open here
    assert not calendar.is_working_day(date(2026, 11, 24))  # Tuesday is not
    assert calendar.next_opening(wib(2026, 11, 23, 16)) == wib(2026, 11, 28, 8)


def test_a_dumped_profile_loads_again() -> None:
    profile = load_profile("bbspjikfk")
    again = Profile.model_validate(profile.model_dump(mode="json"))
    assert again.office.hours == profile.office.hours


async def test_registration_sets_the_office_due_time(sessions: SessionFactory) -> None:
    """What ``/track`` and the inbox show is the stored due time of the step."""
    profile = load_profile("default")
    received = datetime.combine(SATURDAY, time(0, 30), tzinfo=WIB)
    async with sessions() as s, s.begin():
        contact = Contact()
        s.add(contact)
        await s.flush()
        complaint = await register_emailed(
            s,
            profile=profile,
            contact_id=contact.id,
            problem="Laporan hasil uji terlambat",
            received_at=received,
        )
    monday = SATURDAY + timedelta(days=2)
    assert complaint.step_started_at == received
    assert complaint.step_due_at == datetime.combine(monday, time(7, 45), tzinfo=WIB)


async def test_the_appeal_sweep_waits_for_the_office_to_open(sessions: SessionFactory) -> None:
    profile = load_profile("bspji_pontianak")
    zone = ZoneInfo("Asia/Pontianak")
    due = datetime(2026, 11, 20, 16, 0, tzinfo=zone)  # Friday, before closing
    await open_appeal_row(sessions, due)

    async def sweep(at: datetime) -> dict[str, int]:
        async with sessions() as s, s.begin():
            return await sweep_appeal_standards(s, profile=profile, now=at)

    for at in (
        datetime(2026, 11, 20, 17, 0, tzinfo=zone),  # Friday after closing
        datetime(2026, 11, 21, 10, 0, tzinfo=zone),  # Saturday
        datetime(2026, 11, 23, 7, 0, tzinfo=zone),  # Monday before opening
    ):
        assert await sweep(at) == {"reminded": 0, "escalated": 0}, at
    assert await sweep(datetime(2026, 11, 23, 7, 30, tzinfo=zone)) == {
        "reminded": 0,
        "escalated": 1,
    }
