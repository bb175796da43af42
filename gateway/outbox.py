"""The transactional outbox (docs/architecture.md, reliability rule 4).

:class:`OutboxWriter` adds an outgoing message inside the caller's transaction
(the same one as the change that causes it). :class:`Dispatcher` later claims
due rows, sends them through their channel and records the outcome:

* success → ``sent`` with the provider's id;
* :class:`~channels.errors.RateLimited` → retried after ``retry_after``;
* :class:`~channels.errors.TemporaryError` (or any unexpected exception) →
  retried with capped exponential backoff, ``failed`` after ``max_attempts``;
* :class:`~channels.errors.PermanentError` → ``failed``, kept for staff, and a
  ``delivery_failed`` complaint event.

Delivery is at-least-once; ``idempotency_key`` travels with the send. Rows to
one recipient go out in order: a row waits while an earlier row to the same
recipient is unsent. Rows are claimed in batches of at most the free sending
slots and their ``sent`` outcomes committed together
(:mod:`gateway.outbox_sent`); docs/architecture.md "Sending the outbox".

Reply loop guard (docs/email.md "Reply loop guard"): on a channel that is not
a chat (email), an automatic reply (the row's message is ``automatic``) to an
address that already received ``reply_cap_per_hour`` automatic replies on that
channel in the last hour is not sent: the row is ``failed`` with error code ``reply_cap`` and the reason,
and a ``delivery_failed`` event tells staff on the complaint. Staff-written
messages and staff emails are never held.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from channels.base import Channel, ChannelName, OutboundMessage
from channels.errors import PermanentError, RateLimited, TemporaryError
from gateway.metrics import count_send_failure
from gateway.outbox_sent import Sent, SentRecorder
from gateway.window import WindowPolicy, record_plan
from storage.db import SessionFactory
from storage.event_kinds import ComplaintEventKind
from storage.models import ComplaintEvent, Message, OutboxMessage, OutboxStatus
from storage.types import utcnow

log = logging.getLogger(__name__)

REPLY_CAP_CODE = "reply_cap"
"""``error_code`` of an automatic reply held back by the reply loop guard."""

REPLY_CAP_ERROR = (
    "not sent: too many automatic replies to this address in the last hour "
    "(reply loop guard, ADUAN_REPLY_CAP_PER_HOUR); a reply written by staff still goes out"
)
"""``last_error`` of such a row (the inbox shows it translated)."""


#: Upper bound on one provider call, in seconds: a send still running then is
#: abandoned and retried later (at-least-once). Also how long a stopping
#: process waits for its sends in flight (docs/architecture.md, "Stopping").
SEND_TIMEOUT_SECONDS = 20.0
#: Extra seconds a claim lasts beyond :data:`SEND_TIMEOUT_SECONDS`, for the
#: database writes around the call. A claim that lapses (its sender was
#: killed) is taken again by any process, so a killed sender's rows go out
#: again after about ``SEND_TIMEOUT_SECONDS + CLAIM_MARGIN_SECONDS`` = 30 s.
CLAIM_MARGIN_SECONDS = 10.0


#: Rows :meth:`Dispatcher.due_ids` and the claims choose from, and the earlier
#: row of the same recipient that holds one back. Module-level aliases keep
#: the statements' cache keys stable, so SQLAlchemy compiles them once.
_DUE = aliased(OutboxMessage, name="outbox_due")
_EARLIER = aliased(OutboxMessage, name="outbox_earlier")

_UNSENT = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)


def _still_free(row: type[OutboxMessage], now: datetime) -> ColumnElement[bool]:
    """``row`` is pending and due, or was claimed by a sender whose claim lapsed."""
    return or_(
        and_(row.status == OutboxStatus.PENDING.value, row.next_attempt_at <= now),
        and_(row.status == OutboxStatus.SENDING.value, row.lease_until < now),
    )


def _recheck_free(now: datetime) -> ColumnElement[bool]:
    """:func:`_still_free` for the claim's own UPDATE, written so that no index
    applies (``status || ''``): the planner then finds the rows by the chosen
    ids, instead of scanning every pending row again for each claim."""
    status = OutboxMessage.status.concat("")
    return or_(
        and_(status == OutboxStatus.PENDING.value, OutboxMessage.next_attempt_at <= now),
        and_(status == OutboxStatus.SENDING.value, OutboxMessage.lease_until < now),
    )


def _claimable(row: type[OutboxMessage], now: datetime) -> ColumnElement[bool]:
    """``row`` may be sent now: free (:func:`_still_free`) and no earlier row to
    the same recipient on the same channel is unsent (order per recipient)."""
    return and_(
        _still_free(row, now),
        ~exists().where(
            _EARLIER.channel == row.channel,
            _EARLIER.recipient == row.recipient,
            _EARLIER.id < row.id,
            _EARLIER.status.in_(_UNSENT),
        ),
    )


def _first_error(done: set[asyncio.Task[None]]) -> BaseException | None:
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            return task.exception()
    return None


def backoff_seconds(attempts: int, *, base: float = 5.0, cap: float = 3600.0) -> float:
    """Delay before retry number ``attempts`` (1-based): 5 s doubling, capped at 1 h, ±20 %."""
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return float(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not security


#: Rows one dispatcher sends at once. Claims are taken when half the slots are
#: free, so this also sets how many rows one claim transaction takes (8): with
#: a durable commit per claim (SQLite ``synchronous=FULL``), fewer, larger
#: claims are what lets a burst of acknowledgements go out near the speed of a
#: bare SMTP loop (docs/email.md "Sending"). Email sends beyond the SMTP pool's
#: connections wait for one inside their send timeout.
SEND_SLOTS = 16


class Dispatcher:
    """Claims due outbox rows and sends them through the configured channels.

    ``channels`` maps channel name → channel; a row whose channel is off stays
    pending (retried every ``channel_off_retry`` seconds) with the reason in
    ``last_error``, so configuring the channel later delivers it.
    ``reply_cap_per_hour`` (``ADUAN_REPLY_CAP_PER_HOUR``; 0 = no cap) bounds
    automatic replies to one address on a non-chat channel in any hour (the
    module's "reply loop guard").

    Each provider call is bounded by ``send_timeout`` seconds (a call cut
    there is a temporary error, retried); a claim lasts ``send_timeout`` plus
    :data:`CLAIM_MARGIN_SECONDS` unless ``lease_seconds`` is given. After
    :meth:`close` no new row is claimed, and :meth:`drain` waits for the sends
    in flight (a clean stop lets them finish instead of cutting them).
    """

    def __init__(
        self,
        sessions: SessionFactory,
        channels: Mapping[str, Channel],
        *,
        max_attempts: int = 12,
        send_timeout: float = SEND_TIMEOUT_SECONDS,
        lease_seconds: float | None = None,
        concurrency: int = SEND_SLOTS,
        channel_off_retry: float = 600.0,
        window: WindowPolicy | None = None,
        reply_cap_per_hour: int = 10,
    ) -> None:
        self._sessions = sessions
        self.reply_cap_per_hour = reply_cap_per_hour
        self._channels = channels
        self._window = window
        self.max_attempts = max_attempts
        self.send_timeout = send_timeout
        self.lease_seconds = (
            send_timeout + CLAIM_MARGIN_SECONDS if lease_seconds is None else lease_seconds
        )
        self._closing = False
        self._in_flight = 0
        self._settled = asyncio.Event()
        self._settled.set()
        self.channel_off_retry = channel_off_retry
        self._concurrency = max(1, concurrency)
        self._free_slots = self._concurrency
        self._slot_freed = asyncio.Event()
        self._recorder = SentRecorder(sessions)

    async def _claim_where(self, chosen: ColumnElement[bool]) -> list[OutboxMessage]:
        """Claim the rows ``chosen`` selects, in one UPDATE ... RETURNING; oldest first.

        The statement checks again that each row is still pending and due (or
        its claim lapsed), so on PostgreSQL a row another process claimed
        meanwhile is skipped rather than claimed twice.
        """
        now = utcnow()
        lease = now + timedelta(seconds=self.lease_seconds)
        async with self._sessions() as session, session.begin():
            claimed = await session.scalars(
                update(OutboxMessage)
                .where(chosen, _recheck_free(now))
                .values(
                    status=OutboxStatus.SENDING.value,
                    lease_until=lease,
                    attempts=OutboxMessage.attempts + 1,
                )
                .returning(OutboxMessage)
                .execution_options(synchronize_session=False)
            )
            return sorted(claimed, key=lambda row: row.id)

    async def _claim(self, outbox_id: int) -> OutboxMessage | None:
        due = select(_DUE.id).where(_DUE.id == outbox_id, _claimable(_DUE, utcnow()))
        rows = await self._claim_where(OutboxMessage.id.in_(due.scalar_subquery()))
        return rows[0] if rows else None

    async def _claim_due(self, limit: int) -> list[OutboxMessage]:
        """Claim up to ``limit`` rows due now (the :meth:`due_ids` rule), oldest first.

        On PostgreSQL the chosen rows are locked as they are chosen, skipping
        rows another sender is claiming (``FOR UPDATE SKIP LOCKED``): two
        processes claiming at once take different rows and never wait on
        each other (no deadlock); SQLite has one writer and ignores it.
        """
        due = (
            select(_DUE.id)
            .where(_claimable(_DUE, utcnow()))
            .order_by(_DUE.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        return await self._claim_where(OutboxMessage.id.in_(due))

    async def release_claims(self) -> int:
        """Put rows claimed by a sender that no longer runs back to pending.

        Only safe when no other process can be sending: the embedded default
        calls it at start, under its exclusive file lock, so rows a killed
        process was sending go out again at once instead of after their
        lease (at-least-once delivery; email repeats carry the same
        Message-ID). Returns how many rows were released.
        """
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.SENDING.value)
                .values(
                    status=OutboxStatus.PENDING.value, lease_until=None, next_attempt_at=utcnow()
                )
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def in_flight(self) -> int:
        """How many rows are claimed by a sender right now (status ``sending``)."""
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.SENDING.value)
            )
            return int(count or 0)

    async def due_ids(self, limit: int = 100) -> list[int]:
        """Ids of rows that may be sent now, oldest first (one per recipient)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(_DUE.id).where(_claimable(_DUE, utcnow())).order_by(_DUE.id).limit(limit)
            )
            return list(rows)

    async def dispatch_due(self, limit: int = 100, rounds: int = 20) -> int:
        """Send everything due now; returns the number of rows attempted.

        Claims as many due rows as there are free sending slots
        (``concurrency``) in one statement, sends them concurrently, and
        claims more as slots free up, since sending one row can make the next
        row to the same recipient due. Stops when nothing is due and nothing
        is being sent, after ``limit * rounds`` rows, or at :meth:`close`.
        Raises the first error a send's bookkeeping raised, once the other
        sends settled.
        """
        budget = max(0, limit * rounds)
        total = 0
        tasks: set[asyncio.Task[None]] = set()
        failure: BaseException | None = None
        short = False
        try:
            while total < budget and not self._closing and failure is None:
                if short:
                    # Nothing more was due: wait until a send in flight is recorded
                    # (the next row to its recipient may be due then).
                    done, tasks = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                    failure = _first_error(done)
                    if failure is not None:
                        break
                # Claim again once half the slots are free: fewer, larger claims.
                wanted = 1 if short or not tasks else self._concurrency // 2
                slots = await self._take_slots(budget - total, at_least=wanted)
                if self._closing:
                    self._give_back(slots)
                    break
                claimed: list[OutboxMessage] = []
                self._enter()  # the claim itself is in flight (drain waits for it)
                try:
                    claimed = await self._claim_due(slots)
                    for row in claimed:
                        self._enter()
                        tasks.add(asyncio.create_task(self._send_and_release(row)))
                finally:
                    self._give_back(slots - len(claimed))
                    self._leave()
                total += len(claimed)
                finished = {task for task in tasks if task.done()}
                tasks -= finished
                failure = _first_error(finished)
                if not tasks:
                    break
                short = len(claimed) < slots
            if tasks:
                done, _ = await asyncio.wait(tasks)
                tasks = set()
                failure = failure or _first_error(done)
        finally:
            for task in tasks:
                task.cancel()
        if failure is not None:
            raise failure
        return total

    async def _take_slots(self, most: int, *, at_least: int = 1) -> int:
        """Wait until ``at_least`` sending slots are free (at most all of them), then
        take up to ``most`` of the free ones; returns how many were taken."""
        needed = max(1, min(at_least, most, self._concurrency))
        while self._free_slots < needed:
            self._slot_freed.clear()
            await self._slot_freed.wait()
        taken = max(1, min(most, self._free_slots))
        self._free_slots -= taken
        return taken

    def _give_back(self, slots: int) -> None:
        if slots > 0:
            self._free_slots += slots
            self._slot_freed.set()

    def _enter(self) -> None:
        self._in_flight += 1
        self._settled.clear()

    def _leave(self) -> None:
        self._in_flight -= 1
        if not self._in_flight:
            self._settled.set()

    async def _send_and_release(self, row: OutboxMessage) -> None:
        """Deliver ``row``; its slot frees once the provider answered, and the row
        stops being in flight once its outcome is recorded."""
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._give_back(1)

        try:
            await self._deliver(row, release)
        finally:
            release()
            self._leave()

    def close(self) -> None:
        """Claim no more rows (sends already claimed go on; see :meth:`drain`)."""
        self._closing = True

    def open(self) -> None:
        """Claim rows again after :meth:`close`."""
        self._closing = False

    @property
    def sending(self) -> int:
        """How many rows this dispatcher has claimed and not yet settled."""
        return self._in_flight

    async def drain(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Wait until no claimed row of this dispatcher is in flight, at most
        ``timeout`` seconds (default: the send timeout plus the claim margin);
        True when none is left."""
        limit = self.lease_seconds if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                await self._settled.wait()
        except TimeoutError:
            return False
        return True

    async def dispatch_one(self, outbox_id: int) -> bool:
        """Claim and send row ``outbox_id``; False if it was not claimable now
        (or the dispatcher is closed)."""
        if self._closing:
            return False
        await self._take_slots(1)
        try:
            if self._closing:
                return False
            self._enter()
            try:
                row = await self._claim(outbox_id)
                if row is None:
                    return False
                await self._deliver(row)
                return True
            finally:
                self._leave()
        finally:
            self._give_back(1)

    async def _deliver(
        self, row: OutboxMessage, answered: Callable[[], None] = lambda: None
    ) -> None:
        """Send claimed ``row`` and record the outcome (sent, retry later or failed);
        ``answered`` is called once the provider call ended, before the record."""
        template = None
        if self._window is not None and row.channel == ChannelName.WHATSAPP:
            try:
                plan = await self._window.plan(row, utcnow())
            except PermanentError as exc:
                await self._fail(row, str(exc), exc.code)
                return
            template = plan.template
            if plan.sent_as != (row.sent_as or "text") or plan.channel != row.channel:
                await record_plan(self._sessions, row, plan)
                row.channel, row.recipient = plan.channel, plan.recipient
        capped = await self._over_reply_cap(row)
        if capped is not None:
            await self._fail(row, capped, REPLY_CAP_CODE)
            return
        channel = self._channels.get(row.channel)
        if channel is None:
            await self._retry_later(
                row,
                f"channel {row.channel} is not configured",
                self.channel_off_retry,
                count_attempt=False,
            )
            return
        outbound = OutboundMessage(
            idempotency_key=row.idempotency_key,
            channel=ChannelName(row.channel),
            recipient=row.recipient,
            text=row.body,
            subject=row.subject,
            thread_refs=tuple(row.thread_refs or ()),
            language=row.language,
            template=template,
        )
        try:
            try:
                async with asyncio.timeout(self.send_timeout):
                    result = await channel.send(outbound)
            finally:
                answered()
        except RateLimited as exc:
            count_send_failure(row.channel, "RateLimited")
            await self._retry_later(row, str(exc), exc.retry_after, code=exc.code)
        except PermanentError as exc:
            count_send_failure(row.channel, "PermanentError")
            await self._fail(row, str(exc), exc.code)
        except TemporaryError as exc:
            count_send_failure(row.channel, "TemporaryError")
            await self._retry_or_fail(row, str(exc), exc.code)
        except TimeoutError:
            count_send_failure(row.channel, "Timeout")
            error = f"no answer from {row.channel} within {self.send_timeout:g} s"
            await self._retry_or_fail(row, error, "timeout")
        except Exception as exc:
            count_send_failure(row.channel, "Unexpected")
            log.exception("outbox %s: unexpected error from %s", row.id, row.channel)
            await self._retry_or_fail(row, f"{type(exc).__name__}: {exc}", None)
        else:
            await self._recorder.record(Sent(row.id, row.message_id, result.provider_id))

    async def _over_reply_cap(self, row: OutboxMessage) -> str | None:
        """The reason ``row`` must not go out (an automatic reply over the hourly cap), or None.

        Counts rows to the same channel and recipient sent in the last hour
        whose message is automatic; staff-written rows (message not automatic)
        and staff emails (no message) are never capped, nor are chat channels
        (``Channel.interactive``: one question per message, so a person
        answering gets many replies in an hour by design).
        """
        cap = self.reply_cap_per_hour
        channel = self._channels.get(row.channel)
        if cap <= 0 or row.message_id is None or channel is None or channel.interactive:
            return None
        async with self._sessions() as session:
            automatic = await session.scalar(
                select(Message.automatic).where(Message.id == row.message_id)
            )
            if not automatic:
                return None
            sent = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .join(Message, Message.id == OutboxMessage.message_id)
                .where(
                    OutboxMessage.channel == row.channel,
                    OutboxMessage.recipient == row.recipient,
                    OutboxMessage.status == OutboxStatus.SENT.value,
                    OutboxMessage.sent_at >= utcnow() - timedelta(hours=1),
                    OutboxMessage.id != row.id,
                    Message.automatic.is_(True),
                )
            )
        return None if int(sent or 0) < cap else REPLY_CAP_ERROR

    async def _retry_later(
        self,
        row: OutboxMessage,
        error: str,
        delay: float,
        *,
        code: str | int | None = None,
        count_attempt: bool = True,
    ) -> None:
        async with self._sessions() as session, session.begin():
            values: dict[str, object] = {
                "status": OutboxStatus.PENDING.value,
                "next_attempt_at": utcnow() + timedelta(seconds=delay),
                "lease_until": None,
                "last_error": error[:2000],
                "error_code": None if code is None else str(code),
            }
            if not count_attempt:
                values["attempts"] = OutboxMessage.attempts - 1
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values)
            )

    async def _retry_or_fail(self, row: OutboxMessage, error: str, code: str | int | None) -> None:
        if row.attempts >= self.max_attempts:
            await self._fail(row, f"gave up after {row.attempts} attempts: {error}", code)
        else:
            await self._retry_later(row, error, backoff_seconds(row.attempts), code=code)

    async def _fail(self, row: OutboxMessage, error: str, code: str | int | None) -> None:
        log.warning("outbox %s to %s failed permanently: %s", row.id, row.channel, error)
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    status=OutboxStatus.FAILED.value,
                    lease_until=None,
                    last_error=error[:2000],
                    error_code=None if code is None else str(code),
                )
            )
            if row.complaint_id is not None:
                session.add(
                    ComplaintEvent(
                        complaint_id=row.complaint_id,
                        actor="system",
                        kind=ComplaintEventKind.DELIVERY_FAILED,
                        note=error[:2000],
                        data={"outbox_id": row.id, "channel": row.channel, "code": code},
                    )
                )
