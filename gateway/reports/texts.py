"""What staff read on the reports and printed forms, in their language (docs/records.md).

Every text goes through the translation catalogue; the
report modules under :mod:`gateway.reports` compute and lay out, these
functions name things: column headers of the register and the recap, how a
receiving officer, a staff member or a category is shown, and the labels of
the printable forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from channels.base import ChannelName
from handlers.i18n import N_, t
from handlers.workflow import CAPA_FIELDS

#: A channel's display name (a message id of the staff catalogues).
CHANNEL_NAMES = {
    ChannelName.WEB.value: N_("Web form"),
    ChannelName.EMAIL.value: N_("Email"),
    ChannelName.WHATSAPP.value: N_("WhatsApp"),
    ChannelName.SMS.value: N_("SMS"),
    ChannelName.TELEGRAM.value: N_("Telegram"),
    ChannelName.API.value: N_("API"),
    ChannelName.MANUAL.value: N_("Manual intake"),
}
#: A category's display name (a message id of the staff catalogues).
CATEGORY_NAMES = {"administrative": N_("Administrative"), "technical": N_("Technical")}


def capa_labels(lang: str) -> dict[str, str]:
    """Field key → label of the CAPA form (BBSPJIKFK 5.1.11), in form order."""
    labels = {
        "cause": t(lang, "Cause"),
        "correction": t(lang, "Correction"),
        "corrective_action": t(lang, "Corrective action"),
        "preventive_action": t(lang, "Preventive action"),
        "owner": t(lang, "Person responsible"),
        "due_date": t(lang, "Due date"),
        "effectiveness_check": t(lang, "Effectiveness check"),
    }
    return {key: labels[key] for key in CAPA_FIELDS}


def channel_label(lang: str, channel: str) -> str:
    """A channel's display name in ``lang`` (the raw name when unknown)."""
    name = CHANNEL_NAMES.get(channel)
    return t(lang, name) if name else channel


def register_headers(lang: str) -> dict[str, str]:
    """Column key (:data:`gateway.reports.register.REPORT_COLUMNS`) → header in ``lang``."""
    return {
        "tracking_number": t(lang, "Tracking number"),
        "channel": t(lang, "Channel"),
        "complainant_name": t(lang, "Complainant name"),
        "customer_name": t(lang, "Customer or participant name"),
        "problem": t(lang, "Problem"),
        "received_at": t(lang, "Complaint date"),
        "received_by": t(lang, "Receiving officer"),
        "contact": t(lang, "Contact"),
        "status": t(lang, "Status"),
        "category": t(lang, "Category"),
        "assignee": t(lang, "Assignee"),
        "closed_at": t(lang, "Closing date"),
        "complaint_type": t(lang, "Complaint type"),
        "rejection_reason": t(lang, "Rejection reason"),
        "capa_monitoring": t(lang, "Monitoring of the corrective programme"),
    }


def person(username: str | None, names: Mapping[str, str]) -> str:
    """A staff member as ``Full Name (username)``; empty for ``None``."""
    if not username:
        return ""
    name = names.get(username)
    return f"{name} ({username})" if name else username


def actor_text(lang: str, actor: str, names: Mapping[str, str]) -> str:
    """Who acted, for people, from an ``actor`` value (of a complaint event, an
    appeal, a staff-written message, or a complaint's ``received_by``); the one
    wording the complaint page, the appeal pages, the register and the printed
    forms share.

    ``staff:<username>`` → ``Full Name (username)``; ``complainant:<channel>``
    → the complainant, on that channel; ``channel:<name>`` → automatic intake
    on that channel; ``provider:<channel>`` → that channel's provider (a
    delivery report); ``system`` → the system; anything else as it is.
    """
    kind, _, value = actor.partition(":")
    if kind == "staff" and value:
        return person(value, names)
    if kind == "channel" and value:
        return t(lang, "Automatic intake ({channel})", channel=channel_label(lang, value))
    if kind == "complainant":
        if not value:
            return t(lang, "The complainant")
        return t(lang, "Complainant ({channel})", channel=channel_label(lang, value))
    if kind == "provider" and value:
        return t(lang, "Provider ({channel})", channel=channel_label(lang, value))
    if actor == "system":
        return t(lang, "System")
    return actor


