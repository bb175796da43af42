"""Reading a complainant's free text into intake fields.

:func:`read_text` takes what someone wrote — a WhatsApp burst, an SMS, a
formal letter — and returns what it says: who complains (name and title),
for which customer or participant, and the problem in their own words, plus
what kind of opening it was (docs/intake.md):

1. ``Label: value`` lines fill fields directly (:mod:`handlers.intake.labels`);
2. the letter frame — addressee block, sign-off, signature — is set apart and
   the signer taken from it (:mod:`handlers.intake.letters`);
3. the rest is cut into clauses (:mod:`handlers.intake.segments`); a
   salutation line ("Selamat siang Bapak/Ibu petugas,") goes whole; from the
   start of each clause greetings, vocatives, self-introductions, intent
   phrases and fillers are cut away (:mod:`handlers.intake.phrases`,
   :mod:`handlers.intake.introductions`); what an introduction leaves of its
   sentence goes too when it says nothing happened ("…, pemilik UD Makmur,
   toko bahan bangunan di Jl. Raya Bandungan."); contact details alone go;
   closing formulas at the end go;
4. what remains, verbatim, is the problem; a problem made only of judgements
   ("pelayanannya buruk sekali"), or only of a topic after an intent phrase
   ("mau komplain soal sertifikat"), is *vague* and the engine asks what
   happened.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from handlers.intake.introductions import ROLE_MODIFIERS, match_intro, take_name
from handlers.intake.labels import labelled_values
from handlers.intake.letters import split_letter, trailing_signature
from handlers.intake.lexicon import (
    ROLE_WORDS,
    SALUTATION_WORDS,
    SHORT_VOCATIVES,
    VOCATIVES,
    alternation,
)
from handlers.intake.names import PersonName, clean_person, looks_like_name_word
from handlers.intake.organisations import (
    BUSINESS_HEADS,
    find_organisation,
    fix_org_case,
    is_cased,
    means_self,
)
from handlers.intake.phrases import (
    filler_length,
    greeting_length,
    intent_length,
    is_closing,
    only_particles,
    starts_closing,
    trailing_closing_start,
    undersigned_length,
    vocative_length,
)
from handlers.intake.predicates import is_vague, says_something_happened, topic_only
from handlers.intake.segments import Clause, clauses, join_kept, storable
from handlers.profile import IntakeField

#: Characters of a text that are read (a longer mail is read from its start;
#: the whole stays on the thread). The problem field holds at most a few
#: thousand characters anyway (the profile's ``max_length``).
READ_LIMIT = 20_000


class OpeningKind(enum.StrEnum):
    """What an opening turn does (docs/intake.md, "the opening")."""

    EMPTY = "empty"  #: no text at all (a sticker, a photo)
    GREETING = "greeting"  #: only greets or pings ("P", "halo min")
    INTENT = "intent"  #: says a complaint is coming ("mau lapor nih")
    INTRO = "intro"  #: introduces the complainant, nothing about the problem
    VAGUE = "vague"  #: a judgement without what happened ("pelayanannya buruk")
    CONTENT = "content"  #: says what happened


@dataclass
class Reading:
    """What a text says. ``values`` maps field keys to cleaned values (the
    problem verbatim); ``title`` is the complainant's titles; ``self_customer``
    means the complainant complains on their own behalf."""

    values: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    self_customer: bool = False
    kind: OpeningKind = OpeningKind.EMPTY


def _lower_text(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(1 for c in letters if c.isupper()) <= max(1, len(letters) // 40)


_CONTACT_ONLY = re.compile(
    r"^\s*[(\[]?\s*(?:(?:no\.?\s*)?(?:hp|wa|telp|tlp|telepon|phone|mobile|email|e-mail|nrp|nim|npm|"
    r"nip|nik)\.?\s*[:.]?\s*)?(?:\+?\d[\d\s().-]{5,}\d|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)\s*[)\]]?\s*$",
    re.IGNORECASE,
)
_RELATIVE = re.compile(
    r"(?i:\b(?:(?:atas\s+nama|untuk|buat|utk|punya|milik|a\.?n\.?|dari|for|on\s+behalf\s+of)\s+)?"
    r"(?:anak|ibu|ibunda|bapak|ayah|adik|adek|kakak|suami|istri|isteri|mertua|paman|bibi|"
    r"tante|om|nenek|kakek|keponakan|cucu|orang\s+tua|my\s+(?:son|daughter|mother|father|wife|husband))"
    r"(?:\s+(?:saya|sy|kami|aku|kula|kulo|abdi))?\b[\s,]+(?:(?:yaitu|yakni|bernama|yang\s+bernama|namanya|a\.n\.?|an\.)\s+)?)"
    r"(?P<name>(?:[A-Z][\w'’.-]*)(?:\s+[A-Z][\w'’.-]*){0,4})"
)


#: How the rest of an introduction's sentence describes the organisation.
_DESCRIBES = re.compile(
    r"\s*,?\s*(?:(?:(?:sebuah|satu|an?|the)\s+)?(?:toko|usaha|perusahaan|bengkel|warung|produsen|"
    r"distributor|supplier|pemasok|pabrik|industri|company|firm|business|manufacturer|"
    r"yang\s+bergerak|bergerak\s+di|which|located|based|di|in|at|beralamat|berlokasi)\b|"
    rf"(?:(?:sebagai|selaku|as|the|an?)\s+)?(?:{ROLE_MODIFIERS}\s+){{0,2}}(?:{alternation(ROLE_WORDS)})\b|"
    r"(?-i:[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*)*)\s*[.,]?\s*$)",
    re.IGNORECASE,
)
#: "On my own behalf" said inside the story or its closing ("ktp itu atas nama
#: saya sendiri", "Demikian pengaduan ini saya sampaikan sebagai pribadi.").
_SELF_INSIDE = re.compile(
    r"\b(?:(?:atas\s+nama|sebagai|selaku|untuk|buat|utk|secara)\s+(?:\w+\s+){0,2}?"
    r"(?:pribadi|perorangan|perseorangan|diri\s+(?:saya\s+)?sendiri|saya\s+sendiri|sendiri)|"
    r"atas\s+nama\s+saya(?!\s*,?\s+(?-i:[A-Z]))|"
    r"on\s+my\s+own\s+behalf|for\s+myself|in\s+my\s+personal\s+capacity|"
    r"as\s+a\s+private\s+(?:person|individual))\b",
    re.IGNORECASE,
)


#: A position right after a name, up to where the sentence goes on with "saya …"
#: ("NAMA SAYA BAMBANG ALUMNI TEKNIK SIPIL ANGKATAN 1983 SAYA SUDAH …").
_ROLE_TAIL = re.compile(
    rf"\s*,?\s*(?:(?:sebagai|selaku|as|the|an?)\s+)?(?:{ROLE_MODIFIERS}\s+){{0,2}}"
    rf"(?:{alternation(ROLE_WORDS)})\b.*?(?=\s+(?:saya|sy|kami|aku|gue|gw|i|we)\b|[,.;!?\n]|$)",
    re.IGNORECASE,
)


@dataclass
class _Cuts:
    person: PersonName | None = None
    organisation: str | None = None
    self_customer: bool = False
    greeted: bool = False
    intent: bool = False
    #: An introduction was cut in the sentence being read.
    introduced: bool = False
    #: Something of the problem was kept in the message being read.
    content: bool = False
    #: Where the last introduction ended.
    intro_end: int = -1


_RESPECT = re.compile(
    r"\b(?:yang|yg)\s+(?:saya|kami|sy)\s+hormati\b|\byang\s+terhormat\b", re.IGNORECASE
)


def _salutation(text: str, clause: Clause, first_in_line: bool) -> bool:
    """A salutation clause at a line's start: "Bu Lina,", "Dear Proficiency Testing
    Team,", "Selamat siang Bapak/Ibu petugas BBSPJIKKP," — dropped whole."""
    if not first_in_line:
        return False
    core = text[clause.start : clause.core_end]
    ends_line = (
        text[clause.core_end : clause.end + 1].startswith(("\n",))
        or clause.core_end >= len(text.rstrip())
        or text[clause.core_end : clause.core_end + 1] == "\n"
    )
    soft = text[clause.core_end : clause.core_end + 1] in (",", ":")
    addressed = re.match(r"\s*(?:yth\b\.?|kepada\s+yth\b\.?|dear\b)", core, re.IGNORECASE)
    if not (soft or ends_line or addressed):
        return False
    length = greeting_length(core) or vocative_length(core + ",")
    if not length:
        first = re.match(r"\s*(\S+)", core)
        if first and first.group(1).lower().strip(".") in VOCATIVES:
            length = first.end()  # "Bu Lina,"
    if not length:
        start = re.match(
            r"\s*(?:dear|yth\.?|kepada\s+yth\.?|hi|hello|halo|hai)\b", core, re.IGNORECASE
        )
        if not start:
            return False
        length = start.end()
    rest = _RESPECT.sub("", core[length:]).strip()
    found = rest.split()
    if addressed and (soft or ends_line) and len(found) <= 10:
        return True  # "Yth. Bapak/Ibu pengelola layanan sarana prasarana,"
    if match_intro(rest, lower_text=False, message_start=True, roles=False) is not None:
        return False  # "Assalamualaikum wr wb. Saya Hj. Nurhasanah, …" introduces
    greeted_someone = len(core[:length].split()) >= 2 or (
        bool(found) and found[0].lower().strip(",") in VOCATIVES
    )
    if soft and greeted_someone and len(found) <= 10 and not says_something_happened(rest):
        return True  # "Halo Bapak/Ibu pengelola layanan sarana prasarana,"
    if len(found) > 7:
        return False
    for word in found:
        bare = word.strip(",.:;!").lower()
        if not bare:
            continue
        if bare in SALUTATION_WORDS or bare in VOCATIVES or word[:1].isupper():
            continue
        return False
    return True


