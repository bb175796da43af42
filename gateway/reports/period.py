"""A report period: office-local calendar days, first and last included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: Longest period a report covers (about ten years), so one request stays bounded.
MAX_DAYS = 3660


class PeriodError(ValueError):
    """A period parameter is not valid; ``field`` is ``"from"`` or ``"to"``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Period:
    """Days ``first`` … ``last`` (both included) in the office's time zone."""

    first: date
    last: date
    timezone: str

    @property
    def start(self) -> datetime:
        """The period's first moment: ``first`` at 00:00 office time (aware)."""
        return datetime.combine(self.first, time.min, tzinfo=ZoneInfo(self.timezone))

    @property
    def end(self) -> datetime:
        """The moment after the period: the day after ``last`` at 00:00 office time (aware)."""
        return datetime.combine(
            self.last + timedelta(days=1), time.min, tzinfo=ZoneInfo(self.timezone)
        )

    def contains(self, when: datetime) -> bool:
        """Whether the aware ``when`` falls within the period."""
        return self.start <= when < self.end

    @property
    def slug(self) -> str:
        """``2026-11-01_2026-11-30``: the period in download file names."""
        return f"{self.first.isoformat()}_{self.last.isoformat()}"


def month_of(today: date, timezone: str) -> Period:
    """The calendar month containing ``today``."""
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(first, following - timedelta(days=1), timezone)


def _day(raw: str | None, field: str) -> date | None:
    if raw is None or not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise PeriodError(field, f"{field} must be a date YYYY-MM-DD") from None


def parse_period(raw_from: str | None, raw_to: str | None, *, today: date, timezone: str) -> Period:
    """The period asked for with ``from``/``to`` (``YYYY-MM-DD``, office-local days).

    A missing bound is the first or last day of ``today``'s month, so no
    parameters at all give this month (docs/records.md, "Register export").

    Raises:
        PeriodError: a bound is not a date, ``from`` is after ``to``, or the
            period is longer than :data:`MAX_DAYS`.
    """
    default = month_of(today, timezone)
    first = _day(raw_from, "from") or default.first
    last = _day(raw_to, "to") or default.last
    if first > last:
        raise PeriodError("to", "to must not be before from")
    if (last - first).days >= MAX_DAYS or last == date.max:
        raise PeriodError("to", f"a period covers at most {MAX_DAYS} days")
    return Period(first, last, timezone)
