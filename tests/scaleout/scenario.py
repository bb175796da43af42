"""One scale-out run: set up, drive, inject faults, settle, count.

:func:`run` creates (or empties) the database and migrates it with ``aduan db
upgrade``, starts a private ``redis-server``, the fake Twilio API and the
PostgreSQL proxy, then ``serves`` × ``aduan serve`` and ``workers`` × ``aduan
worker`` with the SMS channel pointed at the fake. While the driver posts the
webhooks, the faults fire one after the other as the acknowledged share of the
webhooks passes evenly spaced marks. A process that exits on its own is
restarted a second later, as a supervisor would. At the end the run waits
(bounded) for the work to settle and returns the :class:`Report`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

from tests.scaleout.driver import Driver, sender_number
from tests.scaleout.fake_provider import FakeProvider
from tests.scaleout.pg_proxy import Mode, PgProxy
from tests.scaleout.processes import (
    Member,
    RedisServer,
    aduan_command,
    clean_environ,
    environment,
)
from tests.scaleout.report import (
    Report,
    count_duplicate_sends,
    count_from_database,
    outbox_parts,
    recorded_sids,
)
from tests.services import free_port

log = logging.getLogger("scaleout")

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "scaleout-auth-token-0123456789"
PUBLIC_URL = "https://aduan.example.go.id"

#: Every fault, in the order they fire.
#: Redis goes last: the time the waiting work takes once it is back is then
#: measured without another fault in the way, and the others hit a loaded system.
FAULTS = (
    "kill-worker",
    "term-worker",
    "kill-serve",
    "term-serve",
    "provider",
    "pg-refuse",
    "pg-hang",
    "redis",
)


@dataclass
class Config:
    """Sizes, faults and durations (seconds) of one run."""

    database_url: str
    serves: int = 2
    workers: int = 2
    webhooks: int = 5000
    senders: int = 500
    redeliver: float = 0.1
    faults: tuple[str, ...] = FAULTS
    redis_down: float = 60.0
    provider_500: float = 30.0
    db_outage: float = 5.0
    settle_timeout: float = 300.0
    reply_timeout: float = 180.0
    think: float = 1.5
    concurrency: int = 64
    seed: int = 12
    workdir: Path | None = None
    sms_per_second: float = 1000.0
    log_level: str = "WARNING"


@dataclass
class _State:
    members: list[Member] = field(default_factory=list)
    kills: list[float] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)
    settle: list[float | None] = field(default_factory=list)
    worker_exits_while_redis_down: int = 0
    serve_exits_while_redis_down: int = 0


def asyncpg_dsn(url: str, database: str | None = None) -> str:
    """``url`` (any PostgreSQL form) as an asyncpg DSN, optionally for ``database``."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def prepare_database(url: str) -> None:
    """Create the database when absent, else empty its ``public`` schema."""
    try:
        conn = await asyncpg.connect(asyncpg_dsn(url))
    except asyncpg.InvalidCatalogNameError:
        admin = await asyncpg.connect(asyncpg_dsn(url, "postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{make_url(url).database}"')
        finally:
            await admin.close()
        return
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        await conn.execute("CREATE SCHEMA public")
    finally:
        await conn.close()


async def _wait_healthy(base: str, member: Member, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if not member.running:
                raise RuntimeError(f"{member.name} exited at start; see {member.log}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(
                    base + "/healthz", timeout=aiohttp.ClientTimeout(total=2)
                ) as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{member.name} not healthy after {timeout} s; see {member.log}")


async def _pending(conn: asyncpg.Connection, numbers: list[str], max_message: int | None) -> int:
    """Our unprocessed messages (up to ``max_message``) plus unsent replies."""
    limit = max_message if max_message is not None else 2**31 - 1
    waiting = await conn.fetchval(
        "SELECT count(*) FROM messages WHERE direction = 'in' AND processed_at IS NULL "
        "AND sender = ANY($1::text[]) AND id <= $2",
        numbers,
        limit,
    )
    unsent = await conn.fetchval(
        "SELECT count(*) FROM outbox o WHERE o.status IN ('pending', 'sending') "
        "AND o.recipient = ANY($1::text[]) AND (o.message_id IS NULL OR o.message_id <= $2)",
        numbers,
        limit,
    )
    return int(waiting) + int(unsent)


async def _settled_after(dsn: str, numbers: list[str], timeout: float) -> float | None:
    """Seconds until every message stored so far is processed and answered."""
    started = time.monotonic()
    conn = await asyncpg.connect(dsn)
    try:
        last = await conn.fetchval("SELECT max(id) FROM messages") or 0
        while time.monotonic() - started < timeout:
            if await _pending(conn, numbers, int(last)) == 0:
                return time.monotonic() - started
            await asyncio.sleep(0.5)
        rows = await conn.fetch(
            "SELECT status, count(*) AS n FROM outbox WHERE recipient = ANY($1::text[]) "
            "GROUP BY status",
            numbers,
        )
        log.warning(
            "not settled after %.0f s: %s unprocessed messages up to id %s; outbox %s",
            timeout,
            await conn.fetchval(
                "SELECT count(*) FROM messages WHERE direction = 'in' AND processed_at IS NULL "
                "AND id <= $1",
                int(last),
            ),
            last,
            {r["status"]: r["n"] for r in rows},
        )
    finally:
        await conn.close()
    return None


async def run(config: Config) -> Report:
    """Run the scenario described by ``config`` and return its figures, judged."""
    with contextlib.ExitStack() as stack:
        workdir = config.workdir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="aduan-scaleout-"))
        )
        workdir.mkdir(parents=True, exist_ok=True)
        return await _run(config, workdir)


