"""Request ids and the access log: one line per request, no personal data
(docs/observability.md, "Logs").

Every request gets an id: the incoming ``X-Request-ID`` when it is sane (1-64
characters of letters, digits and ``._:-``; a proxy or load balancer can so
tie its log to ours), otherwise 32 random hex digits. It is sent back in the
response's ``X-Request-ID`` header and bound in :mod:`structlog.contextvars`
for the time of the request, so every log line written while handling it
carries ``request_id`` (aiohttp runs each request in its own task, whose
context is its own).

The access line (logger ``aduan.access``) gives ``method``, ``route``,
``status``, ``duration_ms``, ``client`` and ``request_id``. ``route`` is the
matched route's pattern (``/track/{number}``, ``/inbox/complaints/{id}``),
never the raw path, and no query string, header or body is logged: tracking
numbers, tokens, phone numbers and email addresses stay out of the log. A
request that matched no route is logged as ``route="-"``. ``client`` is the
client address through trusted proxies (:func:`gateway.remote.client_address`).
Successful probes (``/healthz``, ``/readyz``, ``/metrics``) are logged at
DEBUG, so a monitor polling every few seconds does not fill the log.

An error no handler caught is answered 500 with the request id in the body
(staff and API clients can quote it: Indonesian first, English second; the
staff API gets ``application/problem+json``), and logged on ``aduan.errors``
with the request id, the exception's type and its frames; not its text,
which may quote personal data.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
import uuid

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.metrics import observe_request
from gateway.remote import client_address, resolve
from handlers.i18n import N_, t

log = logging.getLogger("aduan.access")
errors_log = logging.getLogger("aduan.errors")

HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_REQUEST_ID = web.RequestKey("aduan_request_id", str)
#: Routes whose successful answers are logged at DEBUG.
PROBE_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
#: The status logged for a request whose client went away before its answer.
CLIENT_GONE = 499
#: The body of a 500 outside the staff API (``{code}``: the request id).
SERVER_ERROR_TEXT = N_(
    "Something went wrong on our side. If it happens again, quote this code: {code}"
)


def request_id_for(incoming: str | None) -> str:
    """``incoming`` when it is a sane request id, else a new random one."""
    if incoming is not None and _SANE_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


def route_of(request: web.BaseRequest) -> str:
    """The pattern of the route ``request`` matched (``"-"`` when none)."""
    match_info = getattr(request, "match_info", None)
    route = getattr(match_info, "route", None)
    resource = getattr(route, "resource", None)
    if resource is None:
        return "-"
    return str(resource.canonical)


def _client(request: web.Request) -> str:
    try:
        return client_address(request)
    except KeyError:  # the runtime is not there yet (start-up): no proxy is trusted
        return resolve(request, ()).address


@web.middleware
async def access_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind the request id, answer, then write the access line and the request metrics."""
    request_id = request_id_for(request.headers.get(HEADER))
    request[_REQUEST_ID] = request_id
    started = time.perf_counter()
    status = 500
    with structlog.contextvars.bound_contextvars(request_id=request_id):
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except ConnectionError:
            # The client went away mid-answer: nothing reaches it, and it is
            # not a fault of ours (logged as 499, "client closed request").
            status = CLIENT_GONE
            return web.Response(status=CLIENT_GONE)
        except Exception as exc:
            # A handler that timed out is 504, as aiohttp answers it; anything else 500.
            status = 504 if isinstance(exc, TimeoutError) else 500
            _log_unhandled(request, exc)
            return server_error(request, request_id, status)
        finally:
            seconds = time.perf_counter() - started
            route = route_of(request)
            observe_request(route, request.method, status, seconds)
            level = logging.DEBUG if route in PROBE_ROUTES and status < 400 else logging.INFO
            log.log(
                level,
                "%s %s %s",
                request.method,
                route,
                status,
                extra={
                    "method": request.method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                    "client": _client(request),
                },
            )


def _log_unhandled(request: web.Request, exc: Exception) -> None:
    frames = traceback.extract_tb(exc.__traceback__)
    errors_log.error(
        "unhandled %s in %s %s\n%s",
        type(exc).__name__,
        request.method,
        route_of(request),
        "".join(traceback.format_list(frames)).rstrip(),
    )


def server_error(request: web.Request, request_id: str, status: int = 500) -> web.Response:
    """The answer (``status``: 500, or 504 for a timeout) to an error no handler
    caught, quoting ``request_id``: ``application/problem+json`` under
    ``/api/`` (as the staff API's other errors), else a short text in
    Indonesian and English."""
    if request.path.startswith("/api/"):
        return web.json_response(
            {
                "title": "Gateway Timeout" if status == 504 else "Internal Server Error",
                "status": status,
                "detail": f"Unexpected error; quote request id {request_id} when reporting it.",
                "code": "internal_error",
                "request_id": request_id,
            },
            status=status,
            content_type="application/problem+json",
        )
    indonesian = t("id", SERVER_ERROR_TEXT, code=request_id)
    english = t("en", SERVER_ERROR_TEXT, code=request_id)
    return web.Response(
        status=status,
        text=f"{indonesian}\n\n{english}\n",
        content_type="text/plain",
    )


async def _send_request_id(request: web.BaseRequest, response: web.StreamResponse) -> None:
    request_id = request.get(_REQUEST_ID)
    if request_id is not None:
        response.headers[HEADER] = request_id


def install(app: web.Application) -> None:
    """Put :func:`access_log` first among ``app``'s middlewares and send the id
    back on every response (errors included)."""
    app.middlewares.insert(0, access_log)
    app.on_response_prepare.append(_send_request_id)
