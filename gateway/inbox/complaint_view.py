"""The complaint page's parts as plain values for the templates (README.md, "Staff inbox").

Each function turns one part of a complaint — header, identity fields,
thread messages, reply route, history, the transitions the viewer may take,
the appeal, the one-time result of an action — into dicts and lists of
already-translated text, so the templates (``gateway/templates/inbox/
complaint*.html``) only lay them out. Times are shown in the office's time
zone (:func:`gateway.inbox.pages.local_time`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from aiohttp import web
from babel.numbers import format_decimal

from gateway.inbox.appeal_texts import step_label
from gateway.inbox.complaint_texts import (
    delivery_text,
    done_text,
    event_label,
    refusal_text,
)
from gateway.inbox.pages import TIME_STATES, local_time
from gateway.inbox.reply_route import ReplyRoute, WindowPlan
from gateway.queries.appeals import AppealView
from gateway.queries.complaint_list import TimeState, due_soon_window, time_state
from gateway.queries.thread import ThreadAttachment, ThreadMessage
from gateway.reports.texts import CATEGORY_NAMES, actor_text, capa_labels, channel_label
from handlers.appeals import AppealProgress
from handlers.field_edits import field_value
from handlers.i18n import t
from handlers.profile import FieldKind, Profile
from handlers.receipt import receiving_officer_label
from handlers.registration import TITLE_KEY, shown_value
from handlers.workflow import Actor
from handlers.workflow_spec import CATEGORIES, TransitionSpec
from storage.event_kinds import ComplaintEventKind
from storage.models import Complaint, ComplaintEvent, Contact

#: HTML input type per field kind (long text is a textarea).
INPUT_TYPES = {
    FieldKind.NAME: "text",
    FieldKind.TEXT: "text",
    FieldKind.EMAIL: "email",
    FieldKind.PHONE: "tel",
    FieldKind.DATE: "date",
}


def size_text(size: int, lang: str) -> str:
    """A file size for people: ``820 B``, ``12 KB``, ``1,5 MB`` (decimal mark of ``lang``)."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{format_decimal(round(size / 1024), locale=lang)} KB"
    return f"{format_decimal(round(size / 1024 / 1024, 1), locale=lang)} MB"


def _state_label(profile: Profile, status: str | None, lang: str) -> str:
    if status is None:
        return ""
    return profile.status_label(status, lang)


def header_view(
    profile: Profile,
    complaint: Complaint,
    contact: Contact | None,
    lang: str,
    now: datetime,
    names: Mapping[str, str],
) -> dict[str, Any]:
    """The header: tracking number, status, time standard, category, assignee, channel, receipt."""
    zone = profile.office.timezone
    state = time_state(complaint.step_due_at, now, due_soon_window(profile, now))
    return {
        "tracking": complaint.tracking_number,
        "status": complaint.status,
        "status_label": _state_label(profile, complaint.status, lang),
        "category_label": t(lang, CATEGORY_NAMES[complaint.category])
        if complaint.category in CATEGORY_NAMES
        else (complaint.category or ""),
        "assignee": actor_text(lang, f"staff:{complaint.assignee}", names)
        if complaint.assignee
        else "",
        "due_state": state.value,
        "due_label": t(lang, TIME_STATES[state]),
        "due_text": local_time(complaint.step_due_at, zone, lang)
        if state is not TimeState.NONE
        else "",
        "channel_label": channel_label(lang, complaint.channel),
        "received_text": local_time(complaint.received_at, zone, lang),
        "received_by": actor_text(lang, complaint.received_by, names),
        "receiving_officer": receiving_officer_label(complaint),
        "complaint_type": profile.complaint_type_label(complaint.complaint_type, lang),
        "contact_address": complaint.contact_address,
        "contact_name": contact.display_name if contact is not None else None,
        "other_addresses": [
            a.address
            for a in (contact.addresses if contact is not None else [])
            if a.address != complaint.contact_address
        ],
        "satisfaction": complaint.satisfaction,
    }


def field_views(profile: Profile, complaint: Complaint, lang: str) -> list[dict[str, Any]]:
    """The profile's intake fields with their stored and displayed values and input hints."""
    views = []
    for field in profile.intake.fields:
        value = field_value(complaint, field.key)
        shown = {field.key: value, TITLE_KEY: complaint.complainant_title}
        display = shown_value(field, shown, lang) if value else ""
        views.append(
            {
                "key": field.key,
                "label": field.label.get(lang),
                "value": value,
                "display": display,
                "multiline": field.kind is FieldKind.LONGTEXT,
                "input_type": INPUT_TYPES.get(field.kind, "text"),
                "required": field.required,
                "max_length": field.max_length,
            }
        )
    return views


def _attachment_view(item: ThreadAttachment, lang: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "filename": item.filename,
        "size_text": size_text(item.size, lang),
        "stored": item.stored,
        "previewable": item.previewable,
        "skipped_reason": item.skipped_reason,
    }


