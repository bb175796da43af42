"""Contact pages: find a contact, see everything of it, merge two into one (docs/privacy.md).

Routes:

``GET /inbox/contacts?q=…``
    Contacts by name, address (a phone number in any form: ``0812…`` finds
    ``+62812…``) or number (``#12``), most recently changed first.
``GET /inbox/contacts/{id}?q=…``
    One contact: name, every address (phone — shared by WhatsApp and SMS —,
    email, Telegram), its complaints, intake conversations, message counts per
    channel and merge history; for the roles that may merge
    (:data:`handlers.contacts.MERGE_ROLES`) a search for another contact
    (``q``) and the form to merge it *into* this one.
``POST /inbox/contacts/{id}/merge`` (form field ``source``: the other contact's id)
    Merge (:func:`handlers.contacts.merge_contacts`) and redirect (303) to the
    contact with ``?done=merged``. A refusal shows the page again with the
    reason (409; 400 for no or an unknown source) and changes nothing.
``POST /inbox/contact-merges/{id}/undo``
    Undo a merge (:func:`handlers.contacts.undo_merge`), then the target
    contact with ``?done=undone``; refused (409) when already undone.

``POST /inbox/contacts/{id}/export`` (admin only)
    Everything held about the contact as a ZIP download
    (:func:`handlers.privacy.export_contact`, audited; docs/privacy.md).
``GET``/``POST /inbox/contacts/{id}/erase`` (admin only)
    The confirmation page (what will be erased, row counts), then the
    erasure (:func:`handlers.privacy.erase_contact`, audited) once the form's
    ``confirm`` field repeats the contact number — otherwise the page again
    (400) and nothing changed; then the contact with ``?done=erased``.

Every action: 403 and nothing changed for a role that may not; the session
middleware refuses them without the CSRF token. While a merge runs, the
two contacts' message processing is paused (:func:`handlers.contacts.processing_paused`);
messages moved to the target unprocessed are processed after the commit.

What an officer sees: only contacts with a complaint of their team
(:mod:`gateway.inbox.access`), and of them only those complaints and what
belongs to them; anything else is 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.app_runtime import get_runtime
from gateway.inbox.access import visibility_for
from gateway.inbox.auth import LANG_KEY, current, forbidden
from gateway.inbox.pages import local_time
from gateway.inbox.render import staff_page
from gateway.queries import contacts as contact_queries
from gateway.queries.complaint_list import VisibilityRule
from gateway.reports.texts import channel_label
from gateway.runtime import Runtime
from handlers import channel_policy, privacy
from handlers.contacts import (
    MergeRefusal,
    MergeRefused,
    may_merge,
    merge_contacts,
    processing_paused,
    undo_merge,
)
from handlers.i18n import t
from storage.models import ConversationState, StaffUser

#: Contacts listed per search, and merge candidates offered.
LIST_LIMIT = 50
CANDIDATE_LIMIT = 20
#: Longest search text, in characters.
QUERY_LIMIT = 200
#: Characters of a complaint's problem shown in the list.
EXCERPT_CHARS = 120
#: Characters of each message tied to no complaint shown on the contact page.
UNLINKED_CHARS = 2000


def channel_name(lang: str, channel: str) -> str:
    """A channel's display name in ``lang``, manual intake included."""
    if channel == "manual":
        return t(lang, "Manual intake")
    return channel_label(lang, channel)


def address_kind_label(lang: str, kind: str) -> str:
    """The name of a contact address kind (``phone`` serves WhatsApp and SMS)."""
    if kind == "phone":
        return t(lang, "Phone (WhatsApp, SMS)")
    if kind == "email":
        return t(lang, "Email")
    if kind == "telegram":
        return t(lang, "Telegram")
    return kind


