"""Moments counted in office time around a due time, for sweep tests.

A sweep does nothing while the office is closed, so a test sweeping "4
minutes before the due time" asks for 4 minutes of office time before it
(:class:`handlers.timestandards.WorkingCalendar`), not 4 minutes of wall time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.timestandards import WorkingCalendar


def office_before(calendar: WorkingCalendar, due: datetime, left: timedelta) -> datetime:
    """The latest moment with ``left`` of office time (a whole number of seconds)
    still to go before ``due``; the office is open then (``left`` > 0)."""
    at = due - left
    while calendar.office_time_between(at, due) < left:
        at -= timedelta(seconds=30)
    while calendar.office_time_between(at + timedelta(seconds=1), due) >= left:
        at += timedelta(seconds=1)
    return at


def office_after(calendar: WorkingCalendar, due: datetime, past: timedelta) -> datetime:
    """The moment ``past`` of office time after ``due`` (open when ``past`` > 0)."""
    return calendar.add_office_time(due, past)
