"""Date fields and the acceptance window of BBSPJIKKP SOP-7.9-1 item 3.

"Waktu penyampaian keluhan dapat dilayani maksimal 3 (tiga) hari kerja dari
tanggal diterimanya laporan akhir Uji Profisiensi (UP) oleh peserta." A
complaint made later is still registered, then rejected by the system with
the reason sent to the complainant on their channel.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from aiohttp.test_utils import TestClient
from babel.dates import format_date
from sqlalchemy import select

from channels.base import ChannelName
from gateway.app import create_app
from gateway.config import load_settings
from gateway.jobs import InProcessJobs
from gateway.runtime import Runtime, build_runtime
from gateway.web.form import validate
from handlers.acceptance import SYSTEM, check_window, window_deadline, window_reason
from handlers.dates import office_today, parse_informal_date
from handlers.profile import (
    PROFILES_DIR,
    FieldKind,
    IntakeField,
    Profile,
    ProfileError,
    load_profile,
)
from handlers.registration import register_complaint
from handlers.texts import Text
from handlers.timestandards import WorkingCalendar
from handlers.validation import check_value, display_value
from storage.migrate import upgrade
from storage.models import Complaint, ComplaintEvent
from tests.custom_profiles import write_with_section
from tests.fakes import RecordingChannel, inbound
from tests.web.conftest import Page, fresh_token

JAKARTA = ZoneInfo("Asia/Jakarta")
TRACKING = re.compile(r"KKP-\d{4}-\d{5}")
PHONE = "+6281234567890"
#: A Wednesday; "kemarin" is Tuesday 17 November 2026.
TODAY = date(2026, 11, 18)

DATE_FIELD = IntakeField(
    key="final_report_date",
    label=Text(id="Tanggal laporan akhir UP diterima", en="Date final PT report received"),
    prompt=Text(id="Kapan?", en="When?"),
    kind=FieldKind.DATE,
)


def kkp() -> Profile:
    return load_profile("bbspjikkp")


def day_text(day: date) -> str:
    """How the reason and summaries write a day: ``12 November 2026``."""
    return format_date(day, "d MMMM y", locale="id")


def expected_reason(reference: date) -> str:
    """The bbspjikkp reason for a report received on ``reference`` (Jakarta, cuti bersama off)."""
    deadline = WorkingCalendar("Asia/Jakarta").working_days_after(reference, 3)
    return (
        "keluhan diajukan lebih dari 3 hari kerja setelah laporan akhir Uji Profisiensi "
        f"diterima ({day_text(reference)}); batas waktunya {day_text(deadline)} "
        "(SOP-7.9-1 butir 3)"
    )


def local_today() -> date:
    return datetime.now(JAKARTA).date()


# ------------------------------------------------------------- reading dates


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("12 November 2026", date(2026, 11, 12)),
        ("12 Nov 2026", date(2026, 11, 12)),
        ("12 Agustus 2026", date(2026, 8, 12)),
        ("3 Mei 2026", date(2026, 5, 3)),
        ("12 Okt 2026", date(2026, 10, 12)),
        ("12 Nopember 2026", date(2026, 11, 12)),
        ("Senin, 16 November 2026", date(2026, 11, 16)),
        ("12/11/2026", date(2026, 11, 12)),  # day first
        ("3/11/2026", date(2026, 11, 3)),  # not 11 March
        ("12-11-2026", date(2026, 11, 12)),
        ("12.11.2026", date(2026, 11, 12)),
        ("12/11/26", date(2026, 11, 12)),
        ("2026-11-12", date(2026, 11, 12)),  # the browser's date input
        ("12 Nov", date(2026, 11, 12)),
        ("12 Desember", date(2025, 12, 12)),  # no year: the past one
        ("kemarin", date(2026, 11, 17)),
        ("kemaren", date(2026, 11, 17)),
        ("hari ini", date(2026, 11, 18)),
        ("3 hari yang lalu", date(2026, 11, 15)),
        ("2 hari lalu", date(2026, 11, 16)),
        ("kemarin lusa", date(2026, 11, 16)),
        ("yesterday", date(2026, 11, 17)),
        ("2 days ago", date(2026, 11, 16)),
        ("tgl 12 November 2026", date(2026, 11, 12)),
        ("laporan kami terima tgl 12 Nov 2026", date(2026, 11, 12)),
        ("diterima kemarin sore", date(2026, 11, 17)),
        ("16 November 2026 pukul 09.00 WIB", date(2026, 11, 16)),
        ("  12   November 2026. ", date(2026, 11, 12)),
    ],
)
def test_dates_written_informally_are_read(written: str, meant: date) -> None:
    assert parse_informal_date(written, TODAY) == meant
    checked = check_value(DATE_FIELD, written, "id", today=TODAY)
    assert (checked.value, checked.error) == (meant.isoformat(), None)


@pytest.mark.parametrize(
    "written",
    [
        "3",  # dateparser alone makes this the 3rd of this month
        "12",
        "2026",
        "12/11",  # a numeric date needs day, month and year
        "1/2/3",
        "31/02/2026",
        "1/1/0001",  # a typing mistake, not a date anyone received a report on
        "November",
        "Senin",
        "3 hari",  # an amount of time, not a date
        "putaran 3 tahun 2026",
        "12 Nov 2026 10",  # which number is the day?
        "antara 10 Nov dan 12 Nov",
        "asdf",
        "Budi Santoso",
        "ya",
    ],
)
def test_text_that_is_not_clearly_a_date_is_refused(written: str) -> None:
    assert parse_informal_date(written, TODAY) is None
    checked = check_value(DATE_FIELD, written, "id", today=TODAY)
    assert checked.value is None
    assert checked.error == (
        "Tanggal laporan akhir UP diterima harus berupa tanggal, misalnya 12 November 2026."
    )
    english = check_value(DATE_FIELD, written, "en", today=TODAY)
    assert (
        english.error
        == "Date final PT report received must be a date, for example 12 November 2026."
    )


@pytest.mark.parametrize("written", ["besok", "tomorrow", "19 November 2026", "12/12/2026"])
def test_a_date_in_the_future_is_refused(written: str) -> None:
    checked = check_value(DATE_FIELD, written, "id", today=TODAY)
    assert checked.value is None
    assert checked.error == (
        "Tanggal laporan akhir UP diterima tidak boleh berupa tanggal yang akan datang."
    )
    # A written-out date is fine once it has come ("besok" never comes).
    later = check_value(DATE_FIELD, written, "id", today=TODAY + timedelta(days=30))
    assert (later.value is not None) == written[0].isdigit()


def test_the_profile_invalid_text_wins_and_values_display_as_people_write_them() -> None:
    field = kkp().field("final_report_date")
    assert field.kind is FieldKind.DATE and field.invalid is not None
    for written in ("3", "besok"):
        checked = check_value(field, written, "en", today=TODAY)
        assert checked.error == field.invalid.en
    assert display_value(field, "2026-11-12", "id") == "12 November 2026"
    assert display_value(field, "2026-08-12", "id") == "12 Agustus 2026"
    assert display_value(field, "2026-08-12", "en") == "12 August 2026"
    assert display_value(kkp().field("problem"), "2026-11-12", "id") == "2026-11-12"


def test_today_is_the_office_day() -> None:
    # 20:00 UTC on 18 November is already 19 November in Jakarta (UTC+7).
    evening = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)
    assert office_today("Asia/Jakarta", evening) == date(2026, 11, 19)
    assert office_today("Europe/London", evening) == date(2026, 11, 18)
    assert (
        check_value(DATE_FIELD, "kemarin", "id", today=office_today("Asia/Jakarta", evening)).value
        == "2026-11-18"
    )


def test_the_web_form_accepts_the_browsers_date() -> None:
    profile = kkp()
    form = {
        "token": "0" * 32,
        "lang": "id",
        "complainant_name": "Budi Santoso",
        "customer_name": "Laboratorium Uji Sinar",
        "problem": "Nilai z kami dihitung dengan nilai acuan yang salah.",
        "final_report_date": "2026-01-05",
        "contact_email": "budi@example.com",
    }
    result = validate(form, profile, "id")
    assert result.ok and result.values["final_report_date"] == "2026-01-05"
    future = (local_today() + timedelta(days=2)).isoformat()
    result = validate({**form, "final_report_date": future}, profile, "id")
    assert not result.ok and "final_report_date" in result.errors
    result = validate({**form, "final_report_date": ""}, profile, "id")
    assert "final_report_date" in result.errors  # required by the profile


# ------------------------------------------------------------ the deadline


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=JAKARTA)


@pytest.mark.parametrize(
    ("received", "last_day", "why"),
    [
        # Wednesday: Thursday, Friday, (weekend), Monday.
        (date(2026, 11, 18), date(2026, 11, 23), "weekend"),
        # Friday before Independence Day (Monday 17 August 2026, a public holiday).
        (date(2026, 8, 14), date(2026, 8, 20), "weekend and public holiday"),
        # Friday 13 February 2026: Monday 16 is cuti bersama, Tuesday 17 Lunar New Year.
        (date(2026, 2, 13), date(2026, 2, 20), "cuti bersama and public holiday"),
        # Report received on a Saturday: Monday, Tuesday, Wednesday.
        (date(2026, 11, 21), date(2026, 11, 25), "received on a weekend"),
    ],
)
def test_three_working_days_after_the_final_report(
    received: date, last_day: date, why: str
) -> None:
    profile = kkp()
    window = profile.acceptance_window
    assert window is not None
    deadline = window_deadline(window, received, profile)
    assert deadline.astimezone(JAKARTA).date() == last_day, why
    assert deadline == datetime.combine(last_day, time.max, tzinfo=JAKARTA)
    complaint = Complaint(
        extra_fields={"final_report_date": received.isoformat()},
        received_at=_at(last_day, 23, 59),
    )
    check = check_window(profile, complaint)
    assert check is not None and not check.late
    complaint.received_at = _at(last_day + timedelta(days=1), 0, 1)
    check = check_window(profile, complaint)
    assert check is not None and check.late
    assert window_reason(window, check, "id") == expected_reason(received)


def test_an_office_that_works_on_cuti_bersama_counts_it() -> None:
    profile = kkp()
    office = profile.office.model_copy(update={"observe_joint_holidays": False})
    working = profile.model_copy(update={"office": office})
    assert working.acceptance_window is not None
    # Monday 16 February 2026 (cuti bersama) is a working day here; 17th is not.
    deadline = window_deadline(working.acceptance_window, date(2026, 2, 13), working)
    assert deadline.astimezone(JAKARTA).date() == date(2026, 2, 19)


def test_reason_in_english_and_no_check_without_a_date() -> None:
    profile = kkp()
    window = profile.acceptance_window
    assert window is not None
    complaint = Complaint(
        extra_fields={"final_report_date": "2026-08-14"}, received_at=_at(date(2026, 9, 1), 9)
    )
    check = check_window(profile, complaint)
    assert check is not None and check.late
    assert window_reason(window, check, "en") == (
        "the complaint was made more than 3 working days after the final proficiency-testing "
        "report was received (14 August 2026); the deadline was 20 August 2026 "
        "(SOP-7.9-1 item 3)"
    )
    assert check_window(profile, Complaint(extra_fields={}, received_at=_at(TODAY, 9))) is None
    assert check_window(load_profile("default"), complaint) is None


# ------------------------------------------------------- chat (WhatsApp)


@dataclass
class Office:
    """A started runtime on the bbspjikkp profile with recording email and WhatsApp."""

    runtime: Runtime
    email: RecordingChannel
    whatsapp: RecordingChannel
    said: int = 0

    async def settle(self) -> None:
        jobs = self.runtime.jobs
        assert isinstance(jobs, InProcessJobs)
        await jobs.idle()

    async def say(self, text: str) -> str:
        """Send ``text`` from Budi's WhatsApp; return the one answer he got."""
        before = len(self.whatsapp.sent)
        self.said += 1
        await self.runtime.accept(inbound(ChannelName.WHATSAPP, f"wamid.{self.said}", PHONE, text))
        await self.settle()
        new = self.whatsapp.sent[before:]
        assert len(new) == 1, [m.text for m in new]
        assert new[0].recipient == PHONE
        return new[0].text