def _identity_line(text: str, clause: Clause, cased: bool, cuts: _Cuts) -> int | None:
    """A message that is only a name ("Siti Aminah") or only an organisation
    ("Koperasi Tani Makmur"), written with capitals: who complains, or for
    whom — never a sentence of the problem. Returns where the line ends, or
    ``None``."""
    if not cased:
        return None
    line_end = text.find("\n", clause.start)
    line_end = len(text) if line_end < 0 else line_end
    line = text[clause.start : line_end].strip().rstrip(".!")
    found = line.split()
    if len(found) < 2:
        return None
    organisation = find_organisation(line, cased=True)
    if (
        organisation is not None
        and organisation[1] == 0
        and len(organisation[0]) >= len(line) - 1
        and len(found) <= 8
        and all(w[:1].isupper() or w[:1].isdigit() or w in ("dan", "&") for w in found)
    ):
        if cuts.organisation is None:
            cuts.organisation = fix_org_case(organisation[0])
        return line_end
    if (
        cuts.person is not None
        or match_intro(line, lower_text=False, message_start=True) is not None
    ):
        return None
    person, used = take_name(line, lower_text=False)
    if person is None:
        return None
    rest = line[used:].strip(" ,.")
    if rest:
        # "Prof. Bambang Sugiarto, guru besar Departemen Teknik Kimia ITS."
        if not line[used:].lstrip().startswith(",") or says_something_happened(rest):
            return None
        described = _DESCRIBES.match(", " + rest)
        named = find_organisation(rest, cased=True)
        if described is None and named is None:
            return None
        if named is not None and cuts.organisation is None:
            cuts.organisation = fix_org_case(named[0])
    elif len(found) > 4 or not all(w[:1].isupper() for w in found):
        return None
    cuts.person = person
    return line_end


