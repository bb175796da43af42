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
``GET /static/…``
    The stylesheet.

Bodies must be ``application/x-www-form-urlencoded`` UTF-8 (400 otherwise) and
at most :func:`form_body_limit` bytes (413).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_datetime
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from channels.base import ChannelName
from gateway.addresses import AddressError, normalise_email, normalise_phone
from gateway.app import get_runtime
from gateway.i18n import normalise_language, t
from gateway.runtime import Runtime
from gateway.web import guard as guards
from gateway.web.form import (
    CONTACT_GROUP,
    EMAIL_FIELD,
    HONEYPOT_FIELD,
    LANGUAGE_FIELD,
    PHONE_FIELD,
    TOKEN_ERROR,
    TOKEN_FIELD,
    FormResult,
    WebForm,
    clean_input,
    is_token,
)
from gateway.web.guard import client_address, public_guard
from gateway.web.templating import STATIC_DIR, STATIC_PREFIX, render
from gateway.web.token import TokenCheck, TokenState
from handlers.appeals import appeal_progress, describe_progress
from handlers.intake import STATUS_NAMES
from handlers.intake.commands import tracking_pattern
from handlers.notifications import complaint_route
from handlers.profile import FieldKind, IntakeField, Profile
from handlers.registration import initial_status
from handlers.validation import display_value
from storage import limits
from storage.limits import Verdict
from storage.models import Complaint, ComplaintEvent, ComplaintStatus, ContactAddress, Message
from storage.types import utcnow

log = logging.getLogger(__name__)


def N_(message_id: str) -> str:
    """Mark ``message_id`` as a text to translate later with :func:`t`; returns it unchanged.

    Lets the catalogue test find every message id of these pages (``web.po``).
    """
    return message_id


#: Reasons given when a request body is refused (translated when shown).
UNREADABLE_FORM = N_("The form was sent in a format we do not accept.")
FORM_TOO_LARGE = N_("The form is too large to accept.")

#: What a client over a limit reads (``{minutes}``: when to try again).
FORM_LIMIT_TEXT = N_(
    "Too many complaints have been sent from your connection. Nothing was saved. "
    "Please try again in {minutes} minutes, or contact the office directly."
)
TRACK_LIMIT_TEXT = N_(
    "Too many tracking requests have been sent from your connection. "
    "Please try again in {minutes} minutes."
)
#: Why a form token was refused (the form is shown again with a fresh token).
TOKEN_TEXTS: Mapping[TokenState, str] = {
    TokenState.MALFORMED: N_(
        "This form was incomplete or too old. Check your answers and send it again."
    ),
    TokenState.FORGED: N_(
        "This form was incomplete or too old. Check your answers and send it again."
    ),
    TokenState.EXPIRED: N_(
        "This form was open for too long. Check your answers and send it again."
    ),
    TokenState.TOO_FAST: N_(
        "The form was sent very quickly after it was opened. Check your answers and send it again."
    ),
}
USED_TOKEN_TEXT = N_("This form has already been sent. Check your answers and send it again.")

#: Seconds the confirmation page waits before reloading while the complaint is
#: being registered (issue text: "being processed" with a 2 s refresh).
REFRESH_SECONDS = 2
#: How long ``POST /`` waits for processing done by another task or process
#: before redirecting anyway (the confirmation page then refreshes itself).
PROCESS_WAIT_SECONDS = 3.0
#: The confirmation page shows the recorded details for this long after
#: submission; afterwards only the tracking number (the URL stays in browser
#: histories on shared phones and internet cafés; UU 27/2022 data minimisation).
SUMMARY_WINDOW = timedelta(hours=24)
#: Largest ``POST /track`` body, in bytes.
TRACK_BODY_LIMIT = 4 * 1024
#: Most input fields accepted in one form body.
MAX_FORM_FIELDS = 100
#: Longest tracking-form contact input, in characters.
TRACK_CONTACT_MAX = 320

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

#: Headers on every page: no framing, no sniffing, no scripts, no third parties.
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
#: Pages showing personal data are never stored by any cache.
NO_STORE = "no-store"
#: The empty form may be kept by the browser (back button keeps the token, so
#: a resubmission is deduplicated) but never by a shared cache, which would
#: hand one token to several people.
PRIVATE_NO_CACHE = "private, no-cache"

