"""Personal-data rights under UU PDP (Law 27/2022) and the retention policy.

One place for what the command line (``aduan contact export|erase|correct``),
the staff inbox's contact page and the periodic sweep do with a
complainant's personal data (docs/privacy.md):

- :func:`export_contact` gathers everything held about a contact — the
  contact and the contacts merged into it, addresses, intake conversations,
  messages with their raw payloads, attachments (the files), complaints with
  their events, appeals and satisfaction score, outbox messages to them,
  merges and the personal-data audit — as an :class:`Export`, written as a
  ZIP (:func:`export_zip`) or one JSON document (:func:`export_json`). The
  right of access and portability (art. 7, 13).
- :func:`erase_contact` replaces the personal data with :data:`PLACEHOLDER`
  and deletes the contact's addresses (so a new message from the same number
  or mailbox starts a fresh contact), while the complaint register keeps its
  rows: tracking numbers, channels, dates, statuses, categories, assignees,
  satisfaction scores and the SOP step history (event kinds, actors, times).
  The right to erasure (art. 8, 43). Idempotent.
- :func:`correct_contact` corrects a contact's name and addresses (art. 6).
- :func:`apply_retention` applies the SOP profile's
  :class:`handlers.profile.Retention` in batches (art. 43-44).

Every export, erasure and correction is written to
:class:`storage.models.PersonalDataAudit` with who and when and only row
counts — never the data itself. Everything here runs in the caller's
transaction (except :func:`apply_retention`, which opens its own) and never
commits.

What is erased, by table (everything reachable from the contact, the
contacts merged into it and their complaints):

``contacts``: ``display_name``; ``contact_addresses``: deleted;
``conversations``: ``fields``, ``suggestions`` (an open draft is cancelled);
``messages``: ``sender``, ``sender_name``, ``recipient``, ``subject``,
``text``, ``fields``, ``thread_refs``, ``raw``, ``process_error``;
``attachments``: ``filename`` and ``content``; ``complaints``: names,
title, problem, contact address, thread key, the profile's extra fields and
the free text of the steps' data (``details``); ``complaint_events``:
``note`` and the free text of ``data`` (a field edit's old and new value);
``appeals``: ``reason``, ``decision``; ``outbox``: ``recipient``,
``subject``, ``body``, ``thread_refs``, ``last_error`` (rows not yet sent are
not sent: ``failed`` with ``error_code`` ``erased``); ``delivery_statuses``
of those outbox rows: ``raw``. Free text in JSON is recognised by key: a
string under a key of :data:`STRUCTURAL_KEYS` (who, when, category, codes)
is kept, every other string is replaced.

Not linked to a contact, hence not erased by :func:`erase_contact`:
quarantined inbound mail that could not be parsed (deleted by the retention
policy after ``quarantine_days``).
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Select,
    Text,
    case,
    cast,
    delete,
    func,
    inspect,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import SessionFactory
from storage.models import (
    OPEN_CONVERSATION_STATES,
    Appeal,
    AppealEvent,
    Attachment,
    Base,
    Complaint,
    ComplaintEvent,
    Contact,
    ContactAddress,
    ContactMerge,
    Conversation,
    ConversationState,
    DeliveryStatus,
    LoginThrottle,
    Message,
    OutboxMessage,
    OutboxStatus,
    PersonalDataAudit,
    QuarantinedInbound,
)
from storage.types import utcnow

if TYPE_CHECKING:
    from handlers.profile import Retention

#: What replaces erased text (Indonesian: "erased").
PLACEHOLDER = "[dihapus]"

#: ``OutboxMessage.error_code`` of a message not sent because its data was erased.
ERASED_CODE = "erased"

#: Keys of JSON data (``Complaint.details``, ``ComplaintEvent.data``) whose
#: string values are structure, not free text, and are kept by an erasure:
#: who and when, categories, assignees, channels, codes, field names, ids.
STRUCTURAL_KEYS = frozenset(
    {
        "actor",
        "appeal_id",
        "assignee",
        "at",
        "by",
        "category",
        "channel",
        "chair",
        "code",
        "field",
        "internal",
        "kind",
        "merge_id",
        "message_id",
        "outbox_id",
        "panel",
        "previous",
        "profile",
        "received_on",
        "score",
        "sent_as",
        "source",
        "source_id",
        "target_id",
        "username",
    }
)

#: Path of the public privacy notice page (UU PDP art. 16(2); docs/privacy.md).
NOTICE_PATH = "/privasi"

#: The version of the export document's layout.
EXPORT_FORMAT = "aduan-personal-data-export/1"

#: Rows per retention batch, and batches per table per sweep.
RETENTION_BATCH = 200
RETENTION_MAX_BATCHES = 10

#: Audit actions.
ACTION_EXPORT = "export"
ACTION_ERASE = "erase"
ACTION_CORRECT = "correct"
#: The actor recorded for the retention policy's erasures.
RETENTION_ACTOR = "retention"


#: Roles that may export or erase a contact's personal data in the inbox: the
#: administrator only (docs/privacy.md).
PERSONAL_DATA_ROLES = frozenset({"admin"})


def may_handle_personal_data(role: str) -> bool:
    """Whether staff with ``role`` may export or erase a contact's personal data."""
    return role in PERSONAL_DATA_ROLES


