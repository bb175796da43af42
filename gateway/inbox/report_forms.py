"""The printable complaint-handling and CAPA forms of one complaint (docs/records.md).

Builds the :class:`gateway.reports.pdf.PrintedForm` of a complaint from its
record and its events: the identity fields of SOP-7.9-1 item 2, the steps
with their dates and actors, the result, and the CAPA form of BBSPJIKFK
5.1.11 (:func:`handlers.records.current_capa`). Texts are in the staff
member's language (Indonesian unless they switched to English).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.reports.pdf import Fields, Grid, PrintedForm, Section
from gateway.reports.register import final_states
from gateway.reports.texts import (
    actor_text,
    assigned_text,
    category_text,
    channel_label,
    form_texts,
    person,
    printed_text,
    register_headers,
    tracking_text,
    when_text,
)
from handlers.profile import Profile
from handlers.records import current_capa
from handlers.workflow import CAPA_FIELDS
from storage.event_kinds import ComplaintEventKind
from storage.models import Complaint, ComplaintEvent

#: Event kinds printed as steps of the handling.
STEP_KINDS = frozenset(
    {
        ComplaintEventKind.REGISTERED,
        ComplaintEventKind.TRANSITION,
        ComplaintEventKind.ASSIGNED,
        ComplaintEventKind.CAPA_RECORDED,
    }
)


@dataclass(frozen=True, slots=True)
class PrintContext:
    """Who prints, when and in which language; ``names`` maps usernames to full names."""

    profile: Profile
    lang: str
    names: Mapping[str, str]
    printed_by: str
    now: datetime

    @property
    def zone(self) -> str:
        """The office's time zone."""
        return self.profile.office.timezone

    def when(self, moment: datetime | None) -> str:
        """``moment`` in office time, in the print language."""
        return when_text(moment, self.zone, self.lang)


def _identity(complaint: Complaint, ctx: PrintContext) -> tuple[tuple[str, str], ...]:
    """The identity fields of SOP-7.9-1 item 2, the channel and the profile's extra fields."""
    headers = register_headers(ctx.lang)
    rows = [
        (headers["tracking_number"], complaint.tracking_number),
        (headers["received_at"], ctx.when(complaint.received_at)),
        (headers["received_by"], actor_text(ctx.lang, complaint.received_by, ctx.names)),
        (headers["channel"], channel_label(ctx.lang, complaint.channel)),
        (headers["contact"], complaint.contact_address),
        (headers["complainant_name"], complaint.complainant_name),
        (headers["customer_name"], complaint.customer_name),
        (headers["problem"], complaint.problem),
    ]
    extra = complaint.extra_fields or {}
    for field in ctx.profile.intake.fields:
        if field.key in extra:
            rows.append((field.label.get(ctx.lang), str(extra[field.key])))
    return tuple(rows)


def closed_at(profile: Profile, events: Sequence[ComplaintEvent]) -> datetime | None:
    """When the complaint first entered a final state (``None``: still open)."""
    finals = set(final_states(profile))
    moments = [
        e.at for e in events if e.kind == ComplaintEventKind.TRANSITION and e.to_status in finals
    ]
    return min(moments) if moments else None


def _recorded(complaint: Complaint, key: str) -> str:
    """The latest value of ``key`` (``result``, ``reason``) recorded by a step."""
    found, latest = "", ""
    for entry in (complaint.details or {}).values():
        if isinstance(entry, dict) and isinstance(entry.get(key), str):
            at = str(entry.get("at") or "")
            if at >= latest:
                found, latest = str(entry[key]), at
    return found


def _steps(events: Sequence[ComplaintEvent], ctx: PrintContext) -> tuple[tuple[str, ...], ...]:
    text = form_texts(ctx.lang)
    spec = ctx.profile.workflow
    rows: list[tuple[str, ...]] = []
    for event in events:
        if event.kind not in STEP_KINDS:
            continue
        status = ctx.profile.status_label(event.to_status or "", ctx.lang)
        if event.kind == ComplaintEventKind.REGISTERED:
            action = text["registered"]
        elif event.kind == ComplaintEventKind.TRANSITION:
            name = str((event.data or {}).get("transition") or "")
            try:
                action = spec.transition(name).label.get(ctx.lang)
            except KeyError:
                action = name
        elif event.kind == ComplaintEventKind.ASSIGNED:
            action = assigned_text(
                ctx.lang, person(str((event.data or {}).get("assignee") or ""), ctx.names)
            )
        else:
            action = text["capa_recorded"]
        rows.append(
            (
                ctx.when(event.at),
                action,
                status,
                actor_text(ctx.lang, event.actor, ctx.names),
                event.note or "",
            )
        )
    return tuple(rows)


