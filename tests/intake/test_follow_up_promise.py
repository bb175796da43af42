"""A follow-up time is promised only where the SOP sets one and a step tracks it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from channels.base import ChannelName
from handlers.profile import PROFILES_DIR, ProfileError, load_profile
from handlers.registration import acknowledgement_text, short_acknowledgement_text
from storage.models import Complaint
from tests.fakes import inbound
from tests.runtime_fixtures import make_harness

#: Wednesday 2 December 2026, 10:00 WIB.
RECEIVED = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
VALUES = {
    "complainant_name": "Budi Santoso",
    "customer_name": "PT Sinar Jaya",
    "problem": "Laporan hasil uji kami terlambat dua minggu.",
}


def complaint(tracking: str) -> Complaint:
    return Complaint(tracking_number=tracking, received_at=RECEIVED)


def copy_with(tmp_path: Path, name: str, **changes: Any) -> Path:
    data = yaml.safe_load((PROFILES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    data.update(changes)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["its", "bbspjikkp"])
def test_sops_without_a_follow_up_time_promise_none(name: str) -> None:
    profile = load_profile(name)
    assert profile.follow_up_standard is None and profile.follow_up.source
    assert profile.follow_up.note is not None
    for lang in ("id", "en"):
        ack = acknowledgement_text(profile, complaint("X-2026-00001"), VALUES, lang)
        short = short_acknowledgement_text(profile, complaint("X-2026-00001"), lang, None)
        for text in (ack, short):
            assert "X-2026-00001" in text
            assert "hari" not in text and " days" not in text and "paling lambat" not in text
            assert profile.follow_up.note.get(lang) in text


@pytest.mark.parametrize(
    ("name", "states", "total"),
    [
        ("default", ("in_follow_up",), "3 working_days"),
        ("bbspjikfk", ("in_follow_up",), "3 days"),
        ("bspji_pontianak", ("in_follow_up",), "3 days"),
        ("kecamatan_bandungan", ("in_clarification", "in_follow_up"), "4 days"),
    ],
)
def test_a_promise_is_the_sum_of_tracked_steps(
    name: str, states: tuple[str, ...], total: str
) -> None:
    profile = load_profile(name)
    standard = profile.follow_up_standard
    assert standard is not None and f"{standard.amount} {standard.unit}" == total
    assert profile.follow_up.states == states and profile.follow_up.source


def test_the_acknowledgement_shows_the_real_due_day() -> None:
    profile = load_profile("default")  # 3 working days (BBSPJIKFK 5.1.11 step 4)
    ack = acknowledgement_text(profile, complaint("ADU-2026-00007"), VALUES, "id")
    # Wednesday 2 December + 3 working days: Thursday, Friday, Monday.
    assert "3 hari kerja, yaitu Senin, 07 Desember 2026" in ack
    english = acknowledgement_text(profile, complaint("ADU-2026-00007"), VALUES, "en")
    assert "within 3 working days, by Monday, December 7, 2026" in english


@pytest.mark.parametrize(
    ("follow_up", "message"),
    [
        ({}, "must be tracked"),
        ({"states": ["nowhere"]}, "unknown state 'nowhere'"),
        ({"states": ["received"]}, "counts minutes, the promise counts days"),
        (
            {"states": ["in_clarification"]},
            "promises 4 days but the steps in_clarification track 2",
        ),
        ({"states": ["rejected"]}, "state 'rejected' has no standard"),
    ],
)
def test_an_untracked_promise_is_refused(
    tmp_path: Path, follow_up: dict[str, Any], message: str
) -> None:
    path = copy_with(tmp_path, "kecamatan_bandungan", follow_up=follow_up)
    with pytest.raises(ProfileError) as raised:
        load_profile(str(path))
    assert message in str(raised.value) and str(path) in str(raised.value)


async def test_its_email_acknowledgement_promises_no_deadline(tmp_path: Path) -> None:
    h = await make_harness(tmp_path, sop_profile="its")
    try:
        text = "\n".join(f"{h.runtime.profile.field(k).label.id}: {v}" for k, v in VALUES.items())
        await h.runtime.accept(inbound(ChannelName.EMAIL, "m1", "budi@example.com", text))
        await h.settle()
        async with h.runtime.sessions() as s:
            registered = await s.scalar(select(Complaint))
        assert registered is not None and registered.tracking_number.startswith("ITS-")
        [ack] = h.email.sent
        assert registered.tracking_number in ack.text
        assert "hari kerja" not in ack.text and "paling lambat" not in ack.text
        assert "Kami akan memberikan tanggapan" in ack.text
    finally:
        await h.runtime.close()
