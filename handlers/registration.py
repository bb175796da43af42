"""Registering a complaint: tracking number, record, first event.

Shared by the intake conversation (chat, email, the web form) and (later)
manual intake by staff. A complaint made outside the profile's acceptance
window (SOP-7.9-1 item 3) is registered and then rejected by the system at
once (:mod:`handlers.acceptance`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.acceptance import enforce_acceptance_window
from handlers.i18n import t
from handlers.outbox import OutboxWriter
from handlers.profile import MANDATED_FIELDS, IntakeField, Profile
from handlers.receipt import STAFF_PREFIX, record_receiving_officer
from handlers.staff_notices import notify_new_complaint
from handlers.validation import display_value
from handlers.workflow import start_first_step
from storage.db import dialect_insert
from storage.event_kinds import ComplaintEventKind
from storage.models import Complaint, ComplaintEvent, TrackingCounter


async def next_tracking_number(
    session: AsyncSession, prefix: str, when: datetime, timezone: str
) -> str:
    """Allocate the next tracking number, e.g. ``ADU-2026-00042``.

    The year is the office's local year at ``when``; numbers restart at 1 each
    year. Concurrency-safe: the counter row is incremented with ``UPDATE …
    RETURNING`` inside the caller's transaction.
    """
    year = when.astimezone(ZoneInfo(timezone)).year
    scope = f"{prefix}-{year}"
    insert = dialect_insert(session)
    await session.execute(
        insert(TrackingCounter)
        .values(scope=scope, last_value=0)
        .on_conflict_do_nothing(index_elements=["scope"])
    )
    value = (
        await session.execute(
            update(TrackingCounter)
            .where(TrackingCounter.scope == scope)
            .values(last_value=TrackingCounter.last_value + 1)
            .returning(TrackingCounter.last_value)
        )
    ).scalar_one()
    return f"{scope}-{value:05d}"


async def register_complaint(
    session: AsyncSession,
    *,
    profile: Profile,
    contact_id: int,
    channel: str,
    contact_address: str,
    values: Mapping[str, str],
    received_at: datetime,
    received_by: str,
    language: str,
    complainant_title: str | None = None,
    conversation_id: int | None = None,
    thread_key: str | None = None,
    actor: str | None = None,
    writer: OutboxWriter | None = None,
    enabled_channels: Collection[str] = (),
) -> Complaint:
    """Create the complaint record with the SOP-7.9-1 item 2 identity fields.

    ``values`` holds every profile field (the mandated three plus extras);
    ``complainant_title`` the complainant's titles, kept apart from the name;
    ``received_by`` is the receiving officer (``channel:<name>`` or
    ``staff:<username>``).

    With an ``acceptance_window`` in the profile (SOP-7.9-1 item 3), a
    complaint received after the window's deadline is rejected by the system
    right after registration and the complainant is told why through
    ``writer`` on their channel (``enabled_channels``: the channels that are
    on); the returned complaint then no longer has
    :func:`initial_status` — callers must not acknowledge it as accepted.

    Raises ``KeyError`` if a mandated field is missing, and ``ValueError``
    when the profile has an acceptance window but no ``writer`` is given.
    """
    if profile.acceptance_window is not None and writer is None:
        raise ValueError(
            f"profile {profile.id} has an acceptance_window: registering needs a writer "
            "to tell a late complainant why the complaint is rejected"
        )
    tracking = await next_tracking_number(
        session, profile.tracking_prefix, received_at, profile.office.timezone
    )
    complaint = Complaint(
        tracking_number=tracking,
        contact_id=contact_id,
        conversation_id=conversation_id,
        channel=channel,
        contact_address=contact_address,
        complainant_name=values["complainant_name"],
        complainant_title=(complainant_title or None) and complainant_title[:100],
        customer_name=values["customer_name"],
        problem=values["problem"],
        extra_fields={k: v for k, v in values.items() if k not in MANDATED_FIELDS},
        received_at=received_at,
        received_by=received_by,
        status=initial_status(profile),
        language=language,
        thread_key=thread_key,
    )
    if received_by.startswith(STAFF_PREFIX):
        # Manual intake: the entering officer received it (SOP-7.9-1 item 2).
        await record_receiving_officer(session, complaint, received_by.removeprefix(STAFF_PREFIX))
    start_first_step(profile, complaint, received_at)
    session.add(complaint)
    await session.flush()
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            actor=actor or received_by,
            kind=ComplaintEventKind.REGISTERED,
            to_status=complaint.status,
            data={"channel": channel, "profile": profile.id},
        )
    )
    if writer is not None:
        await enforce_acceptance_window(
            session,
            profile=profile,
            writer=writer,
            complaint=complaint,
            enabled_channels=enabled_channels,
        )
    await notify_new_complaint(
        session,
        profile=profile,
        complaint=complaint,
        writer=writer,
        email_enabled="email" in enabled_channels,
    )
    return complaint


def initial_status(profile: Profile) -> str:
    """The status of a newly registered complaint: the workflow's initial state."""
    return profile.workflow.initial


