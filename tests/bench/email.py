"""Email benchmark: one real Dovecot mailbox, aduan against django-helpdesk and a bare SMTP loop.

    make bench-email                      # 2,000 mails
    .venv/bin/python -m tests.bench.email --mails 500 --skip-helpdesk

In one run it

1. starts its own unprivileged Dovecot on a free port (as the tests do,
   tests/email/conftest.py) and APPENDs ``--mails`` complete Indonesian
   complaint mails to one mailbox: the complete letters of the conversation
   corpus (tests/conversation/corpus/email_letters.yaml), each from its own
   address, so each becomes a complaint and gets an acknowledgement;
2. sends ``--mails`` acknowledgement-sized mails with a bare aiosmtplib loop
   over one connection to an SMTP sink (tests/bench/smtp_sink.py, its own
   process): the sending reference. "Bare" is the loop aiosmtplib's own
   documentation shows (``EmailMessage``, ``send_message``); a second bare
   loop builds each mail with aduan's builder instead, which isolates what
   the outbox dispatcher itself costs (claims and records in the database);
3. runs aduan on the embedded default (SQLite under var/bench, in-process
   jobs) with the email channel on that mailbox and a fresh sink: the store
   rate (mails/s until all are stored, processing running alongside as in
   production), then the processed-and-answered rate (until the last
   acknowledgement reached the sink), the acknowledgements' own sending rate
   (first to last at the sink), missed and duplicate replies, and whether all
   mail is still on the server, unflagged;
4. puts every acknowledgement back to pending and times the outbox
   dispatcher alone sending them again (claim, send through the pooled SMTP
   connections, record), alternating ``--pairs`` times with both bare loops
   so that each ratio compares runs made moments apart on this shared
   machine; prints each pair and the medians;
5. runs django-helpdesk 2.6.1 ``get_email`` on the same mailbox
   (tests/bench/helpdesk.py) and checks it made one ticket per mail.

Nothing here asserts a time: it prints figures (README "Benchmarks").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aioimaplib
import aiosmtplib
import yaml
from sqlalchemy import func, select

from channels.base import ChannelName, OutboundMessage
from channels.email.smtp import build_message
from gateway.config import Security, Settings
from gateway.runtime import Runtime, build_runtime
from storage.migrate import upgrade
from storage.models import Complaint, Direction, Message
from tests.bench.helpdesk import run_get_email
from tests.email.conftest import (
    DOVECOT,
    IMAP_PASSWORD,
    IMAP_USER,
    _dovecot_config,
    _stop_dovecot,
    _wait_for_greeting,
)
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "conversation" / "corpus" / "email_letters.yaml"
EMAIL_FROM = "Layanan Pengaduan <pengaduan@bspji.go.id>"
MAILBOX = "Pengaduan"
DOMAINS = ("gmail.com", "yahoo.co.id", "outlook.co.id", "mail.ugm.ac.id", "ptsinarjaya.co.id")


# -- the mailbox ---------------------------------------------------------------------


def complete_letters() -> list[dict[str, Any]]:
    """The corpus letters that register without a question."""
    letters = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    return [x for x in letters if x.get("channel") == "email" and not x.get("answers")]


def complaint_mails(count: int, seed: int = 12) -> list[tuple[str, bytes]]:
    """``count`` complaint mails as ``(Message-ID without brackets, bytes)``.

    Each is one complete corpus letter, sent from an address of its own (a new
    contact), with a Date within the last hour (never a fixed date).
    """
    rng = random.Random(seed)
    letters = complete_letters()
    now = datetime.now(UTC)
    mails = []
    for index in range(count):
        letter = letters[index % len(letters)]
        name = letter["sender_name"]
        local = ".".join(name.lower().replace(",", "").split()[:2])
        domain = rng.choice(DOMAINS)
        message_id = f"{uuid.uuid4().hex}@mail.{domain}"
        msg = EmailMessage()
        msg["From"] = f"{name} <{local}.{index}@{domain}>"
        msg["To"] = "pengaduan@bspji.go.id"
        msg["Subject"] = letter["subject"]
        msg["Message-ID"] = f"<{message_id}>"
        msg["Date"] = format_datetime(now - timedelta(minutes=rng.uniform(1, 60)))
        msg.set_content(letter["opening"], charset="utf-8")
        mails.append((message_id, bytes(msg).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")))
    return mails


@dataclass(frozen=True)
class Dovecot:
    """A running benchmark Dovecot (plain IMAP on ``port``)."""

    port: int
    root: Path
    config: Path


@contextlib.contextmanager
def dovecot(root: Path) -> Iterator[Dovecot]:
    """Start Dovecot with its own config under ``root`` (as tests/email/conftest.py does)."""
    if not os.path.exists(DOVECOT):
        sys.exit(f"{DOVECOT} not found (apt-get install dovecot-imapd)")
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    (root / "mail").mkdir(exist_ok=True)
    (root / "users").write_text(f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}\n")
    if os.geteuid() == 0:
        shutil.chown(root / "mail", "dovecot", "dovecot")
    port = free_port()
    config = root / "dovecot.conf"
    config.write_text(_dovecot_config(root, port, free_port(), None))
    with (root / "start.log").open("wb") as out:
        subprocess.run([DOVECOT, "-c", str(config)], stdout=out, stderr=out, check=True)
    if not _wait_for_greeting(port, time.monotonic() + 15):
        _stop_dovecot(config)
        sys.exit("Dovecot did not start; see " + str(root / "dovecot.log"))
    try:
        yield Dovecot(port, root, config)
    finally:
        _stop_dovecot(config)


@contextlib.asynccontextmanager
async def imap(port: int) -> AsyncIterator[aioimaplib.IMAP4]:
    client = aioimaplib.IMAP4(host="127.0.0.1", port=port, timeout=60)
    await client.wait_hello_from_server()
    assert (await client.login(IMAP_USER, IMAP_PASSWORD)).result == "OK"
    try:
        yield client
    finally:
        await client.logout()


async def fill(port: int, mails: list[tuple[str, bytes]]) -> None:
    async with imap(port) as client:
        await client.protocol.simple_command("CREATE", f'"{MAILBOX}"')
        for _message_id, raw in mails:
            response = await client.append(raw, mailbox=MAILBOX)
            assert response.result == "OK", response


async def server_flags(port: int, count: int) -> tuple[int, int]:
    """(messages in the mailbox, messages flagged \\Seen or \\Deleted), read-only."""
    async with imap(port) as client:
        response = await client.examine(f'"{MAILBOX}"')
        assert response.result == "OK", response
        client.protocol.state = aioimaplib.SELECTED
        total = flagged = 0
        # 250 UIDs per command: aioimaplib recurses once per line of one read.
        for start in range(1, count + 1, 250):
            response = await client.uid("fetch", f"{start}:{start + 249}", "(UID FLAGS)")
            for line in response.lines:
                if isinstance(line, bytes) and b" FETCH " in line:
                    total += 1
                    if b"\\Seen" in line or b"\\Deleted" in line:
                        flagged += 1
        await client.close()
    return total, flagged


# -- the SMTP sink -------------------------------------------------------------------


@contextlib.contextmanager
def sink(root: Path, name: str) -> Iterator[tuple[int, Path]]:
    """An SMTP sink process (tests/bench/smtp_sink.py) writing to ``root/name.jsonl``."""
    port = free_port()
    out = root / f"{name}.jsonl"
    out.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.smtp_sink", "--port", str(port), "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # "ready"
    try:
        yield port, out
    finally:
        proc.terminate()
        proc.wait(10)


def sink_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def sink_count(path: Path) -> int:
    """Messages the sink recorded so far (counting lines: cheap, so polling it does
    not take the interpreter from the aduan run it is watching)."""
    return path.read_bytes().count(b"\n") if path.exists() else 0


async def wait_records(path: Path, count: int, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while sink_count(path) < count and time.monotonic() <= deadline:
        await asyncio.sleep(0.05)
    return sink_records(path)


# -- (c) the bare loop ---------------------------------------------------------------


def acknowledgement(index: int) -> OutboundMessage:
    return OutboundMessage(
        idempotency_key=f"bare-{index}",
        channel=ChannelName.EMAIL,
        recipient=f"warga.{index}@gmail.com",
        text=(
            "Yth. Bapak/Ibu,\n\nPengaduan Anda telah kami terima dengan nomor ADU-2026-00042.\n"
            "Kami akan menindaklanjutinya sesuai standar waktu layanan.\n\nSalam,\nLayanan Pengaduan"
        ),
        subject="[ADU-2026-00042] Pengaduan Anda telah kami terima",
        thread_refs=(f"m{index}@mail.gmail.com",),
        language="id",
        automatic=True,
    )


def stdlib_message(index: int) -> EmailMessage:
    """The acknowledgement as aiosmtplib's documentation builds a mail: ``EmailMessage``."""
    ack = acknowledgement(index)
    message = EmailMessage()
    message["From"] = EMAIL_FROM
    message["To"] = ack.recipient
    message["Subject"] = ack.subject or ""
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = f"<{ack.idempotency_key}@bspji.go.id>"
    message["In-Reply-To"] = f"<{ack.thread_refs[0]}>"
    message["References"] = f"<{ack.thread_refs[0]}>"
    message["Auto-Submitted"] = "auto-replied"
    message.set_content(ack.text)
    return message


