"""The complaint page's forms: every action staff take on a complaint (README.md, "Staff inbox").

Each is a ``POST`` under ``/inbox/complaints/{tracking}/`` — the session
middleware (:mod:`gateway.inbox.auth`) has already refused it without the
session's CSRF token or from another origin — and goes through one
:class:`gateway.staff.StaffService` method, one committed unit of work with
the SOP profile's rules:

==================  ==================================================
``reply``           message to the complainant on their channel
``note``            internal note, never sent
``transition``      a workflow step (only the data it ``requires``)
``assign``          the competent officer (SOP-7.9-1 item 8)
``capa``            the CAPA form (BBSPJIKFK 5.1.11)
``capa/monitoring`` a dated monitoring entry (PM-BAPKM.AP.1-24 step f)
``fields``          corrections of the identity fields, each audited
``appeal``          open an appeal for the complainant
``appeal/panel``    seat a panel member (PR-LS-8.1.4 step 4)
``appeal/decision`` the chair records the final decision (step 5)
==================  ==================================================

Answers: 404 (the complaints page's look) for an unknown complaint or one the
viewer may not see; 403 (:func:`gateway.inbox.auth.forbidden`) for an action
outside the viewer's role; otherwise a redirect back to the page (POST,
redirect, GET) with ``?done=<action>`` or ``?refused=<code>`` (and
``field=<key>`` for a refused field, ``told=1`` for an appeal refused and
told to the complainant), shown once at ``#result``. A refused action
changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy

from gateway.app_runtime import get_runtime
from gateway.inbox.auth import LANG_KEY, current, forbidden
from gateway.inbox.complaint import PREFIX, TRACKING, complaint_url, load_visible, not_found
from gateway.runtime import Runtime
from handlers.appeals import AppealRefused
from handlers.field_edits import FieldEditRefused, may_edit_fields
from handlers.workflow import CAPA_FIELDS, Actor, TransitionRefused
from storage.models import Complaint

#: Refusal codes answered with the 403 page: the viewer's role may not.
FORBIDDEN_CODES = frozenset({"forbidden", "not_chair"})

Form = MultiDictProxy[Any]


class Forbidden(Exception):
    """The viewer's role may not take this action (answered 403, nothing changed)."""


@dataclass(frozen=True, slots=True)
class Target:
    """The complaint an action is about, who acts, and the request's context."""

    runtime: Runtime
    complaint: Complaint
    actor: Actor
    lang: str


Outcome = dict[str, str]
"""The query of the redirect after an action: ``{"done": …}`` or ``{"refused": …, …}``."""

Action = Callable[[Target, Form], Awaitable[Outcome]]


def text(form: Form, key: str) -> str:
    """Form field ``key`` as text (``""`` when absent or a file)."""
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _redirect(complaint: Complaint, outcome: Outcome) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(
        f"{complaint_url(complaint.tracking_number)}?{urlencode(outcome)}#result"
    )


def handler(action: Action) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap ``action`` with the complaint lookup, the visibility check and the answers above."""

    async def handle(request: web.Request) -> web.StreamResponse:
        runtime = get_runtime(request)
        user = current(request).user
        async with runtime.sessions() as session:
            complaint = await load_visible(session, user, request.match_info["tracking"])
        if complaint is None:
            return not_found(request)
        form = await request.post()
        target = Target(runtime, complaint, Actor(user.username, user.role), request[LANG_KEY])
        try:
            outcome = await action(target, form)
        except Forbidden:
            return forbidden(request, "role")
        except LookupError:
            return not_found(request)
        except (TransitionRefused, AppealRefused) as exc:
            code = exc.code.value
            if code in FORBIDDEN_CODES:
                return forbidden(request, "role")
            outcome = {"refused": code}
            if isinstance(exc, FieldEditRefused) and exc.field:
                outcome["field"] = exc.field
        raise _redirect(complaint, outcome)

    handle.__doc__ = action.__doc__
    return handle


async def reply(target: Target, form: Form) -> Outcome:
    """Send the text to the complainant on the complaint's channel."""
    sent = await target.runtime.staff.message(target.complaint.id, text(form, "text"), target.actor)
    return {"done": "reply" if sent is not None else "unroutable"}