class CorrectionError(ValueError):
    """A correction was refused (an address of another contact, an unknown
    address to remove, an empty name); nothing was changed."""


# --------------------------------------------------------------------------- reading


async def _contact_ids(session: AsyncSession, contact_id: int) -> list[int]:
    """``contact_id`` and every contact merged into it, directly or through another.

    Raises ``LookupError`` when the contact does not exist.
    """
    if await session.get(Contact, contact_id) is None:
        raise LookupError(f"no contact {contact_id}")
    found = [contact_id]
    frontier = [contact_id]
    while frontier:
        rows = list(
            await session.scalars(select(Contact.id).where(Contact.merged_into_id.in_(frontier)))
        )
        frontier = [i for i in rows if i not in found]
        found.extend(frontier)
    return found


def _complaints_of(contact_ids: Sequence[int]) -> Select[Any]:
    return select(Complaint.id).where(Complaint.contact_id.in_(contact_ids))


def _messages_of(contact_ids: Sequence[int]) -> Select[Any]:
    return select(Message.id).where(
        or_(
            Message.contact_id.in_(contact_ids),
            Message.complaint_id.in_(_complaints_of(contact_ids)),
        )
    )


def _appeals_of(contact_ids: Sequence[int], complaint_ids: Sequence[int]) -> Any:
    """Appeals of these contacts: on one of their complaints, or made by them
    without a complaint (PR-LS-8.1.4 step 1, the appellant's own contact)."""
    return or_(Appeal.complaint_id.in_(complaint_ids), Appeal.contact_id.in_(contact_ids))


async def _erase_standalone_appeals(session: AsyncSession, contact_ids: Sequence[int]) -> int:
    """Erase what appeals made by these contacts hold about the appellant: name,
    address, reason, contested decision, the panel's decision and the notes
    and data of their history (appeals on a complaint are also erased with
    it). Returns the appeals touched."""
    appeal_ids = select(Appeal.id).where(Appeal.contact_id.in_(contact_ids))
    events = list(
        await session.scalars(select(AppealEvent).where(AppealEvent.appeal_id.in_(appeal_ids)))
    )
    for event in events:
        if event.note is not None:
            event.note = PLACEHOLDER
        event.data = scrub(dict(event.data or {}))
    return await _execute(
        session,
        update(Appeal)
        .where(Appeal.contact_id.in_(contact_ids))
        .values(
            reason=PLACEHOLDER,
            decision=_if_set(Appeal.decision),
            appellant_name=_if_set(Appeal.appellant_name),
            address=_if_set(Appeal.address),
            contested_decision=_if_set(Appeal.contested_decision),
        ),
    )


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def row_dict(obj: Base, *, skip: Iterable[str] = ()) -> dict[str, Any]:
    """Every mapped column of ``obj`` as JSON-ready values (times in ISO 8601),
    so a column added later is exported without a change here; ``bytes``
    columns and ``skip`` are left out."""
    left_out = set(skip)
    out: dict[str, Any] = {}
    for attr in inspect(type(obj)).column_attrs:
        value = getattr(obj, attr.key)
        if attr.key in left_out or isinstance(value, bytes):
            continue
        out[attr.key] = _value(value)
    return out


