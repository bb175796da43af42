"""Gauges read from the database when ``/metrics`` or ``/readyz`` asks (docs/observability.md).

Backlogs and ages are facts of the shared database, not of one process: every
``aduan serve`` reads them at scrape time, so each reports the same truth
whichever process did the work. :func:`read_gauges` is a handful of indexed
aggregate queries in one session; the callers bound it with
``ADUAN_HEALTHZ_TIMEOUT``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, or_, select

from storage.db import SessionFactory
from storage.models import (
    Appeal,
    Complaint,
    Direction,
    ImapCheckpoint,
    Lease,
    Message,
    OutboxMessage,
    OutboxStatus,
)
from storage.types import utcnow

#: Leases held by the pollers (channels/email/imap.py, channels/telegram/channel.py).
POLLER_LEASE_PREFIXES = ("imap:", "telegram:")


@dataclass(frozen=True)
class DatabaseGauges:
    """One reading of the database; ages and times are seconds.

    ``outbox_backlog``: rows by status, ``pending`` and ``sending`` (0 when none);
    ``outbox_oldest_age``: age of the oldest of those rows by ``created_at``;
    ``outbox_due_wait``: how long the oldest *due* pending row has waited past
    its ``next_attempt_at`` (rows backing off are not late);
    ``unprocessed`` / ``processing_lag``: inbound messages not yet processed and
    the age of the oldest; ``imap_last_uid_age``: per mailbox key, seconds since
    its checkpoint last moved (a new UID was seen); ``breaches``: open
    complaint and appeal steps past their time standard; ``poller_leases``:
    per poller lease name, seconds until it lapses (negative: lapsed) and its
    holder.
    """

    outbox_backlog: dict[str, int]
    outbox_oldest_age: float
    outbox_due_wait: float
    unprocessed: int
    processing_lag: float
    imap_last_uid_age: dict[str, float] = field(default_factory=dict)
    breaches: dict[str, int] = field(default_factory=dict)
    poller_leases: dict[str, tuple[float, str]] = field(default_factory=dict)


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


async def read_gauges(sessions: SessionFactory, now: datetime | None = None) -> DatabaseGauges:
    """Read :class:`DatabaseGauges` at ``now`` (default: the current time).

    Raises whatever the database raises (unreachable, statement timeout).
    """
    now = now or utcnow()
    waiting = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)
    async with sessions() as session:
        outbox = (
            await session.execute(
                select(OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
                .where(OutboxMessage.status.in_(waiting))
                .group_by(OutboxMessage.status)
            )
        ).all()
        oldest_due = await session.scalar(
            select(func.min(OutboxMessage.next_attempt_at)).where(
                OutboxMessage.status == OutboxStatus.PENDING.value,
                OutboxMessage.next_attempt_at <= now,
            )
        )
        unprocessed, oldest_inbound = (
            await session.execute(
                select(func.count(), func.min(Message.created_at)).where(
                    Message.processed_at.is_(None), Message.direction == Direction.IN.value
                )
            )
        ).one()
        checkpoints = (
            await session.execute(select(ImapCheckpoint.mailbox_key, ImapCheckpoint.updated_at))
        ).all()
        complaint_breaches = await session.scalar(
            select(func.count()).select_from(Complaint).where(Complaint.step_due_at < now)
        )
        appeal_breaches = await session.scalar(
            select(func.count()).select_from(Appeal).where(Appeal.step_due_at < now)
        )
        lease_rows = (
            await session.execute(
                select(Lease.name, Lease.expires_at, Lease.holder).where(
                    or_(*(Lease.name.startswith(p) for p in POLLER_LEASE_PREFIXES))
                )
            )
        ).all()
    backlog = {status: 0 for status in waiting}
    oldest: datetime | None = None
    for status, count, created in outbox:
        backlog[status] = int(count)
        if created is not None and (oldest is None or created < oldest):
            oldest = created
    return DatabaseGauges(
        outbox_backlog=backlog,
        outbox_oldest_age=_age(now, oldest),
        outbox_due_wait=_age(now, oldest_due),
        unprocessed=int(unprocessed or 0),
        processing_lag=_age(now, oldest_inbound),
        imap_last_uid_age={key: _age(now, updated) for key, updated in checkpoints},
        breaches={"complaint": int(complaint_breaches or 0), "appeal": int(appeal_breaches or 0)},
        poller_leases={
            name: ((expires - now).total_seconds(), holder) for name, expires, holder in lease_rows
        },
    )


class GaugeCollector(Collector):
    """A prometheus-client collector over one :class:`DatabaseGauges` reading;
    with ``None`` (the database did not answer in time) only
    ``aduan_database_up 0`` is given."""

    def __init__(self, gauges: DatabaseGauges | None) -> None:
        self._gauges = gauges

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The ``aduan_*`` gauge families (docs/observability.md has the table)."""
        g = self._gauges
        yield GaugeMetricFamily(
            "aduan_database_up",
            "1 when the database answered the scrape's queries in time, else 0.",
            value=0 if g is None else 1,
        )
        if g is None:
            return
        yield _by_label(
            "aduan_outbox_backlog",
            "Outbox rows not yet sent, by status.",
            "status",
            g.outbox_backlog,
        )
        yield GaugeMetricFamily(
            "aduan_outbox_oldest_age_seconds",
            "Age of the oldest pending or sending outbox row (0 when none).",
            value=g.outbox_oldest_age,
        )
        yield GaugeMetricFamily(
            "aduan_outbox_due_wait_seconds",
            "How long the oldest due pending outbox row has waited past its attempt time.",
            value=g.outbox_due_wait,
        )
        yield GaugeMetricFamily(
            "aduan_unprocessed_messages",
            "Inbound messages stored but not yet processed.",
            value=g.unprocessed,
        )
        yield GaugeMetricFamily(
            "aduan_processing_lag_seconds",
            "Age of the oldest inbound message not yet processed (0 when none).",
            value=g.processing_lag,
        )
        yield _by_label(
            "aduan_imap_last_seen_uid_age_seconds",
            "Seconds since a mailbox's checkpoint last moved to a new UID, by mailbox key.",
            "mailbox",
            g.imap_last_uid_age,
        )
        yield _by_label(
            "aduan_time_standard_breaches",
            "Open complaint and appeal steps past their SOP time standard.",
            "record",
            g.breaches,
        )
        yield _by_label(
            "aduan_poller_lease_remaining_seconds",
            "Seconds until a poller's lease lapses (negative: lapsed, nobody polls), by lease.",
            "lease",
            {name: remaining for name, (remaining, _holder) in g.poller_leases.items()},
        )


def _by_label(
    name: str, documentation: str, label: str, values: Mapping[str, float]
) -> GaugeMetricFamily:
    """A gauge family with one sample per key of ``values`` (label ``label``), in key order."""
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family
