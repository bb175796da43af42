"""What the email channel needs to know, and nothing of the application (docs/email.md).

The application builds one :class:`EmailConfig` from its settings
(``gateway.channel_configs.email_config``); the channel's modules read only this.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "DEFAULT_MAX_BODY_CHARS",
    "EmailConfig",
    "Security",
]

#: Default cut of an email's text for display and storage (``ADUAN_EMAIL_MAX_BODY_CHARS``).
DEFAULT_MAX_BODY_CHARS = 100_000


class Security(enum.StrEnum):
    """Transport security of an IMAP or SMTP connection: implicit TLS, STARTTLS or none."""

    SSL = "ssl"
    STARTTLS = "starttls"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class EmailConfig:
    """Settings of the email channel (IMAP in, SMTP out), resolved and validated by the caller.

    Attributes:
        imap_host / imap_user / imap_password: the office mailbox; IMAP is off
            unless all three are set.
        imap_port: the port to use (already resolved: 993 for ssl, 143 otherwise
            when not configured).
        imap_security / imap_mailbox / imap_poll_seconds: transport security,
            folder read, polling interval in seconds when the server has no IDLE.
        smtp_host / smtp_port / smtp_user / smtp_password / smtp_security:
            the outgoing server (port resolved: 465 ssl, 587 starttls, 25 none).
        email_from: our address (``"Name <addr>"`` or ``addr``); mail from it
            is automatic and never answered.
        attachment_max_bytes: largest attachment kept, in bytes.
        max_body_chars: longest text kept on the message, in characters; a
            longer body is cut and kept whole as an attachment.
        trusted_authserv_id: the authserv-id (RFC 8601) of the office's own
            receiving server; ``Authentication-Results`` of any other id are
            ignored. None: no authentication results are read.

    Passwords are plain strings here and never shown by ``repr``.
    """

    imap_host: str | None = None
    imap_port: int = 993
    imap_user: str | None = None
    imap_password: str | None = field(default=None, repr=False)
    imap_security: Security = Security.SSL
    imap_mailbox: str = "INBOX"
    imap_poll_seconds: float = 60.0
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_security: Security = Security.STARTTLS
    email_from: str | None = None
    attachment_max_bytes: int = 10 * 1024 * 1024
    max_body_chars: int = DEFAULT_MAX_BODY_CHARS
    trusted_authserv_id: str | None = None

    @property
    def imap_configured(self) -> bool:
        """True when host, user and password for IMAP are all set."""
        return bool(self.imap_host and self.imap_user and self.imap_password)