async def kkp_office(tmp_path: Path, **settings: object) -> Office:
    """An :class:`Office` on a migrated database, not started; ``settings`` on top."""
    email = RecordingChannel(ChannelName.EMAIL, interactive=False)
    whatsapp = RecordingChannel(ChannelName.WHATSAPP)
    runtime = await build_runtime(
        load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'kkp.sqlite3'}",
            data_dir=tmp_path,
            sop_profile="bbspjikkp",
            **settings,
        ),
        use_redis=False,
        extra_channels={"email": email, "whatsapp": whatsapp},
    )
    await upgrade(runtime.engine)
    return Office(runtime, email, whatsapp)


@pytest.fixture
async def office(tmp_path: Path) -> AsyncIterator[Office]:
    o = await kkp_office(tmp_path)
    await o.runtime.start(run_channels=False)
    yield o
    await o.runtime.close()


async def the_complaint(o: Office) -> tuple[Complaint, list[ComplaintEvent]]:
    async with o.runtime.sessions() as s:
        [complaint] = list(await s.scalars(select(Complaint)))
        events = list(
            await s.scalars(
                select(ComplaintEvent)
                .where(ComplaintEvent.complaint_id == complaint.id)
                .order_by(ComplaintEvent.id)
            )
        )
    return complaint, events


