"""SQLAlchemy 2 ORM models: the whole schema of aduan.

Naming follows the glossary in docs/architecture.md ("Glossary") (complaint, complainant, tracking
number, outbox). Timestamps are timezone-aware UTC (:class:`UTCDateTime`).
Every change to this file needs an Alembic revision under
``storage/migrations/versions``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from storage.event_kinds import event_kind
from storage.types import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names (for migrations)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Direction(enum.StrEnum):
    """Message direction."""

    IN = "in"
    OUT = "out"


class ConversationState(enum.StrEnum):
    """Intake conversation states (handlers/intake.py)."""

    COLLECTING = "collecting"
    CONFIRMING = "confirming"
    REGISTERED = "registered"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


OPEN_CONVERSATION_STATES = (ConversationState.COLLECTING, ConversationState.CONFIRMING)


class ComplaintStatus(enum.StrEnum):
    """Complaint lifecycle states; the SOP workflow adds transitions between them."""

    RECEIVED = "received"
    VERIFIED = "verified"
    REJECTED = "rejected"
    IN_FOLLOW_UP = "in_follow_up"
    CAPA_RECORDED = "capa_recorded"
    RESULT_VERIFIED = "result_verified"
    CLOSED = "closed"
    ARCHIVED = "archived"


class OutboxStatus(enum.StrEnum):
    """Outbox row states (docs/architecture.md, "Sending the outbox")."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Contact(Base):
    """A person who wrote to us; one row however many channels they use."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: Set while this contact is merged into another one (docs/privacy.md):
    #: the other contact's id. The row is kept for the audit and the undo
    #: (:class:`ContactMerge`). No foreign key: adding one would rebuild this
    #: table on SQLite, which other tables reference (as ``conversations.complaint_id``).
    merged_into_id: Mapped[int | None] = mapped_column(Integer)
    #: When the contact's personal data was erased (UU PDP Law 27/2022, art. 8
    #: and 43; docs/privacy.md): its name and addresses are gone, its rows keep
    #: only placeholders; ``None`` while the data is held.
    erased_at: Mapped[datetime | None] = mapped_column()

    addresses: Mapped[list[ContactAddress]] = relationship(
        back_populates="contact", lazy="selectin"
    )


class ContactAddress(Base):
    """One address of a contact: ``kind`` is ``phone`` (E.164, shared by WhatsApp
    and SMS so one number is one contact), ``email`` (lower-case) or ``telegram``
    (chat id)."""

    __tablename__ = "contact_addresses"
    __table_args__ = (UniqueConstraint("kind", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    contact: Mapped[Contact] = relationship(back_populates="addresses")


class ContactMerge(Base):
    """Two contacts found to be one person, merged by staff (docs/privacy.md).

    Everything of the source contact — addresses, conversations, messages,
    complaints, outbox rows — moved to the target; ``moved`` records exactly
    which row ids moved, by table (``{"contact_addresses": [3], "conversations":
    [..], "messages": [..], "complaints": [..], "outbox": [..]}``), so an undo
    moves exactly those back. ``merged_by``/``undone_by`` are ``staff:<username>``.
    """

    __tablename__ = "contact_merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    merged_by: Mapped[str] = mapped_column(String(200))
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_by: Mapped[str | None] = mapped_column(String(200))
    undone_at: Mapped[datetime | None] = mapped_column()
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Conversation(Base):
    """An intake conversation: the draft complaint while fields are collected.

    ``fields`` maps profile field keys to collected values; ``asked`` lists the
    keys asked in our last message; ``expires_at`` is swept by a periodic job
    (docs/architecture.md, "Reliability rules" 3) that sets ``state`` to ``expired`` — the row
    and its messages stay.
    """

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_contact_state", "contact_id", "state"),
        # The inbox's "in progress" section: open drafts, newest first.
        Index("ix_conversations_state_updated", "state", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    channel: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default=ConversationState.COLLECTING)
    language: Mapped[str] = mapped_column(String(8), default="id")
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    suggestions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    asked: Mapped[list[Any]] = mapped_column(default=list)
    complaint_id: Mapped[int | None] = mapped_column(Integer)  # complaints.id; no FK (cycle)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()


class Message(Base):
    """Every message in or out, on any channel.

    Unique on (``channel``, ``external_id``): the dedupe key (docs/channels.md, "Dedupe keys").
    Inbound rows with ``processed_at`` NULL are picked up by the processor after
    a crash (rule 3). Outbound rows are written with their outbox row.
    """

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_messages_unprocessed", "processed_at", "contact_id", "id"),
        Index("ix_messages_contact", "contact_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(300))
    direction: Mapped[str] = mapped_column(String(3))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    sender: Mapped[str] = mapped_column(String(320))
    sender_name: Mapped[str | None] = mapped_column(String(200))
    recipient: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    thread_refs: Mapped[list[Any]] = mapped_column(default=list)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(8))
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column()
    process_attempts: Mapped[int] = mapped_column(Integer, default=0)
    process_error: Mapped[str | None] = mapped_column(Text)

    attachments: Mapped[list[Attachment]] = relationship(back_populates="message", lazy="raise")


class Attachment(Base):
    """A file received with a message, bytes kept in the database (the source of truth)."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    content: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    skipped_reason: Mapped[str | None] = mapped_column(String(300))

    message: Mapped[Message] = relationship(back_populates="attachments")


