"""Organisations: finding where a name starts and ends, and setting its capitals.

Rules (docs/intake.md, "customer_name"):

* an organisation starts with a head word — a legal form (PT, CV, UD,
  koperasi, yayasan) or the kind of institution (dinas, puskesmas, SMKN, RSUD,
  laboratorium, universitas, desa, toko …) — or ends in a foreign legal form
  ("Ltd", "Inc.");
* it ends before a comma, a full stop, a bracket, or a word that starts a new
  clause ("yang", "mau", "di", "sejak" …);
* typed all in lower case it is title-cased, legal forms and school kinds in
  capitals ("pt sinar jaya" → "PT Sinar Jaya"), "dan/di/of" kept lower case.
"""

from __future__ import annotations

import re

from handlers.intake.lexicon import (
    NOT_NAMES,
    ORG_CAPITALS,
    ORG_HEADS,
    ORG_LOWER,
    PRONOUNS,
    SELF_PHRASES,
    alternation,
)

_HEADS = alternation(ORG_HEADS | {h.replace(" ", "") for h in ORG_HEADS})
#: A head word, with an optional dot after legal forms ("PT.", "C.V.").
HEAD = rf"(?:P\.?T\.?|C\.?V\.?|U\.?D\.?|(?i:{_HEADS}))\.?"

#: Words that end an organisation's name when they follow it.
_ORG_STOPS = frozenset(
    """yang yg di dari mau mw mo ingin pengen pgn hendak akan sejak sdh sudah udah udh telah belum blm
    tidak tdk gak ga nggak dan serta untuk utk buat karena krn sebab tapi tetapi namun
    kok nih sih dong deh ya kak min pak bu mas mbak ingin mengadu melapor lapor komplain
    komplen mengenai tentang soal terkait perihal atas bahwa ketika saat waktu pada
    kemarin kmrn tadi barusan sekarang skrg baru lalu kemudian terus trus jadi
    pernah sempat mengirim kirim ngirim menguji minta meminta mohon bermaksud
    dengan dgn selaku sebagai mewakili perwakilan bagian divisi no nomor telp hp wa
    would want like wish am is are was were have has had that which who about regarding
    since because but and to for on in at we i our my kami kmi saya sy aku gue gw kita ikut
    juga jg ini itu tsb tersebut nya punya sering selalu masih msh lg lagi""".split()
)

_CLAUSE_END = re.compile(r"[,.;:!?()\[\]\n]|\s[-–—]\s|\s/\s")
_FOREIGN_FORM = re.compile(
    r"\b(?:[A-Z][\w&'.-]*\s+){0,5}[A-Z][\w&'.-]*\s+(?:Ltd\.?|Inc\.?|LLC|Corporation|Corp\.?(?!\w)|"
    r"Co\.,?\s*Ltd\.?|GmbH|B\.V\.|Pte\.?\s+Ltd\.?|Sdn\.?\s+Bhd\.?)",
)


def _strip_tail(value: str) -> str:
    value = value.strip(" \t-–—:/")
    # A trailing full stop belongs to an abbreviation only ("Tbk.", "Kab.").
    if value.endswith(".") and not re.search(r"\b(?:[A-Za-z]{1,4}|Tbk|Kab|Kec|Kel)\.$", value):
        value = value[:-1]
    return value.strip()


def is_cased(text: str) -> bool:
    """Whether ``text`` uses capitals as ordinary writing does, so that a name is
    written with them: some capitalised word stands inside a sentence
    ("saya Rahmat Hidayat dari PT …"). Text typed in lower case with a few
    acronyms ("sy budi dari pt sinar jaya. sertifikat SNI …") or all in
    capitals is not."""
    for match in re.finditer(r"(?:^|(?<=[^\s]))(\s+)([^\W\d_][\w'’-]*)", text):
        word = match.group(2)
        before = text[: match.start(1)].rstrip()
        if not before or before[-1] in ".!?:\n\"'(":
            continue  # a sentence's first word is capitalised anyway
        if word[:1].isupper() and any(c.islower() for c in word[1:]):
            return True
    return False


#: Lower-case words that may stand inside a capitalised name ("Dinas Pertanian
#: dan Pangan", "RSUD dr. Soetomo", "Faculty of Engineering").
_INNER_LOWER = frozenset(
    {
        "dan",
        "di",
        "ke",
        "of",
        "and",
        "the",
        "&",
        "dr.",
        "drg.",
        "de",
        "van",
        "der",
        "bin",
        "binti",
        "untuk",
        "for",
        "pada",
    }
)
#: Of those, the ones that only link two capitalised words.
_LINKING = frozenset({"dan", "of", "and", "the", "&", "untuk", "for", "de", "van", "der"})


def _word_ok(word: str, cased: bool) -> bool:
    bare = word.strip(",.;:!?()[]\"'")
    if not bare:
        return False
    if not cased:
        return True
    return bare[0].isupper() or bare[0].isdigit() or word.lower() in _INNER_LOWER or "-" in bare[:1]


