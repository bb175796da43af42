"""The IMAP mailbox poller (docs/channels.md, "Email"; docs/email.md).

Every round: ``EXAMINE`` the mailbox (read-only), compare UIDVALIDITY with the
stored checkpoint (a change means rescan from UID 1 and let Message-ID dedupe
drop what is already stored), ``UID SEARCH`` for UIDs above the checkpoint,
ask their sizes and cut them into batches (docs/email.md "Fast intake"). Each
batch is fetched with one ``UID FETCH set (UID BODY.PEEK[])``, parsed off the
event loop, committed through ``accept_batch`` in one transaction, and only
then is the checkpoint advanced; the next batch is fetched meanwhile.
Mail that cannot be parsed or stored, or that failed SPF/DMARC at the trusted
receiving server, is quarantined with the reason and passed, so one message
never blocks the mailbox; only a transient store failure (database
unreachable) stops the round at that UID for a retry, a few times at most.
Nothing is ever deleted, moved or flagged.

``run()`` holds a database lease per mailbox, so with several gateway processes
exactly one polls a given mailbox; it waits with IDLE (re-issued before 29
minutes) when the server offers it, else sleeps ``imap_poll_seconds``, and
reconnects with capped exponential backoff; the lease, the backoff and the
outage logging are :class:`channels.polling.LeasedPoller`'s
(docs/channels.md, "Polling under a lease").
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from channels.base import InboundMessage
from channels.email.config import EmailConfig
from channels.email.imap_client import IDLE_MAX_SECONDS, ImapConnection, ImapError
from channels.email.mailbox_store import (
    Quarantined,
    advance_checkpoint,
    load_checkpoint,
    quarantine,
    reset_checkpoint,
    settle_batch,
)
from channels.email.parse_pool import BatchParser, Parsed, ParseOptions
from channels.polling import LeasedPoller, LeaseLost
from storage.db import SessionFactory
from storage.transient import is_transient
from storage.types import utcnow
from storage.uncancelled import runs_to_end

__all__ = [
    "Accept",
    "AcceptBatch",
    "ImapError",
    "ImapPoller",
    "LeaseLost",
    "is_transient",
    "lease_name_for",
    "mailbox_key_for",
]

log = logging.getLogger(__name__)

_LEASE_NAME_MAX = 200

#: Commits one inbound message; raises when it could not (the UID is retried).
Accept = Callable[[InboundMessage], Awaitable[object]]
#: Commits several inbound messages in one transaction (all or none); raises when it could not.
AcceptBatch = Callable[[Sequence[InboundMessage]], Awaitable[object]]

#: Mails fetched and stored together (docs/email.md "Fast intake").
BATCH_MAX_MESSAGES = 200
#: Bytes fetched together at most (one larger mail goes alone).
BATCH_MAX_BYTES = 8 * 1024 * 1024
#: Worker processes parsing fetched mail (0: a thread; < 0: on the event loop).
#: A thread by default: parsing a plain mail costs a fraction of a millisecond,
#: and a thread needs no worker processes to start, import the parser and stop.
PARSE_PROCESSES = 0


def mailbox_key_for(settings: EmailConfig) -> str:
    """``"{user}@{host}:{port}/{mailbox}"``: the checkpoint and lease key of the mailbox."""
    return f"{settings.imap_user}@{settings.imap_host}:{settings.imap_port}/{settings.imap_mailbox}"


def lease_name_for(mailbox_key: str) -> str:
    """``"imap:{mailbox_key}"``, hashed when longer than the ``leases.name`` column (200)."""
    name = f"imap:{mailbox_key}"
    if len(name) <= _LEASE_NAME_MAX:
        return name
    return "imap:sha256:" + hashlib.sha256(mailbox_key.encode("utf-8")).hexdigest()


class ImapPoller:
    """Polls one IMAP mailbox into ``accept`` (reliability rule 5).

    Args:
        settings: ``imap_host``, ``imap_user``, ``imap_password`` must be set;
            also uses ``imap_effective_port``, ``imap_security``,
            ``imap_mailbox``, ``imap_poll_seconds``, ``email_from`` (our own
            address: mail from it is automatic) and ``attachment_max_bytes``.
        sessions: database session factory (checkpoints, quarantine, lease).
        accept: commits one message (e.g. ``gateway.ingest.ingest``); must treat
            a duplicate Message-ID as success; raises on failure.
        accept_batch: commits a batch in one transaction, all or nothing, with
            the same duplicate rule (e.g. ``gateway.ingest.ingest_batch``);
            without it every mail goes through ``accept`` on its own.
        holder: this process's lease holder id (``storage.leases.new_holder_id()``).
        lease_ttl_seconds: lease lifetime; renewed every third of it.
        idle_seconds: longest single IDLE (capped at 28 minutes, RFC 2177).
        retry_seconds: first reconnect / retry delay, doubled up to
            ``max_backoff_seconds``.
        timeout_seconds: bound on each IMAP command.
        ssl_context: TLS context for ``ssl``/``starttls`` (default: system CAs).
        store_attempts: rounds a message whose store failed transiently is
            retried before it is quarantined (at least 1).
        batch_max_messages: mails fetched and committed together (at least 1).
        batch_max_bytes: bytes fetched together at most (by ``RFC822.SIZE``).
        prefetch_batches: batches fetched ahead of the one being stored.
        parse_processes: worker processes parsing mail (``0``: a thread;
            ``< 0``: on the event loop); see :class:`BatchParser`.

    Raises:
        ValueError: IMAP host, user or password is not configured.

    The first poll of a mailbox without a checkpoint reads it from UID 1, so
    mail already there when the channel is switched on is taken in too.
    """

    def __init__(
        self,
        settings: EmailConfig,
        sessions: SessionFactory,
        accept: Accept,
        *,
        holder: str,
        lease_ttl_seconds: float = 60.0,
        idle_seconds: float = IDLE_MAX_SECONDS,
        retry_seconds: float = 1.0,
        max_backoff_seconds: float = 300.0,
        timeout_seconds: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        store_attempts: int = 3,
        accept_batch: AcceptBatch | None = None,
        batch_max_messages: int = BATCH_MAX_MESSAGES,
        batch_max_bytes: int = BATCH_MAX_BYTES,
        prefetch_batches: int = 1,
        parse_processes: int | None = None,
    ) -> None:
        if not (settings.imap_host and settings.imap_user and settings.imap_password):
            raise ValueError("IMAP needs imap_host, imap_user and imap_password")
        self._settings = settings
        self._sessions = sessions
        # A pass is cancelled when the lease is lost or a stop runs out of
        # grace: a commit under way finishes first (storage/uncancelled.py).
        self._accept = runs_to_end(accept)
        self._accept_batch = None if accept_batch is None else runs_to_end(accept_batch)
        self._batch_max_messages = max(1, batch_max_messages)
        self._batch_max_bytes = max(1, batch_max_bytes)
        self._prefetch_batches = max(1, prefetch_batches)
        self._parser = BatchParser(
            ParseOptions(
                own_addresses=(settings.email_from,) if settings.email_from else (),
                max_attachment_bytes=settings.attachment_max_bytes,
                max_body_chars=settings.max_body_chars,
                trusted_authserv_id=settings.trusted_authserv_id,
            ),
            processes=PARSE_PROCESSES if parse_processes is None else parse_processes,
        )
        self._idle_seconds = min(idle_seconds, IDLE_MAX_SECONDS)
        self._retry = retry_seconds
        self._max_backoff = max_backoff_seconds
        self._timeout = timeout_seconds
        self._ssl_context = ssl_context
        self._store_attempts = max(1, store_attempts)
        self._store_failures: dict[tuple[int, int], int] = {}
        self.mailbox_key = mailbox_key_for(settings)
        self.lease_name = lease_name_for(self.mailbox_key)
        self._stop = asyncio.Event()
        self._loop = LeasedPoller(
            sessions,
            lease_name=self.lease_name,
            holder=holder,
            poll=self._session,
            label=f"imap {self.mailbox_key}",
            ttl_seconds=lease_ttl_seconds,
            initial_backoff=retry_seconds,
            max_backoff=max_backoff_seconds,
            transient=is_transient,
            expected=lambda exc: isinstance(exc, ImapError),
            describe=self._describe,
            stop=self._stop,
        )
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._idle_supported: bool | None = None
        self._incomplete = False
        self._handled_total = 0
        self._last_poll_at: datetime | None = None

    # -- one round ---------------------------------------------------------

    async def _connect(self) -> ImapConnection:
        settings = self._settings
        assert settings.imap_host and settings.imap_user and settings.imap_password
        conn = await ImapConnection.open(
            host=settings.imap_host,
            port=settings.imap_port,
            security=settings.imap_security,
            user=settings.imap_user,
            password=settings.imap_password,
            command_timeout=self._timeout,
            ssl_context=self._ssl_context,
        )
        self._idle_supported = conn.supports_idle
        return conn

    async def poll_once(self) -> int:
        """One round on a fresh connection (opened and closed here).

        Returns the number of messages handled (accepted or quarantined). Does
        not take the lease: callers outside :meth:`run` must make sure no other
        poller works this mailbox at the same time (dedupe keeps it safe anyway).

        Raises:
            ImapError: cannot connect, log in or read the mailbox.
            sqlalchemy.exc.SQLAlchemyError: the checkpoint could not be read or written.
        """
        self._parser.warm_up()
        conn = await self._connect()
        try:
            return await self._poll(conn)
        finally:
            await conn.close()
            self._parser.close()

    async def _poll(self, conn: ImapConnection) -> int:
        async with self._lock:
            handled = await self._round(conn)
        self._handled_total += handled
        self._last_poll_at = utcnow()
        return handled

    async def _round(self, conn: ImapConnection) -> int:
        self._incomplete = False
        state = await conn.examine(self._settings.imap_mailbox)
        checkpoint = await load_checkpoint(self._sessions, self.mailbox_key)
        if checkpoint is None or checkpoint.uidvalidity != state.uidvalidity:
            if checkpoint is not None:
                log.warning(
                    "imap %s: UIDVALIDITY changed %s -> %s; rescanning from UID 1",
                    self.mailbox_key,
                    checkpoint.uidvalidity,
                    state.uidvalidity,
                )
            await reset_checkpoint(self._sessions, self.mailbox_key, state.uidvalidity)
            last_uid = 0
        else:
            last_uid = checkpoint.last_uid
        if state.uidnext is not None and state.uidnext <= last_uid + 1:
            return 0
        uids = await conn.uids_after(last_uid)
        if not uids:
            return 0
        batches = await self._plan(conn, uids)
        return await self._pipeline(conn, state.uidvalidity, batches)

    async def _plan(self, conn: ImapConnection, uids: list[int]) -> list[list[int]]:
        """``uids`` cut into fetch batches of at most ``batch_max_messages`` and
        ``batch_max_bytes`` (one larger message goes alone), in ascending order."""
        if len(uids) == 1 or not hasattr(conn, "sizes"):
            sizes: dict[int, int] = {}
        else:
            sizes = await conn.sizes(uids)
        batches: list[list[int]] = []
        current: list[int] = []
        current_bytes = 0
        for uid in uids:
            size = sizes.get(uid, 0)
            if current and (
                len(current) >= self._batch_max_messages
                or current_bytes + size > self._batch_max_bytes
            ):
                batches.append(current)
                current, current_bytes = [], 0
            current.append(uid)
            current_bytes += size
        if current:
            batches.append(current)
        return batches

    async def _fetch(self, conn: ImapConnection, batch: list[int]) -> dict[int, bytes]:
        if len(batch) > 1 and hasattr(conn, "fetch_many"):
            return await conn.fetch_many(batch)
        found: dict[int, bytes] = {}
        for uid in batch:
            raw = await conn.fetch(uid)
            if raw is not None:
                found[uid] = raw
        return found

    async def _pipeline(
        self, conn: ImapConnection, uidvalidity: int, batches: list[list[int]]
    ) -> int:
        """Fetch batch k+1 while batch k is parsed and stored; returns the UIDs handled.

        Stops at the first batch that could not be completed (a transient store
        failure): the checkpoint then stands just before the first UID not
        committed, and ``_incomplete`` is set so the round is retried.
        """
        fetched: asyncio.Queue[tuple[list[int], dict[int, bytes]] | BaseException | None] = (
            asyncio.Queue(maxsize=self._prefetch_batches)
        )

        async def fetch_all() -> None:
            try:
                for batch in batches:
                    if self._stop.is_set():
                        break
                    await fetched.put((batch, await self._fetch(conn, batch)))
            except Exception as exc:  # handed to the consumer, which raises it
                await fetched.put(exc)
                return
            await fetched.put(None)

        fetcher = asyncio.ensure_future(fetch_all())
        handled = 0
        try:
            while (item := await fetched.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                batch, bodies = item
                done, complete = await self._handle_batch(uidvalidity, batch, bodies)
                handled += done
                if not complete:
                    self._incomplete = True
                    break
                if self._stop.is_set():
                    break
        finally:
            if not fetcher.done():
                fetcher.cancel()
            await asyncio.gather(fetcher, return_exceptions=True)
        return handled

    async def _handle_batch(
        self, uidvalidity: int, batch: list[int], bodies: dict[int, bytes]
    ) -> tuple[int, bool]:
        """Parse and store one fetched batch; returns (UIDs handled, whether all were).

        The good mails are committed together through ``accept_batch`` (one
        transaction), then the bad ones are quarantined and the checkpoint moved
        to the batch's last UID in a second one (docs/email.md "Fast intake").
        When the batch transaction fails, the batch is taken one mail at a time
        so that only the mail at fault is quarantined, or the round stops at the
        first UID a transient failure left uncommitted.
        """
        parsed = await self._parser.parse([(uid, bodies[uid]) for uid in batch if uid in bodies])
        by_uid = {p.uid: p for p in parsed}
        good = [p.message for p in parsed if p.message is not None]
        if self._accept_batch is None or not good:
            return await self._handle_each(uidvalidity, batch, by_uid)
        try:
            await self._accept_batch(good)
        except Exception as exc:
            # Only its type: the text may quote the message's values.
            log.warning(
                "imap %s: batch of %s failed (%s); storing one by one",
                self.mailbox_key,
                len(good),
                type(exc).__name__,
            )
            return await self._handle_each(uidvalidity, batch, by_uid)
        bad = [Quarantined(p.uid, p.raw, p.error) for p in parsed if p.message is None and p.error]
        await settle_batch(
            self._sessions,
            mailbox_key=self.mailbox_key,
            uidvalidity=uidvalidity,
            quarantined=bad,
            through_uid=batch[-1],
        )
        for item in bad:
            self._log_quarantine(item.uid, item.error)
        for uid in batch:
            self._store_failures.pop((uidvalidity, uid), None)
        return len(batch), True

    async def _handle_each(
        self, uidvalidity: int, batch: list[int], by_uid: dict[int, Parsed]
    ) -> tuple[int, bool]:
        """One mail at a time through ``accept``; the checkpoint moves once at the end
        (or to the UID before the first that could not be committed)."""
        through = 0
        handled = 0
        complete = True
        for uid in batch:
            if self._stop.is_set() and through:
                complete = False
                break
            parsed = by_uid.get(uid)
            if parsed is not None and not await self._accept_one(uidvalidity, parsed):
                complete = False
                break
            through = uid  # expunged since the search, stored or quarantined
            handled += 1
        if through:
            await advance_checkpoint(self._sessions, self.mailbox_key, uidvalidity, through)
        return handled, complete or self._stop.is_set()

    async def _accept_one(self, uidvalidity: int, parsed: Parsed) -> bool:
        """Accept or quarantine one parsed mail; True when the checkpoint may pass it.

        Never blocks the mailbox (docs/email.md "Mail that cannot be taken in"):
        mail that cannot be parsed, that failed SPF/DMARC at the trusted
        server, or whose store transaction raised is quarantined with the
        reason and passed. Only a store failure that may pass on its own (the
        database unreachable, a timeout: :func:`is_transient`) is retried, up to
        ``store_attempts`` rounds, before the mail is quarantined too.
        """
        uid, raw = parsed.uid, parsed.raw
        if parsed.message is None:
            await self._quarantine(uidvalidity, uid, raw, parsed.error or "unparseable")
            return True
        key = (uidvalidity, uid)
        try:
            await self._accept(parsed.message)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            attempts = self._store_failures.get(key, 0) + 1
            if is_transient(exc) and attempts < self._store_attempts:
                self._store_failures[key] = attempts
                # The exception's text may quote the message's values: only its type.
                self._loop.last_error = f"accept failed at UID {uid}: {type(exc).__name__}"
                log.error("imap %s: %s; will retry", self.mailbox_key, self._loop.last_error)
                return False
            self._store_failures.pop(key, None)
            await self._quarantine(uidvalidity, uid, raw, f"could not be stored: {error}")
            return True
        self._store_failures.pop(key, None)
        return True

    async def _quarantine(self, uidvalidity: int, uid: int, raw: bytes, error: str) -> None:
        """Keep UID ``uid`` aside with ``error`` and move the checkpoint past it.

        The reason is logged without the mail's content (personal data).
        """
        await quarantine(
            self._sessions,
            mailbox_key=self.mailbox_key,
            uidvalidity=uidvalidity,
            uid=uid,
            raw=raw,
            error=error,
        )
        self._log_quarantine(uid, error)

    def _log_quarantine(self, uid: int, error: str) -> None:
        log.warning(
            "imap %s: UID %s quarantined (%s)", self.mailbox_key, uid, error.split(":", 1)[0]
        )

    def _redact(self, text: str) -> str:
        value = self._settings.imap_password or ""
        return text.replace(value, "***") if value else text

    # -- the long-running loop ----------------------------------------------

    async def _sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` or until stop() is called."""
        await self._loop.sleep(seconds)

    def _describe(self, exc: BaseException) -> str:
        """An error for the log and ``status()``: the text (password redacted)
        of IMAP and network errors, only the class of anything else (a
        database error's text carries the statement's parameters)."""
        if isinstance(exc, ImapError | OSError):
            return self._redact(f"{type(exc).__name__}: {exc}")
        return type(exc).__name__

    async def _serve(self, conn: ImapConnection) -> None:
        backoff = self._retry
        while not self._stop.is_set():
            # Poll until a round finds nothing: an EXISTS the server sent while we were
            # fetching is not repeated once IDLE starts, so never IDLE right after work.
            while await self._poll(conn) and not self._incomplete:
                if self._stop.is_set():
                    return
            if self._incomplete:
                await self._sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = self._retry
            self._loop.healthy()
            if conn.supports_idle:
                await conn.idle(self._idle_seconds, self._stop)
            else:
                await self._sleep(self._settings.imap_poll_seconds)

    async def _session(self) -> None:
        """Connect, then poll and wait until stopped or an error (one pass of the
        :class:`LeasedPoller`, which keeps the lease meanwhile)."""
        conn = await self._connect()
        log.info(
            "imap %s: connected (IDLE %s)",
            self.mailbox_key,
            "yes" if conn.supports_idle else "no",
        )
        try:
            await self._serve(conn)
        finally:
            await conn.close()

    async def run(self) -> None:
        """Poll until :meth:`stop`: hold the lease, IDLE or sleep, reconnect on errors.

        Never raises except on cancellation; errors are logged (without the
        password) and retried with exponential backoff from ``retry_seconds``
        up to ``max_backoff_seconds`` (:class:`channels.polling.LeasedPoller`).
        """
        self._task = asyncio.current_task()
        self._parser.warm_up()
        try:
            await self._loop.run()
        finally:
            self._parser.close()

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Ask :meth:`run` to finish (after the current message) and wait for it.

        A stopped poller does not start again; create a new one. After
        ``grace_seconds`` the task is cancelled, once a commit under way has
        finished (a transaction is never cut off midway); the lease is released.
        """
        self._stop.set()
        task = self._task
        if task is None or task.done() or task is asyncio.current_task():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), grace_seconds)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        except Exception:  # noqa: S110 - run() never raises; be safe anyway
            pass

    # -- introspection ---------------------------------------------------------

    @property
    def holds_lease(self) -> bool:
        """True while this poller holds the mailbox lease (inside :meth:`run`)."""
        return self._loop.holds_lease

    def status(self) -> dict[str, Any]:
        """Operational facts without secrets: mailbox key, lease, IDLE, last poll, last error."""
        return {
            "mailbox": self.mailbox_key,
            "running": self._task is not None and not self._task.done(),
            "holds_lease": self._loop.holds_lease,
            "idle": self._idle_supported,
            "last_poll_at": self._last_poll_at.isoformat() if self._last_poll_at else None,
            "messages_handled": self._handled_total,
            "last_error": self._loop.last_error,
        }