def aduan_message(index: int) -> Any:
    """The acknowledgement built by aduan's own builder (what the dispatcher sends)."""
    return build_message(acknowledgement(index), EMAIL_FROM)


async def bare_loop(port: int, count: int, build: Any = stdlib_message) -> float:
    """Seconds to build and send ``count`` acknowledgements over one aiosmtplib connection."""
    started = time.perf_counter()
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
    await client.connect()
    for index in range(count):
        message = build(index)
        await client.send_message(
            message, sender="pengaduan@bspji.go.id", recipients=[str(message["To"])]
        )
    await client.quit()
    return time.perf_counter() - started


# -- (b) aduan -----------------------------------------------------------------------


@dataclass
class AduanRun:
    store_seconds: float
    answer_seconds: float
    stored: int
    complaints: int
    records: list[dict[str, Any]]


async def count_rows(runtime: Runtime, model: type, *where: object) -> int:
    async with runtime.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


async def run_aduan(
    root: Path, imap_port: int, smtp_port: int, sink_out: Path, count: int, options: Any
) -> AduanRun:
    data = root / "aduan"
    settings = Settings(
        _env_file=None,
        data_dir=data,
        database_url=options.database_url,
        imap_host="127.0.0.1",
        imap_port=imap_port,
        imap_user=IMAP_USER,
        imap_password=IMAP_PASSWORD,
        imap_security=Security.NONE,
        imap_mailbox=MAILBOX,
        email_from=EMAIL_FROM,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security=Security.NONE,
        reply_cap_per_hour=0,
    )
    runtime = await build_runtime(settings, use_redis=False)
    await upgrade(runtime.engine)
    profiler = None
    if options.profile:
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="disabled")
        profiler.start()
    started = time.perf_counter()
    await runtime.start()  # the poller starts reading the mailbox now
    stored = 0
    while stored < count:
        await asyncio.sleep(0.02)
        stored = await count_rows(runtime, Message, Message.direction == Direction.IN.value)
        if time.perf_counter() - started > options.timeout:
            break
    store_seconds = time.perf_counter() - started
    if profiler is not None and options.profile == "store":
        profiler.stop()
        (root / "profile.html").write_text(profiler.output_html())
        print(profiler.output_text(unicode=False, color=False, show_all=False)[:8000])
    records = await wait_records(sink_out, count, options.timeout)
    if profiler is not None and options.profile == "answer":
        profiler.stop()
        (root / "profile.html").write_text(profiler.output_html())
        print(profiler.output_text(unicode=False, color=False, show_all=False)[:12000])
    answer_seconds = time.perf_counter() - started
    await asyncio.sleep(0.5)  # a late duplicate would show now
    records = sink_records(sink_out)
    complaints = await count_rows(runtime, Complaint)
    await runtime.close()
    return AduanRun(store_seconds, answer_seconds, stored, complaints, records)