#: What each complaint status means for the complainant (tracking page).
STATUS_EXPLANATIONS: Mapping[ComplaintStatus, str] = {
    ComplaintStatus.RECEIVED: N_(
        "Your complaint has been recorded and will be checked by an officer."
    ),
    ComplaintStatus.VERIFIED: N_(
        "An officer has checked your complaint and it is being assigned for follow-up."
    ),
    ComplaintStatus.REJECTED: N_(
        "Your complaint could not be accepted. "
        "The officer's explanation is sent to you on the contact you gave."
    ),
    ComplaintStatus.IN_FOLLOW_UP: N_("An officer is working on your complaint."),
    ComplaintStatus.CAPA_RECORDED: N_(
        "The cause has been found and corrective action has been recorded."
    ),
    ComplaintStatus.RESULT_VERIFIED: N_("The result of the follow-up has been checked."),
    ComplaintStatus.CLOSED: N_("Handling of your complaint is finished."),
    ComplaintStatus.ARCHIVED: N_(
        "Handling of your complaint is finished and the record is archived."
    ),
}


class FormRejected(Exception):
    """A request body that is not an acceptable form; ``status`` is 400 or 413."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def form_body_limit(profile: Profile) -> int:
    """Largest ``POST /`` body in bytes: room for every field at its maximum length.

    A character may take 9 bytes once UTF-8 encoded and percent-escaped
    (``%E2%80%99``); 16 KiB cover names, the contact group and the token.
    """
    return 16 * 1024 + 9 * sum(f.max_length for f in profile.intake.fields)


async def read_form(request: web.Request, limit: int) -> dict[str, str]:
    """Read a URL-encoded UTF-8 form body of at most ``limit`` bytes.

    Returns the first value of each name.

    Raises:
        FormRejected: 400 for another content type, bad UTF-8 or too many
            fields; 413 for a body over ``limit``.
    """
    if request.content_type != FORM_CONTENT_TYPE:
        raise FormRejected(400, UNREADABLE_FORM)
    charset = request.charset
    if charset is not None and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise FormRejected(400, UNREADABLE_FORM)
    if request.content_length is not None and request.content_length > limit:
        raise FormRejected(413, FORM_TOO_LARGE)
    body = bytearray()
    while True:
        chunk = await request.content.readany()
        if not chunk:
            break
        body += chunk
        if len(body) > limit:
            raise FormRejected(413, FORM_TOO_LARGE)
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise FormRejected(400, UNREADABLE_FORM) from None
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


# ------------------------------------------------------------------ helpers


def page_language(request: web.Request, fallback: str | None = None) -> str:
    """``en`` when ``?lang=en`` (or, without ``lang``, ``fallback`` is English), else ``id``."""
    return normalise_language(request.query.get("lang") or fallback)


def _page(
    request: web.Request,
    template: str,
    lang: str,
    *,
    status: int = 200,
    cache: str = NO_STORE,
    title: str,
    nav: str = "",
    **context: Any,
) -> web.Response:
    runtime = get_runtime(request)
    office = runtime.profile.office
    other = "en" if lang == "id" else "id"
    switch_url = str(request.rel_url.with_fragment(None).update_query(lang=other))
    html = render(
        template,
        lang,
        title=title,
        office_name=office.name.get(lang),
        office_unit=office.unit.get(lang),
        switch_url=switch_url,
        switch_lang=other,
        switch_label="English" if other == "en" else "Bahasa Indonesia",
        nav=nav,
        **context,
    )
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = cache
    response.headers["Content-Language"] = lang
    return response


def _error_page(
    request: web.Request, lang: str, status: int, heading: str, detail: str
) -> web.Response:
    return _page(
        request,
        "error.html",
        lang,
        status=status,
        title=t(lang, heading),
        heading=t(lang, heading),
        detail=t(lang, detail),
    )


def _too_many(request: web.Request, lang: str, verdict: Verdict, detail: str) -> web.Response:
    """429 with ``Retry-After`` (whole seconds) and the wait in minutes on the page."""
    seconds = max(1, math.ceil(verdict.retry_after.total_seconds()))
    minutes = max(1, math.ceil(seconds / 60))
    response = _page(
        request,
        "error.html",
        lang,
        status=429,
        title=t(lang, "Too many attempts"),
        heading=t(lang, "Too many attempts"),
        detail=t(lang, detail, minutes=minutes),
    )
    response.headers["Retry-After"] = str(seconds)
    return response


def _rejected(request: web.Request, lang: str, exc: FormRejected) -> web.Response:
    heading = N_("The form is too large") if exc.status == 413 else N_("The form could not be read")
    return _error_page(request, lang, exc.status, heading, exc.reason)


def _not_found(request: web.Request, lang: str) -> web.Response:
    return _error_page(
        request,
        lang,
        404,
        N_("Page not found"),
        N_("This page does not exist. Check the address, or go back to the complaint form."),
    )


def local_datetime(when: datetime, timezone: str, lang: str) -> str:
    """``when`` in the office's time zone as the page shows it.

    E.g. ``5 Maret 2026, 14.05 WIB`` (Indonesian) or ``5 March 2026, 14:05 WIB``.
    """
    zone = ZoneInfo(timezone)
    local = when.astimezone(zone)
    pattern = "d MMMM y, HH.mm" if lang == "id" else "d MMMM y, HH:mm"
    text = format_datetime(local, pattern, tzinfo=zone, locale=lang)
    return f"{text} {local.tzname() or ''}".strip()


@dataclass(frozen=True, slots=True)
class FieldView:
    """One form control as the template draws it."""

    name: str
    label: str
    hint: str | None
    value: str
    error: str | None
    required: bool
    multiline: bool = False
    input_type: str = "text"
    autocomplete: str | None = None
    inputmode: str | None = None
    verbatim: bool = False
    """No spell checking or automatic capitals (addresses, numbers)."""

    @property
    def described_by(self) -> str:
        """Ids for ``aria-describedby``: the hint, then the error."""
        ids = []
        if self.hint:
            ids.append(f"{self.name}-hint")
        if self.error:
            ids.append(f"{self.name}-error")
        return " ".join(ids)


_INPUT_TYPES: Mapping[FieldKind, tuple[str, str | None, str | None]] = {
    FieldKind.NAME: ("text", "name", None),
    FieldKind.TEXT: ("text", None, None),
    FieldKind.LONGTEXT: ("text", None, None),
    FieldKind.EMAIL: ("email", "email", "email"),
    FieldKind.PHONE: ("tel", "tel", "tel"),
    # The browser's date picker sends YYYY-MM-DD, which check_value reads.
    FieldKind.DATE: ("date", None, None),
}


def _profile_field_view(field: IntakeField, lang: str, value: str, error: str | None) -> FieldView:
    input_type, autocomplete, inputmode = _INPUT_TYPES[field.kind]
    if field.key != "complainant_name" and field.kind is FieldKind.NAME:
        autocomplete = None  # only the complainant's own name is theirs to autofill
    return FieldView(
        name=field.key,
        label=field.label.get(lang),
        hint=field.prompt.get(lang),
        value=value,
        error=error,
        required=field.required,
        multiline=field.kind is FieldKind.LONGTEXT,
        input_type=input_type,
        autocomplete=autocomplete,
        inputmode=inputmode,
        verbatim=field.kind in (FieldKind.EMAIL, FieldKind.PHONE),
    )


@dataclass(frozen=True, slots=True)
class SummaryError:
    """One entry of the error summary: the message and the control it links to."""

    target: str
    message: str


def _render_form(
    request: web.Request,
    profile: Profile,
    lang: str,
    *,
    token: str,
    typed: Mapping[str, str],
    errors: Mapping[str, str],
    status: int,
    notice: str | None = None,
) -> web.Response:
    fields = [
        _profile_field_view(f, lang, typed.get(f.key, ""), errors.get(f.key))
        for f in profile.intake.fields
    ]
    group_error = errors.get(CONTACT_GROUP)
    email = FieldView(
        name=EMAIL_FIELD,
        label=t(lang, "Email address"),
        hint=None,
        value=typed.get(EMAIL_FIELD, ""),
        error=errors.get(EMAIL_FIELD),
        required=False,
        input_type="email",
        autocomplete="email",
        inputmode="email",
        verbatim=True,
    )
    phone = FieldView(
        name=PHONE_FIELD,
        label=t(lang, "Phone or WhatsApp number"),
        hint=None,
        value=typed.get(PHONE_FIELD, ""),
        error=errors.get(PHONE_FIELD),
        required=False,
        input_type="tel",
        autocomplete="tel",
        inputmode="tel",
        verbatim=True,
    )
    summary: list[SummaryError] = []
    if notice:
        summary.append(SummaryError("", notice))
    for name, message in errors.items():
        if name == CONTACT_GROUP:
            target = EMAIL_FIELD
        elif name == TOKEN_ERROR:
            target = ""
        else:
            target = name
        summary.append(SummaryError(target, message))
    title = t(lang, "Submit a complaint")
    if summary:
        title = t(lang, "Error: {title}", title=title)
    return _page(
        request,
        "form.html",
        lang,
        status=status,
        nav="form",
        cache=PRIVATE_NO_CACHE if status == 200 else NO_STORE,
        title=title,
        fields=fields,
        email=email,
        phone=phone,
        group_error=group_error,
        summary=summary,
        token=token,
        token_field=TOKEN_FIELD,
        honeypot_field=HONEYPOT_FIELD,
        lang_field=LANGUAGE_FIELD,
        follow_up=profile.follow_up_standard.describe(lang),
    )


async def _process(runtime: Runtime, contact_id: int) -> None:
    """Get the contact's new message processed now.

    :meth:`Runtime.accept` has already asked the job runner (an asyncio task
    in-process, or an arq worker), so only a runtime without one is processed
    inline here. Calling ``process_contact`` inline *as well* is unsafe: the
    per-contact lease is per process (same holder), so this request and the
    job task would both process the same message and register it twice.
    """
    if runtime.jobs is not None or runtime.processor is None:
        return
    try:
        await runtime.processor.process_contact(contact_id)
    except Exception:
        # Stored and committed: the periodic sweep processes it later (rule 3).
        log.exception("web form: processing contact %s failed", contact_id)


async def _wait_processed(runtime: Runtime, message_id: int, wait_seconds: float) -> None:
    """Wait until the message has been processed (here or elsewhere), at most ``wait_seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while True:
        async with runtime.sessions() as session:
            processed = await session.scalar(
                select(Message.processed_at).where(Message.id == message_id)
            )
        if processed is not None or loop.time() >= deadline:
            return
        await asyncio.sleep(0.05)


