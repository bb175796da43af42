"""The public pages: the complaint form, the confirmation page and tracking.

Routes (registered by :func:`add_routes`; every page is Indonesian unless
``?lang=en``):

``GET /``
    The form: the SOP profile's intake fields in profile order, a contact group
    (email and/or phone), a hidden server-signed form token and a honeypot
    input (:mod:`gateway.web.form`, :mod:`gateway.web.token`).
``POST /``
    The token must be signed by us, neither too old nor too fresh, and not
    used before (docs/web-form.md, "Form token"); otherwise, as for field
    errors: 422 with the form again, an error summary at the top, a message
    next to each field and everything typed kept. A token whose submission is
    already stored (a double click, a retry) leads to that submission's page.
    Submissions are counted per client address (:mod:`gateway.web.guard`);
    over the limit: 429 with ``Retry-After`` and nothing stored. A filled-in
    honeypot gets the usual redirect and a "received" page, and nothing is
    stored or sent. Valid: the message is committed
    (:meth:`gateway.runtime.Runtime.accept`, which also asks the job runner
    to process it); the request waits up to :data:`PROCESS_WAIT_SECONDS` for
    it to be processed, so the complaint normally exists at once, then
    ``303 See Other`` to ``/submitted/{id}`` (the token's nonce).
``GET /submitted/{id}``
    The tracking number, a summary of what was recorded, the follow-up time
    standard and how to track; "being processed" with a 2 s refresh while the
    complaint does not exist yet; 404 for an unknown id. A complaint
    rejected at registration (the profile's acceptance window, SOP-7.9-1 item
    3) is shown as not accepted, with the reason and no follow-up promised.
``GET /track``, ``POST /track``
    Status, received date and last update of a complaint, shown only when the
    email or phone given matches the complainant's; otherwise one generic
    "not found" answer, reached by the same queries and template whether the
    number exists or not. Lookups are counted per client address (429).
``GET /banding``, ``POST /banding``
    The appeal form, for profiles that take appeals not tied to a complaint
    (:mod:`gateway.web.appeal`; 404 otherwise).
``GET /static/…``
    The stylesheet.

Modules: :mod:`gateway.web.submit` (the form), :mod:`gateway.web.submitted`,
:mod:`gateway.web.track`, sharing :mod:`gateway.web.pages`. Bodies must be
``application/x-www-form-urlencoded`` UTF-8 (400 otherwise) and at most
:func:`gateway.web.submit.form_body_limit` bytes (413).
"""

from __future__ import annotations

from aiohttp import web

from gateway.web import guard as guards
from gateway.web.appeal import add_appeal_routes
from gateway.web.pages import FieldView, SummaryError
from gateway.web.submit import form_page, submit
from gateway.web.submitted import submitted_page
from gateway.web.templating import STATIC_DIR, STATIC_PREFIX
from gateway.web.track import track, track_page

__all__ = ["FieldView", "SummaryError", "add_routes"]


def add_routes(app: web.Application) -> None:
    """Register the public pages and ``/static/`` on ``app`` (see the module docstring)."""
    guards.install(app)
    app.router.add_get("/", form_page, name="form")
    app.router.add_post("/", submit)
    app.router.add_get("/submitted/{token}", submitted_page, name="submitted")
    app.router.add_get("/track", track_page, name="track")
    app.router.add_post("/track", track)
    add_appeal_routes(app)
    app.router.add_static(STATIC_PREFIX, STATIC_DIR, name="static", append_version=False)