async def resend_acknowledgements(
    database_url: str, smtp_port: int, sink_out: Path
) -> tuple[int, float]:
    """Put every sent acknowledgement back to pending and time the outbox dispatcher
    sending them again through the email channel (its SMTP pool) to ``smtp_port``.

    Isolates the sending side (claim, send, mark sent) from intake and the
    conversation engine; returns how many rows were re-sent and the seconds
    from the first claim until every row was recorded sent (each was accepted
    by the sink before that; connecting is included, as in the bare loop).
    """
    from sqlalchemy import update

    from channels.email import EmailChannel
    from gateway.channel_configs import email_config
    from gateway.outbox import Dispatcher
    from storage.db import create_engine, session_factory
    from storage.models import OutboxMessage, OutboxStatus

    settings = Settings(
        _env_file=None,
        database_url=database_url,
        email_from=EMAIL_FROM,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security=Security.NONE,
    )
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENT.value)
            .values(status=OutboxStatus.PENDING.value, next_attempt_at=datetime.now(UTC))
        )
        rows = int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def no_intake(message: object) -> None:
        raise RuntimeError("no intake here")

    channel = EmailChannel(email_config(settings), sessions, no_intake, holder="bench")
    dispatcher = Dispatcher(sessions, {ChannelName.EMAIL.value: channel}, reply_cap_per_hour=0)
    started = time.perf_counter()
    while await dispatcher.dispatch_due(limit=200):
        pass
    seconds = time.perf_counter() - started
    await wait_records(sink_out, rows, 60)
    await channel.stop()
    await engine.dispose()
    return rows, seconds


