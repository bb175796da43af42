"""SOP profiles: everything office-specific (fields, texts, time standards).

A profile is a YAML file validated at start. The shipped ones live in
``handlers/profiles/<name>.yaml``; ``ADUAN_SOP_PROFILE`` names one of them or
gives a path to a custom file (README.md, "SOP profiles").
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Container, Iterable
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from handlers.canned_replies import CannedReplies
from handlers.i18n import N_, t
from handlers.office_hours import DEFAULT_HOURS, OfficeHours
from handlers.texts import Duration, Text
from handlers.timestandards import DayCount, WorkingCalendar
from handlers.workflow_spec import AppealSpec, WorkflowSpec
from storage.models import ComplaintStatus

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"

#: Display names (catalogue message ids) of the built-in statuses, for a
#: status the profile's workflow does not name (:meth:`Profile.status_label`).
STATUS_NAMES: dict[ComplaintStatus, str] = {
    ComplaintStatus.RECEIVED: N_("Received"),
    ComplaintStatus.VERIFIED: N_("Verified"),
    ComplaintStatus.REJECTED: N_("Rejected"),
    ComplaintStatus.IN_FOLLOW_UP: N_("In follow-up"),
    ComplaintStatus.CAPA_RECORDED: N_("Corrective action recorded"),
    ComplaintStatus.RESULT_VERIFIED: N_("Result verified"),
    ComplaintStatus.CLOSED: N_("Closed"),
    ComplaintStatus.ARCHIVED: N_("Archived"),
}

#: Fields every profile must collect: SOP-7.9-1 item 2 (complaint date and
#: receiving officer are recorded automatically, not asked).
MANDATED_FIELDS = ("complainant_name", "customer_name", "problem")


class ProfileError(Exception):
    """A profile file is missing or invalid; the message names the file and key."""


class FieldKind(enum.StrEnum):
    """How a field's value is read and checked (:func:`handlers.validation.check_value`).

    ``date``: a calendar day written informally in Indonesian or English ("12
    November 2026", "12/11/2026", "kemarin", "3 hari yang lalu"; see
    :mod:`handlers.dates`), not in the future, stored as ``YYYY-MM-DD``.
    """

    NAME = "name"
    TEXT = "text"
    LONGTEXT = "longtext"
    EMAIL = "email"
    PHONE = "phone"
    DATE = "date"


class IntakeField(BaseModel):
    """One field the intake conversation collects.

    ``min_length``/``max_length`` count characters after trimming; ``pattern`` is
    a regular expression the whole value must match; ``aliases`` are extra
    labels recognised in ``Label: value`` lines.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: Text
    prompt: Text
    invalid: Text | None = None
    kind: FieldKind = FieldKind.TEXT
    required: bool = True
    min_length: int = Field(1, ge=0)
    max_length: int = Field(2000, ge=1)
    pattern: str | None = None
    aliases: tuple[str, ...] = ()
    source: str | None = None

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _lengths(self) -> IntakeField:
        if self.min_length > self.max_length:
            raise ValueError("min_length is greater than max_length")
        return self


class Office(BaseModel):
    """Who runs the intake (shown on the web form and signed under replies) and
    when it works.

    ``hours``: open hours per weekday with breaks (:mod:`handlers.office_hours`;
    default: Indonesian government office hours); ``day_count``: how the
    profile's "N hari" (unit ``days``) is counted, ``working_days`` or
    ``calendar_days`` (:func:`handlers.timestandards.due_at`); each shipped
    profile states the SOP clause behind its choice.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Text
    unit: Text
    timezone: str = "Asia/Jakarta"
    #: The office's own days off besides weekends and public holidays.
    leave_days: tuple[date, ...] = ()
    #: Whether the national collective leave days (cuti bersama) are days off.
    observe_joint_holidays: bool = True
    #: Open hours per weekday, breaks excluded (docs/time-standards.md).
    hours: OfficeHours = DEFAULT_HOURS
    #: How "N hari" (unit ``days``) is counted.
    day_count: DayCount = DayCount.WORKING_DAYS

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Jakarta)") from None
        return value

    def calendar(self) -> WorkingCalendar:
        """The office's working-day calendar (:mod:`handlers.timestandards`)."""
        return WorkingCalendar(
            self.timezone,
            frozenset(self.leave_days),
            self.observe_joint_holidays,
            self.hours,
            self.day_count,
        )


