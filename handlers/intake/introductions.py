"""Self-introductions: "perkenalkan, saya Budi dari PT X", "this is Kevin from …".

An introduction stands at the start of a clause. It gives a name (with any
titles), an organisation, or both, often through a position ("staf Dinas PU",
"bagian QC di PT X", "selaku kepala sekolah SDN 3", "plant manager of PT X"),
sometimes with contact details or where the organisation is ("di Magetan").
:func:`match_intro` returns what it found and how far it reaches, so the
caller can cut exactly that span out of the problem text (docs/intake.md,
"problem", rule 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.intake.lexicon import ROLE_WORDS, alternation
from handlers.intake.names import (
    PersonName,
    clean_person,
    is_prefix_title,
    is_suffix_title,
    looks_like_name_word,
)
from handlers.intake.organisations import (
    HEAD,
    cut_organisation,
    fix_org_case,
    starts_with_head,
)
from handlers.intake.predicates import says_something_happened


@dataclass(frozen=True, slots=True)
class Intro:
    """What an introduction said; ``end`` is where it stops in the text given."""

    person: PersonName | None
    organisation: str | None
    end: int


_SUBJECT = r"(?:saya|sy|aku|aq|ak|gue|gua|gw|kami|kula|kulo|abdi|simkuring|ambo|awak|ane|beta|i|we)"
_WORD_END = r"(?=[\s,:.]|$)"
#: Subjects a person's name follows ("saya Budi"; "kami" introduces an organisation only).
_PERSON_SUBJECT = r"(?:saya|sy|aku|aq|ak|gue|gua|gw|kula|kulo|abdi|simkuring|ambo|awak|ane|beta|i)"
#: Leads that may open an introduction anywhere in a clause sequence.
_LEADS = (
    # "perkenalkan, nama saya …", "kenalin aku …"
    r"(?:perkenalkan|kenalkan|kenalin|perkenalan|perkenankan|perkenankanlah|"
    r"izinkan\s+saya\s+memperkenalkan\s+diri|"
    r"ijinkan\s+saya\s+memperkenalkan\s+diri|saya\s+perkenalkan\s+diri|"
    r"let\s+me\s+introduce\s+myself|allow\s+me\s+to\s+introduce\s+myself)"
    r"[\s,:.-]*(?:(?:nama\s+)?(?:saya|sy|aku|gue|gw)\s*(?:adalah\s+|:\s*)?|"
    r"(?:my\s+name\s+is|i\s+am|i'm)\s+)?",
    r"(?:nama\s+(?:lengkap\s+)?(?:saya|sy|aku|ak|aq|gue|gw|kula|kulo|abdi)|namaku|namaq|"
    r"nami\s+(?:kula|kulo|abdi|kawula)|my\s+(?:full\s+)?name\s+is|my\s+name'?s|"
    r"name\s+is|name'?s)" + _WORD_END + r"\s*(?:adalah\s+|ialah\s+|yaitu\s+|:\s*|is\s+)?",
    rf"(?:i\s+am|i'm|this\s+is|it'?s|it\s+is|here\s+is|{_PERSON_SUBJECT}|im)"
    + _WORD_END
    + r"[\s,]*(?:adalah\s+|dengan\s+|dgn\s+|bernama\s+|yang\s+bernama\s+)?",
)
#: Leads only at the start of a message: "dengan Budi di sini", "ini Rina".
_MESSAGE_LEADS = (r"(?:ini\s+dengan|ini\s+dgn|dengan|dgn|ini)\s+",)
_LEAD = re.compile(rf"^\s*(?:{'|'.join(_LEADS)})", re.IGNORECASE)
_MESSAGE_LEAD = re.compile(rf"^\s*(?:{'|'.join(_LEADS + _MESSAGE_LEADS)})", re.IGNORECASE)
#: Leads after which only an organisation may follow ("kami dari PT X").
_ORG_LEAD = re.compile(
    rf"^\s*(?:(?:{_SUBJECT})\s+)?(?:(?:ini|adalah|juga)\s+)?"
    r"(?:dari|dr|dri|ti|saking|from|mewakili|perwakilan(?:\s+dari)?|wakil\s+dari|utusan\s+dari|"
    r"representing|on\s+behalf\s+of|i\s+represent|we\s+represent|dari\s+pihak|"
    r"bertindak\s+(?:untuk\s+dan\s+)?(?:atas\s+nama|mewakili)|"
    r"(?:i'?m|i\s+am|we\s+are|we're)\s+(?:contacting|writing\s+to|reaching\s+out\s+to|"
    r"messaging|writing)\s+(?:you\s+)?(?:on\s+behalf\s+of|from|for)|"
    r"(?:i\s+am|i'm|we\s+are)\s+writing\s+on\s+behalf\s+of|writing\s+on\s+behalf\s+of)\s+",
    re.IGNORECASE,
)
_ROLES = alternation(ROLE_WORDS)
#: Words that may stand before a role ("plant manager", "wakil kepala").
ROLE_MODIFIERS = (
    r"(?:wakil|asisten|senior|junior|plant|general|sales|operations|head|chief|deputy|quality|lab|"
    r"laboratory|production|purchasing|project|kepala|staf|staff|pejabat|pelaksana|petugas|tenaga)"
)
_ROLE = re.compile(
    rf"^\s*(?:(?:{_SUBJECT}|i\s+am|i'm|im|we\s+are)\s+)?"
    r"(?:(?:adalah|sebagai|selaku|sbg|slaku|ini|the|an?|salah\s+satu|one\s+of\s+the)\s+)*"
    rf"(?:{ROLE_MODIFIERS}\s+){{0,2}}(?:{_ROLES})(?:\s+(?:[\w./&-]+)){{0,3}}?\s+"
    r"(?:(?:di|dari|dr|pada|at|of|from|for|with|in|bagian|divisi)\s+)?(?=(?:"
    + HEAD
    + r")(?:[\s.]|$))",
    re.IGNORECASE,
)
_LINK = re.compile(
    r"^[\s,]*(?:[-–—/]\s*|\(\s*)?"
    r"(?:(?:dari|dr|dri|asal|ti|saking|mewakili|perwakilan(?:\s+dari)?|wakil\s+dari|utusan\s+dari|"
    r"dari\s+pihak|selaku|sebagai|sbg|from|of|at|with|representing|on\s+behalf\s+of|"
    r"bertindak\s+(?:untuk\s+dan\s+)?atas\s+nama)\s+)?"
    rf"(?:(?:the|an?|salah\s+satu)\s+)?(?:(?:{ROLE_MODIFIERS}\s+){{0,2}}(?:{_ROLES})(?:\s+[\w./&-]+){{0,3}}?\s+"
    r"(?:(?:di|dari|dr|pada|at|of|from|in|for|bagian)\s+)?(?=(?:" + HEAD + r")(?:[\s.]|$)))?",
    re.IGNORECASE,
)
#: A link straight to an organisation, before any role ("dari Departemen …").
_DIRECT_LINK = re.compile(
    r"^[\s,]*(?:[-–—/]\s*|\(\s*)?(?:(?:dari|dr|dri|asal|ti|saking|mewakili|perwakilan(?:\s+dari)?|"
    r"from|of|at|with|representing|on\s+behalf\s+of)\s+)?",
    re.IGNORECASE,
)
#: "Siswa PKL kami di …": someone else's role, not an introduction.
_POSSESSIVE = re.compile(r"\b(?:kami|saya|sy|kita|aku|our|my)\b", re.IGNORECASE)
_LEADING_SUBJECT = re.compile(rf"^\s*(?:{_SUBJECT}|i\s+am|i'm|im|we\s+are)\s+", re.IGNORECASE)
_WITHIN = re.compile(r"^\s*(?:di|pada|at|of)\s+(?=[A-Z])", re.IGNORECASE)
_TAIL_HERE = re.compile(
    r"^\s*(?:di\s*sini|disini|dsni|here|speaking|yang\s+bicara)\b[\s,.]*", re.IGNORECASE
)
#: Contact details right after a name: "(0812…)", "- budi@x.id", ", HP 0812…".
_CONTACT = re.compile(
    r"^[\s,;:-]*(?:\(\s*)?(?:(?:no\.?\s*)?(?:hp|wa|telp|tlp|telepon|phone|email|e-mail)\.?\s*[:.]?\s*)?"
    r"(?:\+?\d[\d\s().-]{6,}\d|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)(?:\s*\))?",
    re.IGNORECASE,
)
#: Where the organisation is: "di Magetan", "in Cikarang", "yang beralamat di …".
_PLACE = re.compile(
    r"^\s*,?\s*(?:(?:yang\s+)?(?:beralamat|berlokasi|berkedudukan|berada|located|based)\s+(?:di|in|at)|di|in)"
    r"\s+(?:[A-Z][\w.'-]*|Jl\.?|Jalan|Kab\.?|Kota|Kec\.?|Desa|Kel\.?|No\.?|RT|RW|\d+)"
    r"(?:[\s,]+(?:[A-Z][\w.'/-]*|Jl\.?|Jalan|Kab\.?|Kabupaten|Kota|Kec\.?|Kecamatan|Desa|Kel\.?|"
    r"Kelurahan|No\.?|RT|RW|Km|\d+[\w/-]*|dan))*",
)
_NAME_STOPS = frozenset(
    """dari dr dri from of at mewakili perwakilan representing selaku sebagai staf staff pegawai
    karyawan mau mw mo ingin pengen pgn hendak akan mohon minta yang yg dan and with dengan di
    ke untuk utk bagian divisi pemilik owner ketua kepala guru dosen warga mahasiswa
    mahasiswi siswa ini itu here speaking the a an ti saking""".split()
)


#: Abbreviated given names whose full stop is part of the name ("Muh. Fadli").
_NAME_ABBREVIATIONS = frozenset("muh moh mhd moch much abd ach achmad".split())


#: Lower-case words inside names ("Fatimah binti Ali", "van der Berg").
_NAME_PARTICLES = frozenset("bin binti van der de da di al el la le von".split())


def take_name(text: str, lower_text: bool) -> tuple[PersonName | None, int]:
    """A person's name at the start of ``text``, with titles: (name, characters used).

    Reads prefix titles, then up to five name words, then suffix degrees
    ("Budi Santoso, S.T., M.T."); stops at a bracket, a line break, a word
    that cannot be a name, or anything after the degrees.
    """
    pieces: list[str] = []
    last_end = 0
    name_words = 0
    in_suffix = False
    for match in re.finditer(r"[^\s,;:!?()\[\]]+|,", text):
        piece = match.group(0)
        between = text[last_end : match.start()]
        if "\n" in between or "(" in between or "[" in between or (pieces and ")" in between):
            break
        if piece == ",":
            # A comma may lead to suffix degrees: "Budi, S.T., M.T."
            nxt = re.match(r"\s*([^\s,]+)", text[match.end() :])
            if nxt and name_words and is_suffix_title(nxt.group(1), True):
                pieces.append(",")
                last_end = match.end()
                in_suffix = True
                continue
            break
        if in_suffix:
            if (pieces[-1] == "," and is_suffix_title(piece, True)) or is_suffix_title(
                piece, False
            ):
                pieces.append(piece)
                last_end = match.end()
                continue
            break
        bare = piece.strip(".").lower()
        if piece.lower() in _NAME_STOPS and pieces:
            break
        if name_words == 0 and is_prefix_title(piece) and not (piece in ("I", "Ni") and not pieces):
            pieces.append(piece)
            last_end = match.end()
            continue
        if name_words and is_suffix_title(piece, False):
            pieces.append(piece)
            last_end = match.end()
            in_suffix = True
            continue
        if not looks_like_name_word(piece, lower_text=lower_text, capitalised=not lower_text):
            break
        if not lower_text and piece[:1].islower() and piece.lower() not in _NAME_PARTICLES:
            break  # in writing with capitals, a name is written with them
        if piece.endswith(".") and len(piece.strip(".")) > 1 and bare not in _NAME_ABBREVIATIONS:
            # "Budi." ends the sentence ("Muh." does not).
            pieces.append(piece[:-1])
            name_words += 1
            last_end = match.end() - 1
            break
        if name_words >= 6:
            break
        pieces.append(piece)
        name_words += 1
        last_end = match.end()
    if not name_words:
        return None, 0
    while pieces and pieces[-1] == ",":
        pieces.pop()
    raw = " ".join(pieces).replace(" ,", ",")
    person = clean_person(raw)
    if person is None:
        return None, 0
    return person, last_end


_PROPER = re.compile(r"(?:[A-Z][\w&'.-]*)(?:\s+(?:of|and|&|the|de|[A-Z][\w&'.-]*))*")


def _take_org(text: str, cased: bool, *, english: bool = False) -> tuple[str | None, int]:
    """An organisation right at the start of ``text``: (name, characters used).

    ``english``: after "from"/"at"/"of" any run of capitalised words names one
    ("from Universiti Malaya", "at Mayo Clinic"), as English writes them.
    """
    stripped = text.lstrip()
    offset = len(text) - len(stripped)
    if english and cased and not starts_with_head(stripped):
        proper = _PROPER.match(stripped)
        if proper and len(proper.group(0).split()) >= 2:
            name = proper.group(0).rstrip(".")
            while name.split()[-1].lower() in ("of", "and", "the", "&", "de"):
                name = name.rsplit(" ", 1)[0]
            return name, offset + len(name)
    if starts_with_head(stripped):
        name = cut_organisation(stripped, cased=cased)
        if name and (
            len(name.split()) >= 2
            or name.replace(".", "").upper() in {"ITS", "UGM", "IPB", "ITB", "UI"}
        ):
            used = offset + len(name)
            rest = text[used:]
            if rest.startswith(".") and name.endswith((" Tbk", "Tbk")):
                used += 1
            return fix_org_case(name), used
    return None, 0


def _tail(text: str, end: int) -> int:
    """Swallow contact details and a place after an introduction."""
    while True:
        contact = _CONTACT.match(text[end:])
        if contact and contact.group(0).strip(" ,;:-"):
            end += contact.end()
            continue
        place = _PLACE.match(text[end:])
        if place and place.group(0).strip(" ,"):
            end += place.end()
            continue
        return end


def match_intro(
    clause: str,
    *,
    lower_text: bool,
    message_start: bool = False,
    cased: bool = True,
    roles: bool = True,
) -> Intro | None:
    """The introduction at the start of ``clause``, or ``None``.

    ``lower_text``: the whole message is typed in lower case, so capitals
    cannot tell names apart and verb-like words are refused as names.
    ``message_start``: the clause opens a message, where "dengan Budi" and
    "ini Rina" introduce (elsewhere they are ordinary sentences). ``roles``:
    a position alone may introduce ("staf Dinas PU, …") — at a sentence's start
    or right after a name, not in the middle of a story ("…, mahasiswa
    Departemen X dengan NRP …").
    """
    org_lead = _ORG_LEAD.match(clause)
    if org_lead:
        org, length = _take_org(clause[org_lead.end() :], cased)
        if org:
            return Intro(None, org, _tail(clause, org_lead.end() + length))
    role = _ROLE.match(clause) if roles else None
    if role and not _POSSESSIVE.search(_LEADING_SUBJECT.sub("", role.group(0), count=1)):
        org, length = _take_org(clause[role.end() :], cased)
        if org:
            return Intro(None, org, _tail(clause, role.end() + length))
    plain = _ROLE_ONLY.match(clause) if roles else None
    if plain and not says_something_happened(clause[plain.end() :]):
        return Intro(None, None, len(clause))
    lead = (_MESSAGE_LEAD if message_start else _LEAD).match(clause)
    if not lead:
        # "Mr. Ryan Hakim here, …", "Budi di sini": a name first, then "here".
        if lower_text:
            return None
        person, length = take_name(clause, lower_text)
        if person is None or not _TAIL_HERE.match(clause[length:]):
            return None
        return _after_name(clause, person, length, "", cased)
    rest = clause[lead.end() :]
    lead_text = lead.group(0).strip().lower()
    person, length = take_name(rest, lower_text)
    if person is None:
        return None
    return _after_name(clause, person, lead.end() + length, lead_text, cased)


def _after_name(
    clause: str, person: PersonName, end: int, lead_text: str, cased: bool
) -> Intro | None:
    """The rest of an introduction after the name: contact details, "di sini",
    an organisation (through a position), a place."""
    end = _tail(clause, end)
    after = clause[end:]
    here = _TAIL_HERE.match(after)
    if here:
        end += here.end()
        after = clause[end:]
    link = _LINK.match(after)
    organisation = None
    direct = _DIRECT_LINK.match(after)
    if direct:
        org, org_length = _take_org(after[direct.end() :], cased)
        if org:
            link = direct
    if link:
        english = bool(
            re.search(r"\b(?:from|at|of|with|representing)\s*$", link.group(0), re.IGNORECASE)
        )
        org, org_length = _take_org(after[link.end() :], cased, english=english)
        if org:
            organisation = org
            end = end + link.end() + org_length
            inner = _WITHIN.match(clause[end:])
            if inner and cased and org[:1].islower():
                # "kepala laboratorium QC di PT Sinar Kemas": the company, not the department.
                outer, outer_length = _take_org(clause[end + inner.end() :], cased)
                if outer:
                    organisation = outer
                    end = end + inner.end() + outer_length
            end = _tail(clause, end)
            after = clause[end:]
    # A bare subject ("saya budi") must be followed by the end of the clause,
    # an organisation, a role, an intent or "di sini"; else it is a sentence
    # ("saya antar berkas ke loket").
    if organisation is None and not _ends_well(after, lead_text):
        return None
    return Intro(person, organisation, end)


#: "saya mahasiswa angkatan 2019", "kami warga RT 03": who they are, no organisation.
_ROLE_ONLY = re.compile(
    rf"^\s*(?:{_SUBJECT}|i\s+am|i'm|we\s+are)\s+(?:(?:adalah|sebagai|selaku|the|an?|salah\s+satu)\s+)?"
    rf"(?:{ROLE_MODIFIERS}\s+){{0,2}}(?:{_ROLES})\b",
    re.IGNORECASE,
)


_GOOD_NEXT = re.compile(
    r"^\s*(?:$|[,.;:!?)\n-]|(?:mau|mw|mo|ingin|pengen|pgn|hendak|akan|bermaksud|mohon|minta|"
    r"would|want|wish|am\s+writing|and\s+i|dan\s+saya|selaku|sebagai|dari|from|"
    r"here|di\s*sini|disini|izin|ijin|perwakilan|mewakili|representing|warga|staf|"
    r"staff|pegawai|karyawan|bagian|pemilik|owner|guru|dosen|mahasiswa|mahasiswi|kepala|"
    r"ketua|pelanggan|customer|peserta|participant|sbg|slaku|lagi|nih|ya|kak|min|"
    r"pak|bu|mas|mbak|mengadu|melapor|lapor|komplain|komplen|complain|ngadu)\b)",
    re.IGNORECASE,
)


def _ends_well(after: str, lead_text: str) -> bool:
    if lead_text.startswith(
        ("nama", "my name", "name", "perkenalkan", "kenal", "nami", "let me", "allow me")
    ):
        return True
    return bool(_GOOD_NEXT.match(after))


__all__ = ["HEAD", "Intro", "match_intro"]
