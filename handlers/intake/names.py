"""People's names: titles and honorifics apart, capitals set right, junk refused.

Rules (docs/intake.md, "complainant_name" and "complainant_title"):

* prefix titles and honorifics ("Dr. Ir. H.", "Bu", "Pak", "Ustadz") and suffix
  degrees ("S.T., M.Sc.") are taken off the name and kept apart, as written,
  prefix first: ``Dr. Ir. H., M.T.`` — a title typed all in lower case gets a
  capital ("pak" → "Pak") except ``dr.``/``drg.``, lower case in Indonesian;
* a name typed all in lower or all in upper case is title-cased;
* phone numbers, email addresses and emoji are never part of a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.intake.lexicon import (
    DOTTED_TITLE,
    FUNCTION_WORDS,
    HONORIFICS,
    NOT_NAMES,
    PLAIN_SUFFIX_TITLES,
    PREFIX_TITLES,
    ROLE_WORDS,
    VERB_PREFIXES,
)
from handlers.intake.segments import storable


@dataclass(frozen=True, slots=True)
class PersonName:
    """A name split from its titles; ``title`` is ``None`` when none was given."""

    name: str
    title: str | None = None


_PHONE = re.compile(r"(?:\+?\d[\d\s().-]{6,}\d)")
#: Longest title kept (characters): ``complaints.complainant_title`` is a
#: String(100) in storage/models.py, and titles are stored without validation.
TITLE_MAX = 100
#: Starts only where a word starts, so a long run without "@" is read once.
_EMAIL = re.compile(r"(?<!\S)\S+@\S+")
_NOT_NAME_CHARS = re.compile(r"[^\w\s.'`’\-,]", re.UNICODE)
_SUFFIX = re.compile(rf"^(?:{DOTTED_TITLE})$")
_TOKEN = re.compile(r"[^\s,]+")


def _title_key(token: str) -> str:
    return token.lower().replace(".", "").strip()


def is_prefix_title(token: str) -> bool:
    """Whether ``token`` ("Dr.", "bu", "Hj.") is a title or honorific written before a name."""
    return _title_key(token) in PREFIX_TITLES


def is_suffix_title(token: str, after_comma: bool) -> bool:
    """Whether ``token`` is a degree written after a name ("S.T.", "M.Sc.", "Ph.D").

    Undotted degrees ("SE", "MBA") count only after a comma, where a name
    word cannot stand.
    """
    token = token.strip(",")
    if not token:
        return False
    letters = sum(1 for c in token if c.isalpha())
    if _SUFFIX.match(token) and any(c.isupper() for c in token) and "." in token and letters >= 2:
        return True
    return after_comma and token.replace(".", "").lower() in PLAIN_SUFFIX_TITLES


def _cap_title(token: str) -> str:
    if token.lower() in ("dr.", "drg.", "dr", "drg"):
        return token
    if token.islower():
        return token[:1].upper() + token[1:]
    return token


def fix_case(name: str) -> str:
    """Title-case ``name`` when it is all lower or all upper case (``budi`` → ``Budi``).

    Apostrophes and hyphens start no new capital ("ma'ruf" → "Ma'ruf").
    """
    letters = [c for c in name if c.isalpha()]
    if not letters:
        return name
    if not (all(c.islower() for c in letters) or all(c.isupper() for c in letters)):
        return name
    return " ".join(_cap_word(w) for w in name.split(" "))


def _cap_word(word: str) -> str:
    out = []
    start = True
    for ch in word.lower():
        if ch.isalpha():
            out.append(ch.upper() if start else ch)
            start = False
        else:
            out.append(ch)
            if ch in "-":
                start = True
    return "".join(out)


def clean_person(raw: str) -> PersonName | None:
    """Split ``raw`` (a name as typed, maybe with titles) into name and title.

    Returns ``None`` when nothing name-like is left (only titles, digits,
    an email address, fewer than two letters). A title longer than
    :data:`TITLE_MAX` keeps only its leading titles that fit.
    """
    text = _EMAIL.sub(" ", storable(raw))
    text = _PHONE.sub(" ", text)
    text = _NOT_NAME_CHARS.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip(" ,-'`’")
    if not text:
        return None
    # Suffix degrees: after the first comma, or dotted tokens at the end.
    main, _, tail = text.partition(",")
    suffix: list[str] = []
    if tail:
        tail_tokens = [t.strip(",") for t in _TOKEN.findall(tail) if t.strip(",")]
        if tail_tokens and all(is_suffix_title(t, True) for t in tail_tokens):
            suffix = tail_tokens
        # Otherwise ("Budi, PT Maju") only the part before the comma is the name.
    tokens = _TOKEN.findall(main)
    while len(tokens) > 1 and is_suffix_title(tokens[-1], False):
        suffix.insert(0, tokens.pop())
    prefix: list[str] = []
    while len(tokens) > 1 and is_prefix_title(tokens[0]):
        # "H." is a title only before another word; a lone initial stays.
        prefix.append(tokens.pop(0))
    name = " ".join(tokens).strip(" ,-")
    # A full stop after a whole word ends a sentence; after an initial it stays.
    if name.endswith(".") and not re.search(r"(?:^|\s)[A-Za-z]\.$", name):
        name = name.rstrip(".")
    letters = sum(1 for c in name if c.isalpha())
    if letters < 2:
        return None
    title_parts = " ".join(_cap_title(p) for p in prefix)
    if suffix:
        suffix_text = ", ".join(suffix)
        title_parts = f"{title_parts}, {suffix_text}" if title_parts else suffix_text
    return PersonName(fix_case(name), _bounded_title(title_parts))


def _bounded_title(titles: str) -> str | None:
    """``titles``, or as many of its leading titles as fit :data:`TITLE_MAX` characters."""
    if len(titles) <= TITLE_MAX:
        return titles or None
    cut = titles[: TITLE_MAX + 1]
    return cut[: max(cut.rfind(" "), 0)].rstrip(" ,") or None


def honorific_only(title: str | None) -> bool:
    """Whether ``title`` is only a way of address ("Bu", "Pak"), no degree."""
    if not title:
        return False
    return all(_title_key(t) in HONORIFICS for t in title.replace(",", " ").split())


def looks_like_name_word(word: str, *, lower_text: bool, capitalised: bool = False) -> bool:
    """Whether ``word`` can be (part of) a person's name in an introduction slot.

    Refused: function words, roles, digits; common words (:data:`NOT_NAMES`:
    "kecewa", "bagus") unless ``capitalised`` — the writer capitalises names
    and this one is written with a capital ("Bagus Prakoso"); in a text typed
    in lower case also words with verb prefixes ("mengirim", "dikirim").
    Initials ("A.", "M.") and the Balinese "I"/"Ni" are name words.
    """
    bare = word.strip(",'’`-").lower()
    if re.fullmatch(r"[a-z]\.", bare) or word in ("I", "Ni", "Ni."):
        return True
    bare = bare.strip(".")
    if len(bare) < 2:
        return False
    if not re.fullmatch(r"[^\W\d_][\w'’`.\-]*", bare, re.UNICODE):
        return False
    if bare in FUNCTION_WORDS or bare in ROLE_WORDS:
        return False
    if bare in NOT_NAMES and (lower_text or not capitalised or not word[:1].isupper()):
        return False
    if (
        lower_text
        and len(bare) > 5
        and bare.startswith(VERB_PREFIXES)
        and bare.endswith(("kan", "i", "an", "nya"))
    ):
        return False
    return True


_PROFILE_JUNK = re.compile(r"[^\w\s.'’\-,]", re.UNICODE)
_NOT_PERSON_WORDS = frozenset(
    """toko shop store official cs admin bengkel warung hp samsung iphone oppo vivo xiaomi
    realme infinix redmi android user whatsapp wa business bisnis jual jualan olshop
    online shop laundry catering katering service servis group grup pt cv ud koperasi
    mama papa bunda ayah umi abi mommy daddy mom dad""".split()
)


def person_from_profile(display: str | None) -> PersonName | None:
    """A chat profile name ("Rina 🌸", "Bu Hj. Sumarni") as a name suggestion, or ``None``.

    Names of shops, phones and placeholders ("Toko Berkah", "HP Samsung",
    "✨") are not offered.
    """
    if not display:
        return None
    text = _PROFILE_JUNK.sub(" ", display)
    text = re.sub(r"\s+", " ", text).strip()
    if not text or any(c.isdigit() for c in text):
        return None
    words_ = [w.strip(".,").lower() for w in text.split()]
    if any(w in _NOT_PERSON_WORDS for w in words_) or len(words_) > 6:
        return None
    person = clean_person(text)
    if person is None:
        return None
    if not all(
        looks_like_name_word(w, lower_text=False) or (len(w) == 1 and w.isupper())
        for w in person.name.split()
    ):
        return None
    return person