def message_view(
    message: ThreadMessage,
    complaint: Complaint,
    lang: str,
    zone: str,
    names: Mapping[str, str],
) -> dict[str, Any]:
    """One thread message: who, when, channel, body (sanitised HTML or text), files, delivery."""
    if message.inbound:
        who = f"{message.sender_name} <{message.sender}>" if message.sender_name else message.sender
    elif message.automatic:
        who = t(lang, "Automatic reply")
    else:
        who = actor_text(lang, message.sender, names)
    return {
        "id": message.id,
        "inbound": message.inbound,
        "channel_label": channel_label(lang, message.channel),
        "when": local_time(message.at, zone, lang),
        "who": who,
        "recipient": message.recipient or "",
        "subject": message.subject or "",
        "text": message.text,
        "html": message.html,
        "attachments": [_attachment_view(a, lang) for a in message.attachments],
        "delivery": delivery_text(lang, message.delivery) if message.delivery else "",
        "failed": message.delivery is not None and message.delivery.status == "failed",
        "other_complaint": message.complaint_tracking
        if message.complaint_id not in (None, complaint.id)
        else None,
    }


def route_view(route: ReplyRoute, lang: str, zone: str) -> dict[str, Any]:
    """Where a reply goes (:class:`gateway.inbox.reply_route.ReplyRoute`), for the reply box."""
    view: dict[str, Any] = {
        "routed": route.channel is not None,
        "channel_label": channel_label(lang, route.channel) if route.channel else "",
        "address": route.address or "",
        "enabled": route.enabled,
        "window": route.window.value if route.window else "",
        "window_ends": local_time(route.window_ends_at, zone, lang),
        "template": route.template or "",
        "fallback_label": channel_label(lang, route.fallback_channel)
        if route.fallback_channel
        else "",
        "fallback_address": route.fallback_address or "",
    }
    view["closed"] = route.window not in (None, WindowPlan.OPEN)
    return view


def _event_details(
    event: ComplaintEvent,
    profile: Profile,
    lang: str,
    names: Mapping[str, str],
    capa_names: Mapping[str, str],
) -> tuple[str, list[tuple[str, str]]]:
    """(title suffix, [(label, value)]) for an event: what moved, what changed."""
    data = event.data or {}
    details: list[tuple[str, str]] = []
    suffix = ""
    if event.kind == ComplaintEventKind.TRANSITION:
        name = str(data.get("transition") or "")
        try:
            suffix = profile.workflow.transition(name).label.get(lang)
        except KeyError:
            suffix = name
        details.append(
            (
                t(lang, "Status"),
                f"{_state_label(profile, event.from_status, lang)} → "
                f"{_state_label(profile, event.to_status, lang)}",
            )
        )
        if data.get("category") in CATEGORY_NAMES:
            details.append((t(lang, "Category"), t(lang, CATEGORY_NAMES[data["category"]])))
        if data.get("assignee"):
            details.append(
                (t(lang, "Assignee"), actor_text(lang, f"staff:{data['assignee']}", names))
            )
        if data.get("nonconformity"):
            details.append((t(lang, "Nonconformity report"), str(data["nonconformity"])))
        capa = data.get("capa")
        if isinstance(capa, dict):
            details.extend((capa_names.get(k, k), str(v)) for k, v in capa.items())
    elif event.kind == ComplaintEventKind.ASSIGNED:
        details.append(
            (t(lang, "Assignee"), actor_text(lang, f"staff:{data.get('assignee')}", names))
        )
        if data.get("previous"):
            details.append(
                (t(lang, "Before"), actor_text(lang, f"staff:{data['previous']}", names))
            )
    elif event.kind == ComplaintEventKind.FIELD_EDITED:
        key = str(data.get("field") or "")
        try:
            label = profile.field(key).label.get(lang)
        except KeyError:
            label = key
        suffix = label
        details.append((t(lang, "Before"), str(data.get("old") or "–")))
        details.append((t(lang, "After"), str(data.get("new") or "–")))
    elif event.kind == ComplaintEventKind.CAPA_RECORDED and isinstance(data.get("capa"), dict):
        details.extend((capa_names.get(k, k), str(v)) for k, v in data["capa"].items())
    elif event.kind == ComplaintEventKind.SATISFACTION and data.get("score") is not None:
        details.append((t(lang, "Score"), f"{data['score']} / 5"))
    elif event.kind == ComplaintEventKind.APPEAL_PANEL_MEMBER_ADDED:
        who = actor_text(lang, f"staff:{data.get('username')}", names)
        details.append((t(lang, "Member"), who))
        if data.get("chair"):
            details.append((t(lang, "Role on the panel"), t(lang, "Chair")))
    elif event.kind == ComplaintEventKind.COMPLAINANT_NOTIFIED and data.get("channel"):
        details.append((t(lang, "Channel"), channel_label(lang, str(data["channel"]))))
    elif event.kind in (
        ComplaintEventKind.STEP_REMINDER,
        ComplaintEventKind.STEP_OVERDUE_ESCALATED,
    ) and data.get("roles"):
        roles = [profile.roles[r].get(lang) if r in profile.roles else r for r in data["roles"]]
        details.append((t(lang, "Told"), ", ".join(roles)))
    return suffix, details


