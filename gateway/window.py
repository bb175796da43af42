"""WhatsApp's 24-hour customer-service window at send time (docs/channels.md,
"WhatsApp's 24-hour window").

Free-form WhatsApp text may only be sent within 24 hours of the contact's
last message. Outside it, an outbox row is not sent blind: it goes as the
approved template named in the SOP profile, or, without one, to another
address of the contact (SMS, then email), and the complaint records which
(docs/channels.md). With neither, the row fails permanently and staff see why.
The decision itself is :func:`handlers.route_decision.decide_route`; this
module turns it into a send (the template's language and variables) and a record.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from channels.base import ChannelName, Template
from channels.errors import PermanentError
from handlers.profile import Profile
from handlers.route_decision import decide_route
from handlers.route_facts import load_route_facts
from storage.db import SessionFactory
from storage.event_kinds import ComplaintEventKind
from storage.models import Complaint, ComplaintEvent, OutboxMessage

#: WhatsApp template parameters: no newlines/tabs, no 4+ spaces, bounded length.
MAX_VARIABLE = 900


@dataclass(frozen=True, slots=True)
class Plan:
    """How to send one row: ``channel``/``recipient`` (possibly another route),
    ``template`` when the template goes instead of free text, and ``sent_as``
    for the record (``text``, ``template``, ``fallback:sms``, ``fallback:email``)."""

    channel: str
    recipient: str
    template: Template | None
    sent_as: str


def template_variable(text: str) -> str:
    """``text`` made fit for a template parameter (one line, bounded)."""
    flat = re.sub(r"\s*\n\s*", " · ", text.strip())
    flat = re.sub(r"[\t ]+", " ", flat)
    return flat if len(flat) <= MAX_VARIABLE else flat[: MAX_VARIABLE - 1] + "…"


class WindowPolicy:
    """Decides how an outbox row to WhatsApp goes out; other channels pass through."""

    def __init__(
        self, sessions: SessionFactory, profile: Profile, enabled: Collection[str]
    ) -> None:
        self._sessions = sessions
        self._profile = profile
        self._enabled = enabled

    async def plan(self, row: OutboxMessage, now: datetime) -> Plan:
        """The plan for ``row`` at ``now`` (timezone-aware datetime), as decided by
        :func:`handlers.route_decision.decide_route`.

        Raises:
            PermanentError: outside the window with no template and no other address.
        """
        if row.channel != ChannelName.WHATSAPP:
            return Plan(row.channel, row.recipient, None, "text")
        async with self._sessions() as session:
            facts = await load_route_facts(
                session,
                channel=row.channel,
                recipient=row.recipient,
                contact_id=row.contact_id,
                profile=self._profile,
                enabled=self._enabled,
            )
            route = decide_route(facts, now)
            if route.refusal is not None:
                raise PermanentError(route.refusal, code=route.refusal_code)
            template = self._profile.whatsapp_template
            if route.template_name is None or template is None:
                return Plan(route.channel, route.recipient, None, route.sent_as)
            tracking = None
            if row.complaint_id is not None:
                tracking = await session.scalar(
                    select(Complaint.tracking_number).where(Complaint.id == row.complaint_id)
                )
        values = {
            "tracking_number": tracking or "-",
            "text": template_variable(row.body),
            "office": self._profile.office.name.get(row.language),
        }
        return Plan(
            route.channel,
            route.recipient,
            Template(
                name=template.name,
                language=template.languages.get(row.language, row.language),
                variables=tuple(values[v] for v in template.variables),
                content_sid=template.content_sid,
            ),
            route.sent_as,
        )


async def record_plan(sessions: SessionFactory, row: OutboxMessage, plan: Plan) -> None:
    """Store the route taken on the row and, for a template or a fallback, on the complaint."""
    async with sessions() as session, session.begin():
        stored = await session.get(OutboxMessage, row.id)
        if stored is None:  # pragma: no cover - deleted meanwhile
            return
        stored.sent_as = plan.sent_as
        if plan.channel != stored.channel:
            stored.channel = plan.channel
            stored.recipient = plan.recipient
        if plan.sent_as != "text" and row.complaint_id is not None:
            session.add(
                ComplaintEvent(
                    complaint_id=row.complaint_id,
                    actor="system",
                    kind=ComplaintEventKind.WHATSAPP_WINDOW_CLOSED,
                    note=f"WhatsApp 24-hour window closed: sent as {plan.sent_as}",
                    data={"outbox_id": row.id, "sent_as": plan.sent_as},
                )
            )
