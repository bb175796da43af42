"""Time standards: when a step is due (issue 4, item 3).

The SOPs give each step a standard ("Mutu Baku — Waktu"): minutes for intake
steps (BBSPJIKFK 5.1.11 steps 1–3 and 5–6: 15 minutes), days for follow-up
(step 4: 3 days; Kecamatan Bandungan steps 5–6: 2 days) and working days for
deadlines (SOP-7.9-1 item 3: complaints within 3 working days after the final
report). Working days skip Saturdays, Sundays, Indonesia's public holidays
(the ``holidays`` package, country ``ID``), the national collective leave days
(*cuti bersama*, its ``government`` category) unless the office works on them,
and the office's own extra leave days from its SOP profile.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

#: Weekdays that are working days (Monday = 0 … Friday = 4).
WORKING_WEEKDAYS = frozenset(range(5))


class Unit(enum.StrEnum):
    """Units a profile may give a time standard in."""

    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    WORKING_DAYS = "working_days"


@lru_cache(maxsize=64)
def _national_days(year: int, joint: bool) -> frozenset[date]:
    categories = ("public", "government") if joint else ("public",)
    return frozenset(holidays.country_holidays("ID", years=year, categories=categories))


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days an office works.

    ``timezone`` is the office's IANA zone (``Asia/Jakarta``, ``Asia/Makassar``
    …); ``leave_days`` are the office's own extra days off; with
    ``observe_joint_holidays`` the national cuti bersama are days off too.
    """

    timezone: str = "Asia/Jakarta"
    leave_days: frozenset[date] = field(default_factory=frozenset)
    observe_joint_holidays: bool = True

    @property
    def zone(self) -> ZoneInfo:
        """The office's time zone."""
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        """True for a weekday that is no public holiday, cuti bersama or office leave day."""
        if day.weekday() not in WORKING_WEEKDAYS or day in self.leave_days:
            return False
        return day not in _national_days(day.year, self.observe_joint_holidays)

    def working_days_after(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (``day`` itself not counted).

        ``count`` 0 gives ``day`` when it is a working day, else the next one.
        Raises ``ValueError`` for a negative ``count``.
        """
        if count < 0:
            raise ValueError("count must be zero or more")
        current = day
        if count == 0:
            while not self.is_working_day(current):
                current += timedelta(days=1)
            return current
        found = 0
        while found < count:
            current += timedelta(days=1)
            if self.is_working_day(current):
                found += 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 if ``end <= start``)."""
        count = 0
        current = start
        while current < end:
            current += timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count

    def end_of_day(self, day: date) -> datetime:
        """The last moment of ``day`` in office time, as an aware datetime."""
        return datetime.combine(day, time.max, tzinfo=self.zone)


def due_at(start: datetime, amount: int, unit: Unit | str, calendar: WorkingCalendar) -> datetime:
    """When a step that started at ``start`` is due.

    * minutes, hours: elapsed time (``start + amount``);
    * days: calendar days, same clock time (``start + amount × 24 h``);
    * working days: the end (23:59:59.999999, office time) of the
      ``amount``-th working day after the start's office-local date — so "3
      working days" from Friday 10:00 before a Monday holiday is Thursday
      end of day.

    ``start`` must be timezone-aware; the result is aware, in the office zone
    for working days. Raises ``ValueError`` for a naive ``start`` or a
    negative ``amount``.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if amount < 0:
        raise ValueError("amount must be zero or more")
    unit = Unit(unit)
    if unit is Unit.MINUTES:
        return start + timedelta(minutes=amount)
    if unit is Unit.HOURS:
        return start + timedelta(hours=amount)
    if unit is Unit.DAYS:
        return start + timedelta(days=amount)
    local_day = start.astimezone(calendar.zone).date()
    return calendar.end_of_day(calendar.working_days_after(local_day, amount))


def within_working_days(
    reference: date, moment: datetime, limit: int, calendar: WorkingCalendar
) -> bool:
    """True when ``moment`` is at most ``limit`` working days after ``reference``.

    SOP-7.9-1 item 3: a complaint is served when made at most 3 working days
    after the participant received the final report (``reference``).
    """
    return moment <= calendar.end_of_day(calendar.working_days_after(reference, limit))


def calendar_from_days(
    timezone: str, leave_days: Iterable[date], observe_joint_holidays: bool = True
) -> WorkingCalendar:
    """Build a :class:`WorkingCalendar` from profile values."""
    return WorkingCalendar(timezone, frozenset(leave_days), observe_joint_holidays)
