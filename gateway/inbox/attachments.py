"""Serving a message's attachment to staff, safely (docs/attachments.md).

``GET /inbox/attachments/{id}`` (a staff session is required by
:mod:`gateway.inbox.auth`):

* only to staff who may see the message: a viewer limited to their team's
  complaints (:mod:`gateway.visibility`) must see the complaint the message
  belongs to — the same rule as the thread on a complaint page
  (:mod:`gateway.queries.thread`), so another team's complaint of the same
  person, or a message outside any complaint, is not served; otherwise 404,
  as for an unknown id or an attachment that was not stored (too large,
  unreadable);
* a PNG, JPEG, GIF or WebP image goes inline with its stored type (for the
  preview on the page); anything else — HTML, SVG, PDF, executables — as
  ``application/octet-stream`` with ``Content-Disposition: attachment``, so
  the browser downloads it and never renders it on our origin;
* always ``X-Content-Type-Options: nosniff`` and a Content-Security-Policy
  that lets nothing run (``default-src 'none'; sandbox``).
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from gateway.app_runtime import get_runtime
from gateway.inbox.auth import current
from gateway.queries.thread import PREVIEW_TYPES, stored_attachment
from gateway.visibility import visibility_for

#: The policy of every attachment response: nothing may run or load.
ATTACHMENT_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"


def content_disposition(kind: str, filename: str) -> str:
    """``kind`` (``inline``/``attachment``) with ``filename`` as RFC 6266 gives it.

    An ASCII fallback in ``filename`` (quotes, backslashes and control
    characters replaced) and the exact name, UTF-8 percent-encoded, in
    ``filename*``.
    """
    fallback = "".join(
        ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename
    ).strip()
    return f"{kind}; filename=\"{fallback or 'attachment'}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def attachment(request: web.Request) -> web.StreamResponse:
    """``GET /inbox/attachments/{id}``: the file, inline for images, else as a download."""
    try:
        attachment_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    runtime = get_runtime(request)
    user = current(request).user
    async with runtime.sessions() as session:
        found = await stored_attachment(session, attachment_id, await visibility_for(session, user))
    if found is None:
        raise web.HTTPNotFound()
    stored_type = found.content_type.lower().strip()
    image = stored_type in PREVIEW_TYPES
    response = web.Response(
        body=found.content,
        content_type=stored_type if image else "application/octet-stream",
    )
    response.headers["Content-Disposition"] = content_disposition(
        "inline" if image else "attachment", found.filename
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = ATTACHMENT_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response


def add_routes(app: web.Application) -> None:
    """Register the attachment route."""
    app.router.add_get("/inbox/attachments/{id:\\d+}", attachment)
