"""Staff corrections of a complaint's identity fields (README.md, "Staff inbox").

The fields are the profile's intake fields (``profile.intake.fields``): the
identity fields of SOP-7.9-1 item 2 — complainant name, customer or
participant name, the problem — kept as columns of
:class:`storage.models.Complaint`, and the profile's other fields, kept in
``Complaint.extra_fields``.

Rules:

* who may edit: the secretariat (it registers complaints, SOP-7.9-1 item 2),
  ``admin``, and whoever may manage the complaint in its current step
  (:func:`handlers.records.may_manage`);
* every new value is checked with the field's own rules
  (:func:`handlers.validation.check_value`: length, kind, pattern); an
  optional field may be emptied;
* every changed field is recorded as one ``field_edited`` complaint event
  with the field, the old and the new value and who changed it (ISO 10002
  records: each edit audited);
* a refusal (:class:`FieldEditRefused`) changes nothing, not even the other
  fields of the same request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.profile import MANDATED_FIELDS, IntakeField, Profile
from handlers.records import may_manage
from handlers.validation import check_value
from handlers.workflow import Actor, Refusal, TransitionRefused
from storage.event_kinds import ComplaintEventKind
from storage.models import Complaint, ComplaintEvent
from storage.types import utcnow

#: Roles that may always correct identity fields: the secretariat registers
#: complaints (SOP-7.9-1 item 2), ``admin`` may do anything.
EDITOR_ROLES = frozenset({"secretariat", "admin"})

#: The event kind of one field's change.
EVENT_KIND = ComplaintEventKind.FIELD_EDITED


class FieldEditRefused(TransitionRefused):
    """An edit was refused and nothing changed.

    ``code`` is a :class:`handlers.workflow.Refusal` (``forbidden``,
    ``invalid_data``); ``field`` the key of the field at fault, if one is;
    ``str(error)`` explains it (for ``invalid_data`` in the language asked).
    """

    def __init__(self, code: Refusal, message: str, field: str | None = None) -> None:
        super().__init__(code, message)
        self.field = field


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field's change: its key, the value before and after (``""``: empty)."""

    field: str
    old: str
    new: str


def may_edit_fields(profile: Profile, complaint: Complaint, actor: Actor) -> bool:
    """Whether ``actor`` may correct the complaint's identity fields (see the module docstring)."""
    return actor.role in EDITOR_ROLES or may_manage(profile, complaint, actor)


def field_value(complaint: Complaint, key: str) -> str:
    """The stored value of field ``key`` on ``complaint`` (``""`` when it has none)."""
    if key in MANDATED_FIELDS:
        return str(getattr(complaint, key) or "")
    value = (complaint.extra_fields or {}).get(key)
    return "" if value is None else str(value)


def _checked(profile: Profile, field: IntakeField, raw: str, language: str) -> str:
    if not field.required and not raw.strip():
        return ""
    result = check_value(field, raw, language, timezone=profile.office.timezone)
    if result.value is None:
        raise FieldEditRefused(
            Refusal.INVALID_DATA, result.error or f"{field.key} is not valid", field=field.key
        )
    return result.value


def plan_changes(
    profile: Profile, complaint: Complaint, values: Mapping[str, str], *, language: str = "id"
) -> list[FieldChange]:
    """The changes ``values`` (field key → new raw text) would make, in profile order.

    Values equal to the stored one (after cleaning) are left out. Raises
    :class:`FieldEditRefused` with ``invalid_data`` for a key that is not one
    of the profile's intake fields or a value the field's rules refuse (the
    message in ``language``). Pure: changes nothing.
    """
    fields = {f.key: f for f in profile.intake.fields}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise FieldEditRefused(
            Refusal.INVALID_DATA, f"unknown fields {', '.join(unknown)}", field=unknown[0]
        )
    changes: list[FieldChange] = []
    for field in profile.intake.fields:
        if field.key not in values:
            continue
        new = _checked(profile, field, values[field.key], language)
        old = field_value(complaint, field.key)
        if new != old:
            changes.append(FieldChange(field.key, old, new))
    return changes


async def edit_fields(
    session: AsyncSession,
    *,
    profile: Profile,
    complaint: Complaint,
    values: Mapping[str, str],
    actor: Actor,
    language: str = "id",
    now: datetime | None = None,
) -> list[ComplaintEvent]:
    """Apply ``values`` (field key → new raw text) to ``complaint`` in the caller's transaction.

    Returns one ``field_edited`` event per changed field (``data``:
    ``{"field", "old", "new"}``; ``actor``: the staff member), none when
    nothing differs. Raises :class:`FieldEditRefused` — ``forbidden`` when
    the actor may not (:func:`may_edit_fields`), ``invalid_data`` as
    :func:`plan_changes` — before changing anything.
    """
    if not may_edit_fields(profile, complaint, actor):
        raise FieldEditRefused(
            Refusal.FORBIDDEN, f"role {actor.role} may not edit the fields of this complaint"
        )
    changes = plan_changes(profile, complaint, values, language=language)
    now = now or utcnow()
    extra = dict(complaint.extra_fields or {})
    events: list[ComplaintEvent] = []
    for change in changes:
        if change.field in MANDATED_FIELDS:
            setattr(complaint, change.field, change.new)
        elif change.new:
            extra[change.field] = change.new
        else:
            extra.pop(change.field, None)
        event = ComplaintEvent(
            complaint_id=complaint.id,
            at=now,
            actor=actor.label,
            kind=EVENT_KIND,
            note=None,
            data={"field": change.field, "old": change.old, "new": change.new},
        )
        session.add(event)
        events.append(event)
    if changes:
        complaint.extra_fields = extra
        await session.flush()
    return events
