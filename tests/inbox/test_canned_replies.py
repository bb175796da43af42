"""Canned replies: the profile key is validated at load, the fill function
fills every variable, and the complaint page's reply box is filled on the
server with ``?reply=<id>`` (no script needed)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from channels.base import ChannelName
from handlers.canned_replies import CannedReply, fill, variables_in
from handlers.canned_reply_values import complaint_values
from handlers.profile import PROFILES_DIR, ProfileError, load_profile
from handlers.texts import Text
from storage.models import Complaint
from tests.inbox.conftest import Site
from tests.inbox.test_complaint_page import file_complaint, load

SHIPPED = sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))
TEXTAREA_RE = re.compile(r'<textarea id="reply-text"[^>]*>(.*?)</textarea>', re.S)


def reply(text_id: str, text_en: str | None = None, reply_id: str = "ack") -> CannedReply:
    return CannedReply(
        id=reply_id, label=Text(id="Label", en="Label"), text=Text(id=text_id, en=text_en)
    )


def write_profile(tmp_path: Path, replies: list[dict[str, Any]]) -> Path:
    data = yaml.safe_load((PROFILES_DIR / "default.yaml").read_text(encoding="utf-8"))
    data["canned_replies"] = replies
    path = tmp_path / "office.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# ------------------------------------------------------------- the profile key


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_profile_has_bilingual_replies_using_known_variables(name: str) -> None:
    profile = load_profile(name)
    assert len(profile.canned_replies) >= 3
    ids = [r.id for r in profile.canned_replies]
    assert "received" in ids and ids[-1] in ("result_sent", "response")
    for r in profile.canned_replies:
        assert r.text.en and r.label.en and r.source
        assert "tracking_number" in variables_in(r.text.id)
        assert set(variables_in(r.text.id)) == set(variables_in(r.text.en))


@pytest.mark.parametrize("name", ["its", "bbspjikkp"])
def test_profiles_without_time_standards_promise_no_date(name: str) -> None:
    """SOP-7.9-1 and PM-BAPKM.AP.1-24 set no time standard: no reply names a due date."""
    for r in load_profile(name).canned_replies:
        assert "due_date" not in variables_in(r.text.id)


def test_an_unknown_variable_is_a_profile_error_naming_the_reply(tmp_path: Path) -> None:
    path = write_profile(
        tmp_path,
        [
            {
                "id": "greeting",
                "label": {"id": "Salam", "en": "Greeting"},
                "text": {"id": "Halo {name}", "en": "Hello {nama_lengkap}"},
            }
        ],
    )
    with pytest.raises(ProfileError) as raised:
        load_profile(str(path))
    message = str(raised.value)
    assert str(path) in message and "canned_replies" in message
    assert "'greeting'" in message and "{nama_lengkap}" in message and "text.en" in message


@pytest.mark.parametrize(
    "text",
    ["Nomor {tracking_number", "Nomor } saja", "{name!r}", "{due_date:>20}", "{0}", "{}"],
)
def test_malformed_or_formatted_placeholders_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="canned reply 'ack'"):
        reply(text)


def test_two_replies_with_one_id_are_refused(tmp_path: Path) -> None:
    one = {"id": "ack", "label": {"id": "A"}, "text": {"id": "Nomor {tracking_number}"}}
    with pytest.raises(ProfileError, match="canned reply 'ack' is listed twice"):
        load_profile(str(write_profile(tmp_path, [one, one])))


def test_literal_braces_are_written_doubled() -> None:
    filled = fill(reply("Kode {{A}} untuk {tracking_number}"), "id", {"tracking_number": "X-1"})
    assert filled.text == "Kode {A} untuk X-1"


# ---------------------------------------------------------------- filling in


def test_fill_replaces_every_variable_in_the_language_asked() -> None:
    r = reply(
        "Yth. {name}, {tracking_number} ({status}) selesai {due_date}. {office}",
        "Dear {name}, {tracking_number} ({status}) due {due_date}. {office}",
    )
    values = {
        "tracking_number": "ADU-2026-00042",
        "name": "Siti Aminah",
        "status": "Diterima",
        "due_date": "30-12-2026 16:00 WIB",
        "office": "BBSPJIKKP",
    }
    filled = fill(r, "id", values)
    assert filled.text == (
        "Yth. Siti Aminah, ADU-2026-00042 (Diterima) selesai 30-12-2026 16:00 WIB. BBSPJIKKP"
    )
    assert filled.missing == ()
    assert fill(r, "en", values).text.startswith("Dear Siti Aminah, ADU-2026-00042")
    # No English text: the Indonesian one is used.
    assert fill(reply("Nomor {tracking_number}"), "en", values).text == "Nomor ADU-2026-00042"


def test_a_missing_value_is_shown_as_its_label_and_listed() -> None:
    r = reply("Selesai {due_date}, nomor {tracking_number}; {due_date}", "Due {due_date}")
    filled = fill(r, "id", {"tracking_number": "ADU-2026-00001", "due_date": None})
    assert filled.text == "Selesai [tanggal tenggat], nomor ADU-2026-00001; [tanggal tenggat]"
    assert filled.missing == ("due_date",)
    assert fill(r, "en", {}).text == "Due [due date]"


def test_values_with_braces_are_inserted_as_they_are() -> None:
    filled = fill(reply("Yth. {name}"), "id", {"name": "{office} {0}"})
    assert filled.text == "Yth. {office} {0}"


def test_complaint_values_use_office_time_and_the_state_label() -> None:
    profile = load_profile("default")
    complaint = Complaint(
        tracking_number="ADU-2026-00042",
        complainant_name="Siti Aminah",
        status="in_follow_up",
        step_due_at=datetime(2026, 12, 30, 9, 0, tzinfo=UTC),
    )
    values = complaint_values(profile, complaint, "id")
    assert values == {
        "tracking_number": "ADU-2026-00042",
        "name": "Siti Aminah",
        "due_date": "30-12-2026 16:00 WIB",
        "office": profile.office.name.id,
        "status": "Dalam tindak lanjut",
    }
    complaint.step_due_at = None
    english = complaint_values(profile, complaint, "en")
    assert english["due_date"] is None and english["status"] == "In follow-up"


# ------------------------------------------------------------ the reply box


def textarea(page: str) -> str:
    found = TEXTAREA_RE.search(page)
    assert found is not None
    return html.unescape(found.group(1))


async def test_reply_parameter_fills_the_reply_box_on_the_server(site: Site) -> None:
    await site.sign_in("sri")
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    page = await (await site.client.get(f"/inbox/complaints/{tracking}")).text()
    assert textarea(page) == ""
    assert 'name="reply"' in page and 'value="more_data"' in page
    assert "Balasan siap pakai" in page

    response = await site.client.get(f"/inbox/complaints/{tracking}?reply=received")
    assert response.status == 200
    page = await response.text()
    office = load_profile("default").office.name.id
    assert textarea(page) == (
        f"Yth. Budi Santoso, keluhan Anda telah kami terima dan dicatat dengan nomor "
        f"{tracking}. Kami akan menyampaikan perkembangan penanganannya kepada Anda. "
        f"Terima kasih.\n{office}"
    )
    assert '<option value="received" data-text=' in page and " selected>" in page
    assert '<p class="cp-warn" data-canned-missing hidden></p>' in page


async def test_a_due_date_unknown_for_the_complaint_is_pointed_out(site: Site) -> None:
    await site.sign_in("sri")
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    complaint = await load(site, tracking)
    async with site.h.runtime.sessions() as s, s.begin():
        stored = await s.get(Complaint, complaint.id)
        assert stored is not None
        stored.step_due_at = None
    page = await (await site.client.get(f"/inbox/complaints/{tracking}?reply=progress")).text()
    assert "[tanggal tenggat]" in textarea(page)
    assert "isi sendiri sebelum mengirim: tanggal tenggat." in page


async def test_an_unknown_reply_id_changes_nothing_and_says_so(site: Site) -> None:
    await site.sign_in("sri")
    tracking = await file_complaint(site, ChannelName.EMAIL, "budi@example.com")
    response = await site.client.get(f"/inbox/complaints/{tracking}?reply=<b>nope</b>")
    assert response.status == 200
    page = await response.text()
    assert textarea(page) == ""
    assert "Tidak ada balasan siap pakai “&lt;b&gt;nope&lt;/b&gt;”" in page
    assert "<b>nope</b>" not in page
