"""The shipped SOP profiles: each loads, and each office's SOP can be walked from
intake to closing with its own roles, time standards and notices.

Profiles: ``bbspjikkp`` (SOP-7.9-1), ``bbspjikfk`` (5.1.11/BBSPJIKFK/2025),
``bspji_pontianak`` (PR-LS-8.1.4), ``kecamatan_bandungan``
(KEC_BANDUNGAN/WMM/03) and ``its`` (PM-BAPKM.AP.1-24).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from channels.base import ChannelName
from gateway.web.form import check_profile
from handlers.profile import PROFILES_DIR, Profile, ProfileError, load_profile
from handlers.texts import Duration
from handlers.workflow import Actor, Refusal, TransitionRefused
from handlers.workflow_spec import DATA_KEYS
from storage.models import Complaint, ComplaintEvent
from tests.custom_profiles import write_without_workflow
from tests.fakes import inbound
from tests.intake.appeal_steps import decide_only_appeal, only_appeal, seat_member
from tests.known_kinds import assert_only_known_kinds
from tests.runtime_fixtures import Harness, add_staff, staffed

OFFICES = ("bbspjikkp", "bbspjikfk", "bspji_pontianak", "kecamatan_bandungan", "its")
ALL_PROFILES = sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))
CHANNELS = {"web", "email", "whatsapp", "sms", "telegram", "api", "manual"}
PLACEHOLDERS = dict.fromkeys(("tracking", "status", "next_date", "reason", "result", "note"), "X")

RESULT = "Laporan hasil uji telah diterbitkan ulang dan dikirim kepada pelanggan."
CAPA = {
    "cause": "Antrean pengujian menumpuk",
    "correction": "Laporan diterbitkan ulang",
    "corrective_action": "Tambah analis pada shift sore",
    "preventive_action": "Pantau antrean mingguan",
    "owner": "Ketua tim teknis",
    "due_date": "2026-12-01",
    "effectiveness_check": "Tinjau waktu penerbitan laporan bulan depan",
}
MINUTES = timedelta(minutes=1)
DAYS = timedelta(days=1)


@dataclass(frozen=True)
class Step:
    """One transition of a walk: who takes it, with what, and what follows.

    ``due`` is the SOP's time standard of the step it starts (``None``: the
    SOP gives none, or the state is final); ``told`` a piece of the notice the
    complainant must get by email (``None``: the SOP informs nobody here).
    """

    name: str
    role: str
    to: str
    due: timedelta | None
    data: dict[str, Any] = field(default_factory=dict)
    told: str | None = None


@dataclass(frozen=True)
class Walk:
    profile: str
    first_due: timedelta | None
    steps: tuple[Step, ...]


WALKS = {
    # SOP-7.9-1: technical route (items 5-8), progress report (item 10),
    # nonconforming work (item 9), formal answer (item 10). No time standards.
    "bbspjikkp": Walk(
        "bbspjikkp",
        None,
        (
            Step(
                "refer_technical",
                "business_lead",
                "in_investigation",
                None,
                {"category": "technical"},
                "diteruskan kepada Ketua Tim Kerja PUP",
            ),
            Step(
                "report_investigation",
                "technical_manager",
                "investigated",
                None,
                {"note": "Nilai z peserta dihitung dengan nilai acuan yang salah."},
            ),
            Step(
                "assign_officer",
                "technical_lead",
                "in_follow_up",
                None,
                {"assignee": "officer"},
                "personel yang berkompeten",
            ),
            Step(
                "report_progress",
                "secretariat",
                "in_follow_up",
                None,
                {"note": "Perhitungan ulang nilai z sedang dilakukan."},
                "Perhitungan ulang nilai z sedang dilakukan.",
            ),
            Step(
                "declare_nonconforming",
                "technical_lead",
                "nonconforming_work",
                None,
                {"nonconformity": "PTS-2026-014"},
            ),
            Step("complete_follow_up", "officer", "followed_up", None, {"result": RESULT}),
            Step("close", "secretariat", "closed", None, told=RESULT),
        ),
    ),
    # 5.1.11/BBSPJIKFK/2025 steps 2-6: 15 min, 15 min, 3 days, 15 min, 15 min.
    "bbspjikfk": Walk(
        "bbspjikfk",
        15 * MINUTES,
        (
            Step("record", "pjtk_staff", "recorded", 15 * MINUTES),
            Step("verify", "team_lead", "in_follow_up", 3 * DAYS),
            Step("record_capa", "technical_team", "capa_recorded", 15 * MINUTES, {"capa": CAPA}),
            Step("verify_result", "team_lead", "result_verified", 15 * MINUTES, {"result": RESULT}),
            Step("close", "pjtk_staff", "closed", None, told="paling lambat 15 hari"),
        ),
    ),
    # PR-LS-8.1.4 steps 1-3 and 5: 60 min, 120 min, 3 days, 1 day.
    "bspji_pontianak": Walk(
        "bspji_pontianak",
        60 * MINUTES,
        (
            Step(
                "identify",
                "customer_service",
                "identified",
                120 * MINUTES,
                {"note": "Keluhan benar: laporan hasil uji terlambat 5 hari."},
            ),
            Step(
                "refer",
                "customer_service",
                "in_follow_up",
                3 * DAYS,
                {"complaint_type": "testing", "assignee": "technical_in_charge"},
            ),
            Step(
                "report_nonconformity",
                "technical_in_charge",
                "nonconformity_reported",
                1 * DAYS,
                {"nonconformity": "LK-2026-007", "capa": CAPA},
            ),
            Step("close", "head_of_office", "closed", None, {"result": RESULT}, RESULT),
        ),
    ),
    # KEC_BANDUNGAN/WMM/03 steps 2-7: 15 min, 5 min, 15 min, 2 days, 2 days, 30 min.
    "kecamatan_bandungan": Walk(
        "kecamatan_bandungan",
        15 * MINUTES,
        (
            Step("accept", "staff", "accepted", 5 * MINUTES),
            Step("register", "staff", "registered", 15 * MINUTES),
            Step("report_to_superior", "staff", "in_clarification", 2 * DAYS),
            Step(
                "clarify",
                "sekcam",
                "in_follow_up",
                2 * DAYS,
                {"note": "Dikonfirmasi ke pelayanan terpadu bersama Kasi."},
            ),
            Step("complete_follow_up", "camat", "followed_up", 30 * MINUTES, {"result": RESULT}),
            Step("inform", "staff", "closed", None, told=RESULT),
        ),
    ),
    # PM-BAPKM.AP.1-24 steps b-f; the SOP gives no time standards.
    "its": Walk(
        "its",
        None,
        (
            Step("confirm", "registration_staff", "confirmed", None),
            Step(
                "report_nonconformity",
                "division_head",
                "nonconformity_reported",
                None,
                {"nonconformity": "LK-BAKP-2026-03"},
            ),
            Step(
                "plan_correction",
                "division_head",
                "corrective_programme",
                None,
                {"note": "Jadwal layanan loket diperpanjang."},
            ),
            Step("take_action", "registration_staff", "monitoring", None, {"capa": CAPA}),
            Step("close", "monitoring_staff", "closed", None, {"result": RESULT}, RESULT),
        ),
    ),
}


# ------------------------------------------------------------------ loading


@pytest.mark.parametrize("name", ALL_PROFILES)
def test_every_shipped_profile_loads_and_suits_the_web_form(name: str) -> None:
    profile = load_profile(name)
    check_profile(profile)
    assert profile.id == name
    assert set(profile.channels) <= CHANNELS


def test_the_five_offices_are_shipped_with_their_own_tracking_prefix() -> None:
    assert set(OFFICES) <= set(ALL_PROFILES)
    prefixes = [load_profile(name).tracking_prefix for name in ALL_PROFILES]
    assert len(set(prefixes)) == len(prefixes)


@pytest.mark.parametrize("name", OFFICES)
def test_office_workflow_is_complete_and_cited(name: str) -> None:
    profile = load_profile(name)
    spec = profile.workflow
    assert spec.initial == "received"  # registration starts there
    # A final "closed" reached by informing the complainant, a "rejected" with a reason.
    for final in ("closed", "rejected"):
        assert spec.states[final].final
    [close] = [t for t in spec.transitions if t.to == "closed"]
    assert close.notify is not None
    [reject] = [t for t in spec.transitions if t.to == "rejected"]
    assert "reason" in reject.requires and reject.notify is not None
    # Every step is reachable, every open step can be left, everything cites the SOP.
    reachable = {spec.initial}
    while True:
        more = {t.to for t in spec.transitions if set(t.from_) & reachable} - reachable
        if not more:
            break
        reachable |= more
    assert reachable == set(spec.states)
    for key, state in spec.states.items():
        assert state.source, key
        assert state.final or any(key in t.from_ and t.to != key for t in spec.transitions), key
    for transition in spec.transitions:
        assert transition.source, transition.name
        assert set(transition.requires) <= DATA_KEYS
        if transition.notify is not None:
            assert transition.notify.en, transition.name
            for language in ("id", "en"):
                transition.notify.get(language).format(**PLACEHOLDERS)
    for f in profile.intake.fields:
        assert f.label.en and f.prompt.en and f.source
        assert len(f.label.id) <= 40 and len(f.label.en) <= 40  # usable as "Label: value"


def test_appeals_where_the_sop_has_them() -> None:
    kfk = load_profile("bbspjikfk").appeal
    assert kfk is not None and kfk.window is not None
    assert (kfk.window.amount, kfk.window.unit) == (15, "calendar_days") and not kfk.standalone
    ptk = load_profile("bspji_pontianak").appeal
    assert ptk is not None and ptk.panel_size == 3 and "appeal_panel" in ptk.roles
    assert "keputusan akhir" in ptk.decided.id
    # PR-LS-8.1.4: no window, appeals not tied to a complaint, steps 1-2 first.
    assert ptk.window is None and ptk.standalone
    assert [s.name for s in ptk.steps] == ["identify", "record_type", "pass_on"]
    assert ptk.source is not None and "no appeal window" in ptk.source
    for name in ("bbspjikkp", "kecamatan_bandungan", "its"):
        assert load_profile(name).appeal is None


# ---------------------------------------------------------- broken profiles


def _broken_copy(tmp_path: Path, name: str, how: str) -> Path:
    data = yaml.safe_load((PROFILES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    transition = data["workflow"]["transitions"][0]
    if how == "state":
        transition["to"] = "nowhere"
    else:
        transition["roles"] = [*transition["roles"], "ghost_officer"]
    path = tmp_path / f"{name}-broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", OFFICES)
def test_a_broken_copy_names_the_file_and_the_key(tmp_path: Path, name: str) -> None:
    path = _broken_copy(tmp_path, name, "state")
    with pytest.raises(ProfileError) as error:
        load_profile(str(path))
    message = str(error.value)
    assert str(path) in message and "workflow" in message and "'nowhere'" in message

    path = _broken_copy(tmp_path, name, "role")
    with pytest.raises(ProfileError) as error:
        load_profile(str(path))
    message = str(error.value)
    assert str(path) in message
    assert "roles not declared under roles: ghost_officer" in message


# ------------------------------------------------ a profile without a workflow


def test_a_profile_without_a_workflow_loads_with_the_default_one(tmp_path: Path) -> None:
    own = load_profile(str(write_without_workflow(tmp_path)))
    default = load_profile("default")
    assert own.workflow == default.workflow
    assert list(own.workflow.states) == [
        "received",
        "verified",
        "rejected",
        "in_follow_up",
        "capa_recorded",
        "result_verified",
        "closed",
        "archived",
    ]
    # The roles that workflow uses come with it, named as in the default profile.
    used = default.workflow.roles_used()
    assert own.roles == {role: default.roles[role] for role in used}
    assert "appeal_panel" in default.roles and "appeal_panel" not in used


def test_own_role_names_win_and_a_null_workflow_is_none_given(tmp_path: Path) -> None:
    roles = {"secretariat": {"id": "Sekretariat Kantor"}, "clerk": {"id": "Juru tulis"}}
    own = load_profile(str(write_without_workflow(tmp_path, workflow=None, roles=roles)))
    default = load_profile("default")
    assert own.workflow == default.workflow
    assert own.roles["secretariat"].id == "Sekretariat Kantor" and own.roles["clerk"].id
    assert own.roles["manager"] == default.roles["manager"]


def test_a_profile_without_a_workflow_is_checked_against_the_default_one(
    tmp_path: Path,
) -> None:
    follow_up = {"states": ["answered"]}
    path = write_without_workflow(tmp_path, follow_up=follow_up)
    with pytest.raises(ProfileError, match=r"follow_up\.states names unknown state 'answered'"):
        load_profile(str(path))


# ------------------------------------------------------------------- walks


@pytest.fixture
async def office(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    """A harness on the profile named by the test's ``name`` parameter, with
    one active staff user per role (username = role id)."""
    name = request.node.callspec.params["name"]
    data = yaml.safe_load((PROFILES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    if "email" not in data.get("channels", ["email"]):
        # The walks file by email; a profile without it (KEC_BANDUNGAN/WMM/03
        # step 2: SMS and manual intake) gets it added for the walk only.
        data["channels"] = [*data["channels"], "email"]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    async with staffed(tmp_path, str(path)) as h:
        yield h


async def file_complaint(h: Harness) -> Complaint:
    """A complete complaint by email, written with the profile's own labels."""
    profile = h.runtime.profile
    values = {
        "complainant_name": "Budi Santoso",
        "customer_name": "PT Sinar Jaya",
        "problem": "Laporan hasil uji kami terlambat dan belum ada kabar dari petugas.",
    }
    if profile.acceptance_window is not None:
        # Within the window (SOP-7.9-1 item 3): the final report came today.
        values[profile.acceptance_window.field] = "hari ini"
    complaint = await h.file_labelled("p@x", values)
    assert (complaint.complainant_name, complaint.customer_name) == (
        "Budi Santoso",
        "PT Sinar Jaya",
    )
    assert complaint.tracking_number.startswith(profile.tracking_prefix + "-")
    ack = h.email.sent[-1].text
    assert complaint.tracking_number in ack
    if profile.follow_up_standard is not None:
        assert profile.follow_up_standard.describe("id") in ack
    else:  # the SOP sets no follow-up time: none is promised
        assert "ditindaklanjuti paling lambat" not in ack
    return complaint


