"""Wiring: the one runtime a gateway or worker process uses, built once.

Created once per process, in the aiohttp app's startup context or the worker's
startup hook, by :func:`build_runtime`. Which parts a runtime has depends on
its mode, and its type says so (docs/architecture.md, "Runtime modes"):

* :class:`InProcessRuntime`: the jobs run in this process. The embedded
  default (``aduan serve`` on SQLite without Redis, holding the single-runner
  lock) and every worker (``aduan worker``) are this mode; it has the
  processor, the outbox dispatcher and :class:`gateway.jobs.InProcessJobs`.
* :class:`RedisRuntime`: ``aduan serve`` with Redis. Requests are enqueued
  for arq workers (:class:`gateway.jobs.ArqJobs`); the processor and the
  dispatcher run in the workers, so this runtime has neither.

Both carry what :class:`gateway.core.Core` holds (database, profile, channels,
outbox writer, rate gates, ingest batcher, job runner) and one
:class:`gateway.staff.StaffService`, built with the runtime.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

from sqlalchemy.ext.asyncio import AsyncEngine

from channels import whatsapp_cloud
from channels.base import Channel, ChannelName, InboundMessage
from channels.email import EmailChannel, message_id_for
from channels.telegram import TelegramChannel
from channels.telegram import channel as telegram
from channels.twilio import TwilioChannel
from channels.whatsapp_cloud import WhatsAppCloudChannel
from gateway.channel_addresses import channel_addresses
from gateway.channel_configs import email_config, telegram_config, twilio_config, whatsapp_config
from gateway.config import Settings, channel_states, db_deadlines
from gateway.core import Core
from gateway.embedded import EmbeddedLock
from gateway.inbound.store import Receiver, polling_accept, polling_quarantine
from gateway.ingest import IngestBatcher, IngestResult
from gateway.jobs import ArqJobs, InProcessJobs
from gateway.outbox import Dispatcher
from gateway.processed import ProcessedSignal
from gateway.processor import ContactGuard, LeaseContactGuard, LocalContactGuard, Processor
from gateway.rate_gates import RateGates, build_rate_gates
from gateway.staff import StaffService
from gateway.window import WindowPolicy
from handlers.intake import IntakeEngine, default_route
from handlers.intake.form_ack import WebAckPolicy
from handlers.outbox import OutboxWriter
from handlers.privacy import NOTICE_PATH
from handlers.profile import Profile, load_profile
from handlers.workflow import Actor
from storage import leases
from storage.db import SessionFactory, create_engine, is_sqlite, session_factory
from storage.models import Complaint

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Lifecycle:
    """Whether the runtime was started and closed (each happens once)."""

    started: bool = False
    closed: bool = False


@dataclass(frozen=True, kw_only=True, eq=False)
class Runtime(Core):
    """One process's runtime: the shared parts, the staff service, start and close.

    Built by :func:`build_runtime` as one of its modes (:class:`InProcessRuntime`,
    :class:`RedisRuntime`); code that needs a part only one mode has takes
    that type.
    """

    #: Announces processed messages to requests waiting for them
    #: (:mod:`gateway.processed`).
    processed: ProcessedSignal
    staff: StaffService = field(init=False)
    _life: _Lifecycle = field(init=False, default_factory=_Lifecycle)

    def __post_init__(self) -> None:
        object.__setattr__(self, "staff", StaffService(self))

    @property
    def started(self) -> bool:
        """True once :meth:`start` ran."""
        return self._life.started

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._life.closed

    async def transition(
        self, complaint_id: int, name: str, actor: Actor, data: Mapping[str, Any]
    ) -> Complaint:
        """Take workflow transition ``name``; see :meth:`gateway.staff.StaffService.transition`."""
        return await self.staff.transition(complaint_id, name, actor, data)

    async def _before_start(self) -> None:
        """What a mode does before the jobs start (nothing here)."""

    async def start(self, *, run_channels: bool = True) -> None:
        """Start the job runner and channel background work (pollers).

        Raises:
            EmbeddedLockError: on the embedded default, when another process
                already runs on the same SQLite file.
        """
        if self._life.started:
            return
        await self._before_start()
        self._life.started = True
        await self.jobs.start()
        if run_channels:
            for channel in self.channels.values():
                await channel.start()

    def _after_close(self) -> None:
        """What a mode releases once the engine is disposed (nothing here)."""

    async def close(self) -> None:
        """Stop the jobs (sends in flight finish, bounded by the send timeout),
        then the channels (they are what the jobs send through), then dispose
        of the engine (docs/architecture.md, "Stopping")."""
        if self._life.closed:
            return
        self._life.closed = True
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
        try:
            await self.rate_gates.close()
        except Exception:
            log.exception("closing the rate gates failed")
        await self.engine.dispose()
        self._after_close()


@dataclass(frozen=True, kw_only=True, eq=False)
class InProcessRuntime(Runtime):
    """The jobs run here: the embedded default and every worker.

    ``embedded_lock`` is held on the embedded default with a database file
    (SQLite without Redis: one process per file, docs/startup.md); ``None``
    for a worker, PostgreSQL, or an in-memory database.
    """

    jobs: InProcessJobs
    processor: Processor
    dispatcher: Dispatcher
    embedded_lock: EmbeddedLock | None = None

    async def _before_start(self) -> None:
        if self.embedded_lock is None:
            return
        self.embedded_lock.acquire()
        released = await self.dispatcher.release_claims()
        if released:
            log.warning("resending %s outbox rows left mid-send by a stopped process", released)

    def _after_close(self) -> None:
        if self.embedded_lock is not None:
            self.embedded_lock.release()


@dataclass(frozen=True, kw_only=True, eq=False)
class RedisRuntime(Runtime):
    """``aduan serve`` with Redis: requests go to arq workers, which process and send."""

    jobs: ArqJobs


Accept = Callable[[InboundMessage], Awaitable[IngestResult]]
AcceptBatch = Callable[[Sequence[InboundMessage]], Awaitable[list[IngestResult]]]


@dataclass(frozen=True, slots=True)
class _Inlet:
    """The channels' way into the runtime (:class:`gateway.inbound.store.Receiver`).

    Channels are built before the runtime that holds them (its dispatcher and
    job runner are built on them), so ``accept`` forwards to the runtime
    once it exists; no message arrives before the runtime is started.
    """

    sessions: SessionFactory
    forward: Accept

    async def accept(self, message: InboundMessage) -> IngestResult:
        """Store ``message`` and ask for processing (:meth:`gateway.core.Core.accept`)."""
        return await self.forward(message)


def _build_channels(
    settings: Settings,
    gates: RateGates,
    inlet: Receiver,
    accept_batch: AcceptBatch,
    *,
    holder: str,
) -> dict[str, Channel]:
    enabled = {s.name for s in channel_states(settings) if s.enabled}
    channels: dict[str, Channel] = {}
    if "email" in enabled:
        channels[ChannelName.EMAIL.value] = EmailChannel(
            email_config(settings),
            inlet.sessions,
            inlet.accept,
            holder=holder,
            accept_batch=accept_batch,
        )
    if "sms" in enabled:
        channels[ChannelName.SMS.value] = TwilioChannel(
            twilio_config(settings),
            kind=ChannelName.SMS,
            pacer=gates.gate("sms", per_key=settings.twilio_sms_per_second, overall=None),
        )
    if "whatsapp" in enabled:
        if settings.whatsapp_phone_number_id and settings.whatsapp_token:
            channels[ChannelName.WHATSAPP.value] = WhatsAppCloudChannel(
                whatsapp_config(settings),
                pacer=gates.gate(
                    f"whatsapp:{settings.whatsapp_phone_number_id}",
                    per_key=whatsapp_cloud.PER_RECIPIENT_PER_SECOND,
                    overall=whatsapp_cloud.OVERALL_PER_SECOND,
                ),
            )
        else:
            channels[ChannelName.WHATSAPP.value] = TwilioChannel(
                twilio_config(settings), kind=ChannelName.WHATSAPP
            )
    if "telegram" in enabled:
        channels[ChannelName.TELEGRAM.value] = TelegramChannel(
            telegram_config(settings),
            inlet.sessions,
            polling_accept(inlet),
            holder=holder,
            quarantine=polling_quarantine(inlet, ChannelName.TELEGRAM),
            pacer=gates.gate(
                "telegram",
                per_key=telegram.PER_CHAT_PER_SECOND,
                overall=telegram.OVERALL_PER_SECOND,
            ),
        )
    return channels


def _external_id_factory(settings: Settings) -> object:
    email_from = settings.email_from

    def external_id_for(channel: str, key: str) -> str | None:
        if channel == ChannelName.EMAIL and email_from:
            return message_id_for(key, email_from)
        return None

    return external_id_for


@overload
async def build_runtime(
    settings: Settings,
    *,
    profile: Profile | None = None,
    use_redis: Literal[False],
    extra_channels: dict[str, Channel] | None = None,
) -> InProcessRuntime: ...


@overload
async def build_runtime(
    settings: Settings,
    *,
    profile: Profile | None = None,
    use_redis: bool | None = None,
    extra_channels: dict[str, Channel] | None = None,
) -> Runtime: ...


async def build_runtime(
    settings: Settings,
    *,
    profile: Profile | None = None,
    use_redis: bool | None = None,
    extra_channels: dict[str, Channel] | None = None,
) -> Runtime:
    """Build the runtime for ``settings`` (no background task is started yet).

    Raises ``ProfileError`` for an invalid SOP profile, ``ValueError`` for
    ``use_redis`` without ``ADUAN_REDIS_URL``. The profile's fields are checked
    against the web form's own inputs before (``aduan serve``, ``aduan worker``
    and ``aduan check-config`` do it, :func:`gateway.web.form.check_profile`)
    and again when the form is built.

    ``use_redis`` defaults to whether ``ADUAN_REDIS_URL`` is set; with Redis
    the result is a :class:`RedisRuntime` that hands work to arq workers,
    otherwise an :class:`InProcessRuntime` that runs it here (a worker asks
    for that with ``use_redis=False``). No connection to Redis is made here
    (:class:`gateway.jobs.ArqJobs` connects on first use), so the gateway
    starts while Redis is away. ``extra_channels`` replace or add channels
    (tests use fakes).
    """
    profile = profile or load_profile(settings.sop_profile)
    redis_mode = bool(settings.redis_url) if use_redis is None else use_redis
    if redis_mode and not settings.redis_url:
        raise ValueError("ADUAN_REDIS_URL is not set")
    engine = create_engine(settings.effective_database_url, deadlines=db_deadlines(settings))
    sessions = session_factory(engine)
    holder = leases.new_holder_id()
    # Provider rates hold across every process sending for the same sender
    # (docs/architecture.md, "Shared rate limits").
    gates = build_rate_gates(
        sessions,
        redis_url=settings.redis_url,
        embedded=is_sqlite(engine) and not settings.redis_url,
    )

    # The channels call into the runtime, which is built on them: they reach
    # it through these, bound to the runtime assigned at the end.
    runtime: Runtime

    async def accept(message: InboundMessage) -> IngestResult:
        return await runtime.accept(message)

    async def accept_batch(messages: Sequence[InboundMessage]) -> list[IngestResult]:
        return await runtime.accept_batch(messages)

    channels = _build_channels(
        settings, gates, _Inlet(sessions, accept), accept_batch, holder=holder
    )
    if extra_channels:
        channels.update(extra_channels)
    writer = OutboxWriter(_external_id_factory(settings))  # type: ignore[arg-type]
    # A worker publishes what it processed; a gateway handing work to workers listens.
    processed = ProcessedSignal(redis_url=settings.redis_url, listen_redis=redis_mode)
    mode: type[Runtime]
    parts: dict[str, Any]
    if redis_mode:
        assert settings.redis_url is not None
        # No connection yet: the gateway starts and answers without Redis.
        mode, parts = RedisRuntime, {"jobs": ArqJobs(settings.redis_url)}
    else:
        mode = InProcessRuntime
        parts = _in_process_parts(
            settings, profile, engine, sessions, channels, writer, holder, processed
        )
    runtime = mode(
        settings=settings,
        profile=profile,
        engine=engine,
        sessions=sessions,
        holder=holder,
        channels=channels,
        writer=writer,
        rate_gates=gates,
        batcher=IngestBatcher(sessions),
        processed=processed,
        **parts,
    )
    return runtime


def _in_process_parts(
    settings: Settings,
    profile: Profile,
    engine: AsyncEngine,
    sessions: SessionFactory,
    channels: dict[str, Channel],
    writer: OutboxWriter,
    holder: str,
    processed: ProcessedSignal,
) -> dict[str, Any]:
    """What an :class:`InProcessRuntime` has beyond the shared parts: its
    ``jobs``, ``processor``, ``dispatcher`` and ``embedded_lock``."""
    intake = IntakeEngine(
        profile,
        writer,
        default_route(frozenset(channels)),
        channels.keys(),
        web_acks=WebAckPolicy(
            track_url=f"{settings.effective_public_url}/track",
            per_recipient_day=settings.form_acks_per_recipient_day,
        ),
        privacy_url=settings.effective_public_url.rstrip("/") + NOTICE_PATH,
        channel_addresses=channel_addresses(settings),
    )
    dispatcher = Dispatcher(
        sessions,
        channels,
        window=WindowPolicy(sessions, profile, channels.keys()),
        reply_cap_per_hour=settings.reply_cap_per_hour,
    )
    embedded_lock: EmbeddedLock | None = None
    guard: ContactGuard
    if engine.dialect.name == "sqlite" and not settings.redis_url:
        guard = LocalContactGuard()
        database = engine.url.database
        if database and database != ":memory:":
            embedded_lock = EmbeddedLock(Path(database))
    else:
        guard = LeaseContactGuard(sessions, holder)

    # The processor asks the job runner, which runs it: bound to ``jobs`` below.
    def notify(staged: Sequence[tuple[int, str]]) -> None:
        jobs.request_sending(staged)

    def defer(contact_id: int, delay_seconds: float) -> None:
        jobs.request_processing_later(contact_id, delay_seconds)

    processor = Processor(
        sessions,
        intake,
        guard=guard,
        notify_outbox=notify,
        turn_gap_seconds=settings.turn_gap_seconds,
        defer=defer,
        on_processed=processed.announce,
    )
    jobs = InProcessJobs(processor, dispatcher)
    return {
        "jobs": jobs,
        "processor": processor,
        "dispatcher": dispatcher,
        "embedded_lock": embedded_lock,
    }