@dataclass(frozen=True, slots=True)
class ExportFile:
    """An attachment's bytes, stored in the ZIP at ``path``."""

    path: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Export:
    """Everything held about one contact.

    ``document``: ``{"format", "generated_at", "contact", "merged_contacts",
    "addresses", "conversations", "messages", "attachments", "complaints",
    "complaint_events", "appeals", "outbox", "merges", "audit"}``, each a
    row or list of rows as :func:`row_dict` gives them; every attachment
    names its ``file`` in the ZIP. ``files``: the attachments' bytes.
    """

    document: dict[str, Any]
    files: list[ExportFile] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Rows per section (for the audit record and the page)."""
        return {key: len(value) for key, value in self.document.items() if isinstance(value, list)}


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _file_path(attachment: Attachment) -> str:
    base = _UNSAFE.sub("_", attachment.filename.replace("\\", "/").rsplit("/", 1)[-1])
    return f"attachments/{attachment.id}-{base.strip('._') or 'file'}"


async def export_contact(session: AsyncSession, contact_id: int, *, actor: str) -> Export:
    """Everything held about contact ``contact_id`` (see :class:`Export`), audited.

    ``actor``: ``staff:<username>`` or ``cli:<user>``. Adds a
    :class:`PersonalDataAudit` row (``export``, with the counts) to the
    caller's transaction. Raises ``LookupError`` for an unknown contact.
    """
    ids = await _contact_ids(session, contact_id)
    contacts = {c.id: c for c in await session.scalars(select(Contact).where(Contact.id.in_(ids)))}
    complaints = list(
        await session.scalars(
            select(Complaint).where(Complaint.contact_id.in_(ids)).order_by(Complaint.id)
        )
    )
    complaint_ids = [c.id for c in complaints]
    messages = list(
        await session.scalars(
            select(Message).where(Message.id.in_(_messages_of(ids))).order_by(Message.id)
        )
    )
    attachments = list(
        await session.scalars(
            select(Attachment)
            .where(Attachment.message_id.in_(_messages_of(ids)))
            .order_by(Attachment.id)
        )
    )
    files = [ExportFile(_file_path(a), a.content) for a in attachments if a.content]
    paths = {a.id: _file_path(a) for a in attachments if a.content}

    async def rows(model: Any, *where: Any, order: Any) -> list[dict[str, Any]]:
        return [
            row_dict(r) for r in await session.scalars(select(model).where(*where).order_by(order))
        ]

    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "generated_at": utcnow().isoformat(),
        "contact": row_dict(contacts[contact_id]),
        "merged_contacts": [row_dict(contacts[i]) for i in ids[1:]],
        "addresses": await rows(
            ContactAddress, ContactAddress.contact_id.in_(ids), order=ContactAddress.id
        ),
        "conversations": await rows(
            Conversation, Conversation.contact_id.in_(ids), order=Conversation.id
        ),
        "messages": [row_dict(m) for m in messages],
        "attachments": [{**row_dict(a), "file": paths.get(a.id)} for a in attachments],
        "complaints": [row_dict(c) for c in complaints],
        "complaint_events": await rows(
            ComplaintEvent, ComplaintEvent.complaint_id.in_(complaint_ids), order=ComplaintEvent.id
        ),
        "appeals": await rows(Appeal, _appeals_of(ids, complaint_ids), order=Appeal.id),
        "appeal_events": await rows(
            AppealEvent,
            AppealEvent.appeal_id.in_(select(Appeal.id).where(_appeals_of(ids, complaint_ids))),
            order=AppealEvent.id,
        ),
        "outbox": await rows(
            OutboxMessage, OutboxMessage.contact_id.in_(ids), order=OutboxMessage.id
        ),
        "merges": await rows(
            ContactMerge,
            or_(ContactMerge.source_id.in_(ids), ContactMerge.target_id.in_(ids)),
            order=ContactMerge.id,
        ),
        "audit": await rows(
            PersonalDataAudit, PersonalDataAudit.contact_id.in_(ids), order=PersonalDataAudit.id
        ),
    }
    export = Export(document, files)
    session.add(
        PersonalDataAudit(
            action=ACTION_EXPORT, contact_id=contact_id, actor=actor, counts=export.counts()
        )
    )
    await session.flush()
    return export


def export_json(export: Export) -> bytes:
    """The export as one UTF-8 JSON document; attachments carry their bytes in
    ``content_base64``."""
    content = {f.path: f.content for f in export.files}
    document = dict(export.document)
    document["attachments"] = [
        {
            **a,
            "content_base64": base64.b64encode(content[a["file"]]).decode("ascii")
            if a.get("file") in content
            else None,
        }
        for a in export.document["attachments"]
    ]
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def export_zip(export: Export) -> bytes:
    """The export as a ZIP: ``data.json`` (the document) and ``attachments/<id>-<name>``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(export.document, ensure_ascii=False, indent=2))
        for item in export.files:
            archive.writestr(item.path, item.content)
    return buffer.getvalue()


