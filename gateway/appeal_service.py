"""Staff actions on an appeal by its id: its steps, its panel, its decision.

Each method is one committed unit of work (:meth:`gateway.core.Core.work`:
outbox rows are sent only after the commit) on the appeal row locked for
update, whether the appeal is tied to a complaint or standalone (PR-LS-8.1.4
step 1). The rules are :mod:`handlers.appeal_steps` and
:mod:`handlers.appeals`; a refusal raises
:class:`handlers.appeals.AppealRefused` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.core import Core
from handlers import appeals
from handlers.appeal_steps import complete_step
from handlers.workflow import Actor
from storage.models import Appeal, AppealPanelMember, Complaint

#: Finds and locks an appeal in a session: ``(appeal, its complaint or None)``;
#: raises ``LookupError`` when there is none.
LocateAppeal = Callable[[AsyncSession], Awaitable[tuple[Appeal, Complaint | None]]]


class AppealService:
    """The appeal actions of :mod:`gateway.inbox.appeals` (and any other caller)."""

    def __init__(self, runtime: Core) -> None:
        self.runtime = runtime

    async def _load(self, session: AsyncSession, appeal_id: int) -> tuple[Appeal, Complaint | None]:
        appeal = await session.scalar(
            select(Appeal).where(Appeal.id == appeal_id).with_for_update()
        )
        if appeal is None:
            raise LookupError(f"no appeal {appeal_id}")
        complaint = (
            await session.get(Complaint, appeal.complaint_id)
            if appeal.complaint_id is not None
            else None
        )
        return appeal, complaint

    async def complete_step(
        self,
        appeal_id: int,
        step: str,
        actor: Actor,
        *,
        note: str = "",
        appeal_type: str | None = None,
        subject: str | None = None,
        passed_to: str | None = None,
    ) -> Appeal:
        """Record a step before the panel (:func:`handlers.appeal_steps.complete_step`).

        Raises ``LookupError`` for an unknown appeal.
        """
        async with self.runtime.work() as session:
            appeal, _complaint = await self._load(session, appeal_id)
            return await complete_step(
                session,
                profile=self.runtime.profile,
                appeal=appeal,
                step=step,
                actor=actor.label,
                actor_role=actor.role,
                note=note,
                appeal_type=appeal_type or None,
                subject=subject or None,
                passed_to=passed_to or None,
            )

    async def seat(
        self, appeal_id: int, username: str, *, chair: bool, declaration: str, actor: Actor
    ) -> AppealPanelMember:
        """Seat a panel member (:func:`handlers.appeals.add_panel_member`; PR-LS-8.1.4 step 4)."""
        locate = partial(self._load, appeal_id=appeal_id)
        return await seat_member(
            self.runtime, locate, username, chair=chair, declaration=declaration, actor=actor
        )

    async def decide(self, appeal_id: int, decision: str, actor: Actor) -> Appeal:
        """The chair records the panel's final decision, sent to the appellant (step 5)."""
        return await record_decision(
            self.runtime, partial(self._load, appeal_id=appeal_id), decision, actor
        )


async def seat_member(
    runtime: Core,
    locate: LocateAppeal,
    username: str,
    *,
    chair: bool,
    declaration: str,
    actor: Actor,
) -> AppealPanelMember:
    """Seat ``username`` (stripped) on the panel of the appeal ``locate`` finds (step 4).

    One committed unit of work; ``locate`` should lock the appeal for update.
    The rules are :func:`handlers.appeals.add_panel_member` (PR-LS-8.1.4).
    Raises ``LookupError`` from ``locate`` and
    :class:`handlers.appeals.AppealRefused`.
    """
    async with runtime.work() as session:
        appeal, complaint = await locate(session)
        return await appeals.add_panel_member(
            session,
            profile=runtime.profile,
            appeal=appeal,
            complaint=complaint,
            username=username.strip(),
            is_chair=chair,
            declaration=declaration,
            actor=actor.label,
            actor_role=actor.role,
        )


async def record_decision(
    runtime: Core, locate: LocateAppeal, decision: str, actor: Actor
) -> Appeal:
    """Record the panel's final ``decision``, ``actor`` being its chair (PR-LS-8.1.4 step 5).

    One committed unit of work on the appeal ``locate`` finds (locked for
    update). The rules are :func:`handlers.appeals.decide_appeal`; the
    decision is staged to the appellant on the runtime's enabled channels.
    Raises ``LookupError`` from ``locate`` and
    :class:`handlers.appeals.AppealRefused`.
    """
    async with runtime.work() as session:
        appeal, complaint = await locate(session)
        return await appeals.decide_appeal(
            session,
            profile=runtime.profile,
            writer=runtime.writer,
            appeal=appeal,
            complaint=complaint,
            decision=decision,
            chair=actor.username,
            enabled_channels=list(runtime.channels),
        )
