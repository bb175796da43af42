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
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update

from handlers.appeal_standards import sweep_appeal_standards
from handlers.intake import IntakeEngine, expire_conversation
from handlers.intake.turns import plan_turn
from handlers.outbox import OUTBOX_IDS_KEY
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


class ContactGuard(Protocol):
    """Mutual exclusion per contact, so one contact's messages are handled in order."""

    #: True when other processes share the work: after a release, look again
    #: for messages they stored meanwhile (in-process arrivals are re-requested).
    shared: bool

    async def acquire(self, contact_id: int) -> str | None:
        """A token when the contact is now ours, ``None`` when someone holds it."""

    async def renew(self, contact_id: int, token: str) -> None:
        """Extend a long hold."""

    async def release(self, contact_id: int, token: str) -> None:
        """Give the contact up."""


class LocalContactGuard:
    """Exclusion inside one process: the embedded default, where a file lock
    (:mod:`gateway.embedded`) guarantees that only one process runs jobs."""

    shared = False

    def __init__(self) -> None:
        self._held: set[int] = set()

    async def acquire(self, contact_id: int) -> str | None:
        if contact_id in self._held:
            return None
        self._held.add(contact_id)
        return "local"

    async def renew(self, contact_id: int, token: str) -> None:
        return None

    async def release(self, contact_id: int, token: str) -> None:
        self._held.discard(contact_id)


class LeaseContactGuard:
    """Exclusion across processes with database leases (scale-out).

    Each hold has its own holder id, so two calls in one process exclude each
    other too; a crashed holder's lease lapses after ``ttl_seconds``.
    """

    shared = True

    def __init__(self, sessions: SessionFactory, holder: str, ttl_seconds: float = 30.0) -> None:
        self._sessions = sessions
        self._holder = holder
        self.ttl_seconds = ttl_seconds

    async def acquire(self, contact_id: int) -> str | None:
        token = f"{self._holder}:{uuid.uuid4().hex[:8]}"
        if await leases.acquire(self._sessions, f"contact:{contact_id}", token, self.ttl_seconds):
            return token
        return None

    async def renew(self, contact_id: int, token: str) -> None:
        await leases.acquire(self._sessions, f"contact:{contact_id}", token, self.ttl_seconds)

    async def release(self, contact_id: int, token: str) -> None:
        await leases.release(self._sessions, f"contact:{contact_id}", token)


class Processor:
    """Runs the intake engine over unprocessed inbound messages.

    ``max_attempts``: a turn whose processing raised this many times has its
    first message marked processed with the error kept in ``process_error``
    (visible to staff) so it cannot block the contact's later messages
    forever. ``turn_gap_seconds`` overrides the profile's quiet gap;
    ``defer(contact_id, seconds)`` is called when a turn has to wait for it.
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
    ) -> None:
        self._sessions = sessions
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
        the next sweep, will do the work).
        """
        total = 0
        while True:
            token = await self._guard.acquire(contact_id)
            if token is None:
                return total
            try:
                done, blocked = await self._drain(contact_id, token)
                total += done
            finally:
                await self._guard.release(contact_id, token)
            # A message that arrived while we held the contact, but after our
            # last look, was not processed by whoever stored it: look again.
            if blocked or not self._guard.shared or not await self._pending(contact_id):
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

    async def _drain(self, contact_id: int, token: str) -> tuple[int, bool]:
        """Process turns until none is left; returns (messages done, stopped early:
        a turn failed, or waits for its quiet gap)."""
        done = 0
        while True:
            ok, found = await self._process_next(contact_id)
            if found == 0:
                return done, False
            if not ok or found < 0:
                return done, True
            done += found
            if done % 20 < found:
                await self._guard.renew(contact_id, token)

    async def _process_next(self, contact_id: int) -> tuple[bool, int]:
        """Process the contact's next turn; returns (succeeded, messages in it).

        0 messages: nothing pending; -1: a chat turn still within its quiet
        gap (``defer`` is asked to come back when the gap has passed).
        """
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
                        return True, 0
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
                        return True, -1
                    await self.engine.handle_turn(session, plan.messages)
                    now = utcnow()
                    for message in plan.messages:
                        message.processed_at = now
                        message.process_error = None
                staged = list(session.info.get(OUTBOX_IDS_KEY, []))
            if staged:
                self._notify(staged)
            return True, len(plan.messages)
        except Exception as exc:
            if message_id is None:
                raise
            log.exception("processing message %s failed", message_id)
            set_aside = await self._record_failure(message_id, exc)
            # A message set aside no longer holds back the contact's later ones.
            return set_aside, 1

    async def _record_failure(self, message_id: int, exc: Exception) -> bool:
        """Count a failed attempt; True when the message is now set aside."""
        async with self._sessions() as session, session.begin():
            message = await session.get(Message, message_id)
            if message is None:  # pragma: no cover - deleted meanwhile
                return True
            message.process_attempts = (message.process_attempts or 0) + 1
            message.process_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.process_attempts >= self.max_attempts:
                message.processed_at = utcnow()
                log.error(
                    "message %s set aside after %s attempts", message_id, message.process_attempts
                )
                return True
            return False

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
        from handlers.privacy import apply_retention

        return await apply_retention(self._sessions, self.engine.profile.retention)

    async def expire_conversations(self, limit: int = 200) -> int:
        """Expire open drafts whose ``expires_at`` has passed (reliability rule 7); returns how many."""
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
