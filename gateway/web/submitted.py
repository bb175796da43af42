"""``GET /submitted/{id}``: the confirmation page (see :mod:`gateway.web.public`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web

from channels.base import ChannelName
from gateway.app_runtime import get_runtime
from gateway.queries.submission import (
    HoneypotSubmission,
    Submission,
    SubmittedComplaint,
    find_submission,
)
from gateway.web.form import (
    is_token,
)
from gateway.web.pages import local_datetime, not_found, page_language, render_page
from handlers.i18n import t
from handlers.profile import FieldKind, Profile
from handlers.registration import follow_up_due_text, follow_up_promise
from handlers.validation import display_value
from storage.types import utcnow

log = logging.getLogger(__name__)


#: Seconds the confirmation page waits before reloading while the complaint is
#: being registered (issue text: "being processed" with a 2 s refresh).
REFRESH_SECONDS = 2

#: The confirmation page shows the recorded details for this long after
#: submission; afterwards only the tracking number (the URL stays in browser
#: histories on shared phones and internet cafés; UU 27/2022 data minimisation).
SUMMARY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One recorded value on the confirmation page."""

    label: str
    value: str
    multiline: bool = False


def _recorded(
    profile: Profile, complaint: SubmittedComplaint, submission: Submission, lang: str
) -> list[SummaryRow]:
    values = complaint.values
    rows = [
        SummaryRow(
            f.label.get(lang),
            display_value(f, values[f.key], lang),
            f.kind is FieldKind.LONGTEXT,
        )
        for f in profile.intake.fields
        if values.get(f.key)
    ]
    contact = list(submission.contacts) or [complaint.contact_address]
    rows.append(SummaryRow(t(lang, "Contact"), ", ".join(contact)))
    return rows


async def submitted_page(request: web.Request) -> web.Response:
    """``GET /submitted/{token}``: the tracking number, or "being processed"."""
    runtime = get_runtime(request)
    profile = runtime.profile
    token = request.match_info["token"]
    if not is_token(token):
        return not_found(request, page_language(request))
    async with runtime.sessions() as session:
        submission = await find_submission(
            session, token, profile=profile, enabled=runtime.channels.keys()
        )
    if isinstance(submission, HoneypotSubmission):
        # What a stored form without a complaint shows; nothing was kept.
        lang = page_language(request)
        return render_page(
            request,
            "submitted.html",
            lang,
            title=t(lang, "Your message has been received"),
            complaint=None,
            processing=False,
            refresh=None,
            changed=False,
        )
    if submission is None:
        return not_found(request, page_language(request))
    complaint = submission.complaint
    lang = page_language(request, submission.language)
    changed = request.query.get("changed") == "1"
    if complaint is None:
        processing = not submission.processed
        return render_page(
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
    show_details = utcnow() - submission.created_at <= SUMMARY_WINDOW
    email_on = ChannelName.EMAIL.value in runtime.channels
    track_url = (
        request.app.router["track"]
        .url_for()
        .with_query({"number": complaint.tracking_number, "lang": lang})
    )
    rejection = complaint.rejection
    common: dict[str, Any] = {
        "complaint": complaint,
        "processing": False,
        "refresh": None,
        "changed": changed,
        "tracking": complaint.tracking_number,
        "received": local_datetime(complaint.received_at, profile.office.timezone, lang),
        "rows": _recorded(profile, complaint, submission, lang) if show_details else [],
        "show_details": show_details,
        "rejection": rejection,
        "track_url": str(track_url),
    }
    if rejection is not None:
        return render_page(
            request,
            "submitted.html",
            lang,
            title=t(lang, "Complaint not accepted: {tracking}", tracking=complaint.tracking_number),
            notified=complaint.notified,
            **common,
        )
    return render_page(
        request,
        "submitted.html",
        lang,
        title=t(lang, "Complaint received: {tracking}", tracking=complaint.tracking_number),
        follow_up=follow_up_promise(profile, lang),
        follow_up_due=follow_up_due_text(profile, complaint.received_at, lang)
        if profile.follow_up_standard is not None
        else None,
        follow_up_note=profile.follow_up.note.get(lang) if profile.follow_up.note else None,
        email_note=email_on and "@" in submission.sender,
        **common,
    )
