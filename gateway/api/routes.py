"""The staff JSON API, ``/api/v1`` (README.md, "Staff API").

Every operation is one row of :data:`OPERATIONS`: method, path, the request
and response models and the handler. The same table registers the aiohttp
routes and writes the OpenAPI document (:mod:`gateway.api.openapi`), so the
two cannot drift apart.

Each request carries ``Authorization: Bearer <token>`` (``aduan token
create``) and acts with the token owner's role and sees what the staff inbox
shows that person (:mod:`gateway.visibility`): the list holds only the
complaints they may see, and every operation on ``{tracking}`` answers 404
``not_found`` — exactly as for an unknown tracking number — for a complaint
they may not see, before its body is read and before anything changes
(docs/staff-access.md). Writes go through
:class:`gateway.staff.StaffService` — the layer the staff inbox uses too —
so the API enforces exactly the SOP profile's rules. Errors are RFC 9457
problem documents with a machine-readable ``code``; a refused action
changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway.api import schemas as s
from gateway.api.tokens import authenticate
from gateway.queries.api_complaints import ComplaintFilters
from gateway.queries.api_complaints import list_complaints as query_complaints
from gateway.queries.appeals import AppealView, load_appeal
from gateway.queries.complaint_page import complaint_events
from gateway.runtime import Runtime
from gateway.staff import load_complaint
from gateway.visibility import (
    VisibilityRule,
    load_visible_complaint,
    visibility_for,
)
from handlers.appeals import AppealRefused
from handlers.profile import Profile
from handlers.records import current_capa
from handlers.workflow import Actor, TransitionRefused, allowed_transitions
from handlers.workflow_spec import TransitionSpec
from storage.models import AppealStatus, Complaint, ComplaintEvent, StaffUser
from storage.types import utcnow

PREFIX = "/api/v1"
#: Largest request body accepted, in bytes.
MAX_BODY = 256 * 1024


class ApiError(Exception):
    """An error answered as a problem document."""

    def __init__(
        self, status: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated API call: the runtime, the staff member and the parsed input."""

    request: web.Request
    runtime: Runtime
    user: StaffUser
    #: What the staff member may see (:func:`gateway.visibility.visibility_for`).
    visible: VisibilityRule | None
    body: Any
    query: Any

    @property
    def actor(self) -> Actor:
        """The staff member as a workflow actor."""
        return Actor(self.user.username, self.user.role)

    @property
    def tracking(self) -> str:
        """The ``{tracking}`` path parameter, upper-cased."""
        return self.request.match_info["tracking"].upper()


Handler = Callable[[Call], Awaitable[BaseModel]]


@dataclass(frozen=True, slots=True)
class Operation:
    """One API operation (a route plus its OpenAPI description)."""

    method: str
    path: str
    operation_id: str
    summary: str
    handler: Handler
    response: type[BaseModel]
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    #: Error statuses besides 401 (documented in OpenAPI).
    errors: tuple[int, ...] = ()
    tag: str = "complaints"
    description: str = ""


# --- problem documents ---------------------------------------------------------

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    422: "Unprocessable content",
}

#: HTTP status of each refusal code; codes not listed are 422.
_REFUSAL_STATUS = {
    "forbidden": 403,
    "not_chair": 403,
    "wrong_state": 409,
    "no_appeals": 409,
    "no_result_yet": 409,
    "already_appealed": 409,
    "window_passed": 409,
    "not_open": 409,
    "panel_full": 409,
    "second_chair": 409,
    "chair_missing": 409,
    "involved": 409,
    "already_member": 409,
    "panel_incomplete": 409,
    "steps_pending": 409,
    "wrong_step": 409,
    "not_competent": 409,
    "no_subject": 409,
}


