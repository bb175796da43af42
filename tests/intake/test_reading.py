"""Reading free text into fields (handlers/intake/reading.py and the modules beneath it).

The conversation corpus (tests/conversation/) measures the whole engine; these
pin down single rules of docs/intake.md with small examples of their own.
"""

from __future__ import annotations

import pytest

from gateway.inbox.complaint_view import field_views
from handlers.intake.answers import read_answer
from handlers.intake.corrections import find_corrections
from handlers.intake.names import clean_person, person_from_profile
from handlers.intake.organisations import fix_org_case, means_self
from handlers.intake.reading import OpeningKind, read_text
from handlers.profile import Profile
from storage.models import Complaint


@pytest.mark.parametrize(
    ("typed", "name", "title"),
    [
        ("Dr. Ir. H. Ahmad Fauzi, M.T.", "Ahmad Fauzi", "Dr. Ir. H., M.T."),
        ("bu rina", "Rina", "Bu"),
        ("drg. Maya Sari, M.Kes.", "Maya Sari", "drg., M.Kes."),
        ("SUPARMAN", "Suparman", None),
        ("Muhammad Rizki A.", "Muhammad Rizki A.", None),
        ("I Gede Made Wirawan, S.T.", "I Gede Made Wirawan", "S.T."),
        ("Budi 0812-3456-7890", "Budi", None),
    ],
)
def test_names_lose_titles_phone_numbers_and_shouting(
    typed: str, name: str, title: str | None
) -> None:
    person = clean_person(typed)
    assert person is not None and (person.name, person.title) == (name, title)


@pytest.mark.parametrize(
    ("display", "offered"),
    [("Rina 🌸", "Rina"), ("HP Samsung", None), ("Toko Berkah Jaya", None), ("✨", None)],
)
def test_only_a_person_like_profile_name_is_offered(display: str, offered: str | None) -> None:
    person = person_from_profile(display)
    assert (person.name if person else None) == offered


def test_organisations_typed_in_lower_case_get_their_capitals() -> None:
    assert fix_org_case("pt sinar jaya abadi") == "PT Sinar Jaya Abadi"
    assert fix_org_case("dinas pertanian dan pangan") == "Dinas Pertanian dan Pangan"
    assert fix_org_case("smkn 2 semarang") == "SMKN 2 Semarang"
    assert fix_org_case("KUD TANI MAJU") == "KUD TANI MAJU"


@pytest.mark.parametrize(
    "text", ["saya sendiri", "pribadi", "untuk diri sendiri", "for myself", "kulo piyambak"]
)
def test_on_my_own_behalf(text: str) -> None:
    assert means_self(text)


def test_a_chat_opening_gives_name_title_organisation_and_the_bare_problem(
    profile: Profile,
) -> None:
    reading = read_text(
        "Selamat pagi pak, perkenalkan saya Hj. Wulan Sari, S.E., bendahara Koperasi Wanita "
        "Melati. Mau komplain soal invoice pengujian kami yang ditagih dua kali. Terima kasih 🙏",
        profile.intake.fields,
    )
    assert reading.values == {
        "complainant_name": "Wulan Sari",
        "customer_name": "Koperasi Wanita Melati",
        "problem": "invoice pengujian kami yang ditagih dua kali.",
    }
    assert reading.title == "Hj., S.E."
    assert reading.kind is OpeningKind.CONTENT


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("P", OpeningKind.GREETING),
        ("assalamualaikum min", OpeningKind.GREETING),
        ("permisi kak, mau ngadu nih", OpeningKind.INTENT),
        ("hello, I'd like to make a complaint", OpeningKind.INTENT),
        ("pelayanannya lambat banget", OpeningKind.VAGUE),
        ("mau komplain soal sertifikat", OpeningKind.VAGUE),
        ("saya Budi dari PT Sinar Jaya", OpeningKind.INTRO),
        ("sampel kami rusak waktu dikembalikan", OpeningKind.CONTENT),
    ],
)
def test_kinds_of_opening(profile: Profile, text: str, kind: OpeningKind) -> None:
    assert read_text(text, profile.intake.fields).kind is kind


def test_a_formal_letter_gives_the_signer_not_the_shared_mailbox(profile: Profile) -> None:
    letter = (
        "Kepada Yth.\nKepala Balai\ndi Tempat\n\nPerihal: Keluhan\n\nDengan hormat,\n\n"
        "Yang bertanda tangan di bawah ini:\nNama     : Drs. Yakobus Aseng, M.Si.\n"
        "Jabatan  : Kepala Laboratorium\nInstansi : Dinas Lingkungan Hidup Kota Singkawang\n\n"
        "dengan ini menyampaikan keluhan sebagai berikut:\n\n"
        "Sertifikat kalibrasi pH meter kami belum diterima sejak Maret.\n\n"
        "Demikian surat ini kami sampaikan.\n\nHormat kami,\n\nDrs. Yakobus Aseng, M.Si.\n"
    )
    reading = read_text(letter, profile.intake.fields, letter=True)
    assert reading.values == {
        "complainant_name": "Yakobus Aseng",
        "customer_name": "Dinas Lingkungan Hidup Kota Singkawang",
        "problem": "Sertifikat kalibrasi pH meter kami belum diterima sejak Maret.",
    }
    assert reading.title == "Drs., M.Si."


def test_a_name_answer_that_names_the_organisation_fills_both(profile: Profile) -> None:
    answer = read_answer("complainant_name", "Agus — PT Sumber Rejeki", profile.intake.fields)
    assert answer.values == {"complainant_name": "Agus", "customer_name": "PT Sumber Rejeki"}
    relative = read_answer("customer_name", "punya adik saya, Dimas Pratama", profile.intake.fields)
    assert relative.values == {"customer_name": "Dimas Pratama"}
    pointing = read_answer("customer_name", "untuk kantor kami", profile.intake.fields)
    assert pointing.values == {} and not pointing.self_customer


@pytest.mark.parametrize(
    ("text", "corrected"),
    [
        ("bukan PT Maju, tapi CV Maju", {"customer_name": "CV Maju"}),
        ("namanya salah, harusnya Budiman", {"complainant_name": "Budiman"}),
        ("the company is PT Cahaya Abadi", {"customer_name": "PT Cahaya Abadi"}),
        (
            "Nama saya Yosef Bria, perusahaannya CV Flobamora Kriya",
            {"complainant_name": "Yosef Bria", "customer_name": "CV Flobamora Kriya"},
        ),
    ],
)
def test_corrections_in_plain_words(text: str, corrected: dict[str, str]) -> None:
    values = {"complainant_name": "Budi", "customer_name": "PT Maju", "problem": "x" * 20}
    found = {c.field: c.value for c in find_corrections(text, values)}
    assert found == corrected


def test_staff_see_the_title_beside_the_name(profile: Profile) -> None:
    complaint = Complaint(
        complainant_name="Ratna Sari Dewi",
        complainant_title="Dr., M.Si.",
        customer_name="Labkesda Kalbar",
        problem="Tagihan belum tercatat lunas.",
        extra_fields={},
    )
    [name, customer, _problem] = field_views(profile, complaint, "id")
    assert name["display"] == "Ratna Sari Dewi (Dr., M.Si.)"
    assert name["value"] == "Ratna Sari Dewi"  # what staff correct stays the name alone
    assert customer["display"] == "Labkesda Kalbar"
