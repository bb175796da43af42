"""The report pages (docs/records.md): the complaint register (Buku Register
Keluhan), the periodic recap (Rekapitulasi Keluhan) and the printable forms.

* ``GET /inbox/reports/register?from=&to=`` — the complaints received in the
  period (office-local days; default this month); ``&format=csv`` or
  ``&format=xlsx`` downloads it (:mod:`gateway.reports.tables`: UTF-8 with
  BOM, formula injection neutralised).
* ``GET /inbox/reports/recap?from=&to=`` — counts by channel, category and
  status, on-time rate per step, time to close, satisfaction
  (:mod:`gateway.reports.recap`), each with an SVG chart and its table;
  ``&format=csv|xlsx`` downloads the tables.
* ``GET /inbox/complaints/{tracking}/form.pdf`` and ``…/capa.pdf`` — the
  complaint-handling form and the CAPA form (BBSPJIKFK 5.1.11).

The reports are for the secretariat, the quality manager, ``admin`` and the
workflow's ``escalate_to`` roles (the supervisors); other roles get 403. The
forms follow the complaint page's rule (:func:`gateway.inbox.access.may_see`):
a complaint the viewer may not see is 404.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.numbers import format_decimal
from markupsafe import Markup

from gateway.app_runtime import get_runtime
from gateway.inbox.access import may_report, visibility_for
from gateway.inbox.auth import LANG_KEY, current, forbidden
from gateway.inbox.render import staff_page
from gateway.inbox.report_forms import PrintContext, capa_form, handling_form
from gateway.queries.printed_forms import printed_complaint
from gateway.queries.staff_users import staff_names
from gateway.register import REGISTER_WIDTHS, register_table
from gateway.reports.charts import Bar, bar_chart
from gateway.reports.pdf import FontMissing, PrintedForm, render_pdf
from gateway.reports.period import Period, PeriodError, month_of, parse_period
from gateway.reports.recap import SCORES, Recap, Tally, build_recap
from gateway.reports.register import count_entries, register_entries
from gateway.reports.tables import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, Cell, Table, to_csv, to_xlsx
from gateway.reports.texts import (
    actor_text,
    category_text,
    channel_label,
    day_text,
    person,
    recap_texts,
    register_headers,
    when_text,
)
from gateway.runtime import Runtime
from handlers.i18n import t
from handlers.profile import Profile
from storage.types import utcnow

#: Register lines shown on the page; the downloads hold every line.
REGISTER_PAGE_ROWS = 500
FORMATS = ("csv", "xlsx")


def _period(request: web.Request, zone: str) -> tuple[Period, str | None]:
    """The period asked for, or this month with an error text when it is not valid."""
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    try:
        return parse_period(
            request.query.get("from"), request.query.get("to"), today=today, timezone=zone
        ), None
    except PeriodError:
        lang = request[LANG_KEY]
        return month_of(today, zone), t(lang, "The period was not valid, so this month is shown.")


def _format(request: web.Request) -> str | None:
    """The ``format`` asked for (``None``: the page); raises 400 for an unknown one."""
    value = request.query.get("format") or None
    if value is not None and value not in FORMATS:
        raise web.HTTPBadRequest(text=f"format must be one of {', '.join(FORMATS)}")
    return value


def _period_query(period: Period, **extra: str) -> str:
    return urlencode({"from": period.first.isoformat(), "to": period.last.isoformat(), **extra})


async def _download(tables: Sequence[Table], fmt: str, stem: str, **xlsx: Any) -> web.Response:
    """A CSV or XLSX attachment named ``<stem>.<fmt>``; built off the event loop."""
    if fmt == "csv":
        body = await asyncio.to_thread(to_csv, tables)
        content_type = CSV_CONTENT_TYPE
    else:
        body = await asyncio.to_thread(to_xlsx, tables, **xlsx)
        content_type = XLSX_CONTENT_TYPE
    return web.Response(
        body=body,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{stem}.{fmt}"',
        },
    )


@dataclass(frozen=True, slots=True)
class _ReportRequest:
    """A report asked for by a staff member who may read it: the period (this month
    with ``error`` set when the one asked for was not valid) and the download
    ``fmt`` (``None``: the page)."""

    runtime: Runtime
    profile: Profile
    lang: str
    zone: str
    period: Period
    error: str | None
    fmt: str | None


def _report_request(request: web.Request) -> _ReportRequest | web.Response:
    """The report request, or the 403 page for a role that may not read reports
    (:func:`gateway.inbox.access.may_report`); 400 for an unknown format."""
    runtime = get_runtime(request)
    profile = runtime.profile
    if not may_report(profile, current(request).user.role):
        return forbidden(request, "role")
    zone = profile.office.timezone
    period, error = _period(request, zone)
    return _ReportRequest(
        runtime=runtime,
        profile=profile,
        lang=request[LANG_KEY],
        zone=zone,
        period=period,
        error=error,
        fmt=_format(request),
    )


# --- register -----------------------------------------------------------------


async def register(request: web.Request) -> web.StreamResponse:
    """``GET /inbox/reports/register``: the Buku Register Keluhan of a period."""
    asked = _report_request(request)
    if isinstance(asked, web.Response):
        return asked
    profile, lang, zone = asked.profile, asked.lang, asked.zone
    period, error, fmt = asked.period, asked.error, asked.fmt
    async with asked.runtime.sessions() as session:
        visible = await visibility_for(session, current(request).user)
        names = await staff_names(session)
        total = await count_entries(session, period=period, visible=visible)
        entries = await register_entries(
            session,
            profile=profile,
            period=period,
            visible=visible,
            limit=None if fmt else REGISTER_PAGE_ROWS,
        )
    headers = register_headers(lang)
    title = t(lang, "Complaint register")
    if fmt:
        table = register_table(entries, profile, lang, names)
        return await _download(
            [table], fmt, f"buku-register-keluhan_{period.slug}", widths=REGISTER_WIDTHS
        )
    rows = [
        {
            "tracking_number": e.tracking_number,
            "received": when_text(e.received_at, zone, lang),
            "channel": channel_label(lang, e.channel),
            "complainant_name": e.complainant_name,
            "customer_name": e.customer_name,
            "problem": e.problem,
            "received_by": e.receiving_officer or actor_text(lang, e.received_by, names),
            "complaint_type": profile.complaint_type_label(e.complaint_type, lang),
            "rejection_reason": e.rejection_reason or "",
            "contact": e.contact,
            "status": profile.status_label(e.status, lang),
            "category": category_text(lang, e.category) if e.category else "",
            "assignee": person(e.assignee, names),
            "closed": when_text(e.closed_at, zone, lang),
        }
        for e in entries
    ]
    return staff_page(
        request,
        "report_register.html",
        title=title,
        nav="reports",
        tab="register",
        heading=title,
        headers=headers,
        rows=rows,
        total=total,
        shown=len(rows),
        **_period_context(period, error, lang, "/inbox/reports/register"),
    )


def _period_context(period: Period, error: str | None, lang: str, path: str) -> dict[str, Any]:
    return {
        "period": period,
        "period_text": t(
            lang,
            "{first} to {last}",
            first=day_text(period.first, lang),
            last=day_text(period.last, lang),
        ),
        "period_error": error,
        "report_path": path,
        "csv_url": f"{path}?{_period_query(period, format='csv')}",
        "xlsx_url": f"{path}?{_period_query(period, format='xlsx')}",
        "register_url": f"/inbox/reports/register?{_period_query(period)}",
        "recap_url": f"/inbox/reports/recap?{_period_query(period)}",
    }


# --- recap --------------------------------------------------------------------


def _number(value: Cell, lang: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return format_decimal(value, format="#,##0.0", locale=lang)
    if isinstance(value, int):
        return format_decimal(value, locale=lang)
    if isinstance(value, date):
        return day_text(value, lang)
    return str(value)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _namer(section: str, lang: str, profile: Profile) -> Callable[[str | None], str]:
    """How the keys of a count section (channel, category, status) are shown."""
    if section == "by_channel":
        return lambda key: channel_label(lang, key or "")
    if section == "by_category":
        return lambda key: category_text(lang, key)
    return lambda key: profile.status_label(key or "", lang)


def _tallies(recap: Recap) -> dict[str, tuple[Tally, ...]]:
    return {
        "by_channel": recap.by_channel,
        "by_category": recap.by_category,
        "by_status": recap.by_status,
    }


def recap_tables(recap: Recap, lang: str, profile: Profile) -> dict[str, Table]:
    """The recap as tables (for the page and the exports), keyed by section."""
    text = recap_texts(lang)
    headers = {"by_channel": "channel", "by_category": "category", "by_status": "status"}
    close = recap.close_times
    score = recap.satisfaction
    tables = {
        "summary": Table(
            t(lang, "Complaint recap"),
            (text["measure"], text["value"]),
            (
                (t(lang, "First day"), recap.period.first),
                (t(lang, "Last day"), recap.period.last),
                (t(lang, "Complaints received"), recap.received),
            ),
        )
    }
    for key, tallies in _tallies(recap).items():
        name = _namer(key, lang, profile)
        tables[key] = Table(
            text[key],
            (text[headers[key]], text["complaints"]),
            tuple((name(tally.key), tally.count) for tally in tallies),
        )
    tables["steps"] = Table(
        text["steps"],
        (text["step"], text["standard"], text["left"], text["on_time"], text["late"], text["rate"]),
        tuple(
            (
                profile.status_label(step.state, lang),
                _standard(profile, step.state, lang),
                step.left,
                step.on_time,
                step.late,
                _rounded(step.rate),
            )
            for step in recap.steps
        ),
    )
    tables["close"] = Table(
        text["close"],
        (text["measure"], text["value"]),
        (
            (text["closed"], close.count),
            (text["mean_hours"], _rounded(close.mean_hours)),
            (text["p90_hours"], _rounded(close.p90_hours)),
            (text["mean_days"], _rounded(close.mean_working_days)),
            (text["p90_days"], close.p90_working_days),
        ),
    )
    tables["satisfaction"] = Table(
        text["satisfaction"],
        (text["score"], text["responses"]),
        (
            *((str(s), n) for s, n in zip(SCORES, score.distribution, strict=True)),
            (text["responses"], score.count),
            (text["mean_score"], _rounded(score.mean)),
        ),
    )
    return tables


def _standard(profile: Profile, state: str, lang: str) -> str:
    spec = profile.workflow
    standard = spec.states[state].standard if state in spec.states else None
    return standard.describe(lang) if standard else ""


def _chart(
    chart_id: str, title: str, bars: Sequence[Bar], maximum: float | None = None
) -> Markup | None:
    if not any(bar.value for bar in bars):
        return None
    description = "; ".join(f"{bar.label}: {bar.text}" for bar in bars)
    return bar_chart(
        chart_id=chart_id, title=title, description=description, bars=bars, maximum=maximum
    )


def recap_charts(recap: Recap, lang: str, profile: Profile) -> dict[str, Markup | None]:
    """An SVG chart per recap section (``None`` when there is nothing to draw)."""
    text = recap_texts(lang)
    charts: dict[str, Markup | None] = {}
    for key, tallies in _tallies(recap).items():
        name = _namer(key, lang, profile)
        charts[key] = _chart(
            f"chart-{key.replace('_', '-')}",
            text[key],
            [Bar(name(x.key), float(x.count), _number(x.count, lang)) for x in tallies if x.count],
        )
    charts["steps"] = _chart(
        "chart-steps",
        text["steps"],
        [
            Bar(profile.status_label(s.state, lang), s.rate, f"{_number(_rounded(s.rate), lang)} %")
            for s in recap.steps
            if s.rate is not None
        ],
        100.0,
    )
    close = recap.close_times
    charts["close"] = (
        _chart(
            "chart-close",
            text["close"],
            [
                Bar(
                    text["mean_hours"], close.mean_hours, _number(_rounded(close.mean_hours), lang)
                ),
                Bar(text["p90_hours"], close.p90_hours, _number(_rounded(close.p90_hours), lang)),
            ],
        )
        if close.mean_hours is not None and close.p90_hours is not None
        else None
    )
    charts["satisfaction"] = _chart(
        "chart-satisfaction",
        text["satisfaction"],
        [
            Bar(str(s), float(n), _number(n, lang))
            for s, n in zip(SCORES, recap.satisfaction.distribution, strict=True)
        ],
    )
    return charts


async def recap(request: web.Request) -> web.StreamResponse:
    """``GET /inbox/reports/recap``: the Rekapitulasi Keluhan of a period."""
    asked = _report_request(request)
    if isinstance(asked, web.Response):
        return asked
    profile, lang = asked.profile, asked.lang
    period, error, fmt = asked.period, asked.error, asked.fmt
    async with asked.runtime.sessions() as session:
        visible = await visibility_for(session, current(request).user)
        result = await build_recap(session, profile=profile, period=period, visible=visible)
    tables = recap_tables(result, lang, profile)
    if fmt:
        return await _download(
            list(tables.values()),
            fmt,
            f"rekapitulasi-keluhan_{period.slug}",
            widths=(34, 18, 14, 12, 12, 16),
        )
    charts = recap_charts(result, lang, profile)
    sections = [
        {
            "id": key,
            "title": table.title,
            "headers": table.headers,
            "rows": [[_number(cell, lang) for cell in row] for row in table.rows],
            "chart": charts.get(key),
        }
        for key, table in tables.items()
        if key != "summary"
    ]
    title = t(lang, "Complaint recap")
    return staff_page(
        request,
        "report_recap.html",
        title=title,
        nav="reports",
        tab="recap",
        heading=title,
        received=result.received,
        closed=result.close_times.count,
        sections=sections,
        **_period_context(period, error, lang, "/inbox/reports/recap"),
    )


# --- printable forms -------------------------------------------------------------


async def _printed(request: web.Request, kind: str) -> web.StreamResponse:
    runtime = get_runtime(request)
    lang = request[LANG_KEY]
    user = current(request).user
    tracking = request.match_info["tracking"].upper()
    async with runtime.sessions() as session:
        found = await printed_complaint(session, await visibility_for(session, user), tracking)
    if found is None:
        raise web.HTTPNotFound(text="no such complaint")
    complaint, events, names = found.complaint, found.events, found.names
    ctx = PrintContext(
        profile=runtime.profile, lang=lang, names=names, printed_by=user.full_name, now=utcnow()
    )
    form: PrintedForm
    if kind == "form":
        form, stem = handling_form(complaint, events, ctx), "formulir-penanganan-keluhan"
    else:
        form, stem = capa_form(complaint, events, ctx), "formulir-tindakan-koreksi"
    try:
        body = await asyncio.to_thread(render_pdf, form)
    except FontMissing as exc:
        raise web.HTTPServiceUnavailable(text=str(exc)) from None
    return web.Response(
        body=body,
        headers={
            "Content-Type": "application/pdf",
            "Content-Disposition": f'inline; filename="{stem}_{complaint.tracking_number}.pdf"',
        },
    )


async def complaint_form_pdf(request: web.Request) -> web.StreamResponse:
    """``GET /inbox/complaints/{tracking}/form.pdf``: the complaint-handling form."""
    return await _printed(request, "form")


async def capa_form_pdf(request: web.Request) -> web.StreamResponse:
    """``GET /inbox/complaints/{tracking}/capa.pdf``: the CAPA form (blank fields when none)."""
    return await _printed(request, "capa")


async def reports_home(request: web.Request) -> web.StreamResponse:
    """``GET /inbox/reports``: to the recap."""
    raise web.HTTPSeeOther("/inbox/reports/recap")


def add_routes(app: web.Application) -> None:
    """Register the report pages and the printable forms."""
    app.router.add_get("/inbox/reports", reports_home)
    app.router.add_get("/inbox/reports/register", register)
    app.router.add_get("/inbox/reports/recap", recap)
    app.router.add_get("/inbox/complaints/{tracking}/form.pdf", complaint_form_pdf)
    app.router.add_get("/inbox/complaints/{tracking}/capa.pdf", capa_form_pdf)