def problem(
    status: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None
) -> web.Response:
    """A ``application/problem+json`` response."""
    body = s.Problem(
        title=_TITLES.get(status, "Error"), status=status, detail=detail, code=code, errors=errors
    ).model_dump(mode="json", exclude_none=True)
    response = web.json_response(body, status=status, content_type="application/problem+json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="aduan"'
    return response


def refusal_status(code: str) -> int:
    """The HTTP status for a refusal ``code`` of the workflow or the appeal rules."""
    return _REFUSAL_STATUS.get(code, 422)


# --- serialisation -------------------------------------------------------------


def _label(profile: Profile, status: str) -> s.Label:
    return s.Label(id=profile.status_label(status, "id"), en=profile.status_label(status, "en"))


def transition_info(t: TransitionSpec) -> s.TransitionInfo:
    """A transition as the API shows it."""
    return s.TransitionInfo(
        name=t.name,
        label=s.Label(id=t.label.id, en=t.label.en),
        from_states=list(t.from_),
        to=t.to,
        roles=list(t.roles),
        requires=list(t.requires),
        notifies_complainant=t.notify is not None,
    )


def _overdue(complaint: Complaint) -> bool:
    return complaint.step_due_at is not None and complaint.step_due_at < utcnow()


def summary(profile: Profile, complaint: Complaint) -> s.ComplaintSummary:
    """A complaint for lists."""
    return s.ComplaintSummary(
        tracking_number=complaint.tracking_number,
        status=complaint.status,
        status_label=_label(profile, complaint.status),
        category=complaint.category,
        channel=complaint.channel,
        complainant_name=complaint.complainant_name,
        complainant_title=complaint.complainant_title,
        customer_name=complaint.customer_name,
        received_at=complaint.received_at,
        assignee=complaint.assignee,
        step_due_at=complaint.step_due_at,
        overdue=_overdue(complaint),
    )


def appeal_info(profile: Profile, view: AppealView) -> s.AppealInfo:
    """An appeal and its panel as the API shows them (``step`` from the panel's state)."""
    appeal = view.appeal
    size = profile.appeal.panel_size if profile.appeal else 3
    complete = len(view.panel) == size and sum(m.is_chair for m in view.panel) == 1
    step = (
        "decided"
        if appeal.status == AppealStatus.DECIDED
        else ("decision" if complete else "panel")
    )
    return s.AppealInfo(
        status="decided" if appeal.status == AppealStatus.DECIDED else "open",
        opened_at=appeal.opened_at,
        opened_by=appeal.opened_by,
        reason=appeal.reason,
        step=step,
        step_due_at=appeal.step_due_at,
        decision=appeal.decision,
        decided_at=appeal.decided_at,
        decided_by=appeal.decided_by,
        panel=[
            s.PanelMember(
                username=m.username,
                chair=m.is_chair,
                declaration=m.declaration,
                declared_at=m.declared_at,
            )
            for m in view.panel
        ],
    )


async def detail(runtime: Runtime, tracking: str, role: str) -> s.ComplaintDetail:
    """The whole complaint ``tracking`` as seen by ``role``; raises ``LookupError``."""
    profile = runtime.profile
    async with runtime.sessions() as session:
        complaint = await load_complaint(session, tracking)
        view = await load_appeal(session, complaint)
    capa = current_capa(complaint)
    return s.ComplaintDetail(
        **summary(profile, complaint).model_dump(),
        problem=complaint.problem,
        extra_fields=dict(complaint.extra_fields or {}),
        received_by=complaint.received_by,
        receiving_officer=complaint.receiving_officer,
        receiving_officer_name=complaint.receiving_officer_name,
        complaint_type=complaint.complaint_type,
        contact_address=complaint.contact_address,
        language=complaint.language,
        step_started_at=complaint.step_started_at,
        satisfaction=complaint.satisfaction,
        details=dict(complaint.details or {}),
        capa=s.CapaForm(**capa) if capa else None,
        allowed_transitions=[
            transition_info(t) for t in allowed_transitions(profile, complaint, role)
        ],
        appeal=appeal_info(profile, view) if view is not None else None,
    )


def event_out(event: ComplaintEvent) -> s.Event:
    """A complaint event as the API shows it."""
    return s.Event.model_validate(event)


# --- handlers -------------------------------------------------------------------


async def get_me(call: Call) -> s.Me:
    """The staff member behind the token."""
    label = call.runtime.profile.roles.get(call.user.role)
    return s.Me(
        username=call.user.username,
        full_name=call.user.full_name,
        role=call.user.role,
        role_label=s.Label(id=label.id, en=label.en) if label else None,
    )


async def get_workflow(call: Call) -> s.Workflow:
    """The SOP profile's steps, transitions and roles."""
    profile = call.runtime.profile
    spec = profile.workflow
    return s.Workflow(
        profile=profile.id,
        initial=spec.initial,
        states=[
            s.StateInfo(
                name=name,
                label=s.Label(id=st.label.id, en=st.label.en),
                final=st.final,
                owners=list(st.owners),
                standard=f"{st.standard.amount} {st.standard.unit}" if st.standard else None,
            )
            for name, st in spec.states.items()
        ],
        transitions=[transition_info(t) for t in spec.transitions],
        roles={k: s.Label(id=v.id, en=v.en) for k, v in profile.roles.items()},
    )


async def list_complaints(call: Call) -> s.ComplaintPage:
    """Complaints, newest first, filtered; keyset pagination on the id."""
    q: s.ComplaintQuery = call.query
    filters = ComplaintFilters(
        status=q.status,
        category=q.category,
        channel=q.channel,
        assignee=q.assignee,
        overdue=q.overdue,
        before_id=int(q.cursor) if q.cursor else None,
    )
    async with call.runtime.sessions() as session:
        found = await query_complaints(session, call.visible, filters, limit=q.limit, now=utcnow())
    rows = found.complaints
    return s.ComplaintPage(
        items=[summary(call.runtime.profile, c) for c in rows],
        next_cursor=str(rows[-1].id) if found.more and rows else None,
    )


async def get_complaint(call: Call) -> s.ComplaintDetail:
    """One complaint with the transitions the caller may take now."""
    return await detail(call.runtime, call.tracking, call.user.role)


async def get_events(call: Call) -> s.EventList:
    """The complaint's history, oldest first."""
    async with call.runtime.sessions() as session:
        complaint = await load_complaint(session, call.tracking)
        events = await complaint_events(session, complaint.id)
        return s.EventList(items=[event_out(e) for e in events])


async def post_transition(call: Call) -> s.ComplaintDetail:
    """Take a workflow transition."""
    body: s.TransitionRequest = call.body
    await call.runtime.staff.transition(call.tracking, body.name, call.actor, body.data())
    return await detail(call.runtime, call.tracking, call.user.role)


async def put_assignment(call: Call) -> s.ComplaintDetail:
    """Assign a competent officer."""
    body: s.AssignRequest = call.body
    await call.runtime.staff.assign(call.tracking, body.assignee, call.actor, body.note)
    return await detail(call.runtime, call.tracking, call.user.role)


async def put_capa(call: Call) -> s.CapaForm:
    """Record or complete the CAPA form."""
    body: s.CapaForm = call.body
    capa = await call.runtime.staff.record_capa(
        call.tracking, body.model_dump(exclude_none=True), call.actor
    )
    return s.CapaForm(**capa)


async def post_note(call: Call) -> s.Event:
    """Add an internal note (never sent to the complainant)."""
    body: s.TextRequest = call.body
    return event_out(await call.runtime.staff.add_note(call.tracking, body.text, call.actor))


async def post_message(call: Call) -> s.MessageSent:
    """Send a message to the complainant on their channel."""
    body: s.TextRequest = call.body
    outbox_id = await call.runtime.staff.message(call.tracking, body.text, call.actor)
    return s.MessageSent(outbox_id=outbox_id, routed=outbox_id is not None)


async def _appeal(call: Call) -> s.AppealInfo:
    async with call.runtime.sessions() as session:
        complaint = await load_complaint(session, call.tracking)
        view = await load_appeal(session, complaint)
    if view is None:
        raise ApiError(404, "no_appeal", f"{call.tracking} has no appeal")
    return appeal_info(call.runtime.profile, view)


async def get_appeal(call: Call) -> s.AppealInfo:
    """The complaint's appeal and its panel."""
    return await _appeal(call)


async def post_appeal(call: Call) -> s.AppealInfo:
    """Open an appeal for the complainant; a refusal is recorded, sent to them and answered 409."""
    body: s.AppealRequest = call.body
    result = await call.runtime.staff.open_appeal(call.tracking, body.reason, call.actor)
    if result.refusal is not None:
        raise ApiError(
            refusal_status(result.refusal.value),
            result.refusal.value,
            f"appeal refused and the complainant told: {result.reason}",
        )
    return await _appeal(call)


async def post_panel_member(call: Call) -> s.AppealInfo:
    """Seat a member on the appeal panel."""
    body: s.PanelMemberRequest = call.body
    await call.runtime.staff.add_panel_member(
        call.tracking,
        body.username,
        chair=body.chair,
        declaration=body.declaration,
        actor=call.actor,
    )
    return await _appeal(call)


async def post_decision(call: Call) -> s.AppealInfo:
    """Record the appeal panel's final decision (the caller must chair the panel)."""
    body: s.DecisionRequest = call.body
    await call.runtime.staff.decide_appeal(call.tracking, body.decision, call.actor)
    return await _appeal(call)


_C = PREFIX + "/complaints/{tracking}"

#: Every operation of the API, in the order the OpenAPI document lists them.
OPERATIONS: tuple[Operation, ...] = (
    Operation("GET", PREFIX + "/me", "getMe", "The staff member behind the token", get_me, s.Me, tag="staff"),
    Operation("GET", PREFIX + "/workflow", "getWorkflow", "The SOP profile's steps, transitions and roles", get_workflow, s.Workflow, tag="workflow"),
    Operation("GET", PREFIX + "/complaints", "listComplaints", "List complaints, newest first", list_complaints, s.ComplaintPage, query=s.ComplaintQuery, errors=(422,)),
    Operation("GET", _C, "getComplaint", "One complaint, with the transitions the caller may take", get_complaint, s.ComplaintDetail, errors=(404,)),
    Operation("GET", _C + "/events", "listEvents", "The complaint's history (who, when, from, to, note)", get_events, s.EventList, errors=(404,)),
    Operation("POST", _C + "/transitions", "takeTransition", "Take a workflow transition", post_transition, s.ComplaintDetail, body=s.TransitionRequest, errors=(400, 403, 404, 409, 422),
              description="Guards: the complaint's state, the caller's role and the data the transition requires. A refusal changes nothing. Where the profile says so, the complainant is told on their channel."),
    Operation("PUT", _C + "/assignment", "assign", "Assign a competent officer", put_assignment, s.ComplaintDetail, body=s.AssignRequest, errors=(400, 403, 404, 409, 422)),
    Operation("PUT", _C + "/capa", "recordCapa", "Record or complete the CAPA form", put_capa, s.CapaForm, body=s.CapaForm, errors=(400, 403, 404, 422),
              description="Omitted fields keep their recorded value, so the effectiveness check can be added after closing."),
    Operation("POST", _C + "/notes", "addNote", "Add an internal note", post_note, s.Event, status=201, body=s.TextRequest, errors=(400, 404, 422)),
    Operation("POST", _C + "/messages", "sendMessage", "Send a message to the complainant on their channel", post_message, s.MessageSent, status=202, body=s.TextRequest, errors=(400, 404, 422)),
    Operation("GET", _C + "/appeal", "getAppeal", "The complaint's appeal and its panel", get_appeal, s.AppealInfo, errors=(404,), tag="appeals"),
    Operation("POST", _C + "/appeal", "openAppeal", "Open an appeal (banding) for the complainant", post_appeal, s.AppealInfo, status=201, body=s.AppealRequest, errors=(400, 403, 404, 409, 422), tag="appeals",
              description="Outside the profile's rules (no result yet, already appealed, window passed) the refusal is recorded and sent to the complainant, and the answer is 409 with the reason."),
    Operation("POST", _C + "/appeal/panel", "addPanelMember", "Seat a member on the appeal panel", post_panel_member, s.AppealInfo, status=201, body=s.PanelMemberRequest, errors=(400, 403, 404, 409, 422), tag="appeals",
              description="PR-LS-8.1.4 step 4: exactly the profile's panel size including one chair, each with an impartiality declaration; nobody who handled the complaint."),
    Operation("POST", _C + "/appeal/decision", "decideAppeal", "Record the appeal panel's final decision", post_decision, s.AppealInfo, body=s.DecisionRequest, errors=(400, 403, 404, 409, 422), tag="appeals"),
)  # fmt: skip


# --- the wrapper ---------------------------------------------------------------


async def _user(runtime: Runtime, request: web.Request) -> StaffUser:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "unauthenticated", "send Authorization: Bearer <token>")
    async with runtime.sessions() as session, session.begin():
        user = await authenticate(session, secret.strip())
    if user is None:
        raise ApiError(401, "invalid_token", "the token is unknown, revoked or expired")
    return user