@dataclass
class Pair:
    bare: float  # mails/s, bare loop with EmailMessage
    bare_aduan_builder: float  # mails/s, bare loop with aduan's builder
    dispatcher: float  # mails/s, the outbox dispatcher
    received: int  # what the sink got from the dispatcher


async def dispatcher_pairs(root: Path, database_url: str, count: int, pairs: int) -> list[Pair]:
    """Alternate the two bare loops and the dispatcher ``pairs`` times (each on a fresh sink)."""
    out: list[Pair] = []
    for _ in range(pairs):
        with sink(root, "bare") as (port, bare_out):
            bare = rate(count, await bare_loop(port, count))
            await wait_records(bare_out, count, 30)
        with sink(root, "bare-builder") as (port, builder_out):
            builder = rate(count, await bare_loop(port, count, aduan_message))
            await wait_records(builder_out, count, 30)
        with sink(root, "resend") as (port, resend_out):
            resent, seconds = await resend_acknowledgements(database_url, port, resend_out)
            received = sink_count(resend_out)
        out.append(Pair(bare, builder, rate(resent, seconds), received))
    return out


def print_pairs(pairs: list[Pair]) -> None:
    """Each pair's rates and ratios, then the median ratios."""
    for n, pair in enumerate(pairs, 1):
        print(
            f"pair {n}: bare loop {pair.bare:.0f} mails/s, bare loop with aduan's builder "
            f"{pair.bare_aduan_builder:.0f} mails/s, outbox dispatcher {pair.dispatcher:.0f} "
            f"mails/s (sink received {pair.received}) = {pair.dispatcher / pair.bare:.2f} of "
            f"the bare loop, {pair.dispatcher / pair.bare_aduan_builder:.2f} of the bare loop "
            "with aduan's builder"
        )
    if pairs:
        print(
            "aduan outbox dispatcher alone, median of "
            f"{len(pairs)} pairs: {statistics.median(p.dispatcher / p.bare for p in pairs):.2f} "
            "of the bare aiosmtplib loop, "
            f"{statistics.median(p.dispatcher / p.bare_aduan_builder for p in pairs):.2f} "
            "of the bare loop with aduan's builder"
        )


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


