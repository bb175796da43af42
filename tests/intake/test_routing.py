"""Routing limited by category (BBSPJIKKP SOP-7.9-1 items 4-5): administrative
complaints stay with the business development lead or the head of
administration, technical ones go to the proficiency-testing team lead."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import func, select, update

from handlers.profile import PROFILES_DIR, ProfileError, load_profile
from handlers.workflow import (
    Actor,
    Refusal,
    TransitionRefused,
    allowed_transitions,
)
from storage.models import Complaint, ComplaintEvent, OutboxMessage
from storage.types import utcnow
from tests.runtime_fixtures import Harness, staffed, staffed_harness

BUSINESS_LEAD = Actor("business_lead", "business_lead")
HEAD_ADMIN = Actor("head_admin", "head_admin")


@pytest.fixture
async def kkp(tmp_path: Path) -> AsyncIterator[Harness]:
    """A runtime on the BBSPJIKKP profile (SOP-7.9-1)."""
    async with staffed(tmp_path, "bbspjikkp") as h:
        yield h


async def file_complaint(h: Harness) -> Complaint:
    profile = h.runtime.profile
    values = {
        "complainant_name": "Budi Santoso",
        "customer_name": "Laboratorium Uji Sinar",
        "problem": "Nilai z kami dihitung dengan nilai acuan yang salah pada laporan akhir.",
    }
    # Other fields the profile asks for (e.g. the date the final report was
    # received, SOP-7.9-1 item 3): today, so the complaint is in time.
    today = utcnow().astimezone(ZoneInfo(profile.office.timezone)).strftime("%d/%m/%Y")
    for field in profile.intake.fields:
        if field.required and field.key not in values:
            values[field.key] = today if field.kind == "date" else "Keterangan tambahan"
    complaint = await h.file_labelled("k@x", values)
    assert complaint.status == "received"
    return complaint


async def act(h: Harness, complaint_id: int, name: str, actor: Actor, **data: Any) -> Complaint:
    complaint = await h.runtime.transition(complaint_id, name, actor, data)
    await h.settle()
    return complaint


async def snapshot(h: Harness, complaint_id: int) -> tuple[Any, ...]:
    """Everything a refused transition must leave as it was."""
    async with h.runtime.sessions() as s:
        c = await s.get(Complaint, complaint_id)
        assert c is not None
        kinds = list(await s.scalars(select(ComplaintEvent.kind).order_by(ComplaintEvent.id)))
        outbox = await s.scalar(select(func.count()).select_from(OutboxMessage))
    return (c.status, c.category, c.assignee, c.step_due_at, dict(c.details), kinds, outbox)


async def record_category(h: Harness, complaint_id: int, category: str) -> None:
    """A category recorded before routing (e.g. by staff entering the complaint)."""
    async with h.runtime.sessions() as s, s.begin():
        await s.execute(
            update(Complaint).where(Complaint.id == complaint_id).values(category=category)
        )


async def test_administrative_handling_refuses_a_technical_complaint(kkp: Harness) -> None:
    h = kkp
    complaint = await file_complaint(h)
    before = await snapshot(h, complaint.id)
    sent = len(h.email.sent)
    with pytest.raises(TransitionRefused) as refused:
        await act(h, complaint.id, "handle_administrative", HEAD_ADMIN, category="technical")
    assert refused.value.code is Refusal.WRONG_CATEGORY
    assert refused.value.code == "wrong_category"
    assert str(refused.value) == (
        "handle_administrative is only for administrative complaints; this one is technical"
    )
    assert await snapshot(h, complaint.id) == before
    assert len(h.email.sent) == sent
    # An unknown value is invalid data, not a wrong category.
    with pytest.raises(TransitionRefused) as refused:
        await act(h, complaint.id, "handle_administrative", HEAD_ADMIN, category="urgent")
    assert refused.value.code is Refusal.INVALID_DATA
    assert await snapshot(h, complaint.id) == before

    c = await act(h, complaint.id, "handle_administrative", HEAD_ADMIN, category="administrative")
    assert (c.status, c.category) == ("in_follow_up", "administrative")
    assert "Kepala Bagian Tata Usaha" in h.email.sent[-1].text


async def test_technical_referral_refuses_an_administrative_complaint(kkp: Harness) -> None:
    h = kkp
    complaint = await file_complaint(h)
    with pytest.raises(TransitionRefused) as refused:
        await act(h, complaint.id, "refer_technical", BUSINESS_LEAD, category="administrative")
    assert refused.value.code is Refusal.WRONG_CATEGORY
    assert "only for technical complaints" in str(refused.value)
    c = await act(h, complaint.id, "refer_technical", BUSINESS_LEAD, category="technical")
    assert (c.status, c.category) == ("in_investigation", "technical")


async def test_a_recorded_category_limits_the_routes_and_the_listing(kkp: Harness) -> None:
    h = kkp
    profile = h.runtime.profile
    complaint = await file_complaint(h)

    def names(c: Complaint, role: str) -> list[str]:
        return [t.name for t in allowed_transitions(profile, c, role)]

    # No category yet: both routes are offered, the data will say which applies.
    assert names(complaint, "business_lead") == [
        "handle_administrative",
        "refer_technical",
        "reject",
    ]
    await record_category(h, complaint.id, "administrative")
    async with h.runtime.sessions() as s:
        recorded = await s.get(Complaint, complaint.id)
    assert recorded is not None
    assert names(recorded, "business_lead") == ["handle_administrative", "reject"]
    assert names(recorded, "admin") == ["handle_administrative", "reject"]
    assert "refer_technical" not in names(recorded, "admin")

    before = await snapshot(h, complaint.id)
    with pytest.raises(TransitionRefused) as refused:
        await act(h, complaint.id, "refer_technical", BUSINESS_LEAD)
    assert refused.value.code is Refusal.WRONG_CATEGORY
    assert str(refused.value) == (
        "refer_technical is only for technical complaints; this one is administrative"
    )
    assert await snapshot(h, complaint.id) == before

    # A category given with the transition counts over the recorded one
    # (staff re-classifying the complaint).
    c = await act(h, complaint.id, "refer_technical", BUSINESS_LEAD, category="technical")
    assert (c.status, c.category) == ("in_investigation", "technical")


async def test_categories_without_required_data_use_or_record_the_category(
    tmp_path: Path,
) -> None:
    """A limited transition that does not require ``category`` takes the one
    given (and records it), else the recorded one, else refuses for lack of it."""
    data = yaml.safe_load((PROFILES_DIR / "bbspjikkp.yaml").read_text(encoding="utf-8"))
    for transition in data["workflow"]["transitions"]:
        if transition["name"] == "refer_technical":
            del transition["requires"]
    path = tmp_path / "kkp_optional.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    h = await staffed_harness(tmp_path, str(path))
    try:
        first = await file_complaint(h)
        before = await snapshot(h, first.id)
        with pytest.raises(TransitionRefused) as refused:
            await act(h, first.id, "refer_technical", BUSINESS_LEAD)
        assert refused.value.code is Refusal.MISSING_DATA
        assert "only for technical complaints" in str(refused.value)
        assert await snapshot(h, first.id) == before
        c = await act(h, first.id, "refer_technical", BUSINESS_LEAD, category="technical")
        assert (c.status, c.category) == ("in_investigation", "technical")
        async with h.runtime.sessions() as s:
            event = await s.scalar(
                select(ComplaintEvent).where(ComplaintEvent.to_status == "in_investigation")
            )
        assert event is not None and event.data["category"] == "technical"
    finally:
        await h.runtime.close()


def _broken_copy(tmp_path: Path, value: str) -> Path:
    text = (PROFILES_DIR / "bbspjikkp.yaml").read_text(encoding="utf-8")
    assert text.count("categories: [technical]") == 1
    path = tmp_path / "kkp_broken.yaml"
    path.write_text(text.replace("categories: [technical]", f"categories: [{value}]"))
    return path


def test_an_unknown_category_in_a_profile_is_refused_at_load(tmp_path: Path) -> None:
    path = _broken_copy(tmp_path, "technikal")
    with pytest.raises(ProfileError) as error:
        load_profile(str(path))
    message = str(error.value)
    assert str(path) in message
    assert "transition refer_technical: unknown categories ['technikal']" in message
    assert "['administrative', 'technical']" in message


def test_shipped_profiles_limit_only_the_bbspjikkp_routes() -> None:
    """Only SOP-7.9-1 routes by category; the other offices' SOPs do not."""
    limited = {}
    for name in sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")):
        workflow = load_profile(name).workflow
        limited.update({(name, t.name): t.categories for t in workflow.transitions if t.categories})
    assert limited == {
        ("bbspjikkp", "handle_administrative"): ("administrative",),
        ("bbspjikkp", "refer_technical"): ("technical",),
    }
