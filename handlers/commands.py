"""Commands a complainant can type on any channel, in Indonesian or English.

``batal``/``cancel`` ends the draft, ``bantuan``/``help`` explains,
``status <tracking number>`` reports a complaint's state (issue 2, item 6), and
``baru``/``new`` starts a new complaint on a chat number whose earlier complaint
is still open (issue 3, item 4).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


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


_CANCEL = re.compile(r"^\s*(batal|batalkan|cancel|stop)\s*[.!]*\s*$", re.IGNORECASE)
_NEW = re.compile(
    r"^\s*(baru|aduan\s+baru|keluhan\s+baru|pengaduan\s+baru|new|new\s+complaint)\s*[.!]*\s*$",
    re.IGNORECASE,
)
_HELP = re.compile(r"^\s*(bantuan|tolong|menu|help|\?)\s*[.!?]*\s*$", re.IGNORECASE)


def tracking_pattern(prefix: str) -> re.Pattern[str]:
    """Regex for tracking numbers such as ``ADU-2026-00042`` (any case)."""
    return re.compile(rf"\b({re.escape(prefix)}-\d{{4}}-\d{{5,}})\b", re.IGNORECASE)


def parse_command(text: str, tracking_prefix: str) -> Command | None:
    """Recognise a command in the first non-empty line of ``text``.

    A cancel or help command must be the whole line, so "saya mau batal
    kontrak" is a complaint, not a command. ``status``, ``cek`` or ``track``
    followed by a tracking number is a status request.
    """
    first = next((line for line in text.splitlines() if line.strip()), "")
    if _CANCEL.match(first):
        word = first.strip().lower()
        return Command(
            CommandKind.CANCEL, language="en" if word.startswith(("cancel", "stop")) else "id"
        )
    if _NEW.match(first):
        word = first.strip().lower()
        return Command(CommandKind.NEW, language="en" if word.startswith("new") else "id")
    if _HELP.match(first):
        word = first.strip().lower()
        return Command(CommandKind.HELP, language="en" if word.startswith("help") else "id")
    appeal = re.match(
        rf"^\s*(banding|appeal)\s*:?\s*{tracking_pattern(tracking_prefix).pattern}[\s,.:;-]*",
        text,
        re.IGNORECASE,
    )
    if appeal:
        return Command(
            CommandKind.APPEAL,
            argument=appeal.group(2).upper(),
            language="en" if appeal.group(1).lower() == "appeal" else "id",
            detail=text[appeal.end() :].strip(),
        )
    status = re.match(
        rf"^\s*(status|cek|lacak|track|check)\s*:?\s*{tracking_pattern(tracking_prefix).pattern}\s*[.!?]*\s*$",
        first,
        re.IGNORECASE,
    )
    if status:
        word = status.group(1).lower()
        return Command(
            CommandKind.STATUS,
            argument=status.group(2).upper(),
            language="en" if word in ("track", "check") else None,
        )
    return None
