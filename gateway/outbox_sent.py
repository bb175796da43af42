"""Recording accepted sends many rows at a time (docs/architecture.md, reliability rule 4).

A provider that accepted an outbox row must see it marked ``sent`` before the
row counts as settled, yet one durable commit per row is the dispatcher's
largest cost. :class:`SentRecorder` is a group commit: a send that finished
hands its outcome over and waits; while one transaction is being committed,
the outcomes that arrive meanwhile gather and go into the next one. Nothing is
marked before the provider accepted it; a crash after the send and before the
commit leaves the row ``sending`` until its claim lapses, and it is sent again
(the documented at-least-once delivery). A commit that fails for a reason that
may pass on its own (the database refused or lost the connection, a timeout:
:func:`storage.transient.is_transient`) is retried for up to
:data:`RETRY_SECONDS`, so a short database outage right after the provider
accepted a send does not make it go out twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import bindparam, update
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from storage.db import SessionFactory
from storage.models import Message, OutboxMessage, OutboxStatus
from storage.transient import is_transient
from storage.types import utcnow

#: Rows written in one transaction at most.
MAX_ROWS_PER_COMMIT = 200
#: Seconds the first outcome of a batch waits for others before the commit starts
#: (the sending slot is free already; only the row's own settling waits): at
#: 100 sends/s about two rows share each durable commit instead of one.
LINGER_SECONDS = 0.02
#: Seconds a commit that failed transiently is retried (from 0.2 s, doubling,
#: at most 2 s apart): well inside the 30 s claim, so the record usually lands
#: before another sender could take the row again.
RETRY_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class Sent:
    """One send the provider accepted: outbox row, its message (if any), the provider's id."""

    outbox_id: int
    message_id: int | None
    provider_id: str | None


_OUTBOX = OutboxMessage.__table__
_MESSAGES = Message.__table__

# Core statements built once, run with many parameter sets (one executemany).
_MARK_SENT = (
    update(_OUTBOX)  # type: ignore[arg-type]
    .where(_OUTBOX.c.id == bindparam("b_outbox"))
    .values(
        status=OutboxStatus.SENT.value,
        sent_at=bindparam("b_now"),
        provider_id=bindparam("b_provider"),
        lease_until=None,
        last_error=None,
        error_code=None,
    )
)
_MESSAGE_EXTERNAL_ID = (
    update(_MESSAGES)  # type: ignore[arg-type]
    .where(_MESSAGES.c.id == bindparam("b_message"))
    .where(_MESSAGES.c.external_id.is_(None))
    .values(external_id=bindparam("b_provider"))
)


class SentRecorder:
    """Marks outbox rows ``sent``, batching the rows of sends that finish together.

    :meth:`record` returns once the row's ``sent`` status is committed, and
    raises what the commit raised (the row then stays ``sending`` and is sent
    again after its claim lapses). At most ``max_rows`` rows go into one
    transaction; a commit failing transiently is retried for up to
    ``retry_seconds`` before its rows' callers get the error. The first
    outcome of a batch waits ``linger`` seconds for
    others, so sends finishing a few milliseconds apart share one durable
    commit; the sending slot is already free by then, so only the row's own
    settling waits (and with it the next row to the same recipient).
    """

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        max_rows: int = MAX_ROWS_PER_COMMIT,
        linger: float = LINGER_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._retry_seconds = retry_seconds
        self._max_rows = max(1, max_rows)
        self._linger = linger
        self._pending: list[tuple[Sent, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, sent: Sent) -> None:
        """Mark ``sent.outbox_id`` sent (with the provider's id, also on its message)
        and wait until that is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Mark the outcome retrieved even when this caller is gone (force stop).
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._pending.append((sent, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        # A caller cancelled while waiting does not cancel the commit of the others.
        await asyncio.shield(done)

    async def _write_all(self) -> None:
        try:
            while self._pending:
                if self._linger > 0 and len(self._pending) < self._max_rows:
                    await asyncio.sleep(self._linger)
                batch = self._pending[: self._max_rows]
                del self._pending[: self._max_rows]
                try:
                    await self._write_retrying([sent for sent, _ in batch])
                except Exception as exc:
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                except BaseException:
                    _abandon(batch)
                    raise
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
        finally:
            self._writer = None
            _abandon(self._pending)
            self._pending.clear()

    async def _write_retrying(self, batch: list[Sent]) -> None:
        """:meth:`_write`, retried while it fails transiently, for ``retry_seconds``."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_delay(self._retry_seconds),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            reraise=True,
        ):
            with attempt:
                await self._write(batch)

    async def _write(self, batch: list[Sent]) -> None:
        now = utcnow()
        # One lock order for every writer of these rows (no deadlock with a claim).
        batch = sorted(batch, key=lambda sent: sent.outbox_id)
        async with self._sessions() as session, session.begin():
            await session.execute(
                _MARK_SENT,
                [
                    {"b_outbox": sent.outbox_id, "b_now": now, "b_provider": sent.provider_id}
                    for sent in batch
                ],
            )
            linked = [
                {"b_message": sent.message_id, "b_provider": sent.provider_id}
                for sent in batch
                if sent.provider_id and sent.message_id is not None
            ]
            if linked:
                await session.execute(_MESSAGE_EXTERNAL_ID, linked)


def _abandon(batch: list[tuple[Sent, asyncio.Future[None]]]) -> None:
    """The writer was cancelled: these rows stay ``sending`` (sent again after their claim)."""
    for _, done in batch:
        if not done.done():
            done.set_exception(RuntimeError("stopped before the send was recorded"))