# ------------------------------------------------------------------- routes


async def form_page(request: web.Request) -> web.Response:
    """``GET /``: the empty form with a freshly issued, signed form token."""
    runtime = get_runtime(request)
    lang = page_language(request)
    tokens = public_guard(request, runtime.settings).tokens
    return _render_form(
        request, runtime.profile, lang, token=tokens.issue(), typed={}, errors={}, status=200
    )


async def _stored_message(runtime: Runtime, external_id: str) -> int | None:
    """The id of the web-form message stored under ``external_id``, or ``None``."""
    async with runtime.sessions() as session:
        found: int | None = await session.scalar(
            select(Message.id).where(
                Message.channel == ChannelName.WEB.value,
                Message.external_id == external_id,
                Message.direction == "in",
            )
        )
    return found


def _submitted_location(
    request: web.Request, nonce: str, lang: str, *, changed: bool = False
) -> web.HTTPSeeOther:
    query = {"lang": lang}
    if changed:
        query["changed"] = "1"
    location = request.app.router["submitted"].url_for(token=nonce)
    return web.HTTPSeeOther(location=location.with_query(query))


def _form_again(
    request: web.Request,
    profile: Profile,
    result: FormResult,
    *,
    token: str,
    errors: Mapping[str, str],
) -> web.Response:
    return _render_form(
        request,
        profile,
        result.language,
        token=token,
        typed=result.typed,
        errors=errors,
        status=422,
    )


