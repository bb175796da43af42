"""A runtime on SQLite or PostgreSQL, and a complainant who wrote by email (with
an attachment, as raw RFC 5322) and by WhatsApp, merged into one contact."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import LargeBinary, String, Text, select
from sqlalchemy.types import JSON

from channels.base import ChannelName
from channels.email.parse import parse_email
from gateway.config import load_settings
from gateway.runtime import build_runtime
from handlers.contacts import merge_contacts
from storage.migrate import upgrade
from storage.models import Base, Complaint, ContactAddress
from tests.conftest import _postgres_engine
from tests.fakes import RecordingChannel, inbound
from tests.runtime_fixtures import Harness
from tests.services import POSTGRES_URL

NAME = "Budi Santoso"
CUSTOMER = "PT Sinar Jaya Makmur"
PROBLEM = "laporan hasil uji kalibrasi timbangan terlambat dua minggu"
MAIL = "budi.santoso@example.com"
PHONE = "+6281234567890"
FILENAME = "kuitansi-budi.pdf"
FILE_BYTES = b"%PDF-1.4 kuitansi pembayaran Budi Santoso 0412"
WA_PROBLEM = "sertifikat kalibrasi salah tulis nomor seri alat ukur"

#: Every string of the complainant's that must be gone after an erasure.
ORIGINALS = (
    NAME,
    "Santoso",
    CUSTOMER,
    PROBLEM,
    WA_PROBLEM,
    MAIL,
    "81234567890",
    FILENAME,
    "kuitansi pembayaran",
)


def raw_email() -> bytes:
    """The complaint as the office mailbox receives it: RFC 5322 with a PDF attached."""
    msg = EmailMessage()
    msg["From"] = f"{NAME} <{MAIL}>"
    msg["To"] = "pengaduan@kantor.example.go.id"
    msg["Subject"] = f"Keluhan {CUSTOMER}"
    msg["Message-ID"] = "<keluhan-0001@mail.example.com>"
    msg["Date"] = "Fri, 04 Dec 2026 09:00:00 +0700"
    msg.set_content(f"Nama: {NAME}\nPelanggan: {CUSTOMER}\nMasalah: {PROBLEM}\n")
    msg.add_attachment(FILE_BYTES, maintype="application", subtype="pdf", filename=FILENAME)
    return msg.as_bytes()


@dataclass
class Filed:
    """The runtime and the merged contact's id."""

    h: Harness
    contact_id: int


async def make(kind: str, tmp_path: Path) -> Harness:
    """A started runtime with recording channels on ``kind`` (sqlite or postgresql)."""
    if kind == "postgresql":
        engine = await _postgres_engine()
        await engine.dispose()
        url = POSTGRES_URL
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'p.sqlite3'}"
    email = RecordingChannel(ChannelName.EMAIL, interactive=False)
    sms = RecordingChannel(ChannelName.SMS)
    runtime = await build_runtime(
        load_settings(database_url=url, data_dir=tmp_path),
        use_redis=False,
        extra_channels={"email": email, "sms": sms},
    )
    await upgrade(runtime.engine)
    await runtime.start(run_channels=False)
    return Harness(runtime, email, sms)


async def file_both(h: Harness) -> int:
    """File a complaint by email and one by WhatsApp, merge the WhatsApp contact
    into the email one; returns the merged contact's id."""
    message = parse_email(raw_email(), own_addresses=(), max_attachment_bytes=1_000_000)
    await h.runtime.accept(message)
    await h.settle()
    text = f"Nama: {NAME}\nPelanggan: {CUSTOMER}\nMasalah: {WA_PROBLEM}"
    await h.runtime.accept(inbound(ChannelName.WHATSAPP, "wa-1", PHONE, text))
    await h.settle()
    await h.runtime.accept(inbound(ChannelName.WHATSAPP, "wa-2", PHONE, "ya"))
    await h.settle()
    async with h.runtime.work() as session:
        mail = await session.scalar(
            select(ContactAddress.contact_id).where(ContactAddress.address == MAIL)
        )
        phone = await session.scalar(
            select(ContactAddress.contact_id).where(ContactAddress.address == PHONE)
        )
        assert mail is not None and phone is not None and mail != phone
        assert len(list(await session.scalars(select(Complaint.id)))) == 2
        await merge_contacts(session, target_id=mail, source_id=phone, actor="staff:sri")
    return int(mail)


@pytest.fixture(params=["sqlite", "postgresql"])
async def filed(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Filed]:
    h = await make(request.param, tmp_path)
    try:
        yield Filed(h, await file_both(h))
    finally:
        await h.runtime.close()


async def personal_data_left(h: Harness, originals: tuple[str, ...] = ORIGINALS) -> list[str]:
    """``table.column: original`` for every original string still found in any
    text, JSON or binary column of any table (taken from the models' metadata,
    so a column added later is searched too)."""
    found: list[str] = []
    async with h.runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            columns = [
                c for c in table.columns if isinstance(c.type, String | Text | JSON | LargeBinary)
            ]
            if not columns:
                continue
            for row in await session.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    text = _as_text(value)
                    for original in originals:
                        if original.lower() in text.lower():
                            found.append(f"{table.name}.{column.name}: {original}")
    return found


def _as_text(value: Any) -> str:
    import base64
    import json

    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    text = json.dumps(value, ensure_ascii=False)
    # A raw email is kept base64-encoded: decode what looks like it.
    decoded = []
    for chunk in _strings(value):
        try:
            decoded.append(base64.b64decode(chunk, validate=True).decode("utf-8", "replace"))
        except ValueError:
            continue
    return text + "\n".join(decoded)


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []
