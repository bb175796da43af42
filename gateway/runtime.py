"""Wiring: one object holding everything a gateway or worker process uses.

Created once per process, in the aiohttp app's startup context or the worker's
startup hook: one SQLAlchemy engine, the SOP profile, the channels that are
configured, the intake engine, processor, outbox dispatcher and job runner.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from channels.base import Channel, ChannelName, InboundMessage
from gateway.channel_addresses import channel_addresses
from gateway.channel_configs import email_config, telegram_config, twilio_config, whatsapp_config
from gateway.config import Settings, channel_states, db_deadlines
from gateway.embedded import EmbeddedLock
from gateway.ingest import IngestBatcher, IngestResult
from gateway.jobs import ArqJobs, InProcessJobs, Jobs
from gateway.metrics import count_inbound
from gateway.outbox import Dispatcher
from gateway.processed import ProcessedSignal
from gateway.processor import ContactGuard, LeaseContactGuard, LocalContactGuard, Processor
from gateway.rate_gates import RateGates, build_rate_gates
from gateway.web.form import check_profile as check_form_fields
from gateway.window import WindowPolicy
from handlers.intake import IntakeEngine, default_route
from handlers.intake.form_ack import WebAckPolicy
from handlers.notifications import notify_complainant
from handlers.outbox import OUTBOX_IDS_KEY, OutboxWriter
from handlers.privacy import NOTICE_PATH
from handlers.profile import Profile, load_profile
from handlers.workflow import Actor
from storage import leases
from storage.db import SessionFactory, create_engine, is_sqlite, session_factory
from storage.models import Complaint

if TYPE_CHECKING:
    from gateway.staff import StaffService

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything one process needs; see :func:`build_runtime`."""

    settings: Settings
    profile: Profile
    engine: AsyncEngine
    sessions: SessionFactory
    holder: str
    channels: dict[str, Channel] = field(default_factory=dict)
    jobs: Jobs | None = None
    processor: Processor | None = None
    dispatcher: Dispatcher | None = None
    batcher: IngestBatcher | None = None
    writer: OutboxWriter = field(default_factory=OutboxWriter)
    embedded_lock: EmbeddedLock | None = None
    rate_gates: RateGates | None = None
    #: Announces processed messages to requests waiting for them.
    processed: ProcessedSignal = field(default_factory=ProcessedSignal)
    started: bool = False
    closed: bool = False

    async def accept(self, message: InboundMessage) -> IngestResult:
        """Store an inbound message durably and ask for it to be processed.

        The message is committed when this returns (reliability rule 1), so a
        channel may acknowledge its provider afterwards.
        """
        if self.batcher is None:
            self.batcher = IngestBatcher(self.sessions)
        result = await self.batcher.submit(message)
        count_inbound(str(message.channel), duplicate=result.duplicate)
        if self.jobs is not None:
            self.jobs.request_processing(result.contact_id)
        return result

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
        if staged and self.jobs is not None:
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

    @property
    def staff(self) -> StaffService:
        """The service layer for staff actions (:class:`gateway.staff.StaffService`)."""
        from gateway.staff import StaffService

        return StaffService(self)

    async def transition(
        self, complaint_id: int, name: str, actor: Actor, data: Mapping[str, Any]
    ) -> Complaint:
        """Take workflow transition ``name``; see :meth:`gateway.staff.StaffService.transition`."""
        return await self.staff.transition(complaint_id, name, actor, data)

    def require_jobs(self) -> Jobs:
        """The job runner; raises ``RuntimeError`` before :meth:`start`."""
        if self.jobs is None:
            raise RuntimeError("runtime not started")
        return self.jobs

    async def start(self, *, run_channels: bool = True) -> None:
        """Start the job runner and channel background work (pollers).

        Raises:
            EmbeddedLockError: on the embedded default, when another process
                already runs on the same SQLite file.
        """
        if self.started:
            return
        if self.embedded_lock is not None:
            self.embedded_lock.acquire()
            if self.dispatcher is not None:
                released = await self.dispatcher.release_claims()
                if released:
                    log.warning(
                        "resending %s outbox rows left mid-send by a stopped process", released
                    )
        self.started = True
        if self.jobs is not None:
            await self.jobs.start()
        if run_channels:
            for channel in self.channels.values():
                await channel.start()

    async def close(self) -> None:
        """Stop the jobs (sends in flight finish, bounded by the send timeout),
        then the channels (they are what the jobs send through), then dispose
        of the engine (docs/architecture.md, "Stopping")."""
        if self.closed:
            return
        self.closed = True
        if self.jobs is not None:
            try:
                await self.jobs.stop()
            except Exception:
                log.exception("stopping the jobs failed")
        for channel in self.channels.values():
            try:
                await channel.stop()
            except Exception:
                log.exception("stopping channel %s failed", channel.name)
        await self.processed.close()
        if self.rate_gates is not None:
            try:
                await self.rate_gates.close()
            except Exception:
                log.exception("closing the rate gates failed")
        await self.engine.dispose()
        if self.embedded_lock is not None:
            self.embedded_lock.release()