def history_view(
    events: Sequence[ComplaintEvent],
    profile: Profile,
    lang: str,
    zone: str,
    names: Mapping[str, str],
) -> list[dict[str, Any]]:
    """The complaint's events, oldest first, with readable names, actors and details."""
    capa_names = capa_labels(lang)
    items = []
    for event in events:
        suffix, details = _event_details(event, profile, lang, names, capa_names)
        label = event_label(lang, event.kind)
        items.append(
            {
                "kind": event.kind,
                "label": f"{label}: {suffix}" if suffix else label,
                "when": local_time(event.at, zone, lang),
                "actor": actor_text(lang, event.actor, names),
                "note": event.note or "",
                "details": details,
                "internal": event.kind == ComplaintEventKind.NOTE,
            }
        )
    return items


def transition_view(
    transition: TransitionSpec, profile: Profile, complaint: Complaint, lang: str
) -> dict[str, Any]:
    """A transition the viewer may take, with the data its form must ask for."""
    categories = transition.categories or CATEGORIES
    ask_category = "category" in transition.requires or (
        bool(transition.categories) and complaint.category is None
    )
    return {
        "name": transition.name,
        "label": transition.label.get(lang),
        "to_label": _state_label(profile, transition.to, lang),
        "requires": [k for k in transition.requires if k != "category"],
        "ask_category": ask_category,
        "categories": [(c, t(lang, CATEGORY_NAMES.get(c, c))) for c in categories],
        "complaint_types": [(k.id, k.label.get(lang)) for k in profile.complaint_types],
        "notifies": transition.notify is not None,
    }


def appeal_view(
    profile: Profile,
    view: AppealView | None,
    progress: AppealProgress | None,
    complaint: Complaint,
    actor: Actor,
    lang: str,
    zone: str,
    names: Mapping[str, str],
    choices: Sequence[str],
) -> dict[str, Any] | None:
    """The appeal section: ``None`` when it has nothing to show the viewer."""
    spec = profile.appeal
    if spec is None:
        return None
    may_form = actor.role == "admin" or actor.role in spec.roles
    if view is None or progress is None:
        # The result may have been given before a later state (archived:
        # BBSPJIKFK 5.1.11 step 6); the rules answer with the true reason.
        final = any(
            name == complaint.status and state.final
            for name, state in profile.workflow.states.items()
        )
        if not (may_form and (complaint.status in spec.after or final)):
            return None
        return {
            "open": False,
            "may_open": True,
            "window": spec.window.describe(lang) if spec.window is not None else None,
        }
    seated = {m.username for m in view.panel}
    return {
        "open": True,
        "reason": view.appeal.reason,
        "opened": local_time(view.appeal.opened_at, zone, lang),
        "opened_by": actor_text(lang, view.appeal.opened_by, names),
        "step": progress.step,
        "step_label": step_label(lang, progress.step),
        "due": local_time(progress.due_at, zone, lang),
        "decision": view.appeal.decision or "",
        "decided": local_time(view.appeal.decided_at, zone, lang),
        "panel": [
            {
                "who": actor_text(lang, f"staff:{m.username}", names),
                "chair": m.is_chair,
                "declaration": m.declaration,
                "declared": local_time(m.declared_at, zone, lang),
            }
            for m in view.panel
        ],
        "size": spec.panel_size,
        # With a competence rule (PR-LS-8.1.4 step 4) the panel is seated on
        # the appeal's own page, which offers only competent staff.
        "may_seat": may_form and progress.step == "panel" and not spec.subjects,
        "has_chair": progress.chair is not None,
        "seat_choices": [
            (u, actor_text(lang, f"staff:{u}", names)) for u in choices if u not in seated
        ],
        "may_decide": progress.step == "decision" and progress.chair == actor.username,
        "appeal_id": view.appeal.id,
    }


def result_view(request: web.Request, profile: Profile, lang: str) -> dict[str, str] | None:
    """The one-time result of the last action (``?done=`` / ``?refused=``), or ``None``."""
    query = request.query
    if "done" in query:
        text = done_text(lang, query["done"])
        return {"kind": "done", "text": text} if text else None
    code = query.get("refused")
    if not code:
        return None
    text = refusal_text(lang, code[:40])
    field_key = query.get("field")
    if field_key:
        try:
            field = profile.field(field_key)
        except KeyError:
            field = None
        if field is not None:
            reason = (
                field.invalid.get(lang)
                if field.invalid
                else t(lang, "Check the value and try again.")
            )
            text = t(
                lang,
                "{label} was not accepted: {reason}",
                label=field.label.get(lang),
                reason=reason,
            )
    if query.get("told"):  # an appeal refused by the rules is recorded and answered
        text += " " + t(lang, "The refusal was recorded and the complainant told why.")
    else:
        text += " " + t(lang, "Nothing was changed.")
    return {"kind": "refused", "text": text}
