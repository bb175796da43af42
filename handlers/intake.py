"""The intake conversation engine (issue 2, item 6; DESIGN.md "Conversations are data").

For each inbound message the engine, inside the processor's transaction:

1. links automatic mail (rule 6) to its thread and answers nothing;
2. answers commands (``batal``, ``bantuan``, ``status ADU-…``);
3. finds the conversation or complaint the message belongs to (email: by
   In-Reply-To/References or the tracking number in the subject; chat: the
   contact's open draft on that channel);
4. fills fields from what the message gives (structured form fields, ``Label:
   value`` lines, "nama saya Budi dari PT Sinar Jaya, …", the email From name),
   validates them against the profile, and asks for what is missing — one
   question at a time on chat, one message listing everything on email;
5. on chat confirms a numbered summary; then registers the complaint with a
   tracking number and acknowledges it with the follow-up time standard — or,
   when the profile's acceptance window rejected it at registration
   (SOP-7.9-1 item 3, :mod:`handlers.acceptance`), sends only the rejection
   notice with the reason.

Every reply is an outbox row written in the same transaction (rule 4).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelName
from gateway.i18n import normalise_language, t
from gateway.outbox import Draft, OutboxWriter
from handlers.appeals import AppealProgress, appeal_progress, describe_progress, open_appeal
from handlers.commands import Command, CommandKind, parse_command, tracking_pattern
from handlers.dates import format_moment, office_today
from handlers.extract import extract_fields, labelled_values, merge_candidates, single_answer
from handlers.language import detect_language
from handlers.notifications import REPLYABLE
from handlers.profile import IntakeField, Profile
from handlers.registration import acknowledgement_text, initial_status, register_complaint
from handlers.validation import check_value, display_value
from storage.models import (
    OPEN_CONVERSATION_STATES,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    Conversation,
    ConversationState,
    Message,
)
from storage.types import utcnow

#: Channels whose own address can carry replies (the others answer via the
#: contact's email or phone given in the form).
INTERACTIVE = frozenset({ChannelName.WHATSAPP, ChannelName.SMS, ChannelName.TELEGRAM})
THREADED = frozenset({ChannelName.EMAIL, ChannelName.API})

#: A complaint in one of these states no longer takes the complainant's messages.
FINISHED_STATUSES = (ComplaintStatus.CLOSED, ComplaintStatus.ARCHIVED, ComplaintStatus.REJECTED)

_YES = frozenset(
    "ya y iya iyah yes yep benar betul ok oke okay okey sip setuju kirim sudah lanjut confirm".split()
)

STATUS_NAMES = {
    ComplaintStatus.RECEIVED: "Received",
    ComplaintStatus.VERIFIED: "Verified",
    ComplaintStatus.REJECTED: "Rejected",
    ComplaintStatus.IN_FOLLOW_UP: "In follow-up",
    ComplaintStatus.CAPA_RECORDED: "Corrective action recorded",
    ComplaintStatus.RESULT_VERIFIED: "Result verified",
    ComplaintStatus.CLOSED: "Closed",
    ComplaintStatus.ARCHIVED: "Archived",
}

Route = tuple[str, str]
"""(channel, recipient) a reply goes to."""

RouteFinder = Callable[[Message], Route | None]


def default_route(enabled_channels: frozenset[str]) -> RouteFinder:
    """Reply on the message's own channel; web form and API messages are answered
    by email when the contact gave an email address and email is on."""

    def route(message: Message) -> Route | None:
        if message.channel in REPLYABLE:
            return (message.channel, message.sender)
        if "@" in message.sender and ChannelName.EMAIL in enabled_channels:
            return (ChannelName.EMAIL.value, message.sender)
        return None

    return route


_RATING = re.compile(r"\s*([1-5])\s*[.!]?\s*")


def _is_yes(text: str) -> bool:
    """A short agreement such as "ya", "iya benar", "ok kirim", "yes"."""
    words = re.findall(r"[\w']+", text.lower())
    return bool(words) and words[0] in _YES and len(words) <= 4


class IntakeEngine:
    """Drives intake conversations for one SOP profile.

    ``route`` decides where replies go; ``writer`` stages them in the outbox.
    ``handle`` must run inside a transaction and never commits.
    """

    def __init__(
        self,
        profile: Profile,
        writer: OutboxWriter,
        route: RouteFinder,
        enabled_channels: Collection[str] = (),
    ) -> None:
        self.profile = profile
        self.writer = writer
        self.route = route
        self.enabled_channels = enabled_channels
        workflow = profile.workflow
        #: States in which a complaint no longer takes the complainant's messages.
        self.finished_states = (
            [name for name, state in workflow.states.items() if state.final]
            if workflow is not None
            else [s.value for s in FINISHED_STATUSES]
        )
        self.ttl = timedelta(hours=profile.intake.conversation_ttl_hours)
        self._tracking = tracking_pattern(profile.tracking_prefix)

    # ----------------------------------------------------------------- entry

    async def handle(self, session: AsyncSession, msg: Message) -> None:
        """Process one stored inbound message (see the module docstring)."""
        language = normalise_language(
            msg.language or detect_language(f"{msg.subject or ''}\n{msg.text}")
        )
        conversation, complaint = await self._find_target(session, msg)
        if conversation is not None:
            msg.conversation_id = conversation.id
        if complaint is not None:
            msg.complaint_id = complaint.id
        if msg.automatic:
            return
        if conversation is None and await self._satisfaction(session, msg, complaint, language):
            return

        # A form's problem text is never a command ("status ADU-…" is a complaint there).
        command = (
            None
            if msg.channel == ChannelName.WEB
            else parse_command(msg.text or msg.subject or "", self.profile.tracking_prefix)
        )
        if command is not None and command.kind is CommandKind.NEW:
            # Start a fresh draft even though a complaint is open.
            msg.complaint_id = None
            if conversation is not None:
                await self._answer(session, msg, conversation)
                return
            conversation = await self._new_conversation(session, msg, command.language or language)
            await self._advance(session, msg, conversation, {}, first=True)
            return
        if command is not None:
            await self._command(session, msg, command, conversation, command.language or language)
            return

        if conversation is None and complaint is not None:
            await self._follow_up(session, msg, complaint)
            return

        if conversation is None:
            conversation = await self._new_conversation(session, msg, language)
            await self._first_message(session, msg, conversation)
        else:
            if msg.language:
                conversation.language = normalise_language(msg.language)
            await self._answer(session, msg, conversation)

    async def _new_conversation(
        self, session: AsyncSession, msg: Message, language: str
    ) -> Conversation:
        conversation = Conversation(
            contact_id=msg.contact_id,
            channel=msg.channel,
            state=ConversationState.COLLECTING.value,
            language=language,
            fields={},
            suggestions={"complainant_name": msg.sender_name}
            if msg.sender_name and msg.channel in INTERACTIVE
            else {},
            asked=[],
        )
        session.add(conversation)
        await session.flush()
        msg.conversation_id = conversation.id
        return conversation

    # -------------------------------------------------------------- targets

    async def _find_target(
        self, session: AsyncSession, msg: Message
    ) -> tuple[Conversation | None, Complaint | None]:
        """The open conversation and/or registered complaint this message continues."""
        if msg.channel in THREADED:
            refs = [r for r in (msg.thread_refs or []) if isinstance(r, str)]
            if refs:
                row = (
                    await session.execute(
                        select(Message.conversation_id, Message.complaint_id)
                        .where(
                            Message.channel == msg.channel,
                            Message.external_id.in_(refs),
                            Message.contact_id == msg.contact_id,
                        )
                        .order_by(Message.id.desc())
                        .limit(1)
                    )
                ).first()
                if row is not None:
                    return await self._resolve(session, row.conversation_id, row.complaint_id)
            match = self._tracking.search(msg.subject or "")
            if match:
                complaint = await session.scalar(
                    select(Complaint).where(
                        Complaint.tracking_number == match.group(1).upper(),
                        Complaint.contact_id == msg.contact_id,
                    )
                )
                if complaint is not None:
                    return None, complaint
            return None, None
        if msg.channel in INTERACTIVE:
            conversation = await session.scalar(
                select(Conversation)
                .where(
                    Conversation.contact_id == msg.contact_id,
                    Conversation.channel == msg.channel,
                    Conversation.state.in_([s.value for s in OPEN_CONVERSATION_STATES]),
                )
                .order_by(Conversation.id.desc())
                .limit(1)
            )
            if conversation is not None:
                return conversation, None
            # A number with an open complaint continues that complaint's thread
            # (issue 3, item 4); "baru" starts a new complaint instead.
            complaint = await session.scalar(
                select(Complaint)
                .where(
                    Complaint.contact_id == msg.contact_id,
                    Complaint.status.not_in(self.finished_states),
                )
                .order_by(Complaint.id.desc())
                .limit(1)
            )
            return None, complaint
        return None, None

    async def _resolve(
        self, session: AsyncSession, conversation_id: int | None, complaint_id: int | None
    ) -> tuple[Conversation | None, Complaint | None]:
        conversation = (
            await session.get(Conversation, conversation_id)
            if conversation_id is not None
            else None
        )
        if conversation is not None and conversation.complaint_id is not None:
            complaint_id = complaint_id or conversation.complaint_id
        complaint = await session.get(Complaint, complaint_id) if complaint_id is not None else None
        if conversation is not None and conversation.state not in [
            s.value for s in OPEN_CONVERSATION_STATES
        ]:
            conversation = None
        return conversation, complaint

    # ------------------------------------------------------------- commands

    async def _command(
        self,
        session: AsyncSession,
        msg: Message,
        command: Command,
        conversation: Conversation | None,
        language: str,
    ) -> None:
        office = self.profile.office.name.get(language)
        if command.kind is CommandKind.HELP:
            text = t(
                language,
                "This is the complaint service of {office}.\n\nTo file a complaint, just tell us the problem; we will ask for what we still need (your name, the customer or participant name, and the problem).\n\nCommands:\nSTATUS <tracking number> - the progress of your complaint\nCANCEL - cancel the draft you are filling in\nHELP - this message",
                office=office,
            )
            await self._reply(session, msg, text, language, conversation=conversation)
        elif command.kind is CommandKind.CANCEL:
            if conversation is None:
                text = t(
                    language,
                    "There is no complaint draft to cancel. To ask about a registered complaint, send: STATUS <tracking number>.",
                )
            else:
                conversation.state = ConversationState.CANCELLED.value
                conversation.closed_at = utcnow()
                conversation.expires_at = None
                text = t(
                    language,
                    "Your complaint draft has been cancelled. What you sent is kept on record. Send a new message whenever you want to start again.",
                )
            await self._reply(session, msg, text, language, conversation=conversation)
        elif command.kind is CommandKind.APPEAL:
            await self._appeal(session, msg, command, conversation, language)
        else:
            tracking = command.argument or ""
            complaint = await session.scalar(
                select(Complaint).where(
                    Complaint.tracking_number == tracking,
                    Complaint.contact_id == msg.contact_id,
                )
            )
            if complaint is None:
                text = t(
                    language,
                    "We found no complaint {tracking} filed from this contact. Please check the number.",
                    tracking=tracking,
                )
            else:
                msg.complaint_id = complaint.id
                progress = await appeal_progress(session, profile=self.profile, complaint=complaint)
                text = self.status_text(complaint, language, progress)
            await self._reply(
                session, msg, text, language, conversation=conversation, complaint=complaint
            )

    async def _appeal(
        self,
        session: AsyncSession,
        msg: Message,
        command: Command,
        conversation: Conversation | None,
        language: str,
    ) -> None:
        """``banding ADU-… <reason>``: open an appeal on the sender's own complaint.

        The answer (received, or refused and why) goes to the complaint's
        channel through :func:`handlers.appeals.open_appeal`.
        """
        tracking = command.argument or ""
        complaint = await session.scalar(
            select(Complaint).where(
                Complaint.tracking_number == tracking, Complaint.contact_id == msg.contact_id
            )
        )
        if complaint is not None and self.profile.appeal is None:
            text = t(
                language,
                "Appeals are not handled through this service; please contact {office} directly.",
                office=self.profile.office.name.get(language),
            )
            await self._reply(session, msg, text, language, conversation=conversation)
            return
        if complaint is None:
            text = t(
                language,
                "We found no complaint {tracking} filed from this contact. Please check the number.",
                tracking=tracking,
            )
            await self._reply(session, msg, text, language, conversation=conversation)
            return
        msg.complaint_id = complaint.id
        await open_appeal(
            session,
            profile=self.profile,
            writer=self.writer,
            complaint=complaint,
            reason=command.detail or msg.text,
            opened_by=f"complainant:{msg.channel}",
            enabled_channels=self.enabled_channels,
        )

    def status_text(
        self, complaint: Complaint, language: str, appeal: AppealProgress | None = None
    ) -> str:
        """The answer to ``status <tracking number>`` for ``complaint``: the current
        step (the profile's name for it) and, while a step runs, when it is due;
        then, when there is an ``appeal``, its step and due time (PR-LS-8.1.4)."""
        workflow = self.profile.workflow
        state = workflow.states.get(complaint.status) if workflow is not None else None
        if state is not None:
            status = state.label.get(language)
        else:
            status = t(
                language, STATUS_NAMES.get(ComplaintStatus(complaint.status), complaint.status)
            )
        text = t(
            language,
            "Complaint {tracking}: {status}.\nReceived: {received}.\nLast update: {updated}.",
            tracking=complaint.tracking_number,
            status=status,
            received=self._local(complaint.received_at),
            updated=self._local(complaint.updated_at),
        )
        if complaint.step_due_at is not None and (state is None or not state.final):
            text += "\n" + t(
                language, "Next step expected by: {date}.", date=self._local(complaint.step_due_at)
            )
        if appeal is not None:
            text += "\n" + describe_progress(appeal, language)
            if appeal.due_at is not None:
                text += "\n" + t(
                    language, "Next step expected by: {date}.", date=self._local(appeal.due_at)
                )
        return text

    def _local(self, when: datetime) -> str:
        return format_moment(when, self.profile.office.timezone)

    # ------------------------------------------------------------ satisfaction

    async def _satisfaction(
        self,
        session: AsyncSession,
        msg: Message,
        complaint: Complaint | None,
        language: str,
    ) -> bool:
        """Record a 1-5 rating answering the closing notice; True when it was one.

        The message must be just the number; it rates the contact's most
        recent complaint that was asked (its state is in the workflow's
        ``satisfaction_after``) and not yet rated, closed at most 30 days ago.
        """
        match = _RATING.fullmatch(msg.text or "")
        workflow = self.profile.workflow
        if match is None or workflow is None:
            return False
        if complaint is None or complaint.status not in workflow.satisfaction_after:
            complaint = await session.scalar(
                select(Complaint)
                .where(
                    Complaint.contact_id == msg.contact_id,
                    Complaint.status.in_(workflow.satisfaction_after),
                    Complaint.satisfaction.is_(None),
                    Complaint.step_started_at >= utcnow() - timedelta(days=30),
                )
                .order_by(Complaint.step_started_at.desc())
                .limit(1)
            )
        if complaint is None or complaint.satisfaction is not None:
            return False
        score = int(match.group(1))
        complaint.satisfaction = score
        complaint.satisfaction_at = utcnow()
        msg.complaint_id = complaint.id
        session.add(
            ComplaintEvent(
                complaint_id=complaint.id,
                actor=f"complainant:{msg.channel}",
                kind="satisfaction",
                note=str(score),
                data={"score": score, "message_id": msg.id},
            )
        )
        await self._reply(
            session,
            msg,
            t(complaint.language, "Thank you for your rating."),
            complaint.language,
            complaint=complaint,
        )
        return True

    # ---------------------------------------------------------- follow-ups

    async def _follow_up(self, session: AsyncSession, msg: Message, complaint: Complaint) -> None:
        """A complainant's message about a registered complaint: record it, acknowledge."""
        session.add(
            ComplaintEvent(
                complaint_id=complaint.id,
                actor=f"complainant:{msg.channel}",
                kind="complainant_message",
                data={"message_id": msg.id},
            )
        )
        language = complaint.language
        text = t(
            language,
            "Thank you. Your message has been added to complaint {tracking}; the officer handling it will see it.",
            tracking=complaint.tracking_number,
        )
        if msg.channel in INTERACTIVE:
            text += "\n" + t(language, "To file a different complaint, send NEW.")
        await self._reply(session, msg, text, language, complaint=complaint)

    # ------------------------------------------------------------- collecting

    async def _first_message(self, session: AsyncSession, msg: Message, conv: Conversation) -> None:
        fields = self.profile.intake.fields
        text = msg.text if (msg.text or "").strip() else (msg.subject or "")
        given = dict(msg.fields or {})
        # An email From name is how the complainant signs; a chat profile name
        # is only a suggestion to confirm (issue 3, item 3).
        from_name = (
            {"complainant_name": msg.sender_name}
            if msg.sender_name and msg.channel not in INTERACTIVE
            else {}
        )
        candidates = merge_candidates(given, extract_fields(text, fields), from_name)
        errors = self._accept(conv, candidates, only_valid=True, today=self._today(msg))
        await self._advance(session, msg, conv, errors, first=True)

    async def _answer(self, session: AsyncSession, msg: Message, conv: Conversation) -> None:
        text = msg.text or ""
        fields = self.profile.intake.fields
        if conv.state == ConversationState.CONFIRMING.value:
            await self._confirming(session, msg, conv, text)
            return
        asked = [k for k in (conv.asked or []) if isinstance(k, str)]
        if not text.strip() and msg.channel in INTERACTIVE:
            await self._not_text(session, msg, conv, asked)
            return
        labelled = labelled_values(text, fields)
        suggestion = (conv.suggestions or {}).get(asked[0]) if len(asked) == 1 else None
        if labelled:
            candidates = labelled
        elif suggestion and _is_yes(text):
            candidates = {asked[0]: str(suggestion)}
        elif len(asked) == 1:
            candidates = {asked[0]: single_answer(text)}
        elif asked:
            candidates = extract_fields(text, fields)
            if not candidates:
                lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
                if len(lines) == len(asked):
                    candidates = dict(zip(asked, lines, strict=True))
                elif text.strip():
                    candidates = {asked[0]: text.strip()}
        else:
            candidates = extract_fields(text, fields)
        errors = self._accept(conv, candidates, only_valid=False, today=self._today(msg))
        await self._advance(session, msg, conv, errors, first=False)

    def _today(self, msg: Message) -> date:
        """The office-local day ``msg`` was received: what "kemarin" counts from."""
        return office_today(self.profile.office.timezone, msg.received_at)

    def _accept(
        self,
        conv: Conversation,
        candidates: Mapping[str, str],
        *,
        only_valid: bool,
        today: date,
    ) -> dict[str, str]:
        """Store valid candidates in the draft; return field key → error for invalid ones.

        With ``only_valid`` (first message, guessed values) invalid guesses are
        dropped silently and the field is simply asked. ``today`` is the
        office-local day relative dates are read from.
        """
        values = dict(conv.fields or {})
        errors: dict[str, str] = {}
        for field in self.profile.intake.fields:
            raw = candidates.get(field.key)
            if raw is None:
                continue
            checked = check_value(
                field, raw, conv.language, today=today, timezone=self.profile.office.timezone
            )
            if checked.value is not None:
                values[field.key] = checked.value
            elif not only_valid:
                errors[field.key] = checked.error or ""
        conv.fields = values
        return errors

    def _missing(self, conv: Conversation) -> list[IntakeField]:
        values = conv.fields or {}
        return [f for f in self.profile.intake.fields if f.required and not values.get(f.key)]

    async def _advance(
        self,
        session: AsyncSession,
        msg: Message,
        conv: Conversation,
        errors: Mapping[str, str],
        *,
        first: bool,
    ) -> None:
        conv.expires_at = utcnow() + self.ttl
        language = conv.language
        missing = self._missing(conv)
        interactive = msg.channel in INTERACTIVE
        if not missing:
            if interactive:
                conv.state = ConversationState.CONFIRMING.value
                conv.asked = []
                await self._reply(
                    session, msg, self._confirm_text(conv), language, conversation=conv
                )
            else:
                await self._register(session, msg, conv)
            return

        conv.state = ConversationState.COLLECTING.value
        office = self.profile.office.name.get(language)
        if interactive:
            field = next((f for f in missing if f.key in errors), missing[0])
            conv.asked = [field.key]
            parts = []
            if first:
                parts.append(t(language, "Thank you for contacting {office}.", office=office))
            if field.key in errors:
                parts.append(errors[field.key])
            parts.append(self._prompt(conv, field))
            await self._reply(session, msg, "\n\n".join(parts), language, conversation=conv)
            return

        conv.asked = [f.key for f in missing]
        lines = []
        for field in missing:
            line = f"- {field.label.get(language)}: {field.prompt.get(language)}"
            if field.key in errors:
                line += f"\n  ({errors[field.key]})"
            lines.append(line)
        example = "\n".join(f"{f.label.get(language)}: ..." for f in missing)
        intro = t(language, "Thank you for your message to {office}.", office=office)
        body = t(
            language,
            "To record your complaint we still need the following. Please reply to this message with:\n\n{fields}\n\nYou may write each on its own line, for example:\n{example}",
            fields="\n".join(lines),
            example=example,
        )
        await self._reply(session, msg, f"{intro}\n\n{body}", language, conversation=conv)

    def _prompt(self, conv: Conversation, field: IntakeField) -> str:
        """The question for ``field``, offering the chat profile name when there is one."""
        prompt = field.prompt.get(conv.language)
        suggestion = (conv.suggestions or {}).get(field.key)
        if suggestion:
            prompt += "\n" + t(
                conv.language,
                "Is it {name}? Reply YES, or type the right one.",
                name=suggestion,
            )
        return prompt

    async def _not_text(
        self, session: AsyncSession, msg: Message, conv: Conversation, asked: list[str]
    ) -> None:
        """A sticker, location, voice note or file without text: keep it, ask again politely."""
        conv.expires_at = utcnow() + self.ttl
        parts = [
            t(
                conv.language,
                "Thank you. We can only read typed text here, so please type your answer.",
            )
        ]
        if conv.state == ConversationState.CONFIRMING.value:
            parts.append(self._confirm_text(conv))
        elif asked:
            parts.append(self._prompt(conv, self.profile.field(asked[0])))
        await self._reply(session, msg, "\n\n".join(parts), conv.language, conversation=conv)

    # ------------------------------------------------------------ confirming

    def _summary(self, values: Mapping[str, str], language: str, numbered: bool) -> str:
        lines = []
        for index, field in enumerate(self.profile.intake.fields, start=1):
            value = values.get(field.key)
            if not value:
                continue
            prefix = f"{index}. " if numbered else "- "
            shown = display_value(field, str(value), language)
            lines.append(f"{prefix}{field.label.get(language)}: {shown}")
        return "\n".join(lines)

    def _confirm_text(self, conv: Conversation) -> str:
        language = conv.language
        return t(
            language,
            "Please check your complaint:\n\n{summary}\n\nReply YES to submit it, or the number of the part you want to change. Reply CANCEL to stop.",
            summary=self._summary(conv.fields or {}, language, numbered=True),
        )

    async def _confirming(
        self, session: AsyncSession, msg: Message, conv: Conversation, text: str
    ) -> None:
        if not text.strip() and msg.channel in INTERACTIVE:
            await self._not_text(session, msg, conv, [])
            return
        fields = self.profile.intake.fields
        language = conv.language
        conv.expires_at = utcnow() + self.ttl
        if _is_yes(text):
            await self._register(session, msg, conv)
            return
        number = re.fullmatch(r"\s*(\d{1,2})\s*[.)]?\s*", text)
        if number and 1 <= int(number.group(1)) <= len(fields):
            field = fields[int(number.group(1)) - 1]
            conv.state = ConversationState.COLLECTING.value
            conv.asked = [field.key]
            await self._reply(session, msg, field.prompt.get(language), language, conversation=conv)
            return
        labelled = labelled_values(text, fields)
        if labelled:
            errors = self._accept(conv, labelled, only_valid=False, today=self._today(msg))
            await self._advance(session, msg, conv, errors, first=False)
            return
        hint = t(
            language,
            "Please reply YES to submit, a number from 1 to {count} to change a part, or CANCEL.",
            count=len(fields),
        )
        await self._reply(session, msg, hint, language, conversation=conv)

    # ------------------------------------------------------------ registering

    async def _register(self, session: AsyncSession, msg: Message, conv: Conversation) -> None:
        language = conv.language
        received_at = await session.scalar(
            select(func.min(Message.received_at)).where(Message.conversation_id == conv.id)
        )
        values = {k: str(v) for k, v in (conv.fields or {}).items()}
        first_ref = await session.scalar(
            select(Message.external_id)
            .where(Message.conversation_id == conv.id, Message.direction == "in")
            .order_by(Message.id)
            .limit(1)
        )
        complaint = await register_complaint(
            session,
            profile=self.profile,
            contact_id=msg.contact_id,
            channel=conv.channel,
            contact_address=msg.sender,
            values=values,
            received_at=received_at or msg.received_at,
            received_by=f"channel:{conv.channel}",
            language=language,
            conversation_id=conv.id,
            thread_key=first_ref if conv.channel == ChannelName.EMAIL else None,
            writer=self.writer,
            enabled_channels=self.enabled_channels,
        )
        conv.state = ConversationState.REGISTERED.value
        conv.complaint_id = complaint.id
        conv.closed_at = utcnow()
        conv.expires_at = None
        conv.asked = []
        msg.complaint_id = complaint.id
        await session.execute(
            update(Message)
            .where(Message.conversation_id == conv.id, Message.complaint_id.is_(None))
            .values(complaint_id=complaint.id)
            .execution_options(synchronize_session=False)
        )
        if complaint.status != initial_status(self.profile):
            # Rejected at registration (acceptance window, SOP-7.9-1 item 3): the
            # rejection notice with the reason has been staged to the complainant
            # and replaces the acknowledgement, which would promise a follow-up.
            return
        text = acknowledgement_text(self.profile, complaint, values, language)
        await self._reply(session, msg, text, language, conversation=conv, complaint=complaint)

    # ---------------------------------------------------------------- replies

    async def _reply(
        self,
        session: AsyncSession,
        msg: Message,
        text: str,
        language: str,
        *,
        conversation: Conversation | None = None,
        complaint: Complaint | None = None,
    ) -> None:
        """Stage ``text`` in the outbox as the answer to ``msg``.

        Nothing is sent for a message received longer ago than the draft
        lifetime (e.g. old mail found when a mailbox is first connected): it
        is recorded and handled as usual, visible to staff, but the
        complainant is not woken up by a bot answer to a stale message.
        """
        if msg.received_at < utcnow() - self.ttl:
            return
        route = self.route(msg)
        if route is None:
            return
        channel, recipient = route
        subject = None
        refs: tuple[str, ...] = ()
        if channel == ChannelName.EMAIL:
            subject = self._subject(msg, complaint, language)
            if msg.channel == ChannelName.EMAIL and msg.external_id:
                refs = (
                    msg.external_id,
                    *[r for r in (msg.thread_refs or []) if isinstance(r, str)],
                )
        await self.writer.add(
            session,
            Draft(
                channel=channel,
                recipient=recipient,
                text=text,
                contact_id=msg.contact_id,
                subject=subject,
                thread_refs=refs,
                language=language,
                complaint_id=complaint.id if complaint else msg.complaint_id,
                conversation_id=conversation.id if conversation else msg.conversation_id,
            ),
        )

    def _subject(self, msg: Message, complaint: Complaint | None, language: str) -> str:
        base = (msg.subject or "").strip() if msg.channel == ChannelName.EMAIL else ""
        if not base:
            base = t(language, "Your complaint")
        elif not re.match(r"^(re|aw|balas)\s*:", base, re.IGNORECASE):
            base = f"Re: {base}"
        if complaint is not None and complaint.tracking_number not in base:
            base = f"{base} [{complaint.tracking_number}]"
        return base


async def expire_conversation(
    engine: IntakeEngine, session: AsyncSession, conversation: Conversation
) -> None:
    """Close an abandoned draft: state ``expired``, kept with its messages, and the
    complainant told on the channel of their last message (issue 2, item 6)."""
    conversation.state = ConversationState.EXPIRED.value
    conversation.closed_at = utcnow()
    conversation.expires_at = None
    last = await session.scalar(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.direction == "in")
        .order_by(Message.id.desc())
        .limit(1)
    )
    if last is not None:
        text = expiry_text(engine.profile, conversation.language)
        await engine._reply(session, last, text, conversation.language, conversation=conversation)


def expiry_text(profile: Profile, language: str) -> str:
    """The message sent when a draft expires (kept on record, never dropped silently)."""
    return t(
        language,
        "Your complaint draft was closed because we received no reply for {hours} hours. What you sent is kept on record; send a new message to start again.",
        hours=f"{profile.intake.conversation_ttl_hours:g}",
    )
