"""The staff inbox list (docs/inbox.md, "The list"): every complaint from every channel, newest activity first.

:func:`list_inbox` returns one page of :class:`InboxRow` — channel, contact,
tracking number, status, assignee, time-standard state, unread marker — with
filters (:class:`InboxFilters`), full-text search (:mod:`gateway.queries.search`),
what the viewer may see (:class:`VisibilityRule`) and keyset pagination.

Order and pagination: ``last_activity_at`` descending, then complaint id
descending (:mod:`storage.activity` keeps the time), in pages walked with an
opaque cursor (:class:`gateway.queries.cursor.Cursor`): each page continues
strictly after the previous page's last row, so a page costs the same however
deep it is — an index range scan until ``limit + 1`` rows match, never an
``OFFSET``. The page's complaint ids are chosen first (filters, order,
limit); contacts and read marks are joined for those rows only. Indexes:
(last_activity_at, id) alone and after status or assignee; received_at for
date ranges (see :data:`RANGE_FIRST_DAYS`); on PostgreSQL the GIN index of
the search. ``tests/bench/inbox.py`` times it.
When activity arrives while someone walks the pages, the touched complaint
moves to the top of the list, before the cursor: a row already shown is not
shown again, and a row not reached yet is not reached by this walk either —
it is on a fresh first page. Every complaint without new activity during the
walk appears exactly once.

Drafts (a citizen mid-intake on WhatsApp, no complaint yet) are a separate
"in progress" section, :func:`gateway.queries.drafts.list_in_progress`, not
rows of this list: they have none of a complaint's columns (tracking number,
status, assignee, time standard), only exist until registered or expired
(the intake lifetime, hours), and so are few. A ``UNION`` with complaints
would need a common sort key and cursor over two tables and would make every
page, filter and index of the main list pay for them.

Unread: a complaint is unread for the viewer when they never opened it or an
inbound message arrived after they last did (``Complaint.last_inbound_at``
against their :class:`storage.models.ComplaintRead`, one ``LEFT JOIN`` on its
primary key — no query per row); :func:`gateway.inbox.reads.mark_read` marks
it read.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.queries.cursor import Cursor
from gateway.queries.search import QUERY_LIMIT, search_condition
from gateway.visibility import VisibilityRule as VisibilityRule
from gateway.visibility import visible_clause
from handlers.profile import Profile
from handlers.workflow import reminder_lead
from storage.models import Complaint, ComplaintRead, Contact, StaffUser
from storage.types import UTCDateTime, utcnow

#: A step is "due soon" when due within this long, or within the workflow's
#: ``remind_before`` counted in office time when that reaches further (as the
#: reminders: :func:`handlers.workflow.reminder_lead`). The shipped profiles
#: remind minutes ahead — too short for a list read a few times a day — so a
#: step due before this time tomorrow shows as due soon (a 15-minute intake
#: step always does until it is overdue: it is work for today). While the
#: office is closed the lead reaches past the next opening, so on Friday
#: evening what is due at Monday's opening shows as due soon, and a
#: complaint received on Saturday night is not due soon before Monday.
DUE_SOON = timedelta(hours=24)

#: Largest page, in rows.
MAX_LIMIT = 200

#: A received-date range starting at most this many days before its end (or
#: today) is read range first: the complaints received in it, by the
#: ``received_at`` index, then sorted — instead of walking the activity order
#: until enough of them turn up, which for an old range means passing every
#: complaint active since. Cost grows with the complaints in the range
#: (a quarter at 3,000 complaints a week: about 40,000 rows, tens of ms).
RANGE_FIRST_DAYS = 92

#: Characters of the problem text shown in a row.
EXCERPT_CHARS = 160
#: Characters of the problem read for it (runs of spaces are folded).
_FETCHED = EXCERPT_CHARS + 40


class TimeState(enum.StrEnum):
    """Where a complaint's current SOP step stands against its time standard."""

    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    #: No running time standard (a final state, or a step without one).
    NONE = "none"


