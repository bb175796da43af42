"""``python -m tests.scaleout.run``: the scale-out test at full size (README,
"Scale-out test").

    .venv/bin/python -m tests.scaleout.run --database-url \\
        postgresql+asyncpg://postgres@127.0.0.1:5432/aduan_scaleout

prints the figures and exits 1 when the acceptance fails (2 on a set-up error).
The database is created when absent and emptied otherwise: never point it at
one whose data matters.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import fields
from pathlib import Path

from tests.scaleout.scenario import FAULTS, Config, run


def parse(argv: list[str] | None = None) -> Config:
    """The run's :class:`Config` from the command line."""
    p = argparse.ArgumentParser(
        prog="python -m tests.scaleout.run", description=__doc__.split("\n")[0]
    )
    p.add_argument("--database-url", required=True, help="PostgreSQL URL; emptied or created")
    p.add_argument("--serves", type=int, default=2)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--webhooks", type=int, default=5000)
    p.add_argument("--senders", type=int, default=500)
    p.add_argument("--redeliver", type=float, default=0.1, help="share redelivered (0-1)")
    p.add_argument(
        "--faults",
        default=",".join(FAULTS),
        help=f"comma-separated, from {','.join(FAULTS)}; 'none' for a clean run",
    )
    p.add_argument("--redis-down", type=float, default=60.0, help="seconds Redis is stopped")
    p.add_argument("--provider-500", type=float, default=30.0, help="seconds of provider 500s")
    p.add_argument("--db-outage", type=float, default=5.0, help="seconds refused, then hung")
    p.add_argument("--settle-timeout", type=float, default=300.0)
    p.add_argument("--reply-timeout", type=float, default=180.0, help="s a sender waits")
    p.add_argument("--think", type=float, default=1.5, help="s a sender reads a reply")
    p.add_argument("--concurrency", type=int, default=64, help="posts in flight at most")
    p.add_argument("--seed", type=int, default=12)
    p.add_argument("--log-level", default="WARNING", help="ADUAN_LOG_LEVEL of the processes")
    p.add_argument("--workdir", type=Path, help="keep process logs here (default: temporary)")
    a = p.parse_args(argv)
    faults = tuple(f for f in a.faults.split(",") if f and f != "none")
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        p.error(f"unknown fault(s) {', '.join(unknown)}; choose from {', '.join(FAULTS)}")
    if a.senders < 1 or a.webhooks < a.senders or a.serves < 1 or a.workers < 1:
        p.error("need at least one serve, one worker, one sender and a webhook per sender")
    # Each option's destination is the name of the Config field it sets.
    given = {f.name: getattr(a, f.name) for f in fields(Config) if hasattr(a, f.name)}
    return Config(**{**given, "faults": faults})


def main(argv: list[str] | None = None) -> int:
    """Run, print the figures; 0 when the acceptance holds, 1 when not, 2 on set-up errors."""
    config = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        report = asyncio.run(run(config))
    except RuntimeError as exc:
        print(f"scale-out: {exc}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    return 1 if report.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