# --------------------------------------------------------------------------- erasing


def scrub(value: Any, key: str | None = None) -> Any:
    """``value`` (JSON) with every string replaced by :data:`PLACEHOLDER`
    unless it sits under a key of :data:`STRUCTURAL_KEYS`; numbers, booleans
    and ``null`` are kept, keys are kept."""
    if isinstance(value, dict):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, key) for v in value]
    if isinstance(value, str) and key not in STRUCTURAL_KEYS:
        return PLACEHOLDER
    return value


def _if_set(column: Any) -> Any:
    """``PLACEHOLDER`` where ``column`` holds something, ``NULL`` where it is NULL."""
    return case((column.is_(None), null()), else_=PLACEHOLDER)


def _cursor(result: Any) -> CursorResult[Any]:
    """``result`` typed as the cursor result a bulk ``UPDATE``/``DELETE`` gives."""
    return result  # type: ignore[no-any-return]


async def _execute(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(_cursor(result).rowcount or 0)


async def _erase_complaints(
    session: AsyncSession, complaint_ids: Sequence[int], now: datetime
) -> dict[str, int]:
    """Erase the personal data of these complaints and of what hangs on them:
    events, appeals, linked messages and attachments, their conversations,
    outbox rows and delivery reports. Returns rows touched by table."""
    counts: dict[str, int] = {}
    if not complaint_ids:
        return counts
    complaints = list(
        await session.scalars(
            select(Complaint).where(Complaint.id.in_(complaint_ids)).with_for_update()
        )
    )
    for complaint in complaints:
        complaint.complainant_name = PLACEHOLDER
        complaint.complainant_title = None
        complaint.customer_name = PLACEHOLDER
        complaint.problem = PLACEHOLDER
        complaint.contact_address = PLACEHOLDER
        complaint.thread_key = None
        complaint.extra_fields = scrub(dict(complaint.extra_fields or {}))
        complaint.details = scrub(dict(complaint.details or {}))
        if complaint.personal_data_erased_at is None:
            complaint.personal_data_erased_at = now
    counts["complaints"] = len(complaints)
    events = list(
        await session.scalars(
            select(ComplaintEvent).where(ComplaintEvent.complaint_id.in_(complaint_ids))
        )
    )
    for event in events:
        if event.note is not None:
            event.note = PLACEHOLDER
        event.data = scrub(dict(event.data or {}))
    counts["complaint_events"] = len(events)
    counts["appeals"] = await _execute(
        session,
        update(Appeal)
        .where(Appeal.complaint_id.in_(complaint_ids))
        .values(reason=PLACEHOLDER, decision=_if_set(Appeal.decision)),
    )
    conversations = select(Conversation.id).where(Conversation.complaint_id.in_(complaint_ids))
    messages = select(Message.id).where(
        or_(Message.complaint_id.in_(complaint_ids), Message.conversation_id.in_(conversations))
    )
    counts.update(await _erase_messages(session, messages))
    counts["conversations"] = await _erase_conversations(
        session, Conversation.complaint_id.in_(complaint_ids), now
    )
    counts.update(await _erase_outbox(session, OutboxMessage.complaint_id.in_(complaint_ids)))
    return counts


async def _erase_messages(session: AsyncSession, ids: Select[Any]) -> dict[str, int]:
    attachments = await _execute(
        session,
        update(Attachment)
        .where(Attachment.message_id.in_(ids))
        .values(filename=PLACEHOLDER, content=b"", skipped_reason=ERASED_CODE),
    )
    messages = await _execute(
        session,
        update(Message)
        .where(Message.id.in_(ids))
        .values(
            sender=PLACEHOLDER,
            sender_name=None,
            recipient=_if_set(Message.recipient),
            subject=_if_set(Message.subject),
            text=PLACEHOLDER,
            fields={},
            thread_refs=[],
            raw={},
            process_error=None,
        ),
    )
    return {"messages": messages, "attachments": attachments}


async def _erase_conversations(session: AsyncSession, where: Any, now: datetime) -> int:
    open_states = [s.value for s in OPEN_CONVERSATION_STATES]
    await _execute(
        session,
        update(Conversation)
        .where(where, Conversation.state.in_(open_states))
        .values(state=ConversationState.CANCELLED.value, closed_at=now, expires_at=None),
    )
    return await _execute(
        session, update(Conversation).where(where).values(fields={}, suggestions={}, asked=[])
    )


async def _erase_outbox(session: AsyncSession, where: Any) -> dict[str, int]:
    provider_ids = select(OutboxMessage.provider_id).where(
        where, OutboxMessage.provider_id.is_not(None)
    )
    reports = await _execute(
        session,
        update(DeliveryStatus).where(DeliveryStatus.provider_id.in_(provider_ids)).values(raw={}),
    )
    await _execute(
        session,
        update(OutboxMessage)
        .where(
            where,
            OutboxMessage.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value]),
        )
        .values(status=OutboxStatus.FAILED.value, error_code=ERASED_CODE, lease_until=None),
    )
    rows = await _execute(
        session,
        update(OutboxMessage)
        .where(where)
        .values(
            recipient=PLACEHOLDER,
            subject=_if_set(OutboxMessage.subject),
            body=PLACEHOLDER,
            thread_refs=[],
            last_error=None,
        ),
    )
    return {"outbox": rows, "delivery_statuses": reports}


