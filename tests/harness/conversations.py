"""Shared conversation tables, played over every messaging channel's tests.

:data:`FIRST_COMPLAINT` is the complete intake every channel must carry: an
opening, the problem, who complains, for whom, the summary confirmed, the
tracking number back (docs/intake.md; SOP-7.9-1 item 2 lists the mandated
fields). :data:`UNDERSTANDING` is one conversation per kind of writing the
bot must not get wrong (docs/intake.md): an opening that only greets, a burst
sent before any question, an introduction with titles and a position, a name
answer that names the organisation, a correction in plain words at the
summary, a vague opening, and "for myself".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.harness.conversation import ASKS, Turn

PROBLEM = "laporan hasil uji terlambat dua minggu"


def first_complaint(opening: str = "halo", *, profile_name: bool = False) -> tuple[Turn, ...]:
    """The complete first complaint, opened with ``opening`` (a greeting or ``/start``).

    With ``profile_name`` the channel knows the sender's profile name (Budi
    Santoso): the question for the name offers it as a suggestion, a second
    question ("Apakah Budi Santoso?").
    """
    ask_name = (
        Turn(
            PROBLEM,
            asks=(ASKS["complainant_name"], "Budi Santoso"),
            never=(ASKS["problem"],),
            questions=2,
        )
        if profile_name
        else Turn(PROBLEM, asks=(ASKS["complainant_name"],), never=(ASKS["problem"],), questions=1)
    )
    return (
        Turn(opening, asks=(ASKS["greeting"], ASKS["problem"])),
        ask_name,
        Turn(
            "Budi Santoso",
            asks=(ASKS["customer_name"],),
            never=(ASKS["problem"], ASKS["complainant_name"]),
            questions=1,
        ),
        Turn(
            "PT Sinar Jaya",
            asks=("1. Nama pengadu: Budi Santoso", "PT Sinar Jaya", PROBLEM, ASKS["summary"]),
        ),
        Turn("ya", tracking=True),
    )


FIRST_COMPLAINT = first_complaint()

#: The complaint :data:`FIRST_COMPLAINT` registers.
FIRST_COMPLAINT_FIELDS = {
    "complainant_name": "Budi Santoso",
    "customer_name": "PT Sinar Jaya",
    "problem": PROBLEM,
}


@dataclass(frozen=True)
class IntakeCase:
    """One conversation: its rows, the complaint it registers (``expected``), how
    many replies may ask about each subject (``asked``, keys of ``ASKS``) and
    settings it runs with."""

    name: str
    turns: tuple[Turn, ...]
    expected: Mapping[str, str]
    asked: Mapping[str, int] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)


def _then(*texts: str) -> tuple[Turn, ...]:
    """Rows each answered by one reply; the last one is answered with the tracking number."""
    *middle, last = texts
    return (*(Turn(text) for text in middle), Turn(last, tracking=True))


UNDERSTANDING = [
    IntakeCase(
        "an_opening_that_only_greets_is_never_the_problem",
        (
            Turn("slmt siang bu, maaf mau tanya", asks=(ASKS["problem"],)),
            *_then(
                "kartu keluarga saya sdh 3 minggu blm dicetak padahal berkas lengkap",
                "Wagiyo",
                "untuk saya sendiri",
                "iya",
            ),
        ),
        {
            "complainant_name": "Wagiyo",
            "customer_name": "Wagiyo",
            "problem": "kartu keluarga saya sdh 3 minggu blm dicetak padahal berkas lengkap",
        },
        asked={"problem": 1, "complainant_name": 1},
    ),
    IntakeCase(
        # The quiet gap is short here to keep the test fast; the burst test in
        # the Twilio folder uses the profile's own gap.
        "a_burst_before_any_question_is_read_as_one_turn",
        (
            Turn(
                (
                    "assalamualaikum",
                    "sy mau lapor",
                    "timbangan yg kami kalibrasi bulan lalu",
                    "sertifikatnya salah nomor seri",
                ),
                asks=(ASKS["complainant_name"],),
            ),
            *_then("Dedi Kurniawan dari UD Sinar Timbang", "ya"),
        ),
        {
            "complainant_name": "Dedi Kurniawan",
            "customer_name": "UD Sinar Timbang",
            "problem": "timbangan yg kami kalibrasi bulan lalu\nsertifikatnya salah nomor seri",
        },
        asked={"customer_name": 0, "problem": 0},
        settings={"turn_gap_seconds": 0.6},
    ),
    IntakeCase(
        "titles_and_a_position_are_read_out_of_an_introduction",
        (
            Turn(
                "Selamat pagi. Perkenalkan, saya Dr. Ir. Hj. Ratna Sari Dewi, M.Si., kepala "
                "Laboratorium Kesehatan Daerah Kabupaten Semarang. Tagihan uji profisiensi kami "
                "sudah dibayar tanggal 3 Mei tapi di sistem masih tertulis belum lunas.",
                asks=(ASKS["summary"],),
            ),
            *_then("ya"),
        ),
        {
            "complainant_name": "Ratna Sari Dewi",
            "complainant_title": "Dr. Ir. Hj., M.Si.",
            "customer_name": "Laboratorium Kesehatan Daerah Kabupaten Semarang",
            "problem": "Tagihan uji profisiensi kami sudah dibayar tanggal 3 Mei tapi di sistem "
            "masih tertulis belum lunas.",
        },
    ),
    IntakeCase(
        "a_name_answer_that_names_the_organisation_fills_both",
        _then(
            "vaksin di lemari pendingin kami rusak krn termometernya salah kalibrasi",
            "Rina Marlina, dari Puskesmas Sukamaju",
            "betul",
        ),
        {
            "complainant_name": "Rina Marlina",
            "customer_name": "Puskesmas Sukamaju",
            "problem": "vaksin di lemari pendingin kami rusak krn termometernya salah kalibrasi",
        },
        asked={"customer_name": 0},
    ),
    IntakeCase(
        "a_correction_in_plain_words_at_the_summary_is_understood",
        (
            Turn(
                "sy Yohanes dari CV Tenun Ikat Sikka, sertifikat SNI kain kami blm terbit "
                "sdh 2 bulan"
            ),
            Turn(
                "nama perusahaannya keliru, seharusnya CV Tenun Ikat Sikka Indah",
                asks=("CV Tenun Ikat Sikka Indah", ASKS["summary"]),
            ),
            *_then("ya"),
        ),
        {
            "complainant_name": "Yohanes",
            "customer_name": "CV Tenun Ikat Sikka Indah",
            "problem": "sertifikat SNI kain kami blm terbit sdh 2 bulan",
        },
    ),
    IntakeCase(
        "a_vague_opening_gets_one_question_about_what_happened",
        (
            Turn("pelayanan di loket parah bgt", asks=(ASKS["clarify"],)),
            *_then(
                "sy disuruh bolak balik 4x cuma buat legalisir 1 lembar ijazah",
                "Fajar Nugroho",
                "untuk diri sendiri",
                "ya",
            ),
        ),
        {
            "complainant_name": "Fajar Nugroho",
            "customer_name": "Fajar Nugroho",
            "problem": "pelayanan di loket parah bgt\n"
            "sy disuruh bolak balik 4x cuma buat legalisir 1 lembar ijazah",
        },
        asked={"clarify": 1, "problem": 0},
    ),
    IntakeCase(
        # Nothing typed is lost: the thread keeps the raw messages as sent.
        "for_myself_makes_the_complainant_the_customer_and_leaves_no_fragments",
        _then(
            "halo, nama saya Sri Rahayu, untuk diri sendiri, mau komplain: akta kelahiran "
            "anak saya salah tulis tanggal lahir",
            "ya",
        ),
        {
            "complainant_name": "Sri Rahayu",
            "customer_name": "Sri Rahayu",
            "problem": "akta kelahiran anak saya salah tulis tanggal lahir",
        },
        asked={"customer_name": 0},
    ),
]


#: Budi's complaint by email: his first mail names him (From) and the problem,
#: so one reply asks only for whom; answering it registers the complaint.
BUDI_BY_EMAIL = (
    Turn(
        "Saya mau komplain, laporan hasil uji kami terlambat dua minggu",
        asks=("Nama pelanggan/peserta",),
        never=("Nama pengadu", "Masalah yang diadukan"),
    ),
    Turn("PT Sinar Jaya", tracking=True),
)
BUDI_BY_EMAIL_FIELDS = {
    "complainant_name": "Budi Santoso",
    "customer_name": "PT Sinar Jaya",
    "problem": "laporan hasil uji kami terlambat dua minggu",
}
