"""Email threading conventions: reply subjects and tracking numbers in subjects.

RFC 5322 threads replies by ``In-Reply-To``/``References``; people and mail
clients also thread by subject. Our replies keep the complainant's subject
with one ``Re:`` in front and the tracking number in brackets
(``Re: Keluhan sertifikat [ADU-2026-00042]``), so a reply that lost its
headers still finds its complaint by the number in the subject.
"""

from __future__ import annotations

import re

#: Reply prefixes of common clients: English, Indonesian, German, Dutch, Nordic.
_REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|balas|bls|antw|sv|vs)\s*(?:\[\d+\])?\s*:", re.IGNORECASE)


def reply_subject(subject: str | None, *, fallback: str, tag: str | None = None) -> str:
    """The subject of our reply to a mail with ``subject``.

    ``Re: <subject>`` (not doubled when it already is a reply), or
    ``fallback`` when there was no subject; ``tag`` (a tracking number) is
    added in brackets unless the subject already carries it.
    """
    base = (subject or "").strip()
    if not base:
        base = fallback
    elif not _REPLY_PREFIX.match(base):
        base = f"Re: {base}"
    if tag and tag not in base:
        base = f"{base} [{tag}]"
    return base


def tracking_in_subject(subject: str | None, pattern: re.Pattern[str]) -> str | None:
    """The tracking number ``pattern`` finds in ``subject`` (group 1, upper case), if any."""
    match = pattern.search(subject or "")
    return match.group(1).upper() if match else None