async def _erase(
    session: AsyncSession, contact_id: int, now: datetime
) -> tuple[list[int], dict[str, int]]:
    ids = await _contact_ids(session, contact_id)
    # Lock the contacts first (in id order), as a merge does.
    contacts = list(
        await session.scalars(
            select(Contact).where(Contact.id.in_(ids)).order_by(Contact.id).with_for_update()
        )
    )
    complaint_ids = list(await session.scalars(_complaints_of(ids)))
    # Distinct rows, counted before: the steps below overlap (a message of a
    # complaint is also a message of the contact).
    counts = await erasure_preview(session, contact_id)
    linked = await _erase_complaints(session, complaint_ids, now)
    counts["complaint_events"] = linked.get("complaint_events", 0)
    await _erase_standalone_appeals(session, ids)
    counts["appeals"] = int(
        await session.scalar(
            select(func.count()).select_from(Appeal).where(_appeals_of(ids, complaint_ids))
        )
        or 0
    )
    await _erase_messages(session, select(Message.id).where(Message.contact_id.in_(ids)))
    await _erase_conversations(session, Conversation.contact_id.in_(ids), now)
    await _erase_outbox(session, OutboxMessage.contact_id.in_(ids))
    counts["contact_addresses"] = await _execute(
        session, delete(ContactAddress).where(ContactAddress.contact_id.in_(ids))
    )
    for contact in contacts:
        contact.display_name = None
        if contact.erased_at is None:
            contact.erased_at = now
    counts["contacts"] = len(contacts)
    # The contacts' in-memory address lists are stale after the bulk delete.
    for contact in contacts:
        session.expire(contact, ["addresses"])
    return ids, counts


