"""The inbox list page, ``GET /inbox``.

Every complaint from every channel, newest activity first, with filters,
search and keyset pages (:mod:`gateway.queries.complaint_list`); citizens still in the
intake conversation are listed above as "in progress"
(:mod:`gateway.queries.drafts`). The list refreshes itself when activity
arrives (:mod:`gateway.inbox.live`): the page script asks for the same URL
with ``X-Fragment: list`` and gets only the list, rendered on the server.
The filter bar folds away (on phones it starts folded and shows the active
filters as chips, :mod:`gateway.inbox.filter_chips`); the page script adds
keyboard navigation of the rows (``gateway/static/inbox.js``, docs/inbox.md).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_datetime
from pydantic import ValidationError

from gateway.app_runtime import get_runtime
from gateway.inbox.access import visibility_for
from gateway.inbox.auth import LANG_KEY, current
from gateway.inbox.filter_chips import filter_chips
from gateway.inbox.live import feed
from gateway.inbox.render import staff_page
from gateway.queries.complaint_list import (
    InboxFilters,
    InboxRow,
    TimeState,
    assignee_names,
    list_inbox,
)
from gateway.queries.drafts import list_in_progress
from gateway.reports.texts import CATEGORY_NAMES, CHANNEL_NAMES, channel_label
from gateway.web.templating import render
from handlers.i18n import N_, t
from handlers.profile import Profile
from handlers.workflow import CATEGORIES
from storage.types import utcnow

PAGE_SIZE = 50

TIME_STATES = {
    TimeState.ON_TIME: N_("On time"),
    TimeState.DUE_SOON: N_("Due soon"),
    TimeState.OVERDUE: N_("Overdue"),
    TimeState.NONE: N_("No deadline"),
}


def local_time(when: datetime | None, zone: str, lang: str) -> str:
    """``when`` in the office time zone, e.g. ``21 Nov 2026 14.05 WIB`` (empty for ``None``)."""
    if when is None:
        return ""
    return format_datetime(when.astimezone(ZoneInfo(zone)), "d MMM yyyy HH.mm zzz", locale=lang)


def _filters(request: web.Request) -> tuple[InboxFilters, str | None]:
    query = request.query
    raw: dict[str, Any] = {
        key: query.get(key)
        for key in (
            "channel",
            "status",
            "category",
            "assignee",
            "q",
            "received_from",
            "received_to",
        )
    }
    raw["overdue"] = True if query.get("overdue") else None
    raw["mine"] = bool(query.get("mine"))
    try:
        return InboxFilters.model_validate(raw), None
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}) or ["received_from"]
        return InboxFilters(), ", ".join(fields)


def _row_view(
    row: InboxRow, profile: Profile, lang: str, zone: str, final: frozenset[str]
) -> dict[str, Any]:
    return {
        "tracking_number": row.tracking_number,
        "channel_label": channel_label(lang, row.channel),
        "complainant_name": row.complainant_name,
        "customer_name": row.customer_name,
        "excerpt": row.excerpt,
        "status_label": profile.status_label(row.status, lang),
        "final": row.status in final,
        "assignee": row.assignee,
        "due_state": row.time_state.value,
        "due_label": t(lang, TIME_STATES[row.time_state]),
        "due_text": local_time(row.step_due_at, zone, lang)
        if row.time_state is not TimeState.NONE
        else "",
        "activity_text": local_time(row.last_activity_at, zone, lang),
        "unread": row.unread,
    }


async def inbox(request: web.Request) -> web.StreamResponse:
    """``GET /inbox``: the list, or only its HTML with ``X-Fragment: list``."""
    runtime = get_runtime(request)
    profile = runtime.profile
    lang = request[LANG_KEY]
    user = current(request).user
    zone = profile.office.timezone
    filters, error = _filters(request)
    cursor = request.query.get("cursor") or None
    # Read before the rows: a change after it is in the rows, or announced by
    # the live stream that subscribes with it (gateway/inbox/live.py).
    activity_mark = await feed(request).mark()
    async with runtime.sessions() as session:
        visible = await visibility_for(session, user)
        query = partial(
            list_inbox,
            session,
            filters=filters,
            profile=profile,
            viewer_username=user.username,
            viewer_role=user.role,
            visible=visible,
            limit=PAGE_SIZE,
        )
        try:
            page = await query(cursor=cursor, now=utcnow())
        except ValueError:  # a stale or edited cursor: show the newest instead
            error, cursor = "cursor", None
            page = await query()
        drafts = (
            await list_in_progress(session, filters=filters, visible=visible)
            if cursor is None
            else ()
        )
        assignees = await assignee_names(session)
    labels = {name: profile.status_label(name, lang) for name in profile.workflow.states}
    final = frozenset(name for name, state in profile.workflow.states.items() if state.final)
    params = {k: v for k, v in request.query.items() if k not in ("cursor", "lang") and v}
    context: dict[str, Any] = {
        "rows": [_row_view(r, profile, lang, zone, final) for r in page.rows],
        "drafts": [
            {
                "channel_label": channel_label(lang, d.channel),
                "contact": d.contact_name or d.contact_address or "",
                "last_text": d.last_text,
                "activity_text": local_time(d.last_activity_at, zone, lang),
            }
            for d in drafts
        ],
        "next_url": f"/inbox?{urlencode({**params, 'cursor': page.next_cursor})}"
        if page.next_cursor
        else None,
    }
    if request.headers.get("X-Fragment") == "list":
        html = render("inbox/_list.html", lang, **context)
        return web.Response(text=html, content_type="text/html")
    channels = {c: channel_label(lang, c) for c in CHANNEL_NAMES}
    categories = {c: t(lang, CATEGORY_NAMES.get(c, c)) for c in CATEGORIES}
    return staff_page(
        request,
        "home.html",
        title=t(lang, "Inbox"),
        nav="inbox",
        filters=filters,
        error=t(lang, "Some filters were not valid and were ignored: {fields}.", fields=error)
        if error
        else None,
        reload_url=f"/inbox?{urlencode(params)}" if params else "/inbox",
        activity_mark=activity_mark,
        channels=list(channels.items()),
        statuses=list(labels.items()),
        categories=list(categories.items()),
        assignees=list(assignees.items()),
        chips=filter_chips(
            filters,
            lang,
            channels=channels,
            statuses=labels,
            categories=categories,
            assignees=assignees,
        ),
        filters_open=error is not None,
        **context,
    )


def add_routes(app: web.Application) -> None:
    """Register the inbox pages."""
    app.router.add_get("/inbox", inbox)
