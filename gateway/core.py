"""What every runtime mode shares, and the units of work on it.

:class:`Core` holds the parts each process has whatever it runs: the
settings, the SOP profile, one SQLAlchemy engine and its sessions, the
configured channels, the outbox writer, the shared rate gates, the ingest
batcher and a job runner. The runtime modes (:mod:`gateway.runtime`) add what
only they have; the staff service (:mod:`gateway.staff`) needs no more than
this, so it is built on a :class:`Core` and the runtime module may build it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from channels.base import Channel, InboundMessage
from gateway.config import Settings
from gateway.ingest import IngestBatcher, IngestResult, ingest_batch
from gateway.jobs import Jobs
from gateway.metrics import count_inbound
from gateway.rate_gates import RateGates
from handlers.notifications import notify_complainant
from handlers.outbox import OUTBOX_IDS_KEY, OutboxWriter
from handlers.profile import Profile
from storage.db import SessionFactory
from storage.models import Complaint


@dataclass(frozen=True, kw_only=True, eq=False)
class Core:
    """The parts of a process's runtime that every mode has.

    ``holder`` names this process in leases (:mod:`storage.leases`);
    ``channels`` maps a channel name (:class:`channels.base.ChannelName`) to
    the configured channel; ``jobs`` is the runner that processes and sends
    (in this process, or through Redis to workers).
    """

    settings: Settings
    profile: Profile
    engine: AsyncEngine
    sessions: SessionFactory
    holder: str
    channels: dict[str, Channel]
    writer: OutboxWriter
    rate_gates: RateGates
    batcher: IngestBatcher
    jobs: Jobs

    async def accept(self, message: InboundMessage) -> IngestResult:
        """Store an inbound message durably and ask for it to be processed.

        The message is committed when this returns (reliability rule 1), so a
        channel may acknowledge its provider afterwards.
        """
        result = await self.batcher.submit(message)
        count_inbound(str(message.channel), duplicate=result.duplicate)
        self.jobs.request_processing(result.contact_id)
        return result

    async def accept_batch(self, messages: Sequence[InboundMessage]) -> list[IngestResult]:
        """Store ``messages`` in one transaction (a mailbox pass), then ask for
        each contact to be processed; results in the order given."""
        results = await ingest_batch(self.sessions, messages)
        for message, result in zip(messages, results, strict=True):
            count_inbound(str(message.channel), duplicate=result.duplicate)
        for result in results:
            self.jobs.request_processing(result.contact_id)
        return results

    @asynccontextmanager
    async def work(self) -> AsyncIterator[AsyncSession]:
        """One unit of staff or system work: a session in one transaction.

        Commits when the block ends without an exception (rolls back
        otherwise); only after the commit are the outbox rows staged in it
        handed to the job runner for sending (docs/architecture.md,
        reliability rule 4: persist, then act).
        """
        async with self.sessions() as session:
            async with session.begin():
                yield session
            staged = list(session.info.get(OUTBOX_IDS_KEY, []))
        if staged:
            self.jobs.request_sending(staged)

    async def notify(self, complaint_id: int, text: str, *, actor: str) -> int | None:
        """Send ``text`` to the complainant of ``complaint_id`` on their channel.

        Commits the outbox row and a complaint event, then asks for sending;
        returns the outbox id, or ``None`` when the complaint has no route back.
        Raises ``LookupError`` for an unknown complaint.
        """
        async with self.work() as session:
            complaint = await session.get(Complaint, complaint_id)
            if complaint is None:
                raise LookupError(f"no complaint {complaint_id}")
            row = await notify_complainant(
                session,
                self.writer,
                complaint,
                text,
                actor=actor,
                enabled=self.channels.keys(),
            )
        return row.id if row is not None else None
