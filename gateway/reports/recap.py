"""The periodic complaint recap (Rekapitulasi Keluhan) for a period.

Perpres 76/2013 asks for periodic reporting and ISO 10002:2018 for analysis
of complaints and of the complainants' satisfaction. The recap holds
(README.md, "Staff inbox", reports):

* counts of the complaints **received** in the period by channel, category
  and (current) status;
* the **on-time rate per workflow step**: every step a complaint *left*
  during the period (a ``transition`` event in the period, its
  ``from_status`` the step) counts once; the step started at the previous
  transition of that complaint, or at its receipt for the first step
  (:func:`handlers.workflow.start_first_step` starts it there); it was on
  time when left no later than ``state.standard.due(start, office calendar)``,
  the same office-time clock as the reminders (docs/time-standards.md: a step
  left on Monday morning after a weekend receipt is on time).
  Steps without a time standard are not counted;
* **time to close** for the complaints closed in the period — closed meaning
  the first move into a final state of the workflow
  (:func:`gateway.reports.register.closing_times`): mean and 90th percentile
  (nearest rank: a time some complaint actually took) in hours, and in
  working days (working days after the day of receipt up to the closing day,
  the office calendar of :mod:`handlers.timestandards`; same day: 0);
* **satisfaction**: the 1-5 scores recorded in the period
  (``Complaint.satisfaction_at``): count, mean, distribution.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from gateway.reports.period import Period
from gateway.reports.register import closing_times, received_in
from gateway.visibility import VisibilityRule, visible_clause
from handlers.profile import Profile
from handlers.timestandards import WorkingCalendar
from handlers.workflow_spec import CATEGORIES, WorkflowSpec
from storage.event_kinds import ComplaintEventKind
from storage.models import Complaint, ComplaintEvent

#: Satisfaction scores (ISO 10002 satisfaction with the handling, asked at closing).
SCORES = (1, 2, 3, 4, 5)


@dataclass(frozen=True, slots=True)
class Tally:
    """How many complaints have ``key`` (a channel, category or status; ``None``: none)."""

    key: str | None
    count: int


@dataclass(frozen=True, slots=True)
class StepTiming:
    """Steps of state ``state`` left in the period and how many by their due time."""

    state: str
    left: int
    on_time: int

    @property
    def late(self) -> int:
        """Steps left after their due time."""
        return self.left - self.on_time

    @property
    def rate(self) -> float | None:
        """Percentage left on time (0-100); ``None`` when no step was left."""
        return 100.0 * self.on_time / self.left if self.left else None


@dataclass(frozen=True, slots=True)
class CloseTimes:
    """Time from receipt to closing of the complaints closed in the period.

    Hours are elapsed time; working days count the office's working days
    after the day of receipt up to the closing day. ``None`` when nothing
    was closed.
    """

    count: int
    mean_hours: float | None
    p90_hours: float | None
    mean_working_days: float | None
    p90_working_days: int | None


@dataclass(frozen=True, slots=True)
class Satisfaction:
    """Satisfaction scores recorded in the period; ``distribution[i]`` counts score ``i + 1``."""

    count: int
    mean: float | None
    distribution: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Recap:
    """The whole recap of one period (see the module docstring)."""

    period: Period
    received: int
    by_channel: tuple[Tally, ...]
    by_category: tuple[Tally, ...]
    by_status: tuple[Tally, ...]
    steps: tuple[StepTiming, ...]
    close_times: CloseTimes
    satisfaction: Satisfaction


@dataclass(frozen=True, slots=True)
class Move:
    """A ``transition`` event of one complaint: when, and the step it left."""

    complaint_id: int
    at: datetime
    from_status: str | None


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile of ``values`` by nearest rank (an observed value).

    Raises ``ValueError`` for no values or ``pct`` outside (0, 100].
    """
    if not values:
        raise ValueError("no values")
    if not 0 < pct <= 100:
        raise ValueError("pct must be in (0, 100]")
    ordered = sorted(values)
    return ordered[max(math.ceil(pct / 100 * len(ordered)), 1) - 1]


def step_timings(
    spec: WorkflowSpec,
    calendar: WorkingCalendar,
    period: Period,
    received: dict[int, datetime],
    moves: Iterable[Move],
) -> tuple[StepTiming, ...]:
    """On-time counts per step with a time standard, in the workflow's state order.

    ``moves`` are every transition of the complaints concerned up to the
    period's end, ordered by complaint and time; ``received`` gives each
    complaint's receipt (the start of its first step).
    """
    left = dict.fromkeys(spec.states, 0)
    on_time = dict.fromkeys(spec.states, 0)
    started: dict[int, datetime] = {}
    for move in moves:
        start = started.get(move.complaint_id, received[move.complaint_id])
        started[move.complaint_id] = move.at
        state = spec.states.get(move.from_status or "")
        if state is None or state.standard is None or not period.contains(move.at):
            continue
        assert move.from_status is not None
        left[move.from_status] += 1
        if move.at <= state.standard.due(start, calendar):
            on_time[move.from_status] += 1
    return tuple(
        StepTiming(name, left[name], on_time[name])
        for name, state in spec.states.items()
        if state.standard is not None and not state.final
    )


