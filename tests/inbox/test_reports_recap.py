"""The periodic recap (Rekapitulasi Keluhan): exact counts, on-time rates per
step, time to close and satisfaction from complaints moved through the real
workflow (docs/records.md)."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from gateway.reports.period import Period
from gateway.reports.recap import StepTiming, Tally, build_recap, percentile
from tests.inbox.conftest import Site
from tests.inbox.reports_seed import NOVEMBER, download_csv, seed_november


async def test_the_recap_counts_what_happened_in_the_period(site: Site) -> None:
    await seed_november(site)
    period = Period(date(2026, 11, 1), date(2026, 11, 30), "Asia/Jakarta")
    async with site.h.runtime.sessions() as session:
        recap = await build_recap(session, profile=site.h.runtime.profile, period=period)

    assert recap.received == 3  # A, B, C; D (October) and E (December) are outside
    assert recap.by_channel == (Tally("email", 2), Tally("whatsapp", 1))
    assert recap.by_category == (
        Tally("administrative", 1),
        Tally("technical", 1),
        Tally(None, 1),
    )
    counted = {t.key: t.count for t in recap.by_status if t.count}
    assert counted == {"closed": 2, "rejected": 1}

    assert recap.steps == (
        StepTiming("received", left=3, on_time=2),  # A, C on time; B late
        StepTiming("verified", left=3, on_time=1),  # B on time; A and D late
        StepTiming("in_follow_up", left=2, on_time=1),  # A on time; B after Fri 13 Nov
        StepTiming("capa_recorded", left=2, on_time=2),
        StepTiming("result_verified", left=2, on_time=1),  # B closed 25 min after
    )
    assert [s.rate for s in recap.steps] == pytest.approx([200 / 3, 100 / 3, 50, 100, 50])

    close = recap.close_times
    assert close.count == 3  # A and B closed, C rejected: all in a final state
    hours = [49 + 20 / 60, 145.5, 5 / 60]
    assert close.mean_hours == pytest.approx(sum(hours) / 3)
    assert close.p90_hours == pytest.approx(145.5)
    assert close.mean_working_days == pytest.approx(2.0)  # (2 + 4 + 0) / 3
    assert close.p90_working_days == 4

    assert recap.satisfaction.count == 2
    assert recap.satisfaction.mean == pytest.approx(4.0)
    assert recap.satisfaction.distribution == (0, 0, 1, 0, 1)


async def test_a_period_counts_only_its_own_days(site: Site) -> None:
    await seed_november(site)
    profile = site.h.runtime.profile
    async with site.h.runtime.sessions() as session:
        october = await build_recap(
            session,
            profile=profile,
            period=Period(date(2026, 10, 1), date(2026, 10, 31), "Asia/Jakarta"),
        )
        first_day = await build_recap(
            session,
            profile=profile,
            period=Period(date(2026, 11, 2), date(2026, 11, 2), "Asia/Jakarta"),
        )
    assert october.received == 1 and october.by_channel == (Tally("email", 1),)
    assert [(s.state, s.left, s.on_time) for s in october.steps if s.left] == [
        ("received", 1, 1)  # D verified 5 minutes after receipt
    ]
    assert october.close_times.count == 0 and october.close_times.mean_hours is None
    assert october.satisfaction.count == 0 and october.satisfaction.mean is None
    # 2 November: A received, verified and routed; D routed (late).
    assert first_day.received == 1
    assert [(s.state, s.left, s.on_time) for s in first_day.steps if s.left] == [
        ("received", 1, 1),
        ("verified", 2, 0),
    ]


def test_the_90th_percentile_is_an_observed_value() -> None:
    assert percentile([5.0], 90) == 5.0
    assert percentile([3.0, 1.0, 2.0], 90) == 3.0
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 90) == 18.0  # rank ceil(0.9 × 20) = 18
    assert percentile(values, 50) == 10.0
    with pytest.raises(ValueError):
        percentile([], 90)


async def test_the_recap_page_shows_tables_and_accessible_charts(site: Site) -> None:
    seeded = await seed_november(site)
    await site.sign_in("maya")  # the quality manager (the workflow's escalate_to)
    response = await site.client.get("/inbox/reports/recap", params=NOVEMBER)
    assert response.status == 200
    body = await response.text()
    assert "Rekapitulasi Keluhan" in body and "1 November 2026 sampai 30 November 2026" in body
    assert seeded.a not in body  # counts, not complaints
    for heading in (
        "Keluhan menurut kanal",
        "Keluhan menurut kategori",
        "Ketepatan waktu per langkah",
        "Waktu penyelesaian",
        "Kepuasan",
    ):
        assert heading in body
    assert body.count('role="img"') == 6 and body.count("<title id=") == 6
    assert 'aria-describedby="chart-steps-desc"' in body
    assert "Diterima: 66,7 %" in body  # the chart's description holds its numbers
    assert "65,0" in body and "145,5" in body  # mean and p90 hours, Indonesian decimals
    assert "style=" not in body and "<script" not in body  # CSP: no inline style or script
    assert 'media="print"' in body

    english = await (
        await site.client.get("/inbox/reports/recap", params={**NOVEMBER, "lang": "en"})
    ).text()
    assert "Complaint recap" in english and "On-time rate per step" in english and "66.7" in english


async def test_the_recap_downloads_as_csv_and_xlsx(site: Site) -> None:
    await seed_november(site)
    await site.sign_in("sri")
    rows = await download_csv(
        site, "/inbox/reports/recap", NOVEMBER, "rekapitulasi-keluhan_2026-11-01_2026-11-30.csv"
    )
    assert rows[0] == ["Rekapitulasi Keluhan"]
    assert ["Keluhan diterima", "3"] in rows
    steps = rows.index(["Ketepatan waktu per langkah"])
    assert rows[steps + 2] == ["Diterima", "15 menit", "3", "2", "1", "66.7"]
    assert ["Persentil ke-90 (hari kerja)", "4"] in rows
    assert ["Skor rata-rata", "4.0"] in rows

    response = await site.client.get("/inbox/reports/recap", params={**NOVEMBER, "format": "xlsx"})
    assert response.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    workbook = load_workbook(io.BytesIO(await response.read()))
    assert workbook.sheetnames[:3] == [
        "Rekapitulasi Keluhan",
        "Keluhan menurut kanal",
        "Keluhan menurut kategori",
    ]
    by_channel = list(workbook["Keluhan menurut kanal"].iter_rows(values_only=True))
    assert by_channel == [("Kanal", "Jumlah keluhan"), ("Email", 2), ("WhatsApp", 1)]
    close = dict(workbook["Waktu penyelesaian"].iter_rows(min_row=2, values_only=True))
    assert close["Keluhan selesai"] == 3 and close["Persentil ke-90 (jam)"] == 145.5
    summary = list(workbook["Rekapitulasi Keluhan"].iter_rows(min_row=2, values_only=True))
    assert summary[0][1] is not None and summary[0][1].date() == date(2026, 11, 1)
    assert summary[1][1].date() == date(2026, 11, 1) + timedelta(days=29)