def category_text(lang: str, category: str | None) -> str:
    """A complaint category in ``lang`` (``None``: not categorised yet)."""
    if category is None:
        return t(lang, "Not categorised")
    name = CATEGORY_NAMES.get(category)
    return t(lang, name) if name else category


def day_text(day: date, lang: str) -> str:
    """``1 November 2026`` in ``lang``."""
    return format_date(day, "d MMMM yyyy", locale=lang)


def when_text(when: datetime | None, zone: str, lang: str) -> str:
    """``1 Nov 2026 14.05`` in office time (empty for ``None``)."""
    if when is None:
        return ""
    return format_datetime(when.astimezone(ZoneInfo(zone)), "d MMM yyyy HH.mm", locale=lang)


def recap_texts(lang: str) -> dict[str, str]:
    """Headings and column headers of the recap page and its exports."""
    return {
        "by_channel": t(lang, "Complaints by channel"),
        "by_category": t(lang, "Complaints by category"),
        "by_status": t(lang, "Complaints by current status"),
        "steps": t(lang, "On-time rate per step"),
        "close": t(lang, "Time to close"),
        "satisfaction": t(lang, "Satisfaction"),
        "channel": t(lang, "Channel"),
        "category": t(lang, "Category"),
        "status": t(lang, "Status"),
        "complaints": t(lang, "Number of complaints"),
        "step": t(lang, "Step"),
        "standard": t(lang, "Time standard"),
        "left": t(lang, "Steps completed"),
        "on_time": t(lang, "On time"),
        "late": t(lang, "Late"),
        "rate": t(lang, "On-time rate (%)"),
        "measure": t(lang, "Measure"),
        "value": t(lang, "Value"),
        "closed": t(lang, "Complaints closed"),
        "mean_hours": t(lang, "Mean time to close (hours)"),
        "p90_hours": t(lang, "90th percentile (hours)"),
        "mean_days": t(lang, "Mean time to close (working days)"),
        "p90_days": t(lang, "90th percentile (working days)"),
        "score": t(lang, "Score"),
        "responses": t(lang, "Responses"),
        "mean_score": t(lang, "Mean score"),
    }


def form_texts(lang: str) -> dict[str, str]:
    """Labels of the printable complaint-handling and CAPA forms."""
    return {
        "handling_title": t(lang, "Complaint handling form"),
        "capa_title": t(lang, "Corrective and preventive action form"),
        "complaint": t(lang, "Complaint"),
        "handling": t(lang, "Handling"),
        "steps": t(lang, "Steps"),
        "result": t(lang, "Result"),
        "capa": t(lang, "Corrective and preventive action"),
        "date": t(lang, "Date"),
        "action": t(lang, "Action"),
        "status_after": t(lang, "Status after"),
        "by": t(lang, "By"),
        "note": t(lang, "Note"),
        "no_steps": t(lang, "No steps recorded yet."),
        "registered": t(lang, "Registered"),
        "capa_recorded": t(lang, "CAPA form recorded"),
        "step_due": t(lang, "Current step due"),
        "reason": t(lang, "Reason"),
        "satisfaction": t(lang, "Satisfaction score (1-5)"),
        **capa_labels(lang),
        "recorded_by": t(lang, "Recorded by"),
        "recorded_at": t(lang, "Recorded at"),
        "not_recorded": t(lang, "Not recorded yet"),
        "prepared_by": t(lang, "Prepared by"),
        "checked_by": t(lang, "Checked by"),
        "approved_by": t(lang, "Approved by"),
    }


def tracking_text(lang: str, tracking: str) -> str:
    """``Nomor pengaduan: ADU-2026-00042``."""
    return t(lang, "Tracking number: {tracking}", tracking=tracking)


def assigned_text(lang: str, name: str) -> str:
    """The action of an assignment event."""
    return t(lang, "Assigned to {name}", name=name)


def printed_text(lang: str, when: str, name: str) -> str:
    """The footer of a printed form: when and by whom it was printed."""
    return t(lang, "Printed {when} by {name}", when=when, name=name)
