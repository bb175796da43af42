"""The complaint register (Buku Register Keluhan): rows and their exports.

Columns follow SOP-7.9-1 item 2 (the identity fields) plus the contact used,
status and category (issue 2, item 10).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select

from gateway.reports import tables
from storage.db import SessionFactory
from storage.models import Complaint

COLUMNS = (
    "tracking_number",
    "channel",
    "complainant_name",
    "customer_name",
    "problem",
    "received_at",
    "received_by",
    "contact",
    "status",
    "category",
)

HEADERS_ID = {
    "tracking_number": "Nomor pengaduan",
    "channel": "Saluran",
    "complainant_name": "Nama pengadu",
    "customer_name": "Nama pelanggan/peserta",
    "problem": "Masalah yang diadukan",
    "received_at": "Tanggal pengaduan",
    "received_by": "Penerima pengaduan",
    "contact": "Kontak",
    "status": "Status",
    "category": "Kategori",
}


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """One complaint as a register line; ``received_at`` is ISO 8601 in office time."""

    tracking_number: str
    channel: str
    complainant_name: str
    customer_name: str
    problem: str
    received_at: str
    received_by: str
    contact: str
    status: str
    category: str | None


async def register_rows(
    sessions: SessionFactory, timezone: str = "Asia/Jakarta"
) -> list[RegisterRow]:
    """Every complaint, oldest first, as register rows."""
    zone = ZoneInfo(timezone)
    async with sessions() as session:
        complaints = await session.scalars(
            select(Complaint).order_by(Complaint.received_at, Complaint.id)
        )
        return [
            RegisterRow(
                tracking_number=c.tracking_number,
                channel=c.channel,
                complainant_name=c.complainant_name,
                customer_name=c.customer_name,
                problem=c.problem,
                received_at=c.received_at.astimezone(zone).isoformat(timespec="seconds"),
                received_by=c.received_by,
                contact=c.contact_address,
                status=c.status,
                category=c.category,
            )
            for c in complaints
        ]


def to_json(rows: Sequence[RegisterRow]) -> bytes:
    """A JSON array of objects keyed by :data:`COLUMNS` (UTF-8)."""
    return json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2).encode() + b"\n"


def _cells(rows: Sequence[RegisterRow]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple("" if v is None else v for v in asdict(r).values()) for r in rows)


def to_csv(rows: Sequence[RegisterRow]) -> bytes:
    """CSV with a header line of :data:`COLUMNS`, UTF-8 with BOM (opens right in Excel).

    A cell a spreadsheet would run as a formula gets a leading apostrophe
    (:func:`gateway.reports.tables.neutralise`).
    """
    return tables.to_csv([tables.Table("Register", COLUMNS, _cells(rows))], titles=False)


def to_xlsx(rows: Sequence[RegisterRow]) -> bytes:
    """An XLSX workbook, sheet "Register", Indonesian headers, one row per complaint.

    Text cells are stored as text, never as formulas (:mod:`gateway.reports.tables`).
    """
    headers = tuple(HEADERS_ID[c] for c in COLUMNS)
    return tables.to_xlsx([tables.Table("Register", headers, _cells(rows))])


EXPORTERS = {"json": to_json, "csv": to_csv, "xlsx": to_xlsx}