def _build_channels(runtime: Runtime) -> None:
    settings = runtime.settings
    enabled = {s.name for s in channel_states(settings) if s.enabled}
    # Provider rates hold across every process sending for the same sender
    # (docs/architecture.md, "Shared rate limits").
    gates = build_rate_gates(
        runtime.sessions,
        redis_url=settings.redis_url,
        embedded=is_sqlite(runtime.engine) and not settings.redis_url,
    )
    runtime.rate_gates = gates
    if "email" in enabled:
        from collections.abc import Sequence

        from channels.email import EmailChannel
        from gateway.ingest import ingest_batch

        async def accept_batch(messages: Sequence[InboundMessage]) -> list[IngestResult]:
            results = await ingest_batch(runtime.sessions, messages)
            for message, result in zip(messages, results, strict=True):
                count_inbound(str(message.channel), duplicate=result.duplicate)
            if runtime.jobs is not None:
                for result in results:
                    runtime.jobs.request_processing(result.contact_id)
            return results

        runtime.channels[ChannelName.EMAIL.value] = EmailChannel(
            email_config(settings),
            runtime.sessions,
            runtime.accept,
            holder=runtime.holder,
            accept_batch=accept_batch,
        )
    if "sms" in enabled:
        from channels.twilio import TwilioChannel

        runtime.channels[ChannelName.SMS.value] = TwilioChannel(
            twilio_config(settings),
            kind=ChannelName.SMS,
            pacer=gates.gate("sms", per_key=settings.twilio_sms_per_second, overall=None),
        )
    if "whatsapp" in enabled:
        if settings.whatsapp_phone_number_id and settings.whatsapp_token:
            from channels import whatsapp_cloud
            from channels.whatsapp_cloud import WhatsAppCloudChannel

            runtime.channels[ChannelName.WHATSAPP.value] = WhatsAppCloudChannel(
                whatsapp_config(settings),
                pacer=gates.gate(
                    f"whatsapp:{settings.whatsapp_phone_number_id}",
                    per_key=whatsapp_cloud.PER_RECIPIENT_PER_SECOND,
                    overall=whatsapp_cloud.OVERALL_PER_SECOND,
                ),
            )
        else:
            from channels.twilio import TwilioChannel

            runtime.channels[ChannelName.WHATSAPP.value] = TwilioChannel(
                twilio_config(settings), kind=ChannelName.WHATSAPP
            )
    if "telegram" in enabled:
        from channels.telegram import TelegramChannel
        from channels.telegram import channel as telegram
        from gateway.webhooks.store import polling_accept, polling_quarantine

        runtime.channels[ChannelName.TELEGRAM.value] = TelegramChannel(
            telegram_config(settings),
            runtime.sessions,
            polling_accept(runtime),
            holder=runtime.holder,
            quarantine=polling_quarantine(runtime, ChannelName.TELEGRAM),
            pacer=gates.gate(
                "telegram",
                per_key=telegram.PER_CHAT_PER_SECOND,
                overall=telegram.OVERALL_PER_SECOND,
            ),
        )