def close_times(
    calendar: WorkingCalendar, spans: Iterable[tuple[datetime, datetime]]
) -> CloseTimes:
    """Mean and 90th percentile of ``(received_at, closed_at)`` spans (see :class:`CloseTimes`)."""
    hours: list[float] = []
    days: list[int] = []
    for received_at, closed_at in spans:
        hours.append((closed_at - received_at).total_seconds() / 3600)
        days.append(
            calendar.working_days_between(
                received_at.astimezone(calendar.zone).date(),
                closed_at.astimezone(calendar.zone).date(),
            )
        )
    if not hours:
        return CloseTimes(0, None, None, None, None)
    return CloseTimes(
        count=len(hours),
        mean_hours=sum(hours) / len(hours),
        p90_hours=percentile(hours, 90),
        mean_working_days=sum(days) / len(days),
        p90_working_days=int(percentile(days, 90)),
    )


def satisfaction(counts: dict[int, int]) -> Satisfaction:
    """Summarise ``score → count`` (scores outside 1-5 are ignored)."""
    distribution = tuple(counts.get(score, 0) for score in SCORES)
    total = sum(distribution)
    mean = sum(s * n for s, n in zip(SCORES, distribution, strict=True)) / total if total else None
    return Satisfaction(total, mean, distribution)


async def _tally(
    session: AsyncSession,
    column: InstrumentedAttribute[Any],
    period: Period,
    visible: VisibilityRule | None,
) -> dict[str | None, int]:
    result = await session.execute(
        select(column, func.count())
        .where(*received_in(period), *visible_clause(visible))
        .group_by(column)
    )
    return {key: int(count) for key, count in result}


def _ordered(counts: dict[str | None, int], order: Sequence[str | None]) -> tuple[Tally, ...]:
    """Tallies in ``order`` (zero counts included), then any other key by count."""
    known = [Tally(key, counts.get(key, 0)) for key in order]
    rest = sorted(
        (Tally(k, n) for k, n in counts.items() if k not in order),
        key=lambda t: (-t.count, t.key or ""),
    )
    return (*known, *rest)


async def build_recap(
    session: AsyncSession,
    *,
    profile: Profile,
    period: Period,
    visible: VisibilityRule | None = None,
) -> Recap:
    """The recap of ``period`` for a viewer under ``visible`` (module docstring)."""
    calendar = profile.office.calendar()
    by_channel = await _tally(session, Complaint.channel, period, visible)
    by_category = await _tally(session, Complaint.category, period, visible)
    by_status = await _tally(session, Complaint.status, period, visible)
    spec = profile.workflow
    left_in_period = select(ComplaintEvent.complaint_id).where(
        ComplaintEvent.kind == ComplaintEventKind.TRANSITION,
        ComplaintEvent.at >= period.start,
        ComplaintEvent.at < period.end,
    )
    rows = (
        await session.execute(
            select(
                ComplaintEvent.complaint_id,
                ComplaintEvent.at,
                ComplaintEvent.from_status,
                Complaint.received_at,
            )
            .join(Complaint, Complaint.id == ComplaintEvent.complaint_id)
            .where(
                ComplaintEvent.kind == ComplaintEventKind.TRANSITION,
                ComplaintEvent.complaint_id.in_(left_in_period),
                ComplaintEvent.at < period.end,
                *visible_clause(visible),
            )
            .order_by(ComplaintEvent.complaint_id, ComplaintEvent.at, ComplaintEvent.id)
        )
    ).all()
    received = {row.complaint_id: row.received_at for row in rows}
    steps = step_timings(
        spec,
        calendar,
        period,
        received,
        (Move(row.complaint_id, row.at, row.from_status) for row in rows),
    )
    closing = closing_times(profile).subquery()
    spans = (
        await session.execute(
            select(Complaint.received_at, closing.c.closed_at)
            .join(closing, closing.c.complaint_id == Complaint.id)
            .where(
                closing.c.closed_at >= period.start,
                closing.c.closed_at < period.end,
                *visible_clause(visible),
            )
        )
    ).all()
    scores = await session.execute(
        select(Complaint.satisfaction, func.count())
        .where(
            Complaint.satisfaction.is_not(None),
            Complaint.satisfaction_at >= period.start,
            Complaint.satisfaction_at < period.end,
            *visible_clause(visible),
        )
        .group_by(Complaint.satisfaction)
    )
    return Recap(
        period=period,
        received=sum(by_channel.values()),
        by_channel=_ordered(by_channel, ()),
        by_category=_ordered(by_category, (*CATEGORIES, None)),
        by_status=_ordered(by_status, tuple(spec.states)),
        steps=steps,
        close_times=close_times(calendar, spans),
        satisfaction=satisfaction({int(s): int(n) for s, n in scores if s is not None}),
    )
