"""Messages kept aside (``quarantined_inbound``), for staff to read
(docs/email.md, docs/webhooks.md).

* ``GET /inbox/quarantine`` — the newest :data:`PAGE_ROWS` rows: when, channel,
  for mail the sender and subject as the mail claims them, why it was kept
  aside (unreadable, refused by the database, failed SPF/DMARC at the
  office's server; a provider's payload that could not be read or stored),
  its size;
* ``GET /inbox/quarantine/{id}.eml`` — the bytes as received, as a download
  (``application/octet-stream``, ``nosniff``: never rendered by the browser;
  named ``.eml`` for mail, ``.txt`` for a provider's payload).

Open to the roles that read the reports (:func:`gateway.inbox.access.may_report`:
the secretariat, the quality manager, ``admin`` and the escalation roles);
others get 403. Nothing here changes anything.
"""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesHeaderParser
from typing import Any

from aiohttp import web

from gateway.app_runtime import get_runtime
from gateway.inbox.access import may_report
from gateway.inbox.auth import LANG_KEY, current, forbidden
from gateway.inbox.render import staff_page
from gateway.queries.quarantine import kept_aside, kept_aside_raw
from gateway.reports.texts import channel_label, when_text
from handlers.i18n import t

__all__ = ["PAGE_ROWS", "add_routes", "claimed_headers", "reason_text"]

#: Rows shown, newest first.
PAGE_ROWS = 200
_SHOWN_CHARS = 200
_HEAD_BYTES = 64 * 1024
_WS = re.compile(r"\s+")


def claimed_headers(raw: bytes) -> tuple[str, str]:
    """(From, Subject) as the mail claims them, decoded leniently, one line, at most
    200 characters each; empty when unreadable. Never raises."""
    head = raw[:_HEAD_BYTES]
    try:
        msg = BytesHeaderParser(policy=policy.default).parsebytes(head)
    except Exception:
        return "", ""
    found: list[str] = []
    for name in ("From", "Subject"):
        try:
            value = str(msg.get(name) or "")
        except Exception:
            value = ""
        value = value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
        found.append(_WS.sub(" ", value).strip()[:_SHOWN_CHARS])
    return found[0], found[1]


def reason_text(lang: str, error: str, channel: str = "email") -> str:
    """Why a row was kept aside, in ``lang``, with the technical detail after it.

    ``channel`` is the row's channel: mail has its own reasons (the sender
    check); a provider's payload was either unreadable or not storable
    (``not storable: …`` from :mod:`gateway.inbound.store`).
    """
    if error.startswith("authentication failed"):
        summary = t(lang, "Failed the sender check (SPF/DMARC) at the office's mail server")
    elif error.startswith(("could not be stored", "not storable")):
        summary = t(lang, "Could not be stored")
    elif channel == "email":
        summary = t(lang, "Could not be read as an email")
    else:
        summary = t(lang, "Could not be read from the provider")
    return f"{summary} — {error[:500]}"


async def quarantine_page(request: web.Request) -> web.StreamResponse:
    """``GET /inbox/quarantine``: the messages kept aside, newest first."""
    runtime = get_runtime(request)
    if not may_report(runtime.profile, current(request).user.role):
        return forbidden(request, "role")
    lang = request[LANG_KEY]
    zone = runtime.profile.office.timezone
    async with runtime.sessions() as session:
        found = await kept_aside(session, limit=PAGE_ROWS, head_bytes=_HEAD_BYTES)
    rows: list[dict[str, Any]] = []
    for row in found.rows:
        is_mail = row.channel == "email"
        sender, subject = claimed_headers(row.head) if is_mail else ("", "")
        rows.append(
            {
                "id": row.id,
                "when": when_text(row.created_at, zone, lang),
                "channel": channel_label(lang, row.channel),
                "sender": sender,
                "subject": subject,
                "reason": reason_text(lang, row.error, row.channel),
                "size": row.size,
            }
        )
    return staff_page(
        request,
        "quarantine.html",
        title=t(lang, "Messages kept aside"),
        nav="quarantine",
        rows=rows,
        total=found.total,
    )


async def quarantine_raw(request: web.Request) -> web.StreamResponse:
    """``GET /inbox/quarantine/{id}.eml``: the bytes as received, as a download; 404 if unknown."""
    runtime = get_runtime(request)
    if not may_report(runtime.profile, current(request).user.role):
        return forbidden(request, "role")
    row_id = int(request.match_info["id"])
    async with runtime.sessions() as session:
        found = await kept_aside_raw(session, row_id)
    if found is None:
        raise web.HTTPNotFound()
    suffix = "eml" if found.channel == "email" else "txt"
    return web.Response(
        body=found.raw,
        content_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="kept-aside-{row_id}.{suffix}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


def add_routes(app: web.Application) -> None:
    """Register the page of messages kept aside and its downloads."""
    app.router.add_get("/inbox/quarantine", quarantine_page)
    app.router.add_get("/inbox/quarantine/{id:\\d+}.eml", quarantine_raw)