async def submit(request: web.Request) -> web.StreamResponse:
    """``POST /``: check the token, the limits and the fields; then store, process
    and redirect (303). See the module docstring for every answer."""
    runtime = get_runtime(request)
    profile = runtime.profile
    try:
        form = await read_form(request, form_body_limit(profile))
    except FormRejected as exc:
        return _rejected(request, page_language(request), exc)
    result = WebForm(profile).validate(form)
    lang = result.language
    guard = public_guard(request, runtime.settings)
    check: TokenCheck = guard.tokens.check(result.token)
    nonce = check.nonce
    if nonce is not None and (stored_id := await _stored_message(runtime, nonce)) is not None:
        # Sent before and stored (a double click, a retry): the same page.
        changed = await _differs(runtime, stored_id, dict(result.typed))
        raise _submitted_location(request, nonce, lang, changed=changed)
    if not check.ok:
        errors = dict(result.errors)
        errors[TOKEN_ERROR] = t(lang, TOKEN_TEXTS[check.state])
        # A form sent too soon keeps its token (it is old enough by now).
        kept = result.token if check.state is TokenState.TOO_FAST and result.token else None
        return _form_again(
            request, profile, result, token=kept or guard.tokens.issue(), errors=errors
        )
    assert nonce is not None and result.token is not None  # a valid token has both
    if not result.honeypot and not result.ok:
        return _form_again(request, profile, result, token=result.token, errors=result.errors)
    verdict = await guard.count(
        runtime.sessions, guards.FORM_KIND, client_address(request), guard.form_limits
    )
    if not verdict.allowed:
        log.info("web form: submission over the per-address limit refused")
        return _too_many(request, lang, verdict, FORM_LIMIT_TEXT)
    expires = (check.issued_at or utcnow()) + guard.tokens.max_age
    async with runtime.sessions() as session:
        used = await limits.used_nonce(session, nonce)
    if used == limits.NONCE_HONEYPOT or (used is None and result.honeypot):
        if used is None:
            async with runtime.sessions() as session, session.begin():
                await limits.use_nonce(session, nonce, limits.NONCE_HONEYPOT, expires)
            log.info("web form: honeypot filled in; nothing stored")
        raise _submitted_location(request, nonce, lang)
    if used is not None:
        # Used for a submission that is no longer stored: never a second one.
        errors = {TOKEN_ERROR: t(lang, USED_TOKEN_TEXT)}
        return _form_again(request, profile, result, token=guard.tokens.issue(), errors=errors)
    message = result.to_message(nonce)
    try:
        stored = await runtime.accept(message)
        async with runtime.sessions() as session, session.begin():
            await limits.use_nonce(session, nonce, limits.NONCE_SUBMITTED, expires)
    except (SQLAlchemyError, OSError, TimeoutError):
        log.exception("web form: storing submission %s failed", message.external_id)
        return _render_form(
            request,
            profile,
            lang,
            token=result.token,
            typed=result.typed,
            errors={},
            status=503,
            notice=t(
                lang,
                "We could not save your complaint just now. Please send the form again "
                "in a moment; it will not be recorded twice.",
            ),
        )
    await _process(runtime, stored.contact_id)
    try:
        await _wait_processed(runtime, stored.message_id, PROCESS_WAIT_SECONDS)
    except SQLAlchemyError:
        log.exception("web form: reading message %s failed", stored.message_id)
    changed = stored.duplicate and await _differs(runtime, stored.message_id, message.raw)
    raise _submitted_location(request, nonce, lang, changed=changed)