async def main_async(options: Any) -> None:
    count = options.mails
    root = ROOT / "var" / "bench" / "email"
    for part in ("dovecot", "aduan"):
        shutil.rmtree(root / part, ignore_errors=True)
    (root / "aduan").mkdir(parents=True)
    mails = complaint_mails(count)
    expected = {message_id for message_id, _raw in mails}
    with dovecot(root / "dovecot") as server:
        t = time.perf_counter()
        await fill(server.port, mails)
        print(f"mailbox: {count} complaint mails appended in {time.perf_counter() - t:.1f} s")

        with sink(root, "bare") as (port, out):
            bare_seconds = await bare_loop(port, count)
            bare_received = len(await wait_records(out, count, 30))
        print(
            f"bare aiosmtplib loop, one connection: {count} mails in {bare_seconds:.2f} s "
            f"= {rate(count, bare_seconds):.0f} mails/s (sink received {bare_received})"
        )

        database_url = options.database_url or (
            f"sqlite+aiosqlite:///{root / 'aduan' / 'aduan.sqlite3'}"
        )
        options.database_url = database_url
        with sink(root, "aduan") as (port, out):
            run = await run_aduan(root, server.port, port, out, count, options)
        pairs = await dispatcher_pairs(root, database_url, count, options.pairs)
        replies = Counter(r["in_reply_to"].strip("<>") for r in run.records if r["in_reply_to"])
        missed = len(expected - set(replies))
        duplicates = sum(n - 1 for n in replies.values() if n > 1)
        times = sorted(r["t"] for r in run.records)
        send_rate = rate(len(times) - 1, times[-1] - times[0]) if len(times) > 1 else 0.0
        total, flagged = await server_flags(server.port, count)
        store_rate = rate(run.stored, run.store_seconds)
        print(
            f"aduan store: {run.stored}/{count} stored in {run.store_seconds:.2f} s "
            f"= {store_rate:.0f} mails/s"
        )
        print(
            f"aduan processed and answered: {len(run.records)} acknowledgements, "
            f"{run.complaints} complaints in {run.answer_seconds:.2f} s "
            f"= {rate(len(run.records), run.answer_seconds):.0f} mails/s"
        )
        print(
            f"aduan acknowledgements sent (first to last at the sink): {send_rate:.0f} mails/s "
            f"= {send_rate / rate(count, bare_seconds):.2f} of the bare loop"
        )
        print_pairs(pairs)
        print(f"replies: missed {missed}, duplicate {duplicates}")
        print(f"mail left on the server: {total}/{count}, flagged \\Seen or \\Deleted: {flagged}")

        if options.skip_helpdesk:
            return
        helpdesk = run_get_email(
            ROOT / "var" / "bench",
            host="127.0.0.1",
            port=server.port,
            user=IMAP_USER,
            password=IMAP_PASSWORD,
            folder=MAILBOX,
        )
        helpdesk_rate = rate(helpdesk.tickets, helpdesk.seconds)
        print(
            f"django-helpdesk 2.6.1 get_email: {helpdesk.tickets}/{count} tickets in "
            f"{helpdesk.seconds:.2f} s = {helpdesk_rate:.1f} mails/s"
        )
        print(
            f"aduan store / django-helpdesk: {store_rate / helpdesk_rate:.1f}x; "
            f"aduan stored, processed and answered / django-helpdesk: "
            f"{rate(len(run.records), run.answer_seconds) / helpdesk_rate:.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--skip-helpdesk", action="store_true")
    parser.add_argument(
        "--pairs", type=int, default=5, help="dispatcher runs, each beside both bare loops"
    )
    parser.add_argument("--database-url", default=None, help="default: SQLite under var/bench")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per phase")
    parser.add_argument(
        "--profile",
        choices=("store", "answer"),
        default=None,
        help="pyinstrument the store phase, or storing through answering",
    )
    parser.add_argument(
        "--parse-processes",
        type=int,
        default=None,
        help="worker processes parsing mail (0: a thread, -1: on the loop); default: aduan's",
    )
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if options.parse_processes is not None:
        import channels.email.imap as imap_module

        imap_module.PARSE_PROCESSES = options.parse_processes
    asyncio.run(main_async(options))


if __name__ == "__main__":
    main()
