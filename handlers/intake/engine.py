"""The intake conversation: one turn in, the right question (or a tracking number) out.

For each turn — one mail, one form, or a burst of chat messages sent before
the bot answered (:mod:`handlers.intake.turns`) — the engine runs, inside the
processor's transaction, the steps of :attr:`IntakeEngine.STEPS` in order
until one of them handles the turn:

1. ``link``: find the draft or complaint the turn continues (email: by
   In-Reply-To/References or the tracking number in the subject; chat: the
   contact's open draft on that channel, else their open complaint);
2. ``automatic``: an automatic mail (reliability rule 6) is linked, never answered;
   ``channel``: a message on a channel the profile does not list is kept for
   staff and the sender told the office's channels (:mod:`handlers.channel_policy`);
3. ``satisfaction``: a lone 1–5 answers the closing notice's question;
4. ``command``: BATAL, BANTUAN, STATUS, BARU, BANDING (typos tolerated);
4a. ``appeal``: a standalone appeal draft — the wish to appeal without a
   tracking number, under a profile that takes such appeals
   (:mod:`handlers.intake.appeal_intake`, PR-LS-8.1.4 step 1);
5. ``follow_up``: a message about a registered complaint is added to it;
6. ``open``: a new draft — the opening is read (:mod:`handlers.intake.reading`);
7. ``continue``: the answer to the open question, a correction, or the
   confirmation (:mod:`handlers.intake.answers`, :mod:`handlers.intake.corrections`).

Questions come one at a time on chat — the problem first when the opening
did not say it, then the identity fields in profile order — and all at once
on email. Chat drafts end with a numbered summary to confirm; mail is
registered as soon as it is complete. A complaint rejected at registration
by the profile's acceptance window (SOP-7.9-1 item 3) gets the rejection
notice instead of the acknowledgement. A web-form complaint is acknowledged
under :class:`handlers.intake.form_ack.WebAckPolicy`: a limit per recipient,
and no typed text to an address that never wrote to the office itself.

Every reply is an outbox row written in the same transaction (rule 4).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelName
from handlers import channel_policy
from handlers.appeals import appeal_progress, open_appeal
from handlers.dates import office_today
from handlers.i18n import normalise_language
from handlers.intake import replies
from handlers.intake.aftercare import record_follow_up, record_rating
from handlers.intake.answers import Answer, is_yes, read_answer
from handlers.intake.appeal_intake import APPEAL_KEY, appeal_intent, checked
from handlers.intake.appeal_intake import invalid as appeal_invalid
from handlers.intake.appeal_intake import next_question as appeal_next_question
from handlers.intake.appeal_intake import question as appeal_question
from handlers.intake.commands import Command, CommandKind, parse_command, tracking_pattern
from handlers.intake.corrections import find_correction, find_corrections
from handlers.intake.form_ack import (
    WebAckPolicy,
    acknowledge_by_phone,
    is_phone_only,
    wrote_before,
)
from handlers.intake.labels import labelled_values
from handlers.intake.names import PersonName, clean_person, person_from_profile
from handlers.intake.outbound import RouteFinder, stage_reply
from handlers.intake.predicates import is_vague
from handlers.intake.reading import OpeningKind, Reading, read_text
from handlers.intake.sender import person_from_display_name
from handlers.intake.targets import INTERACTIVE, find_target
from handlers.intake.turns import QUESTION_SETTLE_SECONDS, QuestionInFlight
from handlers.language import detect_language
from handlers.outbox import OutboxWriter
from handlers.profile import IntakeField, Profile
from handlers.registration import (
    TITLE_KEY,
    acknowledgement_text,
    initial_status,
    register_complaint,
    short_acknowledgement_text,
)
from handlers.standalone_appeals import acknowledgement as appeal_acknowledgement
from handlers.standalone_appeals import open_standalone_appeal
from handlers.validation import check_value
from storage.event_kinds import ComplaintEventKind
from storage.models import (
    Complaint,
    ComplaintEvent,
    Conversation,
    ConversationState,
    Direction,
    Message,
    OutboxMessage,
    OutboxStatus,
)
from storage.types import utcnow

#: Keys of a draft's ``suggestions`` beyond field suggestions: the complainant
#: complains on their own behalf; the vague words awaiting "what happened".
SELF_KEY = "_self_customer"
VAGUE_KEY = "_vague"
#: The vague complaint has had its one follow-up.
CLARIFIED_KEY = "_clarified"

_NUMBER = re.compile(r"\s*(\d{1,2})\s*[.)]?\s*")


@dataclass
class Turn:
    """One turn being handled: its messages (oldest first) and what was found."""

    session: AsyncSession
    messages: Sequence[Message]
    language: str
    conversation: Conversation | None = None
    complaint: Complaint | None = None
    command: Command | None = None

    @property
    def first(self) -> Message:
        """The turn's first message."""
        return self.messages[0]

    @property
    def last(self) -> Message:
        """The turn's last message: replies answer it."""
        return self.messages[-1]

    @property
    def channel(self) -> str:
        """The channel the turn came in on."""
        return self.first.channel

    @property
    def chat(self) -> bool:
        """Whether the turn came over a chat channel (one question at a time)."""
        return self.channel in INTERACTIVE

    @property
    def text(self) -> str:
        """The turn's text: its messages' texts, one per line (a mail: its subject
        when the body is empty)."""
        texts = [m.text for m in self.messages if (m.text or "").strip()]
        if texts:
            return "\n".join(texts)
        if self.channel in INTERACTIVE:
            return ""
        return self.first.subject or ""


