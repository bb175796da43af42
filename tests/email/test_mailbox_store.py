"""Checkpoints and quarantine on SQLite and PostgreSQL (docs/email.md, "Mail that cannot be taken in")."""

from __future__ import annotations

from sqlalchemy import select

from channels.email.imap import lease_name_for
from channels.email.mailbox_store import (
    Checkpoint,
    advance_checkpoint,
    load_checkpoint,
    quarantine,
    reset_checkpoint,
)
from storage.db import SessionFactory
from storage.models import QuarantinedInbound

KEY = "pengaduan@bspji.go.id@imap.bspji.go.id:993/INBOX"


async def test_checkpoint_lifecycle(any_sessions: SessionFactory) -> None:
    assert await load_checkpoint(any_sessions, KEY) is None
    await reset_checkpoint(any_sessions, KEY, 1000)
    assert await load_checkpoint(any_sessions, KEY) == Checkpoint(1000, 0)
    await advance_checkpoint(any_sessions, KEY, 1000, 5)
    await advance_checkpoint(any_sessions, KEY, 1000, 3)  # never backwards
    assert await load_checkpoint(any_sessions, KEY) == Checkpoint(1000, 5)
    await advance_checkpoint(any_sessions, KEY, 999, 9)  # stale UIDVALIDITY: ignored
    assert await load_checkpoint(any_sessions, KEY) == Checkpoint(1000, 5)
    await reset_checkpoint(any_sessions, KEY, 2000)  # UIDVALIDITY changed: upsert
    assert await load_checkpoint(any_sessions, KEY) == Checkpoint(2000, 0)


async def test_quarantine_is_insert_if_absent_and_advances(any_sessions: SessionFactory) -> None:
    await reset_checkpoint(any_sessions, KEY, 7)
    raw = b"not an email \xff"
    for expected in (True, False):  # the second time: already there, nothing added
        added = await quarantine(
            any_sessions, mailbox_key=KEY, uidvalidity=7, uid=3, raw=raw, error="x" * 10_000
        )
        assert added is expected
    assert await load_checkpoint(any_sessions, KEY) == Checkpoint(7, 3)
    async with any_sessions() as session:
        rows = (await session.scalars(select(QuarantinedInbound))).all()
    assert [(r.source_ref, r.raw, r.channel) for r in rows] == [(f"{KEY}#7:3", raw, "email")]
    assert len(rows[0].error) == 4000 and rows[0].resolved_at is None


def test_lease_name_fits_the_column() -> None:
    assert lease_name_for(KEY) == f"imap:{KEY}"
    long_name = lease_name_for("u@" + "h" * 300 + ":993/INBOX")
    assert long_name.startswith("imap:sha256:") and len(long_name) <= 200
