"""Each channel's own configuration, built from the application's settings.

A channel module never reads :class:`gateway.config.Settings`
(docs/architecture.md, "Layers"): it takes a frozen dataclass of its own, and
these functions fill it in, resolving ports and unwrapping secrets.
"""

from __future__ import annotations

from channels.email.config import EmailConfig, Security
from channels.telegram import TelegramConfig
from channels.twilio import TwilioConfig
from channels.whatsapp_cloud import WhatsAppCloudConfig
from gateway.config import Settings


def email_config(settings: Settings) -> EmailConfig:
    """The email channel's configuration from the application's settings.

    Ports are resolved (``imap_effective_port``, ``smtp_effective_port``) and
    passwords unwrapped; ``ADUAN_EMAIL_MAX_BODY_CHARS`` and
    ``ADUAN_IMAP_TRUSTED_AUTHSERV_ID`` are passed on (README "Configuration").
    """
    return EmailConfig(
        imap_host=settings.imap_host,
        imap_port=settings.imap_effective_port,
        imap_user=settings.imap_user,
        imap_password=settings.imap_password.get_secret_value() if settings.imap_password else None,
        imap_security=Security(settings.imap_security.value),
        imap_mailbox=settings.imap_mailbox,
        imap_poll_seconds=settings.imap_poll_seconds,
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_effective_port,
        smtp_user=settings.smtp_user,
        smtp_password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        smtp_security=Security(settings.smtp_security.value),
        email_from=settings.email_from,
        attachment_max_bytes=settings.attachment_max_bytes,
        max_body_chars=settings.email_max_body_chars,
        trusted_authserv_id=settings.imap_trusted_authserv_id,
    )


def twilio_config(settings: Settings) -> TwilioConfig:
    """The Twilio channels' configuration from the settings."""
    return TwilioConfig(
        twilio_account_sid=settings.twilio_account_sid,
        twilio_auth_token=settings.twilio_auth_token,
        twilio_sms_from=settings.twilio_sms_from,
        twilio_whatsapp_from=settings.twilio_whatsapp_from,
        twilio_api_base=settings.twilio_api_base,
        twilio_sms_per_second=settings.twilio_sms_per_second,
        public_url=settings.public_url,
        effective_public_url=settings.effective_public_url,
        attachment_max_bytes=settings.attachment_max_bytes,
    )


def whatsapp_config(settings: Settings) -> WhatsAppCloudConfig:
    """The WhatsApp Cloud API channel's configuration from the settings."""
    return WhatsAppCloudConfig(
        whatsapp_token=settings.whatsapp_token,
        whatsapp_app_secret=settings.whatsapp_app_secret,
        whatsapp_phone_number_id=settings.whatsapp_phone_number_id,
        whatsapp_api_base=settings.whatsapp_api_base,
        whatsapp_api_version=settings.whatsapp_api_version,
        attachment_max_bytes=settings.attachment_max_bytes,
    )


def telegram_config(settings: Settings) -> TelegramConfig:
    """The Telegram channel's configuration from the settings."""
    return TelegramConfig(
        telegram_token=settings.telegram_token,
        telegram_webhook_secret=settings.telegram_webhook_secret,
        telegram_mode=settings.telegram_mode.value,
        telegram_api_base=settings.telegram_api_base,
        public_url=settings.public_url,
        effective_public_url=settings.effective_public_url,
        attachment_max_bytes=settings.attachment_max_bytes,
    )
