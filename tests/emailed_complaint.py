"""A complaint from Budi of PT Sinar Jaya, received by email, registered in a test."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.outbox import OutboxWriter
from handlers.profile import Profile
from handlers.registration import register_complaint
from storage.models import Complaint


async def register_emailed(
    session: AsyncSession,
    *,
    profile: Profile,
    contact_id: int,
    problem: str,
    received_at: datetime,
    extra: Mapping[str, str] | None = None,
    writer: OutboxWriter | None = None,
) -> Complaint:
    """Register (:func:`handlers.registration.register_complaint`) Budi's complaint
    about ``problem`` received by email at ``received_at`` (Indonesian, from
    ``budi@example.com``); ``extra`` adds profile fields (e.g. ``final_report_date``).
    With a ``writer`` the email channel is enabled, so acknowledgements are queued."""
    return await register_complaint(
        session,
        profile=profile,
        contact_id=contact_id,
        channel="email",
        contact_address="budi@example.com",
        values={
            "complainant_name": "Budi",
            "customer_name": "PT Sinar Jaya",
            "problem": problem,
            **(extra or {}),
        },
        received_at=received_at,
        received_by="channel:email",
        language="id",
        writer=writer,
        enabled_channels=("email",) if writer is not None else (),
    )
