"""The complaint register (Buku Register Keluhan) as one table, for every download.

The inbox's register download (``/inbox/reports/register?format=csv|xlsx``)
and ``aduan complaints export --format json|csv|xlsx`` both lay the register
out here, so they give the same columns in the same order with the same
values: the identity fields SOP-7.9-1 item 2 mandates, the channel, contact,
status, category, assignee, closing date, complaint type (PR-LS-8.1.4 step 2),
rejection reason, the corrective programme's monitoring (PM-BAPKM.AP.1-24
step f) and every further intake field of the profile (e.g. SOP-7.9-1
item 3's ``final_report_date``); the columns are
:data:`gateway.reports.register.REPORT_COLUMNS` then
:func:`gateway.reports.register.extra_columns`. Times are in the office's
time zone; CSV and XLSX cells a spreadsheet would run as a formula are
neutralised (:mod:`gateway.reports.tables`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from gateway.reports import tables
from gateway.reports.period import Period, PeriodError, parse_period
from gateway.reports.register import (
    REPORT_COLUMNS,
    RegisterEntry,
    extra_columns,
    register_entries,
)
from gateway.reports.tables import Cell, Table
from gateway.reports.texts import (
    actor_text,
    category_text,
    channel_label,
    person,
    register_headers,
)
from handlers.i18n import t
from handlers.profile import Profile
from storage.db import SessionFactory

#: Column widths (characters) of the register's XLSX sheet, in REPORT_COLUMNS order.
REGISTER_WIDTHS = (17, 12, 22, 26, 50, 17, 24, 24, 18, 14, 20, 17, 20, 40, 40)

#: Export formats of ``aduan complaints export``.
FORMATS = ("json", "csv", "xlsx")


def column_keys(profile: Profile) -> tuple[str, ...]:
    """Every column's stable key, in order: :data:`REPORT_COLUMNS`, then the
    profile's further intake fields by their intake key (the JSON keys)."""
    return (*REPORT_COLUMNS, *(f.key for f in extra_columns(profile)))


def header_row(profile: Profile, lang: str) -> tuple[str, ...]:
    """The column headers in ``lang`` (``"id"`` or ``"en"``), in :func:`column_keys` order."""
    headers = register_headers(lang)
    return (
        *(headers[c] for c in REPORT_COLUMNS),
        *(f.label.get(lang) for f in extra_columns(profile)),
    )


def register_cells(
    entry: RegisterEntry, lang: str, profile: Profile, names: dict[str, str]
) -> tuple[Cell, ...]:
    """One register line as export cells, in :func:`column_keys` order (office time).

    The receiving officer is the staff member who received the complaint
    (SOP-7.9-1 item 2), or how it arrived while nobody has taken it yet.
    ``names`` maps staff usernames to full names
    (:func:`gateway.queries.staff_users.staff_names`).
    """
    zone = ZoneInfo(profile.office.timezone)
    return (
        entry.tracking_number,
        channel_label(lang, entry.channel),
        entry.complainant_name,
        entry.customer_name,
        entry.problem,
        entry.received_at.astimezone(zone),
        entry.receiving_officer or actor_text(lang, entry.received_by, names),
        entry.contact,
        profile.status_label(entry.status, lang),
        category_text(lang, entry.category),
        person(entry.assignee, names),
        entry.closed_at.astimezone(zone) if entry.closed_at else None,
        profile.complaint_type_label(entry.complaint_type, lang),
        entry.rejection_reason,
        "\n".join(f"{m.on.isoformat()}: {m.text}" for m in entry.capa_monitoring) or None,
        *(_extra_cell(entry, f.key) for f in extra_columns(profile)),
    )


def _extra_cell(entry: RegisterEntry, key: str) -> Cell:
    value = entry.extra_fields.get(key)
    return None if value is None else str(value)


def register_table(
    entries: Sequence[RegisterEntry], profile: Profile, lang: str, names: dict[str, str]
) -> Table:
    """The register as one table titled "Complaint register" in ``lang``."""
    return Table(
        t(lang, "Complaint register"),
        header_row(profile, lang),
        tuple(register_cells(e, lang, profile, names) for e in entries),
    )


async def register_rows(
    sessions: SessionFactory, profile: Profile, period: Period | None = None
) -> list[RegisterEntry]:
    """Every complaint (or those received in ``period``), oldest first, unrestricted
    by any staff member's visibility: the whole register for the command line."""
    async with sessions() as session:
        return await register_entries(session, profile=profile, period=period)


def cli_period(raw_from: str | None, raw_to: str | None, timezone: str) -> Period | None:
    """The period of ``--from``/``--to`` (``YYYY-MM-DD``, office-local days, both
    included); ``None`` (the whole register) when neither is given.

    Raises:
        gateway.reports.period.PeriodError: only one bound is given, a bound is
            not a date, ``from`` is after ``to`` or the period is too long.
    """
    if raw_from is None and raw_to is None:
        return None
    if raw_from is None or raw_to is None:
        raise PeriodError("from" if raw_from is None else "to", "give both --from and --to")
    # Both bounds are given, so the default month (from ``today``) is never used.
    return parse_period(raw_from, raw_to, today=date.min, timezone=timezone)


def _json_value(value: Cell) -> str | int | float | None:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_json(table: Table, keys: Sequence[str]) -> bytes:
    """A JSON array of objects, one per register line, keyed by ``keys``
    (:func:`column_keys`); times ISO 8601 with the office's offset (UTF-8)."""
    rows = [{k: _json_value(v) for k, v in zip(keys, row, strict=True)} for row in table.rows]
    return json.dumps(rows, ensure_ascii=False, indent=2).encode() + b"\n"


def export(
    entries: Sequence[RegisterEntry],
    profile: Profile,
    fmt: str,
    *,
    lang: str = "id",
    names: dict[str, str] | None = None,
) -> bytes:
    """The register in ``fmt`` (one of :data:`FORMATS`): JSON, or CSV/XLSX exactly
    as the inbox download lays it out.

    Raises:
        ValueError: ``fmt`` is not one of :data:`FORMATS`.
    """
    table = register_table(entries, profile, lang, names or {})
    if fmt == "json":
        return to_json(table, column_keys(profile))
    if fmt == "csv":
        return tables.to_csv([table])
    if fmt == "xlsx":
        return tables.to_xlsx([table], widths=REGISTER_WIDTHS)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")
