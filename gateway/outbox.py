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
recipient is unsent.

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
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from channels.base import Channel, ChannelName, OutboundMessage
from channels.errors import PermanentError, RateLimited, TemporaryError
from gateway.window import WindowPolicy, record_plan
from storage.db import SessionFactory
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


def backoff_seconds(attempts: int, *, base: float = 5.0, cap: float = 3600.0) -> float:
    """Delay before retry number ``attempts`` (1-based): 5 s doubling, capped at 1 h, ±20 %."""
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return float(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not security


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
        concurrency: int = 8,
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
        self._semaphore = asyncio.Semaphore(concurrency)

    def _claimable(self) -> object:
        now = utcnow()
        earlier = aliased(OutboxMessage)
        return and_(
            or_(
                and_(
                    OutboxMessage.status == OutboxStatus.PENDING.value,
                    OutboxMessage.next_attempt_at <= now,
                ),
                and_(
                    OutboxMessage.status == OutboxStatus.SENDING.value,
                    OutboxMessage.lease_until < now,
                ),
            ),
            ~exists().where(
                earlier.channel == OutboxMessage.channel,
                earlier.recipient == OutboxMessage.recipient,
                earlier.id < OutboxMessage.id,
                earlier.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value]),
            ),
        )

    async def _claim(self, outbox_id: int) -> OutboxMessage | None:
        lease = utcnow() + timedelta(seconds=self.lease_seconds)
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == outbox_id, self._claimable())  # type: ignore[arg-type]
                .values(
                    status=OutboxStatus.SENDING.value,
                    lease_until=lease,
                    attempts=OutboxMessage.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return None
            return await session.get(OutboxMessage, outbox_id)

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
                select(OutboxMessage.id)
                .where(self._claimable())  # type: ignore[arg-type]
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
            return list(rows)

    async def dispatch_due(self, limit: int = 100, rounds: int = 20) -> int:
        """Send everything due now; returns the number of rows attempted.

        Runs up to ``rounds`` passes, since sending one row can make the next
        row to the same recipient due.
        """
        total = 0
        for _ in range(rounds):
            if self._closing:
                break
            ids = await self.due_ids(limit)
            if not ids:
                break
            results = await asyncio.gather(*(self.dispatch_one(i) for i in ids))
            attempted = sum(1 for r in results if r)
            total += attempted
            if not attempted:
                break
        return total

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
        async with self._semaphore:
            if self._closing:
                return False
            self._in_flight += 1
            self._settled.clear()
            try:
                return await self._dispatch_claimed(outbox_id)
            finally:
                self._in_flight -= 1
                if not self._in_flight:
                    self._settled.set()

    async def _dispatch_claimed(self, outbox_id: int) -> bool:
        row = await self._claim(outbox_id)
        if row is None:
            return False
        template = None
        if self._window is not None and row.channel == ChannelName.WHATSAPP:
            try:
                plan = await self._window.plan(row, utcnow())
            except PermanentError as exc:
                await self._fail(row, str(exc), exc.code)
                return True
            template = plan.template
            if plan.sent_as != (row.sent_as or "text") or plan.channel != row.channel:
                await record_plan(self._sessions, row, plan)
                row.channel, row.recipient = plan.channel, plan.recipient
        capped = await self._over_reply_cap(row)
        if capped is not None:
            await self._fail(row, capped, REPLY_CAP_CODE)
            return True
        channel = self._channels.get(row.channel)
        if channel is None:
            await self._retry_later(
                row,
                f"channel {row.channel} is not configured",
                self.channel_off_retry,
                count_attempt=False,
            )
            return True
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
            async with asyncio.timeout(self.send_timeout):
                result = await channel.send(outbound)
        except RateLimited as exc:
            await self._retry_later(row, str(exc), exc.retry_after, code=exc.code)
        except PermanentError as exc:
            await self._fail(row, str(exc), exc.code)
        except TemporaryError as exc:
            await self._retry_or_fail(row, str(exc), exc.code)
        except TimeoutError:
            error = f"no answer from {row.channel} within {self.send_timeout:g} s"
            await self._retry_or_fail(row, error, "timeout")
        except Exception as exc:
            log.exception("outbox %s: unexpected error from %s", row.id, row.channel)
            await self._retry_or_fail(row, f"{type(exc).__name__}: {exc}", None)
        else:
            await self._mark_sent(row, result.provider_id)
        return True

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

    async def _mark_sent(self, row: OutboxMessage, provider_id: str | None) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    status=OutboxStatus.SENT.value,
                    sent_at=utcnow(),
                    provider_id=provider_id,
                    lease_until=None,
                    last_error=None,
                    error_code=None,
                )
            )
            if provider_id and row.message_id is not None:
                await session.execute(
                    update(Message)
                    .where(Message.id == row.message_id, Message.external_id.is_(None))
                    .values(external_id=provider_id)
                )

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
                        kind="delivery_failed",
                        note=error[:2000],
                        data={"outbox_id": row.id, "channel": row.channel, "code": code},
                    )
                )