def _strip_leading(
    text: str,
    position: int,
    clause: Clause,
    sentence_end: int,
    first_in_line: bool,
    cased: bool,
    cuts: _Cuts,
    sentence_opening: bool = True,
) -> int:
    """Cut greetings, introductions, intent phrases and fillers from ``position``.

    Returns the position after them. An introduction may reach past the
    clause, up to ``sentence_end`` ("Rina, dari Puskesmas Sukamaju", "Dr.
    Sarah Lim, M.Sc., from …"); the others stay inside the clause.
    """
    start = position
    end = clause.core_end
    lower = not cased
    while position < end:
        rest = text[position:end]
        if not rest.strip():
            break
        length = greeting_length(rest)
        if length:
            cuts.greeted = True
            position += length
            continue
        if first_in_line or cuts.greeted or position == start:
            length = vocative_length(rest)
            if length and (rest[length - 1 : length] in ",!:~ " or length == len(rest)):
                position += length
                continue
            if first_in_line and position == start:
                bare = re.match(r"\s*(\S+)\s+", rest)
                if bare and bare.group(1).lower() in SHORT_VOCATIVES:
                    position += bare.end()
                    continue
        length = undersigned_length(rest)
        if length:
            position += length
            continue
        intro = match_intro(
            text[position:sentence_end],
            lower_text=lower,
            message_start=first_in_line and position - start < 30,
            cased=cased,
            roles=sentence_opening or cuts.introduced,
        )
        if intro is not None and intro.end > 0:
            if intro.person is not None and cuts.person is None:
                cuts.person = intro.person
            if intro.organisation is not None and cuts.organisation is None:
                cuts.organisation = intro.organisation
            cuts.introduced = True
            position += intro.end
            role = _ROLE_TAIL.match(text[position:end])
            if role and not says_something_happened(role.group(0)):
                position += role.end()
            cuts.intro_end = position
            if position >= end:
                return position
            continue
        length = intent_length(rest) if (first_in_line or not cuts.content) else 0
        if length:
            cuts.intent = True
            position += length
            continue
        if first_in_line and position == start:
            length = filler_length(text[position : clause.end])
            if length:
                position += min(length, len(rest))
                continue
        break
    return position


