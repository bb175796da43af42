"""Manual intake pages, ``GET``/``POST /inbox/intake`` (README.md, "Staff inbox").

Staff record a complaint received by telephone, in person, by letter or from
the suggestion box: the SOP profile's intake fields (labels, hints, kinds and
validation of the public web form; date fields as ``<input type="date">``),
the source, the day received (today by default, office time zone) and the
complainant's email and/or phone (:mod:`handlers.manual_intake` holds the
rules). The signed-in staff member is the receiving officer.

``GET`` shows the empty form with a fresh submission token. ``POST``: a role
that may not record complaints gets 403 and nothing is stored (the session
middleware already refused a missing CSRF token); errors give 422 with the
form again — an error summary at the top, a message by each control,
everything typed kept; a valid form registers the complaint in one unit of
work (:meth:`gateway.runtime.Runtime.work`: committed, then the
acknowledgement is sent) and redirects (303) to
``/inbox/complaints/{tracking number}``. Sending the same form twice (double
click, back button) registers it once and leads to the same complaint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from gateway.app_runtime import get_runtime
from gateway.inbox.auth import LANG_KEY, current, forbidden
from gateway.inbox.render import staff_page
from gateway.web.pages import contact_field_view, intake_field_view
from gateway.web.public import SummaryError
from handlers.dates import office_today
from handlers.i18n import t
from handlers.manual_intake import (
    EMAIL_FIELD,
    LANGUAGE_FIELD,
    PHONE_FIELD,
    RECEIVED_ON_FIELD,
    SOURCE_FIELD,
    TOKEN_FIELD,
    AlreadyRegistered,
    Problem,
    Source,
    check_form,
    manual_intake_enabled,
    may_register,
    register_manual,
)
from handlers.profile import Profile
from handlers.registration import follow_up_promise
from handlers.validation import new_token

PATH = "/inbox/intake"


def source_label(lang: str, source: Source) -> str:
    """The SOP's name of an intake source in ``lang`` (``Telepon``, ``Surat`` …)."""
    if source is Source.PHONE:
        return t(lang, "Telephone")
    if source is Source.IN_PERSON:
        return t(lang, "In person")
    if source is Source.LETTER:
        return t(lang, "Letter")
    return t(lang, "Suggestion box")


def problem_text(lang: str, problem: Problem) -> str:
    """What to tell staff about a :class:`handlers.manual_intake.Problem`, in ``lang``."""
    if problem is Problem.SOURCE:
        return t(lang, "Choose how the complaint was received.")
    if problem is Problem.RECEIVED_ON_MISSING:
        return t(lang, "Enter the date the complaint was received.")
    if problem is Problem.RECEIVED_ON_INVALID:
        return t(lang, "Enter the date received as a date, for example 12 November 2026.")
    if problem is Problem.RECEIVED_ON_FUTURE:
        return t(lang, "The date received cannot be in the future.")
    if problem is Problem.CONTACT_MISSING:
        return t(
            lang,
            "Give the complainant's email address or phone number; only a complaint from the suggestion box may be anonymous.",
        )
    if problem is Problem.EMAIL_INVALID:
        return t(lang, "Enter an email address such as name@example.com.")
    if problem is Problem.PHONE_INVALID:
        return t(lang, "Enter a phone number such as 0812 3456 7890.")
    return t(lang, "This form was incomplete or too old. Check your answers and send it again.")


