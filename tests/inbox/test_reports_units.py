"""Report building blocks: periods, spreadsheet safety, SVG charts, the CLI register."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from gateway.register import column_keys, export
from gateway.reports import tables
from gateway.reports.charts import Bar, bar_chart
from gateway.reports.period import MAX_DAYS, PeriodError, month_of, parse_period
from gateway.reports.register import REPORT_COLUMNS, RegisterEntry
from gateway.reports.texts import actor_text
from handlers.profile import load_profile

ZONE = "Asia/Jakarta"
TODAY = date(2026, 2, 14)


def test_a_period_is_office_local_days_defaulting_to_this_month() -> None:
    period = parse_period(None, None, today=TODAY, timezone=ZONE)
    assert (period.first, period.last) == (date(2026, 2, 1), date(2026, 2, 28))
    assert period == month_of(TODAY, ZONE)
    assert period.start == datetime(2026, 1, 31, 17, 0, tzinfo=UTC)  # 00:00 WIB
    assert period.end == datetime(2026, 2, 28, 17, 0, tzinfo=UTC)
    assert period.contains(datetime(2026, 2, 28, 16, 59, tzinfo=UTC))
    assert not period.contains(datetime(2026, 2, 28, 17, 0, tzinfo=UTC))  # 1 March WIB
    assert period.slug == "2026-02-01_2026-02-28"
    only_from = parse_period("2026-01-15", "", today=TODAY, timezone=ZONE)
    assert (only_from.first, only_from.last) == (date(2026, 1, 15), date(2026, 2, 28))
    assert month_of(date(2026, 12, 31), ZONE).last == date(2026, 12, 31)


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        ("15-01-2026", None, "from"),
        (None, "besok", "to"),
        ("2026-03-01", "2026-02-01", "to"),
        ("2000-01-01", "2026-01-01", "to"),
    ],
)
def test_bad_periods_are_refused(first: str | None, last: str | None, field: str) -> None:
    with pytest.raises(PeriodError) as refused:
        parse_period(first, last, today=TODAY, timezone=ZONE)
    assert refused.value.field == field
    assert MAX_DAYS >= 3650


def test_spreadsheet_cells_never_start_a_formula() -> None:
    for text in ("=1+2", "+62812", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert tables.neutralise(text) == "'" + text
    assert tables.neutralise("Budi = Budi") == "Budi = Budi"
    table = tables.Table(
        "Uji: [satu]/dua?",
        ("=Kolom", "Angka", "Waktu"),
        (("=cmd|' /C calc'!A0", -5, datetime(2026, 11, 2, 9, 0)), ("teks\x07", 1.5, None)),
    )
    rows = list(csv.reader(io.StringIO(tables.to_csv([table], titles=True).decode("utf-8-sig"))))
    assert rows[0] == ["Uji: [satu]/dua?"]
    assert rows[1] == ["'=Kolom", "Angka", "Waktu"]
    assert rows[2] == ["'=cmd|' /C calc'!A0", "-5", "2026-11-02 09:00"]  # numbers stay numbers
    workbook = load_workbook(io.BytesIO(tables.to_xlsx([table, table])))
    assert workbook.sheetnames == ["Uji   satu  dua", "Uji   satu  dua (2)"]
    sheet = workbook.worksheets[0]
    assert sheet["A1"].value == "=Kolom" and sheet["A1"].data_type == "s"
    assert sheet["A2"].value == "=cmd|' /C calc'!A0" and sheet["A2"].quotePrefix
    assert sheet["B2"].value == -5 and sheet["C2"].value == datetime(2026, 11, 2, 9, 0)
    assert sheet["A3"].value == "teks"  # a control character XLSX cannot hold is dropped


def test_the_cli_register_has_the_inbox_columns_and_is_safe_too() -> None:
    profile = load_profile("bbspjikkp")
    entry = RegisterEntry(
        "ADU-2026-00001",
        "email",
        "=Budi",
        "PT Sinar Jaya",
        "laporan terlambat",
        datetime(2026, 11, 2, 2, 0, tzinfo=UTC),
        "channel:email",
        "budi@example.com",
        "rejected",
        None,
        None,
        None,
        rejection_reason="terlambat",
        extra_fields={"final_report_date": "2026-10-20"},
    )
    keys = column_keys(profile)
    assert keys == (*REPORT_COLUMNS, "final_report_date")
    rows = list(csv.reader(io.StringIO(export([entry], profile, "csv").decode("utf-8-sig"))))
    assert rows[0][0] == "Nomor pengaduan" and len(rows[0]) == len(keys)
    assert rows[1][2] == "'=Budi" and rows[1][5] == "2026-11-02 09:00"  # office time
    assert rows[1][13] == "terlambat" and rows[1][-1] == "2026-10-20"
    sheet = load_workbook(io.BytesIO(export([entry], profile, "xlsx"))).active
    assert sheet is not None
    assert sheet["A1"].value == "Nomor pengaduan" and sheet["C2"].data_type == "s"
    assert sheet["C2"].value == "=Budi" and sheet["C2"].quotePrefix
    english = list(
        csv.reader(io.StringIO(export([entry], profile, "csv", lang="en").decode("utf-8-sig")))
    )
    assert english[0][0] == "Tracking number" and english[0][-1] == "Date final PT report received"
    with pytest.raises(ValueError):
        export([entry], profile, "pdf")


def test_a_chart_is_accessible_svg_with_escaped_labels() -> None:
    svg = str(
        bar_chart(
            chart_id="chart-test",
            title="Keluhan <b>per</b> kanal",
            description="Email: 2; WhatsApp: 1",
            bars=[
                Bar("<script>alert(1)</script>", 2, "2"),
                Bar("WhatsApp", 1, "1"),
                Bar("SMS", 0, "0"),
            ],
        )
    )
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert (
        'aria-labelledby="chart-test-title"' in svg and 'aria-describedby="chart-test-desc"' in svg
    )
    assert '<title id="chart-test-title">Keluhan &lt;b&gt;per&lt;/b&gt; kanal</title>' in svg
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert "style=" not in svg  # colours come from classes (CSP)
    widths = [float(w) for w in re.findall(r'width="([\d.]+)"', svg)]
    assert widths == [330.0, 165.0, 0.0]  # the largest bar spans the drawing, less the value room
    with pytest.raises(ValueError):
        bar_chart(chart_id="Bad id", title="t", description="d", bars=[])
    with pytest.raises(ValueError):
        bar_chart(chart_id="ok", title="t", description="d", bars=[Bar("x", -1, "-1")])


@pytest.mark.parametrize(
    ("actor", "indonesian", "english"),
    [
        ("staff:sri", "Sri Wahyuni (sri)", "Sri Wahyuni (sri)"),
        ("staff:gone", "gone", "gone"),  # an account without a display name
        ("channel:whatsapp", "Penerimaan otomatis (WhatsApp)", "Automatic intake (WhatsApp)"),
        ("complainant:email", "Pengadu (Email)", "Complainant (Email)"),
        ("complainant", "Pengadu", "The complainant"),
        ("provider:whatsapp", "Penyedia layanan (WhatsApp)", "Provider (WhatsApp)"),
        ("system", "Sistem", "System"),
        ("import:2025", "import:2025", "import:2025"),  # unknown: as it is
    ],
)
def test_who_acted_reads_the_same_on_every_page(actor: str, indonesian: str, english: str) -> None:
    """One wording for the complaint page, the appeal pages, the register and
    the printed forms (gateway/reports/texts.py, actor_text)."""
    names = {"sri": "Sri Wahyuni"}
    assert actor_text("id", actor, names) == indonesian
    assert actor_text("en", actor, names) == english