def _before(text: str, position: int) -> str:
    """The two characters before ``position`` once spaces and tabs are skipped."""
    index = position
    while index > 0 and text[index - 1] in " \t":
        index -= 1
    return text[max(0, index - 2) : index]


def _scan(prose: str, cased: bool, cuts: _Cuts) -> list[tuple[int, int]]:
    """The spans of ``prose`` left after the leading phrases of every clause are cut."""
    found = clauses(prose)
    kept: list[tuple[int, int]] = []
    position = 0
    sentence_start = 0
    # Where each clause's sentence ends (the next hard clause), in one pass back.
    sentence_ends: list[int] = [0] * len(found)
    end_here = found[-1].core_end if found else 0
    for index in range(len(found) - 1, -1, -1):
        if found[index].hard:
            end_here = found[index].core_end
        sentence_ends[index] = end_here
    line_casing: dict[int, bool] = {}
    for index, clause in enumerate(found):
        if position >= clause.end:
            continue
        if index and found[index - 1].hard:
            cuts.introduced = False
            sentence_start = clause.start
        if kept and starts_closing(prose[clause.start : clause.core_end]):
            break  # "Demikian …", "Atas perhatian …": the letter's closing
        sentence_end = sentence_ends[index]
        before = _before(prose, clause.start)
        first_in_line = clause.start == 0 or before.endswith("\n")
        if first_in_line and before.endswith("\n\n"):
            cuts.content = False  # a new paragraph or message
        if position <= clause.start and _salutation(prose, clause, first_in_line):
            cuts.greeted = True
            position = clause.end
            continue
        identity = (
            _identity_line(prose, clause, cased, cuts)
            if position <= clause.start and first_in_line
            else None
        )
        if identity is not None:
            position = identity
            continue
        begin = max(position, clause.start)
        line_start = prose.rfind("\n", 0, clause.start) + 1
        if line_start not in line_casing:
            line_end = prose.find("\n", clause.start)
            line_casing[line_start] = cased and is_cased(
                prose[line_start : line_end if line_end >= 0 else None]
            )
        line_cased = line_casing[line_start]
        position = _strip_leading(
            prose,
            begin,
            clause,
            sentence_end,
            first_in_line and begin == clause.start,
            line_cased,
            cuts,
            sentence_opening=clause.start == sentence_start or not kept,
        )
        if position >= clause.end:
            continue
        rest = prose[position : clause.core_end]
        if (
            not rest.strip()
            or only_particles(rest)
            or (cuts.introduced and _CONTACT_ONLY.match(rest))
        ):
            position = clause.end
            continue
        if means_self(rest.strip(" ,.")):
            cuts.self_customer = True
            position = clause.end
            continue
        if (
            cuts.introduced
            and position > sentence_start
            and not prose[cuts.intro_end : position].strip(" ,;-\t")
        ):
            # What an introduction leaves of its sentence: where, what kind of
            # business — nothing that happened — goes with it.
            tail = prose[position:sentence_end]
            named = find_organisation(tail, cased=cased)
            if (
                (_DESCRIBES.match(tail) or named is not None)
                and not says_something_happened(tail)
                and len(tail.split()) <= 14
            ):
                if named is not None and cuts.organisation is None:
                    cuts.organisation = fix_org_case(named[0])
                position = next(
                    (c.end for c in found[index:] if c.core_end >= sentence_end), clause.end
                )
                continue
        while position < clause.core_end and prose[position] in " \t,;:-":
            position += 1
        kept.append((position, clause.end))
        cuts.content = True
        position = clause.end
    return kept