def _form(
    request: web.Request,
    profile: Profile,
    *,
    typed: Mapping[str, str],
    field_errors: Mapping[str, str],
    problems: Mapping[str, Problem],
    status: int,
) -> web.Response:
    lang = request[LANG_KEY]
    errors = {name: problem_text(lang, p) for name, p in problems.items()}
    summary: list[SummaryError] = []
    for name in (SOURCE_FIELD, RECEIVED_ON_FIELD):
        if name in errors:
            summary.append(SummaryError(name, errors[name]))
    for f in profile.intake.fields:
        if f.key in field_errors:
            summary.append(SummaryError(f.key, field_errors[f.key]))
    for name in (EMAIL_FIELD, PHONE_FIELD):
        if name in errors:
            summary.append(SummaryError(name, errors[name]))
    if TOKEN_FIELD in errors:
        summary.append(SummaryError("", errors[TOKEN_FIELD]))
    title = t(lang, "Record a complaint")
    return staff_page(
        request,
        "intake.html",
        title=t(lang, "Error: {title}", title=title) if summary else title,
        nav="intake",
        status=status,
        summary=summary,
        sources=[(s.value, source_label(lang, s)) for s in Source],
        source=typed.get(SOURCE_FIELD, ""),
        source_field=SOURCE_FIELD,
        source_error=errors.get(SOURCE_FIELD),
        received_on_field=RECEIVED_ON_FIELD,
        received_on=typed.get(RECEIVED_ON_FIELD, ""),
        received_on_error=errors.get(RECEIVED_ON_FIELD),
        today=office_today(profile.office.timezone).isoformat(),
        fields=[
            intake_field_view(
                f, lang, typed.get(f.key, ""), field_errors.get(f.key), autofill=False
            )
            for f in profile.intake.fields
        ],
        email=contact_field_view(
            EMAIL_FIELD,
            t(lang, "Email address"),
            "email",
            typed,
            # A missing contact is the group's error, not the email box's.
            errors if problems.get(EMAIL_FIELD) is Problem.EMAIL_INVALID else {},
            autofill=False,
        ),
        phone=contact_field_view(
            PHONE_FIELD,
            t(lang, "Phone or WhatsApp number"),
            "tel",
            typed,
            errors,
            autofill=False,
        ),
        group_error=errors.get(EMAIL_FIELD)
        if problems.get(EMAIL_FIELD) is Problem.CONTACT_MISSING
        else None,
        language_field=LANGUAGE_FIELD,
        language=typed.get(LANGUAGE_FIELD, "id"),
        token_field=TOKEN_FIELD,
        token=typed.get(TOKEN_FIELD) or new_token(),
        follow_up=follow_up_promise(profile, lang),
    )


def _refusal(request: web.Request) -> web.Response | None:
    """403 for a role that may not record complaints; 404 when the profile has no manual channel."""
    profile = get_runtime(request).profile
    if not manual_intake_enabled(profile):
        raise web.HTTPNotFound()
    if not may_register(profile, current(request).user.role):
        return forbidden(request, "role")
    return None


async def intake_page(request: web.Request) -> web.Response:
    """``GET /inbox/intake``: the empty form (date received: today, a fresh token)."""
    refused = _refusal(request)
    if refused is not None:
        return refused
    profile = get_runtime(request).profile
    typed = {
        RECEIVED_ON_FIELD: office_today(profile.office.timezone).isoformat(),
        TOKEN_FIELD: new_token(),
    }
    return _form(request, profile, typed=typed, field_errors={}, problems={}, status=200)


def _strings(form: Mapping[str, Any]) -> dict[str, str]:
    """The first string value of each input (files and repeated names ignored)."""
    found: dict[str, str] = {}
    for name, value in form.items():
        if isinstance(value, str):
            found.setdefault(name, value)
    return found


async def intake(request: web.Request) -> web.StreamResponse:
    """``POST /inbox/intake``: check, then register and redirect (see the module docstring)."""
    refused = _refusal(request)
    if refused is not None:
        return refused
    runtime = get_runtime(request)
    profile = runtime.profile
    lang = request[LANG_KEY]
    checked = check_form(_strings(await request.post()), profile, language=lang)
    if checked.complaint is None:
        typed = dict(checked.typed)
        if TOKEN_FIELD in checked.problems:
            typed[TOKEN_FIELD] = new_token()
        return _form(
            request,
            profile,
            typed=typed,
            field_errors=checked.field_errors,
            problems=checked.problems,
            status=422,
        )
    try:
        async with runtime.work() as session:
            result = await register_manual(
                session,
                profile=profile,
                writer=runtime.writer,
                enabled_channels=list(runtime.channels),
                complaint=checked.complaint,
                staff_username=current(request).user.username,
            )
        tracking = result.complaint.tracking_number
    except AlreadyRegistered as exc:
        tracking = exc.tracking_number
    raise web.HTTPSeeOther(f"/inbox/complaints/{tracking}")


def add_routes(app: web.Application) -> None:
    """Register the manual intake page."""
    app.router.add_get(PATH, intake_page)
    app.router.add_post(PATH, intake)