def _links_on(tokens: list[re.Match[str]], index: int, cased: bool) -> bool:
    """Whether the linking word at ``index`` ("dan", "of") joins two parts of one name."""
    word = tokens[index].group(0)
    if word.lower() not in _LINKING or word.endswith((",", ".")) or index + 1 >= len(tokens):
        return False
    nxt = tokens[index + 1].group(0).strip(",.;:!?()\"'")
    if not nxt:
        return False
    if cased:
        return nxt[:1].isupper()
    return nxt.lower() not in _ORG_STOPS and nxt.lower() not in NOT_NAMES


def cut_organisation(text: str, *, cased: bool | None = None) -> str:
    """The organisation name at the start of ``text``, up to where the clause moves on.

    ``text`` starts with the name ("PT Sinar Jaya yang di Bekasi mau …" →
    "PT Sinar Jaya"). Dots inside abbreviations ("RSUD dr. Soetomo",
    "Kab. Bogor", "PT. ABC") do not end it. In ``cased`` writing (default:
    judged from ``text``) the name is its capitalised words — linking words
    ("dan", "of") only between two of them; in text typed all in one case
    it ends at a word that starts a new clause.
    """
    if cased is None:
        cased = is_cased(text)
    if cased and text[:1].islower():
        cased = False  # the name itself is typed in lower case ("staf dinas pertanian …")
    words_: list[str] = []
    line = text.split("\n", 1)[0]
    tokens = list(re.finditer(r"\S+", line))
    for index, match in enumerate(tokens):
        word = match.group(0)
        bare = word.strip(",.;:!?()[]\"'").lower()
        if (
            words_
            and bare in _ORG_STOPS
            and not (cased and word[:1].isupper())
            and not _links_on(tokens, index, cased)
        ):
            break
        if words_ and cased and not _word_ok(word, cased):
            break
        if words_ and cased and bare in _LINKING:
            nxt = tokens[index + 1].group(0) if index + 1 < len(tokens) else ""
            if not nxt[:1].isupper():
                break
        # Punctuation that closes the clause.
        end_mark = re.search(r"[,;:!?()\[\]]", word)
        if end_mark is not None:
            head = word[: end_mark.start()]
            if head:
                words_.append(head)
            if word.startswith("(") and word.rstrip(",.").lower() in ("(persero)", "(persero)tbk"):
                words_.append(word.rstrip(",."))
            break
        if word.endswith(".") and not _abbreviation_dot(word, line[match.end() :]):
            words_.append(word[:-1])
            break
        words_.append(word)
        if len(words_) >= 12:
            break
    return _strip_tail(" ".join(words_))


def _abbreviation_dot(word: str, rest: str) -> bool:
    """Whether the full stop ending ``word`` belongs to an abbreviation inside
    the name ("PT.", "Kab.", "dr.") rather than ending the sentence."""
    core = word[:-1]
    lower = core.lower().replace(".", "")
    if "." in core:
        return True
    if lower in {"pt", "cv", "ud", "dr", "kab", "kec", "kel", "ds"}:
        return True
    if lower in {
        "drg",
        "tbk",
        "jl",
        "no",
        "prov",
        "h",
        "hj",
        "ir",
        "prof",
        "st",
        "kop",
        "univ",
        "pd",
        "rs",
        "sd",
        "kp",
    }:
        nxt = rest.lstrip()
        return bool(nxt) and not nxt[:1].isupper() if lower == "tbk" else bool(nxt)
    return len(core) == 1 and core.isalpha()


_HEAD_AT = re.compile(rf"(?<![\w.]){HEAD}(?=[\s.]|$)")


def find_organisation(
    text: str, *, cased: bool | None = None, heads: frozenset[str] | None = None
) -> tuple[str, int, int] | None:
    """The first organisation named in ``text``: (name as typed, start, end) or ``None``.

    Looks for a head word followed by at least one more word, or a name
    ending in a foreign legal form. ``heads`` limits the head words (lower
    case, no dots) that count, e.g. to legal forms only.
    """
    if cased is None:
        cased = is_cased(text)
    best: tuple[str, int, int] | None = None
    for match in _HEAD_AT.finditer(text):
        start = match.start()
        if heads is not None and match.group(0).lower().replace(".", "").strip() not in heads:
            continue
        name = cut_organisation(text[start:], cased=cased)
        if len(name.split()) < 2 and not _is_known_single(name):
            continue
        if not _plausible(name):
            continue
        best = (name, start, start + len(name))
        break
    foreign = _FOREIGN_FORM.search(text)
    if foreign and (best is None or foreign.start() < best[1]):
        return foreign.group(0), foreign.start(), foreign.end()
    if best is not None and cased:
        # "Hanoi University of Science and Technology": the kind stands inside.
        english = english_organisation(text)
        if english is not None and english[1] < best[1] <= english[2]:
            return english
    return best