class Complaint(Base):
    """A registered complaint with the identity fields of SOP-7.9-1 item 2.

    ``received_by`` is the receiving officer: ``channel:<name>`` for automatic
    intake, ``staff:<username>`` for manual intake. ``extra_fields`` holds the
    profile's additional fields.
    """

    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_status_received", "status", "received_at"),
        # The staff inbox (gateway/queries/complaint_list.py): newest activity first,
        # keyset-paginated on (last_activity_at, id), alone or by status/assignee.
        Index("ix_complaints_activity", "last_activity_at", "id"),
        Index("ix_complaints_status_activity", "status", "last_activity_at", "id"),
        Index("ix_complaints_assignee_activity", "assignee", "last_activity_at", "id"),
        Index("ix_complaints_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_number: Mapped[str] = mapped_column(String(40), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    channel: Mapped[str] = mapped_column(String(20))
    contact_address: Mapped[str] = mapped_column(String(320))
    complainant_name: Mapped[str] = mapped_column(String(200))
    #: Titles and honorifics given with the name ("Dr. Ir., M.T.", "Bu"), kept
    #: apart from it (docs/intake.md, "complainant_title").
    complainant_title: Mapped[str | None] = mapped_column(String(100))
    customer_name: Mapped[str] = mapped_column(String(300))
    problem: Mapped[str] = mapped_column(Text)
    extra_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column()
    received_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30), default=ComplaintStatus.RECEIVED)
    category: Mapped[str | None] = mapped_column(String(30))
    language: Mapped[str] = mapped_column(String(8), default="id")
    thread_key: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: The current SOP step: when it started and when its time standard ends.
    step_started_at: Mapped[datetime | None] = mapped_column()
    step_due_at: Mapped[datetime | None] = mapped_column(index=True)
    #: One reminder and one escalation per step (reset by every transition).
    reminded_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    #: Username of the competent officer handling it (SOP-7.9-1 item 8).
    assignee: Mapped[str | None] = mapped_column(String(100), index=True)
    #: Data recorded by the steps (reason, result, CAPA, nonconformity report …).
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The complainant's 1-5 rating of the handling, asked at closing (ISO 10002).
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    satisfaction_at: Mapped[datetime | None] = mapped_column()
    #: Newest activity: registration, a linked inbound message, an outbound
    #: message to the complainant, a recorded event (kept by storage/activity.py).
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Newest inbound message linked to the complaint: "unread" compares it
    #: with the viewer's :class:`ComplaintRead` (storage/activity.py).
    last_inbound_at: Mapped[datetime | None] = mapped_column()
    #: When the complainant's personal data on this complaint was erased (on
    #: request or by the profile's retention policy, docs/privacy.md); the
    #: register keeps the row, its dates, status and step history.
    personal_data_erased_at: Mapped[datetime | None] = mapped_column()
    #: The staff member who received the complaint (SOP-7.9-1 item 2):
    #: ``staff:<username>``, set at manual intake or, for an online complaint,
    #: by whoever takes its first workflow step; ``None`` until then. The
    #: channel it came by stays in ``channel`` / ``received_by``.
    receiving_officer: Mapped[str | None] = mapped_column(String(200))
    #: That staff member's full name when they received it.
    receiving_officer_name: Mapped[str | None] = mapped_column(String(200))
    #: The complaint type id of the profile's ``complaint_types`` (PR-LS-8.1.4 step 2).
    complaint_type: Mapped[str | None] = mapped_column(String(40))


#: Objects migrations create on PostgreSQL only, which the models do not
#: declare: the generated full-text column ``complaints.search_vector`` and its
#: GIN index (revision 0008). Alembic's autogenerate leaves them alone.
POSTGRES_ONLY_OBJECTS = frozenset({"search_vector", "ix_complaints_search"})