def _rejoin(text: str) -> str:
    """Join a message sent too early to the next: "saya hendra" + "wijaya dari pt
    sinar baja" is one introduction, a name split by the send button."""
    lines = text.split("\n")
    index = 0
    while index < len(lines) - 1:
        line, following = lines[index], lines[index + 1]
        if (
            line.strip()
            and following.strip()
            and line.rstrip()[-1:].isalnum()
            and following.lstrip()[:1].islower()
        ):
            tail = clauses(line)[-1]
            start = tail.start
            while True:
                skip = greeting_length(line[start:]) or vocative_length(line[start:])
                if not skip or start + skip >= len(line):
                    break
                start += skip
            alone = match_intro(line[start:], lower_text=True, message_start=True, cased=False)
            joined = f"{line[start:].rstrip()} {following.strip()}"
            together = match_intro(joined, lower_text=True, message_start=True, cased=False)
            width = len(line[start:].rstrip())
            if (
                alone is not None
                and alone.person is not None
                and alone.organisation is None
                and alone.end >= width
                and together is not None
                and together.person is not None
                and len(together.person.name.split()) > len(alone.person.name.split())
                and (together.organisation is not None or together.end >= len(joined) - 1)
            ):
                lines[index] = f"{line.rstrip()} {following.strip()}"
                del lines[index + 1]
                continue
        index += 1
    return "\n".join(lines)


