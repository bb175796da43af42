"""``Profile.status_label``: the one display name of a status, per language."""

from __future__ import annotations

import pytest

from handlers.i18n import LANGUAGES
from handlers.profile import PROFILES_DIR, STATUS_NAMES, Profile, load_profile
from storage.models import ComplaintStatus
from tests.custom_profiles import without_workflow

SHIPPED = sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))

#: The built-in names (aduan.po), used when the profile's workflow lacks the state.
BUILT_IN = {
    ("received", "id"): "Diterima",
    ("received", "en"): "Received",
    ("verified", "id"): "Diverifikasi",
    ("verified", "en"): "Verified",
    ("rejected", "id"): "Ditolak",
    ("rejected", "en"): "Rejected",
    ("in_follow_up", "id"): "Dalam tindak lanjut",
    ("in_follow_up", "en"): "In follow-up",
    ("capa_recorded", "id"): "Tindakan koreksi dicatat",
    ("capa_recorded", "en"): "Corrective action recorded",
    ("result_verified", "id"): "Hasil diverifikasi",
    ("result_verified", "en"): "Result verified",
    ("closed", "id"): "Selesai",
    ("closed", "en"): "Closed",
    ("archived", "id"): "Diarsipkan",
    ("archived", "en"): "Archived",
}


def test_the_table_covers_every_built_in_status_and_language() -> None:
    assert set(BUILT_IN) == {(s.value, lang) for s in ComplaintStatus for lang in LANGUAGES}
    assert set(STATUS_NAMES) == set(ComplaintStatus)


@pytest.mark.parametrize(("status", "lang"), sorted(BUILT_IN))
def test_a_profile_without_a_workflow_names_the_default_steps(status: str, lang: str) -> None:
    # It gets the default workflow, whose steps carry the built-in names.
    profile = Profile.model_validate(without_workflow())
    assert status in profile.workflow.states
    assert profile.status_label(status, lang) == BUILT_IN[status, lang]


@pytest.mark.parametrize("name", SHIPPED)
def test_every_workflow_state_in_every_language_is_the_office_name(name: str) -> None:
    profile = load_profile(name)
    seen = 0
    for status, state in profile.workflow.states.items():
        for lang in LANGUAGES:
            assert profile.status_label(status, lang) == state.label.get(lang)
            seen += 1
    assert seen == 2 * len(profile.workflow.states) > 0


@pytest.mark.parametrize(("status", "lang"), sorted(BUILT_IN))
def test_a_built_in_status_the_workflow_lacks_gets_the_built_in_name(
    status: str, lang: str
) -> None:
    profile = load_profile("default")
    states = {k: v for k, v in profile.workflow.states.items() if k != status}
    narrowed = profile.model_copy(
        update={"workflow": profile.workflow.model_copy(update={"states": states})}
    )
    assert narrowed.status_label(status, lang) == BUILT_IN[status, lang]


@pytest.mark.parametrize("lang", [*LANGUAGES, "fr", ""])
@pytest.mark.parametrize(
    "profile",
    [load_profile("default"), load_profile("its"), Profile.model_validate(without_workflow())],
)
def test_an_unknown_status_is_shown_as_itself(profile: Profile, lang: str) -> None:
    assert profile.status_label("paused_by_office", lang) == "paused_by_office"
    assert profile.status_label("", lang) == ""


def test_the_office_name_wins_over_the_built_in_name() -> None:
    profile = load_profile("default")
    for status in set(profile.workflow.states) & {s.value for s in ComplaintStatus}:
        office = profile.workflow.states[status].label
        assert profile.status_label(status, "id") == office.id
        assert profile.status_label(status, "en") == (office.en or office.id)