class PersonalDataAudit(Base):
    """One export, erasure or correction of a contact's personal data (docs/privacy.md).

    ``action`` is ``export``, ``erase`` or ``correct``; ``actor`` is
    ``staff:<username>``, ``cli:<os user>`` or ``retention`` (the sweep);
    ``counts`` holds only numbers of rows by table (``{"messages": 4}``) and,
    for a correction, the names of what changed — never personal data.
    ``complaint_id`` is set when the retention policy erased one complaint.
    """

    __tablename__ = "personal_data_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(20))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ComplaintRead(Base):
    """When a staff member last opened a complaint: the inbox's unread marker.

    A complaint is unread for a staff member who never opened it, or when an
    inbound message arrived after ``read_at`` (``Complaint.last_inbound_at``).
    """

    __tablename__ = "complaint_reads"

    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), primary_key=True)
    read_at: Mapped[datetime] = mapped_column()


class ComplaintEvent(Base):
    """One entry of a complaint's history: who did what, when (ISO 10002 records).

    ``kind`` is a :class:`storage.event_kinds.ComplaintEventKind` value, kept as
    its plain string; any other value raises :class:`ValueError` when set.
    """

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50))
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    @validates("kind")
    def _known_kind(self, _key: str, value: str) -> str:
        return event_kind(value)


