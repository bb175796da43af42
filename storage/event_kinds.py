"""The kinds of complaint and appeal history entries (docs/inbox.md).

:class:`ComplaintEventKind` lists every value ``ComplaintEvent.kind`` and
``AppealEvent.kind`` may hold: the code writes and compares members, never
bare strings. A :class:`enum.StrEnum` member equals its string and is stored
as it, so rows written before the enum existed read back unchanged.

Migrations do not import this module: a revision must run the same way on the
day it is applied as on the day it was written, so a migration that names
kinds keeps its own copy of the names it knew then (for example the quiet
kinds of revision 0008).
"""

from __future__ import annotations

import enum


class ComplaintEventKind(enum.StrEnum):
    """What one history entry records; the value is stored (``String(50)``)."""

    #: The complaint was registered (handlers/registration.py).
    REGISTERED = "registered"
    #: A workflow transition was taken (handlers/workflow.py).
    TRANSITION = "transition"
    #: The complaint was (re)assigned to a staff member.
    ASSIGNED = "assigned"
    #: A staff member's internal note.
    NOTE = "note"
    #: The corrective and preventive action form was recorded.
    CAPA_RECORDED = "capa_recorded"
    #: A dated monitoring entry on the corrective programme.
    CAPA_MONITORING = "capa_monitoring"
    #: Staff corrected an intake field.
    FIELD_EDITED = "field_edited"
    #: A message was staged to the complainant.
    COMPLAINANT_NOTIFIED = "complainant_notified"
    #: The complainant wrote after registration.
    COMPLAINANT_MESSAGE = "complainant_message"
    #: There was no route back to the complainant.
    NOTIFICATION_UNROUTABLE = "notification_unroutable"
    #: The complainant's satisfaction rating.
    SATISFACTION = "satisfaction"
    #: The acknowledgement was not sent (daily limit per address).
    ACKNOWLEDGEMENT_WITHHELD = "acknowledgement_withheld"
    #: An outgoing message failed permanently.
    DELIVERY_FAILED = "delivery_failed"
    #: A WhatsApp reply could not be sent: the 24-hour window had closed.
    WHATSAPP_WINDOW_CLOSED = "whatsapp_window_closed"
    #: A step's time standard is near (periodic sweep).
    STEP_REMINDER = "step_reminder"
    #: A step's time standard passed: escalated (periodic sweep).
    STEP_OVERDUE_ESCALATED = "step_overdue_escalated"
    #: Two contacts were merged.
    CONTACT_MERGED = "contact_merged"
    #: A contact merge was undone.
    CONTACT_MERGE_UNDONE = "contact_merge_undone"
    #: An appeal was opened.
    APPEAL_OPENED = "appeal_opened"
    #: An appeal was refused.
    APPEAL_REFUSED = "appeal_refused"
    #: A member was seated on the appeal panel.
    APPEAL_PANEL_MEMBER_ADDED = "appeal_panel_member_added"
    #: An appeal step was taken.
    APPEAL_PROGRESSED = "appeal_progressed"
    #: The appeal was decided.
    APPEAL_DECIDED = "appeal_decided"
    #: An appeal step's time standard is near (periodic sweep).
    APPEAL_STEP_REMINDER = "appeal_step_reminder"
    #: An appeal step's time standard passed: escalated (periodic sweep).
    APPEAL_STEP_OVERDUE_ESCALATED = "appeal_step_overdue_escalated"
    #: A message was staged to a standalone appeal's appellant.
    APPELLANT_NOTIFIED = "appellant_notified"
    #: There was no route back to a standalone appeal's appellant.
    APPELLANT_UNROUTABLE = "appellant_unroutable"


def event_kind(value: str) -> str:
    """``value`` as the plain string of its :class:`ComplaintEventKind` member.

    What the history models store (:class:`storage.models.ComplaintEvent`,
    :class:`storage.models.AppealEvent`). Raises :class:`ValueError` naming
    ``value`` when it is no member.
    """
    try:
        return ComplaintEventKind(value).value
    except ValueError:
        raise ValueError(f"unknown complaint event kind {value!r}") from None
