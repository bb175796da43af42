"""Ingest benchmark: webhook-style load against a real ``aduan serve`` process,
paired with a bare aiohttp handler doing one durable SQLite insert per request.

Each run starts a fresh server in a subprocess, on its own empty data
directory, and drives it with the same client: ``--concurrency`` concurrent
connections posting the same signed JSON messages to ``POST /webhooks/api``
(bodies built and signed before the clock starts). Two servers take turns,
``--pairs`` times (bare, aduan, bare, aduan, ...), so a machine whose speed
drifts moves both sides of a pair alike:

* **aduan**: ``aduan serve`` on the embedded default (SQLite with WAL and
  ``synchronous=FULL``, in-process jobs). Every 200 is sent after the message
  is committed; processing (the intake conversation, replies) runs in the same
  process at the same time, as in production. The stored rows are counted at
  the end.
* **bare**: an aiohttp application with one handler that reads the body,
  decodes the JSON and commits one ``INSERT`` into SQLite with the same
  pragmas (WAL, ``synchronous=FULL``): the limit a Python webhook receiver
  with a durable write per request can reach on this machine.

Printed per run: messages/s, p50 and p99 latency, the server process's CPU
time per message during the timed load (user + system, all its threads) and
the stored rows; for aduan also how long after the last answer every message
was processed. Then the medians, and the median of the pair ratios of
throughput (aduan / bare) and of CPU per message (bare / aduan: what the
throughput ratio tends to when both are CPU-bound, on a machine whose disk
is not the limit).

    .venv/bin/python -m tests.bench.ingest --messages 10000 --concurrency 32 --pairs 5
    .venv/bin/python -m tests.bench.ingest --only aduan     # aduan alone, no pairing
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import aiohttp

from channels.api import SIGNATURE_HEADER, sign
from tests.services import free_port

SECRET = "bench-secret"
PATH = "/webhooks/api"

#: The bare reference's table: what it needs to dedupe and keep the message.
BARE_SCHEMA = """
create table if not exists messages (
    id integer primary key,
    external_id text not null unique,
    sender text not null,
    text text not null,
    raw text not null
)
"""


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


# --------------------------------------------------------------- bare server


def bare_server(port: int, database: Path) -> None:
    """Run the bare reference: aiohttp plus one durable SQLite insert per request."""
    from aiohttp import web

    db = sqlite3.connect(database, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(BARE_SCHEMA)

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        data = json.loads(body)
        db.execute("BEGIN")
        db.execute(
            "insert into messages (external_id, sender, text, raw) values (?, ?, ?, ?)"
            " on conflict (external_id) do nothing",
            (data["id"], data["from"]["email"], data["text"], body.decode()),
        )
        db.execute("COMMIT")
        return web.json_response({"status": "accepted"})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post(PATH, receive)
    app.router.add_get("/healthz", health)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# -------------------------------------------------------------------- client


def bodies(first: int, count: int, senders: int) -> list[tuple[bytes, str]]:
    """Signed request bodies ``first`` .. ``first + count - 1``: (body, signature)."""
    out = []
    for i in range(first, first + count):
        body = json.dumps(
            {
                "id": f"bench-{i}",
                "from": {"email": f"warga{i % senders}@example.com", "name": "Warga"},
                "text": "Laporan hasil uji kami terlambat dua minggu, mohon dibantu.",
            }
        ).encode()
        out.append((body, sign(SECRET, body)))
    return out


async def wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    """Wait until ``GET /healthz`` answers 200 (at most 10 s)."""
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            if proc.poll() is not None:
                raise RuntimeError("server exited")
            try:
                async with session.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("server did not start")


async def load(
    base: str, requests: list[tuple[bytes, str]], concurrency: int
) -> tuple[list[float], float]:
    """Post every request from ``concurrency`` connections; (latencies s, elapsed s)."""
    latencies: list[float] = []
    pending = iter(requests)
    url = base + PATH

    async def worker(session: aiohttp.ClientSession) -> None:
        for body, signature in pending:
            started = time.perf_counter()
            async with session.post(url, data=body, headers={SIGNATURE_HEADER: signature}) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}")
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, elapsed


# ---------------------------------------------------------------------- runs


@dataclass(frozen=True)
class Run:
    """One server's figures."""

    kind: str
    rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    stored: int
    total: int
    cpu_us: float
    catch_up_s: float | None = None


