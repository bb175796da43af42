"""Processing stored inbound messages, driven from the database (reliability rule 3).

Messages are processed a turn at a time (:mod:`handlers.intake.turns`): a
burst of chat messages sent before the bot answered waits for a short quiet
gap and is handled as one turn. A turn is processed in one transaction
together with everything it causes (conversation update, complaint, outbox
rows) and the ``processed_at`` markers of its messages, so a crash either
loses nothing or repeats nothing. Messages of one contact are processed
strictly in arrival order under a per-contact guard (in-process for the
embedded default, database leases for scale-out), so any number of processes
may run this safely. A turn still waiting for its gap is asked for again
through ``defer`` once the gap has passed; the periodic sweep finds it too.

With leases a turn is done exactly once even when it outlives its lease (a
paused process, a lock wait, a slow database): the lease is renewed while
turns run, the turn's transaction claims its messages with a conditional
update (``… WHERE processed_at IS NULL``, every row or none) and is fenced by
the lease just before it commits (docs/architecture.md, "Exactly-once
processing").
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from gateway.metrics import count_sweep
from handlers.appeal_standards import sweep_appeal_standards
from handlers.contacts import lease_name
from handlers.intake import IntakeEngine, expire_conversation
from handlers.intake.turns import QuestionInFlight, plan_turn
from handlers.outbox import OUTBOX_IDS_KEY
from handlers.privacy import apply_retention
from handlers.workflow import sweep_time_standards
from storage import leases
from storage.db import SessionFactory
from storage.models import OPEN_CONVERSATION_STATES, Conversation, Direction, Message
from storage.types import utcnow

log = logging.getLogger(__name__)

#: At most this many pending messages are looked at to assemble one turn.
TURN_LOOKAHEAD = 50

OutboxNotifier = Callable[[Sequence[tuple[int, str]]], None]
"""Called after a commit with the (outbox id, idempotency key) pairs it staged."""

Deferrer = Callable[[int, float], None]
"""Asks for a contact to be processed again after a delay in seconds."""

ProcessedNotifier = Callable[[Sequence[int]], None]
"""Called after a commit with the ids of the messages it marked processed
(:meth:`gateway.processed.ProcessedSignal.announce`)."""


async def _claim(session: AsyncSession, messages: Sequence[Message]) -> bool:
    """Mark ``messages`` processed in the caller's transaction, only where
    ``processed_at`` is still unset; True when every one was claimed.

    On PostgreSQL the claimed rows stay locked until the transaction ends, so
    a second claimant waits and then finds them taken (or free again after a
    rollback). False: someone else processed one of them; roll back.
    """
    now = utcnow()
    ids = [m.id for m in messages]
    result = await session.execute(
        update(Message)
        .where(Message.id.in_(ids), Message.processed_at.is_(None))
        .values(processed_at=now, process_error=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != len(ids):  # type: ignore[attr-defined]
        return False
    for message in messages:
        set_committed_value(message, "processed_at", now)
        set_committed_value(message, "process_error", None)
    return True


class ContactGuard(Protocol):
    """Mutual exclusion per contact, so one contact's messages are handled in order."""

    #: True when other processes share the work: after a release, look again
    #: for messages they stored meanwhile (in-process arrivals are re-requested).
    shared: bool

    #: Seconds between renewals while a contact is held; ``None``: a hold
    #: never lapses, nothing to renew.
    renew_every: float | None

    async def acquire(self, contact_id: int) -> str | None:
        """A token when the contact is now ours, ``None`` when someone holds it."""

    async def renew(self, contact_id: int, token: str) -> bool:
        """Extend a hold; False when it was lost meanwhile."""

    async def fence(self, session: AsyncSession, contact_id: int, token: str) -> bool:
        """Inside the transaction about to commit a turn: True if the hold is
        still ours, and stays ours until that transaction ends; False: roll back."""

    async def release(self, contact_id: int, token: str) -> None:
        """Give the contact up."""


class LocalContactGuard:
    """Exclusion inside one process: the embedded default, where a file lock
    (:mod:`gateway.embedded`) guarantees that only one process runs jobs."""

    shared = False
    renew_every: float | None = None

    def __init__(self) -> None:
        self._held: set[int] = set()

    async def acquire(self, contact_id: int) -> str | None:
        if contact_id in self._held:
            return None
        self._held.add(contact_id)
        return "local"

    async def renew(self, contact_id: int, token: str) -> bool:
        return True

    async def fence(self, session: AsyncSession, contact_id: int, token: str) -> bool:
        return True

    async def release(self, contact_id: int, token: str) -> None:
        self._held.discard(contact_id)