def conversation_state_label(lang: str, state: str) -> str:
    """The name of an intake conversation's state."""
    if state == ConversationState.COLLECTING:
        return t(lang, "Collecting details")
    if state == ConversationState.CONFIRMING:
        return t(lang, "Waiting for confirmation")
    if state == ConversationState.REGISTERED:
        return t(lang, "Registered")
    if state == ConversationState.CANCELLED:
        return t(lang, "Cancelled")
    if state == ConversationState.EXPIRED:
        return t(lang, "Expired")
    return state


def refusal_text(lang: str, refused: MergeRefused) -> str:
    """Why a merge or an undo was refused, for staff, in ``lang``."""
    code = refused.code
    if code is MergeRefusal.SAME_CONTACT:
        return t(lang, "A contact cannot be merged with itself.")
    if code is MergeRefusal.ALREADY_MERGED:
        return t(
            lang,
            "One of the two contacts is already merged into another contact; merge with that contact instead.",
        )
    if code is MergeRefusal.OPEN_CONVERSATIONS:
        return t(
            lang,
            "Both contacts are in the middle of an intake conversation on {channels}. Merge them once one of those is registered, cancelled or expired.",
            channels=", ".join(channel_name(lang, c) for c in refused.channels),
        )
    if code is MergeRefusal.ALREADY_UNDONE:
        return t(lang, "This merge has already been undone.")
    if code is MergeRefusal.TARGET_MERGED:
        return t(
            lang,
            "The contact has since been merged into another contact; undo that merge first.",
        )
    return t(
        lang, "Messages of these contacts are being processed right now. Try again in a moment."
    )


def _who(actor: str | None) -> str:
    """``staff:sri`` → ``sri``."""
    return (actor or "").removeprefix("staff:")


def _limited(rule: VisibilityRule | None) -> frozenset[str] | None:
    """The assignees whose complaints the viewer may see; ``None``: every complaint."""
    return None if rule is None else rule.assignee_in


