"""One leased poll loop for every channel that fetches its inbound itself.

An IMAP mailbox and a Telegram bot in polling mode are each polled by exactly
one gateway process at a time (docs/channels.md, "Polling under a lease"). The
:class:`LeasedPoller` is that loop, written once:

* take the database lease ``lease_name`` (``storage.leases``) before a pass,
  and renew it every third of ``ttl_seconds`` while the pass runs; a pass
  whose lease was taken over is cancelled (:class:`LeaseLost`);
* while another process holds the lease, wait ``min(ttl / 2, 30)`` seconds and
  try again (a crashed holder's lease lapses after ``ttl_seconds``);
* on an error, wait and retry with a backoff doubled from ``initial`` up to
  ``cap``; back to ``initial`` after a pass that worked (or when the pass says
  so through :meth:`LeasedPoller.healthy`);
* an error that may pass on its own (the database or the provider
  unreachable, ``transient``) is an *outage*: one WARNING when it starts,
  DEBUG while it lasts, one INFO when it ends; never a traceback;
* an error the channel knows (``expected``) is logged as a WARNING each time,
  without a traceback; any other error is unexpected: its stack (frames only,
  never the exception's text, which may quote personal data) is logged the
  first time that error is seen, later ones are WARNINGs only;
* :meth:`LeasedPoller.stop` (or the ``stop`` event) ends the loop at once, even
  mid-backoff, and the lease is released.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable

from storage import leases
from storage.db import SessionFactory

__all__ = ["LeaseLost", "LeasedPoller"]

log = logging.getLogger(__name__)

#: Longest wait between two attempts at a lease held by another process, seconds.
LEASE_WAIT_MAX_SECONDS = 30.0


class LeaseLost(Exception):
    """Another process took the lease over; this poller stops its pass."""


def _type_only(exc: BaseException) -> str:
    return type(exc).__name__


def _never(exc: BaseException) -> bool:
    return False


def _no_retry_after(exc: BaseException) -> float | None:
    return None


class LeasedPoller:
    """Runs ``poll`` again and again under lease ``lease_name`` until stopped.

    Args:
        sessions: database session factory (the ``leases`` table).
        lease_name: the lease (at most 200 characters), e.g. ``"imap:<mailbox>"``
            or ``"telegram:<bot id>"``.
        holder: this process's holder id (``storage.leases.new_holder_id()``).
        poll: one pass, a coroutine function; may run long (an IMAP session
            with IDLE) or return after one fetch (a Telegram long poll).
            Returning normally counts as success; raising is retried.
        label: how log lines name this poller (``"imap user@host:993/INBOX"``);
            must not contain secrets.
        ttl_seconds: lease lifetime; renewed every third of it.
        initial_backoff / max_backoff: seconds before the first retry after an
            error, doubled each further error up to the second.
        transient: whether an error may pass on its own (an outage).
        expected: whether an error that is not transient is one the channel
            knows (logged without a stack).
        describe: the error text for logs and :attr:`last_error`; must leave
            out secrets and personal data (default: the class name only).
        retry_after: seconds the provider asked us to wait for this error
            (a rate limit), or ``None``; such an error waits that long (at
            least ``initial_backoff``) and does not grow the backoff.
        on_acquired / on_lost: called when the lease is taken / lost.
        stop: the event that ends the loop (default: a new one; see :meth:`stop`).
        clock: monotonic seconds, for lease renewal (tests pass a fake).

    Errors: :meth:`run` never raises except on cancellation.
    """

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        lease_name: str,
        holder: str,
        poll: Callable[[], Awaitable[object]],
        label: str,
        ttl_seconds: float = 60.0,
        initial_backoff: float = 1.0,
        max_backoff: float = 300.0,
        transient: Callable[[BaseException], bool] = _never,
        expected: Callable[[BaseException], bool] = _never,
        describe: Callable[[BaseException], str] = _type_only,
        retry_after: Callable[[BaseException], float | None] = _no_retry_after,
        on_acquired: Callable[[], object] | None = None,
        on_lost: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self.lease_name = lease_name
        self._holder = holder
        self._poll = poll
        self.label = label
        self._ttl = ttl_seconds
        self._initial = initial_backoff
        self._cap = max(max_backoff, initial_backoff)
        self._transient = transient
        self._expected = expected
        self._describe = describe
        self._retry_after = retry_after
        self._on_acquired = on_acquired
        self._on_lost = on_lost
        self.stop_event = stop if stop is not None else asyncio.Event()
        self._clock = clock
        self._backoff = initial_backoff
        self._holds = False
        self._renewed_at = 0.0
        self._outage_since: float | None = None
        self._outage_failures = 0
        self._stacks_logged: set[tuple[str, str]] = set()
        #: The last error (``describe``d), ``None`` after a pass that worked.
        self.last_error: str | None = None

    # -- state -----------------------------------------------------------------

    @property
    def holds_lease(self) -> bool:
        """True while this poller holds its lease (inside :meth:`run`)."""
        return self._holds

    @property
    def backoff(self) -> float:
        """Seconds the next error will wait before the retry."""
        return self._backoff

    @property
    def in_outage(self) -> bool:
        """True between the first transient error and the next success."""
        return self._outage_since is not None

    def healthy(self) -> None:
        """Record that polling works: backoff back to ``initial``, no last
        error, and an outage (if any) logged as ended. Called after every
        pass that returned; a long pass calls it after each good round."""
        self._backoff = self._initial
        self.last_error = None
        if self._outage_since is not None:
            log.info(
                "%s: working again after %.0f s (%d failed attempts)",
                self.label,
                self._clock() - self._outage_since,
                self._outage_failures,
            )
            self._outage_since = None
            self._outage_failures = 0

    # -- the loop -----------------------------------------------------------------

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the poller is stopped meanwhile."""
        try:
            await asyncio.wait_for(self.stop_event.wait(), timeout=max(0.0, seconds))
        except TimeoutError:
            pass

    async def _take(self) -> bool:
        """Take the lease, or renew it if a third of its life has passed."""
        if self._holds and self._clock() - self._renewed_at < self._ttl / 3:
            return True
        had = self._holds
        self._holds = await leases.acquire(self._sessions, self.lease_name, self._holder, self._ttl)
        if self._holds:
            self._renewed_at = self._clock()
            if not had and self._on_acquired is not None:
                self._on_acquired()
        elif had:
            self._lost()
        return self._holds

    def _lost(self) -> None:
        self._holds = False
        log.warning("%s: lease lost to another process", self.label)
        if self._on_lost is not None:
            self._on_lost()

    async def _keep(self) -> None:
        """Renew the lease every third of its life; raise :class:`LeaseLost` when gone."""
        while True:
            await asyncio.sleep(max(0.0, self._renewed_at + self._ttl / 3 - self._clock()))
            if not await leases.acquire(self._sessions, self.lease_name, self._holder, self._ttl):
                raise LeaseLost(self.lease_name)
            self._renewed_at = self._clock()

    async def _pass(self) -> None:
        """One ``poll`` with the lease renewed beside it."""
        work = asyncio.ensure_future(self._poll())
        keeper = asyncio.ensure_future(self._keep())
        try:
            done, _pending = await asyncio.wait({work, keeper}, return_when=asyncio.FIRST_COMPLETED)
            if keeper in done:
                keeper.result()  # raises LeaseLost or the renewal's error
            work.result()
        finally:
            for task in (work, keeper):
                task.cancel()
            await asyncio.gather(work, keeper, return_exceptions=True)

    def _failed(self, exc: Exception) -> float:
        """Log ``exc`` and return the seconds to wait before the next pass."""
        self.last_error = self._describe(exc)
        asked = self._retry_after(exc)
        if asked is not None:
            log.warning("%s: %s", self.label, self.last_error)
            return max(asked, self._initial)
        delay = self._backoff
        self._backoff = min(self._backoff * 2, self._cap)
        if self._transient(exc):
            self._outage_failures += 1
            if self._outage_since is None:
                self._outage_since = self._clock()
                log.warning(
                    "%s: %s; retrying in %.2f s (further failures are logged at DEBUG "
                    "until it works again)",
                    self.label,
                    self.last_error,
                    delay,
                )
            else:
                log.debug("%s: %s; retrying in %.2f s", self.label, self.last_error, delay)
            return delay
        if self._expected(exc):
            log.warning("%s: %s; retrying in %.2f s", self.label, self.last_error, delay)
            return delay
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        key = (f"{type(exc).__module__}.{type(exc).__qualname__}", where)
        if key in self._stacks_logged:
            log.warning("%s: %s; retrying in %.2f s", self.label, self.last_error, delay)
        else:
            self._stacks_logged.add(key)
            # Frames only: the exception's text may quote personal data.
            log.warning(
                "%s: unexpected %s; retrying in %.2f s\n%s",
                self.label,
                self.last_error,
                delay,
                "".join(traceback.format_list(frames)).rstrip(),
            )
        return delay

    async def run(self) -> None:
        """Poll until stopped; release the lease on the way out.

        Never raises except on cancellation (the lease is released then too).
        """
        try:
            while not self.stop_event.is_set():
                try:
                    if not await self._take():
                        await self.sleep(min(self._ttl / 2, LEASE_WAIT_MAX_SECONDS))
                        continue
                    await self._pass()
                except LeaseLost:
                    self._lost()
                    continue
                except Exception as exc:  # retried with backoff; logged by _failed
                    await self.sleep(self._failed(exc))
                    continue
                self.healthy()
        finally:
            await self.release()

    async def release(self) -> None:
        """Give the lease up if held (an error is logged: the lease lapses on its own)."""
        if not self._holds:
            return
        self._holds = False
        try:
            await leases.release(self._sessions, self.lease_name, self._holder)
        except Exception as exc:  # it lapses on its own
            log.warning("%s: could not release the lease: %s", self.label, type(exc).__name__)

    def stop(self) -> None:
        """Ask :meth:`run` to end: a wait (backoff, lease) ends at once; a pass
        in progress sees the ``stop`` event and finishes as it chooses."""
        self.stop_event.set()
