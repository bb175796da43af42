"""Splitting long replies into messages a chat provider accepts (pure).

Limits per provider: Telegram ``sendMessage`` 4096 UTF-16 code units (an
emoji outside the BMP counts twice); Twilio 1600 UTF-16 units per message;
WhatsApp Cloud API 4096 characters of text body.
"""

from __future__ import annotations

import re

__all__ = ["split_text", "utf16_length"]

_SENTENCE_END = re.compile(r"[.!?…](?:[\"')\]]*)\s+")


def utf16_length(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (what Telegram counts)."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int, utf16: bool) -> int:
    """Largest ``n`` such that ``text[:n]`` has at most ``limit`` units."""
    if not utf16:
        return min(len(text), limit)
    if utf16_length(text) <= limit:
        return len(text)
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)  # pragma: no cover - covered by the first check


def _cut(head: str) -> int:
    """Where to end a part inside ``head``: paragraph, then line, sentence, word."""
    floor = len(head) // 3  # never cut so early that parts become tiny
    for separator in ("\n\n", "\n"):
        index = head.rfind(separator)
        if index > floor:
            return index + len(separator)
    ends = [m.end() for m in _SENTENCE_END.finditer(head) if m.end() > floor]
    if ends:
        return ends[-1]
    index = max(head.rfind(" "), head.rfind("\t"))
    if index > floor:
        return index + 1
    return len(head)


def split_text(text: str, limit: int, *, utf16: bool = True) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` units, in order.

    Units are UTF-16 code units (Telegram, Twilio) or, with ``utf16=False``,
    characters (WhatsApp Cloud API).

    Cuts at the last paragraph break that fits, else line break, sentence end,
    space, and only as a last resort inside a word. Whitespace at a cut is
    dropped; parts are never empty. Text that fits is returned as one part;
    empty or blank text gives ``[]``.

    Raises:
        ValueError: ``limit`` is below 2.
    """
    if limit < 2:
        raise ValueError("limit must be at least 2")
    parts: list[str] = []
    rest = text.strip()
    while rest:
        size = _fit(rest, limit, utf16)
        if size >= len(rest):
            parts.append(rest)
            break
        end = _cut(rest[:size])
        part = rest[:end].rstrip()
        if not part:  # only whitespace before the cut: take the hard cut
            end = size
            part = rest[:end].rstrip()
        parts.append(part)
        rest = rest[end:].lstrip()
    return parts