def _is_known_single(name: str) -> bool:
    return name.replace(".", "").upper() in {
        "ITS",
        "UI",
        "UGM",
        "IPB",
        "ITB",
        "PLN",
        "PDAM",
        "BPJS",
    }


def _plausible(name: str) -> bool:
    """An organisation name has a word besides its head that is not a common word."""
    words_ = name.split()
    rest = [w.strip(".,").lower() for w in words_[1:]]
    if not rest:
        return _is_known_single(name)
    if all(w in NOT_NAMES for w in rest):
        return False
    return True


#: Heads of private businesses and co-operatives: an organisation with one of
#: these, named inside the story, is the customer; an office or a school
#: named there may just be where it happened.
BUSINESS_HEADS = frozenset(
    """pt cv ud pd fa firma perum perumda koperasi kop kud ksp kspps bmt yayasan toko bengkel
    apotek apotik klinik rumah makan warung depot restoran resto cafe kafe hotel pabrik homestay
    villa resort wisma
    percetakan konveksi catering katering salon bumdes""".split()
)


def starts_with_head(text: str) -> bool:
    """Whether ``text`` begins with an organisation head word ("PT", "Dinas", "SMKN" …)."""
    return bool(re.match(rf"\s*{HEAD}(?=[\s.]|$)", text))


def fix_org_case(name: str) -> str:
    """Title-case an organisation name typed all in lower case (docs/intake.md).

    Legal forms and school kinds come out in capitals (:data:`ORG_CAPITALS`),
    linking words in lower case (:data:`ORG_LOWER`); other spellings are kept.
    """
    letters = [c for c in name if c.isalpha()]
    if not letters or not all(c.islower() for c in letters):
        return name
    out = []
    for index, word in enumerate(name.split(" ")):
        bare = word.strip(".,")
        key = bare.replace(".", "")
        if key in ORG_CAPITALS:
            fixed = word.replace(bare, ORG_CAPITALS[key] if "." not in bare else bare.upper())
        elif index > 0 and bare in ORG_LOWER:
            fixed = word
        elif re.fullmatch(r"[ivx]+", bare) and len(bare) <= 4 and index > 0:
            fixed = word.upper()
        else:
            fixed = "-".join(p[:1].upper() + p[1:] for p in word.split("-"))
        out.append(fixed)
    return " ".join(out)


_SELF = re.compile(
    rf"^\s*(?:(?:ini|itu|untuk|utk|buat|bwt|for|it'?s|its|is|atas\s+nama|a\.?n\.?)\s+)?"
    rf"(?:{alternation(SELF_PHRASES)}|(?:{alternation(PRONOUNS)})\s+(?:sendiri|sndiri|pribadi|"
    rf"piyambak|nyalira|sorangan|surang|dhewe|dewe|aja|saja|sj|myself))"
    rf"(?:\s+(?:saja|aja|sj|ja|kok|sih|aja\s+kak|aja\s+min|min|kak|pak|bu|only|please))*\s*[.!]*\s*$",
    re.IGNORECASE,
)


def means_self(text: str) -> bool:
    """Whether ``text`` says "on my own behalf" ("saya sendiri", "pribadi", "for myself")."""
    return bool(_SELF.match(text.strip().strip("\"'")))


#: English kinds of organisation, written after the name ("Penang Rubber
#: Research Centre", "Hanoi University of Science and Technology", "Lionpack Ltd").
_ENGLISH_KINDS = (
    r"(?:University|Universiti|Institute|College|Polytechnic|Academy|Hospital|Centre|Center|"
    r"Laboratory|Laboratories|Lab|Labs|Company|Corporation|Corp\.?(?!\w)|Foundation|Association|"
    r"Agency|Ministry|Bureau|Council|Department|School|Clinic|Group|Industries|Holdings|"
    r"Enterprises?|Trading|Ltd\.?|Limited|Inc\.?|LLC|GmbH|Co\.)"
)
_ENGLISH_ORG = re.compile(
    rf"\b(?:[A-Z][\w&'.-]*\s+){{0,5}}{_ENGLISH_KINDS}(?:\s+(?:of|for|and|&|the|[A-Z][\w&'.-]*)){{0,6}}"
)


def english_organisation(text: str) -> tuple[str, int, int] | None:
    """An organisation named the English way, its kind inside or at the end
    ("Hanoi University of Science and Technology"): (name, start, end) or ``None``."""
    match = _ENGLISH_ORG.search(text)
    if match is None:
        return None
    name = match.group(0).rstrip(" .,")
    while name.split()[-1].lower() in ("of", "for", "and", "&", "the"):
        name = name.rsplit(" ", 1)[0]
    if len(name.split()) < 2:
        return None
    return name, match.start(), match.start() + len(name)
