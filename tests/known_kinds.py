"""A check the end-to-end tests run: the history tables hold only known event kinds."""

from __future__ import annotations

from sqlalchemy import text

from storage.db import SessionFactory
from storage.event_kinds import ComplaintEventKind


async def stored_kinds(sessions: SessionFactory) -> set[str]:
    """Every distinct ``kind`` in ``complaint_events`` and ``appeal_events`` (raw SQL,
    past the models' own check)."""
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT DISTINCT kind FROM complaint_events "
                "UNION SELECT DISTINCT kind FROM appeal_events"
            )
        )
        return {row[0] for row in rows}


async def assert_only_known_kinds(sessions: SessionFactory) -> set[str]:
    """Fail naming any stored kind that is no :class:`ComplaintEventKind`; returns the kinds."""
    kinds = await stored_kinds(sessions)
    assert kinds - {k.value for k in ComplaintEventKind} == set()
    return kinds
