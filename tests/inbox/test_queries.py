"""The staff inbox's data layer (docs/inbox.md): the list, its filters, search, keyset
pagination, unread markers, drafts, and the activity times behind them — on
SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.base import ChannelName
from gateway.inbox.reads import mark_read
from gateway.ingest import store_inbound
from gateway.queries.complaint_list import (
    InboxFilters,
    InboxPage,
    TimeState,
    VisibilityRule,
    list_inbox,
)
from gateway.queries.cursor import Cursor
from gateway.queries.drafts import list_in_progress
from handlers.appeal_standards import ESCALATION_EVENT, REMINDER_EVENT
from handlers.outbox import Draft, OutboxWriter
from handlers.profile import Profile
from handlers.workflow import Actor
from storage.activity import QUIET_EVENT_KINDS
from storage.db import SessionFactory, create_engine, session_factory
from storage.migrate import alembic_config, upgrade
from storage.models import (
    Complaint,
    ComplaintEvent,
    Contact,
    Conversation,
    Message,
    StaffUser,
)
from storage.types import UTCDateTime, utcnow
from tests.conftest import _postgres_engine
from tests.fakes import inbound
from tests.runtime_fixtures import COMPLETE_COMPLAINT, Harness

JAKARTA = ZoneInfo("Asia/Jakarta")

#: key, channel, address, complainant, customer, problem, status, category,
#: assignee, step due in hours from now (None: no standard), received (Jakarta time).
SPECS: list[tuple[Any, ...]] = [
    ("budi", "whatsapp", "+6281234567890", "Budi Santoso", "PT Sinar Jaya",
     "Laporan hasil uji terlambat dua minggu", "received", None, None, -1,
     (2026, 11, 2, 9, 0)),
    ("siti", "email", "siti@example.com", "Siti Aminah", "CV Maju Bersama",
     "Sertifikat kalibrasi timbangan salah nama perusahaan", "in_follow_up", "technical",
     "tono", 2, (2026, 11, 10, 0, 5)),
    ("agus", "sms", "+6285711112222", "Agus Wijaya", "PT Sinar Jaya",
     "Biaya pengujian tidak sesuai tarif resmi", "in_follow_up", "administrative", "bayu",
     72, (2026, 11, 15, 23, 30)),
    ("dewi", "web", "dewi@example.com", "Dewi Lestari", "UD Tani Makmur",
     "Petugas loket tidak ramah, 100% kecewa", "closed", "administrative", "bayu", None,
     (2026, 10, 1, 10, 0)),
    ("rudi", "telegram", "5551234", "Rudi Hartono", "Koperasi Sumber Air",
     "Hasil uji air sumur tidak jelas", "verified", None, None, -3,
     (2026, 11, 16, 0, 10)),
    ("wati", "whatsapp", "+6281399998888", "Wati Susanti", "PT Karya Baru",
     "Jadwal pengambilan sampel berubah tanpa kabar", "capa_recorded", "technical", "tono",
     300, (2026, 11, 9, 8, 0)),
]  # fmt: skip

#: Newest activity first; dewi and agus share one activity time (id breaks the tie).
ORDER = ["wati", "rudi", "dewi", "agus", "siti", "budi"]
STAFF = {"sri": "secretariat", "tono": "officer", "bayu": "business_lead"}


@dataclass
class Seeded:
    sessions: SessionFactory
    ids: dict[str, int]
    users: dict[str, int]

    def keys(self, page: InboxPage) -> list[str]:
        names = {v: k for k, v in self.ids.items()}
        return [names[row.complaint_id] for row in page.rows]


@pytest.fixture
async def seeded(any_sessions: SessionFactory) -> Seeded:
    now = utcnow()
    base = now - timedelta(days=1)
    activity = {
        "budi": base,
        "siti": base + timedelta(minutes=1),
        "agus": base + timedelta(minutes=2),
        "dewi": base + timedelta(minutes=2),
        "rudi": base + timedelta(minutes=3),
        "wati": base + timedelta(minutes=4),
    }
    ids: dict[str, int] = {}
    async with any_sessions() as s, s.begin():
        users = {name: StaffUser(username=name, full_name=name, role=role, password_hash="x")
                 for name, role in STAFF.items()}  # fmt: skip
        s.add_all(users.values())
        for number, spec in enumerate(SPECS, start=1):
            key, channel, address, name, customer, problem, status, category, assignee = spec[:9]
            year, month, day, hour, minute = spec[10]
            due, received = spec[9], datetime(year, month, day, hour, minute, tzinfo=JAKARTA)
            contact = Contact(display_name=f"{name} ({channel})")
            s.add(contact)
            await s.flush()
            complaint = Complaint(
                tracking_number=f"ADU-2026-{number:05d}",
                contact_id=contact.id,
                channel=channel,
                contact_address=address,
                complainant_name=name,
                customer_name=customer,
                problem=problem,
                received_at=received,
                received_by=f"channel:{channel}",
                status=status,
                category=category,
                assignee=assignee,
                step_due_at=None if due is None else now + timedelta(hours=due),
                last_activity_at=activity[key],
            )
            s.add(complaint)
            await s.flush()
            ids[key] = complaint.id
        await s.flush()
        user_ids = {name: user.id for name, user in users.items()}
    return Seeded(any_sessions, ids, user_ids)


async def page(
    seeded: Seeded,
    profile: Profile,
    viewer: str = "sri",
    *,
    visible: VisibilityRule | None = None,
    limit: int = 50,
    cursor: str | None = None,
    **filters: Any,
) -> InboxPage:
    async with seeded.sessions() as s:
        return await list_inbox(
            s,
            filters=InboxFilters(**filters),
            profile=profile,
            viewer_username=viewer,
            viewer_role=STAFF[viewer],
            visible=visible,
            limit=limit,
            cursor=cursor,
        )


async def keys(seeded: Seeded, profile: Profile, **kwargs: Any) -> list[str]:
    return seeded.keys(await page(seeded, profile, **kwargs))


async def activity(sessions: SessionFactory, complaint_id: int) -> tuple[datetime, datetime | None]:
    async with sessions() as s:
        row = (
            await s.execute(
                select(Complaint.last_activity_at, Complaint.last_inbound_at).where(
                    Complaint.id == complaint_id
                )
            )
        ).one()
        return row[0], row[1]


async def add_event(sessions: SessionFactory, complaint_id: int, kind: str = "note") -> None:
    async with sessions() as s, s.begin():
        s.add(ComplaintEvent(complaint_id=complaint_id, actor="staff:sri", kind=kind))


# ------------------------------------------------------------------ the list


async def test_default_list_is_newest_activity_first_with_the_row_fields(
    seeded: Seeded, profile: Profile
) -> None:
    result = await page(seeded, profile)
    assert seeded.keys(result) == ORDER
    assert result.next_cursor is None
    siti = next(r for r in result.rows if r.complaint_id == seeded.ids["siti"])
    assert (siti.tracking_number, siti.channel, siti.contact_address) == (
        "ADU-2026-00002",
        "email",
        "siti@example.com",
    )
    assert (siti.contact_name, siti.complainant_name, siti.customer_name) == (
        "Siti Aminah (email)",
        "Siti Aminah",
        "CV Maju Bersama",
    )
    assert siti.excerpt == "Sertifikat kalibrasi timbangan salah nama perusahaan"
    assert (siti.status, siti.category, siti.assignee) == ("in_follow_up", "technical", "tono")
    assert siti.received_at == datetime(2026, 11, 10, 0, 5, tzinfo=JAKARTA)
    assert siti.last_activity_at.tzinfo is not None
    states = {seeded.keys(result)[i]: row.time_state for i, row in enumerate(result.rows)}
    assert states == {
        "budi": TimeState.OVERDUE,
        "rudi": TimeState.OVERDUE,
        "siti": TimeState.DUE_SOON,
        "agus": TimeState.ON_TIME,
        "wati": TimeState.ON_TIME,
        "dewi": TimeState.NONE,
    }


async def test_long_problems_are_cut_to_an_excerpt(seeded: Seeded, profile: Profile) -> None:
    async with seeded.sessions() as s, s.begin():
        complaint = await s.get(Complaint, seeded.ids["budi"])
        assert complaint is not None
        complaint.problem = "Laporan  hasil\nuji " + "sangat terlambat " * 30
    row = next(
        r for r in (await page(seeded, profile)).rows if r.complaint_id == seeded.ids["budi"]
    )
    assert row.excerpt.startswith("Laporan hasil uji sangat terlambat")
    assert row.excerpt.endswith("…") and len(row.excerpt) <= 160


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"channel": "whatsapp"}, ["wati", "budi"]),
        ({"status": "in_follow_up"}, ["agus", "siti"]),
        ({"category": "technical"}, ["wati", "siti"]),
        ({"assignee": "tono"}, ["wati", "siti"]),
        ({"overdue": True}, ["rudi", "budi"]),
        ({"overdue": False}, ["wati", "dewi", "agus", "siti"]),
        ({"due_soon": True}, ["siti"]),
        ({"due_soon": False}, ["wati", "rudi", "dewi", "agus", "budi"]),
        # Office-local days, both included: 10 Nov 00:05 and 15 Nov 23:30 WIB
        # are in, 16 Nov 00:10 WIB (still 15 Nov in UTC) is out.
        (
            {"received_from": date(2026, 11, 10), "received_to": date(2026, 11, 15)},
            ["agus", "siti"],
        ),
        ({"received_from": date(2026, 11, 16)}, ["rudi"]),
        ({"received_to": date(2026, 11, 1)}, ["dewi"]),
        ({"channel": "whatsapp", "overdue": True}, ["budi"]),
        ({"channel": "email", "status": "closed"}, []),
        # Blank form fields are no filter.
        ({"channel": "", "status": " ", "received_from": ""}, ORDER),
    ],
)
async def test_each_filter_narrows_the_list(
    seeded: Seeded, profile: Profile, filters: dict[str, Any], expected: list[str]
) -> None:
    assert await keys(seeded, profile, **filters) == expected


async def test_mine_is_assigned_to_me_or_unassigned_in_a_step_my_role_owns(
    seeded: Seeded, profile: Profile
) -> None:
    assert await keys(seeded, profile, viewer="tono", mine=True) == ["wati", "siti"]
    # The secretariat owns "received": Budi's complaint waits for them.
    assert await keys(seeded, profile, viewer="sri", mine=True) == ["budi"]
    # A business lead owns "verified" (Rudi's) and has Agus's and Dewi's assigned.
    assert await keys(seeded, profile, viewer="bayu", mine=True) == ["rudi", "dewi", "agus"]


async def test_visibility_rule_limits_to_assignees(seeded: Seeded, profile: Profile) -> None:
    only_bayu = VisibilityRule(assignee_in=frozenset({"bayu"}))
    assert await keys(seeded, profile, visible=only_bayu) == ["dewi", "agus"]
    assert await keys(seeded, profile, visible=only_bayu, channel="sms") == ["agus"]
    assert await keys(seeded, profile, visible=VisibilityRule(assignee_in=frozenset())) == []
    assert await keys(seeded, profile, visible=VisibilityRule()) == ORDER


def test_filters_refuse_a_reversed_date_range_and_unknown_keys() -> None:
    with pytest.raises(ValueError, match="received_from is after received_to"):
        InboxFilters(received_from=date(2026, 11, 2), received_to=date(2026, 11, 1))
    with pytest.raises(ValueError):
        InboxFilters(colour="red")  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        InboxFilters(q="x" * 201)
    assert InboxFilters.model_validate({"overdue": "true", "received_to": "2026-11-01"}) == (
        InboxFilters(overdue=True, received_to=date(2026, 11, 1))
    )


# -------------------------------------------------------------------- search


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("aminah", ["siti"]),  # complainant name, any case
        ("AMINAH", ["siti"]),
        ("timbangan", ["siti"]),  # a word of the problem
        ("sinar", ["agus", "budi"]),  # customer name
        ("Karya Baru", ["wati"]),
        ("hasil uji", ["rudi", "budi"]),  # every word must occur
        ("adu-2026-00003", ["agus"]),  # tracking number
        ("ADU-2026-00005", ["rudi"]),
        ("081234567890", ["budi"]),  # the phone as people write it; stored in E.164
        ("siti@example.com", ["siti"]),  # email address
        ("5551234", ["rudi"]),  # Telegram chat id
        ("100%", ["dewi"]),  # LIKE wildcards are plain text
        ("timbangan -kalibrasi", []),  # "-word": must not occur
        ("zzzzqqq", []),
        ("Budi Zzzzqqq", []),
    ],
)
async def test_search_hits_and_misses(
    seeded: Seeded, profile: Profile, q: str, expected: list[str]
) -> None:
    assert await keys(seeded, profile, q=q) == expected


async def test_search_combines_with_filters(seeded: Seeded, profile: Profile) -> None:
    assert await keys(seeded, profile, q="sinar", channel="sms") == ["agus"]
    assert await keys(seeded, profile, q="sinar", overdue=True) == ["budi"]


# ---------------------------------------------------------------- pagination


async def walk(seeded: Seeded, profile: Profile, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        result = await page(seeded, profile, limit=limit, cursor=cursor)
        pages.append(seeded.keys(result))
        cursor = result.next_cursor
        if cursor is None:
            return pages


async def test_keyset_pages_walk_every_row_once_across_ties(
    seeded: Seeded, profile: Profile
) -> None:
    assert await walk(seeded, profile, 2) == [["wati", "rudi"], ["dewi", "agus"], ["siti", "budi"]]
    # A page boundary inside the tie (dewi and agus share one activity time).
    assert await walk(seeded, profile, 3) == [["wati", "rudi", "dewi"], ["agus", "siti", "budi"]]
    assert await walk(seeded, profile, 6) == [ORDER]
    filtered = await page(seeded, profile, limit=1, channel="whatsapp")
    assert seeded.keys(filtered) == ["wati"]
    rest = await page(seeded, profile, limit=1, channel="whatsapp", cursor=filtered.next_cursor)
    assert seeded.keys(rest) == ["budi"] and rest.next_cursor is None


async def test_keyset_pages_of_a_date_range(seeded: Seeded, profile: Profile) -> None:
    # A narrow range is read range first (RANGE_FIRST_DAYS), a wide one by
    # the activity order; the pages are the same.
    for start in (date(2026, 11, 1), date(2020, 1, 1)):
        seen: list[str] = []
        cursor: str | None = None
        while True:
            result = await page(seeded, profile, limit=1, cursor=cursor, received_from=start)
            seen += seeded.keys(result)
            cursor = result.next_cursor
            if cursor is None:
                break
        expected = [k for k in ORDER if k != "dewi"] if start.year == 2026 else ORDER
        assert seen == expected


async def test_new_activity_between_pages_never_repeats_a_row(
    seeded: Seeded, profile: Profile
) -> None:
    first = await page(seeded, profile, limit=2)
    assert seeded.keys(first) == ["wati", "rudi"]
    # Activity on a row already shown and on one not reached yet: both move
    # to the top, before the cursor.
    await add_event(seeded.sessions, seeded.ids["rudi"])
    await add_event(seeded.sessions, seeded.ids["siti"])
    seen = list(seeded.keys(first))
    cursor = first.next_cursor
    while cursor is not None:
        result = await page(seeded, profile, limit=2, cursor=cursor)
        seen += seeded.keys(result)
        cursor = result.next_cursor
    assert len(seen) == len(set(seen))
    assert seen == ["wati", "rudi", "dewi", "agus", "budi"]
    # What moved is at the top of a fresh first page.
    assert seeded.keys(await page(seeded, profile, limit=2)) == ["siti", "rudi"]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        base64.urlsafe_b64encode(b"yesterday|12").decode(),
        base64.urlsafe_b64encode(b"2026-11-21T10:00:00|12").decode(),  # no zone
        base64.urlsafe_b64encode(b"2026-11-21T10:00:00+00:00|0").decode(),
        base64.urlsafe_b64encode(b"2026-11-21T10:00:00+00:00").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe|1").decode(),
    ],
)
async def test_an_invalid_cursor_is_refused(seeded: Seeded, profile: Profile, cursor: str) -> None:
    with pytest.raises(ValueError, match="invalid inbox cursor"):
        await page(seeded, profile, cursor=cursor)


def test_cursor_round_trips() -> None:
    when = datetime(2026, 11, 21, 3, 4, 5, 678901, tzinfo=UTC)
    assert Cursor.decode(Cursor(when, 42).encode()) == Cursor(when, 42)


async def test_limit_out_of_range_is_refused(seeded: Seeded, profile: Profile) -> None:
    for limit in (0, 201):
        with pytest.raises(ValueError, match="limit"):
            await page(seeded, profile, limit=limit)


# -------------------------------------------------------------------- unread


async def unread(seeded: Seeded, profile: Profile, viewer: str) -> set[str]:
    result = await page(seeded, profile, viewer=viewer)
    return {key for key, row in zip(seeded.keys(result), result.rows, strict=True) if row.unread}


async def link_inbound(seeded: Seeded, complaint_id: int, external_id: str) -> None:
    """Store an inbound message as ingest does (Core insert), then link it as intake does."""
    async with seeded.sessions() as s, s.begin():
        stored = await store_inbound(
            s, inbound(ChannelName.EMAIL, external_id, "siti@example.com", "Ada kabar?")
        )
    async with seeded.sessions() as s, s.begin():
        message = await s.get(Message, stored.message_id)
        assert message is not None
        message.complaint_id = complaint_id


async def test_read_then_a_new_inbound_message_makes_it_unread_again(
    seeded: Seeded, profile: Profile
) -> None:
    assert await unread(seeded, profile, "tono") == set(ORDER)  # never opened
    siti = seeded.ids["siti"]
    async with seeded.sessions() as s, s.begin():
        await mark_read(s, siti, seeded.users["tono"], utcnow())
    assert await unread(seeded, profile, "tono") == set(ORDER) - {"siti"}
    assert await unread(seeded, profile, "sri") == set(ORDER)  # per viewer

    # Staff activity (an event, an outbound message) does not make it unread.
    await add_event(seeded.sessions, siti)
    assert "siti" not in await unread(seeded, profile, "tono")

    await link_inbound(seeded, siti, "follow-up-1@example.com")
    assert "siti" in await unread(seeded, profile, "tono")

    async with seeded.sessions() as s, s.begin():
        await mark_read(s, siti, seeded.users["tono"])
    assert "siti" not in await unread(seeded, profile, "tono")
    # An older read time (a stale tab) never moves the mark backwards.
    async with seeded.sessions() as s, s.begin():
        await mark_read(s, siti, seeded.users["tono"], utcnow() - timedelta(days=3))
    assert "siti" not in await unread(seeded, profile, "tono")


# ------------------------------------------------------------ activity times


async def test_linking_an_ingested_message_bumps_activity_and_inbound(seeded: Seeded) -> None:
    siti = seeded.ids["siti"]
    before, inbound_before = await activity(seeded.sessions, siti)
    assert inbound_before is None
    async with seeded.sessions() as s, s.begin():
        stored = await store_inbound(
            s, inbound(ChannelName.EMAIL, "m-link@example.com", "siti@example.com", "Halo")
        )
    assert await activity(seeded.sessions, siti) == (before, None)  # not linked yet
    started = utcnow()
    async with seeded.sessions() as s, s.begin():
        message = await s.get(Message, stored.message_id)
        complaint = await s.get(Complaint, siti)
        assert message is not None and complaint is not None
        message.complaint_id = siti
    after, inbound_after = await activity(seeded.sessions, siti)
    assert after >= started > before and inbound_after == after
    # The complaint loaded in that session has the new values too.
    assert (complaint.last_activity_at, complaint.last_inbound_at) == (after, inbound_after)
    # updated_at is the record's, not the activity's.
    async with seeded.sessions() as s:
        updated = await s.scalar(select(Complaint.updated_at).where(Complaint.id == siti))
    assert updated is not None and updated < started


async def test_an_outbound_message_bumps_activity_but_not_inbound(seeded: Seeded) -> None:
    agus = seeded.ids["agus"]
    before, _ = await activity(seeded.sessions, agus)
    async with seeded.sessions() as s, s.begin():
        complaint = await s.get(Complaint, agus)
        assert complaint is not None
        await OutboxWriter().add(
            s,
            Draft(
                channel="sms",
                recipient=complaint.contact_address,
                text="Pengaduan Anda sedang kami proses.",
                contact_id=complaint.contact_id,
                complaint_id=agus,
            ),
        )
    after, inbound_after = await activity(seeded.sessions, agus)
    assert after > before and inbound_after is None


async def test_events_bump_activity_except_reminders_and_escalations(seeded: Seeded) -> None:
    rudi = seeded.ids["rudi"]
    before, _ = await activity(seeded.sessions, rudi)
    for kind in sorted(QUIET_EVENT_KINDS):
        await add_event(seeded.sessions, rudi, kind)
    assert await activity(seeded.sessions, rudi) == (before, None)
    await add_event(seeded.sessions, rudi, "assigned")
    after, inbound_after = await activity(seeded.sessions, rudi)
    assert after > before and inbound_after is None


def test_quiet_kinds_are_the_sweeps_event_kinds() -> None:
    assert {REMINDER_EVENT, ESCALATION_EVENT} <= QUIET_EVENT_KINDS
    assert {"step_reminder", "step_overdue_escalated"} <= QUIET_EVENT_KINDS


async def test_no_bump_when_the_link_is_undone_or_rolled_back(seeded: Seeded) -> None:
    budi = seeded.ids["budi"]
    before = await activity(seeded.sessions, budi)
    async with seeded.sessions() as s, s.begin():
        stored = await store_inbound(
            s, inbound(ChannelName.WHATSAPP, "wa-1", "+6281234567890", "baru")
        )
    # Linked, flushed, then unlinked in one transaction ("baru" starts a new draft).
    async with seeded.sessions() as s, s.begin():
        message = await s.get(Message, stored.message_id)
        assert message is not None
        message.complaint_id = budi
        await s.flush()
        message.complaint_id = None
    assert await activity(seeded.sessions, budi) == before
    # An event flushed in a transaction that rolls back leaves nothing behind,
    # not even for the session's next transaction.
    async with seeded.sessions() as s:
        s.add(ComplaintEvent(complaint_id=budi, actor="staff:sri", kind="note"))
        await s.flush()
        await s.rollback()
        s.add(Contact(display_name="Other"))
        await s.commit()
    assert await activity(seeded.sessions, budi) == before


# -------------------------------------------------------------------- drafts


async def test_open_drafts_are_listed_in_progress(seeded: Seeded) -> None:
    async with seeded.sessions() as s, s.begin():
        contact = Contact(display_name="Joko WA")
        s.add(contact)
        await s.flush()
        open_draft = Conversation(
            contact_id=contact.id,
            channel="whatsapp",
            state="collecting",
            fields={"complainant_name": "Joko Widodo"},
        )
        done = Conversation(contact_id=contact.id, channel="whatsapp", state="registered")
        s.add_all([open_draft, done])
        await s.flush()
        for n, body in enumerate(("Halo", "Timbangan di lab rusak, mau lapor")):
            s.add(
                Message(
                    channel="whatsapp",
                    external_id=f"wa-draft-{n}",
                    direction="in",
                    contact_id=contact.id,
                    conversation_id=open_draft.id,
                    sender="+6281211112222",
                    text=body,
                )
            )
        s.add(
            Message(
                channel="whatsapp",
                direction="out",
                contact_id=contact.id,
                conversation_id=open_draft.id,
                sender="aduan",
                text="Siapa nama Anda?",
            )
        )

    async def drafts(visible: VisibilityRule | None = None, **filters: Any) -> list[int]:
        async with seeded.sessions() as s:
            rows = await list_in_progress(s, filters=InboxFilters(**filters), visible=visible)
        return [row.conversation_id for row in rows]

    async with seeded.sessions() as s:
        [row] = await list_in_progress(s, filters=InboxFilters(), visible=None)
    assert row.conversation_id == open_draft.id
    assert (row.channel, row.state, row.contact_name) == ("whatsapp", "collecting", "Joko WA")
    assert row.contact_address == "+6281211112222"
    assert row.last_text == "Timbangan di lab rusak, mau lapor"  # the latest inbound one
    assert row.fields == {"complainant_name": "Joko Widodo"}
    assert await drafts(channel="whatsapp") == [open_draft.id]
    assert await drafts(channel="email") == []
    assert await drafts(q="timbangan") == [open_draft.id]
    assert await drafts(q="widodo") == [open_draft.id]
    assert await drafts(q="6281211112222") == [open_draft.id]
    assert await drafts(q="zzzzqqq") == []
    # Filters only complaints have match no draft; nor do assignee-limited viewers.
    assert await drafts(status="received") == []
    assert await drafts(mine=True) == []
    assert await drafts(visible=VisibilityRule(assignee_in=frozenset({"tono"}))) == []


# ------------------------------------------- end to end through the runtime


async def complaint_times(h: Harness) -> tuple[int, datetime, datetime | None]:
    async with h.runtime.sessions() as s:
        complaint = await s.scalar(select(Complaint))
        assert complaint is not None
        return complaint.id, complaint.last_activity_at, complaint.last_inbound_at


async def test_runtime_intake_staff_actions_and_notices_bump_activity(harness: Harness) -> None:
    h = harness
    async with h.runtime.sessions() as s, s.begin():
        s.add(StaffUser(username="sri", full_name="Sri", role="secretariat", password_hash="x"))
    started = utcnow()
    await h.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "e1@example.com",
            "budi@example.com",
            COMPLETE_COMPLAINT,
            subject="Keluhan",
        )
    )
    await h.settle()
    complaint_id, registered, first_inbound = await complaint_times(h)
    # Registration, and the message that completed it, count.
    assert registered >= started and first_inbound is not None and first_inbound >= started

    # A staff transition (with its notice to the complainant).
    await h.runtime.transition(complaint_id, "verify", Actor("sri", "secretariat"), {})
    await h.settle()
    _, after_transition, inbound_now = await complaint_times(h)
    assert after_transition > registered and inbound_now == first_inbound

    # A staff message to the complainant.
    await h.runtime.staff.message(
        complaint_id, "Mohon kirim nomor laporan.", Actor("sri", "secretariat")
    )
    await h.settle()
    _, after_message, inbound_now = await complaint_times(h)
    assert after_message > after_transition and inbound_now == first_inbound

    # The complainant writes again in the complaint's thread.
    async with h.runtime.sessions() as s:
        tracking = await s.scalar(select(Complaint.tracking_number))
    await h.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "e2@example.com",
            "budi@example.com",
            "Nomornya LHU-123.",
            subject=f"Re: Keluhan [{tracking}]",
        )
    )
    await h.settle()
    _, after_reply, inbound_reply = await complaint_times(h)
    assert inbound_reply is not None and inbound_reply > after_message
    assert after_reply >= inbound_reply


# ----------------------------------------------------------------- migration


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine_at_0007(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    if request.param == "postgresql":
        engine = await _postgres_engine()
    else:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}")
    await upgrade(engine, "0007")
    yield engine
    await engine.dispose()


async def test_migration_backfills_activity_from_the_history(engine_at_0007: AsyncEngine) -> None:
    t0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    at = UTCDateTime()

    def stamp(sql: str, *names: str) -> Any:
        return text(sql).bindparams(*(bindparam(n, type_=at) for n in names))

    async with engine_at_0007.begin() as conn:
        await conn.execute(
            stamp("INSERT INTO contacts (id, created_at, updated_at) VALUES (1, :t, :t)", "t"),
            {"t": t0},
        )
        for cid in (1, 2):
            await conn.execute(
                stamp(
                    "INSERT INTO complaints (id, tracking_number, contact_id, channel,"
                    " contact_address, complainant_name, customer_name, problem, extra_fields,"
                    " received_at, received_by, status, language, created_at, updated_at)"
                    " VALUES (:id, :tn, 1, 'email', 'b@x.id', 'Budi', 'PT A', 'telat', '{}',"
                    " :t, 'channel:email', 'received', 'id', :t, :t)",
                    "t",
                ),
                {"id": cid, "tn": f"ADU-2026-0000{cid}", "t": t0},
            )
        for kind, minutes in (("registered", 1), ("step_reminder", 30)):
            await conn.execute(
                stamp(
                    "INSERT INTO complaint_events (complaint_id, at, actor, kind, data)"
                    " VALUES (1, :t, 'system', :kind, '{}')",
                    "t",
                ),
                {"t": t0 + timedelta(minutes=minutes), "kind": kind},
            )
        for direction, minutes in (("in", 5), ("out", 7)):
            await conn.execute(
                stamp(
                    "INSERT INTO messages (channel, direction, contact_id, complaint_id, sender,"
                    " text, fields, thread_refs, automatic, raw, received_at, created_at,"
                    " process_attempts) VALUES ('email', :d, 1, 1, 'b@x.id', 'x', '{}', '[]',"
                    " false, '{}', :t, :t, 0)",
                    "t",
                ),
                {"t": t0 + timedelta(minutes=minutes), "d": direction},
            )
    await upgrade(engine_at_0007)
    sessions = session_factory(engine_at_0007)
    # Newest of receipt, events (the reminder excepted) and messages.
    assert await activity(sessions, 1) == (t0 + timedelta(minutes=7), t0 + timedelta(minutes=5))
    assert await activity(sessions, 2) == (t0, None)

    def downgrade(connection: Any) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0007")

    async with engine_at_0007.begin() as conn:
        await conn.run_sync(downgrade)
        count = await conn.scalar(text("SELECT count(*) FROM complaints"))
    assert count == 2