class Intake(BaseModel):
    """The intake conversation: fields in the order they are asked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: tuple[IntakeField, ...] = Field(min_length=1)
    conversation_ttl_hours: float = Field(72.0, gt=0)
    #: Chat messages sent within this quiet gap of one another, before the bot
    #: answered, are one turn (handlers/intake/turns.py). 0 turns it off.
    turn_gap_seconds: float = Field(2.5, ge=0, le=30)
    #: A turn is handled at the latest this long after its first message, even
    #: when messages keep coming.
    turn_max_wait_seconds: float = Field(12.0, gt=0, le=120)

    @model_validator(mode="after")
    def _mandated(self) -> Intake:
        keys = [f.key for f in self.fields]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"duplicate field keys: {', '.join(dupes)}")
        missing = [k for k in MANDATED_FIELDS if k not in keys]
        if missing:
            raise ValueError(
                "must collect the identity fields of SOP-7.9-1 item 2; missing: "
                + ", ".join(missing)
            )
        for field in self.fields:
            if field.key in MANDATED_FIELDS and not field.required:
                raise ValueError(f"field {field.key} is mandated and cannot be optional")
        return self


class Retention(BaseModel):
    """How long personal data is kept (UU PDP, Law 27/2022, art. 43-44: data
    no longer needed for its purpose is erased; docs/privacy.md).

    Applied by the periodic sweep (:func:`handlers.privacy.apply_retention`):
    ``raw_payload_days`` after receipt a message's raw provider payload or raw
    email is cleared (its text stays on the thread); ``quarantine_days`` after
    it was set aside, unreadable inbound mail is deleted;
    ``closed_complaint_personal_data_years`` after the last activity on a
    complaint in one of ``closed_states``, its personal data is erased (the
    register keeps the row, dates, status and step history).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    raw_payload_days: int = Field(90, ge=1, le=3650)
    quarantine_days: int = Field(30, ge=1, le=3650)
    closed_complaint_personal_data_years: int = Field(5, ge=1, le=100)
    closed_states: tuple[str, ...] = Field(("closed", "archived", "rejected"), min_length=1)


