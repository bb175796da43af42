"""Staff notifications in the inbox: the header count, the page, marking read.

The notices are staged by :mod:`handlers.staff_notices` (a new complaint for
the owners of the workflow's first step, an assignment for the assignee).

* Every staff page shows the signed-in member's unread count in the header
  ("Pemberitahuan (3)"): :func:`middleware` counts them on each full page
  load (one indexed count, ``ix_staff_notifications_unread``) and
  :func:`gateway.inbox.render.staff_page` passes it to the layout.
* ``GET /inbox/notifications``: the newest :data:`PAGE_ROWS`, newest first,
  each linking to its complaint; ``GET /inbox/notifications/count``: the
  count as JSON (``{"unread": n}``) for scripts.
* ``POST /inbox/notifications/{id}/read`` and ``POST
  /inbox/notifications/read``: mark one or all read (CSRF and Origin checked
  by :mod:`gateway.inbox.auth`); a staff member can only mark their own.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.app_runtime import get_runtime
from gateway.inbox.auth import LANG_KEY, PREFIX, STAFF_KEY, Handler, current
from gateway.inbox.pages import local_time
from gateway.inbox.reads import mark_notices_read
from gateway.inbox.render import NOTICE_COUNT_KEY, staff_page
from gateway.queries.notifications import notices, unread_count
from handlers.i18n import t
from handlers.profile import Profile
from handlers.staff_notices import NoticeKind

PATH = PREFIX + "/notifications"
#: Notices shown on the page, newest first.
PAGE_ROWS = 100


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count the signed-in member's unread notices for a full staff page (GET without
    ``X-Fragment``); other requests pass through untouched."""
    active = request.get(STAFF_KEY)
    if (
        active is not None
        and request.method == "GET"
        and not request.headers.get("X-Fragment")
        and request.path not in (PREFIX + "/events", PATH + "/count")
        and not request.path.startswith(PREFIX + "/attachments/")
    ):
        request[NOTICE_COUNT_KEY] = await unread_count(
            get_runtime(request).sessions, active.user.id
        )
    return await handler(request)


def notice_text(
    lang: str, kind: str, params: dict[str, Any], profile: Profile, customer: str
) -> str:
    """The notice in ``lang``: what happened to which complaint (the step named by the
    profile in ``lang``; ``customer`` as the complaint holds it now)."""
    spec = profile.workflow
    state = str(params.get("state", ""))
    known = state in spec.states
    values = {
        "tracking": str(params.get("tracking", "")),
        "customer": customer,
        "step": profile.status_label(state, lang) if known else str(params.get("step", "")),
        "actor": str(params.get("actor", "")),
    }
    if kind == NoticeKind.ASSIGNED:
        return t(lang, "{actor} assigned complaint {tracking} ({customer}) to you.", **values)
    return t(lang, "New complaint {tracking} ({customer}) waits in the step {step}.", **values)


async def notifications_page(request: web.Request) -> web.StreamResponse:
    """``GET /inbox/notifications``: the signed-in member's notices, newest first."""
    runtime = get_runtime(request)
    lang = request[LANG_KEY]
    user = current(request).user
    zone = runtime.profile.office.timezone
    async with runtime.sessions() as session:
        found = await notices(session, user.id, limit=PAGE_ROWS)
    rows = [
        {
            "id": n.id,
            "kind": n.kind,
            "kind_label": t(lang, "Assigned to you")
            if n.kind == NoticeKind.ASSIGNED
            else t(lang, "New complaint"),
            "text": notice_text(lang, n.kind, n.params, runtime.profile, n.customer_name or ""),
            "tracking": n.tracking_number or str(n.params.get("tracking", "")),
            "when": local_time(n.created_at, zone, lang),
            "unread": n.read_at is None,
        }
        for n in found
    ]
    return staff_page(
        request,
        "notifications.html",
        title=t(lang, "Notifications"),
        nav="notifications",
        rows=rows,
        unread=sum(1 for r in rows if r["unread"]),
    )


async def notifications_count(request: web.Request) -> web.StreamResponse:
    """``GET /inbox/notifications/count``: ``{"unread": n}``."""
    count = await unread_count(get_runtime(request).sessions, current(request).user.id)
    return web.json_response({"unread": count}, headers={"Cache-Control": "no-store"})


async def _mark(request: web.Request, notice_id: int | None) -> int:
    """Mark one (``notice_id``) or all of the signed-in member's own notices read."""
    runtime = get_runtime(request)
    async with runtime.sessions() as session, session.begin():
        return await mark_notices_read(session, current(request).user.id, notice_id)


async def mark_read(request: web.Request) -> web.StreamResponse:
    """``POST /inbox/notifications/{id}/read``: mark one of one's own notices read."""
    await _mark(request, int(request.match_info["id"]))
    raise web.HTTPSeeOther(PATH)


async def mark_all_read(request: web.Request) -> web.StreamResponse:
    """``POST /inbox/notifications/read``: mark all of one's own notices read."""
    await _mark(request, None)
    raise web.HTTPSeeOther(PATH)


def add_routes(app: web.Application) -> None:
    """Register the notification pages and the header count's middleware (after sign-in's)."""
    app.middlewares.append(middleware)
    app.router.add_get(PATH, notifications_page)
    app.router.add_get(PATH + "/count", notifications_count)
    app.router.add_post(PATH + "/read", mark_all_read)
    app.router.add_post(PATH + "/{id:\\d+}/read", mark_read)
