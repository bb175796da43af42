"""Messages about a complaint already registered: a satisfaction score, a follow-up.

The closing notice asks for a 1–5 score (ISO 10002: satisfaction with the
handling); a message that is just the number records it, once. Any other
message from a contact whose complaint is still being handled is added to
that complaint's history for the officer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.profile import Profile
from storage.event_kinds import ComplaintEventKind
from storage.models import Complaint, ComplaintEvent, Message
from storage.types import utcnow

#: A satisfaction score: one digit 1–5, blanks and a closing "." or "!" around
#: it. Possessive, so a long run of blanks is read in linear time.
_RATING = re.compile(r"\s*+([1-5])\s*+[.!]?+\s*+")


def read_rating(text: str) -> int | None:
    """The 1–5 score ``text`` is, or ``None`` when it is anything else ("4", " 5!")."""
    match = _RATING.fullmatch(text)
    return int(match.group(1)) if match else None


#: A score is taken for a complaint closed at most this long ago.
RATING_WINDOW = timedelta(days=30)


async def record_rating(
    session: AsyncSession, profile: Profile, msg: Message, complaint: Complaint | None
) -> Complaint | None:
    """Record ``msg`` as the 1–5 rating of a complaint; the complaint rated, or ``None``.

    The message must be just the number; it rates ``complaint`` when that was
    asked (its state is in the workflow's ``satisfaction_after``), else the
    contact's most recent complaint that was asked and not yet rated, closed
    at most :data:`RATING_WINDOW` ago. A complaint is rated once.
    """
    score = read_rating(msg.text or "")
    workflow = profile.workflow
    if score is None:
        return None
    if complaint is None or complaint.status not in workflow.satisfaction_after:
        complaint = await session.scalar(
            select(Complaint)
            .where(
                Complaint.contact_id == msg.contact_id,
                Complaint.status.in_(workflow.satisfaction_after),
                Complaint.satisfaction.is_(None),
                Complaint.step_started_at >= utcnow() - RATING_WINDOW,
            )
            .order_by(Complaint.step_started_at.desc())
            .limit(1)
        )
    if complaint is None or complaint.satisfaction is not None:
        return None
    complaint.satisfaction = score
    complaint.satisfaction_at = utcnow()
    msg.complaint_id = complaint.id
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            actor=f"complainant:{msg.channel}",
            kind=ComplaintEventKind.SATISFACTION,
            note=str(score),
            data={"score": score, "message_id": msg.id},
        )
    )
    return complaint


def record_follow_up(
    session: AsyncSession, messages: Sequence[Message], complaint: Complaint
) -> None:
    """Add a complainant's ``messages`` to ``complaint``'s history, one event each."""
    for message in messages:
        session.add(
            ComplaintEvent(
                complaint_id=complaint.id,
                actor=f"complainant:{message.channel}",
                kind=ComplaintEventKind.COMPLAINANT_MESSAGE,
                data={"message_id": message.id},
            )
        )
