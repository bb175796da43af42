"""``GET /`` and ``POST /``: the complaint form (see :mod:`gateway.web.public`).

The form's fields, validation and parsing are :mod:`gateway.web.form`; its
signed token :mod:`gateway.web.token`; the per-address limit
:mod:`gateway.web.guard` (docs/web-form.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from channels.base import ChannelName
from gateway.app_runtime import get_runtime
from gateway.channel_addresses import channel_addresses
from gateway.queries import submission
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
)
from gateway.web.guard import client_address, public_guard
from gateway.web.pages import (
    NO_STORE,
    PRIVATE_NO_CACHE,
    FormRejected,
    SummaryError,
    contact_field_view,
    intake_field_view,
    page_language,
    read_form,
    rejected,
    render_page,
    too_many,
)
from gateway.web.token import TokenCheck, TokenState
from handlers import channel_policy
from handlers.i18n import N_, t
from handlers.profile import Profile
from handlers.registration import follow_up_promise
from storage import limits
from storage.types import utcnow

log = logging.getLogger(__name__)


#: What a client over a limit reads (``{minutes}``: when to try again).
FORM_LIMIT_TEXT = N_(
    "Too many complaints have been sent from your connection. Nothing was saved. "
    "Please try again in {minutes} minutes, or contact the office directly."
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

#: How long ``POST /`` waits for processing done by another task or process
#: before redirecting anyway (the confirmation page then refreshes itself).
PROCESS_WAIT_SECONDS = 3.0


def form_body_limit(profile: Profile) -> int:
    """Largest ``POST /`` body in bytes: room for every field at its maximum length.

    A character may take 9 bytes once UTF-8 encoded and percent-escaped
    (``%E2%80%99``); 16 KiB cover names, the contact group and the token.
    """
    return 16 * 1024 + 9 * sum(f.max_length for f in profile.intake.fields)


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
        intake_field_view(f, lang, typed.get(f.key, ""), errors.get(f.key))
        for f in profile.intake.fields
    ]
    group_error = errors.get(CONTACT_GROUP)
    email = contact_field_view(EMAIL_FIELD, t(lang, "Email address"), "email", typed, errors)
    phone_label = t(lang, "Phone or WhatsApp number")
    phone = contact_field_view(PHONE_FIELD, phone_label, "tel", typed, errors)
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
    return render_page(
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
        follow_up=follow_up_promise(profile, lang),
        follow_up_note=profile.follow_up.note.get(lang) if profile.follow_up.note else None,
    )


async def _wait_processed(runtime: Runtime, message_id: int, wait_seconds: float) -> None:
    """Wait until the message has been processed (here or elsewhere), at most
    ``wait_seconds`` in all: one read of its state, then a wait on the processor's
    announcement (:class:`gateway.processed.ProcessedSignal`), registered
    before the read so none is missed. Raises ``SQLAlchemyError`` when the
    read fails."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    async with runtime.processed.watch(message_id, subscribe_seconds=wait_seconds) as watch:
        async with runtime.sessions() as session:
            if await submission.is_processed(session, message_id):
                return
        await watch.wait(max(0.0, deadline - loop.time()))


# ------------------------------------------------------------------- routes


def form_closed(
    request: web.Request, runtime: Runtime, lang: str, *, refused: bool
) -> web.Response:
    """The page of a profile without the ``web`` channel: the channels the office
    takes complaints by (:func:`handlers.channel_policy.channels_text`); 403
    for a refused submission, 200 for the page itself."""
    profile = runtime.profile
    return render_page(
        request,
        "form_closed.html",
        lang,
        status=403 if refused else 200,
        nav="form",
        cache=NO_STORE,
        title=t(lang, "Complaints are not taken on this form"),
        office=profile.office.name.get(lang),
        channels=channel_policy.channels_text(profile, lang, channel_addresses(runtime.settings)),
        refused=refused,
    )


async def form_page(request: web.Request) -> web.Response:
    """``GET /``: the empty form with a freshly issued, signed form token."""
    runtime = get_runtime(request)
    lang = page_language(request)
    if not channel_policy.accepts(runtime.profile, ChannelName.WEB.value):
        return form_closed(request, runtime, lang, refused=False)
    tokens = public_guard(request, runtime.settings).tokens
    return _render_form(
        request, runtime.profile, lang, token=tokens.issue(), typed={}, errors={}, status=200
    )


async def _stored_message(runtime: Runtime, external_id: str) -> int | None:
    """The id of the web-form message stored under ``external_id``, or ``None``."""
    async with runtime.sessions() as session:
        return await submission.web_message_id(session, external_id)


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
    if not channel_policy.accepts(profile, ChannelName.WEB.value):
        # The SOP does not list the web form: nothing is stored (no message
        # was sent to anybody); the page names the channels the office uses.
        return form_closed(request, runtime, page_language(request), refused=True)
    try:
        form = await read_form(request, form_body_limit(profile))
    except FormRejected as exc:
        return rejected(request, page_language(request), exc)
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
        return too_many(request, lang, verdict, FORM_LIMIT_TEXT)
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
    try:
        await _wait_processed(runtime, stored.message_id, PROCESS_WAIT_SECONDS)
    except SQLAlchemyError:
        log.exception("web form: reading message %s failed", stored.message_id)
    changed = stored.duplicate and await _differs(runtime, stored.message_id, message.raw)
    raise _submitted_location(request, nonce, lang, changed=changed)


async def _differs(runtime: Runtime, message_id: int, raw: Mapping[str, Any]) -> bool:
    """True when the stored first copy of a resubmitted form had other content."""
    async with runtime.sessions() as session:
        stored = await submission.stored_raw(session, message_id)
    ignore = {LANGUAGE_FIELD}
    return {k: v for k, v in stored.items() if k not in ignore} != {
        k: v for k, v in raw.items() if k not in ignore
    }
