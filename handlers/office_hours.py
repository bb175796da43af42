"""Office hours: when an office is open on each weekday, and its breaks.

A profile gives ``office.hours`` with one entry per weekday (``monday`` …
``sunday``): either ``closed`` (or left out) or the opening and closing time
and the breaks inside the day, all in office-local time written in quotes
(``"07:30"``; unquoted YAML reads ``12:00`` as the number 720)::

    hours:
      monday: {open: "07:30", close: "16:00", breaks: [{start: "12:00", end: "13:00"}]}
      saturday: closed

The defaults (:data:`DEFAULT_HOURS`) follow the working hours of Indonesian
government offices: five working days, Monday to Friday, and 37.5 hours a
week without rest time (Perpres 21/2023, *Hari Kerja dan Jam Kerja Instansi
Pemerintah dan Pegawai Aparatur Sipil Negara*). The times of day are common
practice for central-government offices: Monday-Thursday 07:30-16:00 with a
12:00-13:00 rest (7.5 h), Friday 07:30-16:30 with a longer 11:30-13:00 rest
for Friday prayer (7.5 h). An office whose SOP or notice board says
otherwise states its own hours in its profile.

This module is pure: it knows weekdays and times of day, not dates, holidays
or time zones (those are :class:`handlers.timestandards.WorkingCalendar`'s).
"""

from __future__ import annotations

import itertools
import re
from datetime import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Weekday keys in ``office.hours``, Monday (``date.weekday() == 0``) first.
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


def parse_clock(value: Any) -> time:
    """A time of day from ``"HH:MM"`` or ``"HH:MM:SS"`` (24-hour clock; the
    latter is what a dumped profile holds) or a :class:`datetime.time`.

    Raises ``ValueError`` with a message saying how to write it for anything
    else, including the integers YAML makes of unquoted ``12:00``.
    """
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        match = _CLOCK.match(value.strip())
        if match:
            return time(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))
    raise ValueError(f'write a time of day as "HH:MM" in quotes (e.g. "07:30"), not {value!r}')


class Break(BaseModel):
    """A break inside an office day (rest, Friday prayer): ``start`` < ``end``.

    ``label`` is free text for people reading the profile (e.g. ``Salat Jumat``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time
    end: time
    label: str | None = Field(None, max_length=100)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> time:
        return parse_clock(value)

    @model_validator(mode="after")
    def _order(self) -> Break:
        if self.start >= self.end:
            raise ValueError(
                f"break start {self.start:%H:%M} must be before its end {self.end:%H:%M}"
            )
        return self


class DayHours(BaseModel):
    """One weekday's hours: open from ``open`` to ``close`` minus ``breaks``.

    Raises (on validation) when ``open`` is not before ``close``, a break
    is not inside the day, or two breaks overlap.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    open: time
    close: time
    breaks: tuple[Break, ...] = ()

    @field_validator("open", "close", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> time:
        return parse_clock(value)

    @model_validator(mode="after")
    def _consistent(self) -> DayHours:
        if self.open >= self.close:
            raise ValueError(
                f"opening time {self.open:%H:%M} must be before closing time {self.close:%H:%M}"
            )
        ordered = sorted(self.breaks, key=lambda b: b.start)
        for item in ordered:
            if item.start <= self.open or item.end >= self.close:
                raise ValueError(
                    f"break {item.start:%H:%M}-{item.end:%H:%M} must lie inside the day "
                    f"{self.open:%H:%M}-{self.close:%H:%M}"
                )
        for first, second in itertools.pairwise(ordered):
            if second.start < first.end:
                raise ValueError(
                    f"breaks {first.start:%H:%M}-{first.end:%H:%M} and "
                    f"{second.start:%H:%M}-{second.end:%H:%M} overlap"
                )
        return self

    def spans(self) -> tuple[tuple[time, time], ...]:
        """The open spans of the day, in order: ``(start, end)`` with start < end."""
        spans: list[tuple[time, time]] = []
        start = self.open
        for item in sorted(self.breaks, key=lambda b: b.start):
            spans.append((start, item.start))
            start = item.end
        spans.append((start, self.close))
        return tuple(spans)

    def minutes_open(self) -> float:
        """Office time of the day in minutes (breaks excluded)."""
        return sum(_minutes(end) - _minutes(start) for start, end in self.spans())


def _minutes(moment: time) -> float:
    return moment.hour * 60 + moment.minute + moment.second / 60


class OfficeHours(BaseModel):
    """Hours per weekday; ``None`` (YAML ``closed`` or ``null``) is a closed day.

    At least one weekday must be open. Raises (on validation) naming the day
    and what is wrong.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    monday: DayHours | None = None
    tuesday: DayHours | None = None
    wednesday: DayHours | None = None
    thursday: DayHours | None = None
    friday: DayHours | None = None
    saturday: DayHours | None = None
    sunday: DayHours | None = None

    @field_validator(*WEEKDAYS, mode="before")
    @classmethod
    def _closed(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in ("closed", "tutup"):
            return None
        return value

    @model_validator(mode="after")
    def _some_day_open(self) -> OfficeHours:
        if all(self.day(weekday) is None for weekday in range(7)):
            raise ValueError("at least one weekday must have office hours")
        return self

    def day(self, weekday: int) -> DayHours | None:
        """The hours of ``weekday`` (Monday = 0 … Sunday = 6), ``None`` when closed."""
        value: DayHours | None = getattr(self, WEEKDAYS[weekday])
        return value

    def weekly_minutes(self) -> float:
        """Office time in a week without holidays, in minutes."""
        return sum(d.minutes_open() for w in range(7) if (d := self.day(w)) is not None)


def _government_day(close: str, rest: tuple[str, str], label: str) -> DayHours:
    return DayHours.model_validate(
        {
            "open": "07:30",
            "close": close,
            "breaks": [{"start": rest[0], "end": rest[1], "label": label}],
        }
    )


#: Indonesian government office hours (see the module docstring): 37.5 hours
#: a week without rest time, Monday to Friday.
DEFAULT_HOURS = OfficeHours(
    monday=_government_day("16:00", ("12:00", "13:00"), "Istirahat"),
    tuesday=_government_day("16:00", ("12:00", "13:00"), "Istirahat"),
    wednesday=_government_day("16:00", ("12:00", "13:00"), "Istirahat"),
    thursday=_government_day("16:00", ("12:00", "13:00"), "Istirahat"),
    friday=_government_day("16:30", ("11:30", "13:00"), "Istirahat dan Salat Jumat"),
)
