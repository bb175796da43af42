"""Shared rate limits across processes: how fast do N processes send together?

Starts ``--processes`` Python processes, each with its own gate (its own Redis
connection or database pool) for one SMS sender limited to ``--rate``
messages/s, each sending ``--sends`` messages from ``--concurrency`` tasks as
the outbox does (every send waits on the gate, then notes the wall time).
Prints the combined rate over all processes, the median and smallest gap
between two sends, and the limit, for the backend chosen (``redis``, ``postgresql``, or
``pacer``: each process pacing itself alone, the old behaviour).

    .venv/bin/python -m tests.bench.rate_gates --backend redis --processes 2 \\
        --rate 5 --sends 25
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from channels.ratelimit import Pacer, RateGate
from gateway.rate_gates import DatabaseSlots, RedisSlots, SharedGate, SlotBook, redis_client
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from tests.services import POSTGRES_URL, REDIS_URL

SENDER = "+62211234567"


async def child(args: argparse.Namespace) -> None:
    """One sending process: prints the JSON list of its send times."""
    engine = None
    book: SlotBook | None = None
    gate: RateGate
    if args.backend == "redis":
        book = RedisSlots(redis_client(args.redis_url))
        gate = SharedGate(book, "sms", per_key=args.rate, overall=None)
    elif args.backend == "postgresql":
        engine = create_engine(args.database_url)
        book = DatabaseSlots(session_factory(engine))
        gate = SharedGate(book, "sms", per_key=args.rate, overall=None)
    else:
        gate = Pacer(per_key=args.rate, overall=None)
    start_at = float(args.start_at)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    sent: list[float] = []
    queue = list(range(args.sends))

    async def sender() -> None:
        while queue:
            queue.pop()
            await gate.wait(SENDER)
            sent.append(time.time())

    await asyncio.gather(*(sender() for _ in range(args.concurrency)))
    if book is not None:
        await book.close()
    if engine is not None:
        await engine.dispose()
    print(json.dumps(sent))


async def prepare(args: argparse.Namespace) -> None:
    if args.backend == "redis":
        client: Any = redis_client(args.redis_url)
        await client.flushdb()
        await client.aclose()
    elif args.backend == "postgresql":
        engine = create_engine(args.database_url)
        await upgrade(engine)
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("redis", "postgresql", "pacer"), default="redis")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rate", type=float, default=5.0, help="messages/s per sender")
    parser.add_argument("--sends", type=int, default=25, help="per process")
    parser.add_argument("--concurrency", type=int, default=8, help="sending tasks per process")
    parser.add_argument("--redis-url", default=REDIS_URL, help="its database is flushed")
    parser.add_argument(
        "--database-url", default=POSTGRES_URL, help="migrated; gate rows go in leases"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", default="0", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args))
        return
    asyncio.run(prepare(args))
    start_at = time.time() + 2.0  # every process ready before the first send
    command = [sys.executable, "-m", "tests.bench.rate_gates", *sys.argv[1:], "--child"]
    procs = [
        subprocess.Popen([*command, "--start-at", str(start_at)], stdout=subprocess.PIPE)
        for _ in range(args.processes)
    ]
    times = sorted(t for p in procs for t in json.loads(p.communicate()[0]))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    rate = (len(times) - 1) / (times[-1] - times[0])
    print(
        f"{args.backend}: {args.processes} processes, {len(times)} sends, "
        f"{rate:.2f} sends/s together (limit {args.rate:g}/s), "
        f"gap between sends: median {statistics.median(gaps) * 1000:.0f} ms, "
        f"smallest {min(gaps) * 1000:.0f} ms (limit {1000 / args.rate:.0f} ms; a send "
        "woken late by a busy machine shortens the gap after it)"
    )


if __name__ == "__main__":
    main()