async def _differs(runtime: Runtime, message_id: int, raw: Mapping[str, Any]) -> bool:
    """True when the stored first copy of a resubmitted form had other content."""
    async with runtime.sessions() as session:
        stored = await session.scalar(select(Message.raw).where(Message.id == message_id))
    stored = dict(stored or {})
    ignore = {LANGUAGE_FIELD}
    return {k: v for k, v in stored.items() if k not in ignore} != {
        k: v for k, v in raw.items() if k not in ignore
    }


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One recorded value on the confirmation page."""

    label: str
    value: str
    multiline: bool = False


def _recorded(
    profile: Profile, complaint: Complaint, message: Message, lang: str
) -> list[SummaryRow]:
    values: dict[str, str] = {
        "complainant_name": complaint.complainant_name,
        "customer_name": complaint.customer_name,
        "problem": complaint.problem,
    }
    values.update({k: str(v) for k, v in (complaint.extra_fields or {}).items()})
    rows = [
        SummaryRow(
            f.label.get(lang),
            display_value(f, values[f.key], lang),
            f.kind is FieldKind.LONGTEXT,
        )
        for f in profile.intake.fields
        if values.get(f.key)
    ]
    contact = _form_contacts(message.raw) or [complaint.contact_address]
    rows.append(SummaryRow(t(lang, "Contact"), ", ".join(contact)))
    return rows


def _form_contacts(raw: Mapping[str, Any] | None) -> list[str]:
    """The normalised email and phone a web-form message carried in ``raw``."""
    found: list[str] = []
    raw = raw or {}
    email = raw.get(EMAIL_FIELD)
    phone = raw.get(PHONE_FIELD)
    if isinstance(email, str) and email.strip():
        try:
            found.append(normalise_email(email))
        except AddressError:
            pass
    if isinstance(phone, str) and phone.strip():
        try:
            found.append(normalise_phone(phone))
        except AddressError:
            pass
    return found


def rejection_reason(profile: Profile, complaint: Complaint) -> str | None:
    """Why ``complaint`` was rejected at registration, or ``None`` if it was not.

    A complaint the acceptance window rejected (SOP-7.9-1 item 3,
    :mod:`handlers.acceptance`) is in the target state of the window's
    transition with that transition's reason recorded in ``details``; the
    reason is in the complaint's language, as the complainant was told.
    """
    window = profile.acceptance_window
    workflow = profile.workflow
    if window is None or workflow is None or complaint.status == initial_status(profile):
        return None
    try:
        transition = workflow.transition(window.transition)
    except KeyError:
        return None
    recorded = (complaint.details or {}).get(transition.name)
    if complaint.status != transition.to or not isinstance(recorded, Mapping):
        return None
    reason = recorded.get("reason")
    return reason if isinstance(reason, str) and reason else None


async def submitted_page(request: web.Request) -> web.Response:
    """``GET /submitted/{token}``: the tracking number, or "being processed"."""
    runtime = get_runtime(request)
    profile = runtime.profile
    token = request.match_info["token"]
    if not is_token(token):
        return _not_found(request, page_language(request))
    async with runtime.sessions() as session:
        message = await session.scalar(
            select(Message).where(
                Message.channel == ChannelName.WEB.value,
                Message.external_id == token,
                Message.direction == "in",
            )
        )
        if message is None:
            if await limits.used_nonce(session, token) == limits.NONCE_HONEYPOT:
                # What a stored form without a complaint shows; nothing was kept.
                lang = page_language(request)
                return _page(
                    request,
                    "submitted.html",
                    lang,
                    title=t(lang, "Your message has been received"),
                    complaint=None,
                    processing=False,
                    refresh=None,
                    changed=False,
                )
            return _not_found(request, page_language(request))
        complaint = (
            await session.get(Complaint, message.complaint_id)
            if message.complaint_id is not None
            else None
        )
    lang = page_language(request, message.language)
    changed = request.query.get("changed") == "1"
    if complaint is None:
        processing = message.processed_at is None
        return _page(
            request,
            "submitted.html",
            lang,
            title=t(lang, "Your complaint is being processed")
            if processing
            else t(lang, "Your message has been received"),
            complaint=None,
            processing=processing,
            refresh=REFRESH_SECONDS if processing else None,
            changed=changed,
        )
    show_details = utcnow() - message.created_at <= SUMMARY_WINDOW
    email_on = ChannelName.EMAIL.value in runtime.channels
    track_url = (
        request.app.router["track"]
        .url_for()
        .with_query({"number": complaint.tracking_number, "lang": lang})
    )
    rejection = rejection_reason(profile, complaint)
    common: dict[str, Any] = {
        "complaint": complaint,
        "processing": False,
        "refresh": None,
        "changed": changed,
        "tracking": complaint.tracking_number,
        "received": local_datetime(complaint.received_at, profile.office.timezone, lang),
        "rows": _recorded(profile, complaint, message, lang) if show_details else [],
        "show_details": show_details,
        "rejection": rejection,
        "track_url": str(track_url),
    }
    if rejection is not None:
        return _page(
            request,
            "submitted.html",
            lang,
            title=t(lang, "Complaint not accepted: {tracking}", tracking=complaint.tracking_number),
            notified=complaint_route(complaint, runtime.channels.keys()) is not None,
            **common,
        )
    return _page(
        request,
        "submitted.html",
        lang,
        title=t(lang, "Complaint received: {tracking}", tracking=complaint.tracking_number),
        follow_up=profile.follow_up_standard.describe(lang),
        email_note=email_on and "@" in message.sender,
        **common,
    )


@dataclass(frozen=True, slots=True)
class TrackResult:
    """What the tracking page shows for a matching complaint."""

    tracking: str
    status: str
    explanation: str | None
    received: str
    updated: str
    next_expected: str | None = None
    #: Where an appeal stands, and when its current step is due (PR-LS-8.1.4).
    appeal: str | None = None
    appeal_expected: str | None = None


def example_tracking_number(profile: Profile) -> str:
    """A made-up tracking number of this year for hints, e.g. ``ADU-2026-00042``."""
    year = utcnow().astimezone(ZoneInfo(profile.office.timezone)).year
    return f"{profile.tracking_prefix}-{year}-00042"


def normalise_tracking(value: str) -> str:
    """Upper-case and strip spaces: `` adu-2026-00042 `` → ``ADU-2026-00042``."""
    return re.sub(r"\s+", "", value).upper()


def normalise_contact(value: str) -> str:
    """An email (has ``@``) or phone as typed, normalised; raises :class:`AddressError`."""
    value = value.strip()
    if "@" in value:
        return normalise_email(value)
    return normalise_phone(value)


#: Stands in for a complaint that does not exist, so that an unknown number
#: costs the same queries as a known one (no id is ever below 1).
_NO_ID = 0


def _same(a: str, b: str) -> bool:
    """Constant-time equality of two addresses."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


