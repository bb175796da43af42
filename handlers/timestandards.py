"""Time standards: when a step is due, counted in office time.

The SOPs give each step a standard ("Mutu Baku — Waktu"): minutes for intake
steps (BBSPJIKFK 5.1.11 steps 1–3 and 5–6: 15 minutes), days for follow-up
(step 4: 3 days; Kecamatan Bandungan steps 5–6: 2 days) and working days for
deadlines (SOP-7.9-1 item 3: complaints within 3 working days after the final
report). Working days skip the weekdays the office is closed (Saturday and
Sunday by default, :mod:`handlers.office_hours`), Indonesia's public holidays
(the ``holidays`` package, country ``ID``), the national collective leave
days (*cuti bersama*, its ``government`` category) unless the office works on
them, and the office's own extra leave days from its SOP profile.

Minutes and hours count office time only: the open hours of working days
minus breaks; a step started while the office is closed starts its clock at
the next opening. "N hari" (unit ``days``) is counted as the profile's
``office.day_count`` says: ``working_days`` (the same time of day on the N-th
working day) or ``calendar_days`` (N × 24 hours, moved to the next opening
when that falls outside office hours). Unit ``working_days`` ends at the end
of the N-th working day after the start's date, as before office hours;
unit ``calendar_days`` is elapsed time (a period given to the complainant).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from handlers.office_hours import DEFAULT_HOURS, OfficeHours

#: How far ahead an opening is looked for before giving up (a profile whose
#: leave days close the office for ten years is an error).
SEARCH_DAYS = 3660


class Unit(enum.StrEnum):
    """Units a profile may give a time standard in."""

    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    WORKING_DAYS = "working_days"
    #: Elapsed 24-hour days whatever the office hours: for periods given to
    #: the complainant rather than to the office (an appeal window).
    CALENDAR_DAYS = "calendar_days"


class DayCount(enum.StrEnum):
    """How a profile counts "N hari" (unit ``days``): its ``office.day_count``."""

    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"


@lru_cache(maxsize=64)
def _national_days(year: int, joint: bool) -> frozenset[date]:
    categories = ("public", "government") if joint else ("public",)
    return frozenset(holidays.country_holidays("ID", years=year, categories=categories))


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days and hours an office works.

    ``timezone`` is the office's IANA zone (``Asia/Jakarta``, ``Asia/Makassar``
    …); ``leave_days`` are the office's own extra days off; with
    ``observe_joint_holidays`` the national cuti bersama are days off too;
    ``hours`` the open hours per weekday; ``day_count`` how unit ``days`` counts.
    """

    timezone: str = "Asia/Jakarta"
    leave_days: frozenset[date] = field(default_factory=frozenset)
    observe_joint_holidays: bool = True
    hours: OfficeHours = DEFAULT_HOURS
    day_count: DayCount = DayCount.WORKING_DAYS

    @property
    def zone(self) -> ZoneInfo:
        """The office's time zone."""
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        """True for a day with office hours that is no public holiday, cuti bersama
        or office leave day."""
        if self.hours.day(day.weekday()) is None or day in self.leave_days:
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

    def office_spans(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The open spans of ``day`` as aware office-local ``(start, end)`` pairs.

        Empty on a day that is not a working day; otherwise the day's hours
        cut by its breaks, in order.
        """
        hours = self.hours.day(day.weekday())
        if hours is None or not self.is_working_day(day):
            return ()
        zone = self.zone
        return tuple(
            (datetime.combine(day, start, tzinfo=zone), datetime.combine(day, end, tzinfo=zone))
            for start, end in hours.spans()
        )

    def _spans_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open spans ending after ``moment``, in order; ``ValueError`` past :data:`SEARCH_DAYS`."""
        day = moment.astimezone(self.zone).date()
        for offset in range(SEARCH_DAYS):
            for start, end in self.office_spans(day + timedelta(days=offset)):
                if end > moment:
                    yield start, end
        raise ValueError(f"the office has no open hours within {SEARCH_DAYS} days")

    def is_open(self, moment: datetime) -> bool:
        """True while the office is open at ``moment`` (opening included, closing not).

        Raises ``ValueError`` for a naive ``moment``.
        """
        _aware(moment)
        local = moment.astimezone(self.zone)
        return any(start <= local < end for start, end in self.office_spans(local.date()))

    def next_opening(self, moment: datetime) -> datetime:
        """``moment`` itself while open, else the next time the office opens (office zone).

        Raises ``ValueError`` for a naive ``moment``.
        """
        _aware(moment)
        local = moment.astimezone(self.zone)
        for start, _end in self._spans_from(local):
            return max(start, local)
        raise AssertionError("unreachable")  # pragma: no cover - _spans_from raises

    def office_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Office time from ``start`` to ``end`` (zero when ``end <= start``).

        Raises ``ValueError`` for naive datetimes.
        """
        _aware(start)
        _aware(end)
        if end <= start:
            return timedelta(0)
        total = timedelta(0)
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            for span_start, span_end in self.office_spans(day):
                low, high = max(span_start, start), min(span_end, end)
                if high > low:
                    total += high - low
            day += timedelta(days=1)
        return total

    def add_office_time(self, start: datetime, amount: timedelta) -> datetime:
        """The moment ``amount`` of office time after ``start`` (office zone).

        A closed ``start`` counts from the next opening; a zero ``amount``
        gives that opening. When the time runs out exactly at the end of a
        span, the result is that end (the closing time or a break's start).
        Raises ``ValueError`` for a naive ``start`` or a negative ``amount``.
        """
        _aware(start)
        if amount < timedelta(0):
            raise ValueError("amount must be zero or more")
        local = start.astimezone(self.zone)
        remaining = amount
        for span_start, span_end in self._spans_from(local):
            begin = max(span_start, local)
            if remaining <= span_end - begin:
                return begin + remaining
            remaining -= span_end - begin
        raise AssertionError("unreachable")  # pragma: no cover - _spans_from raises

    def clamp_to_hours(self, day: date, clock: time) -> datetime:
        """``clock`` on working day ``day`` moved into its hours.

        Before opening gives the opening, inside a break the break's end,
        after closing the closing time. Raises ``ValueError`` when ``day`` is
        not a working day.
        """
        spans = self.office_spans(day)
        if not spans:
            raise ValueError(f"{day} is not a working day")
        moment = datetime.combine(day, clock, tzinfo=self.zone)
        for start, end in spans:
            if moment < end:
                return max(start, moment)
        return spans[-1][1]


def _aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")


def due_at(start: datetime, amount: int, unit: Unit | str, calendar: WorkingCalendar) -> datetime:
    """When a step that started at ``start`` is due.

    * minutes, hours: office time only (:meth:`WorkingCalendar.add_office_time`);
      a start outside office hours counts from the next opening;
    * days, ``day_count`` ``working_days``: from the next opening at or
      after ``start``, the same time of day on the ``amount``-th working day
      after it, moved into that day's hours (a later opening, a break, an
      earlier closing);
    * days, ``day_count`` ``calendar_days``: from that opening, ``amount`` ×
      24 hours, moved to the next opening when outside office hours;
    * calendar days: ``amount`` × 24 hours of elapsed time, office hours
      ignored (a period the complainant has, e.g. to appeal);
    * working days: the end (23:59:59.999999, office time) of the
      ``amount``-th working day after the start's office-local date — so "3
      working days" from Friday 10:00 before a Monday holiday is Thursday
      end of day.

    ``start`` must be timezone-aware; the result is aware, in the office
    zone. Raises ``ValueError`` for a naive ``start``, a negative ``amount``
    or an unknown unit.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if amount < 0:
        raise ValueError("amount must be zero or more")
    unit = Unit(unit)
    if unit is Unit.MINUTES:
        return calendar.add_office_time(start, timedelta(minutes=amount))
    if unit is Unit.HOURS:
        return calendar.add_office_time(start, timedelta(hours=amount))
    if unit is Unit.CALENDAR_DAYS:
        return start.astimezone(calendar.zone) + timedelta(days=amount)
    if unit is Unit.DAYS:
        opened = calendar.next_opening(start)
        if amount == 0:
            return opened
        if calendar.day_count is DayCount.CALENDAR_DAYS:
            return calendar.next_opening(opened + timedelta(days=amount))
        target = calendar.working_days_after(opened.date(), amount)
        return calendar.clamp_to_hours(target, opened.time())
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
    timezone: str,
    leave_days: Iterable[date],
    observe_joint_holidays: bool = True,
    hours: OfficeHours = DEFAULT_HOURS,
    day_count: DayCount | str = DayCount.WORKING_DAYS,
) -> WorkingCalendar:
    """Build a :class:`WorkingCalendar` from profile values."""
    return WorkingCalendar(
        timezone, frozenset(leave_days), observe_joint_holidays, hours, DayCount(day_count)
    )
