"""Property tests of the intake readers over arbitrary text.

Whatever a complainant's phone, mail client or a broken provider sends — NUL
characters, lone surrogates, mixed scripts, a 20,000-character line, a
thousand newlines — the readers the intake engine calls (``read_text``,
``read_answer``, ``find_correction(s)``, ``parse_command``, the name
readers, ``parse_informal_date``) must answer without an exception, return
only strings that PostgreSQL stores (no NUL, no lone surrogate, within the
``complaints`` column lengths of ``storage/models.py``), and take time in
proportion to the text (no catastrophic regex backtracking).
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import String

from handlers.dates import EARLIEST, parse_informal_date
from handlers.intake.aftercare import read_rating
from handlers.intake.answers import Answer, is_yes, read_answer
from handlers.intake.commands import parse_command
from handlers.intake.corrections import Correction, find_correction, find_corrections
from handlers.intake.names import PersonName, clean_person, person_from_profile
from handlers.intake.reading import Reading, read_text
from handlers.intake.sender import person_from_display_name
from handlers.profile import FieldKind, IntakeField, load_profile
from handlers.validation import check_value
from storage.models import Complaint
from tests.fuzz.strategies import FUZZ

PROFILE = load_profile("default")
FIELDS = PROFILE.intake.fields
FIELDS_BY_KEY = {f.key: f for f in FIELDS}
TODAY = date(2026, 11, 18)
DATE_FIELD = IntakeField.model_validate(
    {
        "key": "report_received",
        "kind": FieldKind.DATE,
        "label": {"id": "Tanggal laporan diterima", "en": "Date the report was received"},
        "prompt": {"id": "Kapan laporan diterima?", "en": "When was the report received?"},
    }
)
RECORDED = {
    "complainant_name": "Budi Santoso",
    "customer_name": "PT Sinar Jaya",
    "problem": "sertifikat kalibrasi belum keluar",
}


def _column_length(name: str) -> int | None:
    column_type = Complaint.__table__.c[name].type
    return column_type.length if isinstance(column_type, String) else None


#: Field key → the column that stores it and its length (``None``: unbounded text).
LIMITS = {
    key: _column_length(key)
    for key in ("complainant_name", "complainant_title", "customer_name", "problem")
}

#: Words and marks the readers look for, so generated text reaches their rules.
VOCABULARY = [
    "saya", "Saya", "nama", "Nama saya", "namaku", "dari", "PT", "CV", "UD", "Dinas",
    "Budi", "BUDI", "Santoso", "Siti", "Rahmawati", "Dr.", "Ir.", "Hj.", "H.", "Prof.",
    "Bu", "Pak", "M.T.", ",", ".", ";", ":", "!", "?", "-", "(", ")", "\n", "\n\n", "  ",
    "\t", "bukan", "tapi", "harusnya", "yang benar", "salah", "koreksi", "untuk", "atas nama",
    "anak saya", "pribadi", "saya sendiri", "sertifikat", "belum", "keluar", "hasil lab",
    "mau lapor", "halo min", "Dengan hormat,", "Kepada Yth.", "di Tempat", "Hormat kami,",
    "Terima kasih", "Regards,", "--", "Perihal:", "Nama:", "Perusahaan:", "Masalah:",
    "status", "STATUS ADU-2026-00042", "batal", "BANDING ADU-2026-00001", "ya", "ok",
    "12", "November", "2026", "12/11/2026", "2026-11-12", "kemarin", "3 hari yang lalu",
    "tgl", "jam 10.30", "yesterday", "budi@example.co.id", "+62 812-3456-7890",
    "\x00", "\ud800", "\udfff", "🙏", "😊", "الخدمة", "服务", "Ñandú", "ß", "İ", "\u200b",
    "\r\n", "\x0b", "\u2028", "’",
]  # fmt: skip

ANY_CHARACTER = st.characters(exclude_categories=())
free_text = st.text(ANY_CHARACTER, max_size=400)
worded_text = st.lists(
    st.sampled_from(VOCABULARY) | st.text(ANY_CHARACTER, max_size=4), max_size=80
).map(lambda parts: " ".join(parts))
texts = free_text | worded_text


def assert_storable(value: Any, column: str | None = None) -> None:
    """``value`` (``None`` or a string) is what PostgreSQL stores in ``column``."""
    if value is None:
        return
    assert isinstance(value, str)
    assert "\x00" not in value
    value.encode("utf-8")  # raises on a lone surrogate
    limit = LIMITS.get(column or "")
    if limit is not None:
        assert len(value) <= limit, f"{column}: {len(value)} characters"


def assert_field_value(key: str | None, value: str) -> None:
    """A value read for field ``key`` is storable once the engine validated it
    (``check_value`` with the profile's field, as ``IntakeEngine`` does)."""
    assert_storable(value)
    field = FIELDS_BY_KEY.get(key or "")
    if field is not None:
        checked = check_value(field, value, "id", today=TODAY)
        assert_storable(checked.value, key)


def assert_reading(reading: Reading | Answer) -> None:
    for key, value in reading.values.items():
        assert_field_value(key, value)
    # The title is stored as read, without validation.
    assert_storable(reading.title, "complainant_title")


def assert_person(person: PersonName | None) -> None:
    if person is not None:
        assert_field_value("complainant_name", person.name)
        assert_storable(person.title, "complainant_title")


def assert_correction(correction: Correction | None) -> None:
    if correction is not None:
        assert_field_value(correction.field, correction.value)
        assert_storable(correction.replace)


#: Inputs that once broke a reader: NUL, lone surrogates, titles without end.
EXAMPLES = [
    "Nama saya Budi\x00 Santoso dari PT\x00 Maju, sertifikat belum keluar",
    "saya \ud800Siti dari CV \udfffJaya. hasil lab salah",
    "Nama saya " + "Prof. Dr. Ir. H. " * 20 + "Budi Santoso. Sertifikat belum keluar.",
    "Hormat kami,\n" + "Dr. " * 40 + "Budi Santoso, " + "M.T., " * 30,
    "Nama: " + "Budi " * 100 + "\nPerusahaan: " + "PT Maju " * 100,
]


@FUZZ
@given(texts, st.booleans())
@example(EXAMPLES[0], False).via("NUL inside words")
@example(EXAMPLES[1], True).via("lone surrogates")
@example(EXAMPLES[2], False).via("twenty titles")
@example(EXAMPLES[3], True).via("a signature of titles")
@example(EXAMPLES[4], False).via("labelled values too long for their columns")
def test_read_text_returns_storable_values(text: str, letter: bool) -> None:
    assert_reading(read_text(text, FIELDS, letter=letter))


@FUZZ
@given(texts, st.sampled_from([f.key for f in FIELDS]))
def test_read_answer_returns_storable_values(text: str, key: str) -> None:
    suggestion = PersonName("Rina Wati", "Bu")
    assert_reading(read_answer(key, text, FIELDS))
    assert_reading(read_answer(key, text, FIELDS, suggestion=suggestion))
    assert isinstance(is_yes(text), bool)


@FUZZ
@given(texts, st.booleans())
def test_corrections_are_storable(text: str, explicit_only: bool) -> None:
    assert_correction(find_correction(text, RECORDED, explicit_only=explicit_only))
    for correction in find_corrections(text, RECORDED, explicit_only=explicit_only):
        assert_correction(correction)


@FUZZ
@given(texts)
@example(EXAMPLES[3]).via("a signature of titles")
def test_commands_and_names_are_storable(text: str) -> None:
    command = parse_command(text, PROFILE.tracking_prefix)
    if command is not None:
        assert_storable(command.argument)
        assert_storable(command.detail)
    assert_person(clean_person(text))
    assert_person(person_from_profile(text))
    assert_person(person_from_display_name(text))


@FUZZ
@given(texts)
def test_informal_dates_never_raise(text: str) -> None:
    day = parse_informal_date(text, TODAY)
    assert day is None or (isinstance(day, date) and day >= EARLIEST)
    checked = check_value(DATE_FIELD, text, "id", today=TODAY)
    if checked.value is not None:
        assert date.fromisoformat(checked.value) <= TODAY
    else:
        assert checked.error


def test_column_limits_come_from_the_model() -> None:
    assert LIMITS == {
        "complainant_name": 200,
        "complainant_title": 100,
        "customer_name": 300,
        "problem": None,
    }


# ---------------------------------------------------------------- bounded time

N = 20_000
#: Degenerate and realistic 20,000-character texts: long runs of one character
#: or word are where a backtracking regular expression turns quadratic.
LONG_TEXTS = {
    "letters": "a" * N,
    "capitals": "A" * N,
    "spaces": " " * N,
    "newlines": "\n" * N,
    "tabs": "\t" * N,
    "dots": "." * N,
    "commas": ", " * (N // 2),
    "dashes": "- " * (N // 2),
    "digits": "1" * N,
    "titles": "Dr. " * (N // 4),
    "initials": "A. " * (N // 3),
    "names": "Budi " * (N // 5),
    "capital names": "BUDI " * (N // 5),
    "organisations": "PT " * (N // 3),
    "names and commas": "Budi, " * (N // 6),
    "introductions": "nama saya " * (N // 10),
    "corrections": "bukan Budi tapi " * (N // 16),
    "dates": "12 November 2026 " * (N // 17),
    "addresses": "a@b.co " * (N // 7),
    "phones": "+62 812 " * (N // 8),
    "spaces then a word": " " * (N - 4) + "Budi",
    "a word, spaces, a word": "Budi" + " " * (N - 8) + "Budi",
    "organisation split by spaces": "PT" + " " * (N - 6) + "Maju",
    "rating split by spaces": "nilai" + " " * (N - 6) + "5",
    "a score, then spaces": "5" + " " * (N - 2) + "x",
    "organisation split by blanks": "PT" + "\t \u00a0" * ((N - 6) // 3) + "Maju",
    "organisation split by line breaks": "PT" + "\n" * (N - 6) + "Maju",
    "runs just short of a gap": "PT" + (" " * 31 + "x") * (N // 32 - 1) + "Maju",
    "story": ("Saya Budi Santoso dari PT Maju Jaya, sertifikat belum keluar. " * 400)[:N],
    "letter": ("Dengan hormat,\nSaya Budi\nHormat kami,\nBudi Santoso\nPT Maju\n" * 400)[:N],
    "labels": ("Nama: Budi\nPerusahaan: PT Maju\n" * 700)[:N],
    "emoji": "🙏" * N,
    "smileys then a word": ":)" * (N // 2 - 2) + "Budi",
    "prayers then a word": "🙏" * (N - 4) + "Budi",
}
READERS = {
    "read_text": lambda t: read_text(t, FIELDS),
    "read_text letter": lambda t: read_text(t, FIELDS, letter=True),
    "answer name": lambda t: read_answer("complainant_name", t, FIELDS),
    "answer customer": lambda t: read_answer("customer_name", t, FIELDS),
    "answer problem": lambda t: read_answer("problem", t, FIELDS),
    "correction": lambda t: find_corrections(t, RECORDED),
    "explicit correction": lambda t: find_correction(t, RECORDED, explicit_only=True),
    "command": lambda t: parse_command(t, "ADU"),
    "profile name": person_from_profile,
    "display name": person_from_display_name,
    "date": lambda t: parse_informal_date(t, TODAY),
    "rating": read_rating,
}
#: CPU seconds one reader may take on one 20,000-character text: a guard against
#: runaway (quadratic or backtracking) reading, not a speed target. The slowest
#: pair reads in about 0.3 s on a quiet machine, and CPU time still grows a few
#: times over when the machine is saturated; a quadratic regex takes minutes on
#: these inputs, so a bound far above normal catches it without depending on
#: the machine's load.
BOUND_SECONDS = 10.0


@pytest.mark.parametrize("shape", list(LONG_TEXTS))
def test_long_input_is_read_in_bounded_time(shape: str) -> None:
    text = LONG_TEXTS[shape]
    slow = {}
    for name, reader in READERS.items():
        started = time.process_time()
        reader(text)
        spent = time.process_time() - started
        if spent > BOUND_SECONDS:
            slow[name] = round(spent, 2)
    assert slow == {}