async def converse_until_the_date(o: Office) -> str:
    """Budi files a complaint on WhatsApp up to the question about the report date."""
    assert "ceritakan masalah" in await o.say("Selamat pagi")
    assert "nama lengkap" in await o.say("Nilai z kami dihitung dengan nilai acuan yang salah.")
    assert "pelanggan atau peserta" in await o.say("Budi Santoso")
    question = await o.say("Laboratorium Uji Sinar")
    assert "laporan akhir Uji Profisiensi (UP) diterima" in question
    return question


async def test_chat_within_the_window_is_acknowledged_and_received(office: Office) -> None:
    o = office
    await converse_until_the_date(o)
    field = o.runtime.profile.field("final_report_date")
    assert field.invalid is not None
    # Not a date, then a date still to come: the field's own explanation, asked again.
    for wrong in ("3", "besok"):
        answer = await o.say(wrong)
        assert field.invalid.id in answer and field.prompt.id in answer
    summary = await o.say("kemarin")
    yesterday = local_today() - timedelta(days=1)
    assert f"4. Tanggal laporan akhir UP diterima: {day_text(yesterday)}" in summary
    ack = await o.say("ya")

    complaint, events = await the_complaint(o)
    assert complaint.status == "received"
    assert complaint.extra_fields == {"final_report_date": yesterday.isoformat()}
    assert complaint.tracking_number in ack
    assert "Pengaduan Anda telah kami catat" in ack
    # SOP-7.9-1 sets no follow-up time: none is promised, item 10's progress reports are.
    assert "hari kerja" not in ack and "paling lambat" not in ack
    assert "akan melaporkan perkembangan penanganannya kepada Anda" in ack
    assert [e.kind for e in events] == ["registered"]
    assert o.email.sent == []