async def find_complaint(runtime: Runtime, tracking: str, address: str) -> Complaint | None:
    """The complaint ``tracking`` when ``address`` (normalised) belongs to its complainant.

    The address matches when it is one of the complaint contact's addresses
    (email or phone), the complaint's own contact address, or the other
    address given on the web form that filed it. Returns ``None`` both for an
    unknown number and for a wrong contact, so callers cannot tell them apart,
    and does the same work for both: the same three queries in the same order
    (against a non-existent id for an unknown number) and constant-time
    comparisons, so the answer's timing does not tell either.
    """
    async with runtime.sessions() as session:
        complaint = await session.scalar(
            select(Complaint).where(Complaint.tracking_number == tracking)
        )
        complaint_id = complaint.id if complaint is not None else _NO_ID
        contact_id = complaint.contact_id if complaint is not None else _NO_ID
        owned = await session.scalar(
            select(ContactAddress.id)
            .where(
                ContactAddress.contact_id == contact_id,
                ContactAddress.kind.in_(("email", "phone")),
                ContactAddress.address == address,
            )
            .limit(1)
        )
        raws = list(
            await session.scalars(
                select(Message.raw).where(
                    Message.complaint_id == complaint_id,
                    Message.channel == ChannelName.WEB.value,
                    Message.direction == "in",
                )
            )
        )
    matched = _same(complaint.contact_address if complaint is not None else "", address)
    matched = (owned is not None) | matched
    for raw in raws:
        for given in _form_contacts(raw):
            matched = _same(given, address) | matched
    return complaint if complaint is not None and matched else None


