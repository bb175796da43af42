"""The office's own addresses per channel, from the configuration.

Listed to a sender who wrote on a channel the SOP profile does not use
(:mod:`handlers.channel_policy`) and on the web form's refusal page: the
mailbox (``ADUAN_EMAIL_FROM``), the SMS and WhatsApp numbers
(``ADUAN_TWILIO_SMS_FROM``, ``ADUAN_TWILIO_WHATSAPP_FROM``) and the web form
(``ADUAN_PUBLIC_URL``). A channel whose address is not configured (or is a
Messaging Service SID, not a number) is named without one.
"""

from __future__ import annotations

from gateway.config import Settings


def channel_addresses(settings: Settings) -> dict[str, str]:
    """Channel name → address citizens can use, for the configured ones."""
    found: dict[str, str] = {}
    if settings.email_from:
        found["email"] = settings.email_from
    sms = settings.twilio_sms_from
    if sms and sms.startswith("+"):
        found["sms"] = sms
    whatsapp = (settings.twilio_whatsapp_from or "").removeprefix("whatsapp:")
    if whatsapp.startswith("+"):
        found["whatsapp"] = whatsapp
    if settings.public_url:
        found["web"] = settings.public_url.rstrip("/") + "/"
    return found
