"""Appeals for the staff pages: the list and one appeal (PR-LS-8.1.4).

Only ``admin`` and the roles the profile's appeal section names reach these
pages (:func:`gateway.inbox.appeal_access.may_see_appeals`, asked before
these queries); they see every appeal, with or without a complaint.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.queries.staff_users import staff_names
from storage.models import (
    Appeal,
    AppealEvent,
    AppealPanelMember,
    AppealStatus,
    Complaint,
    StaffUser,
)

#: Appeals listed at the most.
LIST_LIMIT = 500


@dataclass(frozen=True, slots=True)
class AppealView:
    """A complaint's appeal with its panel (chair first, then in seating order)."""

    appeal: Appeal
    panel: tuple[AppealPanelMember, ...]


@dataclass(frozen=True, slots=True)
class AppealItem:
    """An appeal of the list, with its complaint's tracking number and complainant
    (``None`` for a standalone appeal) and its panel (to tell its step)."""

    appeal: Appeal
    tracking_number: str | None
    complainant_name: str | None
    panel: tuple[AppealPanelMember, ...]


@dataclass(frozen=True, slots=True)
class AppealDetail:
    """One appeal with everything its page shows: its complaint (``None`` for a
    standalone appeal), its panel (chair first, then in seating order), its
    history (oldest first), the active staff in username order (whom the
    panel may seat) and every account's display name by username (the full
    name, or the username when there is none)."""

    appeal: Appeal
    complaint: Complaint | None
    panel: tuple[AppealPanelMember, ...]
    history: tuple[AppealEvent, ...]
    active_staff: tuple[StaffUser, ...]
    names: dict[str, str]


async def _panel(session: AsyncSession, appeal_id: int) -> tuple[AppealPanelMember, ...]:
    """Appeal ``appeal_id``'s panel: the chair first, then in seating order."""
    members = await session.scalars(
        select(AppealPanelMember)
        .where(AppealPanelMember.appeal_id == appeal_id)
        .order_by(AppealPanelMember.is_chair.desc(), AppealPanelMember.id)
    )
    return tuple(members)


async def load_appeal(session: AsyncSession, complaint: Complaint) -> AppealView | None:
    """``complaint``'s appeal and its panel, or ``None`` when it has none (the
    complaint page and the staff API show it)."""
    appeal = await session.scalar(select(Appeal).where(Appeal.complaint_id == complaint.id))
    if appeal is None:
        return None
    return AppealView(appeal, await _panel(session, appeal.id))


async def appeal_list(session: AsyncSession, *, limit: int = LIST_LIMIT) -> list[AppealItem]:
    """At most ``limit`` appeals: open ones first, earliest due first (those
    without a due time after), then the newest first."""
    rows = (
        await session.execute(
            select(Appeal, Complaint.tracking_number, Complaint.complainant_name)
            .outerjoin(Complaint, Complaint.id == Appeal.complaint_id)
            .order_by(
                case((Appeal.status == AppealStatus.OPEN.value, 0), else_=1),
                Appeal.step_due_at.is_(None),
                Appeal.step_due_at,
                Appeal.id.desc(),
            )
            .limit(limit)
        )
    ).all()
    by_appeal: dict[int, list[AppealPanelMember]] = {}
    listed = [appeal.id for appeal, _tracking, _complainant in rows]
    members = await session.scalars(
        select(AppealPanelMember)
        .where(AppealPanelMember.appeal_id.in_(listed))
        .order_by(AppealPanelMember.is_chair.desc(), AppealPanelMember.id)
    )
    for member in members:
        by_appeal.setdefault(member.appeal_id, []).append(member)
    return [
        AppealItem(
            appeal=appeal,
            tracking_number=tracking,
            complainant_name=complainant,
            panel=tuple(by_appeal.get(appeal.id, ())),
        )
        for appeal, tracking, complainant in rows
    ]


async def appeal_detail(session: AsyncSession, appeal_id: int) -> AppealDetail | None:
    """Appeal ``appeal_id`` and what its page shows, or ``None`` when there is none."""
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None:
        return None
    complaint = await session.get(Complaint, appeal.complaint_id) if appeal.complaint_id else None
    history = await session.scalars(
        select(AppealEvent)
        .where(AppealEvent.appeal_id == appeal.id)
        .order_by(AppealEvent.at, AppealEvent.id)
    )
    staff = await session.scalars(
        select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.username)
    )
    return AppealDetail(
        appeal=appeal,
        complaint=complaint,
        panel=await _panel(session, appeal.id),
        history=tuple(history),
        active_staff=tuple(staff),
        names={u: name or u for u, name in (await staff_names(session)).items()},
    )
