"""Error hierarchy shared by every channel (docs/channels.md, "Writing a channel module").

Channels raise these; the outbox dispatcher decides from the class alone whether
a row is retried with backoff, retried after a provider-given delay, or marked
as permanently failed for staff to see.
"""

from __future__ import annotations


class ChannelError(Exception):
    """Base class for every error a channel raises while sending or receiving.

    ``code`` is the provider's own error code when it gave one (e.g. SMTP reply
    code ``550``, Twilio ``21211``); ``None`` otherwise.
    """

    def __init__(self, message: str, *, code: str | int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TemporaryError(ChannelError):
    """A failure that may succeed later (network error, 5xx, SMTP 4xx)."""


class RateLimited(TemporaryError):
    """The provider asked us to slow down.

    ``retry_after`` is in seconds (float, >= 0), taken from the provider's answer
    (Telegram ``retry_after``, HTTP ``Retry-After``).
    """

    def __init__(self, message: str, *, retry_after: float, code: str | int | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(0.0, float(retry_after))


class PermanentError(ChannelError):
    """A failure that will not succeed on retry (invalid address, SMTP 5xx)."""


class ChannelConfigError(ValueError):
    """A channel was built with a configuration it cannot work with; the
    message names what is missing or wrong."""


class InboundParseError(ChannelError):
    """A provider payload that cannot be turned into an inbound message.

    Raised by ``Channel.parse``; the webhook answers 400 with ``str(error)`` as the
    JSON reason, and a mailbox poller keeps the raw message aside for staff.
    """