def _external_id_factory(settings: Settings) -> object:
    email_from = settings.email_from

    def external_id_for(channel: str, key: str) -> str | None:
        if channel == ChannelName.EMAIL and email_from:
            from channels.email import message_id_for

            return message_id_for(key, email_from)
        return None

    return external_id_for


async def build_runtime(
    settings: Settings,
    *,
    profile: Profile | None = None,
    use_redis: bool | None = None,
    extra_channels: dict[str, Channel] | None = None,
) -> Runtime:
    """Build the runtime for ``settings`` (no background task is started yet).

    Raises ``ProfileError`` for an invalid SOP profile.

    ``use_redis`` defaults to whether ``ADUAN_REDIS_URL`` is set; with Redis the
    gateway hands work to arq workers, otherwise it runs it in-process. No
    connection to Redis is made here (:class:`gateway.jobs.ArqJobs` connects on
    first use), so the gateway starts while Redis is away.
    ``extra_channels`` replace or add channels (tests use fakes).
    """
    profile = profile or load_profile(settings.sop_profile)
    check_form_fields(profile)
    engine = create_engine(settings.effective_database_url, deadlines=db_deadlines(settings))
    sessions = session_factory(engine)
    runtime = Runtime(
        settings=settings,
        profile=profile,
        engine=engine,
        sessions=sessions,
        holder=leases.new_holder_id(),
    )
    _build_channels(runtime)
    if extra_channels:
        runtime.channels.update(extra_channels)
    writer = OutboxWriter(_external_id_factory(settings))  # type: ignore[arg-type]
    runtime.writer = writer
    intake = IntakeEngine(
        profile,
        writer,
        default_route(frozenset(runtime.channels)),
        runtime.channels.keys(),
        web_acks=WebAckPolicy(
            track_url=f"{settings.effective_public_url}/track",
            per_recipient_day=settings.form_acks_per_recipient_day,
        ),
        privacy_url=settings.effective_public_url.rstrip("/") + NOTICE_PATH,
        channel_addresses=channel_addresses(settings),
    )
    dispatcher = Dispatcher(
        sessions,
        runtime.channels,
        window=WindowPolicy(sessions, profile, runtime.channels.keys()),
        reply_cap_per_hour=settings.reply_cap_per_hour,
    )
    redis_mode = bool(settings.redis_url) if use_redis is None else use_redis

    def notify(staged: object) -> None:
        if runtime.jobs is not None:
            runtime.jobs.request_sending(staged)  # type: ignore[arg-type]

    embedded = engine.dialect.name == "sqlite" and not settings.redis_url
    guard: ContactGuard
    if embedded:
        guard = LocalContactGuard()
        database = engine.url.database
        if database and database != ":memory:":
            runtime.embedded_lock = EmbeddedLock(Path(database))
    else:
        guard = LeaseContactGuard(sessions, runtime.holder)

    def defer(contact_id: int, delay_seconds: float) -> None:
        if runtime.jobs is not None:
            runtime.jobs.request_processing_later(contact_id, delay_seconds)

    # A worker publishes what it processed; a gateway handing work to workers listens.
    runtime.processed = ProcessedSignal(
        redis_url=settings.redis_url, listen_redis=redis_mode and bool(settings.redis_url)
    )
    processor = Processor(
        sessions,
        intake,
        guard=guard,
        notify_outbox=notify,
        turn_gap_seconds=settings.turn_gap_seconds,
        defer=defer,
        on_processed=runtime.processed.announce,
    )
    runtime.processor = processor
    runtime.dispatcher = dispatcher
    if redis_mode:
        if not settings.redis_url:
            raise ValueError("ADUAN_REDIS_URL is not set")
        # No connection yet: the gateway starts and answers without Redis.
        runtime.jobs = ArqJobs(settings.redis_url)
    else:
        runtime.jobs = InProcessJobs(processor, dispatcher)
    return runtime
