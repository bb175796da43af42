"""Channels per profile: only the channels an office's SOP names run a complaint
conversation (e.g. PM-BAPKM.AP.1-24 step a and section 9: letters, telephone,
the suggestion box and e-mail; KEC_BANDUNGAN/WMM/03 step 2: SMS besides
letters, telephone and the box).

A message arriving on a channel the profile does not list (``profile.channels``)
is still stored and linked to its contact — staff read it on the inbox thread —
but no complaint conversation runs, no appeal is opened and nothing is
registered. The sender is told, Indonesian first, which channels the office
does use, with their addresses where the configuration knows them; at most
once per channel and sender in :data:`NOTICE_PERIOD`, so a conversation on
the wrong channel is not answered message by message. Nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelName
from handlers.i18n import t
from handlers.profile import Profile
from storage import limits

#: One notice per channel and sender in this time.
NOTICE_PERIOD = timedelta(days=7)
#: Rate-limit kind of the notices (:func:`storage.limits.limit_key`).
NOTICE_KIND = "channel-notice"
#: Channels a citizen can be pointed to, in the order they are listed.
CITIZEN_ORDER = (
    ChannelName.WEB.value,
    ChannelName.EMAIL.value,
    ChannelName.WHATSAPP.value,
    ChannelName.SMS.value,
    ChannelName.TELEGRAM.value,
    ChannelName.MANUAL.value,
)
#: Channels whose messages come from staff or systems, never refused here.
ALWAYS = frozenset({ChannelName.MANUAL.value})


def accepts(profile: Profile, channel: str) -> bool:
    """Whether the profile runs complaint conversations on ``channel``."""
    return channel in ALWAYS or channel in profile.channels


def _channel_name(channel: str, language: str) -> str:
    names = {
        ChannelName.WEB.value: t(language, "the web form"),
        ChannelName.EMAIL.value: t(language, "email"),
        ChannelName.WHATSAPP.value: "WhatsApp",
        ChannelName.SMS.value: "SMS",
        ChannelName.TELEGRAM.value: "Telegram",
        ChannelName.MANUAL.value: t(language, "in person, by telephone or by letter"),
        ChannelName.API.value: t(language, "the office's service system"),
    }
    return names.get(channel, channel)


def channels_text(profile: Profile, language: str, addresses: Mapping[str, str]) -> str:
    """The office's channels in words, each with its address when known
    (``addresses``: channel → address, e.g. ``{"email": "pengaduan@…"}``),
    e.g. ``email (pengaduan@bbspji.go.id), secara langsung, …``."""
    listed = [c for c in CITIZEN_ORDER if c in profile.channels]
    parts = []
    for channel in listed:
        name = _channel_name(channel, language)
        address = addresses.get(channel)
        parts.append(f"{name} ({address})" if address else name)
    return ", ".join(parts)


def notice_text(profile: Profile, channel: str, language: str, addresses: Mapping[str, str]) -> str:
    """What the sender on an unlisted ``channel`` is told: this channel is not
    used for complaints, these are, and the message was kept for staff."""
    return t(
        language,
        "Thank you for your message. {office} does not take complaints by {channel}. Please send your complaint by: {channels}. Your message has been kept and our staff can read it.",
        office=profile.office.name.get(language),
        channel=_channel_name(channel, language),
        channels=channels_text(profile, language, addresses),
    )


async def may_notify(
    session: AsyncSession, channel: str, sender: str, *, now: datetime | None = None
) -> bool:
    """Count one notice to ``sender`` on ``channel``; False when one was sent within
    :data:`NOTICE_PERIOD` (runs in the caller's transaction)."""
    verdict = await limits.hit(
        session,
        limits.limit_key(NOTICE_KIND, f"{channel}:{sender.strip().lower()}"),
        (limits.Limit(1, NOTICE_PERIOD),),
        now=now,
    )
    return verdict.allowed