def _address_rows(lang: str, addresses: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    return [(address_kind_label(lang, kind), address) for kind, address in addresses]


@dataclass(frozen=True, slots=True)
class ContactRow:
    """A contact as lists show it (:class:`gateway.queries.contacts.ContactSummary`
    with its address kinds named in the page's language)."""

    id: int
    name: str
    addresses: list[tuple[str, str]]
    complaints: int
    merged_into_id: int | None


async def find_contacts(
    session: AsyncSession,
    query: str,
    *,
    lang: str,
    allowed: frozenset[str] | None,
    exclude: int | None = None,
    unmerged_only: bool = False,
    limit: int = LIST_LIMIT,
) -> list[ContactRow]:
    """Contacts matching ``query`` for a list in ``lang``
    (:func:`gateway.queries.contacts.find_contacts`)."""
    found = await contact_queries.find_contacts(
        session, query, allowed=allowed, exclude=exclude, unmerged_only=unmerged_only, limit=limit
    )
    return [
        ContactRow(
            id=c.id,
            name=c.name,
            addresses=_address_rows(lang, c.addresses),
            complaints=c.complaints,
            merged_into_id=c.merged_into_id,
        )
        for c in found
    ]


def _query(request: web.Request) -> str:
    return request.query.get("q", "").strip()[:QUERY_LIMIT]


async def contacts_page(request: web.Request) -> web.Response:
    """``GET /inbox/contacts``: find a contact."""
    runtime = get_runtime(request)
    lang = request[LANG_KEY]
    query = _query(request)
    async with runtime.sessions() as session:
        allowed = _limited(await visibility_for(session, current(request).user))
        rows = await find_contacts(session, query, lang=lang, allowed=allowed)
    return staff_page(
        request,
        "contacts.html",
        title=t(lang, "Contacts"),
        nav="contacts",
        q=query,
        rows=rows,
    )


async def _overview(
    session: AsyncSession, request: web.Request, contact_id: int
) -> dict[str, Any] | None:
    """The contact page's context, or ``None`` when it does not exist or is not visible."""
    runtime = get_runtime(request)
    profile = runtime.profile
    lang = request[LANG_KEY]
    zone = profile.office.timezone
    allowed = _limited(await visibility_for(session, current(request).user))
    found = await contact_queries.contact_overview(session, contact_id, allowed=allowed)
    if found is None:
        return None
    active_merge = found.active_merge
    return {
        "contact": found.contact,
        "contact_name": found.name,
        "created_text": local_time(found.created_at, zone, lang),
        "addresses": _address_rows(lang, found.addresses),
        "complaints": [
            {
                "tracking_number": c.tracking_number,
                "channel_label": channel_name(lang, c.channel),
                "status_label": profile.status_label(c.status, lang),
                "received_text": local_time(c.received_at, zone, lang),
                "complainant_name": c.complainant_name,
                "contact_address": c.contact_address,
                "excerpt": c.problem[:EXCERPT_CHARS],
            }
            for c in found.complaints
        ],
        "conversations": [
            {
                "id": v.id,
                "channel_label": channel_name(lang, v.channel),
                "state_label": conversation_state_label(lang, v.state),
                "started_text": local_time(v.created_at, zone, lang),
                "updated_text": local_time(v.updated_at, zone, lang),
                "tracking_number": v.tracking_number,
            }
            for v in found.conversations
        ],
        "message_counts": [
            (channel_name(lang, channel), count) for channel, count in found.message_counts
        ],
        "unlinked": [
            {
                "channel_label": channel_name(lang, m.channel),
                "received_text": local_time(m.received_at, zone, lang),
                "text": m.text[:UNLINKED_CHARS],
                "unused_channel": not channel_policy.accepts(profile, m.channel),
            }
            for m in found.unlinked
        ],
        "merges": [
            {
                "id": m.id,
                "source_id": m.source_id,
                "source_name": m.source_name,
                "target_id": m.target_id,
                "target_name": m.target_name,
                "merged_by": _who(m.merged_by),
                "merged_text": local_time(m.merged_at, zone, lang),
                "undone_by": _who(m.undone_by) if m.undone_by else None,
                "undone_text": local_time(m.undone_at, zone, lang),
                "active": m.active,
            }
            for m in found.merges
        ],
        "merged_into": found.merged_into,
        "active_merge": active_merge,
        "active_merge_text": local_time(active_merge.merged_at, zone, lang) if active_merge else "",
        "active_merge_by": _who(active_merge.merged_by) if active_merge else "",
    }


async def _contact_response(
    request: web.Request, contact_id: int, *, error: str | None = None, status: int = 200
) -> web.Response:
    runtime = get_runtime(request)
    lang = request[LANG_KEY]
    user = current(request).user
    query = _query(request) if request.method == "GET" else ""
    can_merge = may_merge(user.role)
    async with runtime.sessions() as session:
        context = await _overview(session, request, contact_id)
        if context is None:
            raise web.HTTPNotFound()
        candidates = (
            await find_contacts(
                session,
                query,
                lang=lang,
                allowed=None,
                exclude=contact_id,
                unmerged_only=True,
                limit=CANDIDATE_LIMIT,
            )
            if query and can_merge and context["merged_into"] is None
            else []
        )
    name = context["contact_name"] or t(lang, "Contact #{id}", id=contact_id)
    return staff_page(
        request,
        "contact.html",
        title=name,
        nav="contacts",
        status=status,
        heading=name,
        error=error,
        done=request.query.get("done", "") if request.method == "GET" else "",
        can_merge=can_merge,
        can_handle_personal_data=privacy.may_handle_personal_data(user.role),
        q=query,
        candidates=candidates,
        **context,
    )


def _id(request: web.Request, key: str) -> int:
    raw = request.match_info[key]
    if not raw.isdigit() or len(raw) > 9:
        raise web.HTTPNotFound()
    return int(raw)


async def contact_page(request: web.Request) -> web.Response:
    """``GET /inbox/contacts/{id}``: one contact (see the module docstring)."""
    return await _contact_response(request, _id(request, "id"))


@dataclass(frozen=True, slots=True)
class _Acting:
    """A staff member whose role may take an action on contacts, and the page language."""

    runtime: Runtime
    user: StaffUser
    lang: str


def _acting(request: web.Request, may: Callable[[str], bool]) -> _Acting | web.Response:
    """The signed-in member when ``may(role)`` allows the action, else the 403 page."""
    user = current(request).user
    if not may(user.role):
        return forbidden(request, "role")
    return _Acting(get_runtime(request), user, request[LANG_KEY])


async def _exists(runtime: Runtime, contact_id: int) -> bool:
    async with runtime.sessions() as session:
        return await contact_queries.contact_ref(session, contact_id) is not None


async def _acting_on_contact(
    request: web.Request, may: Callable[[str], bool]
) -> tuple[_Acting, int] | web.Response:
    """:func:`_acting`, and the contact number of the path; 404 when there is no such contact."""
    acting = _acting(request, may)
    if isinstance(acting, web.Response):
        return acting
    contact_id = _id(request, "id")
    if not await _exists(acting.runtime, contact_id):
        raise web.HTTPNotFound()
    return acting, contact_id


async def _posted_number(request: web.Request, key: str) -> str:
    """The form field ``key`` as typed, without spaces around it or a leading ``#``."""
    raw = (await request.post()).get(key)
    return raw.strip().removeprefix("#") if isinstance(raw, str) else ""


async def merge(request: web.Request) -> web.StreamResponse:
    """``POST /inbox/contacts/{id}/merge``: merge the form's ``source`` contact into this one."""
    found = await _acting_on_contact(request, may_merge)
    if isinstance(found, web.Response):
        return found
    acting, target_id = found
    runtime, user, lang = acting.runtime, acting.user, acting.lang
    number = await _posted_number(request, "source")
    if not number.isdigit() or len(number) > 9:
        return await _contact_response(
            request,
            target_id,
            error=t(lang, "Choose the contact to merge into this one."),
            status=400,
        )
    source_id = int(number)
    try:
        async with processing_paused(
            runtime.sessions, (target_id, source_id), holder=runtime.holder
        ):
            async with runtime.work() as session:
                await merge_contacts(
                    session,
                    target_id=target_id,
                    source_id=source_id,
                    actor=f"staff:{user.username}",
                )
    except LookupError:
        return await _contact_response(
            request,
            target_id,
            error=t(lang, "There is no contact #{id}.", id=source_id),
            status=400,
        )
    except MergeRefused as refused:
        return await _contact_response(
            request, target_id, error=refusal_text(lang, refused), status=409
        )
    # Messages that moved unprocessed are processed as the target's now.
    runtime.jobs.request_processing(target_id)
    raise web.HTTPSeeOther(f"/inbox/contacts/{target_id}?done=merged")


async def undo(request: web.Request) -> web.StreamResponse:
    """``POST /inbox/contact-merges/{id}/undo``: move the merged rows back to their contact."""
    acting = _acting(request, may_merge)
    if isinstance(acting, web.Response):
        return acting
    runtime, user, lang = acting.runtime, acting.user, acting.lang
    merge_id = _id(request, "id")
    async with runtime.sessions() as session:
        found = await contact_queries.merge_parties(session, merge_id)
    if found is None:
        raise web.HTTPNotFound()
    target_id, source_id = found
    try:
        async with processing_paused(
            runtime.sessions, (target_id, source_id), holder=runtime.holder
        ):
            async with runtime.work() as session:
                await undo_merge(session, merge_id=merge_id, actor=f"staff:{user.username}")
    except MergeRefused as refused:
        return await _contact_response(
            request, target_id, error=refusal_text(lang, refused), status=409
        )
    runtime.jobs.request_processing(source_id)
    runtime.jobs.request_processing(target_id)
    raise web.HTTPSeeOther(f"/inbox/contacts/{target_id}?done=undone")


async def export(request: web.Request) -> web.StreamResponse:
    """``POST /inbox/contacts/{id}/export``: the contact's personal data as a ZIP (admin)."""
    acting = _acting(request, privacy.may_handle_personal_data)
    if isinstance(acting, web.Response):
        return acting
    runtime, user = acting.runtime, acting.user
    contact_id = _id(request, "id")
    try:
        async with runtime.work() as session:
            found = await privacy.export_contact(
                session, contact_id, actor=f"staff:{user.username}"
            )
    except LookupError:
        raise web.HTTPNotFound() from None
    return web.Response(
        body=privacy.export_zip(found),
        content_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="kontak-{contact_id}.zip"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def erasure_rows(lang: str, counts: dict[str, int]) -> list[tuple[str, int]]:
    """What an erasure touches, as ``(label, rows)`` for the confirmation page."""
    labels = {
        "contact_addresses": t(lang, "Addresses"),
        "complaints": t(lang, "Complaints"),
        "conversations": t(lang, "Intake conversations"),
        "messages": t(lang, "Messages"),
        "attachments": t(lang, "Attachments"),
        "outbox": t(lang, "Outgoing messages"),
    }
    return [(label, counts.get(key, 0)) for key, label in labels.items()]


async def _erase_page(
    request: web.Request, contact_id: int, *, error: str | None = None, status: int = 200
) -> web.Response:
    runtime = get_runtime(request)
    lang = request[LANG_KEY]
    async with runtime.sessions() as session:
        contact = await contact_queries.contact_ref(session, contact_id)
        if contact is None:
            raise web.HTTPNotFound()
        counts = await privacy.erasure_preview(session, contact_id)
    return staff_page(
        request,
        "contact_erase.html",
        title=t(lang, "Erase personal data of contact #{id}", id=contact_id),
        nav="contacts",
        status=status,
        contact=contact,
        rows=erasure_rows(lang, counts),
        error=error,
    )


async def erase_page(request: web.Request) -> web.Response:
    """``GET /inbox/contacts/{id}/erase``: confirm the erasure (admin)."""
    if not privacy.may_handle_personal_data(current(request).user.role):
        return forbidden(request, "role")
    return await _erase_page(request, _id(request, "id"))


async def erase(request: web.Request) -> web.StreamResponse:
    """``POST /inbox/contacts/{id}/erase``: erase the contact's personal data (admin)."""
    found = await _acting_on_contact(request, privacy.may_handle_personal_data)
    if isinstance(found, web.Response):
        return found
    acting, contact_id = found
    runtime, user, lang = acting.runtime, acting.user, acting.lang
    typed = await _posted_number(request, "confirm")
    if typed != str(contact_id):
        return await _erase_page(
            request,
            contact_id,
            error=t(lang, "Type the contact number {id} to confirm the erasure.", id=contact_id),
            status=400,
        )
    try:
        async with processing_paused(runtime.sessions, (contact_id,), holder=runtime.holder):
            async with runtime.work() as session:
                await privacy.erase_contact(session, contact_id, actor=f"staff:{user.username}")
    except MergeRefused as refused:
        return await _erase_page(request, contact_id, error=refusal_text(lang, refused), status=409)
    raise web.HTTPSeeOther(f"/inbox/contacts/{contact_id}?done=erased")


def add_routes(app: web.Application) -> None:
    """Register the contact pages and the merge actions."""
    app.router.add_get("/inbox/contacts", contacts_page)
    app.router.add_get("/inbox/contacts/{id}", contact_page)
    app.router.add_post("/inbox/contacts/{id}/merge", merge)
    app.router.add_post("/inbox/contact-merges/{id}/undo", undo)
    app.router.add_post("/inbox/contacts/{id}/export", export)
    app.router.add_get("/inbox/contacts/{id}/erase", erase_page)
    app.router.add_post("/inbox/contacts/{id}/erase", erase)
