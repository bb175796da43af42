"""The complaint page, ``GET /inbox/complaints/{tracking}`` (README.md, "Staff inbox").

Everything about one complaint in one place: its header (status, category,
assignee, the current step's time standard, channel, received at and by),
the identity fields of SOP-7.9-1 item 2 and the profile's other fields, the
thread of every message of the complainant's contact on every channel
(:mod:`gateway.queries.thread`), the reply box (:mod:`gateway.inbox.reply_route`
says where it goes; ``?reply=<id>`` fills it with a canned reply,
:mod:`gateway.inbox.canned`), internal notes, the transitions the viewer's role may
take now, assignment, the CAPA form, the appeal and its panel, and the event
history, read by :func:`gateway.queries.complaint_page.complaint_page`. The
forms post to :mod:`gateway.inbox.complaint_actions`.

Only staff who may see the complaint (:mod:`gateway.inbox.access`) get it;
for anyone else, as for an unknown tracking number, the answer is 404.
Opening the page marks the complaint read for the viewer
(:func:`gateway.inbox.reads.mark_read`, with the time taken before the
messages are loaded).
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.app_runtime import get_runtime
from gateway.inbox.access import visibility_for
from gateway.inbox.auth import LANG_KEY, current
from gateway.inbox.canned import canned_view
from gateway.inbox.complaint_view import (
    appeal_view,
    field_views,
    header_view,
    history_view,
    message_view,
    result_view,
    route_view,
    transition_view,
)
from gateway.inbox.reads import mark_read
from gateway.inbox.render import staff_page
from gateway.inbox.reply_route import reply_route
from gateway.queries.complaint_page import complaint_page as load_page
from gateway.reports.texts import actor_text, capa_labels, day_text
from gateway.staff import MESSAGE_LIMIT
from gateway.visibility import load_visible_complaint
from handlers.capa_monitoring import may_monitor
from handlers.dates import office_today
from handlers.field_edits import may_edit_fields
from handlers.i18n import t
from handlers.records import NOTE_LIMIT, current_capa, may_manage
from handlers.workflow import CAPA_REQUIRED, Actor, allowed_transitions
from storage.models import Complaint, StaffUser
from storage.types import utcnow

PREFIX = "/inbox/complaints/"
#: The ``{tracking}`` route segment: only tracking-number shapes (``ADU-2026-00042``),
#: so other pages under ``/inbox/complaints/`` are never taken for one.
TRACKING = "{tracking:[A-Za-z]+-[0-9]+-[0-9]+}"


def complaint_url(tracking: str) -> str:
    """The page of complaint ``tracking``."""
    return PREFIX + tracking


async def load_visible(session: AsyncSession, user: StaffUser, tracking: str) -> Complaint | None:
    """Complaint ``tracking`` if it exists and ``user`` may see it, else ``None``."""
    try:
        return await load_visible_complaint(session, await visibility_for(session, user), tracking)
    except LookupError:
        return None


def not_found(request: web.Request) -> web.Response:
    """404 page: no such complaint, or not one the viewer may see (the same answer)."""
    lang = request[LANG_KEY]
    return staff_page(
        request,
        "complaint_not_found.html",
        title=t(lang, "Complaint not found"),
        nav="inbox",
        status=404,
    )


async def complaint_page(request: web.Request) -> web.StreamResponse:
    """``GET /inbox/complaints/{tracking}``: the whole complaint (see the module docstring)."""
    runtime = get_runtime(request)
    profile = runtime.profile
    lang = request[LANG_KEY]
    user = current(request).user
    actor = Actor(user.username, user.role)
    zone = profile.office.timezone
    now = utcnow()
    async with runtime.sessions() as session:
        rule = await visibility_for(session, user)
        page = await load_page(session, profile, rule, request.match_info["tracking"])
        if page is None:
            return not_found(request)
        complaint = page.complaint
        route = await reply_route(
            session, profile=profile, complaint=complaint, enabled=runtime.channels.keys(), now=now
        )
    # Read up to ``now``, taken before the messages were loaded: one arriving
    # meanwhile stays unread. A short write of its own, after the reads.
    async with runtime.sessions() as session, session.begin():
        await mark_read(session, complaint.id, user.id, now)
    names = {s.username: s.full_name for s in page.staff}
    active = {s.username: s.full_name for s in page.staff if s.active}
    state = profile.workflow.states.get(complaint.status)
    final = state is not None and state.final
    manage = may_manage(profile, complaint, actor)
    capa = current_capa(complaint)
    return staff_page(
        request,
        "complaint.html",
        title=complaint.tracking_number,
        nav="inbox",
        header=header_view(profile, complaint, page.contact, lang, now, names),
        result=result_view(request, profile, lang),
        action_base=complaint_url(complaint.tracking_number),
        fields=field_views(profile, complaint, lang),
        may_edit=may_edit_fields(profile, complaint, actor),
        messages=[message_view(m, complaint, lang, zone, names) for m in page.thread.messages],
        hidden_messages=page.thread.hidden,
        route=route_view(route, lang, zone),
        message_limit=MESSAGE_LIMIT,
        canned=canned_view(profile, complaint, lang, request.query.get("reply")),
        note_limit=NOTE_LIMIT,
        transitions=[
            transition_view(tr, profile, complaint, lang)
            for tr in allowed_transitions(profile, complaint, user.role)
        ],
        staff_choices=[(u, f"{n} ({u})") for u, n in active.items()],
        may_assign=manage and not final,
        assignee=complaint.assignee or "",
        capa=capa or {},
        has_capa=capa is not None,
        may_capa=manage,
        capa_labels=capa_labels(lang),
        capa_required=frozenset(CAPA_REQUIRED),
        monitoring=[
            {
                "on": day_text(m.on, lang),
                "on_iso": m.on.isoformat(),
                "text": m.text,
                "by": actor_text(lang, m.by, names),
            }
            for m in page.monitoring
        ],
        may_monitor=may_monitor(profile, complaint, actor),
        today=office_today(zone, now).isoformat(),
        appeal=appeal_view(
            profile, page.appeal, page.progress, complaint, actor, lang, zone, names, list(active)
        ),
        history=history_view(page.events, profile, lang, zone, names),
    )


def add_routes(app: web.Application) -> None:
    """Register the complaint page (its actions are
    :func:`gateway.inbox.complaint_actions.add_routes`)."""
    app.router.add_get(PREFIX + TRACKING, complaint_page)
