"""Working days across weekends, Indonesian public holidays and cuti bersama (docs/time-standards.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers.timestandards import (
    Unit,
    WorkingCalendar,
    calendar_from_days,
    due_at,
    within_working_days,
)

WIB = ZoneInfo("Asia/Jakarta")
JAKARTA = WorkingCalendar("Asia/Jakarta")


def wib(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


def test_weekends_and_holidays_are_not_working_days() -> None:
    assert JAKARTA.is_working_day(date(2026, 11, 20))  # Friday
    assert not JAKARTA.is_working_day(date(2026, 11, 21))  # Saturday
    assert not JAKARTA.is_working_day(date(2026, 11, 22))  # Sunday
    assert not JAKARTA.is_working_day(date(2026, 8, 17))  # Independence Day (Monday)
    assert not JAKARTA.is_working_day(date(2026, 12, 24))  # cuti bersama, Christmas
    assert WorkingCalendar(observe_joint_holidays=False).is_working_day(date(2026, 12, 24))


def test_three_working_days_from_a_friday_before_a_monday_holiday() -> None:
    # Friday 14 August 2026, 10:00 WIB; Monday 17 August is Independence Day.
    due = due_at(wib(2026, 8, 14), 3, Unit.WORKING_DAYS, JAKARTA)
    # Tuesday 18, Wednesday 19, Thursday 20 → end of Thursday.
    assert due.date() == date(2026, 8, 20) and (due.hour, due.minute) == (23, 59)
    assert due.utcoffset() == timedelta(hours=7)


def test_eid_with_cuti_bersama_spans_a_long_break() -> None:
    # Thursday 19 March 2026 (Nyepi); 20 cuti bersama; 21-22 Eid; 23-24 cuti bersama.
    due = due_at(wib(2026, 3, 18, 16), 1, Unit.WORKING_DAYS, JAKARTA)
    assert due.date() == date(2026, 3, 25)


def test_a_step_started_on_a_weekend_counts_from_the_next_working_day() -> None:
    due = due_at(wib(2026, 11, 21, 9), 1, Unit.WORKING_DAYS, JAKARTA)  # Saturday
    assert due.date() == date(2026, 11, 23)  # Monday
    assert JAKARTA.working_days_after(date(2026, 11, 21), 0) == date(2026, 11, 23)


def test_office_leave_days_from_the_profile() -> None:
    office = calendar_from_days("Asia/Jakarta", [date(2026, 11, 23)])
    assert due_at(wib(2026, 11, 20), 1, Unit.WORKING_DAYS, office).date() == date(2026, 11, 24)


def test_office_time_zone_decides_the_local_day() -> None:
    # 16:30 UTC on Thursday is 23:30 Thursday in Jakarta (WIB, UTC+7) but
    # already 00:30 Friday in Makassar (WITA, UTC+8).
    start = datetime(2026, 11, 19, 16, 30, tzinfo=UTC)
    makassar = WorkingCalendar("Asia/Makassar")
    assert due_at(start, 1, Unit.WORKING_DAYS, JAKARTA).date() == date(2026, 11, 20)
    assert due_at(start, 1, Unit.WORKING_DAYS, makassar).date() == date(2026, 11, 23)


def test_minutes_hours_and_days_count_office_time() -> None:
    # Friday 20 November 2026, 16:20 WIB: the office closes at 16:30.
    start = wib(2026, 11, 20, 16, 20)
    assert due_at(start, 15, "minutes", JAKARTA) == wib(2026, 11, 23, 7, 35)
    assert due_at(start, 2, Unit.HOURS, JAKARTA) == wib(2026, 11, 23, 9, 20)
    # Three working days at the same time of day, moved into Wednesday's
    # hours (it closes at 16:00).
    assert due_at(start, 3, Unit.DAYS, JAKARTA) == wib(2026, 11, 25, 16, 0)
    # Calendar days are elapsed time whatever the hours.
    assert due_at(start, 3, Unit.CALENDAR_DAYS, JAKARTA) == wib(2026, 11, 23, 16, 20)


def test_sop_7_9_1_acceptance_window() -> None:
    report = date(2026, 8, 14)  # final report received on Friday
    assert within_working_days(report, wib(2026, 8, 20, 16), 3, JAKARTA)  # Thursday
    assert not within_working_days(report, wib(2026, 8, 21, 8), 3, JAKARTA)  # Friday after


def test_counting_between_dates() -> None:
    assert JAKARTA.working_days_between(date(2026, 8, 14), date(2026, 8, 21)) == 4
    assert JAKARTA.working_days_between(date(2026, 8, 21), date(2026, 8, 14)) == 0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        due_at(datetime(2026, 1, 1), 1, Unit.DAYS, JAKARTA)
    with pytest.raises(ValueError):
        due_at(wib(2026, 1, 1), -1, Unit.DAYS, JAKARTA)
    with pytest.raises(ValueError):
        due_at(wib(2026, 1, 1), 1, "weeks", JAKARTA)