class IntakeEngine:
    """Drives intake conversations for one SOP profile.

    ``route`` decides where replies go; ``writer`` stages them in the outbox.
    :meth:`handle_turn` must run inside a transaction and never commits.
    """

    #: The dispatch order: each step either handles the turn or passes it on.
    STEPS: tuple[str, ...] = (
        "link",
        "automatic",
        "channel",
        "satisfaction",
        "command",
        "appeal",
        "follow_up",
        "open",
        "continue",
    )

    def __init__(
        self,
        profile: Profile,
        writer: OutboxWriter,
        route: RouteFinder,
        enabled_channels: Collection[str] = (),
        web_acks: WebAckPolicy | None = None,
        *,
        privacy_url: str | None = None,
        channel_addresses: Mapping[str, str] | None = None,
    ) -> None:
        self.profile = profile
        #: Channel → the office's address on it, listed to a sender on a
        #: channel the profile does not use (:mod:`handlers.channel_policy`).
        self.channel_addresses = dict(channel_addresses or {})
        self.writer = writer
        self.route = route
        self.enabled_channels = enabled_channels
        #: How web-form complaints are acknowledged; ``None``: like any other.
        self.web_acks = web_acks
        #: The public privacy notice (``…/privasi``), linked in a conversation's
        #: first answer on any channel (docs/privacy.md); ``None``: no link.
        self.privacy_url = privacy_url
        #: States in which a complaint no longer takes the complainant's messages.
        self.finished_states = [
            name for name, state in profile.workflow.states.items() if state.final
        ]
        self.ttl = timedelta(hours=profile.intake.conversation_ttl_hours)
        self._tracking = tracking_pattern(profile.tracking_prefix)
        self._steps = {
            "link": self._step_link,
            "automatic": self._step_automatic,
            "channel": self._step_channel,
            "satisfaction": self._step_satisfaction,
            "command": self._step_command,
            "appeal": self._step_appeal,
            "follow_up": self._step_follow_up,
            "open": self._step_open,
            "continue": self._step_continue,
        }

    # ----------------------------------------------------------------- entry

    def is_command(self, message: Message) -> bool:
        """Whether ``message`` is a command (it is then a turn of its own)."""
        if message.channel == ChannelName.WEB:
            return False
        return parse_command(message.text or "", self.profile.tracking_prefix) is not None

    async def handle_turn(self, session: AsyncSession, messages: Sequence[Message]) -> None:
        """Handle one turn: ``messages`` of one contact on one channel, oldest first."""
        if not messages:
            raise ValueError("a turn has at least one message")
        first = messages[0]
        text = "\n".join(f"{m.subject or ''}\n{m.text or ''}" for m in messages)
        turn = Turn(session, messages, normalise_language(first.language or detect_language(text)))
        for name in self.STEPS:
            if await self._steps[name](turn):
                return

    # ----------------------------------------------------------------- steps

    async def _step_link(self, turn: Turn) -> bool:
        conversation, complaint = await find_target(
            turn.session,
            turn.first,
            tracking=self._tracking,
            finished_states=self.finished_states,
        )
        turn.conversation, turn.complaint = conversation, complaint
        for message in turn.messages:
            if conversation is not None:
                message.conversation_id = conversation.id
            if complaint is not None:
                message.complaint_id = complaint.id
        return False

    async def _step_automatic(self, turn: Turn) -> bool:
        return bool(turn.first.automatic)

    async def _step_channel(self, turn: Turn) -> bool:
        """A channel the profile does not list: kept for staff, no conversation;
        the sender is told the office's channels once per period."""
        channel = turn.first.channel
        if channel_policy.accepts(self.profile, channel):
            return False
        if await channel_policy.may_notify(turn.session, channel, turn.first.sender):
            text = channel_policy.notice_text(
                self.profile, channel, turn.language, self.channel_addresses
            )
            await self._reply(turn, text, complaint=turn.complaint)
        return True

    async def _step_satisfaction(self, turn: Turn) -> bool:
        if turn.conversation is not None or len(turn.messages) != 1:
            return False
        rated = await record_rating(turn.session, self.profile, turn.first, turn.complaint)
        if rated is None:
            return False
        await self._reply(
            turn, replies.rating_thanks(rated.language), language=rated.language, complaint=rated
        )
        return True

    async def _step_command(self, turn: Turn) -> bool:
        # A form's problem text is never a command ("status ADU-…" is a complaint there).
        if turn.channel == ChannelName.WEB or len(turn.messages) != 1:
            return False
        command = parse_command(
            turn.first.text or turn.first.subject or "", self.profile.tracking_prefix
        )
        if command is None:
            return False
        turn.command = command
        language = command.language or turn.language
        if command.kind is CommandKind.NEW:
            # Start a fresh draft even though a complaint is open.
            turn.first.complaint_id = None
            turn.complaint = None
            if turn.conversation is not None:
                await self._reply(
                    turn, replies.prompt(self._next_field(turn.conversation), language)
                )
                return True
            conversation = await self._new_conversation(turn, language)
            await self._advance(turn, conversation, {}, first=True)
            return True
        await self._command(turn, command, language)
        return True

    async def _step_appeal(self, turn: Turn) -> bool:
        """Start or continue a standalone appeal draft (PR-LS-8.1.4 step 1).

        Only under a profile with ``appeal.standalone`` and never for the web
        form (it has its own appeal form). A turn in a complaint draft is
        left to the complaint draft.
        """
        spec = self.profile.appeal
        if spec is None or not spec.standalone or turn.channel == ChannelName.WEB:
            return False
        conv = turn.conversation
        if conv is not None:
            if not (conv.suggestions or {}).get(APPEAL_KEY):
                return False
            await self._appeal_answer(turn, conv)
            return True
        intent = appeal_intent(turn.text, None if turn.chat else turn.first.subject)
        if intent is None:
            return False
        turn.complaint = None
        for message in turn.messages:
            message.complaint_id = None
        conv = await self._new_conversation(turn, intent.language)
        notes = dict(conv.suggestions or {})
        fields: dict[str, object] = {}
        name = notes.get("complainant_name")
        if not name and not turn.chat:
            person = person_from_display_name(turn.first.sender_name)
            name = person.name if person is not None else None
        if name and checked("appellant_name", str(name)):
            fields["appellant_name"] = str(name)
        decision = checked("contested_decision", intent.decision)
        if decision:
            fields["contested_decision"] = decision
        conv.suggestions = {**notes, APPEAL_KEY: True}
        await self._appeal_ask_or_open(turn, conv, fields, note=None, first=True)
        return True

    async def _appeal_answer(self, turn: Turn, conv: Conversation) -> None:
        """The answer to the appeal draft's open question, checked against its limits."""
        fields = dict(conv.fields or {})
        asked = [k for k in (conv.asked or []) if isinstance(k, str)]
        key = asked[0] if asked else appeal_next_question(fields)
        if key is None:
            await self._appeal_ask_or_open(turn, conv, fields, note=None)
            return
        value = checked(key, turn.text)
        if value is None:
            note = appeal_invalid(key, conv.language)
            await self._appeal_ask_or_open(turn, conv, fields, note=note)
            return
        fields[key] = value
        await self._appeal_ask_or_open(turn, conv, fields, note=None)

    async def _appeal_ask_or_open(
        self,
        turn: Turn,
        conv: Conversation,
        fields: dict[str, object],
        *,
        note: str | None,
        first: bool = False,
    ) -> None:
        """Ask the next appeal question, or record the appeal and acknowledge it.

        The draft's first answer carries the privacy line, as a complaint's does.
        """
        conv.fields = fields
        key = appeal_next_question(fields)
        privacy = (
            "\n\n" + replies.privacy_line(conv.language, self.privacy_url)
            if first and self.privacy_url
            else ""
        )
        if key is not None:
            conv.asked = [key]
            conv.expires_at = utcnow() + self.ttl
            text = appeal_question(key, conv.language)
            text = f"{note}\n\n{text}" if note else text
            await self._reply(turn, text + privacy, conversation=conv)
            return
        appeal = await open_standalone_appeal(
            turn.session,
            profile=self.profile,
            writer=self.writer,
            contact_id=turn.first.contact_id,
            channel=turn.channel,
            address=turn.first.sender,
            language=conv.language,
            appellant_name=str(fields["appellant_name"]),
            contested_decision=str(fields["contested_decision"]),
            reason=str(fields["reason"]),
            opened_by=f"complainant:{turn.channel}",
            enabled_channels=self.enabled_channels,
            notify=False,
        )
        conv.asked = []
        conv.state = ConversationState.REGISTERED.value
        conv.closed_at = utcnow()
        conv.expires_at = None
        conv.suggestions = {**(conv.suggestions or {}), "appeal_reference": appeal.reference}
        await self._reply(
            turn, appeal_acknowledgement(self.profile, appeal) + privacy, conversation=conv
        )

    async def _step_follow_up(self, turn: Turn) -> bool:
        complaint = turn.complaint
        if turn.conversation is not None or complaint is None:
            return False
        record_follow_up(turn.session, turn.messages, complaint)
        text = replies.added_to_complaint(complaint.language, complaint.tracking_number, turn.chat)
        await self._reply(turn, text, language=complaint.language, complaint=complaint)
        return True

    async def _step_open(self, turn: Turn) -> bool:
        if turn.conversation is not None:
            return False
        conversation = await self._new_conversation(turn, turn.language)
        await self._opening(turn, conversation)
        return True

    async def _step_continue(self, turn: Turn) -> bool:
        conversation = turn.conversation
        assert conversation is not None
        if turn.first.language:
            conversation.language = normalise_language(turn.first.language)
        if conversation.state == ConversationState.CONFIRMING.value:
            await self._confirming(turn, conversation)
        else:
            await self._collecting(turn, conversation)
        return True

    # ---------------------------------------------------------------- drafts

    async def _new_conversation(self, turn: Turn, language: str) -> Conversation:
        suggestions: dict[str, object] = {}
        if turn.chat:
            person = person_from_profile(turn.first.sender_name)
            if person is not None:
                suggestions["complainant_name"] = person.name
                if person.title:
                    suggestions[TITLE_KEY] = person.title
        conversation = Conversation(
            contact_id=turn.first.contact_id,
            channel=turn.channel,
            state=ConversationState.COLLECTING.value,
            language=language,
            fields={},
            suggestions=suggestions,
            asked=[],
        )
        turn.session.add(conversation)
        await turn.session.flush()
        for message in turn.messages:
            message.conversation_id = conversation.id
        turn.conversation = conversation
        return conversation

    # ------------------------------------------------------------- commands

    async def _command(self, turn: Turn, command: Command, language: str) -> None:
        session, msg = turn.session, turn.first
        conversation = turn.conversation
        if command.kind is CommandKind.HELP:
            await self._reply(turn, replies.help_text(self.profile, language), language=language)
        elif command.kind is CommandKind.CANCEL:
            if conversation is None:
                text = replies.nothing_to_cancel(language)
            else:
                conversation.state = ConversationState.CANCELLED.value
                conversation.closed_at = utcnow()
                conversation.expires_at = None
                text = replies.cancelled(language)
            await self._reply(turn, text, language=language)
        elif command.kind is CommandKind.APPEAL:
            await self._appeal(turn, command, language)
        else:
            tracking = command.argument or ""
            complaint = await session.scalar(
                select(Complaint).where(
                    Complaint.tracking_number == tracking,
                    Complaint.contact_id == msg.contact_id,
                )
            )
            if complaint is None:
                text = replies.not_found(language, tracking)
            else:
                msg.complaint_id = complaint.id
                progress = await appeal_progress(session, profile=self.profile, complaint=complaint)
                text = replies.status_text(self.profile, complaint, language, progress)
            await self._reply(turn, text, language=language, complaint=complaint)

    async def _appeal(self, turn: Turn, command: Command, language: str) -> None:
        """``banding ADU-… <reason>``: open an appeal on the sender's own complaint.

        The answer (received, or refused and why) goes to the complaint's
        channel through :func:`handlers.appeals.open_appeal`.
        """
        session, msg = turn.session, turn.first
        tracking = command.argument or ""
        complaint = await session.scalar(
            select(Complaint).where(
                Complaint.tracking_number == tracking, Complaint.contact_id == msg.contact_id
            )
        )
        if complaint is not None and self.profile.appeal is None:
            await self._reply(
                turn, replies.appeals_elsewhere(self.profile, language), language=language
            )
            return
        if complaint is None:
            await self._reply(turn, replies.not_found(language, tracking), language=language)
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

    # ------------------------------------------------------------- the opening

    def _today(self, msg: Message) -> date:
        """The office-local day ``msg`` was received: what "kemarin" counts from."""
        return office_today(self.profile.office.timezone, msg.received_at)

    async def _opening(self, turn: Turn, conv: Conversation) -> None:
        """Read the first turn of a draft: fields it gives, and what to ask first."""
        fields = self.profile.intake.fields
        msg = turn.first
        given = {k: v for k, v in (msg.fields or {}).items() if v}
        if "problem" in given:
            # A web form names every field; its texts are taken as typed.
            errors = self._accept(conv, given, only_valid=True, today=self._today(msg))
            await self._advance(turn, conv, errors, first=True)
            return
        reading = read_text(turn.text, fields, letter=not turn.chat)
        if (
            not turn.chat
            and "complainant_name" not in reading.values
            and "complainant_name" not in given
        ):
            person = person_from_display_name(msg.sender_name)
            if person is not None:
                reading.values["complainant_name"] = person.name
                reading.title = reading.title or person.title
        # Fields a channel names (the JSON API) win over what the text seems to say.
        reading.values.update(given)
        self._take_reading(conv, reading)
        errors = self._accept(conv, reading.values, only_valid=True, today=self._today(msg))
        await self._advance(turn, conv, errors, first=True)

    def _take_reading(self, conv: Conversation, reading: Reading | Answer) -> None:
        """Note the title, "on my own behalf" and a vague problem from ``reading``."""
        notes = dict(conv.suggestions or {})
        values = dict(conv.fields or {})
        if reading.title and "complainant_name" in reading.values:
            values[TITLE_KEY] = reading.title
        elif "complainant_name" in reading.values:
            values.pop(TITLE_KEY, None)
        if reading.self_customer:
            notes[SELF_KEY] = True
        elif reading.values.get("customer_name"):
            notes.pop(SELF_KEY, None)  # a customer named after all
        problem = reading.values.get("problem")
        if (
            problem
            and not values.get("problem")
            and VAGUE_KEY not in notes
            and not notes.get(CLARIFIED_KEY)
            and (
                is_vague(problem)
                or (isinstance(reading, Reading) and reading.kind is OpeningKind.VAGUE)
            )
        ):
            # One follow-up for a vague complaint; its words join the answer.
            notes[VAGUE_KEY] = problem
            reading.values.pop("problem")
        conv.fields = values
        conv.suggestions = notes

    # ------------------------------------------------------------ collecting

    async def _collecting(self, turn: Turn, conv: Conversation) -> None:
        text = turn.text
        fields = self.profile.intake.fields
        msg = turn.last
        asked = [k for k in (conv.asked or []) if isinstance(k, str)]
        if not text.strip():
            if turn.chat:
                await self._not_text(turn, conv, asked)
            return
        values = dict(conv.fields or {})
        correction = find_correction(text, self._correctable(values), explicit_only=True)
        if (
            correction is not None
            and correction.field is not None
            and (correction.field not in asked or values.get(correction.field))
        ):
            errors = self._apply_correction(
                conv, correction.field, correction.value, correction.replace, msg
            )
            await self._advance(
                turn, conv, errors, first=False, note=replies.corrected(conv.language)
            )
            return
        if turn.chat and not await self._question_seen(turn, conv):
            await self._unprompted(turn, conv)
            return
        labelled = labelled_values(text, fields)
        if labelled.values and (len(labelled.values) > 1 or set(labelled.values) - set(asked)):
            reading = read_text(text, fields, letter=not turn.chat)
            self._take_reading(conv, reading)
            errors = self._accept(conv, reading.values, only_valid=False, today=self._today(msg))
            await self._advance(turn, conv, errors, first=False)
            return
        if len(asked) == 1:
            answer = self._answer(conv, asked[0], text)
            key = asked[0]
            if key not in answer.values and not (key == "customer_name" and answer.self_customer):
                # "untuk kantor kami", "iya" without a name offered: ask for the name itself.
                self._take_reading(conv, answer)
                self._accept(conv, answer.values, only_valid=False, today=self._today(msg))
                errors = {key: replies.name_itself(conv.language)} if key != "problem" else {}
                await self._advance(turn, conv, errors, first=False)
                return
        elif asked:
            answer = self._answer_many(conv, asked, text)
        else:
            answer = self._free_text(conv, text, turn)
        self._take_reading(conv, answer)
        errors = self._accept(conv, answer.values, only_valid=False, today=self._today(msg))
        await self._advance(turn, conv, errors, first=False)

    def _answer(self, conv: Conversation, key: str, text: str) -> Answer:
        """The answer to the question for ``key``; a vague problem gets its details."""
        notes = conv.suggestions or {}
        suggestion = None
        if key == "complainant_name" and notes.get("complainant_name"):
            suggestion = PersonName(str(notes["complainant_name"]), _str(notes.get(TITLE_KEY)))
        answer = read_answer(key, text, self.profile.intake.fields, suggestion=suggestion)
        # What an answer says besides the field asked fills only what is still
        # missing; changing a recorded value takes a correction.
        answer.values = _unfilled(conv, answer.values, [key])
        if key == "problem" and VAGUE_KEY in notes and answer.values.get("problem"):
            answer.values["problem"] = _with_vague_words(conv, answer.values["problem"])
        return answer

    def _answer_many(self, conv: Conversation, asked: list[str], text: str) -> Answer:
        """A mail answering several questions: by lines in the order asked, else as prose."""
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if len(lines) == len(asked):
            combined = Answer()
            for key, line in zip(asked, lines, strict=True):
                part = self._answer(conv, key, line)
                for k, v in part.values.items():
                    combined.values.setdefault(k, v)
                combined.title = combined.title or part.title
                combined.self_customer = combined.self_customer or part.self_customer
            return combined
        reading = read_text(text, self.profile.intake.fields, letter=True)
        return Answer(_unfilled(conv, reading.values, asked), reading.title, reading.self_customer)

    def _free_text(self, conv: Conversation, text: str, turn: Turn) -> Answer:
        reading = read_text(text, self.profile.intake.fields, letter=not turn.chat)
        return Answer(_unfilled(conv, reading.values, []), reading.title, reading.self_customer)

    async def _unprompted(self, turn: Turn, conv: Conversation) -> None:
        """A turn typed before our last question reached the complainant.

        It is read like the opening (never as the answer to a question that
        was not yet seen): what it says is added — a problem sentence joins
        the problem — and the bot speaks again only when that changed what it
        has to ask; otherwise the question on its way stands.
        """
        before = self._next_key(conv)
        snapshot = dict(conv.fields or {})

        def changed(conv: Conversation) -> bool:
            # In the summary step every change is shown again; while collecting,
            # only a change of what to ask next is worth a message.
            return conv.state == ConversationState.CONFIRMING.value and conv.fields != snapshot

        reading = read_text(turn.text, self.profile.intake.fields)
        values = dict(conv.fields or {})
        problem = reading.values.pop("problem", None)
        if problem:
            if values.get("problem"):
                values["problem"] = f"{values['problem']}\n{problem}"
                conv.fields = values
            elif VAGUE_KEY in (conv.suggestions or {}):
                reading.values["problem"] = _with_vague_words(conv, problem)
            else:
                reading.values["problem"] = problem
        new = {k: v for k, v in reading.values.items() if not values.get(k)}
        reading.values = new
        self._take_reading(conv, reading)
        self._accept(conv, new, only_valid=True, today=self._today(turn.last))
        conv.expires_at = utcnow() + self.ttl
        if self._next_key(conv) == before and not changed(conv):
            return
        await self._advance(turn, conv, {}, first=False)

    async def _question_seen(self, turn: Turn, conv: Conversation) -> bool:
        """Whether our last message in this draft had reached the provider before
        the turn began (a failed one counts as seen: nobody waits for it).

        Raises:
            QuestionInFlight: that message is being sent right now (its row is
                ``sending``): the provider may already have delivered it while
                the record of it is not committed yet, so the turn must wait for
                it to settle rather than guess. After
                :data:`~handlers.intake.turns.QUESTION_SETTLE_SECONDS` from the
                turn's first message it counts as seen.
        """
        row = (
            await turn.session.execute(
                select(OutboxMessage.status, OutboxMessage.sent_at, OutboxMessage.channel)
                .join(Message, Message.id == OutboxMessage.message_id)
                .where(
                    Message.conversation_id == conv.id,
                    Message.direction == Direction.OUT.value,
                )
                .order_by(Message.id.desc())
                .limit(1)
            )
        ).first()
        if (
            row is None
            or row.status == OutboxStatus.FAILED.value
            or row.channel not in self.enabled_channels
        ):
            # Nothing asked, or it cannot arrive: the complainant waits for nothing.
            return True
        if row.status == OutboxStatus.SENDING.value:
            waited = (utcnow() - turn.first.created_at).total_seconds()
            if waited >= QUESTION_SETTLE_SECONDS:
                return True
            # A send usually settles within milliseconds: look again in a second.
            raise QuestionInFlight(max(0.2, min(1.0, QUESTION_SETTLE_SECONDS - waited)))
        if row.status != OutboxStatus.SENT.value or row.sent_at is None:
            return False  # still waiting to be sent: it cannot have been seen
        return bool(row.sent_at <= turn.first.created_at)

    def _correctable(self, values: Mapping[str, object]) -> dict[str, str]:
        keys = {f.key for f in self.profile.intake.fields}
        return {k: str(v) for k, v in values.items() if k in keys and v}

    def _apply_correction(
        self, conv: Conversation, key: str, value: str, replace: str | None, msg: Message
    ) -> dict[str, str]:
        """Set field ``key`` from a correction; returns validation errors."""
        values = dict(conv.fields or {})
        if (
            replace
            and values.get(key)
            and key != "problem"
            and not _restates(str(values[key]), value, replace)
        ):
            answer = Answer(values={key: str(values[key]).replace(replace, value.strip(" .,"))})
            answer.title = _str(values.get(TITLE_KEY)) if key == "complainant_name" else None
        else:
            answer = self._answer(conv, key, value)
            if key == "complainant_name" and not answer.values.get("complainant_name"):
                person = clean_person(value)
                if person is not None:
                    answer.values["complainant_name"] = person.name
                    answer.title = person.title
        # A correction of one field never fills another by accident.
        answer.values = {k: v for k, v in answer.values.items() if k == key}
        notes = dict(conv.suggestions or {})
        if key == "customer_name" and notes.get(SELF_KEY) and not answer.self_customer:
            notes.pop(SELF_KEY)
            conv.suggestions = notes
        if key == "customer_name" and answer.self_customer:
            values.pop("customer_name", None)
            conv.fields = values
        self._take_reading(conv, answer)
        return self._accept(conv, answer.values, only_valid=False, today=self._today(msg))

    def _accept(
        self,
        conv: Conversation,
        candidates: Mapping[str, str],
        *,
        only_valid: bool,
        today: date,
    ) -> dict[str, str]:
        """Store valid candidates in the draft; return field key → error for invalid ones.

        With ``only_valid`` (guessed values) invalid guesses are dropped
        silently and the field is simply asked. ``today`` is the office-local
        day relative dates are read from. A complainant who complains on their
        own behalf becomes the customer as soon as their name is known.
        """
        values = dict(conv.fields or {})
        errors: dict[str, str] = {}
        for item in self.profile.intake.fields:
            raw = candidates.get(item.key)
            if raw is None:
                continue
            checked = check_value(
                item, raw, conv.language, today=today, timezone=self.profile.office.timezone
            )
            if checked.value is not None:
                values[item.key] = checked.value
            elif not only_valid:
                errors[item.key] = checked.error or ""
            elif item.key == "complainant_name":
                values.pop(TITLE_KEY, None)
        notes = conv.suggestions or {}
        if notes.get(SELF_KEY) and values.get("complainant_name"):
            values["customer_name"] = values["complainant_name"]
        conv.fields = values
        return errors

    def _missing(self, conv: Conversation) -> list[IntakeField]:
        values = conv.fields or {}
        return [f for f in self.profile.intake.fields if f.required and not values.get(f.key)]

    def _next_field(
        self, conv: Conversation, errors: Mapping[str, str] | None = None
    ) -> IntakeField:
        """The field to ask next: one with an error, else the problem, else profile order."""
        missing = self._missing(conv)
        errors = errors or {}
        for item in missing:
            if item.key in errors:
                return item
        for item in missing:
            if item.key == "problem":
                return item
        if missing:
            return missing[0]
        return self.profile.intake.fields[0]

    def _next_key(self, conv: Conversation) -> str | None:
        if not self._missing(conv):
            return None
        if VAGUE_KEY in (conv.suggestions or {}):
            return "problem?"
        return self._next_field(conv).key

    async def _advance(
        self,
        turn: Turn,
        conv: Conversation,
        errors: Mapping[str, str],
        *,
        first: bool,
        note: str | None = None,
    ) -> None:
        """Ask for what is missing, show the summary, or register (email)."""
        conv.expires_at = utcnow() + self.ttl
        language = conv.language
        missing = self._missing(conv)
        if not missing:
            if turn.chat:
                conv.state = ConversationState.CONFIRMING.value
                conv.asked = []
                parts = [note] if note else []
                if first and self.privacy_url:
                    parts.append(replies.privacy_line(language, self.privacy_url))
                parts.append(replies.confirm_text(self.profile, conv.fields or {}, language))
                await self._reply(turn, "\n\n".join(parts), conversation=conv)
            else:
                await self._register(turn, conv, first=first)
            return

        conv.state = ConversationState.COLLECTING.value
        if turn.chat:
            item = self._next_field(conv, errors)
            conv.asked = [item.key]
            parts = []
            if first:
                parts.append(replies.welcome(self.profile, language))
                if self.privacy_url:
                    parts.append(replies.privacy_line(language, self.privacy_url))
            if note:
                parts.append(note)
            if item.key in errors:
                parts.append(errors[item.key])
            parts.append(_question(conv, item))
            await self._reply(turn, "\n\n".join(parts), conversation=conv)
            return
        conv.asked = [f.key for f in missing]
        text = replies.email_request(self.profile, missing, errors, language)
        if VAGUE_KEY in (conv.suggestions or {}):
            text += "\n\n" + replies.clarify_prompt(language)
        if first and self.privacy_url:
            text += "\n\n" + replies.privacy_line(language, self.privacy_url)
        await self._reply(turn, text, conversation=conv)

    async def _not_text(self, turn: Turn, conv: Conversation, asked: list[str]) -> None:
        """A sticker, location, voice note or file without text: keep it, ask again politely."""
        conv.expires_at = utcnow() + self.ttl
        parts = [replies.not_text(conv.language)]
        if conv.state == ConversationState.CONFIRMING.value:
            parts.append(replies.confirm_text(self.profile, conv.fields or {}, conv.language))
        elif asked:
            parts.append(_question(conv, self.profile.field(asked[0])))
        await self._reply(turn, "\n\n".join(parts), conversation=conv)

    # ------------------------------------------------------------ confirming

    async def _confirming(self, turn: Turn, conv: Conversation) -> None:
        text = turn.text
        if not text.strip():
            if turn.chat:
                await self._not_text(turn, conv, [])
            return
        fields = self.profile.intake.fields
        language = conv.language
        conv.expires_at = utcnow() + self.ttl
        if not await self._question_seen(turn, conv):
            # Typed before the summary arrived: more of the story, or a change.
            await self._unprompted(turn, conv)
            return
        if is_yes(text):
            await self._register(turn, conv)
            return
        number = _NUMBER.fullmatch(text)
        if number and 1 <= int(number.group(1)) <= len(fields):
            item = fields[int(number.group(1)) - 1]
            conv.state = ConversationState.COLLECTING.value
            conv.asked = [item.key]
            await self._reply(turn, item.prompt.get(language), conversation=conv)
            return
        corrections = [
            c
            for c in find_corrections(text, self._correctable(conv.fields or {}))
            if c.field is not None
        ]
        if corrections:
            errors: dict[str, str] = {}
            for correction in corrections:
                assert correction.field is not None
                errors.update(
                    self._apply_correction(
                        conv, correction.field, correction.value, correction.replace, turn.last
                    )
                )
            await self._advance(turn, conv, errors, first=False, note=replies.corrected(language))
            return
        labelled = labelled_values(text, fields)
        if labelled.values:
            reading = read_text(text, fields, letter=not turn.chat)
            self._take_reading(conv, reading)
            errors = self._accept(
                conv, reading.values, only_valid=False, today=self._today(turn.last)
            )
            await self._advance(turn, conv, errors, first=False)
            return
        await self._reply(turn, replies.confirm_hint(self.profile, language), conversation=conv)

    # ------------------------------------------------------------ registering

    async def _register(self, turn: Turn, conv: Conversation, *, first: bool = False) -> None:
        """Register the complaint and acknowledge it; ``first``: this answers the
        conversation's first message (a mail or form that said everything), so the
        acknowledgement carries the privacy line (docs/privacy.md)."""
        session, msg = turn.session, turn.last
        language = conv.language
        received_at = await session.scalar(
            select(func.min(Message.received_at)).where(Message.conversation_id == conv.id)
        )
        keys = {f.key for f in self.profile.intake.fields}
        values = {k: str(v) for k, v in (conv.fields or {}).items() if k in keys}
        title = _str((conv.fields or {}).get(TITLE_KEY))
        first_ref = await session.scalar(
            select(Message.external_id)
            .where(Message.conversation_id == conv.id, Message.direction == "in")
            .order_by(Message.id)
            .limit(1)
        )
        web_acks = self.web_acks if conv.channel == ChannelName.WEB else None
        told = True  # may the complainant be told (acknowledgement, rejection)?
        if web_acks is not None:
            told = await web_acks.allow(session, msg.sender)
        complaint = await register_complaint(
            session,
            profile=self.profile,
            contact_id=msg.contact_id,
            channel=conv.channel,
            contact_address=msg.sender,
            values=values,
            complainant_title=title,
            received_at=received_at or msg.received_at,
            received_by=f"channel:{conv.channel}",
            language=language,
            conversation_id=conv.id,
            thread_key=first_ref if conv.channel == ChannelName.EMAIL else None,
            writer=self.writer,
            # Nothing on for an address over its limit: a rejection notice
            # is recorded as unroutable for staff instead of sent.
            enabled_channels=self.enabled_channels if told else (),
        )
        conv.state = ConversationState.REGISTERED.value
        conv.complaint_id = complaint.id
        conv.closed_at = utcnow()
        conv.expires_at = None
        conv.asked = []
        for message in turn.messages:
            message.complaint_id = complaint.id
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
        if not told:
            session.add(
                ComplaintEvent(
                    complaint_id=complaint.id,
                    actor="system",
                    kind=ComplaintEventKind.ACKNOWLEDGEMENT_WITHHELD,
                    data={"reason": "recipient_limit"},  # docs/web-form.md, "Limits"
                )
            )
            return
        if web_acks is not None and not await wrote_before(session, msg.sender, msg.id):
            # Anybody may type this address on the form: no typed text goes to it.
            link = web_acks.link(complaint.tracking_number)
            text = short_acknowledgement_text(self.profile, complaint, language, link)
        else:
            shown = dict(values)
            if title:
                shown[TITLE_KEY] = title
            text = acknowledgement_text(self.profile, complaint, shown, language)
        if first and self.privacy_url:
            text += "\n\n" + replies.privacy_line(language, self.privacy_url)
        if web_acks is not None and is_phone_only(msg.sender):
            await acknowledge_by_phone(
                session, self.writer, complaint, text, enabled=self.enabled_channels
            )
            return
        await self._reply(turn, text, conversation=conv, complaint=complaint)

    # ---------------------------------------------------------------- replies

    async def _reply_to(
        self,
        session: AsyncSession,
        msg: Message,
        text: str,
        language: str,
        *,
        conversation: Conversation | None = None,
        complaint: Complaint | None = None,
    ) -> None:
        """Stage ``text`` as the answer to ``msg`` (:func:`outbound.stage_reply`)."""
        await stage_reply(
            session,
            self.writer,
            self.route,
            msg,
            text,
            language,
            stale_after=self.ttl,
            conversation=conversation,
            complaint=complaint,
        )

    async def _reply(
        self,
        turn: Turn,
        text: str,
        *,
        language: str | None = None,
        conversation: Conversation | None = None,
        complaint: Complaint | None = None,
    ) -> None:
        language = language or (conversation.language if conversation else turn.language)
        await self._reply_to(
            turn.session,
            turn.last,
            text,
            language,
            conversation=conversation or turn.conversation,
            complaint=complaint,
        )