async def erase_contact(
    session: AsyncSession, contact_id: int, *, actor: str, now: datetime | None = None
) -> dict[str, int]:
    """Erase everything personal held about contact ``contact_id`` (module docstring).

    Returns the rows touched by table (``{"messages": 4, ...}``), also
    recorded, with ``actor`` and the time, as a :class:`PersonalDataAudit`
    row (``erase``). Idempotent: erasing again changes no data and is
    audited again. Raises ``LookupError`` for an unknown contact. The
    caller pauses the contact's message processing
    (:func:`handlers.contacts.processing_paused`) around the transaction.
    """
    when = now or utcnow()
    _ids, counts = await _erase(session, contact_id, when)
    session.add(
        PersonalDataAudit(
            action=ACTION_ERASE, contact_id=contact_id, actor=actor, at=when, counts=counts
        )
    )
    await session.flush()
    return counts


async def erasure_preview(session: AsyncSession, contact_id: int) -> dict[str, int]:
    """What an erasure of ``contact_id`` would touch, without changing anything:
    ``{"contacts", "contact_addresses", "complaints", "conversations", "messages",
    "attachments", "outbox"}`` row counts. Raises ``LookupError`` for an unknown contact."""
    ids = await _contact_ids(session, contact_id)

    async def count(statement: Any) -> int:
        return int(
            await session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        )

    return {
        "contacts": len(ids),
        "contact_addresses": await count(
            select(ContactAddress.id).where(ContactAddress.contact_id.in_(ids))
        ),
        "complaints": await count(_complaints_of(ids)),
        "conversations": await count(
            select(Conversation.id).where(Conversation.contact_id.in_(ids))
        ),
        "messages": await count(_messages_of(ids)),
        "attachments": await count(
            select(Attachment.id).where(Attachment.message_id.in_(_messages_of(ids)))
        ),
        "outbox": await count(
            select(OutboxMessage.id).where(
                or_(
                    OutboxMessage.contact_id.in_(ids),
                    OutboxMessage.complaint_id.in_(_complaints_of(ids)),
                )
            )
        ),
    }


# --------------------------------------------------------------------------- correcting


@dataclass(frozen=True, slots=True)
class Correction:
    """A correction of a contact: a new ``name`` (``None``: unchanged), addresses
    to add and to remove as ``(kind, address)`` with ``kind`` ``phone``
    (E.164), ``email`` (lower-case) or ``telegram`` — already normalised by
    the caller."""

    name: str | None = None
    add: tuple[tuple[str, str], ...] = ()
    remove: tuple[tuple[str, str], ...] = ()


