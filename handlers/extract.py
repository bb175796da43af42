"""Reading intake fields out of free text (informal Indonesian or English).

The intake engine calls :func:`extract_fields` on a conversation's first
message ("nama saya Budi dari PT Sinar Jaya, laporan kami terlambat") and on
answers that name several fields at once ("Nama: Budi" lines). What it returns
are candidates: each is still validated against the profile.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from handlers.profile import IntakeField

_GREETING = re.compile(
    r"^\s*(?:(?:halo|hallo|hai|hi|hello|dear|p|pagi|siang|sore|malam|"
    r"selamat\s+(?:pagi|siang|sore|malam)|assalamu'?alaikum(?:\s+wr\.?\s*wb\.?)?|"
    r"salam|permisi|good\s+(?:morning|afternoon|evening)|min|admin|kak|pak|bu|bapak|ibu)"
    r"\b[\s,.!]*)+",
    re.IGNORECASE,
)

_NAME_WORD = r"[A-Za-z](?:\.|[A-Za-z'`-]*)"
_NAME = rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,4}}"
_STOP = r"(?=\s*(?:[,.;:!?\n]|\s+(?:dari|from|of|at|with|dengan|mau|ingin|want|would|ingin|"
_STOP += r"selaku|sebagai|perwakilan|ya|yang|and|dan)\b|$))"

_NAME_PATTERNS = (
    re.compile(rf"\bnama\s+saya\s+(?:adalah\s+)?(?P<v>{_NAME}?){_STOP}", re.IGNORECASE),
    re.compile(rf"\bmy\s+name\s+is\s+(?P<v>{_NAME}?){_STOP}", re.IGNORECASE),
    re.compile(rf"^\s*(?:saya|i\s+am|i'm|this\s+is)\s+(?P<v>{_NAME}?){_STOP}", re.IGNORECASE),
)

_ORG_PREFIX = r"(?:PT\.?|CV\.?|UD\.?|Koperasi|Yayasan|Perum|Perumda|PD\.?|Universitas|Dinas|Badan)"
_CUSTOMER_PATTERNS = (
    re.compile(
        rf"\b(?:dari|from|of|at|perwakilan|mewakili|representing)\s+(?P<v>{_ORG_PREFIX}\s+[^,.;\n]{{2,80}}?)"
        r"(?=\s*(?:[,.;\n]|\s+(?:mau|ingin|want|would|yang|ingin|mengadukan)\b|$))",
        re.IGNORECASE,
    ),
    re.compile(
        r"\batas\s+nama\s+(?:pelanggan\s+|peserta\s+)?(?P<v>[^,.;\n]{2,80}?)(?=\s*(?:[,.;\n]|$))",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:on\s+behalf\s+of)\s+(?P<v>[^,.;\n]{2,80}?)(?=\s*(?:[,.;\n]|$))", re.IGNORECASE
    ),
    re.compile(rf"(?P<v>\b{_ORG_PREFIX}\s+[A-Z][^,.;\n]{{1,80}}?)(?=\s*(?:[,.;\n]|$))"),
)

_NOT_NAMES = frozenset(
    """mau ingin akan sudah belum tidak mohon minta ingin hendak perlu sangat sedang lagi
    masih baru want would will have am not writing here to just the very so already""".split()
)

_LABEL_LINE = re.compile(r"^\s*(?P<label>[^:\n]{2,40}?)\s*[:=]\s*(?P<value>\S.*)$")

_INTRO_WORDS = re.compile(
    r"^\s*(?:saya\s+mau\s+(?:komplain|mengadu|melapor)|mau\s+komplain|i\s+want\s+to\s+complain)"
    r"[\s,.:]*$",
    re.IGNORECASE,
)


def strip_greeting(text: str) -> str:
    """Remove leading greetings ("Selamat pagi min, ...")."""
    return _GREETING.sub("", text, count=1).strip()


def _clean(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip(" ,.;:-")


def labelled_values(text: str, fields: Iterable[IntakeField]) -> dict[str, str]:
    """Values given as ``Label: value`` lines, keyed by field key.

    A label matches a field's Indonesian or English label, its key, or one of
    its aliases, case-insensitively. A value may continue on following lines
    until the next labelled line (for long problem descriptions).
    """
    lookup: dict[str, str] = {}
    for field in fields:
        names = [field.key, field.key.replace("_", " "), field.label.id, *field.aliases]
        if field.label.en:
            names.append(field.label.en)
        for name in names:
            lookup[name.strip().lower()] = field.key
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        match = _LABEL_LINE.match(line)
        key = lookup.get(match.group("label").strip().lower()) if match else None
        if match and key:
            current = key
            found[key] = [match.group("value").strip()]
        elif current is not None and line.strip():
            found[current].append(line.strip())
        elif not line.strip():
            current = None
    return {
        k: _clean(" ".join(v)) if k != "problem" else "\n".join(v).strip() for k, v in found.items()
    }


def extract_fields(text: str, fields: Iterable[IntakeField]) -> dict[str, str]:
    """Candidate values for intake fields found in a free-text message.

    Returns a mapping of field key → value for ``complainant_name``,
    ``customer_name`` and ``problem`` where the text gives them, plus any
    ``Label: value`` lines (which win). ``problem`` is what remains after the
    greeting and the self-introduction are removed, when that remainder is
    more than a few words.
    """
    field_list = list(fields)
    keys = {f.key for f in field_list}
    result = labelled_values(text, field_list)
    if result:
        return result

    body = strip_greeting(text)
    remainder = body
    if "complainant_name" in keys:
        for pattern in _NAME_PATTERNS:
            match = pattern.search(body)
            if match and match.group("v"):
                name = _clean(match.group("v"))
                first = name.split()[0].lower()
                if first not in _NOT_NAMES and len(name) >= 2:
                    result["complainant_name"] = name
                    remainder = remainder.replace(match.group(0), " ", 1)
                    break
    if "customer_name" in keys:
        for pattern in _CUSTOMER_PATTERNS:
            match = pattern.search(body)
            if match:
                result["customer_name"] = _clean(match.group("v"))
                remainder = remainder.replace(match.group(0), " ", 1)
                break
    if "problem" in keys:
        problem = _clean_problem(remainder if result else body)
        if len(problem.split()) >= 3 and not _INTRO_WORDS.match(problem):
            result["problem"] = problem
    return result


def _clean_problem(text: str) -> str:
    text = re.sub(r"^[\s,.;:-]+", "", text)
    text = re.sub(r"^(?:dari\s+|from\s+)", "", text, flags=re.IGNORECASE)
    text = re.sub(r"[ \t]+", " ", text)
    return text.strip()


def single_answer(text: str) -> str:
    """An answer to one question: the text with greetings and surrounding space removed."""
    return strip_greeting(text) or text.strip()


def merge_candidates(*sources: Mapping[str, str]) -> dict[str, str]:
    """Merge candidate mappings, earlier sources winning."""
    merged: dict[str, str] = {}
    for source in sources:
        for key, value in source.items():
            if value and key not in merged:
                merged[key] = value
    return merged
