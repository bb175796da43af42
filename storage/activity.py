"""Keeping each complaint's activity times current, for the staff inbox (docs/inbox.md).

``Complaint.last_activity_at`` orders the inbox: it is set at registration
and moved to the commit time whenever a transaction

* links an inbound message to the complaint (a complainant's follow-up, the
  message that completed registration, a reply in the complaint's thread),
* stages an outbound message to the complainant (a bot answer, a staff
  message, a workflow notice: :class:`storage.models.Message` rows with the
  complaint's id), or
* records a complaint event (a staff action, a delivery failure …) — except
  the time-standard reminders and escalations of :data:`QUIET_EVENT_KINDS`,
  which the inbox shows as the time-standard state instead.

``Complaint.last_inbound_at`` moves only for inbound messages; the unread
marker compares it with the viewer's :class:`storage.models.ComplaintRead`.
Both only ever move forward.

How: :class:`TrackedSession` is the ORM session class of
:func:`storage.db.session_factory`. Its ``before_flush`` hook notes new
complaint events, new messages and inbound messages whose ``complaint_id``
was just set; its ``before_commit`` hook reads the noted messages' final
``complaint_id`` (the intake engine may link a message and unlink it again
in one transaction: the ``baru`` command) and moves the times forward with
one ``UPDATE`` per transaction; loaded complaints get the new values in
memory too. A transaction that ends without committing drops its notes.

Covered beyond the ORM: :mod:`gateway.ingest` stores inbound messages with a
multi-row Core ``INSERT`` and no complaint; :mod:`handlers.intake` links each
one later by setting ``msg.complaint_id`` on the loaded row, which passes
through here. Its Core ``UPDATE`` linking a draft's earlier messages to the
complaint just registered needs nothing: the message being processed is
linked through the ORM in the same transaction. Writers that bypass the ORM
for messages or events elsewhere must call :func:`touch` themselves.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, event, inspect, update
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from storage.event_kinds import ComplaintEventKind
from storage.models import Complaint, ComplaintEvent, Direction, Message
from storage.types import UTCDateTime, utcnow

#: Event kinds that are not activity: the periodic sweeps' reminders and
#: escalations (handlers/workflow.py, handlers/appeal_standards.py).
QUIET_EVENT_KINDS: frozenset[ComplaintEventKind] = frozenset(
    {
        ComplaintEventKind.STEP_REMINDER,
        ComplaintEventKind.STEP_OVERDUE_ESCALATED,
        ComplaintEventKind.APPEAL_STEP_REMINDER,
        ComplaintEventKind.APPEAL_STEP_OVERDUE_ESCALATED,
    }
)

_PENDING = "aduan.activity"


@dataclass
class _Pending:
    """What a transaction did that counts as activity, noted at each flush."""

    complaints: set[int] = field(default_factory=set)
    messages: list[Message] = field(default_factory=list)


class TrackedSession(Session):
    """The ORM session of aduan: keeps complaints' activity times (module docstring)."""


def _pending(session: Session) -> _Pending:
    found = session.info.get(_PENDING)
    if found is None:
        found = session.info[_PENDING] = _Pending()
    return cast(_Pending, found)


@event.listens_for(TrackedSession, "before_flush")
def _note(session: Session, _context: Any, _instances: Any) -> None:
    pending: _Pending | None = None
    for obj in session.new:
        if isinstance(obj, ComplaintEvent):
            if obj.kind not in QUIET_EVENT_KINDS and obj.complaint_id is not None:
                pending = pending or _pending(session)
                pending.complaints.add(obj.complaint_id)
        elif isinstance(obj, Message):
            pending = pending or _pending(session)
            pending.messages.append(obj)
    for obj in session.dirty:
        if (
            isinstance(obj, Message)
            and obj.direction == Direction.IN.value
            and inspect(obj).attrs.complaint_id.history.has_changes()
        ):
            pending = pending or _pending(session)
            pending.messages.append(obj)


@event.listens_for(TrackedSession, "before_commit")
def _apply(session: Session) -> None:
    # The commit flushes what is still pending only after this hook: flush
    # first, so that the last changes are noted too.
    session.flush()
    pending = cast(_Pending | None, session.info.pop(_PENDING, None))
    if pending is None:
        return
    activity = set(pending.complaints)
    inbound: set[int] = set()
    for message in pending.messages:
        if message.complaint_id is None:
            continue
        activity.add(message.complaint_id)
        if message.direction == Direction.IN.value:
            inbound.add(message.complaint_id)
    if activity:
        touch(session, activity, inbound=inbound, now=utcnow())


@event.listens_for(TrackedSession, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def touch(
    session: Session,
    complaint_ids: Collection[int],
    *,
    inbound: Collection[int] = (),
    now: datetime,
) -> None:
    """Move the complaints' ``last_activity_at`` — and for ids also in
    ``inbound``, ``last_inbound_at`` — forward to ``now`` (timezone-aware UTC).

    Never moves a time backwards; leaves ``updated_at`` alone (activity is not
    a change of the record). Runs in the caller's transaction; complaints
    loaded in ``session`` get the new values in memory too. For the
    synchronous session (inside an ``AsyncSession``, use ``run_sync``).
    """
    table = cast(Table, Complaint.__table__)
    at = bindparam("activity_now", now, type_=UTCDateTime())

    def forward(column: Any) -> Any:
        return case((column.is_(None) | (column < at), at), else_=column)

    for ids, columns in (
        (sorted(set(complaint_ids) - set(inbound)), ("last_activity_at",)),
        (sorted(set(inbound)), ("last_activity_at", "last_inbound_at")),
    ):
        if not ids:
            continue
        values = {name: forward(table.c[name]) for name in columns}
        session.execute(
            update(table).where(table.c.id.in_(ids)).values(**values, updated_at=table.c.updated_at)
        )
        for complaint_id in ids:
            loaded = session.identity_map.get(identity_key(Complaint, complaint_id))
            if loaded is None:
                continue
            state = inspect(loaded)
            for name in columns:
                if name in state.unloaded:
                    continue
                current = getattr(loaded, name)
                if current is None or current < now:
                    set_committed_value(loaded, name, now)