async def test_chat_outside_the_window_is_registered_then_rejected(office: Office) -> None:
    o = office
    await converse_until_the_date(o)
    reference = local_today() - timedelta(days=30)
    summary = await o.say(reference.strftime("%d/%m/%Y"))
    assert day_text(reference) in summary
    notice = await o.say("ya")

    complaint, events = await the_complaint(o)
    reason = expected_reason(reference)
    # Kept on record, rejected, not deleted.
    assert TRACKING.fullmatch(complaint.tracking_number)
    assert complaint.status == "rejected" and complaint.step_due_at is None
    assert complaint.extra_fields == {"final_report_date": reference.isoformat()}
    assert complaint.details is not None
    assert complaint.details["reject"]["reason"] == reason
    assert complaint.details["reject"]["by"] == "system"
    assert [e.kind for e in events] == ["registered", "transition", "complainant_notified"]
    registered, transition, notified = events
    assert registered.actor == "channel:whatsapp" and registered.to_status == "received"
    assert (transition.actor, transition.from_status, transition.to_status) == (
        "system",
        "received",
        "rejected",
    )
    assert transition.note == reason and transition.data["transition"] == "reject"
    assert notified.actor == "system"

    # What Budi got on WhatsApp: the rejection with the number and the reason,
    # and no acknowledgement promising a follow-up.
    assert notice == (
        f"Mohon maaf, keluhan {complaint.tracking_number} tidak dapat kami layani: {reason}"
    )
    assert notified.note == notice
    assert not any("ditindaklanjuti" in text for text in o.whatsapp.texts())
    assert o.email.sent == []

    # Asking about it tells the status; the complaint takes no more messages.
    status = await o.say(f"status {complaint.tracking_number}")
    assert "Ditolak" in status


