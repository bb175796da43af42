"""Reading a calendar date from informal Indonesian or English text.

Used by intake fields of kind ``date`` (:class:`handlers.profile.FieldKind`),
e.g. the date a proficiency-testing participant received the final report
(BBSPJIKKP SOP-7.9-1 item 3). Complainants write dates the way they speak:
"12 November 2026", "12 Nov 2026", "12/11/2026" (day first), "2026-11-12",
"kemarin", "3 hari yang lalu", "yesterday" — or inside a short sentence
("laporan kami terima tgl 12 November 2026"). The `dateparser` library reads
them (languages ``id`` and ``en``, day-month-year order, dates without a year
taken from the past), behind stricter rules of our own, because dateparser
alone turns a bare "3" into the 3rd of this month:

* text without letters must be a whole numeric date: day/month/year
  (``12/11/2026``, ``12-11-26``, ``12.11.2026``) or ISO ``2026-11-12``;
* text with letters must give at least a day and a month ("12 Nov"), or be a
  relative date ("kemarin", "hari ini", "3 hari yang lalu", "2 days ago");
  a number of days, weeks, months or years without "lalu"/"ago" ("3 hari",
  "putaran 3 tahun 2026") is an amount of time, not a date; and a text with
  two small numbers ("12 Nov 2026 10") is ambiguous;
* a sentence is searched for such dates, and is accepted only when all of
  them agree on one day and it has no second loose number.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import dateparser
from babel.dates import format_date
from dateparser.search import search_dates

from storage.types import utcnow

#: Languages dates are read in (Indonesian first).
DATE_LANGUAGES = ("id", "en")
#: Longest text read for a date (characters): a date answer is a few words or
#: a short sentence; longer text gives no date rather than a slow search.
MAX_DATE_TEXT = 500
#: Earlier dates are typing mistakes ("1/1/0001"), not dates anyone received a report on.
EARLIEST = date(1900, 1, 1)

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_NUMERIC_DMY = re.compile(r"(\d{1,2})([./ -])(\d{1,2})\2(\d{2}|\d{4})")
_NUMERIC_ISO = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_AMOUNT_OF_TIME = re.compile(
    r"\d+\s*(?:hari|minggu|pekan|bulan|tahun|days?|weeks?|months?|years?)\b",
    re.IGNORECASE,
)
_SMALL_NUMBER = re.compile(r"(?<!\d)\d{1,2}(?!\d)")
_AGO = re.compile(r"\b(?:lalu|silam|sebelumnya|ago|before)\b", re.IGNORECASE)
#: Informal spellings dateparser does not know, and what they mean.
_SPELLINGS = (
    (re.compile(r"\bkemaren\b", re.IGNORECASE), "kemarin"),
    (re.compile(r"\btgl\b\.?", re.IGNORECASE), "tanggal"),
    # A time of day is not asked for, and dateparser may take its hour for the day.
    (
        re.compile(
            r"\b(?:jam|pukul|pkl|at)\.?\s*\d{1,2}(?:[.:]\d{2})?"
            r"(?:\s*(?:wib|wita|wit|am|pm)\b)?|\b\d{1,2}:\d{2}\b",
            re.IGNORECASE,
        ),
        " ",
    ),
)


def office_today(timezone: str, now: datetime | None = None) -> date:
    """Today's date in the office's time zone (IANA name); ``now`` defaults to the clock."""
    return (now or utcnow()).astimezone(ZoneInfo(timezone)).date()


def _settings(today: date) -> dict[str, Any]:
    return {
        "DATE_ORDER": "DMY",
        "PREFER_DATES_FROM": "past",
        "RELATIVE_BASE": datetime.combine(today, time(12)),
        "RETURN_AS_TIMEZONE_AWARE": False,
        "REQUIRE_PARTS": ["day", "month"],
    }


def _parse_whole(text: str, today: date) -> date | None:
    """``text`` read as one date under the strict rules of the module docstring."""
    text = text.strip(" \t\n,.;:!?()")
    if not text:
        return None
    if not _LETTER.search(text):
        if not (_NUMERIC_DMY.fullmatch(text) or _NUMERIC_ISO.fullmatch(text)):
            return None
    elif _AMOUNT_OF_TIME.search(text) and not _AGO.search(text):
        return None  # "3 hari", "3 tahun 2026": an amount of time, not a date
    elif len(_SMALL_NUMBER.findall(text)) > 1:
        return None  # "12 Nov 2026 10": which number is the day?
    try:
        parsed = dateparser.parse(text, languages=list(DATE_LANGUAGES), settings=_settings(today))
    except (ValueError, OverflowError):
        return None
    if not isinstance(parsed, datetime) or parsed.date() < EARLIEST:
        return None
    return parsed.date()


def parse_informal_date(text: str, today: date) -> date | None:
    """The calendar date ``text`` gives, or ``None`` when it gives none clearly.

    ``today`` is the office-local date relative words count from ("kemarin"
    is ``today`` minus one day). The result may lie in the future ("20
    November 2026" written on 18 November 2026); refusing that is the
    caller's rule; a date before :data:`EARLIEST` is ``None``, and so is a
    text longer than :data:`MAX_DATE_TEXT` characters. Never raises on input.
    """
    if len(text) > MAX_DATE_TEXT:
        return None  # a letter, not a date answer; dateparser's time grows with length
    cleaned = text
    for pattern, replacement in _SPELLINGS:
        cleaned = pattern.sub(replacement, cleaned)
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    if not cleaned:
        return None
    whole = _parse_whole(cleaned, today)
    if whole is not None:
        return whole
    # A sentence: search it, unless it holds several loose numbers (a date's
    # day could be taken from any of them).
    loose = _NUMERIC_ISO.sub(" ", _NUMERIC_DMY.sub(" ", cleaned))
    if len(_SMALL_NUMBER.findall(loose)) > 1:
        return None
    try:
        found = search_dates(cleaned, languages=list(DATE_LANGUAGES), settings=_settings(today))
    except (ValueError, OverflowError):
        return None
    days = {
        day
        for day in (_parse_whole(fragment, today) for fragment, _ in found or ())
        if day is not None
    }
    return days.pop() if len(days) == 1 else None


def format_day(day: date, language: str) -> str:
    """``day`` as people write it: ``12 November 2026`` (``id``, ``en`` alike)."""
    return format_date(day, "d MMMM y", locale="en" if language == "en" else "id")


def format_moment(when: datetime, timezone: str) -> str:
    """``when`` in the office time zone as chat replies and staff events show it:
    ``21-11-2026 14:05 WIB`` (the same in every language)."""
    local = when.astimezone(ZoneInfo(timezone))
    return local.strftime("%d-%m-%Y %H:%M ") + (local.tzname() or "")
