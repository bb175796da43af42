"""What the intake bot says: questions, the summary to confirm, status answers.

Texts are English message ids translated through the gettext catalogue
(``handlers/locale/id/LC_MESSAGES/aduan.po``, Indonesian first); the texts an
office words itself — field prompts, the office's name — come from its SOP
profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from handlers.appeals import AppealProgress, describe_progress
from handlers.dates import format_moment
from handlers.i18n import t, tn
from handlers.profile import IntakeField, Profile
from handlers.registration import shown_value
from storage.models import Complaint


def summary(
    profile: Profile, values: Mapping[str, object], language: str, *, numbered: bool
) -> str:
    """One line per filled field in profile order: ``1. Label: value`` or ``- Label: value``."""
    lines = []
    for index, field in enumerate(profile.intake.fields, start=1):
        if not values.get(field.key):
            continue
        prefix = f"{index}. " if numbered else "- "
        lines.append(f"{prefix}{field.label.get(language)}: {shown_value(field, values, language)}")
    return "\n".join(lines)


def confirm_text(profile: Profile, values: Mapping[str, object], language: str) -> str:
    """The numbered summary and how to answer it (chat)."""
    return t(
        language,
        "Please check your complaint:\n\n{summary}\n\nReply YES to submit it, or the number of the part you want to change. Reply CANCEL to stop.",
        summary=summary(profile, values, language, numbered=True),
    )


def confirm_hint(profile: Profile, language: str) -> str:
    """The reminder of what the summary accepts, after an answer it could not use."""
    return t(
        language,
        "Please reply YES to submit, a number from 1 to {count} to change a part, or CANCEL. You can also write the correction, for example: the name is Budi Santoso.",
        count=len(profile.intake.fields),
    )


def prompt(field: IntakeField, language: str, suggestion: str | None = None) -> str:
    """The question for ``field``, offering the chat profile name when there is one."""
    text = field.prompt.get(language)
    if suggestion:
        text += "\n" + t(
            language, "Is it {name}? Reply YES, or type the right one.", name=suggestion
        )
    return text


def name_itself(language: str) -> str:
    """Said when an answer points at a name without giving it ("untuk kantor kami")."""
    return t(language, "Please write the name itself.")


def clarify_prompt(language: str) -> str:
    """The one follow-up to a vague complaint ("pelayanannya buruk sekali")."""
    return t(
        language,
        "We are sorry to hear that. Could you tell us what happened? For example which service, when, and what went wrong.",
    )


def welcome(profile: Profile, language: str) -> str:
    """The first line of the first answer on chat."""
    return t(
        language, "Thank you for contacting {office}.", office=profile.office.name.get(language)
    )


def privacy_line(language: str, url: str) -> str:
    """The one-line privacy notice of a conversation's first answer on any
    channel, with the link to the full notice (UU PDP art. 16(2); docs/privacy.md)."""
    return t(language, "How we protect your personal data: {url}", url=url)


def corrected(language: str) -> str:
    """Said before the question or summary that follows a correction."""
    return t(language, "Noted, we have corrected it.")


def email_request(
    profile: Profile, missing: list[IntakeField], errors: Mapping[str, str], language: str
) -> str:
    """The one mail asking for every missing field, with an example to copy."""
    lines = []
    for field in missing:
        line = f"- {field.label.get(language)}: {field.prompt.get(language)}"
        if field.key in errors:
            line += f"\n  ({errors[field.key]})"
        lines.append(line)
    example = "\n".join(f"{f.label.get(language)}: ..." for f in missing)
    intro = t(
        language,
        "Thank you for your message to {office}.",
        office=profile.office.name.get(language),
    )
    body = t(
        language,
        "To record your complaint we still need the following. Please reply to this message with:\n\n{fields}\n\nYou may write each on its own line, for example:\n{example}",
        fields="\n".join(lines),
        example=example,
    )
    return f"{intro}\n\n{body}"


def not_text(language: str) -> str:
    """The answer to a sticker, photo or voice note while a question is open."""
    return t(language, "Thank you. We can only read typed text here, so please type your answer.")


def help_text(profile: Profile, language: str) -> str:
    """The answer to BANTUAN / HELP."""
    return t(
        language,
        "This is the complaint service of {office}.\n\nTo file a complaint, just tell us the problem; we will ask for what we still need (your name, the customer or participant name, and the problem).\n\nCommands:\nSTATUS <tracking number> - the progress of your complaint\nCANCEL - cancel the draft you are filling in\nHELP - this message",
        office=profile.office.name.get(language),
    )


def nothing_to_cancel(language: str) -> str:
    """The answer to BATAL without a draft."""
    return t(
        language,
        "There is no complaint draft to cancel. To ask about a registered complaint, send: STATUS <tracking number>.",
    )


def cancelled(language: str) -> str:
    """The answer to BATAL on a draft."""
    return t(
        language,
        "Your complaint draft has been cancelled. What you sent is kept on record. Send a new message whenever you want to start again.",
    )


def not_found(language: str, tracking: str) -> str:
    """A tracking number this contact did not file."""
    return t(
        language,
        "We found no complaint {tracking} filed from this contact. Please check the number.",
        tracking=tracking,
    )


def appeals_elsewhere(profile: Profile, language: str) -> str:
    """BANDING under a profile without appeals."""
    return t(
        language,
        "Appeals are not handled through this service; please contact {office} directly.",
        office=profile.office.name.get(language),
    )


def added_to_complaint(language: str, tracking: str, chat: bool) -> str:
    """The answer to a message about a registered complaint."""
    text = t(
        language,
        "Thank you. Your message has been added to complaint {tracking}; the officer handling it will see it.",
        tracking=tracking,
    )
    if chat:
        text += "\n" + t(language, "To file a different complaint, send NEW.")
    return text


def rating_thanks(language: str) -> str:
    """The answer to a satisfaction score."""
    return t(language, "Thank you for your rating.")


def status_text(
    profile: Profile, complaint: Complaint, language: str, appeal: AppealProgress | None = None
) -> str:
    """The answer to ``status <tracking number>``: the current step (the profile's
    name for it) and, while a step runs, when it is due; then, when there is an
    ``appeal``, its step and due time (PR-LS-8.1.4)."""
    status = profile.status_label(complaint.status, language)
    state = profile.workflow.states.get(complaint.status)

    def local(when: datetime) -> str:
        return format_moment(when, profile.office.timezone)

    text = t(
        language,
        "Complaint {tracking}: {status}.\nReceived: {received}.\nLast update: {updated}.",
        tracking=complaint.tracking_number,
        status=status,
        received=local(complaint.received_at),
        updated=local(complaint.updated_at),
    )
    if complaint.step_due_at is not None and (state is None or not state.final):
        text += "\n" + t(
            language, "Next step expected by: {date}.", date=local(complaint.step_due_at)
        )
    if appeal is not None:
        text += "\n" + describe_progress(appeal, language)
        if appeal.due_at is not None:
            text += "\n" + t(language, "Next step expected by: {date}.", date=local(appeal.due_at))
    return text


def expiry_text(profile: Profile, language: str) -> str:
    """The message sent when a draft expires (kept on record, never dropped silently)."""
    hours = profile.intake.conversation_ttl_hours
    # A fraction of an hour takes the plural, as in "1.5 hours" (the count 2 picks it).
    count = int(hours) if hours.is_integer() else 2
    return tn(
        language,
        "Your complaint draft was closed because we received no reply for {hours} hour. What you sent is kept on record; send a new message to start again.",
        "Your complaint draft was closed because we received no reply for {hours} hours. What you sent is kept on record; send a new message to start again.",
        count,
        hours=format(hours, "g"),
    )
