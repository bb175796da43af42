"""Request and response bodies of the staff JSON API (``/api/v1``).

Pydantic models: they validate what staff send (unknown keys refused) and
give the OpenAPI document its schemas (:mod:`gateway.api.openapi`). Times
are ISO 8601 in UTC; texts meant for people come as ``{"id": …, "en": …}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from handlers.workflow import CATEGORIES

_CATEGORY = f"One of {', '.join(CATEGORIES)} (SOP-7.9-1 items 4-5)."


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- shared -----------------------------------------------------------------


class Label(_Out):
    """A text in Indonesian (``id``) and English (``en``, may be null)."""

    id: str
    en: str | None = None


class Problem(_Out):
    """An error (RFC 9457 problem details) with a machine-readable ``code``."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = Field(
        None, description="Field-level validation errors, when the body was malformed."
    )


# --- requests ---------------------------------------------------------------


class CapaForm(_In):
    """The corrective and preventive action form (BBSPJIKFK 5.1.11 CAPA form).

    When recording, omitted fields keep their recorded value; after merging,
    all but ``effectiveness_check`` must be filled.
    """

    cause: str | None = Field(None, max_length=5000)
    correction: str | None = Field(None, max_length=5000)
    corrective_action: str | None = Field(None, max_length=5000)
    preventive_action: str | None = Field(None, max_length=5000)
    owner: str | None = Field(None, max_length=5000)
    due_date: str | None = Field(None, max_length=5000)
    effectiveness_check: str | None = Field(None, max_length=5000)


class TransitionRequest(_In):
    """Take one workflow transition; which data fields are needed depends on
    the transition's ``requires`` (see ``GET /api/v1/workflow``)."""

    name: str = Field(description="Transition name, e.g. verify, route, close.")
    note: str | None = Field(None, max_length=5000)
    reason: str | None = Field(None, max_length=5000)
    result: str | None = Field(None, max_length=5000)
    category: str | None = Field(None, max_length=30, description=_CATEGORY)
    assignee: str | None = Field(None, max_length=100)
    capa: CapaForm | None = None
    nonconformity: str | None = Field(
        None, max_length=5000, description="Reference of the nonconformity report (ITS 'LK')."
    )
    complaint_type: str | None = Field(
        None,
        max_length=40,
        description="A complaint type id of the profile (PR-LS-8.1.4 step 2, jenis keluhan).",
    )

    def data(self) -> dict[str, Any]:
        """The transition data as :func:`handlers.workflow.apply_transition` takes it."""
        values = self.model_dump(exclude={"name"}, exclude_none=True)
        if self.capa is not None:
            values["capa"] = self.capa.model_dump(exclude_none=True)
        return values


class AssignRequest(_In):
    """Assign a competent officer (SOP-7.9-1 item 8) without changing the step."""

    assignee: str = Field(min_length=1, max_length=100)
    note: str | None = Field(None, max_length=5000)


class TextRequest(_In):
    """A text: a message to the complainant, or an internal note."""

    text: str = Field(min_length=1, max_length=5000)


class AppealRequest(_In):
    """Open an appeal on the complainant's behalf (e.g. received by letter)."""

    reason: str = Field(min_length=1, max_length=5000)


class PanelMemberRequest(_In):
    """Seat a member on the appeal panel (PR-LS-8.1.4 step 4)."""

    username: str = Field(min_length=1, max_length=100)
    chair: bool = False
    declaration: str = Field(
        min_length=1,
        max_length=5000,
        description="The member's impartiality declaration (text or document reference).",
    )


class DecisionRequest(_In):
    """The appeal panel's final decision, recorded by its chair (PR-LS-8.1.4 step 5)."""

    decision: str = Field(min_length=1, max_length=5000)


class ComplaintQuery(_In):
    """Filters and keyset pagination of ``GET /api/v1/complaints`` (newest first)."""

    status: str | None = Field(None, max_length=30)
    category: str | None = Field(None, max_length=30, description=_CATEGORY)
    channel: str | None = Field(None, max_length=20)
    assignee: str | None = Field(None, max_length=100)
    overdue: bool | None = Field(None, description="Only complaints past their step's due time.")
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(
        None, pattern=r"^[0-9]{1,18}$", description="next_cursor of the previous page."
    )


# --- responses --------------------------------------------------------------


class Me(_Out):
    """The staff member a token acts for."""

    username: str
    full_name: str
    role: str
    role_label: Label | None


class TransitionInfo(_Out):
    """A transition of the workflow."""

    name: str
    label: Label
    from_states: list[str]
    to: str
    roles: list[str]
    requires: list[str]
    notifies_complainant: bool


class StateInfo(_Out):
    """A step of the workflow and its time standard."""

    name: str
    label: Label
    final: bool
    owners: list[str]
    standard: str | None = Field(description="e.g. '3 working_days'; null when none.")


class Workflow(_Out):
    """The SOP profile's workflow."""

    profile: str
    initial: str
    states: list[StateInfo]
    transitions: list[TransitionInfo]
    roles: dict[str, Label]


class PanelMember(_Out):
    """A seated appeal panel member."""

    username: str
    chair: bool
    declaration: str
    declared_at: datetime


class AppealInfo(_Out):
    """An appeal (banding) and its panel."""

    status: Literal["open", "decided"]
    opened_at: datetime
    opened_by: str
    reason: str
    step: Literal["identify", "record_type", "pass_on", "panel", "decision", "decided"]
    step_due_at: datetime | None
    decision: str | None
    decided_at: datetime | None
    decided_by: str | None
    panel: list[PanelMember]


class ComplaintSummary(_Out):
    """A complaint in a list."""

    tracking_number: str
    status: str
    status_label: Label
    category: str | None
    channel: str
    complainant_name: str
    #: Titles and honorifics given with the name ("Dr. Ir., M.T."), or null.
    complainant_title: str | None = None
    customer_name: str
    received_at: datetime
    assignee: str | None
    step_due_at: datetime | None
    overdue: bool


class ComplaintPage(_Out):
    """One page of complaints; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[ComplaintSummary]
    next_cursor: str | None


class ComplaintDetail(ComplaintSummary):
    """A complaint with everything staff work from."""

    problem: str
    extra_fields: dict[str, Any]
    received_by: str
    receiving_officer: str | None = Field(
        description="staff:<username> of the staff member who received the complaint "
        "(SOP-7.9-1 item 2); null until one takes its first step."
    )
    receiving_officer_name: str | None
    complaint_type: str | None = Field(description="Complaint type id (PR-LS-8.1.4 step 2).")
    contact_address: str
    language: str
    step_started_at: datetime | None
    satisfaction: int | None
    details: dict[str, Any]
    capa: CapaForm | None
    allowed_transitions: list[TransitionInfo] = Field(
        description="What the calling staff member may do now."
    )
    appeal: AppealInfo | None


class Event(_Out):
    """One entry of a complaint's history."""

    id: int
    at: datetime
    actor: str
    kind: str
    from_status: str | None
    to_status: str | None
    note: str | None
    data: dict[str, Any]


class EventList(_Out):
    """A complaint's history, oldest first."""

    items: list[Event]


class MessageSent(_Out):
    """A message staged for the complainant."""

    outbox_id: int | None = Field(description="null when the complaint has no route back.")
    routed: bool