def _unfilled(
    conv: Conversation, values: Mapping[str, str], asked: Sequence[str]
) -> dict[str, str]:
    """``values`` for the fields asked or still empty: free text read later never
    overwrites what is recorded (that takes a correction)."""
    filled = conv.fields or {}
    return {k: v for k, v in values.items() if k in asked or not filled.get(k)}


def _restates(current: str, new: str, replaced: str) -> bool:
    """Whether ``new`` is a whole new value rather than the corrected word(s):
    "Hana Pertiwi, bukan Pratiwi" restates the name; "Siti, bukan Sita" does not."""
    others = {w.lower() for w in current.split()} - {w.lower() for w in replaced.split()}
    return bool(others & {w.lower() for w in new.split()})


def _str(value: object) -> str | None:
    return str(value) if value else None


def _question(conv: Conversation, item: IntakeField) -> str:
    """The question for ``item`` in ``conv``'s language: the one follow-up to a
    vague complaint, or the field's prompt (offering the chat profile's name)."""
    notes = conv.suggestions or {}
    if item.key == "problem" and VAGUE_KEY in notes:
        return replies.clarify_prompt(conv.language)
    suggestion = _str(notes.get(item.key)) if item.key == "complainant_name" else None
    return replies.prompt(item, conv.language, suggestion)


def _with_vague_words(conv: Conversation, problem: str) -> str:
    """``problem`` (what happened) after the vague words that opened the draft;
    the draft's one follow-up is then spent."""
    notes = dict(conv.suggestions or {})
    vague = notes.pop(VAGUE_KEY)
    notes[CLARIFIED_KEY] = True
    conv.suggestions = notes
    return f"{vague}\n{problem}"


async def expire_conversation(
    engine: IntakeEngine, session: AsyncSession, conversation: Conversation
) -> None:
    """Close an abandoned draft: state ``expired``, kept with its messages, and the
    complainant told on the channel of their last message."""
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
        text = replies.expiry_text(engine.profile, conversation.language)
        await engine._reply_to(
            session, last, text, conversation.language, conversation=conversation
        )
