"""Appeals against a decision not tied to a complaint (BSPJI Pontianak PR-LS-8.1.4 step 1).

PR-LS-8.1.4 receives "keluhan dan banding yang diajukan oleh klien atau
pemohon" in writing and ties an appeal neither to a closed complaint nor to a
window. A profile with ``appeal.standalone`` takes such appeals from the web
form (:mod:`gateway.web.appeal`) and from chat and email
(:mod:`handlers.intake.appeal_intake`), recording the decision contested as
the appellant describes it (what, by whom, when), their reason, their name
and where to answer them. The appeal gets its own reference
(``<prefix>-BDG-<year>-<n>``) and starts its first step
(:func:`handlers.appeals.start_first_step`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.appeal_notices import notify_appellant
from handlers.appeals import AppealRefusal, AppealRefused, add_opened_appeal
from handlers.i18n import normalise_language
from handlers.outbox import OutboxWriter
from handlers.profile import Profile
from handlers.registration import next_tracking_number
from storage.models import Appeal, AppealStatus
from storage.types import utcnow

#: Limits of what an appellant types (characters).
NAME_LIMITS = (2, 200)
DECISION_LIMITS = (5, 2000)
REASON_LIMITS = (5, 5000)


def reference_prefix(profile: Profile) -> str:
    """The prefix of standalone appeal references, e.g. ``PTK-BDG``."""
    return f"{profile.tracking_prefix}-BDG"


def check_appeal_text(
    *, appellant_name: str, contested_decision: str, reason: str
) -> dict[str, str]:
    """Problems with what an appellant gave, by field (empty: all fine).

    Keys ``appellant_name``, ``contested_decision``, ``reason``; each value
    says in English what is wrong (length limits of :data:`NAME_LIMITS`,
    :data:`DECISION_LIMITS`, :data:`REASON_LIMITS`).
    """
    problems: dict[str, str] = {}
    for key, value, (low, high) in (
        ("appellant_name", appellant_name, NAME_LIMITS),
        ("contested_decision", contested_decision, DECISION_LIMITS),
        ("reason", reason, REASON_LIMITS),
    ):
        size = len(value.strip())
        if size < low or size > high:
            problems[key] = f"{key} needs {low} to {high} characters ({size} given)"
    return problems


def acknowledgement(profile: Profile, appeal: Appeal) -> str:
    """The appellant's acknowledgement with the appeal's reference (profile text)."""
    spec = profile.appeal
    if spec is None or spec.opened_standalone is None:
        raise AppealRefused(AppealRefusal.NOT_STANDALONE, "this office takes no standalone appeals")
    return spec.opened_standalone.get(appeal.language or "id").format(reference=appeal.reference)


async def open_standalone_appeal(
    session: AsyncSession,
    *,
    profile: Profile,
    writer: OutboxWriter,
    contact_id: int,
    channel: str,
    address: str | None,
    language: str,
    appellant_name: str,
    contested_decision: str,
    reason: str,
    opened_by: str,
    enabled_channels: Collection[str],
    now: datetime | None = None,
    notify: bool = True,
) -> Appeal:
    """Record a standalone appeal and, with ``notify``, acknowledge it to the appellant.

    ``channel``/``address`` are where answers go (see
    :func:`handlers.appeal_notices.appellant_route`); ``language`` ``id`` or
    ``en``. Raises :class:`AppealRefused` and changes nothing when the
    profile takes no standalone appeals (``not_standalone``) or a text is
    empty or too long (``missing_data``; :func:`check_appeal_text`). The
    appeal is flushed with its reference and its first step started; an
    ``appeal_opened`` event is recorded. Without ``notify`` the caller sends
    :func:`acknowledgement` itself (the conversation engine answers in the
    conversation's thread).
    """
    spec = profile.appeal
    if spec is None or not spec.standalone:
        raise AppealRefused(
            AppealRefusal.NOT_STANDALONE,
            "this office takes appeals only on a complaint's result",
        )
    problems = check_appeal_text(
        appellant_name=appellant_name, contested_decision=contested_decision, reason=reason
    )
    if problems:
        raise AppealRefused(AppealRefusal.MISSING_DATA, "; ".join(problems.values()))
    now = now or utcnow()
    reference = await next_tracking_number(
        session, reference_prefix(profile), now, profile.office.timezone
    )
    appeal = Appeal(
        complaint_id=None,
        reference=reference,
        contact_id=contact_id,
        channel=channel,
        address=address,
        language=normalise_language(language),
        appellant_name=appellant_name.strip(),
        contested_decision=contested_decision.strip(),
        reason=reason.strip(),
        opened_at=now,
        opened_by=opened_by,
        status=AppealStatus.OPEN.value,
    )
    await add_opened_appeal(
        session,
        profile,
        appeal,
        now,
        data={"reference": reference, "contested_decision": appeal.contested_decision},
    )
    if notify:
        await notify_appellant(
            session,
            writer,
            appeal,
            acknowledgement(profile, appeal),
            actor="system",
            enabled=enabled_channels,
        )
    await session.flush()
    return appeal