async def test_email_outside_the_window_gets_only_the_rejection(office: Office) -> None:
    o = office
    reference = local_today() - timedelta(days=20)
    text = (
        "Nama pengadu: Budi Santoso\n"
        "Nama pelanggan/peserta: Laboratorium Uji Sinar\n"
        "Masalah yang diadukan: Nilai z kami dihitung dengan nilai acuan yang salah.\n"
        f"Tanggal laporan: {day_text(reference)}"
    )
    await o.runtime.accept(inbound(ChannelName.EMAIL, "m1@x", "budi@example.com", text))
    await o.settle()
    complaint, _ = await the_complaint(o)
    assert complaint.status == "rejected"
    [message] = o.email.sent
    assert message.recipient == "budi@example.com"
    assert complaint.tracking_number in message.text
    assert expected_reason(reference) in message.text
    assert message.subject == f"Ditolak [{complaint.tracking_number}]"


async def test_registering_on_a_windowed_profile_needs_a_writer(office: Office) -> None:
    async with office.runtime.sessions() as s:
        with pytest.raises(ValueError, match="acceptance_window"):
            await register_complaint(
                s,
                profile=office.runtime.profile,
                contact_id=1,
                channel="manual",
                contact_address=PHONE,
                values={"complainant_name": "A", "customer_name": "B", "problem": "C"},
                received_at=datetime.now(UTC),
                received_by="staff:x",
                language="id",
            )
    assert SYSTEM.label == "system" and SYSTEM.role == "admin"


# ----------------------------------------------------------- the web form


@pytest.fixture
async def web(tmp_path: Path, aiohttp_client: Any) -> tuple[TestClient[Any, Any], Office]:
    o = await kkp_office(tmp_path, form_min_seconds=0)  # the form is sent at once
    app = create_app(o.runtime.settings, runtime=o.runtime, run_channels=False)
    client: TestClient[Any, Any] = await aiohttp_client(app)
    return client, o


def kkp_form(token: str, report_date: str) -> dict[str, str]:
    return {
        "token": token,
        "lang": "id",
        "complainant_name": "Budi Santoso",
        "customer_name": "Laboratorium Uji Sinar",
        "problem": "Nilai z kami dihitung dengan nilai acuan yang salah.",
        "final_report_date": report_date,
        "contact_email": "budi@example.com",
    }


async def submit(client: TestClient[Any, Any], report_date: str) -> Page:
    token = await fresh_token(client)
    response = await client.post("/", data=kkp_form(token, report_date), allow_redirects=False)
    assert response.status == 303, await response.text()
    page = await client.get(response.headers["Location"])
    assert page.status == 200
    return Page(await page.text())


async def test_the_form_asks_for_the_date_with_a_date_input(
    web: tuple[TestClient[Any, Any], Office],
) -> None:
    client, _ = web
    page = Page(await (await client.get("/")).text())
    [control] = page.find("input", name="final_report_date")
    assert control["type"] == "date"
    assert "Tanggal laporan akhir UP diterima" in page.text


async def test_web_form_within_the_window_promises_no_deadline_the_sop_lacks(
    web: tuple[TestClient[Any, Any], Office],
) -> None:
    client, o = web
    page = await submit(client, local_today().isoformat())
    complaint, _ = await the_complaint(o)
    assert complaint.status == "received"
    assert "Pengaduan diterima" in page.text and "akan ditindaklanjuti" not in page.text
    assert "akan melaporkan perkembangan penanganannya kepada Anda" in page.text
    assert day_text(local_today()) in page.text
    await o.settle()
    [ack] = o.email.sent
    assert complaint.tracking_number in ack.text and "hari kerja" not in ack.text


