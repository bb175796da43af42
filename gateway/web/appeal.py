"""``GET /banding`` and ``POST /banding``: the public appeal form (BSPJI Pontianak PR-LS-8.1.4 step 1).

Only for a profile whose ``appeal.standalone`` is on (404 otherwise): an
appeal against a decision of the office not tied to a complaint, "diajukan
oleh klien atau pemohon ... dalam bentuk tertulis". The form asks for the
appellant's name, an email address and/or a phone number, the decision
contested (what was decided, by whom and when) and the reason. It carries
the same signed, single-use form token as the complaint form and counts
against the same per-address limit (:mod:`gateway.web.guard`); a token used
before gets a "already received" page and nothing is stored twice.

A valid appeal is recorded in one transaction with the token's nonce
(:func:`handlers.standalone_appeals.open_standalone_appeal`), acknowledged
with its reference by email or SMS/WhatsApp through the outbox after the
commit, and the page shows the reference.
"""

from __future__ import annotations

import logging

from aiohttp import web

from channels.addresses import AddressError, normalise_email, normalise_phone
from channels.base import ChannelName
from gateway.app_runtime import get_runtime
from gateway.web import guard as guards
from gateway.web.form import LANGUAGE_FIELD, TOKEN_FIELD, clean_input
from gateway.web.guard import client_address, public_guard
from gateway.web.pages import (
    FieldView,
    FormRejected,
    SummaryError,
    contact_field_view,
    not_found,
    page_language,
    read_form,
    rejected,
    render_page,
    too_many,
)
from gateway.web.submit import FORM_LIMIT_TEXT
from handlers.appeals import AppealRefused
from handlers.i18n import normalise_language, t
from handlers.manual_intake import find_or_create_contact
from handlers.standalone_appeals import check_appeal_text, open_standalone_appeal
from storage import limits
from storage.types import utcnow

log = logging.getLogger(__name__)

#: Largest ``POST /banding`` body, in bytes.
APPEAL_BODY_LIMIT = 32 * 1024
#: The form's own inputs.
NAME, EMAIL, PHONE, DECISION, REASON = (
    "appellant_name",
    "contact_email",
    "contact_phone",
    "contested_decision",
    "reason",
)


def _allowed(request: web.Request) -> bool:
    spec = get_runtime(request).profile.appeal
    return spec is not None and spec.standalone


def _fields(lang: str, typed: dict[str, str], errors: dict[str, str]) -> list[FieldView]:
    return [
        FieldView(
            NAME,
            t(lang, "Your full name"),
            None,
            typed.get(NAME, ""),
            errors.get(NAME),
            True,
            autocomplete="name",
        ),
        contact_field_view(
            EMAIL,
            t(lang, "Email address"),
            "email",
            typed,
            errors,
            hint=t(lang, "Give an email address or a phone number (or both) for our answer."),
            inputmode=False,
        ),
        contact_field_view(PHONE, t(lang, "Phone number"), "tel", typed, errors),
        FieldView(
            DECISION,
            t(lang, "The decision you contest"),
            t(
                lang,
                "What was decided, by whom and when (for example the test report or certificate number).",
            ),
            typed.get(DECISION, ""),
            errors.get(DECISION),
            True,
            multiline=True,
        ),
        FieldView(
            REASON,
            t(lang, "Reason for your appeal"),
            None,
            typed.get(REASON, ""),
            errors.get(REASON),
            True,
            multiline=True,
        ),
    ]