async def act(h: Harness, complaint_id: int, step: Step) -> Complaint:
    complaint = await h.runtime.transition(
        complaint_id, step.name, Actor(step.role, step.role), step.data
    )
    await h.settle()
    return complaint


def _due(profile: Profile, complaint: Complaint) -> timedelta | None:
    """The step's standard as a duration: office time for minutes; whole days
    as the office counts them, checked against :meth:`Duration.due`."""
    if complaint.step_due_at is None:
        return None
    assert complaint.step_started_at is not None
    calendar = profile.office.calendar()
    start, due = complaint.step_started_at, complaint.step_due_at
    for days in range(1, 8):
        if due == Duration(amount=days, unit="days").due(start, calendar):
            return days * DAYS
    return calendar.office_time_between(start, due)


@pytest.mark.parametrize("name", OFFICES)
async def test_happy_path_from_intake_to_closing(office: Harness, name: str) -> None:
    h = office
    walk = WALKS[name]
    profile: Profile = h.runtime.profile
    assert profile.id == name
    complaint = await file_complaint(h)
    assert complaint.status == "received" and _due(profile, complaint) == walk.first_due

    status = complaint.status
    for step in walk.steps:
        sent = len(h.email.sent)
        c = await act(h, complaint.id, step)
        assert c.status == step.to, step.name
        assert _due(profile, c) == step.due, step.name
        new = h.email.sent[sent:]
        if step.told is None:
            assert new == [], step.name
        else:
            [message] = new
            assert step.told in message.text and complaint.tracking_number in message.text
            label = profile.workflow.states[step.to].label.id
            assert message.subject == f"{label} [{complaint.tracking_number}]"
            assert message.recipient == "budi@example.com"
        status = step.to

    assert status == "closed" and c.step_due_at is None
    async with h.runtime.sessions() as s:
        events = list(
            await s.scalars(
                select(ComplaintEvent)
                .where(ComplaintEvent.kind == "transition")
                .order_by(ComplaintEvent.id)
            )
        )
    expected = []
    before = "received"
    for step in walk.steps:
        expected.append((before, step.to, f"staff:{step.role}", step.name))
        before = step.to
    assert [(e.from_status, e.to_status, e.actor, e.data["transition"]) for e in events] == expected
    # Every kind the walk stored is a ComplaintEventKind (storage/event_kinds.py).
    assert {"registered", "transition"} <= await assert_only_known_kinds(h.runtime.sessions)


