"""Panel seats and decisions on the only appeal of a test's database, as staff
take them (handlers/appeals.py), for the appeal tests of every profile."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.appeals import add_panel_member, decide_appeal
from storage.db import SessionFactory
from storage.models import Appeal, Complaint
from tests.runtime_fixtures import Harness


async def only_appeal(sessions: SessionFactory) -> Appeal:
    """The one appeal stored (``AssertionError`` when there is none)."""
    async with sessions() as s:
        appeal = await s.scalar(select(Appeal))
    assert appeal is not None
    return appeal


async def complaint_of(session: AsyncSession, appeal: Appeal) -> Complaint | None:
    """The complaint ``appeal`` is about; ``None`` for an appeal on its own."""
    if appeal.complaint_id is None:
        return None
    complaint = await session.get(Complaint, appeal.complaint_id)
    assert complaint is not None
    return complaint


async def seat_member(
    h: Harness,
    username: str,
    *,
    declaration: str,
    role: str,
    actor: str | None = None,
    chair: bool = False,
    now: datetime | None = None,
) -> Appeal:
    """Seat ``username`` on the only appeal's panel (by ``actor``, ``staff:<role>``
    by default, at ``now`` or the present); the appeal afterwards. Raises what
    ``add_panel_member`` raises."""
    async with h.runtime.sessions() as s, s.begin():
        appeal = await s.scalar(select(Appeal))
        assert appeal is not None
        complaint = await complaint_of(s, appeal)
        await add_panel_member(
            s,
            profile=h.runtime.profile,
            appeal=appeal,
            complaint=complaint,
            username=username,
            is_chair=chair,
            declaration=declaration,
            actor=actor or f"staff:{role}",
            actor_role=role,
            now=now,
        )
    return await only_appeal(h.runtime.sessions)


async def decide_only_appeal(
    h: Harness, *, decision: str, chair: str, now: datetime | None = None
) -> Appeal:
    """The panel chaired by ``chair`` decides the only appeal (at ``now`` or the
    present); the notices are sent and the appeal afterwards returned."""
    async with h.runtime.work() as s:
        appeal = await s.scalar(select(Appeal))
        assert appeal is not None
        await decide_appeal(
            s,
            profile=h.runtime.profile,
            writer=h.runtime.writer,
            appeal=appeal,
            complaint=await complaint_of(s, appeal),
            decision=decision,
            chair=chair,
            enabled_channels=h.runtime.channels.keys(),
            now=now,
        )
    await h.settle()
    return await only_appeal(h.runtime.sessions)