async def test_web_form_outside_the_window_shows_the_rejection(
    web: tuple[TestClient[Any, Any], Office],
) -> None:
    client, o = web
    reference = local_today() - timedelta(days=30)
    page = await submit(client, reference.isoformat())
    complaint, events = await the_complaint(o)
    reason = expected_reason(reference)
    assert complaint.status == "rejected"
    assert [(e.kind, e.actor) for e in events] == [
        ("registered", "channel:web"),
        ("transition", "system"),
        ("complainant_notified", "system"),
    ]
    # The page: the number and the reason, no promise of a follow-up.
    assert page.find("p", **{"class": "tracking-number"})
    assert complaint.tracking_number in page.text
    assert "Pengaduan tidak dapat dilayani" in page.text
    assert f"Alasan: {reason}" in page.text
    assert "Keputusan ini juga kami kirimkan ke kontak yang Anda berikan." in page.text
    assert "ditindaklanjuti" not in page.text and "Pengaduan diterima" not in page.text
    assert day_text(reference) in page.text  # what was recorded
    # The email: the rejection notice only.
    await o.settle()
    [notice] = o.email.sent
    assert notice.recipient == "budi@example.com"
    assert notice.text == (
        f"Mohon maaf, keluhan {complaint.tracking_number} tidak dapat kami layani: {reason}"
    )
    assert o.whatsapp.sent == []


# ------------------------------------------------------- profile validation


def _kkp_with(tmp_path: Path, **window: Any) -> Path:
    return write_with_section(tmp_path, "bbspjikkp", "acceptance_window", window, "kkp-broken.yaml")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"field": "report_day"},
            "acceptance_window.field names unknown intake field 'report_day'",
        ),
        (
            {"field": "customer_name"},
            "acceptance_window.field 'customer_name' must be an intake field of kind date, "
            "not text",
        ),
        (
            {"transition": "dismiss"},
            "acceptance_window.transition names unknown transition 'dismiss'",
        ),
        (
            {"transition": "close"},
            "acceptance_window.transition 'close' must start from the initial state 'received'",
        ),
        (
            {"transition": "handle_administrative"},
            "acceptance_window.transition 'handle_administrative' must require reason",
        ),
        ({"reason": {"id": "terlambat sejak {tanggal}"}}, "acceptance_window.reason"),
        ({"within": {"amount": 3, "unit": "fortnights"}}, "acceptance_window.within.unit"),
        ({"extra": 1}, "acceptance_window.extra"),
    ],
    ids=[
        "unknown-field",
        "not-a-date-field",
        "unknown-transition",
        "not-from-initial-state",
        "needs-data-the-system-lacks",
        "unknown-placeholder",
        "unknown-unit",
        "unknown-key",
    ],
)
def test_a_broken_acceptance_window_names_the_key(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    path = _kkp_with(tmp_path, **change)
    with pytest.raises(ProfileError) as error:
        load_profile(str(path))
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_a_window_needs_a_notice_with_the_reason(tmp_path: Path) -> None:
    data = yaml.safe_load((PROFILES_DIR / "bbspjikkp.yaml").read_text(encoding="utf-8"))
    [reject] = [t for t in data["workflow"]["transitions"] if t["name"] == "reject"]
    reject["notify"] = {"id": "Keluhan {tracking} ditolak."}
    path = tmp_path / "kkp-silent.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProfileError, match=r"notify text needs \{reason\}"):
        load_profile(str(path))


def test_a_window_transition_must_be_open_to_every_category(tmp_path: Path) -> None:
    """A new complaint has no category yet, so the system could not take it."""
    data = yaml.safe_load((PROFILES_DIR / "bbspjikkp.yaml").read_text(encoding="utf-8"))
    [reject] = [t for t in data["workflow"]["transitions"] if t["name"] == "reject"]
    reject["categories"] = ["technical"]
    path = tmp_path / "kkp-technical.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProfileError, match="categories: technical"):
        load_profile(str(path))
