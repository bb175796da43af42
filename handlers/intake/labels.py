"""``Label: value`` lines: "Nama: Budi", "Instansi : PT X", "nama: a / masalah: b".

People who know what a form wants write it as one ("Nama : …", "Instansi : …",
"Keluhan : …"), formal letters put the undersigned's details in such a block,
and SMS senders pack it into one line separated by slashes. A label names an
intake field (:data:`handlers.intake.lexicon.LABELS`, the field's own label,
key and the profile's aliases) or something else (position, address, phone:
:data:`handlers.intake.lexicon.OTHER_LABELS`) that is not collected but ends
the value before it. A value may continue on the following lines until a
blank line or the next label (long problem descriptions).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from handlers.intake.lexicon import LABELS, OTHER_LABELS
from handlers.intake.names import is_prefix_title
from handlers.profile import IntakeField

#: Label, separator (":" "=" or a dash with spaces), value.
_LINE = re.compile(
    r"^\s*+[-*•>]?\s*+(?P<label>[A-Za-z][A-Za-z./ _-]{0,38}?)\s*(?::|=|\s-\s)\s*(?P<value>.*)$"
)
_SLASH_PART = re.compile(r"\s+/\s+|\s*\|\s*|;\s+")


@dataclass
class Labelled:
    """Labelled values found in a text: ``values`` by field key, and the line
    numbers (0-based) the labelled block covers, so the rest can be read as
    prose; ``other`` holds labels of no field (lower case) → value."""

    values: dict[str, str] = field(default_factory=dict)
    lines: set[int] = field(default_factory=set)
    other: dict[str, str] = field(default_factory=dict)
    #: Line number → column where prose starts again on a labelled line
    #: ("NAMA: SUPARMAN. KTP SAYA BELUM JADI": the name ends at the full stop).
    rest: dict[int, int] = field(default_factory=dict)


def label_lookup(fields: Iterable[IntakeField]) -> dict[str, str]:
    """Lower-case label → field key, for the profile's fields and the built-in labels."""
    lookup: dict[str, str] = {}
    for key, known in LABELS.items():
        for name in known:
            lookup[name] = key
    for f in fields:
        names = [f.key, f.key.replace("_", " "), f.label.id, *f.aliases]
        if f.label.en:
            names.append(f.label.en)
        for name in names:
            lookup[_norm(name)] = f.key
    return lookup


def _norm(label: str) -> str:
    return re.sub(r"\s+", " ", label.strip().lower().replace("_", " ")).rstrip(".")


def _classify(label: str, lookup: dict[str, str]) -> str | None:
    """Field key, ``""`` for a known label of no field, ``None`` for no label at all."""
    name = _norm(label)
    if name in lookup:
        return lookup[name]
    bare = name.replace(".", "")
    if bare in lookup:
        return lookup[bare]
    if name in OTHER_LABELS or bare in OTHER_LABELS:
        return ""
    return None


def labelled_values(text: str, fields: Iterable[IntakeField]) -> Labelled:
    """Every ``Label: value`` the text gives, by field (see the module docstring).

    A problem value keeps its line breaks; other values are folded into one
    line. A value left empty ("Nama :") is ignored.
    """
    field_list = list(fields)
    lookup = label_lookup(field_list)
    found = Labelled()
    current: str | None = None
    collected: dict[str, list[str]] = {}
    in_block = False
    for number, line in enumerate(text.splitlines()):
        parts = _split_packed(line, lookup)
        if not parts and in_block and _LINE.match(line) and len(line.split(":")[0].split()) <= 3:
            # An unknown label inside a labelled block ("NRP : …") ends the value before it.
            found.lines.add(number)
            current = None
            continue
        if parts:
            in_block = True
            for label, value, start in parts:
                key = _classify(label, lookup)
                found.lines.add(number)
                if key and key != "problem":
                    value, cut = _first_sentence(value)
                    if cut is not None and len(parts) == 1:
                        found.rest[number] = start + cut
                        found.lines.discard(number)
                if key:
                    collected[key] = [value.strip()] if value.strip() else []
                    current = key if number not in found.rest else None
                else:
                    found.other[_norm(label)] = value.strip()
                    current = None
            continue
        if not line.strip():
            current = None
            in_block = False
            continue
        if current is not None:
            collected[current].append(line.strip())
            found.lines.add(number)
        else:
            in_block = False
    for key, lines in collected.items():
        lines = [line for line in lines if line]
        if not lines:
            continue
        if key == "problem":
            found.values[key] = "\n".join(lines).strip()
        else:
            found.values[key] = re.sub(r"\s+", " ", " ".join(lines)).strip(" ,;")
    return found


_SENTENCE_END = re.compile(r"[.!?;]\s+(?=\S)|,\s+(?=\S+(?:\s+\S+){3,})")


#: Abbreviations whose full stop does not end a labelled value ("CV. Sinar Bahari").
_DOTTED = frozenset("pt cv ud pd kab kec kel ds jl no muh moh mhd moch much abd ach st tbk".split())


def _first_sentence(value: str) -> tuple[str, int | None]:
    """``value`` up to the end of its first sentence, and where the rest starts.

    "SUPARMAN. KTP SAYA SDH 3 BLN BLM JADI" → ("SUPARMAN", 10). A name or an
    organisation never runs on into a sentence; degrees ("S.T.") and
    initials ("A.") do not end it.
    """
    for match in _SENTENCE_END.finditer(value):
        head = value[: match.start()]
        last = head.split()[-1] if head.split() else ""
        if (
            "." in last
            or len(last) <= 1
            or (value[match.start()] == "." and (is_prefix_title(last) or last.lower() in _DOTTED))
        ):
            continue  # "S.T." "A." "Dr." — part of the value
        return head, match.end()
    return value, None


def _split_packed(line: str, lookup: dict[str, str]) -> list[tuple[str, str, int]]:
    """The (label, value, value column) triples of one line: one, several
    separated by ``/``, ``|`` or ``;`` ("nama: budi / instansi: cv abc"), or none."""
    match = _LINE.match(line)
    if not match or _classify(match.group("label"), lookup) is None:
        return []
    pairs: list[tuple[str, str, int]] = []
    position = 0
    for piece in _SLASH_PART.split(line):
        column = line.index(piece, position) if piece else position
        position = column + len(piece)
        part = _LINE.match(piece)
        if part and _classify(part.group("label"), lookup) is not None:
            pairs.append((part.group("label"), part.group("value"), column + part.start("value")))
        elif pairs:
            label, value, start = pairs[-1]
            joiner = " / " if "/" in line else "; "
            pairs[-1] = (label, f"{value}{joiner}{piece}", start)
    return pairs
