"""The email channel: IMAP in, SMTP out (docs/channels.md, "Email"; docs/email.md).

The channel knows nothing of the application: it is configured with an
:class:`EmailConfig` that the application builds from its settings.

Modules, one job each:

* :mod:`.config` — :class:`EmailConfig` and :class:`Security`;
* :mod:`.authresults` — ``Authentication-Results`` of the trusted server (RFC 8601);
* :mod:`.parse` — bytes of one message → :class:`InboundMessage` (pure);
* :mod:`.parse_pool` — parsing a fetched batch off the event loop;
* :mod:`.automatic` — is it machine-sent (rule 6);
* :mod:`.quotes` / :mod:`.html` — the new text of a reply;
* :mod:`.imap_client` — a read-only IMAP connection (EXAMINE, BODY.PEEK, IDLE);
* :mod:`.mailbox_store` — checkpoints and quarantine in the database;
* :mod:`.imap` — the poller loop with its lease;
* :mod:`.smtp` — sending, with Message-IDs derived from idempotency keys;
* :mod:`.smtp_pool` — the SMTP connections kept open between sends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any, ClassVar

from channels.base import Channel, ChannelName, InboundMessage, OutboundMessage, SendResult
from channels.email.automatic import is_automatic
from channels.email.config import EmailConfig, Security
from channels.email.imap import Accept, AcceptBatch, ImapPoller, mailbox_key_for
from channels.email.parse import parse_email
from channels.email.quotes import strip_quotes
from channels.email.smtp import SmtpSender, message_id_for
from storage.db import SessionFactory

__all__ = [
    "EmailChannel",
    "EmailConfig",
    "ImapPoller",
    "Security",
    "SmtpSender",
    "is_automatic",
    "message_id_for",
    "parse_email",
    "strip_quotes",
]


class EmailChannel(Channel):
    """Email adapter: parses fetched mail, sends by SMTP, runs the IMAP poller.

    Args:
        config: the channel's :class:`EmailConfig`.
        sessions: database session factory (poller checkpoints, lease, quarantine).
        accept: commits one inbound message (``gateway.ingest.ingest`` bound to
            the session factory); raises on failure so the UID is retried.
        holder: this process's lease holder id (``storage.leases.new_holder_id()``).
        accept_batch: commits a batch of inbound messages in one transaction
            (``gateway.ingest.ingest_batch``); the poller stores fetched
            batches with it, falling back to ``accept`` one by one.
        poller_options: extra keyword arguments for :class:`ImapPoller`
            (intervals, TLS context); tests use them.
    """

    name: ClassVar[ChannelName] = ChannelName.EMAIL
    interactive: ClassVar[bool] = False
    threaded: ClassVar[bool] = True

    def __init__(
        self,
        config: EmailConfig,
        sessions: SessionFactory,
        accept: Accept,
        *,
        holder: str,
        accept_batch: AcceptBatch | None = None,
        poller_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._settings = config
        self._sessions = sessions
        self._accept = accept
        self._accept_batch = accept_batch
        self._holder = holder
        self._poller_options = dict(poller_options or {})
        self._sender = SmtpSender(config)
        self._poller: ImapPoller | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def imap_configured(self) -> bool:
        """True when host, user and password for IMAP are all set."""
        return self._settings.imap_configured

    @property
    def poller(self) -> ImapPoller | None:
        """The running poller, if :meth:`start` started one."""
        return self._poller

    def parse(self, raw: Any) -> InboundMessage:
        """Parse one fetched message (bytes) with :func:`parse_email`.

        Our own address (``email_from``) marks mail as automatic (rule 6).
        Raises :class:`channels.errors.InboundParseError` when it is not an email.
        """
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        own = [self._settings.email_from] if self._settings.email_from else []
        return parse_email(
            raw,
            own_addresses=own,
            max_attachment_bytes=self._settings.attachment_max_bytes,
            max_body_chars=self._settings.max_body_chars,
            trusted_authserv_id=self._settings.trusted_authserv_id,
        )

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send by SMTP; see :meth:`SmtpSender.send` for the errors raised."""
        return await self._sender.send(message)

    async def start(self) -> None:
        """Start the IMAP poller task when IMAP is configured (no-op otherwise or if running)."""
        if not self.imap_configured or (self._task is not None and not self._task.done()):
            return
        self._poller = ImapPoller(
            self._settings,
            self._sessions,
            self._accept,
            holder=self._holder,
            **{"accept_batch": self._accept_batch, **self._poller_options},
        )
        self._task = asyncio.create_task(
            self._poller.run(), name=f"imap-poller:{self._poller.mailbox_key}"
        )

    async def stop(self) -> None:
        """Stop the poller (it finishes the current message and releases its lease)
        and close the idle SMTP connections."""
        poller, task = self._poller, self._task
        self._task = None
        if poller is not None:
            await poller.stop()
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._sender.close()

    def status(self) -> Mapping[str, Any]:
        """IMAP mailbox, poller state and SMTP endpoint; never passwords."""
        s = self._settings
        result: dict[str, Any] = {
            "email_from": s.email_from,
            "smtp": f"{s.smtp_host}:{s.smtp_port} ({s.smtp_security})" if s.smtp_host else None,
            "smtp_login": bool(s.smtp_user),
            "imap": f"{mailbox_key_for(s)} ({s.imap_security})" if self.imap_configured else None,
        }
        if self._poller is not None:
            result["poller"] = self._poller.status()
        return result
