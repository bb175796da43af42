"""The profile's retention policy applied by the periodic sweep (docs/privacy.md).

Dates are computed relative to the current time, never fixed.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from gateway.jobs import InProcessJobs, sweep_once
from handlers.privacy import PLACEHOLDER, apply_retention, years_before
from handlers.profile import ProfileError, load_profile
from storage.models import (
    Complaint,
    ContactAddress,
    LoginThrottle,
    Message,
    PersonalDataAudit,
    QuarantinedInbound,
)
from storage.types import utcnow
from tests.privacy.conftest import PROBLEM, WA_PROBLEM, Filed, personal_data_left
from tests.runtime_fixtures import Harness


async def test_sweep_clears_raw_deletes_quarantine_and_erases_old_closed_complaints(
    filed: Filed,
) -> None:
    h = filed.h
    now = utcnow()
    retention = h.runtime.profile.retention
    assert (retention.raw_payload_days, retention.quarantine_days) == (90, 30)
    assert retention.closed_complaint_personal_data_years == 5
    async with h.runtime.work() as session:
        # Every message is older than the raw-payload period.
        await session.execute(update(Message).values(received_at=now - timedelta(days=91)))
        mail = await session.scalar(select(Complaint).where(Complaint.problem == PROBLEM))
        chat = await session.scalar(select(Complaint).where(Complaint.problem == WA_PROBLEM))
        assert mail is not None and chat is not None
        mail.status, mail.last_activity_at = "closed", now - timedelta(days=5 * 366)
        # Closed, but not yet five years ago: kept.
        chat.status, chat.last_activity_at = "closed", now - timedelta(days=4 * 365)
        mail_id, chat_id = mail.id, chat.id
        # One quarantined payload older than quarantine_days (30), one younger.
        session.add_all(
            QuarantinedInbound(
                channel="email",
                source_ref=ref,
                raw=raw,
                error="unreadable",
                created_at=now - timedelta(days=days),
            )
            for ref, raw, days in (
                ("box#1", b"From: x\r\n\r\nold", 31),
                ("box#2", b"From: y\r\n\r\nnew", 29),
            )
        )
    processor, dispatcher = h.runtime.processor, h.runtime.dispatcher
    assert processor is not None and dispatcher is not None
    counts = await sweep_once(processor, dispatcher, stale_seconds=60)
    assert counts["quarantine_deleted"] == 1
    assert counts["complaints_erased"] == 1 and counts["contacts_erased"] == 0
    assert counts["raw_cleared"] == 3  # the three inbound messages

    async with h.runtime.sessions() as session:
        messages = list(await session.scalars(select(Message)))
        assert all(m.raw == {} for m in messages)
        assert any(m.text == "ya" for m in messages)  # the text stays
        assert list(await session.scalars(select(QuarantinedInbound.source_ref))) == ["box#2"]
        mail = await session.get(Complaint, mail_id)
        chat = await session.get(Complaint, chat_id)
        assert mail is not None and chat is not None
        assert mail.problem == PLACEHOLDER and mail.personal_data_erased_at is not None
        assert mail.tracking_number.startswith("ADU-") and mail.status == "closed"
        assert chat.problem == WA_PROBLEM and chat.personal_data_erased_at is None
        [audit] = list(
            await session.scalars(
                select(PersonalDataAudit).where(PersonalDataAudit.action == "erase")
            )
        )
        assert (audit.actor, audit.complaint_id) == ("retention", mail_id)
        # The contact still has a complaint within the period: its addresses stay.
        assert len(list(await session.scalars(select(ContactAddress)))) == 2

    # Nothing is newer than five years any more: the rest goes too, batch by batch.
    async with h.runtime.work() as session:
        await session.execute(update(Message).values(received_at=now - timedelta(days=6 * 366)))
        await session.execute(
            update(Complaint)
            .where(Complaint.id == chat_id)
            .values(last_activity_at=now - timedelta(days=6 * 366))
        )
    counts = await apply_retention(h.runtime.sessions, retention, batch=1)
    assert counts["complaints_erased"] == 1 and counts["contacts_erased"] == 1
    assert await personal_data_left(h) == []
    again = await apply_retention(h.runtime.sessions, retention)
    assert again == {
        "raw_cleared": 0,
        "quarantine_deleted": 0,
        "complaints_erased": 0,
        "contacts_erased": 0,
        "sign_in_keys_deleted": 0,
    }


def test_years_before_keeps_the_day_or_falls_back_from_29_february() -> None:
    moment = utcnow().replace(year=2028, month=2, day=29)
    assert (years_before(moment, 5).month, years_before(moment, 5).day) == (2, 28)
    assert years_before(moment, 4).day == 29


@pytest.mark.parametrize(
    ("retention", "message"),
    [
        ("{raw_payload_days: 0}", "retention.raw_payload_days"),
        ("{quarantine_days: many}", "retention.quarantine_days"),
        ("{closed_states: [done]}", "retention.closed_states names unknown states: done"),
        ("{keep_forever: true}", "retention.keep_forever"),
    ],
)
def test_a_bad_retention_policy_names_the_key(tmp_path: Path, retention: str, message: str) -> None:
    source = load_profile("default")
    from handlers.profile import resolve_profile_path

    text = resolve_profile_path("default").read_text("utf-8")
    path = tmp_path / "office.yaml"
    path.write_text(text + f"\nretention: {retention}\n", "utf-8")
    with pytest.raises(ProfileError) as raised:
        load_profile(str(path))
    assert message in str(raised.value)
    assert str(path) in str(raised.value)
    assert source.retention.raw_payload_days == 90


async def test_the_in_process_sweep_loop_applies_the_policy(harness: Harness) -> None:
    processor, dispatcher = harness.runtime.processor, harness.runtime.dispatcher
    assert processor is not None and dispatcher is not None
    async with harness.runtime.work() as session:
        session.add(
            QuarantinedInbound(
                channel="email",
                source_ref="box#9",
                raw=b"From: z\r\n\r\nold",
                error="unreadable",
                created_at=utcnow() - timedelta(days=31),
            )
        )
    jobs = InProcessJobs(processor, dispatcher, sweep_seconds=0.05, retention_seconds=0.05)
    await jobs.start()
    try:
        for _ in range(200):
            async with harness.runtime.sessions() as session:
                if await session.scalar(select(QuarantinedInbound.id)) is None:
                    break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the sweep loop did not apply the retention policy")
    finally:
        await jobs.stop()


async def test_sign_in_throttle_keys_are_kept_a_day(harness: Harness) -> None:
    """Keys hold user names as typed and client addresses: gone a day after their
    latest attempt or lock, kept while recent or still locked."""
    now = utcnow()
    async with harness.runtime.work() as session:
        session.add_all(
            [
                LoginThrottle(key="user:tebakan", failures=3, window_start=now - timedelta(days=2)),
                LoginThrottle(
                    key="ip:203.0.113.9", failures=1, window_start=now - timedelta(hours=2)
                ),
                LoginThrottle(
                    key="user:sri",
                    failures=9,
                    window_start=now - timedelta(days=2),
                    locked_until=now + timedelta(minutes=5),
                ),
            ]
        )
    retention = load_profile("default").retention
    counts = await apply_retention(harness.runtime.sessions, retention, now=now)
    assert counts["sign_in_keys_deleted"] == 1
    async with harness.runtime.sessions() as session:
        left = set(await session.scalars(select(LoginThrottle.key)))
    assert left == {"ip:203.0.113.9", "user:sri"}