def _render(
    request: web.Request,
    lang: str,
    *,
    token: str,
    typed: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> web.Response:
    title = t(lang, "Appeal a decision")
    if errors:
        title = t(lang, "Error: {title}", title=title)
    return render_page(
        request,
        "appeal.html",
        lang,
        status=status,
        nav="appeal",
        title=title,
        fields=_fields(lang, typed, errors),
        summary=[SummaryError(name, message) for name, message in errors.items()],
        token=token,
        token_field=TOKEN_FIELD,
        lang_field=LANGUAGE_FIELD,
        reference=None,
    )


async def appeal_page(request: web.Request) -> web.Response:
    """``GET /banding``: the empty appeal form (404 without standalone appeals)."""
    lang = page_language(request)
    if not _allowed(request):
        return not_found(request, lang)
    runtime = get_runtime(request)
    guard = public_guard(request, runtime.settings)
    return _render(request, lang, token=guard.tokens.issue(), typed={}, errors={})


def _check(lang: str, typed: dict[str, str]) -> tuple[dict[str, str], str | None, str | None]:
    """Field errors (by input name) and the normalised email and phone."""
    errors: dict[str, str] = {}
    problems = check_appeal_text(
        appellant_name=typed.get(NAME, ""),
        contested_decision=typed.get(DECISION, ""),
        reason=typed.get(REASON, ""),
    )
    texts = {
        NAME: t(lang, "Enter your full name (at least 2 letters)."),
        DECISION: t(lang, "Describe the decision you contest (at least 5 characters)."),
        REASON: t(lang, "Give the reason for your appeal (at least 5 characters)."),
    }
    for key in problems:
        errors[key] = texts[key]
    email = phone = None
    if typed.get(EMAIL):
        try:
            email = normalise_email(typed[EMAIL])
        except AddressError:
            errors[EMAIL] = t(lang, "Enter an email address such as name@example.com.")
    if typed.get(PHONE):
        try:
            phone = normalise_phone(typed[PHONE])
        except AddressError:
            errors[PHONE] = t(lang, "Enter a phone number such as 0812 3456 7890.")
    if not typed.get(EMAIL) and not typed.get(PHONE):
        errors[EMAIL] = t(lang, "Give an email address or a phone number so we can answer you.")
    return errors, email, phone


async def appeal_submit(request: web.Request) -> web.Response:
    """``POST /banding``: check, record and acknowledge a standalone appeal.

    422 with the form again (everything typed kept) for field errors or an
    invalid token; 429 over the per-address limit; otherwise the appeal is
    committed with the token's nonce and the page shows its reference. A
    token already used shows "already received" and stores nothing.
    """
    lang = page_language(request)
    if not _allowed(request):
        return not_found(request, lang)
    runtime = get_runtime(request)
    try:
        form = await read_form(request, APPEAL_BODY_LIMIT)
    except FormRejected as exc:
        return rejected(request, lang, exc)
    lang = normalise_language(form.get(LANGUAGE_FIELD) or request.query.get("lang"))
    typed = {key: clean_input(form.get(key, "")).strip() for key in (NAME, EMAIL, PHONE)}
    typed |= {key: clean_input(form.get(key, "")).strip() for key in (DECISION, REASON)}
    guard = public_guard(request, runtime.settings)
    check = guard.tokens.check(form.get(TOKEN_FIELD))
    nonce = check.nonce
    if not check.ok or nonce is None:
        errors = {"form": t(lang, "The form expired. Please check your answers and send it again.")}
        return _render(
            request, lang, token=guard.tokens.issue(), typed=typed, errors=errors, status=422
        )
    async with runtime.sessions() as session:
        if await limits.used_nonce(session, nonce) is not None:
            return _done(request, lang, reference=None)
    errors, email, phone = _check(lang, typed)
    if errors:
        return _render(
            request, lang, token=form.get(TOKEN_FIELD, ""), typed=typed, errors=errors, status=422
        )
    verdict = await guard.count(
        runtime.sessions, guards.FORM_KIND, client_address(request), guard.form_limits
    )
    if not verdict.allowed:
        log.info("appeal form: submission over the per-address limit refused")
        return too_many(request, lang, verdict, FORM_LIMIT_TEXT)
    enabled = runtime.channels.keys()
    address = email if email and ChannelName.EMAIL.value in enabled else (phone or email)
    expires = (check.issued_at or utcnow()) + guard.tokens.max_age
    try:
        async with runtime.work() as session:
            if await limits.used_nonce(session, nonce) is not None:
                return _done(request, lang, reference=None)
            await limits.use_nonce(session, nonce, limits.NONCE_SUBMITTED, expires)
            contact_id = await find_or_create_contact(
                session, email=email, phone=phone, display_name=typed[NAME]
            )
            appeal = await open_standalone_appeal(
                session,
                profile=runtime.profile,
                writer=runtime.writer,
                contact_id=contact_id,
                channel=ChannelName.WEB.value,
                address=address,
                language=lang,
                appellant_name=typed[NAME],
                contested_decision=typed[DECISION],
                reason=typed[REASON],
                opened_by="complainant:web",
                enabled_channels=enabled,
            )
            reference = appeal.reference
    except AppealRefused as exc:  # checked above; a profile change in between
        log.warning("appeal form: refused after checks: %s", exc)
        return not_found(request, lang)
    return _done(request, lang, reference=reference)


def _done(request: web.Request, lang: str, *, reference: str | None) -> web.Response:
    """The page after sending: the reference, or "already received" for a re-sent form."""
    return render_page(
        request,
        "appeal.html",
        lang,
        nav="appeal",
        title=t(lang, "Appeal received"),
        fields=[],
        summary=[],
        token="",
        token_field=TOKEN_FIELD,
        lang_field=LANGUAGE_FIELD,
        reference=reference or "",
    )


def add_appeal_routes(app: web.Application) -> None:
    """Register ``GET``/``POST /banding`` (the pages answer 404 without standalone appeals)."""
    app.router.add_get("/banding", appeal_page, name="appeal")
    app.router.add_post("/banding", appeal_submit)
