"""A runtime on a fresh SQLite database with recording channels (no network)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from channels.base import ChannelName
from gateway.config import load_settings
from gateway.jobs import InProcessJobs
from gateway.runtime import Runtime, build_runtime
from storage.migrate import upgrade
from tests.fakes import RecordingChannel
from tests.known_kinds import assert_only_known_kinds


@dataclass
class Harness:
    """A started runtime plus its recording channels."""

    runtime: Runtime
    email: RecordingChannel
    sms: RecordingChannel

    @property
    def jobs(self) -> InProcessJobs:
        jobs = self.runtime.jobs
        assert isinstance(jobs, InProcessJobs)
        return jobs

    async def settle(self) -> None:
        """Wait until every requested job has run and the outbox is drained."""
        await self.jobs.idle()


async def make_harness(tmp_path: Path, **settings: object) -> Harness:
    email = RecordingChannel(ChannelName.EMAIL, interactive=False)
    sms = RecordingChannel(ChannelName.SMS)
    settings.setdefault("database_url", f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}")
    runtime = await build_runtime(
        load_settings(data_dir=tmp_path, **settings),
        use_redis=False,
        extra_channels={"email": email, "sms": sms},
    )
    await upgrade(runtime.engine)
    await runtime.start(run_channels=False)
    return Harness(runtime, email, sms)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await make_harness(tmp_path)
    yield h
    # Whatever the test did, the history holds only known kinds (storage/event_kinds.py).
    await assert_only_known_kinds(h.runtime.sessions)
    await h.runtime.close()
