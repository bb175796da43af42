"""The staff tables on SQLite and PostgreSQL: migration 0017 matches the models, notices
are staged once per event, two administrators demoting each other keep one admin."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.staff_accounts import AccountRefused, Refusal, change_role
from handlers.outbox import OutboxWriter
from handlers.profile import load_profile
from handlers.staff_notices import notify_new_complaint
from handlers.workflow import Actor
from storage.db import session_factory
from storage.models import Base, Contact, OutboxMessage, StaffNotification, StaffUser
from tests.conftest import make_engine
from tests.emailed_complaint import register_emailed

RECEIVED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday, 09.00 WIB
MY_TABLES = {"staff_notifications", "staff_user_audit"}


def _named(diff: object) -> set[str]:
    """Table names a compare_metadata entry mentions."""
    text = repr(diff)
    return {name for name in MY_TABLES if name in text}


async def test_migration_matches_the_models(any_engine: AsyncEngine) -> None:
    async with any_engine.connect() as conn:
        diffs = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
            )
        )
    assert [d for d in diffs if _named(d)] == []


async def test_a_registration_notifies_once_even_when_repeated(any_engine: AsyncEngine) -> None:
    profile = load_profile("default")
    sessions = session_factory(any_engine)
    writer = OutboxWriter()
    async with sessions() as s, s.begin():
        s.add_all(
            [
                StaffUser(
                    username="sri",
                    full_name="Sri",
                    role="secretariat",
                    password_hash="x",
                    email="sri@kantor.example",
                ),
                StaffUser(username="tono", full_name="Tono", role="officer", password_hash="x"),
            ]
        )
        contact = Contact(display_name="Budi")
        s.add(contact)
        await s.flush()
        complaint = await register_emailed(
            s,
            profile=profile,
            contact_id=contact.id,
            problem="laporan hasil uji terlambat",
            received_at=RECEIVED,
            writer=writer,
        )
    for _ in range(2):
        async with sessions() as s, s.begin():
            again = await notify_new_complaint(
                s, profile=profile, complaint=complaint, writer=writer, email_enabled=True
            )
            assert again == []
    async with sessions() as s:
        rows = list(await s.scalars(select(StaffNotification)))
        mails = await s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.contact_id.is_(None))
        )
    assert [(r.kind, r.event_key) for r in rows] == [
        ("new_complaint", f"registered:{complaint.id}")
    ]
    assert mails == 1


@pytest.mark.postgres
async def test_two_admins_demoting_each_other_at_once_leave_one(tmp_path: Path) -> None:
    engine = await make_engine("postgresql", tmp_path)
    profile = load_profile("default")
    sessions = session_factory(engine)
    try:
        async with sessions() as s, s.begin():
            ana = StaffUser(username="ana", full_name="Ana", role="admin", password_hash="x")
            budi = StaffUser(username="budi", full_name="Budi", role="admin", password_hash="x")
            s.add_all([ana, budi])
            await s.flush()
            ids = {"ana": ana.id, "budi": budi.id}

        async def demote(actor: str, target: str) -> object:
            async with sessions() as s, s.begin():
                return await change_role(
                    s,
                    profile=profile,
                    actor=Actor(actor, "admin"),
                    user_id=ids[target],
                    role="manager",
                )

        results = await asyncio.gather(
            demote("ana", "budi"), demote("budi", "ana"), return_exceptions=True
        )
        refused = [r for r in results if isinstance(r, AccountRefused)]
        assert len(refused) == 1 and refused[0].code is Refusal.LAST_ADMIN, results
        async with sessions() as s:
            admins = await s.scalar(
                select(func.count()).select_from(StaffUser).where(StaffUser.role == "admin")
            )
        assert admins == 1
    finally:
        await engine.dispose()


async def test_a_complaint_refused_by_the_acceptance_window_is_not_announced(
    engine: AsyncEngine,
) -> None:
    """BBSPJIKKP SOP-7.9-1 item 3: a complaint made more than 3 working days after the
    final report is registered and rejected at once: nothing waits in the first step."""
    profile = load_profile("bbspjikkp")
    sessions = session_factory(engine)
    writer = OutboxWriter()
    async with sessions() as s, s.begin():
        s.add(StaffUser(username="sri", full_name="Sri", role="secretariat", password_hash="x"))
        contact = Contact(display_name="Budi")
        s.add(contact)
        await s.flush()
        registered = {}
        for name, reported in (("late", "2026-01-05"), ("in_time", "2026-11-20")):
            complaint = await register_emailed(
                s,
                profile=profile,
                contact_id=contact.id,
                problem="nilai z-score kami salah dihitung",
                received_at=RECEIVED,
                extra={"final_report_date": reported},
                writer=writer,
            )
            registered[name] = complaint
    assert registered["late"].status == "rejected"
    assert registered["in_time"].status == "received"
    async with sessions() as s:
        told = list(await s.scalars(select(StaffNotification.complaint_id)))
    assert told == [registered["in_time"].id]