async def _track_result(runtime: Runtime, complaint: Complaint, lang: str) -> TrackResult:
    zone = runtime.profile.office.timezone
    async with runtime.sessions() as session:
        last_event = await session.scalar(
            select(func.max(ComplaintEvent.at)).where(ComplaintEvent.complaint_id == complaint.id)
        )
        progress = await appeal_progress(session, profile=runtime.profile, complaint=complaint)
    updated = max(d for d in (complaint.updated_at, last_event) if d is not None)
    try:
        status = ComplaintStatus(complaint.status)
    except ValueError:
        name = complaint.status
        explanation = None
    else:
        name = t(lang, STATUS_NAMES.get(status, complaint.status))
        text = STATUS_EXPLANATIONS.get(status)
        explanation = t(lang, text) if text else None
    workflow = runtime.profile.workflow
    if workflow is not None and complaint.status in workflow.states:
        # The office's own name for its step (its SOP profile).
        name = workflow.states[complaint.status].label.get(lang)
    return TrackResult(
        tracking=complaint.tracking_number,
        status=name,
        explanation=explanation,
        received=local_datetime(complaint.received_at, zone, lang),
        updated=local_datetime(updated, zone, lang),
        next_expected=(
            local_datetime(complaint.step_due_at, zone, lang)
            if complaint.step_due_at is not None
            and not (
                workflow is not None
                and complaint.status in workflow.states
                and workflow.states[complaint.status].final
            )
            else None
        ),
        appeal=describe_progress(progress, lang) if progress is not None else None,
        appeal_expected=(
            local_datetime(progress.due_at, zone, lang)
            if progress is not None and progress.due_at is not None
            else None
        ),
    )