class LeaseContactGuard:
    """Exclusion across processes with database leases (scale-out).

    Each hold has its own holder id (the lease token), so two calls in one
    process exclude each other too; a crashed holder's lease lapses after
    ``ttl_seconds``. A hold is renewed every third of ``ttl_seconds`` while
    its turns run, and every turn's transaction is fenced with
    :func:`storage.leases.holds` (docs/architecture.md, "Exactly-once
    processing").
    """

    shared = True

    def __init__(self, sessions: SessionFactory, holder: str, ttl_seconds: float = 30.0) -> None:
        self._sessions = sessions
        self._holder = holder
        self.ttl_seconds = ttl_seconds
        self.renew_every: float | None = ttl_seconds / 3

    async def acquire(self, contact_id: int) -> str | None:
        token = f"{self._holder}:{uuid.uuid4().hex[:8]}"
        if await leases.acquire(self._sessions, lease_name(contact_id), token, self.ttl_seconds):
            return token
        return None

    async def renew(self, contact_id: int, token: str) -> bool:
        return await leases.renew(self._sessions, lease_name(contact_id), token, self.ttl_seconds)

    async def fence(self, session: AsyncSession, contact_id: int, token: str) -> bool:
        return await leases.holds(session, lease_name(contact_id), token, self.ttl_seconds)

    async def release(self, contact_id: int, token: str) -> None:
        await leases.release(self._sessions, lease_name(contact_id), token)


class Outcome(enum.Enum):
    """What became of one attempt at a contact's next turn."""

    #: The turn was committed.
    DONE = "done"
    #: Nothing pending (or someone else processed it meanwhile: look again).
    EMPTY = "empty"
    #: A chat turn still within its quiet gap, or one that waits for our last
    #: question to settle; ``defer`` was asked to come back.
    WAITING = "waiting"
    #: The turn raised; the attempt was recorded and the turn will be tried again.
    FAILED = "failed"
    #: The contact's hold was lost: nothing was committed, stop.
    LOST = "lost"