#: Key of the complainant's titles among acknowledged values (not a profile field).
TITLE_KEY = "complainant_title"


def shown_value(field: IntakeField, values: Mapping[str, object], language: str) -> str:
    """``field``'s value as the complainant reads it: dates in words, the name
    followed by its titles in brackets."""
    value = display_value(field, str(values[field.key]), language)
    if field.key == "complainant_name" and values.get(TITLE_KEY):
        return f"{value} ({values[TITLE_KEY]})"
    return value


def acknowledgement_text(
    profile: Profile, complaint: Complaint, values: Mapping[str, str], language: str
) -> str:
    """The acknowledgement of a registered complaint (ISO 10002: immediate acknowledgement).

    The same text as the intake conversation's (:mod:`handlers.intake`): the
    tracking number, what was recorded (``values`` in profile order, dates as
    ``12 November 2026``, the name with any ``complainant_title`` value), the follow-up time standard and its due day
    counted from ``complaint.received_at`` on the office calendar — or, when
    the SOP sets no follow-up time, the profile's ``follow_up.note`` (or
    nothing) — and how to ask for the progress.
    """
    summary = "\n".join(
        f"- {f.label.get(language)}: {shown_value(f, values, language)}"
        for f in profile.intake.fields
        if values.get(f.key)
    )
    standard = profile.follow_up_standard
    if standard is None:
        return t(
            language,
            "Your complaint has been registered with tracking number {tracking}.\n\n{summary}\n\n{follow_up}To ask about its progress, send: STATUS {tracking}",
            tracking=complaint.tracking_number,
            summary=summary,
            follow_up=_note(profile, language),
        )
    return t(
        language,
        "Your complaint has been registered with tracking number {tracking}.\n\n{summary}\n\nIt will be followed up within {standard}, by {due}. To ask about its progress, send: STATUS {tracking}",
        tracking=complaint.tracking_number,
        summary=summary,
        standard=standard.describe(language),
        due=follow_up_due_text(profile, complaint.received_at, language),
    )


def follow_up_due_text(profile: Profile, received_at: datetime, language: str) -> str:
    """The day the promised follow-up is due, in words (``Senin, 7 Desember 2026``).

    Counted by :meth:`handlers.texts.Duration.due` from ``received_at`` on the
    office calendar. Raises ``ValueError`` when the profile promises none
    (``follow_up_standard`` is ``None``: the SOP sets no follow-up time).
    """
    standard = profile.follow_up_standard
    if standard is None:
        raise ValueError(f"profile {profile.id} promises no follow-up time")
    due = standard.due(received_at, profile.office.calendar())
    return format_date(
        due.astimezone(ZoneInfo(profile.office.timezone)), format="full", locale=language
    )


def follow_up_promise(profile: Profile, language: str) -> str | None:
    """The follow-up time promised to complainants (``3 hari kerja``), or ``None``
    when the SOP sets none (SOP-7.9-1, PM-BAPKM.AP.1-24: no time standard)."""
    standard = profile.follow_up_standard
    return standard.describe(language) if standard is not None else None


def _note(profile: Profile, language: str) -> str:
    """The profile's follow-up note and a paragraph break, or ``""``."""
    note = profile.follow_up.note
    return f"{note.get(language)}\n\n" if note is not None else ""


def short_acknowledgement_text(
    profile: Profile, complaint: Complaint, language: str, track_link: str | None
) -> str:
    """The acknowledgement for an address that has not written to the office before.

    Only what the office itself decides: the tracking number, the follow-up
    time standard and its due day, the tracking link (``track_link``, may be
    ``None``) and what to do if the recipient did not file it — never what
    was typed on the form (docs/web-form.md, "Acknowledgement"), so that the
    public form cannot be used to send anybody a text of one's choosing.
    """
    standard = profile.follow_up_standard
    if standard is None:
        first = t(
            language,
            "A complaint naming this address was registered on our web form with tracking number {tracking}.",
            tracking=complaint.tracking_number,
        )
        note = profile.follow_up.note
        parts = [f"{first} {note.get(language)}" if note is not None else first]
    else:
        parts = [
            t(
                language,
                "A complaint naming this address was registered on our web form with tracking number {tracking}. It will be followed up within {standard}, by {due}.",
                tracking=complaint.tracking_number,
                standard=standard.describe(language),
                due=follow_up_due_text(profile, complaint.received_at, language),
            )
        ]
    if track_link:
        parts.append(
            t(
                language,
                "Follow its progress at {link} with this address.",
                link=track_link,
            )
        )
    parts.append(
        t(
            language,
            "If you did not send this complaint, you can ignore this message.",
        )
    )
    return "\n\n".join(parts)
