"""The shared leased poll loop: one holder, take-over, backoff, stop, outages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from channels.polling import LeasedPoller
from storage import leases
from storage.db import SessionFactory
from storage.models import Lease
from storage.transient import is_transient

LOGGER = "channels.polling"


async def wait_until(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    """Poll ``predicate`` every 10 ms; fail after a generous ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


class Provider:
    """A poll coroutine: counts passes, fails as scripted, can block until stopped."""

    def __init__(self, script: list[BaseException | None] | None = None) -> None:
        self.script = list(script or [])
        self.passes = 0
        self.block: asyncio.Event | None = None

    async def __call__(self) -> None:
        self.passes += 1
        if self.script:
            error = self.script.pop(0)
            if error is not None:
                raise error
        if self.block is not None:
            await self.block.wait()
        await asyncio.sleep(0.005)


def poller(sessions: SessionFactory, holder: str, poll: Any, **options: Any) -> LeasedPoller:
    settings: dict[str, Any] = {
        "lease_name": "test:box",
        "holder": holder,
        "poll": poll,
        "label": f"test {holder}",
        "ttl_seconds": 0.6,
        "initial_backoff": 0.01,
        "max_backoff": 0.04,
    } | options
    return LeasedPoller(sessions, **settings)


def retry_delays(caplog: pytest.LogCaptureFixture) -> list[float]:
    return [
        float(r.getMessage().split("retrying in ")[1].split()[0])
        for r in caplog.records
        if r.name == LOGGER and "retrying in" in r.getMessage()
    ]


async def test_one_of_two_pollers_takes_the_lease_and_the_other_takes_over_on_stop(
    sessions: SessionFactory,
) -> None:
    a_poll, b_poll = Provider(), Provider()
    a = poller(sessions, "a", a_poll)
    b = poller(sessions, "b", b_poll)
    tasks = [asyncio.create_task(a.run()), asyncio.create_task(b.run())]
    await wait_until(lambda: a.holds_lease or b.holds_lease)
    first, second = (a, b) if a.holds_lease else (b, a)
    first_poll, second_poll = (a_poll, b_poll) if first is a else (b_poll, a_poll)
    await wait_until(lambda: first_poll.passes >= 5)
    assert not second.holds_lease and second_poll.passes == 0
    first.stop()
    await asyncio.wait_for(tasks[0 if first is a else 1], 5)
    assert not first.holds_lease
    # Released, not left to lapse: the other one polls soon after.
    await wait_until(lambda: second.holds_lease and second_poll.passes > 0)
    second.stop()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert await leases.acquire(sessions, "test:box", "c", 5)


async def test_a_lapsed_lease_of_a_crashed_holder_is_taken_over(
    sessions: SessionFactory,
) -> None:
    assert await leases.acquire(sessions, "test:box", "crashed", 0.3)
    taken: list[str] = []
    p = poller(sessions, "b", Provider(), on_acquired=lambda: taken.append("b"))
    task = asyncio.create_task(p.run())
    await wait_until(lambda: p.holds_lease)
    assert taken == ["b"]
    p.stop()
    await asyncio.wait_for(task, 5)


async def test_a_lease_taken_over_ends_the_pass_in_progress(
    sessions: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    provider = Provider()
    provider.block = asyncio.Event()  # one long pass, like an IMAP session
    lost: list[bool] = []
    p = poller(sessions, "a", provider, ttl_seconds=0.3, on_lost=lambda: lost.append(True))
    task = asyncio.create_task(p.run())
    await wait_until(lambda: p.holds_lease and provider.passes == 1)
    async with sessions() as session, session.begin():
        await session.execute(
            update(Lease).where(Lease.name == "test:box").values(holder="intruder")
        )
    await wait_until(lambda: bool(lost))
    assert not p.holds_lease
    assert "lease lost to another process" in caplog.text
    p.stop()
    await asyncio.wait_for(task, 5)
    assert provider.passes == 1  # never polled again while the intruder holds it


async def test_backoff_doubles_to_the_cap_and_resets_after_a_success(
    sessions: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    failure = ConnectionAbortedError("provider went away")
    provider = Provider([failure] * 4 + [None] + [failure])
    p = poller(
        sessions,
        "a",
        provider,
        expected=lambda exc: isinstance(exc, ConnectionAbortedError),
        describe=lambda exc: f"{type(exc).__name__}: {exc}",
    )
    task = asyncio.create_task(p.run())
    await wait_until(lambda: len(retry_delays(caplog)) >= 5)
    p.stop()
    await asyncio.wait_for(task, 5)
    assert retry_delays(caplog)[:5] == [0.01, 0.02, 0.04, 0.04, 0.01]
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


async def test_stop_ends_a_long_backoff_at_once_and_releases_the_lease(
    sessions: SessionFactory,
) -> None:
    provider = Provider([RuntimeError("boom")])
    p = poller(sessions, "a", provider, initial_backoff=600.0, max_backoff=600.0)
    task = asyncio.create_task(p.run())
    await wait_until(lambda: p.last_error is not None)
    assert p.last_error == "RuntimeError" and p.holds_lease
    p.stop()
    await asyncio.wait_for(task, 5)  # far below the 600 s backoff
    assert not p.holds_lease
    assert await leases.acquire(sessions, "test:box", "b", 5)


class Outage:
    """A session factory that refuses to connect while ``down``."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions
        self.down = False
        self.refused = 0

    def __call__(self) -> Any:
        if self.down:
            self.refused += 1
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))
        return self.sessions()


async def test_a_database_outage_logs_one_warning_and_one_recovery(
    sessions: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    database = Outage(sessions)
    provider = Provider()
    p = poller(database, "a", provider, ttl_seconds=0.06, transient=is_transient)  # type: ignore[arg-type]
    task = asyncio.create_task(p.run())
    await wait_until(lambda: provider.passes >= 2)
    database.down = True
    await wait_until(lambda: database.refused >= 6)
    assert p.in_outage
    database.down = False
    await wait_until(lambda: not p.in_outage)
    p.stop()
    await asyncio.wait_for(task, 5)
    ours = [r for r in caplog.records if r.name == LOGGER]
    warnings = [r for r in ours if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "OperationalError" in warnings[0].getMessage()
    assert len([r for r in ours if "working again" in r.getMessage()]) == 1
    assert not [r for r in caplog.records if r.exc_info]


async def test_an_unexpected_error_logs_its_stack_once_and_never_its_text(
    sessions: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    leaky = "duplicate key (phone)=(+6281234567890)"
    provider = Provider([ValueError(leaky)] * 3 + [KeyError(leaky)])
    p = poller(sessions, "a", provider)
    task = asyncio.create_task(p.run())
    await wait_until(lambda: provider.passes >= 5)
    p.stop()
    await asyncio.wait_for(task, 5)
    stacks = [r.getMessage() for r in caplog.records if "unexpected" in r.getMessage()]
    assert len(stacks) == 2  # once for ValueError, once for KeyError
    assert all("test_polling.py" in s for s in stacks)
    assert len(retry_delays(caplog)) >= 4
    assert "+6281234567890" not in caplog.text
