"""The SOP workflow as data: states, transitions, roles (docs/sop/README.md).

Each office's profile names its own steps, who may move a complaint between
them, what data a move needs, the time standard of each step and what the
complainant is told. The engine in :mod:`handlers.workflow` only interprets
this; nothing office-specific lives in code.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from handlers.texts import Duration, Text

_STATE_ID = re.compile(r"[a-z][a-z0-9_]{0,29}")

#: Complaint categories (SOP-7.9-1 items 4-5: administrative complaints are
#: followed up by the business development lead or the head of administration,
#: technical ones go to the technical team lead).
CATEGORIES = ("administrative", "technical")

#: Data keys a transition may require (``requires``), checked by the engine.
DATA_KEYS = frozenset(
    {
        "reason",  # why: rejection, appeal refusal …
        "note",  # free text shown in the history
        "category",  # administrative / technical (SOP-7.9-1 items 4-5)
        "assignee",  # username of the competent officer (SOP-7.9-1 item 8)
        "result",  # the answer given to the complainant
        "capa",  # corrective and preventive action (BBSPJIKFK CAPA form)
        "nonconformity",  # reference of the nonconformity report (ITS "LK")
        "complaint_type",  # a profile complaint_types id (PR-LS-8.1.4 step 2, jenis keluhan)
    }
)


class StateSpec(BaseModel):
    """One step of the SOP.

    ``standard`` is the time allowed in this step (the SOP's "Mutu Baku —
    Waktu"); ``owners`` the roles that work it (they get the reminder);
    ``final`` marks states that end the handling.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: Text
    standard: Duration | None = None
    owners: tuple[str, ...] = ()
    final: bool = False
    source: str | None = None


class TransitionSpec(BaseModel):
    """A move between steps, its guard and what the complainant is told.

    ``notify`` may use ``{tracking}``, ``{status}``, ``{next_date}``,
    ``{reason}``, ``{result}`` and ``{note}``.

    ``categories`` limits the transition to complaints of those categories
    (values of :data:`CATEGORIES`; empty: any). The category that counts is
    the one given in the transition's data, else the one already recorded on
    the complaint; the engine refuses with ``wrong_category`` otherwise
    (SOP-7.9-1 items 4-5: administrative complaints are followed up by the
    business development lead or head of administration, technical ones go to
    the technical team lead).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: Text
    from_: tuple[str, ...] = Field(alias="from", min_length=1)
    to: str
    roles: tuple[str, ...] = Field(min_length=1)
    requires: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    notify: Text | None = None
    source: str | None = None


class WorkflowSpec(BaseModel):
    """The whole workflow of a profile, validated for consistency at start."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    initial: str = "received"
    states: dict[str, StateSpec]
    transitions: tuple[TransitionSpec, ...]
    #: Roles told when a step is overdue (escalation).
    escalate_to: tuple[str, ...] = ("manager",)
    #: How long before a step's due time its owners are reminded.
    remind_before: Duration = Duration(amount=60, unit="minutes")
    #: States whose notice asks the complainant for a 1-5 satisfaction score
    #: (ISO 10002: satisfaction with the complaints-handling process).
    satisfaction_after: tuple[str, ...] = ("closed",)

    @model_validator(mode="after")
    def _consistent(self) -> WorkflowSpec:
        too_long = [name for name in self.states if not _STATE_ID.fullmatch(name)]
        if too_long:
            raise ValueError(
                "state ids must be lower-case letters, digits and _ (at most 30): "
                + ", ".join(too_long)
            )
        unknown_after = [n for n in self.satisfaction_after if n not in self.states]
        if unknown_after:
            raise ValueError(f"satisfaction_after names unknown states: {', '.join(unknown_after)}")
        if self.initial not in self.states:
            raise ValueError(f"initial state {self.initial!r} is not among the states")
        names = [t.name for t in self.transitions]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate transition names: {', '.join(dupes)}")
        for transition in self.transitions:
            for state in (*transition.from_, transition.to):
                if state not in self.states:
                    raise ValueError(f"transition {transition.name}: unknown state {state!r}")
            unknown = [k for k in transition.requires if k not in DATA_KEYS]
            if unknown:
                raise ValueError(
                    f"transition {transition.name}: unknown required data {unknown}; "
                    f"use {sorted(DATA_KEYS)}"
                )
            unknown = [c for c in transition.categories if c not in CATEGORIES]
            if unknown:
                raise ValueError(
                    f"transition {transition.name}: unknown categories {unknown}; "
                    f"use {list(CATEGORIES)}"
                )
        return self

    def transition(self, name: str) -> TransitionSpec:
        """The transition ``name``; raises ``KeyError`` if there is none."""
        for transition in self.transitions:
            if transition.name == name:
                return transition
        raise KeyError(name)

    def roles_used(self) -> set[str]:
        """Every role a transition, an owner list or the escalation names."""
        used = set(self.escalate_to)
        for transition in self.transitions:
            used.update(transition.roles)
        for state in self.states.values():
            used.update(state.owners)
        return used


#: The appeal steps before the panel, in SOP order (PR-LS-8.1.4 steps 1-2):
#: identify the substance and validity, record the appeal's type (and
#: subject), pass it on to those who form the panel.
APPEAL_STEP_ORDER: tuple[str, ...] = ("identify", "record_type", "pass_on")


class AppealStepSpec(BaseModel):
    """One appeal step before the panel (PR-LS-8.1.4 steps 1-2).

    ``name`` is one of :data:`APPEAL_STEP_ORDER`; ``owners`` the roles that
    record it; ``standard`` its time, counted from the end of the previous
    step (or the appeal's opening); ``None`` where the SOP gives none. ``to``
    (``pass_on`` only): the roles the appeal is passed on to.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["identify", "record_type", "pass_on"]
    label: Text
    owners: tuple[str, ...] = Field(min_length=1)
    standard: Duration | None = None
    to: tuple[str, ...] = ()
    source: str | None = None


class AppealSubjectSpec(BaseModel):
    """An appeal subject ("materi banding") and the roles competent for it.

    PR-LS-8.1.4 step 4: the panel "memiliki kompetensi sesuai dengan materi
    banding"; only staff holding one of ``competent`` may sit on the panel of
    an appeal with this subject.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: Text
    competent: tuple[str, ...] = Field(min_length=1)


class AppealSpec(BaseModel):
    """Appeals (banding) of a profile.

    ``window``: how long after the complainant received the result an appeal
    may be opened (BBSPJIKFK 5.1.11 step 6: 15 days); ``after``: the states in
    which the result has been given; ``panel_size``: members of the appeal
    panel including one chair (PR-LS-8.1.4 step 4: 3); ``roles``: staff who
    open appeals and form the panel. ``opened``/``refused``/``decided`` are
    the complainant's notices (placeholders ``{tracking}``, ``{reason}``,
    ``{decision}``, ``{deadline}``).

    Time standards of the two appeal steps (BSPJI Pontianak PR-LS-8.1.4,
    "Mutu Baku — Waktu"): ``panel_standard`` for forming the appeal panel,
    counted from the appeal's opening (step 4: 1 day), and
    ``decision_standard`` for the panel's decision, counted from the seat
    that completes the panel (step 5: 1 day). ``None`` means the SOP gives no
    time and nothing is reminded or escalated. Like the complaint steps, each
    step gets one reminder to ``roles`` the workflow's ``remind_before``
    ahead of its due time and one escalation to ``escalate_to`` (default: the
    workflow's ``escalate_to``) once it is overdue.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: ``None`` (or absent): the SOP sets no window (PR-LS-8.1.4).
    window: Duration | None = None
    after: tuple[str, ...] = ("closed",)
    panel_size: int = Field(3, ge=1, le=15)
    roles: tuple[str, ...] = ("secretariat", "manager")
    #: PR-LS-8.1.4 step 4: forming the Tim Penyelesaian Banding (1 day).
    panel_standard: Duration | None = None
    #: PR-LS-8.1.4 step 5: the panel's final decision (1 day).
    decision_standard: Duration | None = None
    #: Roles told when an appeal step is overdue; ``None``: the workflow's.
    escalate_to: tuple[str, ...] | None = None
    #: Appeals against a decision not tied to a complaint, with their own
    #: intake (PR-LS-8.1.4 step 1: "keluhan dan banding yang diajukan oleh
    #: klien atau pemohon").
    standalone: bool = False
    #: Steps before the panel (PR-LS-8.1.4 steps 1-3 apply to appeals too).
    steps: tuple[AppealStepSpec, ...] = ()
    #: Appeal types recorded by the ``record_type`` step (PR-LS-8.1.4 step 2).
    types: dict[str, Text] = {}
    #: Appeal subjects and the roles competent for each (PR-LS-8.1.4 step 4:
    #: "kompetensi sesuai dengan materi banding"); empty: no competence check.
    subjects: dict[str, AppealSubjectSpec] = {}
    opened: Text
    #: The acknowledgement of a standalone appeal (``{reference}``).
    opened_standalone: Text | None = None
    refused: Text
    decided: Text
    source: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> AppealSpec:
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"appeal.steps repeats a step: {', '.join(names)}")
        if names != [n for n in APPEAL_STEP_ORDER if n in names]:
            raise ValueError(
                f"appeal.steps must keep the order {' -> '.join(APPEAL_STEP_ORDER)}: "
                + ", ".join(names)
            )
        for step in self.steps:
            if step.to and step.name != "pass_on":
                raise ValueError(f"appeal.steps {step.name}: only pass_on takes 'to'")
            if step.name == "pass_on" and not step.to:
                raise ValueError("appeal.steps pass_on needs 'to' (the panel-forming roles)")
        if "record_type" in names and not self.types:
            raise ValueError("appeal.steps record_type needs appeal.types")
        if (self.types or self.subjects) and "record_type" not in names:
            raise ValueError(
                "appeal.types and appeal.subjects are recorded by a record_type step; add one"
            )
        bad = [k for k in (*self.types, *self.subjects) if not _STATE_ID.fullmatch(k)]
        if bad:
            raise ValueError(
                "appeal type and subject keys must be lower-case letters, digits and _ "
                f"(at most 30): {', '.join(bad)}"
            )
        if self.standalone and self.opened_standalone is None:
            raise ValueError("appeal.standalone needs opened_standalone (the acknowledgement)")
        return self

    def step(self, name: str) -> AppealStepSpec | None:
        """The pre-panel step ``name``, or ``None`` when the profile has none such."""
        return next((step for step in self.steps if step.name == name), None)

    def roles_used(self) -> set[str]:
        """Every role the appeal section names (checked against the profile's roles)."""
        used = set(self.roles) | set(self.escalate_to or ())
        for step in self.steps:
            used.update(step.owners)
            used.update(step.to)
        for subject in self.subjects.values():
            used.update(subject.competent)
        return used
