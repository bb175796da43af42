"""``GET /track`` and ``POST /track``: a complaint's status (see :mod:`gateway.web.public`).

Shown only with the email or phone used to file it; an unknown number and a
known number with another contact get the same answer through the same code
(docs/web-form.md, "/track"). Lookups are counted per client address.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiohttp import web

from channels.addresses import AddressError, normalise_email, normalise_phone
from gateway.app_runtime import get_runtime
from gateway.queries import tracking as tracking_query
from gateway.queries.tracking import TrackView
from gateway.web import guard as guards
from gateway.web.form import (
    LANGUAGE_FIELD,
    clean_input,
)
from gateway.web.guard import client_address, public_guard
from gateway.web.pages import (
    FieldView,
    FormRejected,
    SummaryError,
    local_datetime,
    page_language,
    read_form,
    rejected,
    render_page,
    too_many,
)
from handlers.appeals import describe_progress
from handlers.i18n import N_, normalise_language, t
from handlers.intake.commands import tracking_pattern
from handlers.profile import Profile
from storage.models import ComplaintStatus
from storage.types import utcnow

log = logging.getLogger(__name__)


TRACK_LIMIT_TEXT = N_(
    "Too many tracking requests have been sent from your connection. "
    "Please try again in {minutes} minutes."
)

#: Largest ``POST /track`` body, in bytes.
TRACK_BODY_LIMIT = 4 * 1024

#: Longest tracking-form contact input, in characters.
TRACK_CONTACT_MAX = 320

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


def _track_result(profile: Profile, view: TrackView, lang: str) -> TrackResult:
    """The tracking page's texts for ``view`` in ``lang``."""
    zone = profile.office.timezone
    try:
        text = STATUS_EXPLANATIONS.get(ComplaintStatus(view.status))
    except ValueError:
        text = None
    progress = view.appeal
    return TrackResult(
        tracking=view.tracking,
        status=profile.status_label(view.status, lang),
        explanation=t(lang, text) if text else None,
        received=local_datetime(view.received_at, zone, lang),
        updated=local_datetime(view.updated_at, zone, lang),
        next_expected=(
            local_datetime(view.next_expected_at, zone, lang)
            if view.next_expected_at is not None
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
    return render_page(
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
    "not found" text through the same code path
    (:func:`gateway.queries.tracking.find_complaint`).
    """
    runtime = get_runtime(request)
    try:
        form = await read_form(request, TRACK_BODY_LIMIT)
    except FormRejected as exc:
        return rejected(request, page_language(request), exc)
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
        return too_many(request, lang, verdict, TRACK_LIMIT_TEXT)
    view = await tracking_query.track(runtime.sessions, runtime.profile, tracking, address)
    if view is None:
        return _render_track(
            request, lang, number=number, contact=contact, errors={}, not_found=True
        )
    result = _track_result(runtime.profile, view, lang)
    return _render_track(request, lang, number=number, contact=contact, errors={}, result=result)