@pytest.mark.parametrize("name", OFFICES)
async def test_rejection_needs_a_reason_and_tells_the_complainant(
    office: Harness, name: str
) -> None:
    h = office
    profile = h.runtime.profile
    complaint = await file_complaint(h)
    reject = profile.workflow.transition("reject")
    role = next(r for r in reject.roles if r != "admin")
    with pytest.raises(TransitionRefused) as refused:
        await act(h, complaint.id, Step("reject", role, "rejected", None))
    assert refused.value.code is Refusal.MISSING_DATA
    reason = "diajukan lebih dari 3 hari kerja setelah laporan akhir diterima"
    c = await act(h, complaint.id, Step("reject", role, "rejected", None, {"reason": reason}))
    assert c.status == "rejected" and c.step_due_at is None
    assert reason in h.email.sent[-1].text


@pytest.mark.parametrize("name", ["bbspjikkp"])
async def test_bbspjikkp_administrative_complaints_stay_with_the_business_lead_or_head_admin(
    office: Harness, name: str
) -> None:
    """SOP-7.9-1 item 4: no investigation for administrative complaints."""
    h = office
    complaint = await file_complaint(h)
    with pytest.raises(TransitionRefused) as refused:
        await act(
            h,
            complaint.id,
            Step(
                "refer_technical", "head_admin", "in_investigation", None, {"category": "technical"}
            ),
        )
    assert refused.value.code is Refusal.FORBIDDEN  # item 5: only the business lead refers
    c = await act(
        h,
        complaint.id,
        Step(
            "handle_administrative",
            "head_admin",
            "in_follow_up",
            None,
            {"category": "administrative"},
        ),
    )
    assert (c.status, c.category) == ("in_follow_up", "administrative")
    assert "Kepala Bagian Tata Usaha" in h.email.sent[-1].text
    await act(
        h,
        complaint.id,
        Step("complete_follow_up", "head_admin", "followed_up", None, {"result": RESULT}),
    )
    c = await act(h, complaint.id, Step("close", "secretariat", "closed", None))
    assert c.status == "closed" and RESULT in h.email.sent[-1].text