async def _run(config: Config, workdir: Path) -> Report:
    state = _State()
    report = Report()
    await prepare_database(config.database_url)
    direct = make_url(config.database_url)
    db_host, db_port = direct.host or "127.0.0.1", direct.port or 5432
    proxy = PgProxy(free_port(), db_host, db_port)
    redis = RedisServer(free_port(), workdir)
    provider = FakeProvider(ACCOUNT_SID, AUTH_TOKEN)
    async with contextlib.AsyncExitStack() as stack:
        await provider.start(free_port())
        stack.push_async_callback(provider.close)
        await proxy.start()
        stack.push_async_callback(proxy.close)
        await redis.start()
        stack.push_async_callback(redis.stop)
        await _drive(config, workdir, state, report, redis, provider, proxy, stack)
    report.judge()
    log.info("faults fired: %s", ", ".join(state.fired) or "none")
    return report


async def _drive(
    config: Config,
    workdir: Path,
    state: _State,
    report: Report,
    redis: RedisServer,
    provider: FakeProvider,
    proxy: PgProxy,
    stack: contextlib.AsyncExitStack,
) -> None:
    direct = make_url(config.database_url)
    through_proxy = (
        direct.set(drivername="postgresql+asyncpg", host="127.0.0.1", port=proxy.port)
    ).render_as_string(hide_password=False)
    direct_async = direct.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    dsn = asyncpg_dsn(config.database_url)
    numbers = [sender_number(i) for i in range(config.senders)]
    settings = {
        "data_dir": str(workdir / "data"),
        "database_url": through_proxy,
        "redis_url": redis.url,
        "public_url": PUBLIC_URL,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_sms_from": "+62211234567",
        "twilio_api_base": provider.url,
        "twilio_sms_per_second": str(config.sms_per_second),
        "turn_gap_seconds": "0",
        "log_level": config.log_level,
    }
    base_env = clean_environ()
    upgrade = subprocess.run(
        [*aduan_command(), "db", "upgrade"],
        env=environment(base_env, **{**settings, "database_url": direct_async}),
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    if upgrade.returncode != 0:
        raise RuntimeError(f"aduan db upgrade failed: {upgrade.stdout}{upgrade.stderr}")

    serves: list[Member] = []
    for i in range(config.serves):
        port = free_port()
        serves.append(
            Member(
                f"serve-{i + 1}",
                ["serve", "--port", str(port)],
                environment(base_env, **settings),
                workdir,
                port=port,
            )
        )
    workers = [
        Member(f"worker-{i + 1}", ["worker"], environment(base_env, **settings), workdir)
        for i in range(config.workers)
    ]
    state.members = [*serves, *workers]

    async def shutdown_all() -> None:
        for member in state.members:
            await member.shutdown()

    stack.push_async_callback(shutdown_all)
    for member in state.members:
        member.start()
    bases = [f"http://127.0.0.1:{m.port}" for m in serves]
    await asyncio.gather(*(_wait_healthy(b, m) for b, m in zip(bases, serves, strict=True)))

    driver = Driver(
        lambda: bases,
        auth_token=AUTH_TOKEN,
        account_sid=ACCOUNT_SID,
        public_url=PUBLIC_URL,
        senders=config.senders,
        webhooks=config.webhooks,
        redeliver=config.redeliver,
        provider=provider,
        seed=config.seed,
        concurrency=config.concurrency,
        reply_timeout=config.reply_timeout,
        think=config.think,
    )
    stop_monitor = asyncio.Event()
    monitor = asyncio.create_task(_supervise(state, redis, stop_monitor))
    started = time.monotonic()
    driving = asyncio.create_task(driver.run())
    faults = asyncio.create_task(
        _faults(config, state, serves, workers, redis, provider, proxy, driver, driving, dsn)
    )
    try:
        await driving
        report.drive_seconds = time.monotonic() - started
        await faults
        # Settle: everything stored processed and answered, bounded.
        report.settle_seconds = state.settle
        final = await _settled_after(dsn, numbers, config.settle_timeout)
        if final is None:
            log.warning("work did not settle within %.0f s", config.settle_timeout)
        await asyncio.sleep(2.0)  # late sends of rows marked just now
    finally:
        faults.cancel()
        stop_monitor.set()
        await monitor
        await shutdown_all()

    conn = await asyncpg.connect(dsn)
    try:
        await count_from_database(conn, driver.tally, config.senders, report)
        parts = await outbox_parts(conn, config.senders)
        recorded = await recorded_sids(conn)
    finally:
        await conn.close()
    count_duplicate_sends(
        parts,
        provider.sent,
        state.kills,
        report,
        recorded=recorded,
        events=state.events,
        started=started,
    )
    _save_sends(workdir / "provider-sends.jsonl", provider, started)
    tally = driver.tally
    report.webhooks_sent = len(tally.attempted)
    report.posts = tally.posts
    report.acknowledged = len(tally.acked)
    report.redelivered = len(tally.redelivered)
    report.provider_500s = provider.refused_500
    report.reply_timeouts = tally.reply_timeouts
    report.post_failures = dict(tally.failures)
    if tally.latencies:
        ordered = sorted(tally.latencies)
        report.answer_seconds = (
            ordered[len(ordered) // 2],
            ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
            ordered[-1],
        )
    for member in state.members:
        for stop in member.stopped:
            if stop.cause in ("sigterm", "shutdown"):
                report.stops.append(stop)
            elif stop.cause == "exit":
                report.unexpected_exits.append(stop)
    report.worker_exits_while_redis_down = state.worker_exits_while_redis_down
    report.serve_exits_while_redis_down = state.serve_exits_while_redis_down


def _save_sends(path: Path, provider: FakeProvider, started: float) -> None:
    """Every accepted send as JSON lines (``to``, ``body``, ``sid``, ``at`` s from start)."""
    with path.open("w") as f:
        for s in provider.sent:
            f.write(
                json.dumps({"to": s.to, "body": s.body, "sid": s.sid, "at": s.at - started}) + "\n"
            )


async def _supervise(state: _State, redis: RedisServer, stop: asyncio.Event) -> None:
    """Restart a process that exited on its own one second later; note exits
    while Redis is down."""
    restarts: dict[str, float] = {}
    while not stop.is_set():
        now = time.monotonic()
        for member in state.members:
            ended = member.poll_exit()
            if ended is not None:
                log.warning("%s exited on its own with %s", member.name, ended.returncode)
                state.events.append((ended.at, f"{member.name} exited on its own"))
                if redis.is_down_at(ended.at):
                    if member.name.startswith("worker"):
                        state.worker_exits_while_redis_down += 1
                    else:
                        state.serve_exits_while_redis_down += 1
                restarts[member.name] = now + 1.0
            if member.name in restarts and restarts[member.name] <= now and not member.running:
                del restarts[member.name]
                member.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)


async def _faults(
    config: Config,
    state: _State,
    serves: list[Member],
    workers: list[Member],
    redis: RedisServer,
    provider: FakeProvider,
    proxy: PgProxy,
    driver: Driver,
    driving: asyncio.Task[None],
    dsn: str,
) -> None:
    """Fire each configured fault once the acknowledged share passes its mark."""
    chosen = [f for f in FAULTS if f in config.faults]
    numbers = [sender_number(i) for i in range(config.senders)]
    for n, fault in enumerate(chosen):
        mark = 0.1 + 0.75 * n / max(1, len(chosen))
        while len(driver.tally.acked) < mark * driver.total and not driving.done():
            await asyncio.sleep(0.2)
        log.warning("fault: %s at %.0f %%", fault, 100 * len(driver.tally.acked) / driver.total)
        state.fired.append(fault)
        state.events.append((time.monotonic(), fault))
        if fault in ("kill-worker", "kill-serve", "term-worker", "term-serve"):
            group = workers if fault.endswith("worker") else serves
            # A SIGKILL hits the first of a group, a SIGTERM the last.
            member = group[0] if fault.startswith("kill") else group[-1]
            while not member.running:
                await asyncio.sleep(0.1)
            sig = signal.SIGKILL if fault.startswith("kill") else signal.SIGTERM
            if sig is signal.SIGKILL:
                state.kills.append(time.monotonic())
            await member.stop(sig)
            state.events.append((time.monotonic(), f"{member.name} exited"))
            await asyncio.sleep(1.0)
            member.start()
        elif fault == "redis":
            await redis.stop()
            await asyncio.sleep(config.redis_down)
            await redis.start()
            state.events.append((time.monotonic(), "redis back"))
            state.settle.append(await _settled_after(dsn, numbers, config.settle_timeout))
        elif fault == "provider":
            provider.fail_for(config.provider_500)
            await asyncio.sleep(config.provider_500)
        elif fault in ("pg-refuse", "pg-hang"):
            proxy.set_mode(Mode.REFUSE if fault == "pg-refuse" else Mode.HANG)
            await asyncio.sleep(config.db_outage)
            proxy.set_mode(Mode.PASS)
