"""A few SMTP connections kept open and reused (docs/email.md "Sending").

Opening an SMTP connection costs a TCP handshake, the greeting, ``EHLO``,
maybe ``STARTTLS`` and ``AUTH``: more than sending a short acknowledgement.
:class:`SmtpPool` keeps up to ``size`` logged-in connections; a send borrows
one, and gives it back when the server accepted the message. A connection that
failed in any way is closed, never reused. One that has been idle for
``idle_seconds`` is closed with ``QUIT``, before the server drops it; a
connection the server dropped anyway is noticed on the next send, which then
opens a new one (see :meth:`SmtpPool.connection`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiosmtplib

__all__ = ["IDLE_SECONDS", "POOL_SIZE", "SmtpPool"]

log = logging.getLogger(__name__)

#: Connections open at most per pool (the outbox sends a few rows at once).
POOL_SIZE = 4
#: A connection unused this long is closed (servers drop idle clients after ~60 s+).
IDLE_SECONDS = 30.0


@dataclass(eq=False)
class _Idle:
    client: aiosmtplib.SMTP
    expiry: asyncio.TimerHandle | None = None


class SmtpPool:
    """Up to ``size`` reusable connections made by ``factory`` (a not yet connected client).

    Args:
        factory: returns a new ``aiosmtplib.SMTP`` configured with host,
            port, TLS, credentials and timeout; the pool connects it.
        size: connections open at most; further senders wait for one.
        idle_seconds: an unused connection is closed after this many seconds.

    After :meth:`close` the pool still works, but closes each connection after
    its send (nothing stays open).
    """

    def __init__(
        self,
        factory: Callable[[], aiosmtplib.SMTP],
        *,
        size: int = POOL_SIZE,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self._factory = factory
        self._idle: list[_Idle] = []
        self._slots = asyncio.Semaphore(max(1, size))
        self._idle_seconds = idle_seconds
        self._closed = False
        self._quitting: set[asyncio.Task[None]] = set()

    @property
    def idle_count(self) -> int:
        """Connections open and waiting for a send."""
        return len(self._idle)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[tuple[aiosmtplib.SMTP, bool]]:
        """Borrow a connected client: ``(client, reused)``.

        ``reused`` is True when the client carried an earlier message, so a
        failure may only mean the server dropped it while idle; the caller may
        then retry once on a fresh connection. When the block raises, the
        client is closed and not reused; otherwise it goes back to the pool.

        Raises:
            aiosmtplib.SMTPException, OSError, TimeoutError: connecting failed.
        """
        async with self._slots:
            client, reused = await self._take()
            try:
                yield client, reused
            except BaseException:
                client.close()
                raise
            self._give_back(client)

    async def _take(self) -> tuple[aiosmtplib.SMTP, bool]:
        while self._idle:
            idle = self._idle.pop()
            if idle.expiry is not None:
                idle.expiry.cancel()
            if idle.client.is_connected:
                return idle.client, True
            idle.client.close()
        client = self._factory()
        try:
            await client.connect()
        except BaseException:
            client.close()
            raise
        return client, False

    def _give_back(self, client: aiosmtplib.SMTP) -> None:
        if self._closed or not client.is_connected:
            self._quit(client)
            return
        idle = _Idle(client)
        idle.expiry = asyncio.get_running_loop().call_later(self._idle_seconds, self._expire, idle)
        self._idle.append(idle)

    def _expire(self, idle: _Idle) -> None:
        if idle in self._idle:
            self._idle.remove(idle)
            self._quit(idle.client)

    def _quit(self, client: aiosmtplib.SMTP) -> None:
        """Say goodbye in the background; a failing ``QUIT`` just closes the socket."""

        async def quit_() -> None:
            try:
                await client.quit()
            except Exception:
                client.close()

        task = asyncio.ensure_future(quit_())
        self._quitting.add(task)
        task.add_done_callback(self._quitting.discard)

    async def close(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Close the idle connections with ``QUIT`` (bounded by ``timeout`` seconds).

        Connections lent out are closed when given back. Never raises.
        """
        self._closed = True
        while self._idle:
            idle = self._idle.pop()
            if idle.expiry is not None:
                idle.expiry.cancel()
            self._quit(idle.client)
        if self._quitting:
            await asyncio.wait(set(self._quitting), timeout=timeout)