@pytest.mark.parametrize("name", OFFICES)
async def test_appeal_path_after_closing(office: Harness, name: str) -> None:
    """After the result, BANDING on the complainant's channel: a panel of
    independent members with one chair decides, finally; offices whose SOP has
    no appeal say so."""
    from handlers.appeal_steps import complete_step
    from storage.models import Appeal

    h = office
    profile = h.runtime.profile
    complaint = await file_complaint(h)
    for step in WALKS[name].steps:
        await act(h, complaint.id, step)
    await h.runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "banding@x",
            "budi@example.com",
            f"banding {complaint.tracking_number} hasil tidak sesuai dengan data kami",
        )
    )
    await h.settle()
    if profile.appeal is None:
        assert "Banding tidak dilayani melalui layanan ini" in h.email.sent[-1].text
        return
    assert complaint.tracking_number in h.email.sent[-1].text
    spec = profile.appeal
    # PR-LS-8.1.4 steps 1-2 before the panel where the profile has them.
    for step in spec.steps:
        async with h.runtime.sessions() as s, s.begin():
            appeal = await s.scalar(select(Appeal))
            assert appeal is not None
            await complete_step(
                s,
                profile=profile,
                appeal=appeal,
                step=step.name,
                actor=f"staff:{step.owners[0]}",
                actor_role=step.owners[0],
                note="Isi pokok dan kebenaran banding diidentifikasi.",
                appeal_type=next(iter(spec.types), None),
                subject=next(iter(spec.subjects), None),
            )
    # Members hold a role competent for the subject where the profile says which.
    role = next(iter(spec.subjects.values())).competent[0] if spec.subjects else "panel"
    await add_staff(h.runtime.sessions, dict.fromkeys(("panel_a", "panel_b", "panel_c"), role))
    organiser = profile.appeal.roles[0]
    assert (await only_appeal(h.runtime.sessions)).complaint_id == complaint.id
    for index, member in enumerate(("panel_a", "panel_b", "panel_c")):
        await seat_member(
            h,
            member,
            declaration="Pernyataan ketidakberpihakan ditandatangani.",
            role=organiser,
            chair=index == 0,
        )
    await decide_only_appeal(h, decision="Hasil uji dinyatakan sah.", chair="panel_a")
    decided = h.email.sent[-1]
    assert "Hasil uji dinyatakan sah." in decided.text and complaint.tracking_number in decided.text
    kinds = await assert_only_known_kinds(h.runtime.sessions)
    assert {"appeal_opened", "appeal_panel_member_added", "appeal_decided"} <= kinds