async def correct_contact(
    session: AsyncSession, contact_id: int, correction: Correction, *, actor: str
) -> dict[str, int]:
    """Apply ``correction`` to contact ``contact_id`` (UU PDP art. 6), audited.

    Returns ``{"name": 0|1, "added": n, "removed": n}``, recorded as a
    :class:`PersonalDataAudit` row (``correct``). Raises ``LookupError`` for
    an unknown contact and :class:`CorrectionError`, before anything is
    written, for an empty name, an address that belongs to another contact or
    one to remove that the contact does not have.
    """
    contact = await session.get(Contact, contact_id, with_for_update=True)
    if contact is None:
        raise LookupError(f"no contact {contact_id}")
    name = correction.name.strip() if correction.name is not None else None
    if name is not None and not name:
        raise CorrectionError("the name is empty")
    for kind, address in correction.add:
        owner = await session.scalar(
            select(ContactAddress.contact_id).where(
                ContactAddress.kind == kind, ContactAddress.address == address
            )
        )
        if owner is not None and owner != contact_id:
            raise CorrectionError(
                f"{kind} address is already contact {owner}'s; merge the two contacts instead"
            )
    removing = []
    for kind, address in correction.remove:
        row = await session.scalar(
            select(ContactAddress).where(
                ContactAddress.contact_id == contact_id,
                ContactAddress.kind == kind,
                ContactAddress.address == address,
            )
        )
        if row is None:
            raise CorrectionError(f"contact {contact_id} has no such {kind} address")
        removing.append(row)
    for row in removing:
        await session.delete(row)
    added = 0
    for kind, address in correction.add:
        exists = await session.scalar(
            select(ContactAddress.id).where(
                ContactAddress.kind == kind, ContactAddress.address == address
            )
        )
        if exists is None:
            session.add(ContactAddress(contact_id=contact_id, kind=kind, address=address))
            added += 1
    if name is not None:
        contact.display_name = name
    counts = {"name": int(name is not None), "added": added, "removed": len(removing)}
    session.add(
        PersonalDataAudit(action=ACTION_CORRECT, contact_id=contact_id, actor=actor, counts=counts)
    )
    await session.flush()
    session.expire(contact, ["addresses"])
    return counts


# --------------------------------------------------------------------------- retention


