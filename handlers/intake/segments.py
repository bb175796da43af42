"""Cutting a text into clauses while keeping every character's position.

The problem field must be the complainant's own words (docs/intake.md,
"problem"): the reader removes greetings, introductions and closings by
dropping whole clauses or a clause's leading part, and keeps everything else
exactly as typed. So clauses are spans of the original text, never rewritten
strings.

A clause ends at a line break, at ``. ! ? ;`` or at a comma. A full stop does
not end a clause inside an abbreviation or title ("dr.", "Kab.", "S.T.",
"PT.", an initial "M."), a number ("1.500", "No. 5") or an ellipsis inside a
sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Abbreviations whose full stop is not the end of a sentence (lower case, no dot).
_ABBREVIATIONS = frozenset(
    """
    dr drg prof ir drs dra h hj kh ust pdt rm apt ns bd
    bpk bp ibu sdr sdri mr mrs ms mx tn ny nn st
    pt cv ud pd fa tbk kop
    kab kec kel ds desa kota prov jl jln gg no nomor rt rw kp kav blok
    tgl tel telp hp wa ext fax
    a.n an u.p up ybs dll dsb dst tsb spt yth sbb hal lamp
    muh moh mhd moch much abd ach wr wb
    vs etc eg ie inc ltd co corp dept div
    """.split()
)

_SURROGATE = re.compile("[\ud800-\udfff]")


#: A run of blanks (spaces, tabs, no-break spaces) or of line breaks long enough
#: to carry no meaning: a letter aligns its labels with far fewer. Such runs are
#: shortened before reading, so no reader spends more than linear time on them.
_LONG_BLANK = re.compile(r"[^\S\n]{32,}")
_LONG_BREAK = re.compile(r"(?:[^\S\n]*\n){8,}")


def storable(text: str) -> str:
    """``text`` as every reader works on it: NUL characters removed, lone
    surrogates (text decoded with ``surrogateescape``, a broken JSON escape)
    replaced by U+FFFD, so whatever a reader returns can be stored as UTF-8
    text on PostgreSQL and SQLite; runs of 32 or more blanks become one space
    and of 8 or more line breaks one blank line, so reading time stays linear
    in the length of the text (docs/intake.md, "what reading returns")."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    text = _LONG_BLANK.sub(" ", text)
    text = _LONG_BREAK.sub("\n\n", text)
    return _SURROGATE.sub("\ufffd", text)


#: Characters around a full stop read to tell an abbreviation from a sentence end.
_WINDOW = 100
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
#: Words that start a sentence, not a name, after a capital letter and a full stop.
COMMON_WORDS = frozenset(
    """saya kami kita aku sy dia mereka ini itu tapi tetapi namun lalu kemudian dan yang di
    sudah belum tidak mohon terima the i we it this that but and then however please thank""".split()
)


@dataclass(frozen=True, slots=True)
class Clause:
    """A span ``[start, end)`` of the text; ``end`` includes the closing mark and
    the spaces after it, ``core`` is the span without them; ``hard`` tells
    whether the clause ended a sentence or line (not at a comma)."""

    start: int
    core_end: int
    end: int
    hard: bool

    def text(self, source: str) -> str:
        """The clause's words, without its closing mark."""
        return source[self.start : self.core_end].strip()


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the full stop at ``dot`` belongs to an abbreviation or a number."""
    # Only the word just before and after is looked at: a bounded window keeps
    # a text made of thousands of "Dr. " linear.
    before = text[max(0, dot - _WINDOW) : dot]
    after = text[dot + 1 : dot + 3]
    if after[:1] and not after[:1].isspace() and after[:1] not in "\"')]":
        return True  # "Ph.D", "1.500", "budi.s@mail.id": no space, no sentence end
    if after[:1] == ".":
        return True  # an ellipsis continues
    match = _WORD_BEFORE.search(before)
    if not match:
        return False
    word = match.group(1)
    if "." in word:
        return True  # S.T., a.n., Ph.D
    lower = word.lower()
    if lower in _ABBREVIATIONS:
        return True
    if len(word) == 1 and word.isupper():
        # An initial ("M. Rizki") unless a common word follows ("… N, P dan K. Saya …").
        following = re.match(r"\s+([A-Za-z]+)", text[dot + 1 : dot + 1 + _WINDOW])
        return not (following and following.group(1).lower() in COMMON_WORDS)
    return False


def clauses(text: str) -> list[Clause]:
    """The clauses of ``text`` in order, covering it without gaps.

    Separators: line breaks, sentence marks (``. ! ?`` unless
    :func:`_is_abbreviation`), ``;`` and ``,`` (a comma between digits is a
    decimal and does not separate).
    """
    result: list[Clause] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        cut = False
        hard = True
        if ch == "\n":
            cut = True
        elif ch in "!?;":
            cut = True
        elif ch == ".":
            cut = not _is_abbreviation(text, i)
        elif ch == ",":
            prev = text[i - 1] if i else ""
            nxt = text[i + 1] if i + 1 < n else ""
            cut = not (prev.isdigit() and nxt.isdigit())
            hard = False
        if cut:
            core_end = i
            j = i + 1
            # Absorb repeated marks ("!!!", "?!", "...") and trailing spaces.
            while j < n and text[j] in ".!?" and ch != "\n" and ch != ",":
                j += 1
            while j < n and text[j] in " \t":
                j += 1
            if text[start:core_end].strip() or result:
                result.append(Clause(start, core_end, j, hard))
            else:
                result.append(Clause(start, core_end, j, hard))
            start = j
            i = j
            continue
        i += 1
    if start < n:
        result.append(Clause(start, n, n, True))
    return [c for c in result if text[c.start : c.end]]


def join_kept(text: str, spans: list[tuple[int, int]]) -> str:
    """The parts of ``text`` covered by ``spans`` (sorted, non-overlapping), in order.

    Adjacent spans are joined as they are; a gap between two spans becomes a
    blank line when it held one (paragraphs stay paragraphs), a line break when
    it held one, else a single space. Leading and
    trailing separators (``, ; : -`` and spaces) are trimmed.
    """
    parts: list[str] = []
    last_end: int | None = None
    for start, end in spans:
        if start >= end:
            continue
        if last_end is not None and start > last_end:
            gap = text[last_end:start]
            if re.search(r"\n[ \t]*\n", gap):
                parts.append("\n\n")  # a paragraph break stays one
            else:
                parts.append("\n" if "\n" in gap else " ")
        parts.append(text[start:end])
        last_end = end
    joined = "".join(parts)
    return trim_separators(joined)


_LEADING = re.compile(r"^[\s,;:\-–—~*>•·]+")
_TRAILING = re.compile(r"[\s,;:\-–—~]+$")


def trim_separators(value: str) -> str:
    """``value`` without separators (commas, colons, dashes, spaces) at either end."""
    return _TRAILING.sub("", _LEADING.sub("", value))
