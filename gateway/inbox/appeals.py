"""Appeal pages for staff: every appeal, with or without a complaint (PR-LS-8.1.4).

Routes (for ``admin`` and every role the profile's ``appeal`` section names;
403 for others, 404 without appeals in the profile):

``GET /inbox/banding``
    Open appeals first (earliest due first), then decided ones: reference or
    complaint, appellant, step, due time.
``GET /inbox/banding/{id}``
    One appeal: the appellant and the decision contested (standalone appeals,
    PR-LS-8.1.4 step 1), its reason, the current step and when it is due, the
    step's form for its owner roles (identify, record the type and subject,
    pass on: steps 1-2), the panel with each member's impartiality
    declaration and the form to seat one — offering only staff whose role is
    competent for the appeal's subject (step 4) —, the chair's decision form
    (step 5) and the appeal's history.
``POST /inbox/banding/{id}/step``, ``…/panel``, ``…/decision``
    Through :class:`gateway.appeal_service.AppealService`; then a redirect to
    the page with ``?done=…`` or ``?refused=<code>`` (nothing changed; 403 for
    a role that may not).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy

from gateway.app_runtime import get_runtime
from gateway.appeal_service import AppealService
from gateway.inbox.appeal_access import may_see_appeals
from gateway.inbox.appeal_texts import step_label
from gateway.inbox.auth import LANG_KEY, current, forbidden
from gateway.inbox.complaint_texts import refusal_text
from gateway.inbox.pages import local_time
from gateway.inbox.render import staff_page
from gateway.queries.appeals import AppealDetail, appeal_detail, appeal_list
from gateway.reports.texts import actor_text
from gateway.runtime import Runtime
from handlers.appeals import AppealRefused, appeal_step
from handlers.i18n import t
from handlers.profile import Profile
from handlers.workflow import Actor
from handlers.workflow_spec import AppealSpec
from storage.models import AppealStatus, StaffUser

PREFIX = "/inbox/banding"
#: Refusal codes answered with the 403 page.
FORBIDDEN_CODES = frozenset({"forbidden", "not_chair"})


def _refusal(lang: str, code: str) -> str:
    texts = {
        "steps_pending": t(lang, "The appeal must be passed on before its panel is formed."),
        "wrong_step": t(
            lang, "The appeal is no longer at that step; someone may have just moved it."
        ),
        "not_competent": t(
            lang, "That person's role is not competent for the appeal's subject; nobody was seated."
        ),
        "no_subject": t(lang, "Record the appeal's subject first."),
        "not_standalone": t(lang, "This office takes appeals only on a complaint's result."),
    }
    return texts.get(code) or refusal_text(lang, code)


@dataclass(frozen=True, slots=True)
class _Viewer:
    """Who asks for an appeal page, with what the pages need of the request."""

    runtime: Runtime
    spec: AppealSpec
    user: StaffUser
    lang: str
    zone: str


def _viewer(request: web.Request) -> _Viewer | web.Response:
    """The viewer of an appeal page, or the page refusing them (:func:`_spec_or_refusal`)."""
    spec = _spec_or_refusal(request)
    if isinstance(spec, web.Response):
        return spec
    runtime = get_runtime(request)
    return _Viewer(
        runtime=runtime,
        spec=spec,
        user=current(request).user,
        lang=request[LANG_KEY],
        zone=runtime.profile.office.timezone,
    )


async def appeals_list(request: web.Request) -> web.Response:
    """``GET /inbox/banding``: every appeal, open ones first by due time."""
    viewer = _viewer(request)
    if isinstance(viewer, web.Response):
        return viewer
    async with viewer.runtime.sessions() as session:
        found = await appeal_list(session)
    lang, zone = viewer.lang, viewer.zone
    items = []
    for item in found:
        appeal = item.appeal
        step = appeal_step(appeal, list(item.panel), panel_size=viewer.spec.panel_size)
        items.append(
            {
                "id": appeal.id,
                "reference": appeal.reference or item.tracking_number,
                "standalone": appeal.complaint_id is None,
                "appellant": appeal.appellant_name or item.complainant_name or "",
                "step": step_label(lang, step),
                "due": local_time(appeal.step_due_at, zone, lang)
                if appeal.status == AppealStatus.OPEN
                else "",
                "opened": local_time(appeal.opened_at, zone, lang),
            }
        )
    return staff_page(
        request, "appeals.html", title=t(lang, "Appeals"), nav="appeals", appeals=items
    )


def _not_found(request: web.Request) -> web.Response:
    lang = request[LANG_KEY]
    return staff_page(
        request,
        "appeal_not_found.html",
        title=t(lang, "Appeal not found"),
        nav="appeals",
        status=404,
    )


def _spec_or_refusal(request: web.Request) -> AppealSpec | web.Response:
    """The profile's appeal section, or the page refusing the request.

    404 when the profile has no appeals, 403 for a role that may not see them
    (PR-LS-8.1.4: the appeal roles and ``admin``).
    """
    profile = get_runtime(request).profile
    if profile.appeal is None:
        return _not_found(request)
    if not may_see_appeals(profile, current(request).user.role):
        return forbidden(request, "role")
    return profile.appeal


def _options(lang: str, table: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (key, value.get(lang) if hasattr(value, "get") else str(value))
        for key, value in table.items()
    ]


async def appeal_page(request: web.Request) -> web.Response:
    """``GET /inbox/banding/{id}``: one appeal with the forms its current step allows."""
    viewer = _viewer(request)
    if isinstance(viewer, web.Response):
        return viewer
    lang, zone = viewer.lang, viewer.zone
    async with viewer.runtime.sessions() as session:
        found = await appeal_detail(session, int(request.match_info["id"]))
    if found is None:
        return _not_found(request)
    names = found.names
    view = _appeal_view(viewer.runtime.profile, viewer.spec, found, viewer.user, lang, zone)
    view["history"] = [
        {
            "at": local_time(event.at, zone, lang),
            "who": actor_text(lang, event.actor, names),
            "kind": event.kind,
            "note": event.note or "",
        }
        for event in found.history
    ]
    query = request.query
    result = None
    if "done" in query:
        result = {"kind": "done", "text": t(lang, "Done: the appeal was updated.")}
    elif query.get("refused"):
        result = {"kind": "refused", "text": _refusal(lang, query["refused"][:40])}
    return staff_page(
        request,
        "appeal.html",
        title=t(lang, "Appeal {reference}", reference=view["reference"]),
        nav="appeals",
        appeal=view,
        result=result,
    )


def _appeal_view(
    profile: Profile, spec: AppealSpec, found: AppealDetail, user: StaffUser, lang: str, zone: str
) -> dict[str, Any]:
    appeal, complaint, panel, names = found.appeal, found.complaint, list(found.panel), found.names
    step = appeal_step(appeal, panel, panel_size=spec.panel_size)
    step_spec = spec.step(step)
    admin = user.role == "admin"
    subject = spec.subjects.get(appeal.subject or "")
    competent = subject.competent if subject is not None else None
    seated = {m.username for m in panel}
    type_spec = spec.types.get(appeal.appeal_type or "")
    return {
        "id": appeal.id,
        "reference": appeal.reference or (complaint.tracking_number if complaint else "-"),
        "complaint": complaint.tracking_number if complaint else None,
        "appellant": appeal.appellant_name or (complaint.complainant_name if complaint else ""),
        "channel": appeal.channel or (complaint.channel if complaint else ""),
        "address": appeal.address or (complaint.contact_address if complaint else ""),
        "contested_decision": appeal.contested_decision or "",
        "reason": appeal.reason,
        "opened": local_time(appeal.opened_at, zone, lang),
        "opened_by": actor_text(lang, appeal.opened_by, names),
        "step": step,
        "step_label": step_label(lang, step),
        "due": local_time(appeal.step_due_at, zone, lang) if step != "decided" else "",
        "type": type_spec.get(lang) if type_spec is not None else "",
        "subject": subject.label.get(lang) if subject is not None else "",
        "decision": appeal.decision or "",
        "decided": local_time(appeal.decided_at, zone, lang),
        "step_form": (
            {
                "name": step_spec.name,
                "label": step_spec.label.get(lang),
                "types": _options(lang, dict(spec.types)),
                "subjects": [(k, v.label.get(lang)) for k, v in spec.subjects.items()],
                "to": [
                    (role, profile.roles[role].get(lang) if role in profile.roles else role)
                    for role in step_spec.to
                ],
            }
            if step_spec is not None and (admin or user.role in step_spec.owners)
            else None
        ),
        "panel": [
            {
                "who": actor_text(lang, f"staff:{m.username}", names),
                "chair": m.is_chair,
                "declaration": m.declaration,
                "declared": local_time(m.declared_at, zone, lang),
            }
            for m in panel
        ],
        "size": spec.panel_size,
        "may_seat": step == "panel" and (admin or user.role in spec.roles),
        "has_chair": any(m.is_chair for m in panel),
        "seat_choices": [
            (s.username, actor_text(lang, f"staff:{s.username}", names))
            for s in found.active_staff
            if s.username not in seated and (competent is None or s.role in competent)
        ],
        "competent": [
            profile.roles[role].get(lang) if role in profile.roles else role
            for role in (competent or ())
        ],
        "may_decide": step == "decision"
        and any(m.is_chair and m.username == user.username for m in panel),
    }


Form = MultiDictProxy[Any]
Action = Callable[[AppealService, int, Actor, Form], Awaitable[str]]


def _text(form: Form, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


async def _step(service: AppealService, appeal_id: int, actor: Actor, form: Form) -> str:
    await service.complete_step(
        appeal_id,
        _text(form, "step"),
        actor,
        note=_text(form, "note"),
        appeal_type=_text(form, "appeal_type"),
        subject=_text(form, "subject"),
        passed_to=_text(form, "passed_to"),
    )
    return "step"


async def _seat(service: AppealService, appeal_id: int, actor: Actor, form: Form) -> str:
    await service.seat(
        appeal_id,
        _text(form, "username"),
        chair=_text(form, "chair") == "1",
        declaration=_text(form, "declaration"),
        actor=actor,
    )
    return "panel"


async def _decide(service: AppealService, appeal_id: int, actor: Actor, form: Form) -> str:
    await service.decide(appeal_id, _text(form, "decision"), actor)
    return "decision"


def _handler(action: Action) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        viewer = _viewer(request)
        if isinstance(viewer, web.Response):
            return viewer
        user = viewer.user
        appeal_id = int(request.match_info["id"])
        form = await request.post()
        actor = Actor(user.username, user.role)
        try:
            done = await action(AppealService(viewer.runtime), appeal_id, actor, form)
        except LookupError:
            return _not_found(request)
        except AppealRefused as exc:
            if exc.code.value in FORBIDDEN_CODES:
                return forbidden(request, "role")
            query = {"refused": exc.code.value}
        else:
            query = {"done": done}
        raise web.HTTPSeeOther(f"{PREFIX}/{appeal_id}?{urlencode(query)}#result")

    handle.__doc__ = action.__doc__
    return handle


def add_routes(app: web.Application) -> None:
    """Register the appeal list, the appeal page and its three actions."""
    app.router.add_get(PREFIX, appeals_list)
    app.router.add_get(PREFIX + r"/{id:\d+}", appeal_page)
    app.router.add_post(PREFIX + r"/{id:\d+}/step", _handler(_step))
    app.router.add_post(PREFIX + r"/{id:\d+}/panel", _handler(_seat))
    app.router.add_post(PREFIX + r"/{id:\d+}/decision", _handler(_decide))