class OutboxMessage(Base):
    """An outgoing message waiting to be, or already, sent (reliability rule 4).

    Written in the same transaction as the change that causes it. ``status``
    moves pending → sending → sent, or back to pending with ``next_attempt_at``
    on a temporary error, or to failed on a permanent one (kept for staff).
    ``lease_until`` guards a row being sent so a crashed sender's row is taken
    up again once the lease lapses.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_recipient", "channel", "recipient", "id"),
        Index("ix_outbox_provider", "channel", "provider_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    thread_refs: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str] = mapped_column(String(8), default="id")
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(50))
    provider_id: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    delivery_status: Mapped[str | None] = mapped_column(String(20))
    delivery_error_code: Mapped[str | None] = mapped_column(String(50))
    delivery_updated_at: Mapped[datetime | None] = mapped_column()
    sent_as: Mapped[str | None] = mapped_column(String(20))


class DeliveryStatus(Base):
    """One delivery report from a provider (Twilio status callback, WhatsApp
    ``statuses[]``), stored once: unique on (channel, provider id, status), the
    dedupe key for statuses (docs/channels.md, "Dedupe keys")."""

    __tablename__ = "delivery_statuses"
    __table_args__ = (UniqueConstraint("channel", "provider_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(50))
    occurred_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)


class StaffUser(Base):
    """A secretariat staff account; ``password_hash`` is argon2id."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(30))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A staff member's bearer token for the JSON API (``aduan token create``).

    Only the SHA-256 of the token is stored (tokens are 256-bit random, so a
    fast hash is enough); ``prefix`` is its first characters, shown in lists.
    A token acts with its user's role; revoked or expired tokens and tokens of
    deactivated users are refused.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class StaffSession(Base):
    """A signed-in staff member's server-side session (the staff inbox).

    The cookie carries a random token; only its SHA-256 is stored here.
    ``csrf_token`` is the synchronizer token every state-changing form must
    send back. A session ends at ``expires_at`` (absolute), after
    ``idle`` inactivity (checked against ``last_seen_at``), or at sign-out.
    """

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class StaffNotification(Base):
    """A notice to one staff member, shown in the inbox (docs/staff-access.md, "Notifications").

    ``kind``: ``new_complaint`` (to the owners of the workflow's first step),
    ``assigned`` (to the new assignee). ``event_key`` names the event that
    caused it (``registered:<complaint id>``, ``assigned:<event id>``): one
    notice per staff member and event, however often the event is processed.
    ``params`` holds the values of the notice's text (tracking number, the
    step, who assigned); no personal data: the customer's name is read from
    the complaint when shown. ``read_at`` is set when the staff member marks
    it read.
    """

    __tablename__ = "staff_notifications"
    __table_args__ = (
        UniqueConstraint("staff_user_id", "event_key"),
        # The header count and the page: one staff member's notices, unread first.
        Index("ix_staff_notifications_unread", "staff_user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    kind: Mapped[str] = mapped_column(String(30))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    event_key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)


class StaffUserAudit(Base):
    """One change to a staff account made in the inbox: who, when, what, before/after.

    ``action``: ``created``, ``role_changed``, ``deactivated``,
    ``reactivated``, ``password_reset``. ``before``/``after`` hold the changed
    attributes (role, active, full name, email); a password is never recorded,
    only that it was reset.
    """

    __tablename__ = "staff_user_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    username: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)


class LoginThrottle(Base):
    """Sign-in attempts per key (``user:<name>`` or ``ip:<address>``).

    ``failures``: attempts counted (before the password check) and not given
    back by a success; ``window_start``: the latest counted attempt;
    ``locked_until``: no attempt on this key before then. The rule is
    :mod:`gateway.inbox.throttle` (docs/staff-access.md).
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column()


class RateLimit(Base):
    """Recent hits of one rate-limited key: a sliding log (docs/web-form.md, "Limits").

    ``key`` is ``<kind>:<SHA-256 of the value>`` (a client address or an
    acknowledgement recipient, never stored in clear); ``hits`` the Unix
    times (seconds, floats) of the hits still inside the longest window;
    the row is pruned once ``expires_at`` has passed.
    """

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    hits: Mapped[list[Any]] = mapped_column(default=list)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class FormNonce(Base):
    """A public-form token nonce already used (docs/web-form.md, "Form token").

    ``kind`` is ``submitted`` (a complaint was stored under it) or
    ``honeypot`` (a bot's post, nothing stored). Pruned once ``expires_at``
    (the token's maximum age after use) has passed.
    """

    __tablename__ = "form_nonces"

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ImapCheckpoint(Base):
    """Per-mailbox polling checkpoint (reliability rule 5): UIDVALIDITY and last UID."""

    __tablename__ = "imap_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_key: Mapped[str] = mapped_column(String(400), unique=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class QuarantinedInbound(Base):
    """Something received that could not be parsed, kept aside for staff (rule 5).

    ``source_ref`` identifies it at the source (e.g. ``mailbox-key#uid``) and is
    unique so a rescan does not add it twice.
    """

    __tablename__ = "quarantined_inbound"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str] = mapped_column(String(500), unique=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    error: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()


class TrackingCounter(Base):
    """Sequence per tracking-number prefix and year (``ADU-2026`` → 42)."""

    __tablename__ = "tracking_counters"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class Lease(Base):
    """A named, expiring lock held in the database (one IMAP poller per mailbox,
    one processor per contact) so several processes can run safely."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column()


class AppealStatus(enum.StrEnum):
    """Appeal states: open until the panel decides; the decision is final."""

    OPEN = "open"
    DECIDED = "decided"


class Appeal(Base):
    """An appeal (banding) against the result of a complaint, or against a
    decision of the office not tied to a complaint (PR-LS-8.1.4 step 1).

    ``opened_by`` is ``complainant:<channel>`` or ``staff:<username>``. A
    standalone appeal has no ``complaint_id``; it has its own ``reference``,
    the appellant's ``contact_id``, ``channel`` and ``address`` (where the
    answers go), ``appellant_name`` and the ``contested_decision`` as the
    appellant describes it (what, by whom, when). ``step`` is the current
    step before the panel (``identify``, ``record_type``, ``pass_on``;
    PR-LS-8.1.4 steps 1-2), ``None`` once passed on (or without such steps);
    ``appeal_type`` and ``subject`` are recorded by ``record_type``.
    """

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    reference: Mapped[str | None] = mapped_column(String(40), unique=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(320))
    language: Mapped[str | None] = mapped_column(String(8))
    appellant_name: Mapped[str | None] = mapped_column(String(200))
    contested_decision: Mapped[str | None] = mapped_column(Text)
    step: Mapped[str | None] = mapped_column(String(20))
    appeal_type: Mapped[str | None] = mapped_column(String(30))
    subject: Mapped[str | None] = mapped_column(String(30))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=AppealStatus.OPEN)
    decision: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by: Mapped[str | None] = mapped_column(String(200))
    #: The appeal's current step (panel forming, then the panel's decision):
    #: when it is due by the profile's standard, and its one reminder and one
    #: escalation (PR-LS-8.1.4 steps 4-5: 1 day each).
    step_due_at: Mapped[datetime | None] = mapped_column(index=True)
    reminded_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()


class AppealPanelMember(Base):
    """A member of an appeal panel with their impartiality declaration."""

    __tablename__ = "appeal_panel_members"
    __table_args__ = (UniqueConstraint("appeal_id", "username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), index=True)
    username: Mapped[str] = mapped_column(String(100))
    is_chair: Mapped[bool] = mapped_column(Boolean, default=False)
    declaration: Mapped[str] = mapped_column(Text)
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by: Mapped[str] = mapped_column(String(200))


class AppealEvent(Base):
    """One entry of an appeal's own history (steps, seats, notices, decision).

    Kept for every appeal, with or without a complaint (PR-LS-8.1.4 step 2:
    Rekaman Keluhan dan Banding). ``kind`` as :class:`ComplaintEvent`'s.
    """

    __tablename__ = "appeal_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    @validates("kind")
    def _known_kind(self, _key: str, value: str) -> str:
        return event_kind(value)
