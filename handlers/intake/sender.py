"""Whether an email's From display name is the complainant.

A mail signed by nobody is often still sent by a person ("Budi Santoso
<budi@…>"), but offices also write from shared mailboxes and departments
("Bagian Umum", "Admin Laboratorium", "QC PT Sumber Makmur", "info",
"budi.s88"). Only a display name that reads as a person's name counts
(docs/intake.md, "complainant_name"); anything else leaves the name to be
asked.
"""

from __future__ import annotations

import re

from handlers.intake.lexicon import DEPARTMENT_WORDS, ORG_HEADS, ROLE_WORDS
from handlers.intake.names import PersonName, clean_person, looks_like_name_word
from handlers.intake.organisations import find_organisation


def person_from_display_name(display: str | None) -> PersonName | None:
    """The complainant named by an email ``display`` name, or ``None`` for a
    department, a shared mailbox or an address-like name ("budi.s88")."""
    if not display:
        return None
    text = display.strip().strip("\"'")
    if (
        not text
        or "@" in text
        or re.search(r"[\d_]", text)
        or (re.search(r"\w\.\w", text.replace(". ", " ")) and " " not in text)
    ):
        return None
    lowered = [w.strip(".,()").lower() for w in text.split()]
    if any(w in DEPARTMENT_WORDS or w in ORG_HEADS or w in ROLE_WORDS for w in lowered):
        return None
    if find_organisation(text):
        return None
    person = clean_person(text)
    if person is None or len(person.name.split()) > 5:
        return None
    if not all(looks_like_name_word(w, lower_text=False) for w in person.name.split()):
        return None
    return person
