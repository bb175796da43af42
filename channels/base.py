"""The one inbound-message type and the base class every channel implements."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar


class ChannelName(enum.StrEnum):
    """Channel identifiers as stored in the database (``messages.channel``)."""

    EMAIL = "email"
    WEB = "web"
    API = "api"
    WHATSAPP = "whatsapp"
    SMS = "sms"
    TELEGRAM = "telegram"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file received with a message.

    ``content`` holds the bytes (already limited to the channel's size limit);
    ``size`` is in bytes; ``skipped_reason`` is set when the file was too large
    or unreadable and ``content`` is therefore empty.
    """

    filename: str
    content_type: str
    content: bytes = b""
    size: int = 0
    skipped_reason: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message from a complainant, normalised from any channel.

    Attributes:
        channel: which channel it came in on.
        external_id: the provider's id, unique per channel (Twilio MessageSid,
            email Message-ID, web-form submission token). Dedupe key together
            with ``channel`` (docs/channels.md, "Dedupe keys").
        sender: the channel address, normalised (E.164 phone, lower-case email).
        text: the message text, quoted replies already stripped where the
            channel has them; may be empty.
        received_at: when the provider received it (timezone-aware UTC).
        sender_name: display name offered by the channel (email From name,
            WhatsApp profile); a suggestion, never authoritative.
        subject: email subject, if any.
        fields: structured values already named by the channel (web form), keyed
            by profile field key.
        thread_refs: identifiers of earlier messages this one replies to (email
            In-Reply-To then References), newest first.
        automatic: the message was sent by a machine (auto-reply, bounce, list);
            it is stored but never answered (reliability rule 6).
        language: ``"id"`` or ``"en"`` when the channel knows it (web form switch).
        attachments: files received with the message.
        raw: the provider payload, JSON-serialisable, kept for audit.
    """

    channel: ChannelName
    external_id: str
    sender: str
    text: str
    received_at: datetime
    sender_name: str | None = None
    subject: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    thread_refs: tuple[str, ...] = ()
    automatic: bool = False
    language: str | None = None
    attachments: tuple[Attachment, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)


class DeliveryState(enum.StrEnum):
    """Normalised delivery states, in the order a message goes through them."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"
    READ = "read"


#: Provider status words → normalised state (Twilio ``MessageStatus``, Meta
#: ``statuses[].status``; Telegram has none).
PROVIDER_STATUS: Mapping[str, DeliveryState] = {
    "accepted": DeliveryState.QUEUED,
    "scheduled": DeliveryState.QUEUED,
    "queued": DeliveryState.QUEUED,
    "sending": DeliveryState.QUEUED,
    "sent": DeliveryState.SENT,
    "failed": DeliveryState.FAILED,
    "undelivered": DeliveryState.FAILED,
    "canceled": DeliveryState.FAILED,
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.READ,
}


def normalise_status(word: str) -> DeliveryState | None:
    """Map a provider's status word to :class:`DeliveryState`; ``None`` if unknown."""
    return PROVIDER_STATUS.get(word.strip().lower())


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """One delivery report from a provider about a message we sent.

    Attributes:
        channel: the channel the message went out on.
        provider_id: the provider's message id (``outbox.provider_id``).
        status: the normalised state.
        error_code: the provider's error code for failures, as text.
        occurred_at: the provider's timestamp (aware UTC), ``None`` when it
            gives none (Twilio): then the time of receipt is recorded.
        raw: the report as received, JSON-serialisable, kept for audit.
    """

    channel: ChannelName
    provider_id: str
    status: DeliveryState
    error_code: str | None = None
    occurred_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Template:
    """An approved WhatsApp message template, for sending outside the 24-hour window.

    ``name``/``language`` address a Cloud API template; ``content_sid`` a Twilio
    Content template (``HX…``). ``variables`` fill the template's body
    placeholders in order ({{1}}, {{2}}, …); they hold no newlines.
    """

    name: str
    language: str
    variables: tuple[str, ...] = ()
    content_sid: str | None = None


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message to send, as read from an outbox row.

    ``idempotency_key`` is stable across retries of the same row, so a provider
    that supports it (or an email Message-ID derived from it) can drop a repeat.
    ``thread_refs`` are the Message-IDs the reply belongs to (email only).
    """

    idempotency_key: str
    channel: ChannelName
    recipient: str
    text: str
    subject: str | None = None
    thread_refs: tuple[str, ...] = ()
    language: str = "id"
    automatic: bool = True
    template: Template | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the provider said when it accepted a message: its id for the row."""

    provider_id: str | None


class Channel(ABC):
    """Base class for every channel adapter.

    A channel parses what its provider sends (``parse`` is pure: no I/O) and
    sends outgoing messages (``send`` raises a :mod:`channels.errors` error on
    failure).  ``start``/``stop`` run background work such as a mailbox poller.

    Class attributes:
        name: the channel identifier.
        interactive: a chat-like channel, answered one question at a time with a
            confirmation step; ``False`` for email and the web form, which are
            answered with one message listing everything still missing.
        threaded: replies are tied to a conversation by explicit thread
            references (email) rather than by the sender alone.
    """

    name: ClassVar[ChannelName]
    interactive: ClassVar[bool] = True
    threaded: ClassVar[bool] = False

    @abstractmethod
    def parse(self, raw: Any) -> InboundMessage | None:
        """Turn one provider payload into an inbound message.

        Returns ``None`` for payloads that carry no message (e.g. a status
        callback handled elsewhere). Raises
        :class:`channels.errors.InboundParseError` for malformed input.
        """

    @abstractmethod
    async def send(self, message: OutboundMessage) -> SendResult:
        """Deliver one message; raise a ``ChannelError`` subclass on failure."""

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Start background work (pollers). Default: nothing."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Stop background work. Default: nothing."""

    def status(self) -> Mapping[str, Any]:
        """Operational facts for ``check-config`` and health pages (no secrets)."""
        return {}