async def _visibility(
    runtime: Runtime, request: web.Request, user: StaffUser
) -> VisibilityRule | None:
    """``user``'s rule; for a route on ``{tracking}``, ``LookupError`` unless they may see it."""
    async with runtime.sessions() as session:
        rule = await visibility_for(session, user)
        tracking = request.match_info.get("tracking")
        if tracking is not None:
            await load_visible_complaint(session, rule, tracking)
    return rule


def _validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


async def _body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "too_large", f"the body is larger than {MAX_BODY} bytes")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise ApiError(413, "too_large", f"the body is larger than {MAX_BODY} bytes")
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(
            422, "invalid_body", "the body does not match the schema", _validation_errors(exc)
        ) from None


def _wrap(
    operation: Operation, runtime_of: Callable[[web.Request], Runtime]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        runtime = runtime_of(request)
        try:
            user = await _user(runtime, request)
            visible = await _visibility(runtime, request, user)
            body = await _body(request, operation.body) if operation.body else None
            query = None
            if operation.query is not None:
                try:
                    query = operation.query.model_validate(dict(request.query))
                except ValidationError as exc:
                    raise ApiError(
                        422, "invalid_query", "invalid query parameters", _validation_errors(exc)
                    ) from None
            result = await operation.handler(Call(request, runtime, user, visible, body, query))
        except ApiError as exc:
            return problem(exc.status, exc.code, exc.detail, exc.errors)
        except LookupError as exc:
            return problem(404, "not_found", str(exc).strip("'\""))
        except TransitionRefused as exc:
            return problem(refusal_status(exc.code.value), exc.code.value, str(exc))
        except AppealRefused as exc:
            return problem(refusal_status(exc.code.value), exc.code.value, str(exc))
        return web.json_response(result.model_dump(mode="json"), status=operation.status)

    handle.__doc__ = operation.handler.__doc__
    return handle


def add_routes(app: web.Application, runtime_of: Callable[[web.Request], Runtime]) -> None:
    """Register every operation of :data:`OPERATIONS` (the OpenAPI document's
    route is :func:`gateway.api.openapi.add_routes`)."""
    for operation in OPERATIONS:
        app.router.add_route(operation.method, operation.path, _wrap(operation, runtime_of))
