"""The staff service layer on PostgreSQL: concurrent actions on one complaint
are serialised by a row lock, so a guard is never passed twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from channels.base import ChannelName
from gateway.config import load_settings
from gateway.jobs import InProcessJobs
from gateway.runtime import build_runtime
from handlers.workflow import Actor, Refusal, TransitionRefused
from storage.db import SessionFactory
from storage.migrate import upgrade
from storage.models import Complaint, ComplaintEvent, OutboxMessage
from tests.conftest import _postgres_engine
from tests.fakes import RecordingChannel, inbound
from tests.runtime_fixtures import COMPLETE_COMPLAINT, add_staff
from tests.services import POSTGRES_URL

pytestmark = pytest.mark.postgres


async def outbox_rows(sessions: SessionFactory) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


async def test_two_staff_taking_one_transition_at_once_move_it_once(tmp_path: Path) -> None:
    await (await _postgres_engine()).dispose()
    email = RecordingChannel(ChannelName.EMAIL, interactive=False)
    runtime = await build_runtime(
        load_settings(database_url=POSTGRES_URL, data_dir=tmp_path),
        use_redis=False,
        extra_channels={"email": email},
    )
    try:
        await upgrade(runtime.engine)
        await runtime.start(run_channels=False)
        await add_staff(runtime.sessions, dict.fromkeys(("sri", "rina"), "secretariat"))
        await runtime.accept(
            inbound(
                ChannelName.EMAIL,
                "c1",
                "budi@example.com",
                COMPLETE_COMPLAINT,
            )
        )
        jobs = runtime.jobs
        assert isinstance(jobs, InProcessJobs)
        await jobs.idle()
        async with runtime.sessions() as s:
            complaint = await s.scalar(select(Complaint))
            assert complaint is not None
        before = await outbox_rows(runtime.sessions)
        results = await asyncio.gather(
            runtime.staff.transition(complaint.id, "verify", Actor("sri", "secretariat"), {}),
            runtime.staff.transition(complaint.id, "verify", Actor("rina", "secretariat"), {}),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, TransitionRefused)]
        moved = [r for r in results if isinstance(r, Complaint)]
        assert len(moved) == 1 and len(refused) == 1, results
        assert refused[0].code is Refusal.WRONG_STATE
        async with runtime.sessions() as s:
            events = await s.scalar(
                select(func.count())
                .select_from(ComplaintEvent)
                .where(ComplaintEvent.kind == "transition")
            )
        assert events == 1
        assert await outbox_rows(runtime.sessions) == before + 1  # one "verified" notice
    finally:
        await runtime.close()