class InboxFilters(BaseModel):
    """What the viewer asked to see; every filter given must hold (AND).

    ``overdue``/``due_soon``: ``True`` only those, ``False`` all but those,
    ``None`` no filter. ``received_from``/``received_to``: office-local
    calendar days, both included. ``q``: search text (:mod:`gateway.queries.search`).
    ``mine``: complaints assigned to the viewer, plus unassigned ones in a
    step the viewer's role owns (the workflow's ``owners``) — the viewer's
    work queue. Blank strings (empty form fields) count as not given.
    Raises ``pydantic.ValidationError`` for bad values or a reversed date range.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    channel: str | None = Field(None, max_length=20)
    status: str | None = Field(None, max_length=30)
    category: str | None = Field(None, max_length=30)
    assignee: str | None = Field(None, max_length=100)
    overdue: bool | None = None
    due_soon: bool | None = None
    received_from: date | None = None
    received_to: date | None = None
    q: str | None = Field(None, max_length=QUERY_LIMIT)
    mine: bool = False

    @field_validator("*", mode="before")
    @classmethod
    def _blank(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and not value.strip():
            assert info.field_name is not None
            return cls.model_fields[info.field_name].default
        return value

    @model_validator(mode="after")
    def _range(self) -> InboxFilters:
        if self.received_from and self.received_to and self.received_from > self.received_to:
            raise ValueError("received_from is after received_to")
        return self


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One complaint in the inbox list.

    ``contact_name`` is the name the contact's channel gave (may be ``None``);
    ``excerpt`` the start of the problem text (at most :data:`EXCERPT_CHARS`
    characters, "…" when cut). Times are aware UTC.
    """

    complaint_id: int
    tracking_number: str
    channel: str
    contact_id: int
    contact_name: str | None
    contact_address: str
    complainant_name: str
    customer_name: str
    excerpt: str
    status: str
    category: str | None
    assignee: str | None
    received_at: datetime
    step_due_at: datetime | None
    time_state: TimeState
    unread: bool
    last_activity_at: datetime


@dataclass(frozen=True, slots=True)
class InboxPage:
    """A page of rows and the cursor of the next page (``None`` on the last page)."""

    rows: tuple[InboxRow, ...]
    next_cursor: str | None


def due_soon_window(profile: Profile, now: datetime) -> timedelta:
    """How far ahead of ``now`` a due time counts as "due soon" (see :data:`DUE_SOON`)."""
    return max(DUE_SOON, reminder_lead(profile, now))


def time_state(step_due_at: datetime | None, now: datetime, window: timedelta) -> TimeState:
    """The :class:`TimeState` of a step due at ``step_due_at`` (``None``: no standard)."""
    if step_due_at is None:
        return TimeState.NONE
    if step_due_at < now:
        return TimeState.OVERDUE
    if step_due_at < now + window:
        return TimeState.DUE_SOON
    return TimeState.ON_TIME


