"""Reading an answer to the one question the bot asked.

An answer is shorter and freer than an opening: "Budi", "budi santoso kak",
"Rina, dari Puskesmas Sukamaju", "saya sendiri", "punya adik saya, Dimas",
"PT. sinar jaya". :func:`read_answer` knows which field was asked and reads
the answer for it — and for any other field the answer also fills (a name
answer that names the organisation fills both; docs/intake.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from handlers.intake.introductions import take_name
from handlers.intake.lexicon import ORG_CAPITALS, ORG_LINKS, ROLE_WORDS, VOCATIVES, alternation
from handlers.intake.names import PersonName, clean_person, looks_like_name_word
from handlers.intake.organisations import (
    cut_organisation,
    find_organisation,
    fix_org_case,
    means_self,
    starts_with_head,
)
from handlers.intake.phrases import (
    greeting_length,
    intent_length,
    is_closing,
    vocative_length,
)
from handlers.intake.reading import read_text
from handlers.intake.segments import clauses, join_kept, storable
from handlers.profile import IntakeField


@dataclass
class Answer:
    """What an answer says: ``values`` by field key, the complainant's
    ``title``, and ``self_customer`` for "on my own behalf"."""

    values: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    self_customer: bool = False


_TRAILING_WORDS = re.compile(
    rf"(?<![\s,.!])(?:[\s,.!]++(?:{alternation(VOCATIVES)}|ya|yah|yaa|nih|dong|deh|aja|saja|sj|kok|sih|"
    r"terima\s+kasih|makasih|thanks|thank\s+you|please|pls|bro|sist?|hehe|hehehe|wkwk|🙏|😊|🙂|🙏🏻))+[\s.!,]*$",
    re.IGNORECASE,
)
_NAME_LEAD = re.compile(
    r"^\s*(?:(?:bukan|bkn|salah|no|nope|tidak|tdk|not\s+quite|sorry|maaf|sanes|dudu|mboten)\s*[,.!]\s*|"
    r"(?:bukan|no)\s+(?=(?:nama|saya|sy|aku|my|i'?m)\b))?"
    r"(?:(?:nama\s+(?:lengkap\s+)?(?:saya|sy|aku|ak|aq|gue|gw)|namaku|nama|nami\s+(?:kula|kulo|abdi)|"
    r"my\s+(?:full\s+)?name\s+is|my\s+name'?s|name|it'?s|this\s+is|i'?m|i\s+am|saya|sy|aku|aq|"
    r"nama\s+(?:lengkap\s+)?aq|"
    r"dengan|dgn|kula|kulo|abdi|ambo|ane|beta)(?=[\s:,]|$)\s*(?:adalah\s+|:\s*|is\s+)?)?",
    re.IGNORECASE,
)
_SPLIT_ORG = re.compile(
    rf"(?<!\s)\s*(?:,|;|\s[-–—/|]\s|[(]|\s(?=(?:{alternation(ORG_LINKS)})\s)|\s(?=(?:{alternation(ROLE_WORDS)})\s))\s*",
    re.IGNORECASE,
)
_CUSTOMER_LEAD = re.compile(
    r"^\s*(?:(?:saya|sy|kami|kmi|aku|we\s+are|i\s+am|i'm)\s+)?(?:(?:ini|itu|adalah|yaitu|yakni)\s+)?"
    r"(?:(?:untuk|utk|buat|bwt|for|dari|dr|dri|from|atas\s+nama|a\.?\s?n\.?|an\.?|mewakili|"
    r"perwakilan(?:\s+dari)?|representing|on\s+behalf\s+of|punya|milik|punyanya|"
    r"(?:(?:nama\s+)?(?:perusahaan|instansi|kantor|lembaga|usaha|company|organisation|"
    r"organization|pelanggan|peserta|customer|participant)|nama\s+(?:sekolah|toko|pt|cv)|"
    r"(?:pt|cv|sekolah|toko)\s*-?\s*nya)(?:\s*(?:nya|saya|sy|kami|kmi|ku|my|our))?"
    r"(?:\s+(?:adalah|yaitu|is|:))?|the\s+company\s+is|it'?s|its|it\s+is)[\s:,]+)+",
    re.IGNORECASE,
)
_RELATIVE = re.compile(
    r"^\s*(?:(?:ibu|ibunda|bapak|bpk|ayah|ayahanda|ortu|orang\s+tua|anak|adik|adek|kakak|kaka|"
    r"suami|istri|isteri|mertua|paman|bibi|tante|om|nenek|kakek|keponakan|ponakan|teman|"
    r"tetangga|saudara|sepupu|cucu|mother|father|mom|dad|son|daughter|brother|sister|wife|"
    r"husband|friend|neighbour|neighbor|colleague|rekan)(?:\s*(?:saya|sy|aku|kami|kula|kulo|abdi|"
    r"simkuring|my|nya|ku)\b)?"
    r"(?:\s+(?:yang\s+)?(?:bernama|namanya|nama|yaitu|a\.?n\.?|an\.?|named|called))?[\s,:]*)",
    re.IGNORECASE,
)
#: An answer that points at an organisation without naming it.
_UNNAMED = re.compile(
    r"^\s*(?:(?:untuk|buat|utk|dari|atas\s+nama|for|from)\s+)?(?:(?:kantor|perusahaan|instansi|"
    r"sekolah|lembaga|usaha|toko|lab|laboratorium|koperasi|desa|office|company|school|"
    r"organisation|organization)\s*(?:kami|saya|sy|kita|ku|our|my|nya)?|kami|saya|kita|we|us|our)?"
    r"\s*[.!]*\s*$",
    re.IGNORECASE,
)
#: Pronouns: an answer made with them points at someone without naming them.
_POINTING = re.compile(r"\b(?:saya|sy|kami|kita|aku|gue|gw|our|my|we|us)\b", re.IGNORECASE)
_YES = frozenset(
    """ya y iya iy iyah yes yep yup yeah yess benar bener betul btul bnr ok oke okay okey okee
    sip siap setuju kirim sudah udah lanjut confirm correct right sure boleh""".split()
)


def fold_repeats(word: str) -> str:
    """``word`` lower-cased with repeated letters folded ("iyaaa" → "iya", "yess" → "yes")."""
    return re.sub(r"(\w)\1+", r"\1", word.lower())


def is_yes(text: str) -> bool:
    """A short agreement: "ya", "iyaa", "YA!", "ya betul", "ok kirim", "yes", "iy".

    At most five words, the first an agreement word once repeated letters are
    folded, none of the rest a negation.
    """
    found = re.findall(r"[\w']+", text.lower())
    if not found or len(found) > 5:
        return False
    first = fold_repeats(found[0])
    if first not in _YES and found[0] not in _YES:
        return False
    return not any(
        w in {"tidak", "tdk", "bukan", "no", "not", "salah", "ga", "gak", "belum"}
        for w in found[1:]
    )


_CORRECTED_TO = re.compile(
    r"^\s*(?:(?:yang|yg)\s+(?:benar|bener|betul)(?:\s+adalah)?|harusnya|seharusnya|mestinya|"
    r"the\s+correct\s+one\s+is|it\s+should\s+be|should\s+be)\s*[:,]?\s+",
    re.IGNORECASE,
)


def strip_answer(text: str) -> str:
    """``text`` without greetings or vocatives in front and particles, thanks or
    emoji behind ("pagi kak, Budi Santoso ya kak 🙏" → "Budi Santoso"); an
    answer that corrects ("yang benar PT X") keeps only the new value."""
    value = _CORRECTED_TO.sub("", text.strip(), count=1)
    for _ in range(3):
        length = greeting_length(value) or vocative_length(value)
        if not length or length >= len(value):
            break
        value = value[length:].lstrip(" ,")
    # Only the end of an answer can hold trailing particles; looking there alone
    # keeps a long answer linear in its length.
    head, tail = value[:-300], value[-300:]
    value = head + _TRAILING_WORDS.sub("", tail)
    return value.strip(" \t\n,;:-–—~")


_NAME_ANYWHERE = re.compile(
    r"\b(?:nama\s+(?:lengkap\s+)?(?:saya|sy|aku|ak|aq|gue|gw)|namaku|my\s+(?:full\s+)?name\s+is|"
    r"nami\s+(?:kula|kulo|abdi))\s*(?:adalah\s+|:\s*|is\s+)?",
    re.IGNORECASE,
)


def _answer_name(text: str, suggestion: PersonName | None) -> Answer:
    answer = Answer()
    value = strip_answer(text)
    if suggestion is not None and is_yes(value):
        answer.values["complainant_name"] = suggestion.name
        answer.title = suggestion.title
        return answer
    lead = _NAME_LEAD.match(value)
    body = value[lead.end() :] if lead and lead.group(0) else value
    anywhere = _NAME_ANYWHERE.search(body)
    if anywhere and anywhere.start() > 0:
        # "bukan, ini suaminya, nama sy agung prasetya"
        body = body[anywhere.end() :]
    lower = not any(c.isupper() for c in body)
    person, used = take_name(body, lower_text=lower)
    tail = body[used:]
    if person is None:
        head = _SPLIT_ORG.split(body, maxsplit=1)[0]
        person = clean_person(head)
        tail = body[len(head) :]
    if person is None:
        return answer
    answer.values["complainant_name"] = person.name
    answer.title = person.title
    if tail.strip(" ,.;-"):
        _read_tail(tail, answer)
    return answer


def _read_tail(tail: str, answer: Answer) -> None:
    """The part after a name: an organisation, a position at one, or "for myself"."""
    tail = tail.strip(" ,;()[]-–—/|")
    if means_self(tail):
        answer.self_customer = True
        return
    found = find_organisation(tail)
    if found is not None:
        answer.values["customer_name"] = fix_org_case(found[0])
        return
    link = re.match(rf"^(?:(?:{alternation(ORG_LINKS)})\s+)+(?P<org>.+)$", tail, re.IGNORECASE)
    if link:
        org = cut_organisation(link.group("org"))
        words_ = org.split()
        if words_ and not all(
            not looks_like_name_word(w, lower_text=False) and w.lower() not in ("kab", "kota")
            for w in words_
        ):
            answer.values["customer_name"] = fix_org_case(org)


def _answer_customer(text: str) -> Answer:
    answer = Answer()
    value = strip_answer(text)
    if means_self(value):
        answer.self_customer = True
        return answer
    lead = _CUSTOMER_LEAD.match(value)
    body = value[lead.end() :] if lead else value
    body = _CORRECTED_TO.sub("", body, count=1)
    if means_self(body):
        answer.self_customer = True
        return answer
    if _UNNAMED.match(body):
        return answer  # "untuk kantor kami": which office is still to be said
    relative = _RELATIVE.match(body)
    if relative and relative.end() < len(body):
        person = clean_person(strip_answer(body[relative.end() :]))
        if person is not None:
            answer.values["customer_name"] = person.name
            return answer
    if starts_with_head(body):
        name = cut_organisation(body)
        if len(name.split()) >= 2:
            answer.values["customer_name"] = fix_org_case(name)
            return answer
    found = find_organisation(body)
    if found is not None and found[1] == 0:
        answer.values["customer_name"] = fix_org_case(found[0])
        return answer
    name = re.sub(r"\s+", " ", body).strip(" ,.;:")
    if found is not None and len(name.split()) > 8:
        name = found[0]
    if found is None and _POINTING.search(name):
        return answer  # "keluarga saya sendiri": a relation, not a name — asked again
    if name:
        person = clean_person(name) if _person_like(name) else None
        answer.values["customer_name"] = person.name if person else fix_org_case(name)
    return answer


def _person_like(value: str) -> bool:
    words_ = value.split()
    if value.isupper() and any(_ACRONYM.fullmatch(w) for w in words_):
        return False  # "HIMATEKK ITS": an organisation's acronym, not a name in capitals
    return (
        1 <= len(words_) <= 5
        and all(looks_like_name_word(w, lower_text=False) for w in words_)
        and not starts_with_head(value)
    )


#: An acronym: a known one (ITS, UGM, PDAM …) or capitals without a vowel ("PKK").
#: Short names in capitals ("EKO", "NUR") are not acronyms.
_ACRONYM = re.compile(
    rf"(?:{'|'.join(sorted(ORG_CAPITALS.values(), key=len, reverse=True))}|[B-DF-HJ-NP-TV-Z]{{2,5}})"
)


def _answer_problem(text: str, fields: Sequence[IntakeField]) -> Answer:
    answer = Answer()
    reading = read_text(text, fields)
    problem = reading.values.get("problem")
    if not problem:
        problem = _strip_problem(text)
    if problem:
        answer.values["problem"] = problem
    for key in ("complainant_name", "customer_name"):
        if key in reading.values:
            answer.values[key] = reading.values[key]
    answer.title = reading.title
    answer.self_customer = reading.self_customer
    return answer


def _strip_problem(text: str) -> str:
    """The answer without leading greetings/intent and trailing closings."""
    kept = []
    for clause in clauses(text):
        piece = text[clause.start : clause.core_end]
        cut = greeting_length(piece) or intent_length(piece)
        if cut and cut >= len(piece.strip()):
            continue
        if is_closing(piece):
            continue
        kept.append((clause.start, clause.end))
    return join_kept(text, kept) or text.strip()


def read_answer(
    key: str,
    text: str,
    fields: Sequence[IntakeField],
    *,
    suggestion: PersonName | None = None,
) -> Answer:
    """Read ``text`` as the answer to the question for field ``key``.

    ``suggestion`` is the chat profile name offered with the name question
    (a "ya" takes it). Fields other than the mandated three get the answer stripped of greetings and
    particles.
    """
    text = storable(text)
    if key == "complainant_name":
        return _answer_name(text, suggestion)
    if key == "customer_name":
        return _answer_customer(text)
    if key == "problem":
        return _answer_problem(text, fields)
    return Answer(values={key: strip_answer(text) or text.strip()})
