"""The reader takes anything without failing, and never invents words.

Seeded random texts built from the words the reader reacts to (greetings,
titles, organisation kinds, labels, sign-offs, punctuation, phone numbers),
and a few degenerate ones: the reader, the answer reader and the correction
finder return without raising, and every word of a problem they keep was
typed by the complainant (docs/intake.md: the problem is verbatim).
"""

from __future__ import annotations

import random

import pytest

from handlers.intake.answers import read_answer
from handlers.intake.corrections import find_corrections
from handlers.intake.reading import read_text
from handlers.profile import Profile

VOCABULARY = (
    "saya sy dari PT CV Dinas mau lapor komplain Dr. Ir. H. S.T., M.T. Budi Santoso , . ; : ! ? "
    "\n bukan tapi yang benar harusnya nama instansi masalah Hormat kami, Salam Regards Kepada "
    "Yth. di Tempat Perihal: Nama : Jabatan : terima kasih min kak pak bu selamat pagi "
    "assalamualaikum wr wb ( ) - / 0812-3456-7890 a@b.id untuk diri sendiri pribadi anak saya "
    "Siti hasil uji belum keluar sertifikat rusak Puskesmas Sukamaju Universitas Hasanuddin"
).split(" ")
DEGENERATE = [
    "",
    " ",
    "saya " * 500,
    "," * 5000,
    "a." * 2000,
    "Dr. " * 400,
    "Nama: x\n" * 300,
    "\n" * 2000,
    "🙏" * 200,
    "\x00\u200d\ufeff",
]


def texts() -> list[str]:
    rng = random.Random(20261204)
    found = [
        " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(1, 120))) for _ in range(300)
    ]
    return found + DEGENERATE


@pytest.mark.parametrize("letter", [False, True])
def test_the_reader_takes_anything_and_keeps_only_typed_words(
    profile: Profile, letter: bool
) -> None:
    fields = profile.intake.fields
    for text in texts():
        reading = read_text(text, fields, letter=letter)
        for word in reading.values.get("problem", "").split():
            assert word in text, (word, text[:200])
        for key in ("complainant_name", "customer_name", "problem"):
            answer = read_answer(key, text, fields)
            assert all(isinstance(v, str) for v in answer.values.values())
        find_corrections(text, {"complainant_name": "Budi", "customer_name": "PT Sinar"})
