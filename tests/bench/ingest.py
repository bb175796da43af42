"""Ingest benchmark: webhook-style load against a real ``aduan serve`` process.

Starts the gateway on the embedded default (SQLite, in-process jobs) in a
subprocess, sends signed JSON messages to ``POST /webhooks/api`` from
``--concurrency`` concurrent clients, and reports messages/s and latency
percentiles. Every response is a 200 given only after the message is committed
(durable before the response); at the end the stored messages are counted to
prove it. Processing (the intake conversation, replies) runs in the server at
the same time, as it would in production.

    .venv/bin/python -m tests.bench.ingest --messages 5000 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from channels.api import SIGNATURE_HEADER, sign

SECRET = "bench-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


async def wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
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
    base: str, messages: int, concurrency: int, senders: int, first_id: int = 0
) -> tuple[list[float], float]:
    latencies: list[float] = []
    counter = iter(range(first_id, first_id + messages))
    connector = aiohttp.TCPConnector(limit=concurrency)

    async def worker(session: aiohttp.ClientSession) -> None:
        for i in counter:
            body = json.dumps(
                {
                    "id": f"bench-{i}",
                    "from": {"email": f"warga{i % senders}@example.com", "name": "Warga"},
                    "text": "Laporan hasil uji kami terlambat dua minggu, mohon dibantu.",
                }
            ).encode()
            started = time.perf_counter()
            async with session.post(
                f"{base}/webhooks/api", data=body, headers={SIGNATURE_HEADER: sign(SECRET, body)}
            ) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}")
            latencies.append(time.perf_counter() - started)

    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--senders", type=int, default=500, help="distinct complainants")
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="aduan-bench-") as tmp:
        port = free_port()
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
        proc = subprocess.Popen([aduan, "serve"], env=env, stdout=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            asyncio.run(wait_ready(base, proc))
            if args.warmup:
                asyncio.run(load(base, args.warmup, args.concurrency, args.senders))
            latencies, elapsed = asyncio.run(
                load(base, args.messages, args.concurrency, args.senders, first_id=args.warmup)
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        stored = (
            sqlite3.connect(Path(tmp) / "aduan.sqlite3")
            .execute("select count(*) from messages where direction = 'in'")
            .fetchone()[0]
        )

    total = args.messages + args.warmup
    print(
        f"messages           : {args.messages} (+{args.warmup} warm-up), concurrency {args.concurrency}"
    )
    print(f"throughput         : {args.messages / elapsed:,.0f} messages/s")
    print(f"latency p50        : {statistics.median(latencies) * 1000:.1f} ms")
    print(f"latency p99        : {percentile(latencies, 99) * 1000:.1f} ms")
    print(f"latency max        : {max(latencies) * 1000:.1f} ms")
    print(f"stored (durable)   : {stored} of {total}")
    return 0 if stored == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
