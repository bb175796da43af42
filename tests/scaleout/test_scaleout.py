"""The scale-out test, small: two serves and two workers through a worker
SIGKILL, a worker SIGTERM and a Redis stop (README, "Scale-out test").

300 signed SMS webhooks from 30 senders, 10 % delivered twice to different
serves. Asserts the acceptance: nothing acknowledged lost or stored twice, one
complaint per confirmation, no reply sent twice but one the provider accepted
just before its sender was SIGKILLed, each sender's messages handled in order,
a SIGTERMed process exits 0 without a traceback, no worker or serve exits while
Redis is down, and what waited when Redis returned is done within 60 s.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from tests.scaleout.report import SETTLE_LIMIT_SECONDS
from tests.scaleout.scenario import Config, asyncpg_dsn, run
from tests.services import POSTGRES_URL, unavailable

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def _services_or_skip() -> None:
    if shutil.which("redis-server") is None:
        unavailable("Redis", "redis-server is not on PATH (the test runs its own)")
    try:
        conn = await asyncpg.connect(asyncpg_dsn(POSTGRES_URL))
    except Exception as exc:
        unavailable("PostgreSQL", f"{POSTGRES_URL}: {exc!r}")
    else:
        await conn.close()


async def test_two_serves_two_workers_through_kill_term_and_redis_stop(tmp_path: Path) -> None:
    await _services_or_skip()
    report = await run(
        Config(
            database_url=POSTGRES_URL,
            serves=2,
            workers=2,
            webhooks=300,
            senders=30,
            redeliver=0.1,
            faults=("kill-worker", "term-worker", "redis"),
            redis_down=5.0,
            settle_timeout=SETTLE_LIMIT_SECONDS,
            # A SIGKILLed worker's claimed rows go out after their 30 s claim:
            # a complainant waits for the summary before answering it.
            reply_timeout=60.0,
            think=1.0,
            concurrency=32,
            workdir=tmp_path,
        )
    )
    figures = "\n".join(report.lines())
    sigterms = [s for s in report.stops if s.cause in ("sigterm", "shutdown")]
    assert report.acknowledged == report.webhooks_sent == 300, figures
    observed = {
        "lost": report.lost,
        "stored twice": report.duplicates_stored,
        "never processed": report.unprocessed,
        "duplicate complaints": report.duplicate_complaints,
        "duplicate replies not after a SIGKILL": report.duplicate_replies
        - report.duplicate_replies_after_sigkill,
        "replies staged twice": report.extra_reply_rows,
        "replies never sent": report.unsent_replies,
        "senders out of order": report.order_violations,
        "SIGTERM exits not 0": [s.name for s in sigterms if s.returncode != 0],
        "SIGTERM tracebacks": [s.name for s in sigterms if s.traceback],
        "worker exits while Redis down": report.worker_exits_while_redis_down,
        "serve exits while Redis down": report.serve_exits_while_redis_down,
        "settled within the limit after Redis returned": [
            s is not None and s <= SETTLE_LIMIT_SECONDS for s in report.settle_seconds
        ],
    }
    expected = {
        **dict.fromkeys(observed, 0),
        "SIGTERM exits not 0": [],
        "SIGTERM tracebacks": [],
        "settled within the limit after Redis returned": [True],
    }
    assert observed == expected, figures
    assert report.complaints == 30, figures