def _excerpt(start: str) -> str:
    """``start``: the problem's first :data:`_FETCHED` characters."""
    flat = " ".join(start.split())
    if len(flat) <= EXCERPT_CHARS and len(start) < _FETCHED:
        return flat
    cut = flat[: EXCERPT_CHARS - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > EXCERPT_CHARS // 2 else cut) + "…"


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _at(value: datetime) -> ColumnElement[datetime]:
    return literal(value, UTCDateTime())


def _conditions(
    filters: InboxFilters,
    *,
    profile: Profile,
    viewer_username: str,
    viewer_role: str,
    visible: VisibilityRule | None,
    now: datetime,
    dialect: str,
) -> list[ColumnElement[bool]]:
    c = Complaint
    where: list[ColumnElement[bool]] = []
    where.extend(visible_clause(visible))
    for column, value in (
        (c.channel, filters.channel),
        (c.status, filters.status),
        (c.category, filters.category),
        (c.assignee, filters.assignee),
    ):
        if value is not None:
            where.append(column == value)
    if filters.overdue is not None:
        late = c.step_due_at < _at(now)
        where.append(late if filters.overdue else or_(c.step_due_at.is_(None), ~late))
    if filters.due_soon is not None:
        soon = and_(
            c.step_due_at >= _at(now),
            c.step_due_at < _at(now + due_soon_window(profile, now)),
        )
        where.append(soon if filters.due_soon else or_(c.step_due_at.is_(None), ~soon))
    zone = ZoneInfo(profile.office.timezone)
    if filters.received_from is not None:
        where.append(c.received_at >= _at(_day_start(filters.received_from, zone)))
    if filters.received_to is not None:
        end = _day_start(filters.received_to + timedelta(days=1), zone)
        where.append(c.received_at < _at(end))
    if filters.q:
        where.append(search_condition(filters.q, dialect))
    if filters.mine:
        owned = [
            name
            for name, state in profile.workflow.states.items()
            if viewer_role in state.owners and not state.final
        ]
        mine: ColumnElement[bool] = c.assignee == viewer_username
        if owned:
            mine = or_(mine, and_(c.assignee.is_(None), c.status.in_(owned)))
        where.append(mine)
    return where


def _range_first(filters: InboxFilters, today: date) -> bool:
    """Whether the date filters are narrow enough to read range first (:data:`RANGE_FIRST_DAYS`)."""
    if filters.received_from is None:
        return False
    end = filters.received_to or today
    return (end - filters.received_from).days <= RANGE_FIRST_DAYS


def _query(
    viewer_username: str, where: list[ColumnElement[bool]], limit: int, *, range_first: bool
) -> Select[Any]:
    c = Complaint
    # The same order either way; as an expression no index provides it, so
    # the database reads the date range by its own index and sorts it.
    activity: ColumnElement[datetime] = (
        func.coalesce(c.last_activity_at, c.last_activity_at)
        if range_first
        else c.last_activity_at.expression
    )
    # The page's complaints first (the filters, the order, limit + 1 rows),
    # then their contact and the viewer's read mark for those rows only.
    page = (
        select(c.id.label("id"), c.last_activity_at.label("activity"))
        .where(*where)
        .order_by(activity.desc(), c.id.desc())
        .limit(limit + 1)
        .subquery("page")
    )
    viewer_id = select(StaffUser.id).where(StaffUser.username == viewer_username).scalar_subquery()
    unread = case(
        (ComplaintRead.read_at.is_(None), true()),
        (c.last_inbound_at > ComplaintRead.read_at, true()),
        else_=false(),
    )
    return (
        select(
            c.id,
            c.tracking_number,
            c.channel,
            c.contact_id,
            Contact.display_name,
            c.contact_address,
            c.complainant_name,
            c.customer_name,
            func.substr(c.problem, 1, _FETCHED).label("problem_start"),
            c.status,
            c.category,
            c.assignee,
            c.received_at,
            c.step_due_at,
            unread.label("unread"),
            c.last_activity_at,
        )
        .select_from(page)
        .join(c, c.id == page.c.id)
        .join(Contact, Contact.id == c.contact_id)
        .outerjoin(
            ComplaintRead,
            and_(ComplaintRead.complaint_id == c.id, ComplaintRead.staff_user_id == viewer_id),
        )
        .order_by(page.c.activity.desc(), page.c.id.desc())
    )


async def list_inbox(
    session: AsyncSession,
    *,
    filters: InboxFilters,
    profile: Profile,
    viewer_username: str,
    viewer_role: str,
    visible: VisibilityRule | None,
    limit: int = 50,
    cursor: str | None = None,
    now: datetime | None = None,
) -> InboxPage:
    """One page of the inbox list (see the module docstring).

    ``profile``: the office's SOP profile (its time zone reads the date
    filters; its workflow gives "due soon" and the steps ``mine`` takes in).
    ``viewer_username``/``viewer_role``: who looks (unread marker, ``mine``).
    ``visible``: what they may see (``None``: everything). ``limit``: rows per
    page, 1 to :data:`MAX_LIMIT`. ``cursor``: the ``next_cursor`` of the
    previous page, ``None`` for the first. ``now`` (aware): the time the
    time-standard states are judged at, default the current time.

    Raises ``ValueError`` for an invalid cursor or a ``limit`` out of range.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    now = now or utcnow()
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    where = _conditions(
        filters,
        profile=profile,
        viewer_username=viewer_username,
        viewer_role=viewer_role,
        visible=visible,
        now=now,
        dialect=dialect,
    )
    if cursor is not None:
        position = Cursor.decode(cursor)
        where.append(
            tuple_(Complaint.last_activity_at, Complaint.id)
            < tuple_(_at(position.last_activity_at), position.complaint_id)
        )
    today = now.astimezone(ZoneInfo(profile.office.timezone)).date()
    query = _query(viewer_username, where, limit, range_first=_range_first(filters, today))
    result = await session.execute(query)
    fetched = result.all()
    window = due_soon_window(profile, now)
    rows = tuple(
        InboxRow(
            complaint_id=r.id,
            tracking_number=r.tracking_number,
            channel=r.channel,
            contact_id=r.contact_id,
            contact_name=r.display_name,
            contact_address=r.contact_address,
            complainant_name=r.complainant_name,
            customer_name=r.customer_name,
            excerpt=_excerpt(r.problem_start or ""),
            status=r.status,
            category=r.category,
            assignee=r.assignee,
            received_at=r.received_at,
            step_due_at=r.step_due_at,
            time_state=time_state(r.step_due_at, now, window),
            unread=bool(r.unread),
            last_activity_at=r.last_activity_at,
        )
        for r in fetched[:limit]
    )
    next_cursor = (
        Cursor(rows[-1].last_activity_at, rows[-1].complaint_id).encode()
        if len(fetched) > limit
        else None
    )
    return InboxPage(rows, next_cursor)


async def assignee_names(session: AsyncSession) -> dict[str, str]:
    """The active staff by username, each named ``Full Name (username)``, in
    username order (the list's assignee filter)."""
    users = await session.scalars(
        select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.username)
    )
    return {u.username: f"{u.full_name} ({u.username})" for u in users}
