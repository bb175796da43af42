"""The values a canned reply's variables take for one complaint
(:data:`handlers.canned_replies.VARIABLES`), read from the complaint and its
office's profile."""

from __future__ import annotations

from handlers.dates import format_moment
from handlers.profile import Profile
from storage.models import Complaint


def complaint_values(
    profile: Profile, complaint: Complaint, language: str
) -> dict[str, str | None]:
    """The variables' values for ``complaint`` in ``language``.

    ``tracking_number``; ``name``: the complainant's name; ``due_date``: the
    current step's due moment in office time (:func:`handlers.dates.format_moment`,
    e.g. ``30-12-2026 16:00 WIB``), ``None`` when the step has no time
    standard; ``office``: the office's name; ``status``: the status's display
    name (:meth:`handlers.profile.Profile.status_label`).
    """
    due = complaint.step_due_at
    return {
        "tracking_number": complaint.tracking_number,
        "name": complaint.complainant_name or None,
        "due_date": format_moment(due, profile.office.timezone) if due is not None else None,
        "office": profile.office.name.get(language),
        "status": profile.status_label(complaint.status, language),
    }