class PrivacyNotice(BaseModel):
    """The privacy notice (UU PDP art. 16(2), 20-21: purpose, retention, whom to
    ask), shown at ``/privasi``, on the web form and in the first chat reply.

    ``purpose``: why the data is collected and what it is used for;
    ``contact``: how to ask for a copy, a correction or erasure. The retention
    periods come from :class:`Retention`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    purpose: Text = Text(
        id=(
            "Nama, alamat kontak, dan isi pengaduan Anda kami gunakan hanya untuk "
            "mencatat, menindaklanjuti, dan menjawab pengaduan Anda, serta untuk "
            "laporan pengaduan kantor ini."
        ),
        en=(
            "Your name, contact address and complaint are used only to record, "
            "follow up and answer your complaint, and for this office's complaint reports."
        ),
    )
    contact: Text = Text(
        id="Hubungi petugas pengaduan kantor ini melalui saluran yang Anda gunakan.",
        en="Contact this office's complaints desk on the channel you used.",
    )


class WhatsAppTemplate(BaseModel):
    """The approved WhatsApp template used outside the 24-hour window (docs/channels.md).

    ``name`` is the Cloud API template name, ``languages`` maps our language
    (``id``/``en``) to the template's language code, ``content_sid`` is the
    Twilio Content template (``HX…``). ``variables`` name what fills the
    body placeholders {{1}}, {{2}}, … in order.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    languages: dict[str, str] = Field(default_factory=lambda: {"id": "id", "en": "en"})
    content_sid: str | None = Field(None, pattern=r"^HX[0-9a-fA-F]{32}$")
    variables: tuple[str, ...] = ("tracking_number", "text")

    @field_validator("variables")
    @classmethod
    def _variables(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        allowed = {"tracking_number", "text", "office"}
        unknown = [v for v in value if v not in allowed]
        if unknown:
            raise ValueError(f"unknown variables {unknown}; use {sorted(allowed)}")
        return value


class AcceptanceWindow(BaseModel):
    """How long after a reference date a complaint may be made, and what happens outside.

    SOP-7.9-1 item 3 (BBSPJIKKP): a complaint is served only when made at
    most 3 working days after the participant received the final
    proficiency-testing report. ``field`` is the intake field (kind ``date``)
    giving that reference date; the deadline is ``within`` counted from the
    start of that day in office time (:meth:`handlers.texts.Duration.due`,
    so working days skip weekends, public holidays and cuti bersama). A
    complaint received after the deadline is still registered, then moved by
    the system along workflow transition ``transition`` with ``reason`` (placeholders
    ``{date}``: the reference date, ``{deadline}``: the last day) as the
    transition's reason (:mod:`handlers.acceptance`). A complaint without the
    date (an optional field left empty) is served.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    within: Duration
    transition: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    reason: Text
    source: str | None = None

    @field_validator("reason")
    @classmethod
    def _placeholders(cls, value: Text) -> Text:
        for text in (value.id, value.en):
            if text is None:
                continue
            try:
                text.format(date="", deadline="")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"reason may only use the placeholders {{date}} and {{deadline}}: {exc!r}"
                ) from None
        return value


class FollowUp(BaseModel):
    """What the acknowledgement promises about the follow-up, and how it is tracked.

    ``states``: the workflow states whose time standards (:class:`StateSpec`
    ``standard``) together make up the promised ``follow_up_standard``; the
    promise is the sum of those steps (all in one unit), so every promise is a
    tracked step of the workflow (ISO 10002 8.3: no commitment the office
    does not track). ``note``: what the complainant is told instead of a
    deadline when the SOP sets none (e.g. SOP-7.9-1 item 10, progress is
    reported by the secretariat); ``None`` says nothing. ``source`` names the
    clause.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    states: tuple[str, ...] = ()
    note: Text | None = None
    source: str | None = None


class ComplaintType(BaseModel):
    """One complaint type staff record on a complaint (PR-LS-8.1.4 step 2,
    "mendokumentasikan rincian data tentang jenis keluhan").

    ``id`` is stored on the complaint (``complaints.complaint_type``); ``label``
    is what staff and exports show.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: Text
    source: str | None = None


class Reports(BaseModel):
    """Who reads the complaint register and the recap.

    ``roles``: profile roles allowed besides ``admin`` (who may always); the
    clause that charges them with the records goes in ``source`` (e.g.
    BBSPJIKFK 5.1.11 step 6, "Arsip dan Rekapitulasi Keluhan" by Staff PJTK).
    Empty: the built-in rule of :func:`gateway.inbox.access.may_report`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: tuple[str, ...] = ()
    source: str | None = None


class CapaMonitoring(BaseModel):
    """Monitoring of the corrective programme (PM-BAPKM.AP.1-24 step f,
    "melakukan pemantauan program perbaikan").

    Staff add dated monitoring entries to a complaint's CAPA while it is in
    one of ``states`` (:mod:`handlers.capa_monitoring`); empty: not kept.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    states: tuple[str, ...] = ()
    source: str | None = None


@functools.cache
def default_workflow() -> tuple[WorkflowSpec, dict[str, Text]]:
    """The workflow of the shipped default profile and the roles it names.

    Returns ``(spec, roles)``: the ``workflow`` section of
    ``handlers/profiles/default.yaml`` and, for every role that workflow
    uses, its name under that file's ``roles``. Read once. A profile without
    a ``workflow`` gets these (README.md "SOP profiles").
    """
    data = yaml.safe_load((PROFILES_DIR / "default.yaml").read_text(encoding="utf-8"))
    spec = WorkflowSpec.model_validate(data["workflow"])
    roles = {
        role: Text.model_validate(data["roles"][role])
        for role in sorted(spec.roles_used() - {"admin"})
    }
    return spec, roles


def _all_known(problem: str, names: Iterable[str], known: Container[str], hint: str = "") -> None:
    """Raise ``ValueError("<problem>: a, b<hint>")`` naming those of ``names`` not in ``known``.

    ``names`` are named in the order given (sort them for a stable message).
    """
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"{problem}: {', '.join(unknown)}{hint}")


class Profile(BaseModel):
    """A whole SOP profile (see ``handlers/profiles/default.yaml``).

    Every profile has a ``workflow``: one without it (an office's own YAML
    leaving the key out, or giving ``null``) gets the default profile's
    workflow at load, together with the roles that workflow uses which the
    profile does not declare itself (:func:`default_workflow`; README.md
    "SOP profiles"). Its complaints then go through the default steps.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: Text
    source: str
    office: Office
    tracking_prefix: str = Field("ADU", pattern=r"^[A-Z]{2,8}$")
    intake: Intake
    #: The follow-up time promised in the acknowledgement; ``None`` when the
    #: SOP sets none (then nothing is promised). Must equal the standards of
    #: ``follow_up.states`` (validated).
    follow_up_standard: Duration | None = None
    follow_up: FollowUp = FollowUp()
    #: Complaint types staff choose from (PR-LS-8.1.4 step 2); empty: not recorded.
    complaint_types: tuple[ComplaintType, ...] = ()
    #: Who may read the register and recap besides ``admin``.
    reports: Reports = Reports()
    #: Dated monitoring entries on the corrective programme (ITS step f).
    capa_monitoring: CapaMonitoring = CapaMonitoring()
    channels: tuple[str, ...] = ("web", "email", "whatsapp", "sms", "telegram", "api", "manual")
    whatsapp_template: WhatsAppTemplate | None = None
    #: Role id → name; staff accounts carry one of these (``admin`` may do anything).
    roles: dict[str, Text] = Field(default_factory=dict)
    #: The SOP's steps; the default profile's when the YAML gives none.
    workflow: WorkflowSpec
    appeal: AppealSpec | None = None
    #: When complaints are served at all (SOP-7.9-1 item 3); ``None``: always.
    acceptance_window: AcceptanceWindow | None = None
    #: How long personal data is kept (docs/privacy.md).
    retention: Retention = Retention()
    #: The privacy notice's own texts (docs/privacy.md).
    privacy: PrivacyNotice = PrivacyNotice()
    #: Ready-made replies staff pick in the reply box (:mod:`handlers.canned_replies`).
    canned_replies: CannedReplies = ()

    @model_validator(mode="before")
    @classmethod
    def _default_workflow(cls, data: Any) -> Any:
        """Give a profile without a workflow the default one and the roles it uses."""
        if not isinstance(data, dict) or data.get("workflow") is not None:
            return data
        spec, default_roles = default_workflow()
        roles = data.get("roles", {})
        if isinstance(roles, dict):
            roles = {**default_roles, **roles}
        return {**data, "workflow": spec, "roles": roles}

    @model_validator(mode="after")
    def _workflow_roles(self) -> Profile:
        roles = {*self.roles, "admin"}
        if self.appeal is not None:
            _all_known("appeal.after names unknown states", self.appeal.after, self.workflow.states)
            used = sorted(self.appeal.roles_used())
            _all_known("appeal uses roles not declared under roles", used, roles)
        used = sorted(self.workflow.roles_used())
        _all_known("workflow uses roles not declared under roles", used, roles)
        return self

    @model_validator(mode="after")
    def _follow_up_tracked(self) -> Profile:
        """A promised follow-up time is the sum of named workflow steps' standards.

        Raises ``ValueError`` when a promise names no step, names unknown
        states or steps without a standard, mixes units, or does not add up.
        """
        standard = self.follow_up_standard
        states = self.follow_up.states
        if standard is None:
            if states:
                raise ValueError("follow_up.states given without a follow_up_standard")
            return self
        if not states:
            raise ValueError(
                "follow_up_standard is promised to complainants, so it must be tracked: "
                "name the workflow states whose standards make it up under follow_up.states"
            )
        total = 0
        for name in states:
            spec = self.workflow.states.get(name)
            if spec is None:
                raise ValueError(f"follow_up.states names unknown state {name!r}")
            if spec.standard is None:
                raise ValueError(f"follow_up.states: state {name!r} has no standard")
            if spec.standard.unit != standard.unit:
                raise ValueError(
                    f"follow_up.states: state {name!r} counts {spec.standard.unit}, "
                    f"the promise counts {standard.unit}"
                )
            total += spec.standard.amount
        if total != standard.amount:
            raise ValueError(
                f"follow_up_standard promises {standard.amount} {standard.unit} but the "
                f"steps {', '.join(states)} track {total}"
            )
        return self

    @model_validator(mode="after")
    def _types_and_report_roles(self) -> Profile:
        """Complaint type ids are unique; report roles are declared roles."""
        ids = [c.id for c in self.complaint_types]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate complaint_types ids: {', '.join(dupes)}")
        if not self.complaint_types:
            asking = [t.name for t in self.workflow.transitions if "complaint_type" in t.requires]
            if asking:
                raise ValueError(
                    f"transitions {', '.join(asking)} require complaint_type but the "
                    "profile lists no complaint_types"
                )
        states = self.workflow.states
        _all_known(
            "capa_monitoring.states names unknown states", self.capa_monitoring.states, states
        )
        report_roles = sorted(set(self.reports.roles))
        _all_known("reports.roles names undeclared roles", report_roles, {*self.roles, "admin"})
        return self

    def status_label(self, status: str, lang: str) -> str:
        """The display name of complaint status ``status`` in ``lang`` (``"id"``/``"en"``).

        The one source of a status's name for every reader (intake replies,
        the public tracking page, the API, the inbox, the reports): the
        office's own name for the step in its workflow (its SOP profile) when
        the workflow has the state; else the translated built-in name of
        :data:`STATUS_NAMES`; else ``status`` itself (a state a since-changed
        profile no longer has). Never raises.
        """
        state = self.workflow.states.get(status)
        if state is not None:
            return state.label.get(lang)
        try:
            name = STATUS_NAMES.get(ComplaintStatus(status))
        except ValueError:
            name = None
        return t(lang, name) if name else status

    def complaint_type_label(self, type_id: str | None, language: str) -> str:
        """The label of complaint type ``type_id`` (the id itself when the profile
        no longer lists it; ``""`` for ``None``)."""
        if not type_id:
            return ""
        for kind in self.complaint_types:
            if kind.id == type_id:
                return kind.label.get(language)
        return type_id

    @model_validator(mode="after")
    def _retention_states(self) -> Profile:
        """``retention.closed_states`` are states of the workflow."""
        known = set(self.workflow.states)
        _all_known(
            "retention.closed_states names unknown states",
            self.retention.closed_states,
            known,
            f"; states: {', '.join(sorted(known))}",
        )
        return self

    @model_validator(mode="after")
    def _acceptance_window(self) -> Profile:
        """The window's field is a date field and its transition one the system can take.

        The transition must start from the workflow's initial state (the
        complaint is rejected right at registration), need no data but the
        reason (and a note, given the same text), be open to every category
        (a new complaint has none yet) and tell the complainant the
        ``{reason}``.
        """
        window = self.acceptance_window
        if window is None:
            return self
        fields = {f.key: f for f in self.intake.fields}
        if window.field not in fields:
            raise ValueError(
                f"acceptance_window.field names unknown intake field {window.field!r}; "
                f"fields: {', '.join(fields)}"
            )
        kind = fields[window.field].kind
        if kind is not FieldKind.DATE:
            raise ValueError(
                f"acceptance_window.field {window.field!r} must be an intake field of "
                f"kind date, not {kind.value}"
            )
        try:
            transition = self.workflow.transition(window.transition)
        except KeyError:
            names = ", ".join(t.name for t in self.workflow.transitions)
            raise ValueError(
                f"acceptance_window.transition names unknown transition "
                f"{window.transition!r}; transitions: {names}"
            ) from None
        if self.workflow.initial not in transition.from_:
            raise ValueError(
                f"acceptance_window.transition {window.transition!r} must start from the "
                f"initial state {self.workflow.initial!r} (it has from: "
                f"{', '.join(transition.from_)})"
            )
        extra = sorted(set(transition.requires) - {"reason", "note"})
        if "reason" not in transition.requires or extra or transition.categories:
            raise ValueError(
                f"acceptance_window.transition {window.transition!r} must require reason "
                f"and nothing the system cannot give (it requires: "
                f"{', '.join(transition.requires) or 'nothing'}; categories: "
                f"{', '.join(transition.categories) or 'any'})"
            )
        if transition.notify is None or any(
            "{reason}" not in text for text in (transition.notify.id, transition.notify.en) if text
        ):
            raise ValueError(
                f"acceptance_window.transition {window.transition!r} must tell the "
                "complainant why: its notify text needs {reason}"
            )
        return self

    def field(self, key: str) -> IntakeField:
        """The intake field ``key``; raises ``KeyError`` if the profile has none."""
        for f in self.intake.fields:
            if f.key == key:
                return f
        raise KeyError(key)


def _format_error(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"{path}: {loc}: {err['msg']}")
    return "\n".join(lines)


def resolve_profile_path(name_or_path: str) -> Path:
    """Map a shipped profile name (``default``) or a file path to a file path.

    Raises:
        ProfileError: when no such profile or file exists.
    """
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or "/" in name_or_path:
        if not candidate.is_file():
            raise ProfileError(f"{candidate}: profile file not found")
        return candidate
    shipped = PROFILES_DIR / f"{name_or_path}.yaml"
    if not shipped.is_file():
        names = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
        raise ProfileError(f"unknown SOP profile {name_or_path!r}; shipped profiles: {names}")
    return shipped


def load_profile(name_or_path: str) -> Profile:
    """Load and validate a profile.

    Raises:
        ProfileError: naming the file, the key and what is wrong.
    """
    path = resolve_profile_path(name_or_path)
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: (top level): must be a mapping")
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(_format_error(path, exc)) from None
