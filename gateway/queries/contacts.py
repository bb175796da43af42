"""Contacts as the staff pages read them: search, one contact's overview (docs/privacy.md).

One contact is one person across channels (README.md, "Staff inbox"). What a
viewer sees is decided here (docs/staff-access.md): a viewer limited to their
team's complaints (``allowed``: the assignees whose complaints they may see,
:attr:`gateway.visibility.VisibilityRule.assignee_in`) finds only contacts
with a complaint of their team, and of such a contact only those complaints,
the conversations and message counts belonging to them; messages tied to no
complaint only the unlimited roles see. A contact a viewer may not see is
``None``, the same as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, defer

from channels.addresses import AddressError, normalise_phone
from storage.models import (
    Complaint,
    Contact,
    ContactAddress,
    ContactMerge,
    Conversation,
    Message,
)

#: Messages tied to no complaint shown on the contact page, newest first.
UNLINKED_LIMIT = 50


def _search(query: str) -> ColumnElement[bool]:
    """Contacts whose name, an address or a complaint's complainant name contains
    ``query``, or with that number (``12``, ``#12``) or phone (``0812…`` finds
    ``+62812…``)."""
    has_address = (
        select(ContactAddress.id)
        .where(
            ContactAddress.contact_id == Contact.id,
            ContactAddress.address.icontains(query, autoescape=True),
        )
        .exists()
    )
    named_in_complaint = (
        select(Complaint.id)
        .where(
            Complaint.contact_id == Contact.id,
            Complaint.complainant_name.icontains(query, autoescape=True),
        )
        .exists()
    )
    conditions: list[ColumnElement[bool]] = [
        Contact.display_name.icontains(query, autoescape=True),
        has_address,
        named_in_complaint,
    ]
    number = query.removeprefix("#")
    if number.isdigit() and len(number) <= 9:
        conditions.append(Contact.id == int(number))
    try:
        phone = normalise_phone(query)
    except AddressError:
        pass
    else:
        conditions.append(
            select(ContactAddress.id)
            .where(ContactAddress.contact_id == Contact.id, ContactAddress.address == phone)
            .exists()
        )
    return or_(*conditions)


def _addresses(contact: Contact) -> tuple[tuple[str, str], ...]:
    """``(kind, address)`` pairs (kind: ``phone``, ``email``, ``telegram``), sorted."""
    return tuple(
        (a.kind, a.address) for a in sorted(contact.addresses, key=lambda a: (a.kind, a.address))
    )


@dataclass(frozen=True, slots=True)
class ContactSummary:
    """A contact as lists show it: ``name`` its own or, without one, its newest
    complaint's complainant name; ``addresses`` as ``(kind, address)``;
    ``complaints`` how many the viewer may see."""

    id: int
    name: str
    addresses: tuple[tuple[str, str], ...]
    complaints: int
    merged_into_id: int | None


async def find_contacts(
    session: AsyncSession,
    query: str,
    *,
    allowed: frozenset[str] | None,
    exclude: int | None = None,
    unmerged_only: bool = False,
    limit: int,
) -> list[ContactSummary]:
    """Contacts matching ``query`` (all when empty), most recently changed first,
    at most ``limit``.

    ``allowed``: only contacts with a complaint assigned to one of these
    usernames (an officer's team), counting only those complaints.
    """
    chosen: Select[Any] = select(Contact)
    if query:
        chosen = chosen.where(_search(query))
    if exclude is not None:
        chosen = chosen.where(Contact.id != exclude)
    if unmerged_only:
        chosen = chosen.where(Contact.merged_into_id.is_(None))
    if allowed is not None:
        chosen = chosen.where(
            select(Complaint.id)
            .where(Complaint.contact_id == Contact.id, Complaint.assignee.in_(allowed))
            .exists()
        )
    contacts = list(
        await session.scalars(
            chosen.order_by(Contact.updated_at.desc(), Contact.id.desc()).limit(limit)
        )
    )
    counted = select(Complaint.contact_id, func.count()).where(
        Complaint.contact_id.in_([c.id for c in contacts])
    )
    if allowed is not None:
        counted = counted.where(Complaint.assignee.in_(allowed))
    counts: dict[int, int] = {
        contact_id: number
        for contact_id, number in await session.execute(counted.group_by(Complaint.contact_id))
    }
    # A chat contact often has no name of its own: show its newest complaint's.
    named = select(Complaint.contact_id, Complaint.complainant_name).where(
        Complaint.contact_id.in_([c.id for c in contacts if not c.display_name])
    )
    complainants = {
        contact_id: name for contact_id, name in await session.execute(named.order_by(Complaint.id))
    }
    return [
        ContactSummary(
            id=c.id,
            name=c.display_name or complainants.get(c.id, ""),
            addresses=_addresses(c),
            complaints=counts.get(c.id, 0),
            merged_into_id=c.merged_into_id,
        )
        for c in contacts
    ]


@dataclass(frozen=True, slots=True)
class ContactRef:
    """A contact by id and name; ``erased_at`` when its personal data was erased."""

    id: int
    display_name: str | None
    erased_at: datetime | None


@dataclass(frozen=True, slots=True)
class ContactComplaint:
    """One complaint of the contact (``status``: the workflow state's code)."""

    tracking_number: str
    channel: str
    status: str
    received_at: datetime
    complainant_name: str
    contact_address: str
    problem: str


@dataclass(frozen=True, slots=True)
class ContactConversation:
    """One intake conversation; ``tracking_number`` of the complaint it registered."""

    id: int
    channel: str
    state: str
    created_at: datetime
    updated_at: datetime
    tracking_number: str | None


@dataclass(frozen=True, slots=True)
class UnlinkedMessage:
    """An inbound message tied to no complaint (``text`` as received)."""

    channel: str
    received_at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class MergeRecord:
    """A merge into or out of the contact; ``merged_by``/``undone_by`` are actors
    (``staff:<username>``); ``active`` while not undone."""

    id: int
    source_id: int
    source_name: str
    target_id: int
    target_name: str
    merged_by: str
    merged_at: datetime
    undone_by: str | None
    undone_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the merge still holds (not undone)."""
        return self.undone_at is None


@dataclass(frozen=True, slots=True)
class ContactOverview:
    """Everything the contact page shows of one contact to one viewer.

    ``name``: the contact's own, or its newest visible complaint's
    complainant name; ``complaints`` newest first; ``message_counts`` as
    ``(channel, count)`` by channel; ``merged_into`` the contact it was
    merged into and ``active_merge`` that merge, while it holds.
    """

    contact: ContactRef
    name: str
    created_at: datetime
    addresses: tuple[tuple[str, str], ...]
    complaints: tuple[ContactComplaint, ...]
    conversations: tuple[ContactConversation, ...]
    message_counts: tuple[tuple[str, int], ...]
    unlinked: tuple[UnlinkedMessage, ...]
    merges: tuple[MergeRecord, ...]
    merged_into: ContactRef | None
    active_merge: MergeRecord | None


def _ref(contact: Contact) -> ContactRef:
    return ContactRef(id=contact.id, display_name=contact.display_name, erased_at=contact.erased_at)


async def contact_overview(
    session: AsyncSession, contact_id: int, *, allowed: frozenset[str] | None
) -> ContactOverview | None:
    """The contact page of ``contact_id`` for a viewer limited to ``allowed``
    assignees (``None``: every complaint); ``None`` when the contact does not
    exist or the viewer may see none of its complaints (module docstring)."""
    contact = await session.get(Contact, contact_id)
    if contact is None:
        return None
    complaints_query = select(Complaint).where(Complaint.contact_id == contact_id)
    if allowed is not None:
        complaints_query = complaints_query.where(Complaint.assignee.in_(allowed))
    complaints = list(
        await session.scalars(
            complaints_query.order_by(Complaint.received_at.desc(), Complaint.id.desc())
        )
    )
    if allowed is not None and not complaints:
        return None
    visible_ids = [c.id for c in complaints]

    conversations_query = (
        select(Conversation, Complaint.tracking_number)
        .outerjoin(Complaint, Complaint.id == Conversation.complaint_id)
        .where(Conversation.contact_id == contact_id)
    )
    messages_query = select(Message.channel, func.count()).where(Message.contact_id == contact_id)
    if allowed is not None:
        conversations_query = conversations_query.where(Conversation.complaint_id.in_(visible_ids))
        messages_query = messages_query.where(Message.complaint_id.in_(visible_ids))
    conversations = (
        await session.execute(conversations_query.order_by(Conversation.id.desc()))
    ).all()
    counts = (
        await session.execute(messages_query.group_by(Message.channel).order_by(Message.channel))
    ).all()
    # Messages tied to no complaint (e.g. on a channel the profile does not
    # use: handlers.channel_policy): kept and shown to the unlimited roles.
    unlinked = (
        []
        if allowed is not None
        else list(
            await session.scalars(
                select(Message)
                .options(defer(Message.raw))
                .where(
                    Message.contact_id == contact_id,
                    Message.complaint_id.is_(None),
                    Message.direction == "in",
                )
                .order_by(Message.id.desc())
                .limit(UNLINKED_LIMIT)
            )
        )
    )

    source, target = aliased(Contact), aliased(Contact)
    merges = tuple(
        MergeRecord(
            id=m.id,
            source_id=m.source_id,
            source_name=source_name or "",
            target_id=m.target_id,
            target_name=target_name or "",
            merged_by=m.merged_by,
            merged_at=m.merged_at,
            undone_by=m.undone_by,
            undone_at=m.undone_at,
        )
        for m, source_name, target_name in await session.execute(
            select(ContactMerge, source.display_name, target.display_name)
            .join(source, source.id == ContactMerge.source_id)
            .join(target, target.id == ContactMerge.target_id)
            .where(or_(ContactMerge.target_id == contact_id, ContactMerge.source_id == contact_id))
            .order_by(ContactMerge.id.desc())
        )
    )
    merged_into = (
        await session.get(Contact, contact.merged_into_id)
        if contact.merged_into_id is not None
        else None
    )
    return ContactOverview(
        contact=_ref(contact),
        name=contact.display_name or (complaints[0].complainant_name if complaints else ""),
        created_at=contact.created_at,
        addresses=_addresses(contact),
        complaints=tuple(
            ContactComplaint(
                tracking_number=c.tracking_number,
                channel=c.channel,
                status=c.status,
                received_at=c.received_at,
                complainant_name=c.complainant_name,
                contact_address=c.contact_address,
                problem=c.problem,
            )
            for c in complaints
        ),
        conversations=tuple(
            ContactConversation(
                id=conversation.id,
                channel=conversation.channel,
                state=conversation.state,
                created_at=conversation.created_at,
                updated_at=conversation.updated_at,
                tracking_number=tracking,
            )
            for conversation, tracking in conversations
        ),
        message_counts=tuple((channel, count) for channel, count in counts),
        unlinked=tuple(
            UnlinkedMessage(channel=m.channel, received_at=m.received_at, text=m.text or "")
            for m in unlinked
        ),
        merges=merges,
        merged_into=_ref(merged_into) if merged_into is not None else None,
        active_merge=next((m for m in merges if m.source_id == contact_id and m.active), None),
    )


async def contact_ref(session: AsyncSession, contact_id: int) -> ContactRef | None:
    """Contact ``contact_id`` by id and name, or ``None`` when there is none."""
    contact = await session.get(Contact, contact_id)
    return _ref(contact) if contact is not None else None


async def merge_parties(session: AsyncSession, merge_id: int) -> tuple[int, int] | None:
    """``(target id, source id)`` of merge ``merge_id``, or ``None`` when there is none."""
    found = await session.get(ContactMerge, merge_id)
    return (found.target_id, found.source_id) if found is not None else None