async def note(target: Target, form: Form) -> Outcome:
    """Add an internal note."""
    await target.runtime.staff.add_note(target.complaint.id, text(form, "text"), target.actor)
    return {"done": "note"}


async def transition(target: Target, form: Form) -> Outcome:
    """Take the workflow transition ``name`` with the data it requires."""
    workflow = target.runtime.profile.workflow
    name = text(form, "name")
    try:
        spec = workflow.transition(name)
    except KeyError:
        return {"refused": "unknown_transition"}
    role = target.actor.role
    if role != "admin" and role not in spec.roles:
        raise Forbidden(name)
    data: dict[str, Any] = {}
    for key in spec.requires:
        if key == "capa":
            data["capa"] = {
                f: text(form, f"capa_{f}") for f in CAPA_FIELDS if text(form, f"capa_{f}")
            }
        else:
            data[key] = text(form, key)
    if spec.categories and "category" not in data and text(form, "category"):
        data["category"] = text(form, "category")
    await target.runtime.staff.transition(target.complaint.id, spec.name, target.actor, data)
    return {"done": "transition"}


async def assign(target: Target, form: Form) -> Outcome:
    """Assign the complaint to a competent officer."""
    await target.runtime.staff.assign(
        target.complaint.id, text(form, "assignee"), target.actor, text(form, "note") or None
    )
    return {"done": "assign"}


async def capa(target: Target, form: Form) -> Outcome:
    """Record or complete the CAPA form (an emptied optional field is cleared)."""
    values = {f: text(form, f"capa_{f}") for f in CAPA_FIELDS if f"capa_{f}" in form}
    await target.runtime.staff.record_capa(target.complaint.id, values, target.actor)
    return {"done": "capa"}


async def monitoring(target: Target, form: Form) -> Outcome:
    """Add a dated monitoring entry on the corrective programme (PM-BAPKM.AP.1-24 step f)."""
    try:
        on = date.fromisoformat(text(form, "on"))
    except ValueError:
        return {"refused": "invalid_data"}
    await target.runtime.staff.add_monitoring(
        target.complaint.id, on, text(form, "text"), target.actor
    )
    return {"done": "monitoring"}


async def fields(target: Target, form: Form) -> Outcome:
    """Correct the identity fields; each changed one is recorded."""
    profile = target.runtime.profile
    if not may_edit_fields(profile, target.complaint, target.actor):
        raise Forbidden("fields")
    values = {
        f.key: text(form, f"field_{f.key}")
        for f in profile.intake.fields
        if f"field_{f.key}" in form
    }
    events = await target.runtime.staff.edit_fields(
        target.complaint.id, values, target.actor, language=target.lang
    )
    return {"done": "fields" if events else "unchanged"}


async def open_appeal(target: Target, form: Form) -> Outcome:
    """Open an appeal for the complainant (e.g. received by letter)."""
    result = await target.runtime.staff.open_appeal(
        target.complaint.id, text(form, "reason"), target.actor
    )
    if result.refusal is not None:
        return {"refused": result.refusal.value, "told": "1"}
    return {"done": "appeal"}


async def seat(target: Target, form: Form) -> Outcome:
    """Seat a member on the appeal panel with their impartiality declaration."""
    await target.runtime.staff.add_panel_member(
        target.complaint.id,
        text(form, "username"),
        chair=text(form, "chair") == "1",
        declaration=text(form, "declaration"),
        actor=target.actor,
    )
    return {"done": "panel"}


async def decide(target: Target, form: Form) -> Outcome:
    """Record the appeal panel's final decision (the chair only)."""
    await target.runtime.staff.decide_appeal(
        target.complaint.id, text(form, "decision"), target.actor
    )
    return {"done": "decision"}


ACTIONS: dict[str, Action] = {
    "reply": reply,
    "note": note,
    "transition": transition,
    "assign": assign,
    "capa": capa,
    "capa/monitoring": monitoring,
    "fields": fields,
    "appeal": open_appeal,
    "appeal/panel": seat,
    "appeal/decision": decide,
}


def add_routes(app: web.Application) -> None:
    """Register one ``POST`` route per action."""
    for path, action in ACTIONS.items():
        app.router.add_post(f"{PREFIX}{TRACKING}/{path}", handler(action))