def _server(
    kind: str, tmp: str, port: int, errors: IO[bytes]
) -> tuple[subprocess.Popen[bytes], Path, str]:
    """Start ``kind``'s server; (process, database file, stored-rows query)."""
    if kind == "bare":
        database = Path(tmp) / "bare.sqlite3"
        command = [
            sys.executable,
            "-m",
            "tests.bench.ingest",
            "--bare-server",
            str(port),
            str(database),
        ]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        return proc, database, "select count(*) from messages"
    env = {
        **os.environ,
        "ADUAN_DATA_DIR": tmp,
        "ADUAN_HTTP_PORT": str(port),
        "ADUAN_WEBHOOK_SECRET": SECRET,
        "ADUAN_LOG_LEVEL": "WARNING",
    }
    env.pop("ADUAN_DATABASE_URL", None)
    env.pop("ADUAN_REDIS_URL", None)
    aduan = str(Path(sys.executable).with_name("aduan"))
    subprocess.run([aduan, "db", "upgrade"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen([aduan, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=errors)
    return proc, Path(tmp) / "aduan.sqlite3", "select count(*) from messages where direction = 'in'"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process ``pid`` has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def catch_up(database: Path, timeout: float) -> float | None:
    """Seconds until every stored inbound message is processed (``None``: not
    within ``timeout``); aduan's processing runs beside ingest and catches up
    after the burst."""
    started = time.perf_counter()
    with sqlite3.connect(database, timeout=30) as db:
        while time.perf_counter() - started < timeout:
            left = db.execute(
                "select count(*) from messages where direction = 'in' and processed_at is null"
            ).fetchone()[0]
            if not left:
                return time.perf_counter() - started
            time.sleep(0.2)
    return None


def run_once(kind: str, args: argparse.Namespace) -> Run:
    """Start a fresh ``kind`` server, warm it up, load it, stop it, count the rows."""
    warm = bodies(0, args.warmup, args.senders)
    timed = bodies(args.warmup, args.messages, args.senders)
    waited: float | None = None
    with tempfile.TemporaryDirectory(prefix=f"aduan-bench-{kind}-") as tmp:
        port = free_port()
        errors_path = Path(tmp) / "server.err"
        with errors_path.open("wb") as errors:
            proc, database, count = _server(kind, tmp, port, errors)
            base = f"http://127.0.0.1:{port}"
            try:
                asyncio.run(wait_ready(base, proc))
                if warm:
                    asyncio.run(load(base, warm, args.concurrency))
                cpu_before = cpu_seconds(proc.pid)
                latencies, elapsed = asyncio.run(load(base, timed, args.concurrency))
                cpu = cpu_seconds(proc.pid) - cpu_before
                if kind == "aduan" and args.catch_up:
                    waited = catch_up(database, args.catch_up)
            except BaseException:
                print(errors_path.read_text(errors="replace")[-4000:], file=sys.stderr)
                raise
            finally:
                proc.terminate()
                proc.wait(timeout=60)
        with sqlite3.connect(database) as db:
            stored = int(db.execute(count).fetchone()[0])
    return Run(
        kind=kind,
        rate=args.messages / elapsed,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=max(latencies) * 1000,
        stored=stored,
        total=args.messages + args.warmup,
        cpu_us=cpu / args.messages * 1e6,
        catch_up_s=waited,
    )


def show(run: Run) -> None:
    """Print one run's line."""
    processed = ""
    if run.kind == "aduan":
        processed = (
            "   all processed: not waited for"
            if run.catch_up_s is None
            else f"   all processed {run.catch_up_s:.1f} s after the last answer"
        )
    print(
        f"{run.kind:<6} {run.rate:>8,.0f} msg/s   p50 {run.p50_ms:6.1f} ms   "
        f"p99 {run.p99_ms:6.1f} ms   max {run.max_ms:6.1f} ms   "
        f"server CPU {run.cpu_us:4.0f} µs/msg   stored {run.stored} of {run.total}{processed}",
        flush=True,
    )


def main() -> int:
    """Run the benchmark; exit 1 when a server lost a committed message."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--senders", type=int, default=500, help="distinct complainants")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--pairs", type=int, default=3, help="bare/aduan pairs run in turn")
    parser.add_argument(
        "--catch-up",
        type=float,
        default=120.0,
        help="seconds to wait for aduan to process every message after the load (0: do not wait)",
    )
    parser.add_argument("--only", choices=("aduan", "bare"), help="run one server, --pairs times")
    parser.add_argument("--bare-server", nargs=2, metavar=("PORT", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        bare_server(int(args.bare_server[0]), Path(args.bare_server[1]))
        return 0

    print(
        f"messages {args.messages} (+{args.warmup} warm-up) per run, concurrency "
        f"{args.concurrency}, {args.senders} senders, {args.pairs} "
        + ("pairs (bare, aduan in turn)" if args.only is None else f"runs of {args.only}"),
        flush=True,
    )
    kinds = ("bare", "aduan") if args.only is None else (args.only,)
    runs: dict[str, list[Run]] = {kind: [] for kind in kinds}
    for _ in range(args.pairs):
        for kind in kinds:
            run = run_once(kind, args)
            runs[kind].append(run)
            show(run)
    complete = all(r.stored == r.total for rs in runs.values() for r in rs)
    for kind, rs in runs.items():
        print(
            f"{kind:<6} median {statistics.median(r.rate for r in rs):>8,.0f} msg/s   "
            f"p50 {statistics.median(r.p50_ms for r in rs):6.1f} ms   "
            f"p99 {statistics.median(r.p99_ms for r in rs):6.1f} ms   "
            f"server CPU {statistics.median(r.cpu_us for r in rs):4.0f} µs/msg"
        )
    if args.only is None:
        ratios = [a.rate / b.rate for a, b in zip(runs["aduan"], runs["bare"], strict=True)]
        cpu = [b.cpu_us / a.cpu_us for a, b in zip(runs["aduan"], runs["bare"], strict=True)]
        print(
            f"ratio aduan/bare: median {statistics.median(ratios):.2f} "
            f"(pairs: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
        print(
            f"CPU ratio bare/aduan per message: median {statistics.median(cpu):.2f} "
            f"(pairs: {', '.join(f'{r:.2f}' for r in cpu)})"
        )
    print(f"every message stored: {'yes' if complete else 'NO'}")
    return 0 if complete else 1


if __name__ == "__main__":
    raise SystemExit(main())