def _printed(
    ctx: PrintContext,
    complaint: Complaint,
    title: str,
    sections: tuple[Section, ...],
    signatures: tuple[str, ...],
) -> PrintedForm:
    """A form of ``complaint`` under the office's letterhead, with its
    tracking number as reference and the printed-by footer."""
    return PrintedForm(
        office=ctx.profile.office.name.get(ctx.lang),
        unit=ctx.profile.office.unit.get(ctx.lang),
        title=title,
        reference=tracking_text(ctx.lang, complaint.tracking_number),
        sections=sections,
        signatures=signatures,
        footer=printed_text(ctx.lang, ctx.when(ctx.now), ctx.printed_by),
        language=ctx.lang,
    )


def handling_form(
    complaint: Complaint, events: Sequence[ComplaintEvent], ctx: PrintContext
) -> PrintedForm:
    """The complaint-handling form: identity, handling, steps (from ``events``) and result."""
    text = form_texts(ctx.lang)
    spec = ctx.profile.workflow
    state = spec.states.get(complaint.status)
    headers = register_headers(ctx.lang)
    handling = [
        (headers["status"], ctx.profile.status_label(complaint.status, ctx.lang)),
        (headers["category"], category_text(ctx.lang, complaint.category)),
        (headers["assignee"], person(complaint.assignee, ctx.names)),
    ]
    if state is not None and not state.final and complaint.step_due_at is not None:
        handling.append((text["step_due"], ctx.when(complaint.step_due_at)))
    handling.append((headers["closed_at"], ctx.when(closed_at(ctx.profile, events))))
    result = [
        (text["result"], _recorded(complaint, "result")),
        (text["reason"], _recorded(complaint, "reason")),
        (
            text["satisfaction"],
            str(complaint.satisfaction) if complaint.satisfaction is not None else "",
        ),
    ]
    return _printed(
        ctx,
        complaint,
        text["handling_title"],
        (
            Fields(text["complaint"], _identity(complaint, ctx)),
            Fields(text["handling"], tuple(handling)),
            Grid(
                text["steps"],
                (text["date"], text["action"], text["status_after"], text["by"], text["note"]),
                _steps(events, ctx),
                (17, 22, 17, 18, 26),
                text["no_steps"],
            ),
            Fields(text["result"], tuple(result)),
        ),
        (text["prepared_by"], text["checked_by"], text["approved_by"]),
    )


def capa_form(
    complaint: Complaint, events: Sequence[ComplaintEvent], ctx: PrintContext
) -> PrintedForm:
    """The CAPA form (BBSPJIKFK 5.1.11): the complaint, then the recorded form or blanks."""
    text = form_texts(ctx.lang)
    capa = current_capa(complaint)
    recorded = [
        e
        for e in events
        if e.kind == ComplaintEventKind.CAPA_RECORDED
        or (e.kind == ComplaintEventKind.TRANSITION and "capa" in (e.data or {}))
    ]
    last = recorded[-1] if recorded else None
    rows = [(text[key], (capa or {}).get(key, "")) for key in CAPA_FIELDS]
    rows.append(
        (
            text["recorded_by"],
            actor_text(ctx.lang, last.actor, ctx.names) if last else text["not_recorded"],
        )
    )
    rows.append((text["recorded_at"], ctx.when(last.at) if last else ""))
    headers = register_headers(ctx.lang)
    summary = (
        (headers["tracking_number"], complaint.tracking_number),
        (headers["received_at"], ctx.when(complaint.received_at)),
        (headers["complainant_name"], complaint.complainant_name),
        (headers["customer_name"], complaint.customer_name),
        (headers["problem"], complaint.problem),
        (headers["category"], category_text(ctx.lang, complaint.category)),
        (headers["assignee"], person(complaint.assignee, ctx.names)),
    )
    return _printed(
        ctx,
        complaint,
        text["capa_title"],
        (Fields(text["complaint"], summary), Fields(text["capa"], tuple(rows))),
        (text["prepared_by"], text["checked_by"]),
    )