def _render_track(
    request: web.Request,
    lang: str,
    *,
    number: str,
    contact: str,
    errors: Mapping[str, str],
    status: int = 200,
    result: TrackResult | None = None,
    not_found: bool = False,
) -> web.Response:
    example = example_tracking_number(get_runtime(request).profile)
    number_field = FieldView(
        name="number",
        label=t(lang, "Tracking number"),
        hint=t(
            lang, "As shown when you filed the complaint, for example {example}.", example=example
        ),
        value=number,
        error=errors.get("number"),
        required=True,
        autocomplete="off",
        verbatim=True,
    )
    contact_field = FieldView(
        name="contact",
        label=t(lang, "Email address or phone number"),
        hint=t(lang, "The one you gave when you filed the complaint."),
        value=contact,
        error=errors.get("contact"),
        required=True,
        autocomplete="off",
        verbatim=True,
    )
    summary = [SummaryError(name, message) for name, message in errors.items()]
    title = t(lang, "Track your complaint")
    if summary:
        title = t(lang, "Error: {title}", title=title)
    return _page(
        request,
        "track.html",
        lang,
        status=status,
        nav="track",
        title=title,
        fields=[number_field, contact_field],
        summary=summary,
        result=result,
        not_found=not_found,
        lang_field=LANGUAGE_FIELD,
    )


async def track_page(request: web.Request) -> web.Response:
    """``GET /track``: the tracking form (``?number=`` fills in the number)."""
    lang = page_language(request)
    number = clean_input(request.query.get("number", ""))[:60]
    return _render_track(request, lang, number=number, contact="", errors={})


async def track(request: web.Request) -> web.Response:
    """``POST /track``: look a complaint up by number and contact.

    Field format errors (not a tracking number, not an email or phone) get 422
    with the form; a well-formed query counts against the client address's
    lookup limit (429 with ``Retry-After`` beyond it); one that matches
    nothing, or matches a complaint filed from another contact, gets the same
    "not found" text through the same code path (:func:`find_complaint`).
    """
    runtime = get_runtime(request)
    try:
        form = await read_form(request, TRACK_BODY_LIMIT)
    except FormRejected as exc:
        return _rejected(request, page_language(request), exc)
    lang = normalise_language(form.get(LANGUAGE_FIELD) or request.query.get("lang"))
    number = clean_input(form.get("number", "")).strip()
    contact = clean_input(form.get("contact", "")).strip()
    errors: dict[str, str] = {}
    tracking = normalise_tracking(number)
    prefix = runtime.profile.tracking_prefix
    if not tracking_pattern(prefix).fullmatch(tracking):
        errors["number"] = t(
            lang,
            "Enter the tracking number as it was given to you, for example {example}.",
            example=example_tracking_number(runtime.profile),
        )
    address: str | None = None
    if not contact:
        errors["contact"] = t(
            lang, "Enter the email address or phone number you used to file the complaint."
        )
    elif len(contact) > TRACK_CONTACT_MAX:
        errors["contact"] = t(lang, "Enter an email address or a phone number.")
    else:
        try:
            address = normalise_contact(contact)
        except AddressError:
            errors["contact"] = t(lang, "Enter an email address or a phone number.")
    if errors or address is None:
        return _render_track(
            request, lang, number=number, contact=contact, errors=errors, status=422
        )
    guard = public_guard(request, runtime.settings)
    verdict = await guard.count(
        runtime.sessions, guards.TRACK_KIND, client_address(request), guard.track_limits
    )
    if not verdict.allowed:
        log.info("tracking: lookup over the per-address limit refused")
        return _too_many(request, lang, verdict, TRACK_LIMIT_TEXT)
    complaint = await find_complaint(runtime, tracking, address)
    if complaint is None:
        return _render_track(
            request, lang, number=number, contact=contact, errors={}, not_found=True
        )
    result = await _track_result(runtime, complaint, lang)
    return _render_track(request, lang, number=number, contact=contact, errors={}, result=result)


def add_routes(app: web.Application) -> None:
    """Register the public pages and ``/static/`` on ``app`` (see the module docstring)."""
    guards.install(app)
    app.router.add_get("/", form_page, name="form")
    app.router.add_post("/", submit)
    app.router.add_get("/submitted/{token}", submitted_page, name="submitted")
    app.router.add_get("/track", track_page, name="track")
    app.router.add_post("/track", track)
    app.router.add_static(STATIC_PREFIX, STATIC_DIR, name="static", append_version=False)
