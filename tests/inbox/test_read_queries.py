"""The read side behind the staff pages and the API (docs/architecture.md, "Where each
decision lives"): a member's own notices, the printed forms' visibility rule and the
API's complaint list — on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from gateway.inbox.reads import mark_notices_read
from gateway.queries.api_complaints import ComplaintFilters, list_complaints
from gateway.queries.notifications import notices, unread_count
from gateway.queries.printed_forms import printed_complaint
from gateway.visibility import VisibilityRule
from storage.db import SessionFactory
from storage.models import Complaint, ComplaintEvent, Contact, StaffNotification, StaffUser
from storage.types import utcnow


@dataclass
class World:
    sessions: SessionFactory
    users: dict[str, int]
    #: Complaint ids by assignee (``""``: none), oldest first.
    complaints: dict[str, int]


@pytest.fixture
async def world(any_sessions: SessionFactory) -> World:
    """Two staff members and three complaints: one overdue for ``tono``, one not yet
    due for ``bayu``, one unassigned without a due time."""
    now = utcnow()
    async with any_sessions() as s, s.begin():
        users = {
            name: StaffUser(username=name, full_name=name.title(), role=role, password_hash="x")
            for name, role in (("tono", "officer"), ("bayu", "officer"))
        }
        s.add_all(users.values())
        contact = Contact(display_name="Budi")
        s.add(contact)
        await s.flush()
        complaints: dict[str, int] = {}
        for number, (assignee, due) in enumerate(
            (("tono", now - timedelta(hours=1)), ("bayu", now + timedelta(hours=5)), ("", None)),
            start=1,
        ):
            complaint = Complaint(
                tracking_number=f"ADU-2026-{number:05d}",
                contact_id=contact.id,
                channel="email",
                contact_address="budi@example.com",
                complainant_name="Budi",
                customer_name=f"PT {number}",
                problem="Hasil uji terlambat",
                received_at=now - timedelta(days=1),
                received_by="channel:email",
                status="received",
                assignee=assignee or None,
                step_due_at=due,
            )
            s.add(complaint)
            await s.flush()
            complaints[assignee] = complaint.id
        user_ids = {name: user.id for name, user in users.items()}
    return World(any_sessions, user_ids, complaints)


async def test_a_member_reads_and_marks_only_their_own_notices(world: World) -> None:
    now = utcnow()
    tono, bayu = world.users["tono"], world.users["bayu"]
    async with world.sessions() as s, s.begin():
        for minutes, (user, complaint) in enumerate(
            ((tono, world.complaints["tono"]), (tono, world.complaints[""]), (bayu, None))
        ):
            s.add(
                StaffNotification(
                    staff_user_id=user,
                    kind="assigned",
                    complaint_id=complaint,
                    event_key=f"event:{minutes}",
                    created_at=now + timedelta(minutes=minutes),
                    params={"tracking": f"ADU-OLD-{minutes}"},
                )
            )
    async with world.sessions() as s:
        own = await notices(s, tono, limit=10)
    assert [n.customer_name for n in own] == ["PT 3", "PT 1"]  # newest first, names as now
    assert [n.tracking_number for n in own] == ["ADU-2026-00003", "ADU-2026-00001"]
    assert all(n.read_at is None for n in own)
    async with world.sessions() as s:
        (theirs,) = await notices(s, bayu, limit=10)
    assert theirs.customer_name is None and theirs.params == {"tracking": "ADU-OLD-2"}

    async with world.sessions() as s, s.begin():  # another member's notice is not touched
        assert await mark_notices_read(s, tono, theirs.id) == 0
    assert await unread_count(world.sessions, bayu) == 1
    async with world.sessions() as s, s.begin():
        assert await mark_notices_read(s, tono, own[0].id) == 1
    assert await unread_count(world.sessions, tono) == 1
    async with world.sessions() as s, s.begin():
        assert await mark_notices_read(s, tono) == 1
    assert await unread_count(world.sessions, tono) == 0
    assert await unread_count(world.sessions, bayu) == 1


async def test_printed_forms_follow_the_visibility_rule(world: World) -> None:
    tono_only = VisibilityRule(frozenset({"tono"}))
    async with world.sessions() as s, s.begin():
        for kind in ("registered", "note"):
            s.add(
                ComplaintEvent(complaint_id=world.complaints["tono"], actor="staff:bayu", kind=kind)
            )
    async with world.sessions() as s:
        found = await printed_complaint(s, tono_only, "adu-2026-00001")
        hidden = await printed_complaint(s, tono_only, "ADU-2026-00002")
        unknown = await printed_complaint(s, None, "ADU-2026-09999")
    assert found is not None
    assert found.complaint.id == world.complaints["tono"]
    assert [e.kind for e in found.events] == ["registered", "note"]
    assert found.names == {"tono": "Tono", "bayu": "Bayu"}
    assert hidden is None and unknown is None


async def test_the_api_list_filters_pages_and_limits_by_visibility(world: World) -> None:
    ids = world.complaints
    now = utcnow()

    async def listed(
        filters: ComplaintFilters, rule: VisibilityRule | None = None, limit: int = 10
    ) -> tuple[list[int], bool]:
        async with world.sessions() as s:
            found = await list_complaints(s, rule, filters, limit=limit, now=now)
        return [c.id for c in found.complaints], found.more

    assert await listed(ComplaintFilters()) == ([ids[""], ids["bayu"], ids["tono"]], False)
    assert await listed(ComplaintFilters(overdue=True)) == ([ids["tono"]], False)
    assert await listed(ComplaintFilters(overdue=False)) == ([ids[""], ids["bayu"]], False)
    assert await listed(ComplaintFilters(assignee="bayu")) == ([ids["bayu"]], False)
    assert await listed(ComplaintFilters(status="closed")) == ([], False)
    assert await listed(ComplaintFilters(), limit=2) == ([ids[""], ids["bayu"]], True)
    assert await listed(ComplaintFilters(before_id=ids["bayu"])) == ([ids["tono"]], False)
    assert await listed(ComplaintFilters(), VisibilityRule(frozenset({"bayu"}))) == (
        [ids["bayu"]],
        False,
    )
