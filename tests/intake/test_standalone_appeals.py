"""BSPJI Pontianak PR-LS-8.1.4: appeals with no complaint behind them, the
steps before the panel (identify, record the type, pass on), a panel
competent for the appeal's subject, no appeal window."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from channels.base import ChannelName
from handlers.appeals import (
    AppealRefusal,
    AppealRefused,
    appeal_step,
)
from handlers.intake.appeal_intake import appeal_intent
from handlers.profile import PROFILES_DIR, ProfileError, load_profile
from handlers.texts import Duration
from storage.models import (
    Appeal,
    AppealEvent,
    AppealPanelMember,
    AppealStatus,
    Complaint,
)
from tests.custom_profiles import write_with_section
from tests.fakes import inbound
from tests.intake.appeal_steps import decide_only_appeal, seat_member
from tests.intake.test_appeal_standards import (
    DECLARATION,
    STAFF,
    closed_complaint,
    current_appeal,
    record_step,
)
from tests.intake.test_appeal_window import appeal_at
from tests.office_clock import office_after, office_before
from tests.runtime_fixtures import Harness, make_harness, staffed

BUDI = "budi@example.com"
DECISION = (
    "keputusan penolakan sertifikasi SPPT-SNI No. 045/2026 oleh LSPro BSPJI Pontianak "
    "tanggal 1 Desember 2026"
)
REASON = "Hasil uji yang dipakai untuk keputusan itu memakai contoh produk yang salah."
REFERENCE = re.compile(r"PTK-BDG-\d{4}-\d{5}")


@pytest.fixture
async def pontianak(tmp_path: Path) -> AsyncIterator[Harness]:
    """A runtime on the BSPJI Pontianak profile with its staff."""
    async with staffed(tmp_path, "bspji_pontianak", STAFF) as h:
        yield h


async def seat(h: Harness, username: str, *, chair: bool = False) -> None:
    await seat_member(h, username, declaration=DECLARATION, role="head_of_office", chair=chair)


async def appeal_by_email(h: Harness) -> Appeal:
    """The appellant writes that they appeal a decision, then gives the reason."""
    await h.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "a1@x",
            BUDI,
            f"Selamat pagi, saya ingin mengajukan banding atas {DECISION}",
            sender_name="Budi Santoso",
        )
    )
    await h.settle()
    asked = h.email.sent[-1]
    assert asked.recipient == BUDI and "alasan" in asked.text.lower()
    await h.runtime.accept(inbound(ChannelName.EMAIL, "a2@x", BUDI, REASON, thread_refs=("a1@x",)))
    await h.settle()
    return await current_appeal(h)


async def events(h: Harness) -> list[str]:
    async with h.runtime.sessions() as s:
        return list(await s.scalars(select(AppealEvent.kind).order_by(AppealEvent.id)))


async def test_an_appeal_with_no_complaint_runs_from_email_to_the_final_decision(
    pontianak: Harness,
) -> None:
    h = pontianak
    appeal = await appeal_by_email(h)
    ack = h.email.sent[-1]
    assert appeal.reference is not None and REFERENCE.fullmatch(appeal.reference)
    assert appeal.reference in ack.text and "telah kami terima" in ack.text
    assert (appeal.complaint_id, appeal.channel, appeal.address) == (None, "email", BUDI)
    assert appeal.appellant_name == "Budi Santoso" and appeal.contested_decision == DECISION
    assert appeal.reason == REASON and appeal.opened_by == "complainant:email"
    # Step 1 first: identify, 60 minutes.
    opened = appeal.opened_at
    calendar = h.runtime.profile.office.calendar()
    assert appeal.step == "identify"
    assert appeal.step_due_at == Duration(amount=60, unit="minutes").due(opened, calendar)

    # No panel before the appeal is passed on (PR-LS-8.1.4 steps 1-2 first).
    with pytest.raises(AppealRefused) as refused:
        await seat(h, "ani", chair=True)
    assert refused.value.code is AppealRefusal.STEPS_PENDING
    # Steps in order, each by its owner role.
    with pytest.raises(AppealRefused) as refused:
        await record_step(h, "pass_on", "customer_service", opened)
    assert refused.value.code is AppealRefusal.WRONG_STEP
    with pytest.raises(AppealRefused) as refused:
        await record_step(h, "identify", "technical_in_charge", opened, note="x")
    assert refused.value.code is AppealRefusal.FORBIDDEN
    with pytest.raises(AppealRefused) as refused:
        await record_step(h, "identify", "customer_service", opened, note="  ")
    assert refused.value.code is AppealRefusal.MISSING_DATA

    at = opened + timedelta(minutes=30)
    appeal = await record_step(
        h, "identify", "customer_service", at, note="Banding atas keputusan sertifikasi; sah."
    )
    assert appeal.step == "record_type"
    assert appeal.step_due_at == Duration(amount=120, unit="minutes").due(at, calendar)
    with pytest.raises(AppealRefused) as refused:
        await record_step(
            h, "record_type", "customer_service", at, appeal_type="x", subject="testing"
        )
    assert refused.value.code is AppealRefusal.MISSING_DATA
    at += timedelta(minutes=40)
    appeal = await record_step(
        h,
        "record_type",
        "customer_service",
        at,
        appeal_type="certification_decision",
        subject="certification",
    )
    assert (appeal.appeal_type, appeal.subject) == ("certification_decision", "certification")
    assert appeal.step == "pass_on" and appeal.step_due_at is None  # no time of its own
    at += timedelta(minutes=10)
    appeal = await record_step(h, "pass_on", "customer_service", at)
    assert appeal.step is None
    assert appeal.step_due_at == Duration(amount=1, unit="days").due(at, calendar)
    assert appeal_step(appeal, [], panel_size=3) == "panel"

    # A member without a role competent for certification cannot be seated.
    before = await events(h)
    with pytest.raises(AppealRefused) as refused:
        await seat(h, "head_of_office", chair=True)
    assert refused.value.code is AppealRefusal.NOT_COMPETENT
    assert "not competent" in str(refused.value)
    async with h.runtime.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(AppealPanelMember)) == 0
    assert await events(h) == before and (await current_appeal(h)).step_due_at == appeal.step_due_at

    await seat(h, "ani", chair=True)
    await seat(h, "dedi")
    await seat(h, "eka")
    await decide_only_appeal(
        h,
        decision="Banding diterima; sertifikasi dinilai ulang dengan contoh yang benar.",
        chair="ani",
    )
    told = h.email.sent[-1]
    assert told.recipient == BUDI and appeal.reference in told.text
    assert "sertifikasi dinilai ulang" in told.text and "keputusan akhir" in told.text
    decided = await current_appeal(h)
    assert decided.status == AppealStatus.DECIDED and decided.step_due_at is None
    assert await events(h) == [
        "appeal_opened",
        "appeal_progressed",
        "appeal_progressed",
        "appeal_progressed",
        "appeal_panel_member_added",
        "appeal_panel_member_added",
        "appeal_panel_member_added",
        "appeal_decided",
        "appellant_notified",
    ]


async def test_an_appeal_opening_without_the_decision_asks_for_it(pontianak: Harness) -> None:
    h = pontianak
    for index, text in enumerate(("banding", DECISION, REASON)):
        await h.runtime.accept(
            inbound(
                ChannelName.EMAIL,
                f"b{index}@x",
                BUDI,
                text,
                sender_name="Budi Santoso",
                thread_refs=("b0@x",) if index else (),
            )
        )
        await h.settle()
    texts = h.email.texts()
    assert "keputusan mana" in texts[0].lower() and "alasan" in texts[1].lower()
    appeal = await current_appeal(h)
    assert appeal.contested_decision == DECISION and appeal.reason == REASON
    assert appeal.reference is not None and appeal.reference in texts[2]
    async with h.runtime.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Complaint)) == 0


async def test_no_window_applies_to_appeals_on_a_complaint(pontianak: Harness) -> None:
    """PR-LS-8.1.4 sets no appeal window: a hundred days after the result the
    appeal is still accepted (and starts at step 1)."""
    h = pontianak
    complaint = await closed_complaint(h)
    result = await appeal_at(
        h, complaint, complaint.received_at + timedelta(days=100), opened_by="complainant:email"
    )
    assert result.appeal is not None and result.refusal is None
    assert result.appeal.step == "identify"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("banding", ("id", "")),
        ("Saya mau mengajukan banding", ("id", "")),
        ("Halo, saya ingin mengajukan banding atas hasil uji no 12", ("id", "hasil uji no 12")),
        ("I want to appeal against the certificate decision", ("en", "the certificate decision")),
        ("appeal", ("en", "")),
        ("Kami sudah ajukan banding dengan berkas lengkap tapi ditolak", None),
        ("Tagihan UKT tidak sesuai hasil banding", None),
        ("laporan hasil uji terlambat", None),
    ],
)
def test_the_wish_to_appeal_is_recognised_only_at_the_start(
    text: str, expected: tuple[str, str] | None
) -> None:
    intent = appeal_intent(text)
    assert (None if intent is None else (intent.language, intent.decision)) == expected


def test_a_mail_whose_subject_says_banding_takes_its_body_as_the_decision() -> None:
    intent = appeal_intent(DECISION, subject="Pengajuan banding")
    assert intent is None or intent.decision == DECISION
    intent = appeal_intent(DECISION, subject="banding")
    assert intent is not None and intent.decision == DECISION


def _broken(tmp_path: Path, change: dict[str, Any]) -> Path:
    return write_with_section(tmp_path, "bspji_pontianak", "appeal", change, "ptk-broken.yaml")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {
                "steps": [
                    {
                        "name": "pass_on",
                        "label": {"id": "x"},
                        "owners": ["customer_service"],
                        "to": ["head_of_office"],
                    },
                    {"name": "identify", "label": {"id": "x"}, "owners": ["customer_service"]},
                ]
            },
            "must keep the order identify -> record_type -> pass_on",
        ),
        (
            {
                "steps": [
                    {"name": "pass_on", "label": {"id": "x"}, "owners": ["customer_service"]}
                ],
                "types": {},
                "subjects": {},
            },
            "pass_on needs 'to'",
        ),
        ({"types": {}}, "record_type needs appeal.types"),
        (
            {"steps": [{"name": "identify", "label": {"id": "x"}, "owners": ["customer_service"]}]},
            "recorded by a record_type step",
        ),
        ({"opened_standalone": None}, "standalone needs opened_standalone"),
        (
            {"subjects": {"testing": {"label": {"id": "Uji"}, "competent": ["ghost_panel"]}}},
            "roles not declared under roles: ghost_panel",
        ),
        ({"subjects": {"testing": {"label": {"id": "Uji"}, "competent": []}}}, "competent"),
        ({"window": {"amount": 2, "unit": "weeks"}}, "window"),
    ],
)
def test_bad_appeal_options_are_refused_naming_the_problem(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProfileError) as error:
        load_profile(str(_broken(tmp_path, change)))
    assert message in str(error.value) and "appeal" in str(error.value)


async def test_an_appeal_by_sms_asks_for_the_decision_the_reason_and_the_name(
    tmp_path: Path,
) -> None:
    """On a chat channel (here SMS, listed in a copy of the profile) the wish
    to appeal starts the appeal questions, one at a time; the answer to the
    last is the acknowledgement with the reference."""
    data = yaml.safe_load((PROFILES_DIR / "bspji_pontianak.yaml").read_text(encoding="utf-8"))
    data["channels"] = [*data["channels"], "sms"]
    path = tmp_path / "ptk-sms.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    h = await make_harness(tmp_path, sop_profile=str(path))
    phone = "+6281298765432"
    try:
        for index, text in enumerate(("mau banding", DECISION, "x", REASON, "Sinta Dewi")):
            await h.runtime.accept(inbound(ChannelName.SMS, f"s{index}", phone, text))
            await h.settle()
        texts = h.sms.texts()
        assert "keputusan mana" in texts[0].lower()
        assert "/privasi" in texts[0] and "/privasi" not in texts[1]  # first answer only
        assert "alasan" in texts[1].lower()
        assert "antara 5 dan 5000" in texts[2] and "alasan" in texts[2].lower()  # too short
        assert "nama lengkap" in texts[3].lower()
        appeal = await current_appeal(h)
        assert appeal.reference is not None and appeal.reference in texts[4]
        assert (appeal.channel, appeal.address, appeal.appellant_name) == (
            "sms",
            phone,
            "Sinta Dewi",
        )
        assert appeal.contested_decision == DECISION and appeal.reason == REASON
        assert all(m.recipient == phone for m in h.sms.sent)
    finally:
        await h.runtime.close()


async def test_steps_of_a_standalone_appeal_are_reminded_and_escalated(
    pontianak: Harness,
) -> None:
    """PR-LS-8.1.4 step 1 (60 menit): the identify step's owners are reminded
    once before it is due and the escalation roles told once after; the
    entries go to the appeal's own history (there is no complaint)."""
    from handlers.appeal_standards import ESCALATION_EVENT, REMINDER_EVENT, sweep_appeal_standards

    h = pontianak
    appeal = await appeal_by_email(h)
    due = appeal.step_due_at
    assert due is not None
    profile = h.runtime.profile
    calendar = profile.office.calendar()
    for at, expected in (
        (office_before(calendar, due, timedelta(minutes=11)), {"reminded": 0, "escalated": 0}),
        (office_before(calendar, due, timedelta(minutes=5)), {"reminded": 1, "escalated": 0}),
        (office_before(calendar, due, timedelta(minutes=1)), {"reminded": 0, "escalated": 0}),
        (office_after(calendar, due, timedelta(minutes=1)), {"reminded": 0, "escalated": 1}),
        (office_after(calendar, due, timedelta(hours=3)), {"reminded": 0, "escalated": 0}),
    ):
        async with h.runtime.sessions() as s, s.begin():
            assert await sweep_appeal_standards(s, profile=profile, now=at) == expected, at
    async with h.runtime.sessions() as s:
        marks = list(
            await s.scalars(
                select(AppealEvent)
                .where(AppealEvent.kind.in_((REMINDER_EVENT, ESCALATION_EVENT)))
                .order_by(AppealEvent.id)
            )
        )
    assert [(e.kind, e.data["step"], e.data["roles"]) for e in marks] == [
        (REMINDER_EVENT, "identify", ["customer_service"]),
        (ESCALATION_EVENT, "identify", ["head_of_office"]),
    ]
