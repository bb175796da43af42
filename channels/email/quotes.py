"""Strip quoted reply chains from the plain text of an email (docs/channels.md, "Email").

Complainants answer our questions by replying to our mail; their client appends
our whole message below (or above) their answer. Only the new text is wanted.

The installed ``mail-parser-reply`` package was evaluated first: it has no
Indonesian rules (``Pada … menulis:``, ``Dari: … Dikirim: …``), and its
signature heuristic treats lines starting with ``-`` as a signature, which eats
the bulleted lists citizens often write. Hence this small, conservative
function: it cuts only at markers that mail clients produce, never at ordinary
prose such as ``Perihal: …`` or ``Nama: …`` lines.

Recognised (Indonesian and English):

* lines starting with ``>`` (quoted text, also interleaved answers);
* attribution lines ``On <date>, X wrote:`` / ``Pada <tanggal> X menulis:``,
  possibly wrapped over up to three lines (Gmail wraps long ones); the
  attribution must contain a digit (the date), so prose is not mistaken for it;
* separators ``-----Original Message-----`` / ``-----Pesan Asli-----``, and
  Outlook's line of underscores (or an HTML ``<hr>``) followed by a header block;
* Outlook header blocks: a ``From:``/``Dari:`` line followed within a few lines
  by a ``Sent:``/``Date:``/``Dikirim:``/``Terkirim:``/``Tanggal:`` line carrying
  a clock time (``10:15``, ``10.15``) and a ``To:``/``Kepada:``/``Subject:``/
  ``Subjek:``/``Perihal:`` line (a typed memo header has a date but no time);
* the signature separator ``-- `` and everything after it;
* a trailing mobile footer (``Sent from my iPhone``, ``Dikirim dari iPhone saya``).

Forwarded messages (``---------- Forwarded message ---------`` /
``---------- Pesan terusan ---------``) are kept: what a complainant forwards
is content for staff.
"""

from __future__ import annotations

import re

__all__ = ["strip_quotes"]

_QUOTE_LINE = re.compile(r"^\s*>")
_ATTRIBUTION = re.compile(
    r"^\s*(?:On|Pada)\s.*\d.*\b(?:wrote|menulis)\s*:\s*$", re.IGNORECASE | re.DOTALL
)
_ATTRIBUTION_START = re.compile(r"^\s*(?:On|Pada)\s", re.IGNORECASE)
_SEPARATOR = re.compile(
    r"^\s*-{3,}\s*(?:Original Message|Pesan Asli|Pesan Asal|Pesan Awal)\s*-{3,}\s*$",
    re.IGNORECASE,
)
# Outlook's line of underscores; html2text renders <hr> as "* * *".
_RULE = re.compile(r"^\s*(?:_{20,}|-{20,}|\* \* \*)\s*$")
_FORWARD = re.compile(
    r"^\s*-{3,}\s*(?:Forwarded message|Pesan terusan|Pesan yang diteruskan)\s*-{3,}\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\**\s*(?:From|Dari)\s*:\**\s*\S", re.IGNORECASE)
_HEADER_SENT = re.compile(
    r"^\s*\**\s*(?:Sent|Date|Dikirim|Terkirim|Tanggal|Waktu)\s*:", re.IGNORECASE
)
_HEADER_TO = re.compile(r"^\s*\**\s*(?:To|Kepada|Subject|Subjek|Perihal|Cc)\s*:", re.IGNORECASE)
_TIME = re.compile(r"\b\d{1,2}[:.]\d{2}\b")
_SIGNATURE = re.compile(r"^-- ?$")
_MOBILE_FOOTER = re.compile(
    r"^\s*(?:Sent from my \w+|Sent from (?:Outlook|Mail|Yahoo Mail)\b|Get Outlook for \w+"
    r"|Dikirim dari (?:iPhone|iPad|ponsel|perangkat|Android|Samsung|Yahoo|Outlook|Mail)\b)"
    r".{0,60}$",
    re.IGNORECASE,
)
_HEADER_WINDOW = 6
_ATTRIBUTION_LINES = 3
_ATTRIBUTION_MAX_CHARS = 400  # real attributions are short; also bounds regex work


def _is_attribution(lines: list[str], index: int) -> bool:
    if not _ATTRIBUTION_START.match(lines[index]):
        return False
    joined = lines[index]
    for extra in range(_ATTRIBUTION_LINES):
        if extra:
            if index + extra >= len(lines) or not lines[index + extra].strip():
                return False
            joined += " " + lines[index + extra].strip()
        if len(joined) > _ATTRIBUTION_MAX_CHARS:
            return False
        if _ATTRIBUTION.match(joined):
            return True
    return False


def _is_header_block(lines: list[str], index: int) -> bool:
    if not _HEADER_FROM.match(lines[index]):
        return False
    window = lines[index + 1 : index + 1 + _HEADER_WINDOW]
    return any(_HEADER_SENT.match(line) and _TIME.search(line) for line in window) and any(
        _HEADER_TO.match(line) for line in window
    )


def _header_block_follows(lines: list[str], index: int) -> bool:
    """True when the next non-blank line (within three) starts an Outlook header block."""
    for j in range(index + 1, min(index + 4, len(lines))):
        if lines[j].strip():
            return _is_header_block(lines, j)
    return False


def _follows_forward_marker(lines: list[str], index: int) -> bool:
    for previous in reversed(lines[:index]):
        if previous.strip():
            return bool(_FORWARD.match(previous))
    return False


def _cut_index(lines: list[str]) -> int:
    """Index of the first line that starts the quoted part (``len(lines)`` if none)."""
    for index, line in enumerate(lines):
        if _SEPARATOR.match(line) or _SIGNATURE.match(line) or _is_attribution(lines, index):
            return index
        if _RULE.match(line) and _header_block_follows(lines, index):
            return index
        if _is_header_block(lines, index) and not _follows_forward_marker(lines, index):
            return index
    return len(lines)


def strip_quotes(text: str) -> str:
    """Return only the new text of a reply: ``text`` without quoted reply chains.

    ``text`` is the plain-text body (any line endings). The result has ``\\n``
    line endings, trailing spaces removed, runs of blank lines collapsed to one
    and no leading or trailing blank lines. It is empty when the message held
    nothing but quoted text. Pure; never raises.
    """
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = lines[: _cut_index(lines)]
    lines = [line for line in lines if not _QUOTE_LINE.match(line)]
    while lines and not lines[-1].strip():
        lines.pop()
    if lines and _MOBILE_FOOTER.match(lines[-1]):
        lines.pop()
    out: list[str] = []
    for line in lines:
        if not line.strip():
            if out and out[-1] != "":
                out.append("")
            continue
        out.append(line)
    return "\n".join(out).strip("\n")
