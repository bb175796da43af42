"""EmailChannel: the Channel interface over parse, SMTP and the IMAP poller."""

from __future__ import annotations

import asyncio

import pytest

from channels.base import Channel, ChannelName, OutboundMessage
from channels.email import EmailChannel
from channels.errors import InboundParseError
from gateway.channel_configs import email_config
from gateway.config import Security, Settings
from storage.db import SessionFactory
from storage.models import Lease
from tests.email.conftest import (
    EMAIL_FROM,
    IMAP_PASSWORD,
    Mailbox,
    RecordingAccept,
    SmtpSink,
    sample,
)


def offline_settings() -> Settings:
    return Settings(
        _env_file=None,
        email_from=EMAIL_FROM,
        smtp_host="smtp.example.id",
        smtp_user="kantor",
        smtp_password="rahasia-smtp",
        imap_host="imap.example.id",
        imap_user="pengaduan@bspji.go.id",
        imap_password="rahasia-imap",
        attachment_max_bytes=100,
    )


def test_class_attributes() -> None:
    assert issubclass(EmailChannel, Channel)
    assert EmailChannel.name is ChannelName.EMAIL
    assert EmailChannel.interactive is False
    assert EmailChannel.threaded is True


def test_parse_uses_settings(sessions: SessionFactory, recording_accept: RecordingAccept) -> None:
    channel = EmailChannel(email_config(offline_settings()), sessions, recording_accept, holder="h")
    own = channel.parse(sample("own_address.eml"))
    assert own.automatic  # ADUAN_EMAIL_FROM is our own address
    big = channel.parse(sample("attachments.eml"))
    assert all(a.skipped_reason for a in big.attachments if a.size > 100)
    assert channel.parse(sample("latin1_base64.eml").decode("latin-1")).sender == (
        "andi.wijaya@example.id"
    )
    with pytest.raises(InboundParseError):
        channel.parse(sample("malformed_no_from.eml"))


def test_status_has_no_secrets(sessions: SessionFactory, recording_accept: RecordingAccept) -> None:
    channel = EmailChannel(email_config(offline_settings()), sessions, recording_accept, holder="h")
    status = channel.status()
    text = repr(status)
    assert "rahasia" not in text
    assert status["imap"] == "pengaduan@bspji.go.id@imap.example.id:993/INBOX (ssl)"
    assert status["smtp"] == "smtp.example.id:587 (starttls)"
    assert status["smtp_login"] is True


async def test_start_without_imap_settings_does_nothing(
    sessions: SessionFactory, recording_accept: RecordingAccept
) -> None:
    settings = Settings(_env_file=None, email_from=EMAIL_FROM)
    channel = EmailChannel(email_config(settings), sessions, recording_accept, holder="h")
    await channel.start()
    assert channel.poller is None
    assert channel.status()["imap"] is None
    await channel.stop()


@pytest.mark.imap
async def test_start_polls_and_stop_releases_the_lease(
    mailbox: Mailbox, sessions: SessionFactory, recording_accept: RecordingAccept
) -> None:
    channel = EmailChannel(
        email_config(mailbox.settings(imap_poll_seconds=120.0)),
        sessions,
        recording_accept,
        holder="gateway-1",
        poller_options={"lease_ttl_seconds": 2.0, "timeout_seconds": 5.0},
    )
    await channel.start()
    try:
        await mailbox.append(sample("gmail_reply_id.eml"))
        await asyncio.wait_for(recording_accept.event.wait(), 5)
        assert recording_accept.ids == ["CAHk3x9pQ7f+Zs1=abc123XYZ@mail.gmail.com"]
        poller = channel.poller
        assert poller is not None
        status = channel.status()["poller"]
        assert status["holds_lease"] is True and status["running"] is True
        assert IMAP_PASSWORD not in repr(channel.status())
    finally:
        await channel.stop()
    assert not poller.holds_lease
    async with sessions() as session:
        assert await session.get(Lease, poller.lease_name) is None
    assert all("\\Seen" not in flags for flags in (await mailbox.flags()).values())


@pytest.mark.imap
async def test_stop_right_after_start(
    mailbox: Mailbox, sessions: SessionFactory, recording_accept: RecordingAccept
) -> None:
    channel = EmailChannel(email_config(mailbox.settings()), sessions, recording_accept, holder="h")
    await channel.start()
    await asyncio.wait_for(channel.stop(), 5)


async def test_send_goes_through_smtp(
    smtp_sink: SmtpSink, sessions: SessionFactory, recording_accept: RecordingAccept
) -> None:
    settings = Settings(
        _env_file=None,
        email_from=EMAIL_FROM,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        smtp_security=Security.NONE,
    )
    channel = EmailChannel(email_config(settings), sessions, recording_accept, holder="h")
    result = await channel.send(
        OutboundMessage(
            idempotency_key="outbox-7",
            channel=ChannelName.EMAIL,
            recipient="warga@example.id",
            text="Pengaduan Anda sudah kami terima.",
        )
    )
    assert result.provider_id == "outbox-7@bspji.go.id"
    assert smtp_sink.handler.envelopes[0].rcpt_tos == ["warga@example.id"]
