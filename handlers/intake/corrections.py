"""Corrections in plain words, at any point of the conversation.

"bukan PT Maju, tapi CV Maju", "namanya salah, harusnya Budiman", "eh keliru,
instansinya Dinas Pertanian", "the company is PT X", "my name is spelled
Jennifer": people correct what the bot recorded the way they would correct a
clerk. :func:`find_correction` says which field they mean and the new value
as typed; the engine reads that value like an answer to the field's question
(:func:`handlers.intake.answers.read_answer`) and shows the summary again.

Which field:

1. a field word ("nama", "instansi", "perusahaan", "masalah", "company") names it;
2. else "bukan X": the field whose recorded value contains X;
3. else the recorded value the new one resembles most (rapidfuzz, ≥ 60);
4. else what the new value looks like: an organisation is the customer, a
   short name the complainant, a sentence the problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz

from handlers.intake.names import looks_like_name_word
from handlers.intake.organisations import find_organisation, starts_with_head
from handlers.intake.segments import storable

_FIELD_WORDS = {
    "customer_name": (
        r"nama\s+(?:instansi|perusahaan|pelanggan|peserta|pt|cv|kantor|lembaga|sekolah|usaha|toko|"
        r"koperasi|customer|company|klinik|rs|lab|laboratorium)(?:\s*-?\s*(?:nya|saya|kami|sy))?|"
        r"nama\s+(?:ibu|bapak|ayah|anak|adik|adek|kakak|suami|istri|isteri|mertua|nenek|kakek|"
        r"keponakan|cucu)(?:\s*(?:saya|sy|kami|kula|nya))?|"
        r"instansi\s*(?:nya|saya|kami|sy)?|"
        r"perusahaan\s*(?:nya|saya|kami|sy)?|pelanggan\s*nya|pelanggannya|peserta\s*nya|pesertanya|"
        r"kantor\s*(?:nya|saya|kami)|lembaga\s*nya|sekolah\s*nya|koperasi\s*nya|pt\s*-?\s*nya|"
        r"cv\s*-?\s*nya|company(?:\s*-?\s*nya)?|the\s+company(?:\s+name)?|company\s+name|"
        r"(?:the\s+)?(?:organisation|organization|institution|customer|participant)(?:\s+name)?"
    ),
    "problem": (
        r"masalah\s*(?:nya|saya)?|keluhan\s*(?:nya|saya)?|pengaduan\s*(?:nya|saya)?|"
        r"aduan\s*(?:nya|saya)?|isi\s+(?:keluhan|pengaduan|aduan)|"
        r"(?:the\s+|my\s+)?(?:problem|complaint|issue)(?:\s+description)?"
    ),
    "complainant_name": (
        r"nama\s+(?:lengkap\s+)?(?:saya|sy|aku|ak|aq|pengadu|pelapor)|namaku|nama\s*nya|namanya|"
        r"nama\s+depan(?:\s+saya)?|nama\s+belakang(?:\s+saya)?|ejaan\s+nama(?:\s+saya)?|"
        r"my\s+(?:full\s+)?name|my\s+surname|my\s+first\s+name|the\s+name|complainant(?:\s+name)?|"
        r"nami\s+(?:kula|kulo|abdi)|nama"
    ),
}
_WRONG = (
    r"(?:salah(?:\s+(?:ketik|tulis|eja))?|keliru|kurang\s+tepat|kurang\s+lengkap|typo|tdk\s+tepat|"
    r"tidak\s+tepat|gak\s+tepat|ga\s+tepat|is\s+wrong|was\s+wrong|is\s+incorrect|is\s+misspelled|"
    r"is\s+spelt\s+wrong|is\s+spelled\s+wrong)"
)
_RIGHT = (
    r"(?:yang\s+benar(?:\s+adalah)?|yg\s+benar|yg\s+bener|yang\s+bener|yg\s+betul|yang\s+betul|"
    r"benarnya|bener\s*nya|seharusnya|harusnya|hrsnya|mestinya|semestinya|sebenarnya|sebenernya|"
    r"should\s+be|should\s+read|is\s+actually|is\s+spelled|is\s+spelt|is\s+written|is|adalah|"
    r"ialah|jadi|diganti(?:\s+(?:jadi|dengan|menjadi))?|ganti(?:\s+(?:jadi|dengan|menjadi))?|"
    r"ubah(?:\s+(?:jadi|menjadi))?|diubah(?:\s+(?:jadi|menjadi))?|ditulis|tertulis|"
    r"please\s+change\s+(?:it\s+)?to|change\s+(?:it\s+)?to|tolong\s+diganti(?:\s+jadi)?|"
    r"mohon\s+diganti(?:\s+(?:jadi|dengan|menjadi))?|mohon\s+diubah(?:\s+(?:jadi|menjadi))?)"
)
_RIGHT_ONLY_WORDS = (
    r"yang\s+benar(?:\s+adalah)?|yg\s+benar|yg\s+bener|yang\s+bener|yg\s+betul|yang\s+betul|"
    r"seharusnya|harusnya|hrsnya|mestinya|it\s+should\s+be|should\s+be|the\s+correct\s+one\s+is|"
    r"correct\s+is|it'?s\s+actually|it\s+is\s+actually"
)
_LEAD = (
    r"(?:(?:eh|oh|ehh|e|aduh|waduh|maaf|mohon\s+maaf|sorry|sori|ralat|koreksi|revisi|oops|"
    r"sebelumnya|sblmnya|dulu|dl|sebentar|bentar|tunggu\s+dulu|ups|astaga|waduh|hmm|iya|ya|oiya|"
    r"tadi|td|punten|nuwun\s+sewu|sanes|dudu|mboten|tolong|mohon|please|kindly|"
    r"salah\s+(?:tulis|ketik|eja)|typo|keliru\s+(?:tulis|ketik)|"
    r"wait|tunggu|bentar|sebentar|no|nope|not\s+quite|tidak|tdk|bukan|bkn|salah|keliru|"
    r"actually|sebenarnya|maksud\s+saya|maksudnya|i\s+mean|mbak|mas|kak|min|pak|bu)[\s,.:!-]+)*"
)


@dataclass(frozen=True, slots=True)
class Correction:
    """A correction: ``field`` (a profile field key, or ``None`` when only the
    value's look can tell) and the new ``value`` as typed; ``replace`` is the
    part of the recorded value to swap for it ("Siti, bukan Sita" changes one
    word of "Sita Rahmawati"), ``None`` for the whole value."""

    field: str | None
    value: str
    replace: str | None = None


def _field_pattern() -> str:
    return "|".join(f"(?P<{key}>{words})" for key, words in _FIELD_WORDS.items())


_EARLIER = r"(?:(?:yang\s+|yg\s+)?(?:tadi|td|sebelumnya|sblmnya|tersebut|tsb|di\s+atas|diatas)\s+)?"
#: "bukan" in the languages people write in.
_NOT = r"(?:bukan|bkn|not|sanes|dudu)"
#: What comes between the old value and the new one: "tapi", "yang benar", "harusnya".
_BUT = (
    r"(?:(?:tapi|tetapi|tp|melainkan|but|it'?s|(?:yang|yg)\s+(?:benar|bener|betul)|harusnya|"
    r"seharusnya|mestinya)[\s:,]+)+"
)
#: The new value, to the end of the message.
#: (It ends in a character that is not a space or "!", so reading a long run of
#: spaces inside it does not start over at every character.)
_NEW = r"(?P<value>\S(?:.*[^\s!])?)[\s!]*$"
_EXPLICIT = re.compile(
    rf"^\s*{_LEAD}(?:bukan\s+|not\s+)?(?:{_field_pattern()})\b[\s,.:;-]*{_EARLIER}(?:{_WRONG}[\s,.:;!-]*)?"
    rf"(?:(?:{_RIGHT})\b[\s,.:;-]*|:\s*){_NEW}",
    re.IGNORECASE | re.DOTALL,
)
_EXPLICIT_WRONG_ONLY = re.compile(
    rf"^\s*{_LEAD}(?:{_field_pattern()})\b[\s,.:;-]*{_EARLIER}{_WRONG}[\s,.:;!-]+{_NEW}",
    re.IGNORECASE | re.DOTALL,
)
#: "instansinya bukan RSUD Soedarso, yang benar RSUD Sultan …"
_FIELD_NOT_X_BUT_Y = re.compile(
    rf"^\s*{_LEAD}(?:{_field_pattern()})\b[\s,:]*{_NOT}\s+(?P<old>[^,;]*?[^\s,;])[\s,;]+{_BUT}{_NEW}",
    re.IGNORECASE | re.DOTALL,
)
#: At the summary: "bukan, nama saya Agus Salimin", "no, the company is …" without "should be".
_FIELD_VALUE = re.compile(
    rf"^\s*{_LEAD}(?:{_field_pattern()})\b\s*(?:(?:saya|kami|sy|nya)\s+)?[:\s,-]*{_NEW}",
    re.IGNORECASE | re.DOTALL,
)
_NOT_X_BUT_Y = re.compile(
    r"^\s*(?:(?:eh|oh|maaf|sorry|ralat|koreksi|no|tidak|salah|keliru)[\s,.:!-]+)*"
    rf"{_NOT}\s+(?P<old>[^,;]*?[^\s,;])[\s,;]+{_BUT}{_NEW}",
    re.IGNORECASE | re.DOTALL,
)
_Y_NOT_X = re.compile(
    rf"^\s*{_LEAD}(?:(?:{_field_pattern()})\b\s*(?:(?:nya|saya)\s+)?)?(?P<value>[^,;]*?[^\s,;])[\s,;]+"
    r"(?:bukan|bkn|not|sanes|dudu|mboten)\s+(?P<old>[^,;.]*?[^\s,;.!])[\s.!]*$",
    re.IGNORECASE | re.DOTALL,
)
_RIGHT_ONLY = re.compile(
    rf"^\s*{_LEAD}(?:(?:{_WRONG})[\s,.:;!-]+)?(?:{_RIGHT_ONLY_WORDS})\b[\s,.:;-]*{_NEW}",
    re.IGNORECASE | re.DOTALL,
)
_LEAD_ONLY = re.compile(
    r"^\s*(?:eh|oh|ehh|aduh|waduh|maaf|mohon\s+maaf|sorry|sori|ralat|koreksi|oops)[\s,.:!-]+"
    rf"(?:(?:{_WRONG}|tadi\s+salah|td\s+salah|salah\s+ketik)[\s,.:!-]+)?{_NEW}",
    re.IGNORECASE | re.DOTALL,
)


#: Words that open a correction of one's own slip.
_CORRECTING = re.compile(
    r"^\s*(?:eh|ehh|oh|oops|ups|ralat|koreksi|maaf|sorry|sori|wait|tunggu|bentar|sebentar|aduh)\b",
    re.IGNORECASE,
)


def _field_of(match: re.Match[str]) -> str | None:
    for key in _FIELD_WORDS:
        if match.groupdict().get(key):
            return key
    return None


def find_correction(
    text: str, values: Mapping[str, str], *, explicit_only: bool = False
) -> Correction | None:
    """The correction ``text`` makes to the recorded ``values``, or ``None``.

    ``explicit_only``: accept only corrections that say they correct
    (a field word with "salah/harusnya/yang benar", "bukan X tapi Y") — used
    while a question is open, where "PT Maju" alone is an answer, not a
    correction.
    """
    text = storable(text).strip()
    if not text or ("\n" in text.strip() and len(text) > 400):
        return None
    match = _FIELD_NOT_X_BUT_Y.match(text)
    if match:
        return Correction(_field_of(match), match.group("value"))
    match = _NOT_X_BUT_Y.match(text)
    if match:
        old = match.group("old").strip()
        value = match.group("value")
        if _SELF_OLD.match(old):
            return Correction("customer_name", value)
        field = _field_holding(old, values) or guess_field(value, values)
        return Correction(field, value, _part(old, values))
    match = _EXPLICIT.match(text) or _EXPLICIT_WRONG_ONLY.match(text)
    if match is None and explicit_only and _CORRECTING.match(text):
        # "eh nama lengkap saya Iwan Kurniawan": a slip corrected without "harusnya".
        match = _FIELD_VALUE.match(text)
        if match and match.group("value").strip(" .,"):
            return Correction(_field_of(match), match.group("value"))
        match = None
    if match:
        key = _field_of(match)
        if explicit_only and not re.search(
            rf"{_WRONG}|{_RIGHT_ONLY_WORDS}|bukan|ralat|koreksi|ganti|ubah|change|spelled|spelt",
            text,
            re.IGNORECASE,
        ):
            return None
        return Correction(key, match.group("value"))
    match = _Y_NOT_X.match(text)
    if match and _field_holding(match.group("old").strip(), values):
        old = match.group("old").strip()
        return Correction(_field_holding(old, values), match.group("value"), _part(old, values))
    match = _RIGHT_ONLY.match(text)
    if match:
        value = match.group("value")
        return Correction(guess_field(value, values), value)
    if explicit_only:
        return None
    match = _FIELD_VALUE.match(text)
    if match and match.group("value").strip(" .,"):
        return Correction(_field_of(match), match.group("value"))
    match = _LEAD_ONLY.match(text)
    if match:
        value = match.group("value")
        return Correction(guess_field(value, values), value)
    return None


_FIELD_START = re.compile(rf"(?:^|[.;,]\s+)(?=(?:{_field_pattern()})\b)", re.IGNORECASE)


def find_corrections(
    text: str, values: Mapping[str, str], *, explicit_only: bool = False
) -> list[Correction]:
    """Every correction ``text`` makes: one, or several when each part names its
    field ("Nama saya Yosef Bria, perusahaannya CV Flobamora Kriya")."""
    text = storable(text)
    whole = find_correction(text, values, explicit_only=explicit_only)
    starts = [m.end() for m in _FIELD_START.finditer(text)]
    if len(starts) >= 2:
        found: list[Correction] = []
        for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
            part = text[begin:end].strip(" ,;.")
            correction = find_correction(part, values, explicit_only=False)
            if correction is not None and correction.field is not None:
                found.append(correction)
        keys = [c.field for c in found]
        if len(found) >= 2 and len(set(keys)) == len(keys):
            return found
    return [whole] if whole is not None else []


#: "bukan atas nama saya, tapi …": the customer was the complainant.
_SELF_OLD = re.compile(
    r"^(?:atas\s+nama\s+)?(?:saya|sy|aku|pribadi|perorangan|saya\s+sendiri|diri\s+sendiri|me|myself)$",
    re.IGNORECASE,
)


def _field_holding(old: str, values: Mapping[str, str]) -> str | None:
    """The field whose value contains ``old`` (or is most like it)."""
    needle = old.lower().strip(" .,")
    for key, value in values.items():
        if needle and needle in str(value).lower():
            return key
    best, score = None, 0.0
    for key, value in values.items():
        ratio = fuzz.ratio(needle, str(value).lower())
        if ratio > score:
            best, score = key, ratio
    return best if score >= 60 else None


def _part(old: str, values: Mapping[str, str]) -> str | None:
    needle = old.strip(" .,")
    for value in values.values():
        text = str(value)
        if needle and needle.lower() in text.lower() and needle.lower() != text.lower():
            start = text.lower().index(needle.lower())
            return text[start : start + len(needle)]
    return None


def guess_field(value: str, values: Mapping[str, str]) -> str | None:
    """The field a bare new ``value`` most likely replaces (see the module docstring)."""
    best, score = None, 0.0
    for key in ("complainant_name", "customer_name"):
        current = values.get(key)
        if current:
            ratio = fuzz.ratio(value.lower(), str(current).lower())
            if ratio > score:
                best, score = key, ratio
    if score >= 60:
        return best
    bare = re.sub(r"^\s*(?:atas\s+nama|a\.?n\.?|untuk|utk|dari)\s+", "", value, flags=re.IGNORECASE)
    if starts_with_head(bare) or find_organisation(bare):
        return "customer_name"
    words_ = value.split()
    if 1 <= len(words_) <= 5 and all(looks_like_name_word(w, lower_text=False) for w in words_):
        return "complainant_name"
    if len(words_) >= 4:
        return "problem"
    return None
