"""A stopping IMAP poller never cuts a commit off midway: when its grace runs
out while a batch is being stored, the batch commits first and the pass is
cancelled after (docs/architecture.md, "Cancelling database work")."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import channels.email.imap as imap_module
from channels.base import InboundMessage
from storage.models import Direction, Message
from tests.email.memory_mailbox import CONFIG, MemoryMailbox, MemoryPoller, plain
from tests.harness.rows import count_rows
from tests.runtime_fixtures import make_harness


@pytest.fixture(autouse=True)
def parse_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parse on a thread of this process (no worker processes to start)."""
    monkeypatch.setattr(imap_module, "PARSE_PROCESSES", 0)


async def test_a_stop_out_of_grace_lets_the_batch_being_stored_commit(tmp_path: Path) -> None:
    h = await make_harness(tmp_path)
    try:
        box = MemoryMailbox()
        box.append(plain("stop-1@example.com"))
        box.append(plain("stop-2@example.com", sender="sari@example.com"))
        storing = asyncio.Event()
        database_answers = asyncio.Event()
        committed: list[int] = []

        async def slow_commit(messages: Sequence[InboundMessage]) -> Any:
            """The runtime's batch store, behind a database that is slow to answer."""
            storing.set()
            await database_answers.wait()
            results = await h.runtime.accept_batch(messages)
            committed.append(len(messages))
            return results

        poller = MemoryPoller(
            box,
            CONFIG,
            h.runtime.sessions,
            h.runtime.accept,
            holder="stopping",
            accept_batch=slow_commit,
        )
        task = asyncio.create_task(poller.run())
        await asyncio.wait_for(storing.wait(), 10)
        stopping = asyncio.create_task(poller.stop(grace_seconds=0.05))
        await asyncio.sleep(0.3)  # the grace has run out and the pass was cancelled
        assert not stopping.done(), "the stop did not wait for the commit under way"
        database_answers.set()
        await asyncio.wait_for(stopping, 10)
        await asyncio.gather(task, return_exceptions=True)

        assert committed == [2]
        assert await count_rows(h.runtime.sessions, Message, Message.direction == Direction.IN) == 2
        assert not poller.holds_lease
    finally:
        await h.runtime.close()
