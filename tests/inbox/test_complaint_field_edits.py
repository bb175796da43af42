"""Identity-field corrections as rules (handlers/field_edits.py):
profile fields only, each field's own validation, optional fields may be
emptied, who may edit; and the thread's size limit."""

from __future__ import annotations

import pytest

from channels.base import ChannelName
from gateway.queries.thread import load_thread
from handlers.field_edits import FieldEditRefused, may_edit_fields, plan_changes
from handlers.profile import load_profile
from handlers.workflow import Actor, Refusal
from storage.models import Complaint
from tests.inbox.conftest import Site
from tests.inbox.test_complaint_page import file_complaint, load


def complaint(**extra: str) -> Complaint:
    return Complaint(
        tracking_number="ADU-2026-00001",
        complainant_name="Budi Santoso",
        customer_name="PT Sinar Jaya",
        problem="laporan hasil uji terlambat",
        extra_fields=dict(extra),
        status="received",
    )


def test_changes_are_checked_with_each_fields_rules() -> None:
    profile = load_profile("bbspjikkp")
    current = complaint(final_report_date="2025-01-10")
    changes = plan_changes(
        profile,
        current,
        {
            "complainant_name": "  Budi   Santoso ",  # the same once cleaned: no change
            "customer_name": "PT Sinar Jaya Abadi",
            "final_report_date": "2025-01-15",
        },
    )
    assert [(c.field, c.old, c.new) for c in changes] == [
        ("customer_name", "PT Sinar Jaya", "PT Sinar Jaya Abadi"),
        ("final_report_date", "2025-01-10", "2025-01-15"),
    ]
    with pytest.raises(FieldEditRefused) as refused:
        plan_changes(profile, current, {"final_report_date": "2999-01-01"}, language="id")
    assert (refused.value.code, refused.value.field) == (Refusal.INVALID_DATA, "final_report_date")
    assert "laporan akhir" in str(refused.value)
    with pytest.raises(FieldEditRefused) as refused:
        plan_changes(profile, current, {"problem": "pendek"})
    assert refused.value.field == "problem"
    with pytest.raises(FieldEditRefused) as refused:
        plan_changes(profile, current, {"status": "closed"})
    assert (refused.value.code, refused.value.field) == (Refusal.INVALID_DATA, "status")


def test_an_optional_field_may_be_emptied_but_a_required_one_not() -> None:
    base = load_profile("default")
    note = base.field("customer_name").model_copy(
        update={"key": "reference", "required": False, "min_length": 3}
    )
    profile = base.model_copy(
        update={"intake": base.intake.model_copy(update={"fields": (*base.intake.fields, note)})}
    )
    current = complaint(reference="LK-001")
    [change] = plan_changes(profile, current, {"reference": "  "})
    assert (change.field, change.old, change.new) == ("reference", "LK-001", "")
    with pytest.raises(FieldEditRefused):
        plan_changes(profile, current, {"customer_name": ""})


def test_who_may_edit() -> None:
    profile = load_profile("default")
    received = complaint()
    assert may_edit_fields(profile, received, Actor("sri", "secretariat"))
    assert may_edit_fields(profile, received, Actor("root", "admin"))
    assert may_edit_fields(profile, received, Actor("maya", "manager"))  # supervises every step
    assert not may_edit_fields(profile, received, Actor("tono", "officer"))
    following_up = complaint()
    following_up.status = "in_follow_up"
    assert may_edit_fields(profile, following_up, Actor("tono", "officer"))  # owns that step
    assert not may_edit_fields(profile, following_up, Actor("ani", "appeal_panel"))


async def test_the_thread_shows_the_newest_messages_oldest_first(site: Site) -> None:
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    contact_id = (await load(site, tracking)).contact_id
    async with site.h.runtime.sessions() as s:
        whole = await load_thread(s, contact_id)
        cut = await load_thread(s, contact_id, limit=1)
    assert len(whole.messages) == 2 and whole.hidden == 0  # the complaint and its acknowledgement
    assert [m.inbound for m in whole.messages] == [True, False]
    assert whole.messages[1].delivery is not None and whole.messages[1].delivery.status == "sent"
    assert [m.id for m in cut.messages] == [whole.messages[1].id] and cut.hidden == 1
