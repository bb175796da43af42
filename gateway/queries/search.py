"""Full-text search of the inbox over complaint text and contact.

Searched: tracking number, complainant name, customer name, contact address
(phone in E.164, email, Telegram chat id) and the problem text.

* PostgreSQL: the generated ``complaints.search_vector`` column (revision
  0008, configuration ``simple`` — PostgreSQL has no Indonesian stemmer, so
  words match as written, case-insensitively) with its GIN index, queried with
  ``websearch_to_tsquery`` (``"hasil uji"`` for a phrase, ``-word`` to
  exclude, ``or``); plus an exact tracking-number match. A query that is a
  whole tracking number (``adu-2026-00042``) is only that exact match.
* SQLite (the embedded default): every word must occur, case-insensitively
  (ASCII), in one of the searched columns, and a ``-word`` in none of them
  (``LIKE``, a scan — fine at an office's scale).

On both, a query that reads as a phone number (``0812…``, ``62812…``) is
also searched in its E.164 form, as contact addresses are stored.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal_column, not_, or_
from sqlalchemy.dialects.postgresql import TSVECTOR

from channels.addresses import AddressError, normalise_phone
from storage.models import Complaint

#: Longest search text accepted, in characters.
QUERY_LIMIT = 200

#: The generated column of revision 0008 (PostgreSQL only; not in the models).
SEARCH_VECTOR: ColumnElement[Any] = literal_column("complaints.search_vector", type_=TSVECTOR)

_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")
_WORD = re.compile(r"[^\s\"']+")
#: A whole tracking number (``ADU-2026-00042``): looked up by its unique index alone.
_TRACKING = re.compile(r"[A-Za-z]{2,8}-\d{4}-\d{5,}")
_COLUMNS = (
    Complaint.tracking_number,
    Complaint.complainant_name,
    Complaint.customer_name,
    Complaint.contact_address,
    Complaint.problem,
)


def _phone(text: str) -> str | None:
    if not re.fullmatch(r"[+\d][\d\s-]{6,}", text):
        return None
    try:
        return normalise_phone(text)
    except AddressError:
        return None


def search_condition(text: str, dialect: str) -> ColumnElement[bool]:
    """The WHERE condition for search ``text`` on ``dialect`` (``postgresql``/``sqlite``).

    ``text`` must be stripped and non-empty. Raises ``ValueError`` when it is
    longer than :data:`QUERY_LIMIT` characters.
    """
    if len(text) > QUERY_LIMIT:
        raise ValueError(f"search text is longer than {QUERY_LIMIT} characters")
    exact = Complaint.tracking_number == text.upper()
    if _TRACKING.fullmatch(text):
        return exact
    phone = _phone(text)
    conditions: list[ColumnElement[bool]] = [exact]
    if dialect == "postgresql":
        for query in (text, phone):
            if query:
                conditions.append(
                    SEARCH_VECTOR.bool_op("@@")(func.websearch_to_tsquery(_SIMPLE, query))
                )
        return or_(*conditions)
    # One LIKE per word over the columns joined by spaces (a word has none);
    # SQLite's LIKE ignores ASCII case by itself.
    haystack: ColumnElement[str] = _COLUMNS[0].expression
    for column in _COLUMNS[1:]:
        haystack = haystack + " " + column
    wanted: list[ColumnElement[bool]] = []
    for word in _WORD.findall(text):
        core = word.lstrip("-")
        if not core:
            continue
        found = haystack.contains(core, autoescape=True)
        wanted.append(not_(found) if word.startswith("-") else found)
    if wanted:
        conditions.append(and_(*wanted))
    if phone:
        conditions.append(Complaint.contact_address == phone)
    return or_(*conditions)
