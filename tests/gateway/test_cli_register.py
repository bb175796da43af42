"""``aduan complaints export`` writes the inbox's register: the same columns, in
the same order, with the same values, including the profile's further intake
fields (SOP-7.9-1 item 3's ``final_report_date``) and the rejection reason."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.app import create_app
from gateway.cli import main
from gateway.register import cli_period
from gateway.reports.period import PeriodError
from storage.models import Complaint, Contact
from tests.inbox.conftest import Site, add_staff
from tests.runtime_fixtures import make_harness

WIB = ZoneInfo("Asia/Jakarta")
REASON = "keluhan diajukan lebih dari 3 hari kerja setelah laporan akhir UP diterima"


def _complaint(contact: Contact, number: int, received: datetime, **values: Any) -> Complaint:
    fields: dict[str, Any] = {
        "tracking_number": f"ADU-2026-{number:05d}",
        "contact_id": contact.id,
        "channel": "email",
        "contact_address": f"p{number}@example.com",
        "complainant_name": f"Pengadu {number}",
        "customer_name": "PT Sinar Jaya",
        "problem": "laporan hasil uji terlambat",
        "received_at": received,
        "received_by": "channel:email",
    }
    return Complaint(**{**fields, **values})


async def test_the_cli_export_is_the_inbox_register(
    aiohttp_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await make_harness(tmp_path, sop_profile="bbspjikkp")
    try:
        await add_staff(h, ("sri", "secretariat"))
        async with h.runtime.sessions() as s, s.begin():
            contact = Contact(display_name="Pengadu")
            s.add(contact)
            await s.flush()
            s.add_all(
                [
                    _complaint(
                        contact,
                        1,
                        datetime(2026, 11, 2, 9, 0, tzinfo=WIB),
                        status="rejected",
                        extra_fields={"final_report_date": "2026-10-20"},
                        details={"reject": {"reason": REASON}},
                    ),
                    _complaint(
                        contact,
                        2,
                        datetime(2026, 11, 10, 8, 0, tzinfo=WIB),
                        status="received",
                        customer_name="=HYPERLINK(1)",
                    ),
                    _complaint(contact, 3, datetime(2026, 12, 1, 9, 0, tzinfo=WIB)),
                ]
            )
        client = await aiohttp_client(
            create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
        )
        site = Site(client, h)
        await site.sign_in("sri")
        response = await client.get(
            "/inbox/reports/register",
            params={"from": "2026-11-01", "to": "2026-12-31", "format": "csv"},
        )
        assert response.status == 200
        inbox = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))

        for name in ("ADUAN_REDIS_URL", "ADUAN_IMAP_HOST", "ADUAN_SMTP_HOST"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("ADUAN_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("ADUAN_DATABASE_URL", h.runtime.settings.effective_database_url)
        monkeypatch.setenv("ADUAN_SOP_PROFILE", "bbspjikkp")
        out = tmp_path / "r.csv"
        code = await asyncio.to_thread(
            main, ["complaints", "export", "--format", "csv", "--output", str(out)]
        )
        assert code == 0
        cli = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))

        # One register: the header row and every line equal the inbox download's.
        assert cli[0] == inbox[0]
        assert cli == inbox
        assert cli[0][-1] == "Tanggal laporan akhir UP diterima"
        assert cli[0][13] == "Alasan penolakan"
        first, second, third = cli[1:]
        assert first[0] == "ADU-2026-00001" and first[-1] == "2026-10-20"
        assert first[13] == REASON and first[8] == "Ditolak"
        assert first[5] == "2026-11-02 09:00"  # office time
        assert second[3] == "'=HYPERLINK(1)"  # formula neutralised as in the inbox
        assert third[0] == "ADU-2026-00003"

        # JSON: a stable key per column, the same values.
        js = tmp_path / "r.json"
        code = await asyncio.to_thread(
            main,
            ["complaints", "export", "--format", "json", "--output", str(js)],
        )
        assert code == 0
        rows = json.loads(js.read_text("utf-8"))
        assert rows[0]["final_report_date"] == "2026-10-20"
        assert rows[0]["rejection_reason"] == REASON
        assert rows[0]["received_at"] == "2026-11-02T09:00:00+07:00"
        assert rows[0]["status"] == "Ditolak" and rows[0]["channel"] == first[1]
        assert list(rows[0])[:2] == ["tracking_number", "channel"]

        # --from/--to narrow the register to office-local days.
        code = await asyncio.to_thread(
            main,
            [
                "complaints",
                "export",
                "--format",
                "json",
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-30",
                "--output",
                str(js),
            ],
        )
        assert code == 0
        numbers = [r["tracking_number"] for r in json.loads(js.read_text("utf-8"))]
        assert numbers == ["ADU-2026-00001", "ADU-2026-00002"]
    finally:
        await h.runtime.close()


def test_a_cli_period_needs_both_bounds() -> None:
    assert cli_period(None, None, "Asia/Jakarta") is None
    period = cli_period("2026-11-01", "2026-11-30", "Asia/Jakarta")
    assert period is not None and period.start == datetime(2026, 11, 1, tzinfo=WIB)
    with pytest.raises(PeriodError):
        cli_period("2026-11-01", None, "Asia/Jakarta")
    with pytest.raises(PeriodError):
        cli_period("2026-11-30", "2026-11-01", "Asia/Jakarta")
