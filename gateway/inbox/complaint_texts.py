"""What the complaint page says, in the staff member's language (README.md, "Staff inbox").

Readable names for complaint event kinds, delivery states, the CAPA
form's fields, and the one-time result of an action (``?done=…`` /
``?refused=…`` after a form is posted). Every text goes through the translation
catalogue (``handlers/locale/id/LC_MESSAGES/aduan.po``); English is the
message id.
"""

from __future__ import annotations

from gateway.outbox import REPLY_CAP_ERROR
from gateway.queries.thread import Delivery
from handlers.i18n import t
from storage.event_kinds import ComplaintEventKind


def event_label(lang: str, kind: str) -> str:
    """The name of a complaint event ``kind`` (the kind itself when unknown)."""
    labels: dict[str, str] = {
        ComplaintEventKind.REGISTERED: t(lang, "Complaint registered"),
        ComplaintEventKind.TRANSITION: t(lang, "Step taken"),
        ComplaintEventKind.COMPLAINANT_NOTIFIED: t(lang, "Message sent to the complainant"),
        ComplaintEventKind.COMPLAINANT_MESSAGE: t(lang, "Message from the complainant"),
        ComplaintEventKind.NOTE: t(lang, "Internal note"),
        ComplaintEventKind.ASSIGNED: t(lang, "Assigned"),
        ComplaintEventKind.CAPA_RECORDED: t(lang, "CAPA form recorded"),
        ComplaintEventKind.CAPA_MONITORING: t(lang, "Corrective programme monitored"),
        ComplaintEventKind.FIELD_EDITED: t(lang, "Field corrected"),
        ComplaintEventKind.APPEAL_OPENED: t(lang, "Appeal opened"),
        ComplaintEventKind.APPEAL_REFUSED: t(lang, "Appeal refused"),
        ComplaintEventKind.APPEAL_PANEL_MEMBER_ADDED: t(lang, "Appeal panel member seated"),
        ComplaintEventKind.APPEAL_DECIDED: t(lang, "Appeal decided"),
        ComplaintEventKind.APPEAL_STEP_REMINDER: t(lang, "Appeal step reminder"),
        ComplaintEventKind.APPEAL_STEP_OVERDUE_ESCALATED: t(lang, "Appeal step overdue: escalated"),
        ComplaintEventKind.STEP_REMINDER: t(lang, "Step reminder"),
        ComplaintEventKind.STEP_OVERDUE_ESCALATED: t(lang, "Step overdue: escalated"),
        ComplaintEventKind.DELIVERY_FAILED: t(lang, "Message not delivered"),
        ComplaintEventKind.NOTIFICATION_UNROUTABLE: t(lang, "No way to reach the complainant"),
        ComplaintEventKind.ACKNOWLEDGEMENT_WITHHELD: t(
            lang, "Acknowledgement not sent: daily limit for this address reached"
        ),
        ComplaintEventKind.SATISFACTION: t(lang, "Satisfaction rating"),
        ComplaintEventKind.WHATSAPP_WINDOW_CLOSED: t(lang, "WhatsApp 24-hour window closed"),
    }
    return labels.get(kind, kind)


def delivery_text(lang: str, delivery: Delivery) -> str:
    """What became of an outbound message, in one line."""
    parts: list[str] = []
    if delivery.status == "failed" and delivery.error == REPLY_CAP_ERROR:
        parts.append(
            t(
                lang,
                "Not sent: too many automatic replies to this address in the last hour"
                " (reply loop guard); a reply written by staff still goes out",
            )
        )
    elif delivery.status == "failed":
        parts.append(t(lang, "Not sent: {error}", error=delivery.error or "-"))
    elif delivery.delivery_status in ("delivered",):
        parts.append(t(lang, "Delivered"))
    elif delivery.delivery_status == "read":
        parts.append(t(lang, "Read"))
    elif delivery.delivery_status in ("undelivered", "failed"):
        parts.append(t(lang, "Not delivered"))
    elif delivery.status == "sent":
        parts.append(t(lang, "Sent"))
    elif delivery.status == "sending":
        parts.append(t(lang, "Sending"))
    else:
        parts.append(t(lang, "Waiting to be sent"))
        if delivery.error:
            parts.append(t(lang, "last attempt: {error}", error=delivery.error))
    if delivery.sent_as == "template":
        parts.append(t(lang, "sent as the approved WhatsApp template"))
    elif delivery.sent_as and delivery.sent_as.startswith("fallback:"):
        parts.append(t(lang, "sent to {address} instead", address=delivery.recipient))
    return " · ".join(parts)


def done_text(lang: str, action: str) -> str | None:
    """The confirmation after a successful ``action`` (``?done=…``); ``None`` if unknown."""
    texts = {
        "reply": t(lang, "The message is on its way to the complainant."),
        "unroutable": t(
            lang,
            "The complaint has no way back to the complainant: the message was recorded for staff, not sent.",
        ),
        ComplaintEventKind.NOTE: t(
            lang, "The internal note was added. It is never sent to the complainant."
        ),
        ComplaintEventKind.TRANSITION: t(lang, "The step was taken and recorded in the history."),
        "assign": t(lang, "The assignment was saved."),
        "capa": t(lang, "The CAPA form was saved."),
        "monitoring": t(lang, "The monitoring entry was added."),
        "fields": t(lang, "The corrections were saved and recorded in the history."),
        "unchanged": t(lang, "Nothing was changed: the values were the same."),
        "appeal": t(lang, "The appeal was opened and the complainant told."),
        "panel": t(lang, "The member was seated on the appeal panel."),
        "decision": t(lang, "The panel's decision was recorded and sent to the complainant."),
    }
    return texts.get(action)


def refusal_text(lang: str, code: str) -> str:
    """Why an action was refused (``?refused=<code>``), for a workflow or appeal refusal code."""
    texts = {
        "unknown_transition": t(lang, "That step does not exist in this office's procedure."),
        "wrong_state": t(
            lang,
            "The complaint is no longer in a step where this is possible; someone may have just moved it.",
        ),
        "missing_data": t(lang, "Something required was left empty."),
        "invalid_data": t(lang, "Some of the data was not valid."),
        "wrong_category": t(lang, "This step is only for complaints of another category."),
        "no_appeals": t(lang, "This office's procedure has no appeals."),
        "no_result_yet": t(lang, "The complainant has not been given the result yet."),
        "already_appealed": t(lang, "An appeal was already made; the panel's decision is final."),
        "window_passed": t(lang, "The appeal period after the result has passed."),
        "not_open": t(lang, "The appeal is already decided; that is final."),
        "panel_full": t(lang, "The appeal panel is already complete."),
        "second_chair": t(lang, "The panel already has a chair."),
        "chair_missing": t(lang, "The last seat must go to the chair."),
        "involved": t(
            lang, "That person handled this complaint and may not sit on its appeal panel."
        ),
        "no_declaration": t(lang, "Each member needs an impartiality declaration."),
        "unknown_staff": t(lang, "There is no active staff member with that username."),
        "already_member": t(lang, "That person already sits on the panel."),
        "panel_incomplete": t(lang, "The panel is not complete yet."),
        "not_chair": t(lang, "Only the panel's chair records its decision."),
    }
    return texts.get(code, t(lang, "The request was refused."))