def years_before(moment: datetime, years: int) -> datetime:
    """``moment`` moved back ``years`` calendar years (29 February → 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


async def _clear_raw(sessions: SessionFactory, cutoff: datetime, batch: int) -> int:
    total = 0
    for _ in range(RETENTION_MAX_BATCHES):
        async with sessions() as session, session.begin():
            ids = await _clear_raw_batch(session, Message, Message.received_at, cutoff, batch)
            reports = await _clear_raw_batch(
                session, DeliveryStatus, DeliveryStatus.created_at, cutoff, batch
            )
        total += ids + reports
        if ids < batch and reports < batch:
            break
    return total


async def _clear_raw_batch(
    session: AsyncSession,
    model: type[Message] | type[DeliveryStatus],
    stamp: Any,
    cutoff: datetime,
    batch: int,
) -> int:
    """Empty the provider payload (``raw``) of up to ``batch`` rows of ``model``
    stamped (``stamp``) before ``cutoff`` that still hold one, oldest id first;
    returns how many were emptied."""
    ids = list(
        await session.scalars(
            select(model.id)
            .where(stamp < cutoff, cast(model.raw, Text).not_in(["{}", "null"]))
            .order_by(model.id)
            .limit(batch)
        )
    )
    if ids:
        await _execute(session, update(model).where(model.id.in_(ids)).values(raw={}))
    return len(ids)


async def _delete_quarantine(sessions: SessionFactory, cutoff: datetime, batch: int) -> int:
    total = 0
    for _ in range(RETENTION_MAX_BATCHES):
        async with sessions() as session, session.begin():
            ids = list(
                await session.scalars(
                    select(QuarantinedInbound.id)
                    .where(QuarantinedInbound.created_at < cutoff)
                    .order_by(QuarantinedInbound.id)
                    .limit(batch)
                )
            )
            if ids:
                await _execute(
                    session, delete(QuarantinedInbound).where(QuarantinedInbound.id.in_(ids))
                )
        total += len(ids)
        if len(ids) < batch:
            break
    return total


#: Sign-in throttle rows (a user name as typed, a client address) are kept this
#: long after their latest attempt or lock: the throttle forgets a key after
#: minutes of quiet (docs/staff-access.md), so a day is far beyond any use.
THROTTLE_KEEP = timedelta(days=1)


async def _delete_throttle_keys(sessions: SessionFactory, cutoff: datetime) -> int:
    """Delete sign-in throttle keys quiet since before ``cutoff``; returns how many."""
    async with sessions() as session, session.begin():
        return await _execute(
            session,
            delete(LoginThrottle).where(
                LoginThrottle.window_start < cutoff,
                or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < cutoff),
            ),
        )


async def _contact_is_done(session: AsyncSession, contact_id: int, cutoff: datetime) -> bool:
    """Whether nothing of the contact is newer than ``cutoff`` or still open:
    every complaint erased, no open draft, no message since."""
    ids = await _contact_ids(session, contact_id)
    pending = await session.scalar(
        select(Complaint.id)
        .where(Complaint.contact_id.in_(ids), Complaint.personal_data_erased_at.is_(None))
        .limit(1)
    )
    if pending is not None:
        return False
    draft = await session.scalar(
        select(Conversation.id)
        .where(
            Conversation.contact_id.in_(ids),
            Conversation.state.in_([s.value for s in OPEN_CONVERSATION_STATES]),
        )
        .limit(1)
    )
    if draft is not None:
        return False
    recent = await session.scalar(
        select(Message.id)
        .where(Message.contact_id.in_(ids), Message.received_at >= cutoff)
        .limit(1)
    )
    return recent is None


async def _erase_closed(
    sessions: SessionFactory, retention: Retention, cutoff: datetime, batch: int, now: datetime
) -> tuple[int, int]:
    complaints = contacts = 0
    for _ in range(RETENTION_MAX_BATCHES):
        async with sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(Complaint.id, Complaint.contact_id)
                    .where(
                        Complaint.status.in_(retention.closed_states),
                        Complaint.personal_data_erased_at.is_(None),
                        Complaint.last_activity_at < cutoff,
                    )
                    .order_by(Complaint.id)
                    .limit(batch)
                )
            ).all()
            for complaint_id, contact_id in rows:
                counts = await _erase_complaints(session, [complaint_id], now)
                session.add(
                    PersonalDataAudit(
                        action=ACTION_ERASE,
                        contact_id=contact_id,
                        complaint_id=complaint_id,
                        actor=RETENTION_ACTOR,
                        at=now,
                        counts=counts,
                    )
                )
            await session.flush()
            for contact_id in sorted({contact_id for _, contact_id in rows}):
                contact = await session.get(Contact, contact_id)
                if contact is None or contact.erased_at is not None:
                    continue
                if await _contact_is_done(session, contact_id, cutoff):
                    await erase_contact(session, contact_id, actor=RETENTION_ACTOR, now=now)
                    contacts += 1
        complaints += len(rows)
        if len(rows) < batch:
            break
    return complaints, contacts


async def apply_retention(
    sessions: SessionFactory,
    retention: Retention,
    *,
    now: datetime | None = None,
    batch: int = RETENTION_BATCH,
) -> dict[str, int]:
    """Apply the profile's retention policy once (the periodic sweep calls it).

    In batches of ``batch`` rows, each batch its own transaction, at most
    :data:`RETENTION_MAX_BATCHES` per kind per call (the next sweep goes on):
    raw payloads of messages received, and delivery reports stored, more than
    ``raw_payload_days`` before ``now`` are cleared (``raw = {}``; the text
    stays); quarantined inbound older than ``quarantine_days`` is deleted;
    complaints in ``closed_states`` without activity for
    ``closed_complaint_personal_data_years`` are erased one by one (audited as
    ``retention``), and their contact too once nothing of it is newer or
    still open; sign-in throttle keys quiet for :data:`THROTTLE_KEEP` are
    deleted (they hold user names as typed and client addresses). Returns
    ``{"raw_cleared", "quarantine_deleted", "complaints_erased",
    "contacts_erased", "sign_in_keys_deleted"}``.
    """
    when = now or utcnow()
    raw = await _clear_raw(sessions, when - timedelta(days=retention.raw_payload_days), batch)
    quarantine = await _delete_quarantine(
        sessions, when - timedelta(days=retention.quarantine_days), batch
    )
    complaints, contacts = await _erase_closed(
        sessions,
        retention,
        years_before(when, retention.closed_complaint_personal_data_years),
        batch,
        when,
    )
    throttle = await _delete_throttle_keys(sessions, when - THROTTLE_KEEP)
    return {
        "raw_cleared": raw,
        "quarantine_deleted": quarantine,
        "complaints_erased": complaints,
        "contacts_erased": contacts,
        "sign_in_keys_deleted": throttle,
    }
