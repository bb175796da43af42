"""Does a text say what happened? Vague judgements and bare topics.

A complaint says what happened: it has a predicate — a verb, a negation, a
date or number ("hasil uji belum keluar", "ditagih dua kali"). A judgement
without one ("pelayanannya buruk sekali", "kecewa sm petugasnya") or a bare
topic after an intent phrase ("mau komplain soal sertifikat") is vague, and
the engine asks once what happened (docs/intake.md, "the opening").
"""

from __future__ import annotations

import re

from handlers.intake.lexicon import JUDGEMENTS, PREDICATES, VAGUE_WORDS, VOCATIVES

_WORD = re.compile(r"[\w'’-]+", re.UNICODE)
#: Verbs by their prefix: me(N)-, di-, ber-, ter- before a stem of four letters or more.
_VERB_PREFIX = re.compile(r"^(?:me[mnyg]?|di|ber|ter)\w{4,}$")
#: English words that happen to start like Indonesian verbs ("disappointing", "delivered").
_ENGLISH_ENDING = re.compile(r"(?:ing|ed|tion|ment|ly|ness|able|ible|ive|ous)$")
#: Nouns that look like prefixed verbs.
_NOT_VERBS = frozenset(
    """mesin menit merek media medis metode meter member mentor menu mesjid meteran dinding
    dinas direktur direksi diskon distributor divisi dokumen berkas berita bertemu terminal
    termin termometer""".split()
)


def _words(text: str) -> list[str]:
    return [w.lower().strip("-'’") for w in _WORD.findall(text) if w.strip("-'’")]


def _base(word: str) -> str:
    """``word`` without a possessive ending ("pelayanannya", "service-nya")."""
    for suffix in ("-nya", "nya", "-ny", "ny", "-mu", "mu", "-ku", "ku"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)].rstrip("-")
    return word


def _vague_word(word: str) -> bool:
    if word in VAGUE_WORDS or _base(word) in VAGUE_WORDS:
        return True
    doubled = re.fullmatch(r"(\w+?)(?:-\1|2)", word)
    return doubled is not None and _vague_word(doubled.group(1))


def is_vague(problem: str) -> bool:
    """Whether ``problem`` judges without saying what happened.

    Vague: at most 12 words, every one a judgement, a generic target
    ("pelayanan", "petugas") or a function word (:data:`VAGUE_WORDS`); or at
    most 10 words with a judgement (:data:`JUDGEMENTS`) and no predicate
    ("pelayanan legalisir di BAAK parah banget").
    """
    words_ = _words(problem)
    if (
        0 < len(words_) <= 10
        and any(w in JUDGEMENTS or _base(w) in JUDGEMENTS for w in words_)
        and not says_something_happened(problem)
    ):
        return True
    tokens = [w for w in _WORD.findall(problem) if w.strip("-'’") and not w.isdigit()]
    if not tokens or len(tokens) > 12:
        return False
    # A place or office named in capitals ("di kecamatan Bandungan") says no more.
    return all(
        _vague_word(w.lower().strip("-'’")) or (index > 0 and w[:1].isupper())
        for index, w in enumerate(tokens)
    )


def says_something_happened(text: str) -> bool:
    """Whether ``text`` has a predicate: a verb, a negation, a time (:data:`PREDICATES`)."""
    previous = ""
    for word in _words(text):
        if word in JUDGEMENTS or _base(word) in JUDGEMENTS:
            previous = word
            continue  # a judgement is not something that happened
        if word in PREDICATES or _base(word) in PREDICATES:
            return True
        if (
            _VERB_PREFIX.match(word)
            and word not in VOCATIVES
            and word not in _NOT_VERBS
            and not _ENGLISH_ENDING.search(word)
        ):
            return True
        if word.isdigit() and previous not in _COUNTED:
            return True
        previous = word
    return False


#: Words a number may follow without making a sentence ("angkatan 2019", "kelas 3").
_COUNTED = frozenset(
    "angkatan semester kelas tahun tingkat nim nrp npm nip batch class year grade rt rw no nomor".split()
)


def topic_only(problem: str) -> bool:
    """A topic named after an intent phrase, nothing more ("sertifikat", "soal antrian")."""
    found = _words(problem)
    return 0 < len(found) <= 4 and not says_something_happened(problem)