class _Abandon(Exception):
    """Raised inside a turn's transaction to roll it back with ``outcome``."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome


class _Hold:
    """A contact held while its turns run, renewed in the background when the
    guard asks for it; ``lost`` once a renewal found the hold gone."""

    def __init__(self, guard: ContactGuard, contact_id: int, token: str) -> None:
        self.guard = guard
        self.contact_id = contact_id
        self.token = token
        self.lost = False
        self._task: asyncio.Task[None] | None = None
        if guard.renew_every is not None:
            self._task = asyncio.create_task(self._renew(guard.renew_every))

    async def _renew(self, every: float) -> None:
        failing = False
        while True:
            await asyncio.sleep(every)
            try:
                if not await self.guard.renew(self.contact_id, self.token):
                    self.lost = True
                    log.warning("lost the processing lease of contact %s", self.contact_id)
                    return
                failing = False
            except Exception as exc:  # the fence still guards the commit
                if not failing:  # once per run of failures, not every few seconds
                    log.warning("renewing the lease of contact %s failed: %r", self.contact_id, exc)
                failing = True

    async def stop(self) -> None:
        """Stop renewing (before the hold is released)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class Processor:
    """Runs the intake engine over unprocessed inbound messages.

    ``max_attempts``: a turn whose processing raised this many times has its
    first message marked processed with the error kept in ``process_error``
    (visible to staff) so it cannot block the contact's later messages
    forever. ``turn_gap_seconds`` overrides the profile's quiet gap;
    ``defer(contact_id, seconds)`` is called when a turn has to wait for it;
    ``on_processed(message_ids)`` after each commit that marked messages
    processed (a turn, or a message set aside).
    """

    def __init__(
        self,
        sessions: SessionFactory,
        engine: IntakeEngine,
        *,
        guard: ContactGuard,
        notify_outbox: OutboxNotifier,
        max_attempts: int = 5,
        turn_gap_seconds: float | None = None,
        defer: Deferrer | None = None,
        on_processed: ProcessedNotifier | None = None,
    ) -> None:
        self._sessions = sessions
        self._on_processed = on_processed
        self.engine = engine
        self._guard = guard
        self._notify = notify_outbox
        self.max_attempts = max_attempts
        intake = engine.profile.intake
        #: The quiet gap that closes a chat turn (the profile's, unless overridden).
        self.turn_gap_seconds = (
            intake.turn_gap_seconds if turn_gap_seconds is None else turn_gap_seconds
        )
        self.turn_max_wait_seconds = intake.turn_max_wait_seconds
        self.defer = defer

    async def process_contact(self, contact_id: int) -> int:
        """Process every pending message of ``contact_id`` in order; returns how many.

        Returns 0 at once when someone else holds the contact (that holder, or
        the next sweep, will do the work). A hold lost while a turn runs (a
        stall longer than the lease) ends the call: that turn is rolled back,
        the new holder does it.
        """
        total = 0
        while True:
            token = await self._guard.acquire(contact_id)
            if token is None:
                return total
            hold = _Hold(self._guard, contact_id, token)
            try:
                done, stop = await self._drain(hold)
                total += done
            finally:
                await hold.stop()
                await self._guard.release(contact_id, token)
            # A message that arrived while we held the contact, but after our
            # last look, was not processed by whoever stored it: look again.
            if stop or not self._guard.shared or not await self._pending(contact_id):
                return total

    async def _pending(self, contact_id: int) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                select(Message.id)
                .where(
                    Message.contact_id == contact_id,
                    Message.direction == Direction.IN.value,
                    Message.processed_at.is_(None),
                )
                .limit(1)
            )
            return found is not None

    async def _drain(self, hold: _Hold) -> tuple[int, bool]:
        """Process turns until none is left; returns (messages done, stopped early:
        a turn failed, waits for its quiet gap, or the hold was lost)."""
        done = 0
        while not hold.lost:
            outcome, count = await self._process_next(hold)
            if outcome is Outcome.EMPTY:
                return done, False
            if outcome is not Outcome.DONE:
                return done, True
            done += count
        return done, True

    async def _process_next(self, hold: _Hold) -> tuple[Outcome, int]:
        """Process the contact's next turn; returns what happened and the
        number of messages committed.

        The turn's transaction claims its messages first (``processed_at`` set
        only where still unset, every row or none) and is fenced by the hold
        before it commits; outbox rows it staged are announced only after the
        commit (docs/architecture.md, "Exactly-once processing").
        """
        contact_id = hold.contact_id
        message_id: int | None = None
        try:
            async with self._sessions() as session:
                async with session.begin():
                    pending = list(
                        await session.scalars(
                            select(Message)
                            .where(
                                Message.contact_id == contact_id,
                                Message.direction == Direction.IN.value,
                                Message.processed_at.is_(None),
                            )
                            .order_by(Message.id)
                            .limit(TURN_LOOKAHEAD)
                        )
                    )
                    if not pending:
                        return Outcome.EMPTY, 0
                    message_id = pending[0].id
                    plan = plan_turn(
                        pending,
                        now=utcnow(),
                        gap_seconds=self.turn_gap_seconds,
                        max_wait_seconds=self.turn_max_wait_seconds,
                        is_command=self.engine.is_command,
                    )
                    if not plan.messages:
                        if self.defer is not None:
                            self.defer(contact_id, plan.wait_seconds)
                        return Outcome.WAITING, 0
                    if not await _claim(session, plan.messages):
                        raise _Abandon(Outcome.EMPTY)
                    await self.engine.handle_turn(session, plan.messages)
                    if not await self._guard.fence(session, contact_id, hold.token):
                        raise _Abandon(Outcome.LOST)
                staged = list(session.info.get(OUTBOX_IDS_KEY, []))
            if staged:
                self._notify(staged)
            self._announce([m.id for m in plan.messages])
            return Outcome.DONE, len(plan.messages)
        except QuestionInFlight as in_flight:
            # Rolled back: the turn is read again once our question settled.
            if self.defer is not None:
                self.defer(contact_id, in_flight.wait_seconds)
            return Outcome.WAITING, 0
        except _Abandon as abandon:
            if abandon.outcome is Outcome.LOST:
                hold.lost = True
                log.warning(
                    "contact %s was taken over while message %s was processed; rolled back",
                    contact_id,
                    message_id,
                )
            else:
                log.info("message %s was processed elsewhere meanwhile", message_id)
            return abandon.outcome, 0
        except Exception as exc:
            if message_id is None:
                raise
            log.exception("processing message %s failed", message_id)
            outcome = await self._record_failure(hold, message_id, exc)
            if outcome is Outcome.DONE:
                self._announce([message_id])
            # A message set aside no longer holds back the contact's later ones.
            return outcome, 1 if outcome is Outcome.DONE else 0

    def _announce(self, message_ids: list[int]) -> None:
        if self._on_processed is not None:
            self._on_processed(message_ids)

    async def _record_failure(self, hold: _Hold, message_id: int, exc: Exception) -> Outcome:
        """Count a failed attempt under the hold: ``DONE`` when the message is
        now set aside, ``FAILED`` when it will be tried again, ``EMPTY`` when
        it was processed elsewhere meanwhile, ``LOST`` when the hold is gone
        (nothing recorded: the new holder tries it)."""
        async with self._sessions() as session, session.begin():
            message = await session.get(Message, message_id, with_for_update=True)
            if message is None or message.processed_at is not None:  # pragma: no cover - raced
                return Outcome.EMPTY
            if not await self._guard.fence(session, hold.contact_id, hold.token):
                hold.lost = True
                return Outcome.LOST
            message.process_attempts = (message.process_attempts or 0) + 1
            message.process_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.process_attempts >= self.max_attempts:
                message.processed_at = utcnow()
                log.error(
                    "message %s set aside after %s attempts", message_id, message.process_attempts
                )
                return Outcome.DONE
            return Outcome.FAILED

    async def pending_contacts(
        self, older_than_seconds: float = 0.0, limit: int = 500
    ) -> list[int]:
        """Contacts with unprocessed inbound messages stored at least ``older_than_seconds`` ago."""
        cutoff = utcnow() - timedelta(seconds=older_than_seconds)
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Message.contact_id)
                .where(
                    Message.direction == Direction.IN.value,
                    Message.processed_at.is_(None),
                    Message.created_at <= cutoff,
                )
                .group_by(Message.contact_id)
                .order_by(Message.contact_id)
                .limit(limit)
            )
            return list(rows)

    async def sweep_time_standards(self, now: datetime | None = None) -> dict[str, int]:
        """Reminders and escalations of overdue SOP steps, complaints and appeals.

        Returns ``{"reminded", "escalated"}`` for complaint steps
        (:mod:`handlers.workflow`) and ``{"appeal_reminded", "appeal_escalated"}``
        for appeal steps (:mod:`handlers.appeal_standards`, PR-LS-8.1.4 steps 4-5).
        The staff concerned are emailed (:mod:`handlers.staff_alerts`) when the
        email channel is on; the emails are sent once the sweep has committed. ``now`` (default: the
        current time) is when the sweep runs; nothing goes out while the office
        is closed then.
        """
        count_sweep("time_standards")
        profile = self.engine.profile
        # Staff are emailed only when email is on: a staged email with no
        # channel to send it would be retried for ever.
        writer = self.engine.writer if "email" in self.engine.enabled_channels else None
        async with self._sessions() as session:
            async with session.begin():
                counts = await sweep_time_standards(
                    session, profile=profile, writer=writer, now=now
                )
                appeals = await sweep_appeal_standards(
                    session, profile=profile, writer=writer, now=now
                )
            staged = list(session.info.get(OUTBOX_IDS_KEY, []))
        if staged:
            self._notify(staged)
        return {**counts, **{f"appeal_{key}": value for key, value in appeals.items()}}

    async def sweep_retention(self) -> dict[str, int]:
        """Apply the profile's retention policy once (:func:`handlers.privacy.apply_retention`,
        docs/privacy.md); returns its counts."""
        count_sweep("retention")
        return await apply_retention(self._sessions, self.engine.profile.retention)

    async def expire_conversations(self, limit: int = 200) -> int:
        """Expire open drafts whose ``expires_at`` has passed (reliability rule 7); returns how many."""
        count_sweep("expire_conversations")
        now = utcnow()
        count = 0
        async with self._sessions() as session:
            async with session.begin():
                rows = await session.scalars(
                    select(Conversation)
                    .where(
                        Conversation.state.in_([s.value for s in OPEN_CONVERSATION_STATES]),
                        Conversation.expires_at.is_not(None),
                        Conversation.expires_at < now,
                    )
                    .order_by(Conversation.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
                for conversation in rows:
                    # Re-check under the row lock (another process may have expired it).
                    result = await session.execute(
                        update(Conversation)
                        .where(
                            Conversation.id == conversation.id,
                            Conversation.state.in_([s.value for s in OPEN_CONVERSATION_STATES]),
                        )
                        .values(closed_at=now)
                        .execution_options(synchronize_session=False)
                    )
                    if not result.rowcount:  # type: ignore[attr-defined]
                        continue
                    await expire_conversation(self.engine, session, conversation)
                    count += 1
            staged = list(session.info.get(OUTBOX_IDS_KEY, []))
        if staged:
            self._notify(staged)
        return count
