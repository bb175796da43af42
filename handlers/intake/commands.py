"""Commands a complainant can type on any channel, in Indonesian or English.

``batal``/``cancel`` ends the draft, ``bantuan``/``help`` explains,
``status <tracking number>`` reports a complaint's state, ``baru``/``new``
starts a new complaint on a chat number whose earlier complaint is still open,
and ``banding <tracking number> <reason>`` appeals (docs/intake.md,
"Answers, corrections, commands").

People type on small keyboards: a command word with one slip ("bataal",
"bantuam", "statsu", "cancle") is still the command. Letters typed twice are
folded first ("bataaal" → "batal"), then the word may differ from a command
by one edit (two for words of seven letters or more; swapping two letters
is one edit: rapidfuzz's optimal string alignment distance). Words close to a
command ("baru" vs "batal") are far enough apart not to be confused.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from handlers.intake.segments import storable


class CommandKind(enum.StrEnum):
    """What the complainant asked for."""

    CANCEL = "cancel"
    HELP = "help"
    STATUS = "status"
    NEW = "new"
    APPEAL = "appeal"


@dataclass(frozen=True, slots=True)
class Command:
    """A recognised command; ``argument`` is the tracking number for STATUS and
    APPEAL, ``detail`` the appeal's reason (the rest of the message)."""

    kind: CommandKind
    argument: str | None = None
    language: str | None = None
    detail: str | None = None


#: Command words (folded, lower case) → (kind, language of the word).
_WORDS: dict[str, tuple[CommandKind, str]] = {
    "batal": (CommandKind.CANCEL, "id"),
    "batalkan": (CommandKind.CANCEL, "id"),
    "btl": (CommandKind.CANCEL, "id"),
    "cancel": (CommandKind.CANCEL, "en"),
    "stop": (CommandKind.CANCEL, "en"),
    "baru": (CommandKind.NEW, "id"),
    "aduan baru": (CommandKind.NEW, "id"),
    "keluhan baru": (CommandKind.NEW, "id"),
    "pengaduan baru": (CommandKind.NEW, "id"),
    "new": (CommandKind.NEW, "en"),
    "new complaint": (CommandKind.NEW, "en"),
    "bantuan": (CommandKind.HELP, "id"),
    "tolong": (CommandKind.HELP, "id"),
    "menu": (CommandKind.HELP, "id"),
    "help": (CommandKind.HELP, "en"),
    "?": (CommandKind.HELP, "id"),
}
#: Words matched exactly only: too short, or too close to ordinary words.
_EXACT_ONLY = frozenset({"btl", "stop", "baru", "new", "menu", "tolong", "?"})
#: Real words one slip from a command word; they are never the command.
_NOT_COMMANDS = frozenset(
    "bakal bantal batas batik natal total halal basal kanal candle cancer helo hello held hemp".split()
)
_STATUS_WORDS = {"status": None, "cek": None, "lacak": None, "track": "en", "check": "en"}
_APPEAL_WORDS = {"banding": "id", "appeal": "en"}


def fold(word: str) -> str:
    """``word`` in lower case with letters typed more than once folded ("bataaal" → "batal")."""
    return re.sub(r"(\w)\1+", r"\1", word.lower())


def near(word: str, target: str) -> bool:
    """Whether ``word`` is ``target`` or one slip from it (two for long targets)."""
    folded = fold(word)
    if folded == fold(target) or word.lower() == target:
        return True
    if len(target) < 4 or not folded.isalpha():
        return False
    allowed = 1 if len(target) < 7 else 2
    return OSA.distance(folded, target) <= allowed


def _command_word(line: str) -> tuple[CommandKind, str] | None:
    words = re.sub(r"[.!?,]+$", "", line.strip()).strip()
    if not words:
        return None
    key = re.sub(r"\s+", " ", words.lower())
    if key in _WORDS:
        return _WORDS[key]
    if " " in key or key in _NOT_COMMANDS:
        return None
    for target, found in _WORDS.items():
        if target in _EXACT_ONLY or " " in target:
            continue
        if near(key, target):
            return found
    return None


def tracking_pattern(prefix: str) -> re.Pattern[str]:
    """Regex for tracking numbers such as ``ADU-2026-00042`` (any case)."""
    return re.compile(rf"\b({re.escape(prefix)}-\d{{4}}-\d{{5,}})\b", re.IGNORECASE)


def parse_command(text: str, tracking_prefix: str) -> Command | None:
    """Recognise a command in the first non-empty line of ``text``.

    A cancel or help command must be the whole line, so "saya mau batal
    kontrak" is a complaint, not a command. ``status``, ``cek`` or ``track``
    followed by a tracking number is a status request.
    """
    text = storable(text)
    first = next((line for line in text.splitlines() if line.strip()), "")
    found = _command_word(first)
    if found is not None:
        kind, language = found
        return Command(kind, language=language)
    tracking = tracking_pattern(tracking_prefix).pattern
    appeal = re.match(rf"^\s*+([A-Za-z]+)\s*+:?\s*+{tracking}[\s,.:;-]*", text, re.IGNORECASE)
    if appeal:
        word = appeal.group(1)
        appeal_language = next((lang for w, lang in _APPEAL_WORDS.items() if near(word, w)), None)
        if appeal_language is not None:
            return Command(
                CommandKind.APPEAL,
                argument=appeal.group(2).upper(),
                language=appeal_language,
                detail=text[appeal.end() :].strip(),
            )
    status = re.match(rf"^\s*+([A-Za-z]+)\s*+:?\s*+{tracking}\s*+[.!?]*+\s*$", first, re.IGNORECASE)
    if status:
        word = status.group(1)
        for target, status_language in _STATUS_WORDS.items():
            if near(word, target):
                return Command(
                    CommandKind.STATUS, argument=status.group(2).upper(), language=status_language
                )
    return None
