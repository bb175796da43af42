"""The service layer for staff actions: one method, one committed unit of work.

The JSON API (:mod:`gateway.api`) and the staff inbox call these, never the
handlers directly (README.md, "Staff API"): each method loads the complaint by id or
tracking number (locked on PostgreSQL for the transaction), applies one rule
from :mod:`handlers.workflow`, :mod:`handlers.records` or
:mod:`handlers.appeals`, commits, and only then asks for the staged messages
to be sent (:meth:`gateway.core.Core.work`).

Errors: ``LookupError`` for an unknown complaint;
:class:`handlers.workflow.TransitionRefused` and
:class:`handlers.appeals.AppealRefused` when a rule does not hold — in both
cases nothing is changed.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from datetime import date
from functools import partial
from typing import Any, Unpack

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import staff_accounts
from gateway.appeal_service import record_decision, seat_member
from gateway.core import Core
from handlers import appeals, capa_monitoring, field_edits, records, staff_notices
from handlers.dates import office_today
from handlers.notifications import notify_complainant
from handlers.workflow import Actor, apply_transition, required_text
from storage.models import Appeal, AppealPanelMember, Complaint, ComplaintEvent

#: Longest message staff may send to a complainant, in characters.
MESSAGE_LIMIT = 4000

#: A complaint reference: its database id or its tracking number.
ComplaintRef = int | str


async def load_complaint(
    session: AsyncSession, ref: ComplaintRef, *, lock: bool = False
) -> Complaint:
    """The complaint with id or tracking number ``ref``; raises ``LookupError``."""
    query = select(Complaint).where(
        Complaint.id == ref if isinstance(ref, int) else Complaint.tracking_number == ref.upper()
    )
    if lock:
        query = query.with_for_update()
    complaint = await session.scalar(query)
    if complaint is None:
        raise LookupError(f"no complaint {ref}")
    return complaint


class StaffService:
    """Staff actions on complaints, on the parts every runtime has.

    Built once with each :class:`gateway.runtime.Runtime` (its ``staff``).
    """

    def __init__(self, runtime: Core) -> None:
        self.runtime = runtime

    @property
    def _enabled(self) -> list[str]:
        return list(self.runtime.channels)

    async def transition(
        self, ref: ComplaintRef, name: str, actor: Actor, data: Mapping[str, Any]
    ) -> Complaint:
        """Take workflow transition ``name`` (:func:`handlers.workflow.apply_transition`).

        Commits the move, its event and any notice, then asks for sending.
        The complaint row is locked for the transaction on PostgreSQL, so two
        staff acting at once are serialised and the second sees the first's
        result. A transition that changes the assignee (e.g. ``route``)
        notifies the new assignee in the same transaction
        (:mod:`handlers.staff_notices`). Returns the updated complaint.
        """
        async with self.runtime.work() as session:
            complaint = await load_complaint(session, ref, lock=True)
            step = apply_transition(
                session,
                profile=self.runtime.profile,
                writer=self.runtime.writer,
                complaint=complaint,
                name=name,
                actor=actor,
                data=data,
                enabled_channels=self._enabled,
            )
            await self._notifying_assignee(session, complaint, actor, step)
        return complaint

    async def _notifying_assignee(
        self,
        session: AsyncSession,
        complaint: Complaint,
        actor: Actor,
        change: Coroutine[Any, Any, ComplaintEvent],
    ) -> None:
        """Run ``change`` on ``complaint``; when it gave the complaint another assignee,
        stage that assignee's notice in the same transaction
        (:func:`handlers.staff_notices.notify_assignment`; SOP-7.9-1 items 6-8)."""
        before = complaint.assignee
        event = await change
        if complaint.assignee == before:
            return
        await session.flush()
        await staff_notices.notify_assignment(
            session,
            complaint=complaint,
            event_id=event.id,
            actor_username=actor.username,
            writer=self.runtime.writer,
            email_enabled="email" in self.runtime.channels,
            public_url=self.runtime.settings.effective_public_url,
        )

    async def assign(
        self, ref: ComplaintRef, assignee: str, actor: Actor, note: str | None = None
    ) -> Complaint:
        """Assign a competent officer (:func:`handlers.records.assign`).

        A new assignee other than ``actor`` gets a notice in the same
        transaction (:mod:`handlers.staff_notices`; SOP-7.9-1 items 6-8).
        """
        async with self.runtime.work() as session:
            complaint = await load_complaint(session, ref, lock=True)
            step = records.assign(
                session,
                profile=self.runtime.profile,
                complaint=complaint,
                assignee=assignee,
                actor=actor,
                note=note,
            )
            await self._notifying_assignee(session, complaint, actor, step)
        return complaint

    async def record_capa(
        self, ref: ComplaintRef, form: Mapping[str, Any], actor: Actor
    ) -> dict[str, str]:
        """Record or complete the CAPA form (:func:`handlers.records.record_capa`)."""
        async with self.runtime.work() as session:
            complaint = await load_complaint(session, ref, lock=True)
            return await records.record_capa(
                session, profile=self.runtime.profile, complaint=complaint, form=form, actor=actor
            )

    async def edit_fields(
        self, ref: ComplaintRef, values: Mapping[str, str], actor: Actor, *, language: str = "id"
    ) -> list[ComplaintEvent]:
        """Correct identity fields, each change audited (:func:`handlers.field_edits.edit_fields`).

        ``values``: field key → new text; unchanged values record nothing.
        Returns the ``field_edited`` events. Raises
        :class:`handlers.field_edits.FieldEditRefused` (a
        :class:`TransitionRefused`; messages about a value in ``language``)
        and changes nothing when the role may not or a value is invalid.
        """
        async with self.runtime.work() as session:
            complaint = await load_complaint(session, ref, lock=True)
            return await field_edits.edit_fields(
                session,
                profile=self.runtime.profile,
                complaint=complaint,
                values=values,
                actor=actor,
                language=language,
            )

    async def add_monitoring(
        self, ref: ComplaintRef, on: date, text: str, actor: Actor
    ) -> ComplaintEvent:
        """A dated monitoring entry on the corrective programme
        (:func:`handlers.capa_monitoring.add_monitoring_entry`; PM-BAPKM.AP.1-24 step f)."""
        profile = self.runtime.profile
        async with self.runtime.work() as session:
            complaint = await load_complaint(session, ref, lock=True)
            return await capa_monitoring.add_monitoring_entry(
                session,
                profile=profile,
                complaint=complaint,
                on=on,
                text=text,
                actor=actor,
                today=office_today(profile.office.timezone),
            )

    async def add_note(self, ref: ComplaintRef, text: str, actor: Actor) -> ComplaintEvent:
        """An internal note, never sent to the complainant (:func:`handlers.records.add_note`)."""
        async with self.runtime.work() as session:
            complaint = await load_complaint(session, ref)
            return await records.add_note(session, complaint=complaint, text=text, actor=actor)

    async def message(self, ref: ComplaintRef, text: str, actor: Actor) -> int | None:
        """Send ``text`` to the complainant on their channel; returns the outbox id.

        ``None`` when the complaint has no route back (recorded as a
        ``notification_unroutable`` event for staff). Raises
        :class:`TransitionRefused` for an empty text or one over
        :data:`MESSAGE_LIMIT` characters.
        """
        body = required_text(text, MESSAGE_LIMIT, "the message")
        async with self.runtime.work() as session:
            complaint = await load_complaint(session, ref)
            row = await notify_complainant(
                session,
                self.runtime.writer,
                complaint,
                body,
                actor=actor.label,
                enabled=self._enabled,
            )
        return row.id if row is not None else None

    async def open_appeal(self, ref: ComplaintRef, reason: str, actor: Actor) -> appeals.OpenResult:
        """Open an appeal for the complainant (e.g. received by letter).

        Only the profile's appeal roles and ``admin`` may. A refusal by the
        rules (no result yet, already appealed, window passed) is recorded and
        sent to the complainant, as for an appeal on their own channel, and
        returned in the result. Raises :class:`handlers.appeals.AppealRefused`
        for a role that may not, a profile without appeals or an empty reason.
        """
        spec = self.runtime.profile.appeal
        if spec is not None and actor.role != "admin" and actor.role not in spec.roles:
            raise appeals.AppealRefused(
                appeals.AppealRefusal.FORBIDDEN, f"role {actor.role} may not open appeals"
            )
        async with self.runtime.work() as session:
            complaint = await load_complaint(session, ref, lock=True)
            return await appeals.open_appeal(
                session,
                profile=self.runtime.profile,
                writer=self.runtime.writer,
                complaint=complaint,
                reason=reason,
                opened_by=actor.label,
                enabled_channels=self._enabled,
            )

    async def _open_appeal_of(
        self, session: AsyncSession, ref: ComplaintRef
    ) -> tuple[Appeal, Complaint]:
        complaint = await load_complaint(session, ref, lock=True)
        appeal = await session.scalar(
            select(Appeal).where(Appeal.complaint_id == complaint.id).with_for_update()
        )
        if appeal is None:
            raise LookupError(f"{complaint.tracking_number} has no appeal")
        return appeal, complaint

    async def add_panel_member(
        self, ref: ComplaintRef, username: str, *, chair: bool, declaration: str, actor: Actor
    ) -> AppealPanelMember:
        """Seat a member on the complaint's appeal panel (:func:`handlers.appeals.add_panel_member`).

        Raises ``LookupError`` when the complaint has no appeal.
        """
        locate = partial(self._open_appeal_of, ref=ref)
        return await seat_member(
            self.runtime, locate, username, chair=chair, declaration=declaration, actor=actor
        )

    async def decide_appeal(self, ref: ComplaintRef, decision: str, actor: Actor) -> Appeal:
        """Record the panel's final decision; ``actor`` must be the panel's chair.

        See :func:`handlers.appeals.decide_appeal`; the decision is sent to
        the complainant.
        """
        locate = partial(self._open_appeal_of, ref=ref)
        return await record_decision(self.runtime, locate, decision, actor)

    # --- staff accounts (admin only; gateway/staff_accounts.py) ------------------

    async def create_account(
        self, actor: Actor, **account: Unpack[staff_accounts.NewAccount]
    ) -> staff_accounts.AccountResult:
        """Add a staff account (:func:`gateway.staff_accounts.create_account`), audited.

        Raises :class:`gateway.staff_accounts.AccountRefused`; nothing changes then.
        """
        async with self.runtime.work() as session:
            return await staff_accounts.create_account(
                session, profile=self.runtime.profile, actor=actor, **account
            )

    async def change_role(
        self, actor: Actor, user_id: int, role: str
    ) -> staff_accounts.AccountResult:
        """Change an account's role (:func:`gateway.staff_accounts.change_role`), audited."""
        async with self.runtime.work() as session:
            return await staff_accounts.change_role(
                session, profile=self.runtime.profile, actor=actor, user_id=user_id, role=role
            )

    async def set_active(
        self, actor: Actor, user_id: int, active: bool
    ) -> staff_accounts.AccountResult:
        """Deactivate (ending its sessions) or reactivate an account, audited
        (:func:`gateway.staff_accounts.set_active`)."""
        async with self.runtime.work() as session:
            return await staff_accounts.set_active(
                session, actor=actor, user_id=user_id, active=active
            )

    async def reset_password(
        self, actor: Actor, user_id: int, password: str
    ) -> staff_accounts.AccountResult:
        """Set a temporary password (generated when empty) and end the account's
        sessions, audited (:func:`gateway.staff_accounts.reset_password`)."""
        async with self.runtime.work() as session:
            return await staff_accounts.reset_password(
                session, actor=actor, user_id=user_id, password=password
            )