def read_text(text: str, fields: Sequence[IntakeField], *, letter: bool = False) -> Reading:
    """Read ``text`` (one turn, or one mail body) into a :class:`Reading`.

    ``letter``: the text is a mail, so a bare signature at its end (a name
    line without a sign-off) is recognised too. Field keys returned are the
    profile's (``complainant_name``, ``customer_name``, ``problem`` and any
    labelled extra field); values are not yet validated.
    """
    reading = Reading()
    keys = {f.key for f in fields}
    text = storable(text[:READ_LIMIT])
    if not letter:
        text = _rejoin(text)
    labelled = labelled_values(text, fields)
    lines = text.split("\n")
    prose_lines = []
    for number, line in enumerate(lines):
        if number in labelled.rest:
            column = labelled.rest[number]
            prose_lines.append(" " * column + line[column:])
        elif number in labelled.lines:
            prose_lines.append("")
        else:
            prose_lines.append(line)
    prose = "\n".join(prose_lines)
    frame = split_letter(prose)
    signer, signed_org, signed_self = frame.signer, frame.organisation, frame.self_customer
    prose = frame.body
    if letter and signer is None:
        bare = trailing_signature(prose)
        if bare.signer is not None:
            signer, signed_org, signed_self = bare.signer, bare.organisation, bare.self_customer
            prose = bare.body

    cuts = _Cuts()
    cased = is_cased(prose)
    kept = _scan(prose, cased, cuts)
    # Closing formulas at the end: thanks, generic requests, sign-offs.
    while kept:
        start, end = kept[-1]
        piece = prose[start:end].strip()
        if is_closing(piece) or only_particles(piece):
            kept.pop()
            continue
        break
    problem = join_kept(prose, kept)
    # A closing typed on at the end ("… TIGA KALI TERIMA KASIH"); only the end is looked at.
    offset = max(0, len(problem) - 300)
    closing = trailing_closing_start(problem[offset:])
    if closing is not None and offset + closing > 0:
        problem = problem[: offset + closing].rstrip(" ,;")

    # Who complains: labels, then the introduction, then the signer.
    person = None
    if "complainant_name" in labelled.values:
        person = clean_person(labelled.values.pop("complainant_name"))
    candidates = [p for p in (person, cuts.person, signer) if p is not None]
    chosen = _choose_person(candidates)
    if chosen is not None and "complainant_name" in keys:
        reading.values["complainant_name"] = chosen.name
        reading.title = chosen.title

    # For whom: labels, introduction, signature, then who the problem names.
    customer = labelled.values.pop("customer_name", None)
    if customer is not None:
        if means_self(customer):
            reading.self_customer = True
            customer = None
        else:
            customer = _clean_customer(customer)
    # Said anywhere in the prose, the closing paragraph included.
    said_self = _SELF_INSIDE.search(prose) is not None
    if customer is None and not reading.self_customer:
        # A story that says "for myself" outweighs the organisation under the signature.
        customer = cuts.organisation or (None if said_self else signed_org)
    if customer is None and not reading.self_customer and problem:
        customer = _mentioned_customer(problem, cased)
    if customer is None and said_self:
        cuts.self_customer = True
    if (cuts.self_customer or signed_self) and customer is None:
        reading.self_customer = True
    if customer and "customer_name" in keys:
        reading.values["customer_name"] = customer

    labelled_problem = labelled.values.pop("problem", None)
    if labelled_problem:
        problem = f"{labelled_problem}\n{problem}".strip() if problem else labelled_problem
    if problem and "problem" in keys:
        reading.values["problem"] = problem
    for key, value in labelled.values.items():
        if key in keys:
            reading.values[key] = value

    if problem:
        vague = is_vague(problem) or (cuts.intent and not labelled_problem and topic_only(problem))
        reading.kind = OpeningKind.VAGUE if vague else OpeningKind.CONTENT
    elif chosen is not None or customer or reading.self_customer:
        reading.kind = OpeningKind.INTRO
    elif cuts.intent:
        reading.kind = OpeningKind.INTENT
    elif text.strip():
        reading.kind = OpeningKind.GREETING
    return reading


def _mentioned_customer(problem: str, cased: bool) -> str | None:
    """The customer the story itself names: a family member it is for ("untuk
    anak saya, Rizky"), or a business named with capitals ("sampel dari CV
    Maju Jaya"). Offices and schools named in the story may just be where it
    happened, and names typed without capitals cannot be told from words."""
    relative = _RELATIVE.search(problem)
    if relative:
        named = clean_person(relative.group("name"))
        if named is not None and all(
            looks_like_name_word(w, lower_text=False) for w in named.name.split()
        ):
            return named.name
    if not cased:
        return None
    found = find_organisation(problem, cased=True, heads=BUSINESS_HEADS)
    if found is None or not found[0][:1].isupper():
        return None
    words_ = found[0].split()
    if len(words_) < 2 or not all(
        w[:1].isupper() or w[:1].isdigit() or w.lower() in ("dan", "&", "of") for w in words_
    ):
        return None
    return fix_org_case(found[0])


def _choose_person(candidates: list[PersonName]) -> PersonName | None:
    """The fullest of the names given for the same person; the first otherwise.

    "Budi" in the introduction and "Budi Santoso, S.T." under the signature
    are one person: the signature's fuller form wins, and a title given in
    either place is kept.
    """
    if not candidates:
        return None
    best = candidates[0]
    for other in candidates[1:]:
        if _same_person(best, other):
            fuller = other if len(other.name) > len(best.name) else best
            title = fuller.title or (best.title if fuller is other else other.title)
            best = PersonName(fuller.name, title)
    return best


def _same_person(a: PersonName, b: PersonName) -> bool:
    first_a = a.name.split()[0].lower()
    first_b = b.name.split()[0].lower()
    return (
        first_a == first_b or a.name.lower() in b.name.lower() or b.name.lower() in a.name.lower()
    )


def _clean_customer(value: str) -> str:
    found = find_organisation(value)
    if found and found[1] == 0:
        return fix_org_case(found[0])
    return fix_org_case(value.strip(" ,.;"))
