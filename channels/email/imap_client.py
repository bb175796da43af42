"""A small, read-only IMAP connection on top of aioimaplib (docs/channels.md, "Email").

Only what the poller needs: log in (plain, STARTTLS or implicit TLS), open a
mailbox read-only with ``EXAMINE``, ``UID SEARCH``, ask the sizes of many
messages at once (``RFC822.SIZE``), fetch one message or a whole UID set with
``BODY.PEEK[]`` (which never sets ``\\Seen``), and wait for new mail with IDLE
(RFC 2177). No command here stores flags, expunges, moves or deletes.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aioimaplib

from channels.email.config import Security

__all__ = [
    "IDLE_MAX_SECONDS",
    "ImapConnection",
    "ImapError",
    "MailboxState",
    "encode_mailbox_name",
    "uid_set",
]

log = logging.getLogger(__name__)

#: RFC 2177: servers may drop an IDLE after 30 minutes; re-issue it before 29.
IDLE_MAX_SECONDS = 28 * 60.0
#: UIDs per ``UID FETCH (UID RFC822.SIZE)``: aioimaplib handles the lines of one
#: read recursively, one stack frame per line, so an answer of a thousand
#: one-line items in one read exceeds Python's recursion limit.
SIZES_PER_COMMAND = 250

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
_EXISTS = re.compile(rb"^(\d+) EXISTS")
_LITERAL_HEAD = re.compile(rb"BODY\[\] \{(\d+)\}$")
_FETCH_UID = re.compile(rb"UID (\d+)")
_FETCH_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_FETCH_HEAD = re.compile(rb"^\d+ FETCH \(")


class _RedactCredentials(logging.Filter):
    """aioimaplib logs each command at DEBUG and its own scrubbing misses passwords that
    needed escaping; drop the arguments of LOGIN/AUTHENTICATE lines entirely."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if " LOGIN " in text or " AUTHENTICATE " in text:
            record.msg = "Sending : <LOGIN/AUTHENTICATE command, credentials redacted>"
            record.args = ()
        return True


logging.getLogger(aioimaplib.__name__ + ".aioimaplib").addFilter(_RedactCredentials())


class ImapError(Exception):
    """An IMAP command failed or the connection broke; the poller reconnects.

    Messages never contain the password.
    """


@dataclass(frozen=True, slots=True)
class MailboxState:
    """What ``EXAMINE`` reported: UIDVALIDITY, UIDNEXT (``None`` if not sent), EXISTS."""

    uidvalidity: int
    uidnext: int | None
    exists: int


def encode_mailbox_name(name: str) -> str:
    """A mailbox name as an IMAP quoted string, non-ASCII in modified UTF-7 (RFC 3501 5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            utf16 = "".join(pending).encode("utf-16-be")
            out.append(
                "&" + base64.b64encode(utf16).decode("ascii").rstrip("=").replace("/", ",") + "-"
            )
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    encoded = "".join(out).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{encoded}"'


def _parse_uids(lines: Iterable[Any]) -> list[int]:
    uids: list[int] = []
    for line in lines:
        if not isinstance(line, bytes | bytearray):
            continue
        for token in bytes(line).split():
            if token.isdigit():
                uids.append(int(token))
    return uids


def _body_from_fetch(lines: list[Any], uid: int) -> bytes | None:
    """The ``BODY[]`` literal of ``uid`` in a UID FETCH response, or None when absent."""
    for index, line in enumerate(lines[:-1]):
        if not isinstance(line, bytes):
            continue
        head = _LITERAL_HEAD.search(line)
        body = lines[index + 1]
        if head is None or not isinstance(body, bytes | bytearray):
            continue
        tail = lines[index + 2] if index + 2 < len(lines) else b""
        found = _FETCH_UID.search(line) or (
            _FETCH_UID.search(tail) if isinstance(tail, bytes | bytearray) else None
        )
        if found is not None and int(found.group(1)) != uid:
            continue
        return bytes(body)
    return None


def uid_set(uids: Iterable[int]) -> str:
    """An IMAP sequence set naming ``uids`` with runs collapsed: ``[1, 2, 3, 7]`` → ``"1:3,7"``.

    Raises ValueError when ``uids`` is empty (an empty set is not valid IMAP).
    """
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("empty UID set")
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(str(start) if start == prev else f"{start}:{prev}")
        start = prev = uid
    parts.append(str(start) if start == prev else f"{start}:{prev}")
    return ",".join(parts)


def _sizes_from_fetch(lines: Iterable[Any]) -> dict[int, int]:
    """UID → ``RFC822.SIZE`` (bytes) from the untagged lines of a ``UID FETCH (UID RFC822.SIZE)``."""
    sizes: dict[int, int] = {}
    for line in lines:
        if not isinstance(line, bytes | bytearray) or not _FETCH_HEAD.match(line):
            continue
        uid, size = _FETCH_UID.search(line), _FETCH_SIZE.search(line)
        if uid is not None and size is not None:
            sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _bodies_from_fetch(lines: list[Any]) -> dict[int, bytes]:
    """UID → ``BODY[]`` literal for every message in a multi-message ``UID FETCH`` response.

    Each message comes as a line ``n FETCH (UID u BODY[] {len}``, the literal,
    then the rest of the item (where some servers put ``UID u)``).
    """
    bodies: dict[int, bytes] = {}
    count = len(lines)
    index = 0
    while index < count - 1:
        line = lines[index]
        if not isinstance(line, bytes | bytearray) or _LITERAL_HEAD.search(line) is None:
            index += 1
            continue
        body = lines[index + 1]
        if not isinstance(body, bytes | bytearray):
            index += 1
            continue
        tail = lines[index + 2] if index + 2 < count else b""
        found = _FETCH_UID.search(line) or (
            _FETCH_UID.search(tail) if isinstance(tail, bytes | bytearray) else None
        )
        if found is not None:
            bodies[int(found.group(1))] = bytes(body)
        index += 2
    return bodies


class ImapConnection:
    """One logged-in IMAP connection. Create with :meth:`open`; always :meth:`close`.

    ``timeout`` (seconds) bounds each command; a fetch may take longer as long
    as data keeps arriving.
    """

    def __init__(self, client: aioimaplib.IMAP4, *, host: str, timeout: float) -> None:
        self._client = client
        self._host = host
        self._timeout = timeout
        self._lost = asyncio.Event()

    @classmethod
    async def open(
        cls,
        *,
        host: str,
        port: int,
        security: Security,
        user: str,
        password: str,
        command_timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> ImapConnection:
        """Connect and log in.

        ``security``: ``ssl`` (implicit TLS), ``starttls`` (upgrade, then log in)
        or ``none``. ``command_timeout`` bounds each command (seconds).
        ``ssl_context`` defaults to the system trust store.

        Raises:
            ImapError: connection refused, TLS failure, login rejected, timeout.
        """
        context = ssl_context or ssl.create_default_context()
        holder: list[ImapConnection] = []

        def lost(_exc: Exception | None) -> None:
            if holder:
                holder[0]._lost.set()

        client = aioimaplib.IMAP4(
            host=host,
            port=port,
            timeout=command_timeout,
            conn_lost_cb=lost,
            ssl_context=context if security is Security.SSL else None,
        )
        conn = cls(client, host=host, timeout=command_timeout)
        holder.append(conn)
        try:
            try:
                await client.wait_hello_from_server()
            except (OSError, TimeoutError, aioimaplib.AioImapException, ssl.SSLError) as exc:
                raise ImapError(
                    f"cannot connect to {host}:{port}: {type(exc).__name__}: {exc}"
                ) from None
            if security is Security.STARTTLS:
                try:
                    await conn._starttls(context)
                except (OSError, TimeoutError, aioimaplib.AioImapException, ssl.SSLError) as exc:
                    raise ImapError(f"STARTTLS failed: {type(exc).__name__}: {exc}") from None
            try:
                response = await client.login(user, password)
            except Exception as exc:  # aioimaplib errors may echo the command
                raise ImapError(f"login as {user} failed: {type(exc).__name__}") from None
            if response.result != "OK":
                raise ImapError(f"login as {user} rejected: {conn._text(response.lines)}")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _starttls(self, context: ssl.SSLContext) -> None:
        protocol = self._client.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise ImapError(f"{self._host} does not offer STARTTLS")
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        response = await asyncio.wait_for(protocol.execute(command), self._timeout)
        if response.result != "OK":
            raise ImapError(f"STARTTLS refused: {self._text(response.lines)}")
        loop = asyncio.get_running_loop()
        transport = await asyncio.wait_for(
            loop.start_tls(protocol.transport, protocol, context, server_hostname=self._host),
            self._timeout,
        )
        protocol.transport = transport
        await asyncio.wait_for(protocol.capability(), self._timeout)

    @staticmethod
    def _text(lines: Iterable[Any]) -> str:
        parts = [bytes(x).decode("utf-8", "replace") for x in lines if isinstance(x, bytes)]
        return " ".join(parts)[:300]

    @property
    def capabilities(self) -> frozenset[str]:
        """Capabilities the server announced (upper case), e.g. ``{"IMAP4REV1", "IDLE"}``."""
        return frozenset(c.upper() for c in self._client.protocol.capabilities)

    @property
    def supports_idle(self) -> bool:
        """True when the server lists IDLE (RFC 2177) in CAPABILITY."""
        return "IDLE" in self.capabilities

    @property
    def is_lost(self) -> bool:
        """True once the server closed the connection."""
        return self._lost.is_set()

    def _check(self, response: Any, what: str) -> Any:
        if response.result != "OK":
            raise ImapError(f"{what} failed: {response.result} {self._text(response.lines)}")
        return response

    async def _call(self, what: str, coro: Any) -> Any:
        if self._lost.is_set():
            raise ImapError(f"connection to {self._host} lost")
        try:
            return self._check(await asyncio.wait_for(coro, self._timeout), what)
        except (TimeoutError, aioimaplib.AioImapException, OSError) as exc:
            raise ImapError(f"{what} failed: {type(exc).__name__}: {exc}") from None

    async def examine(self, mailbox: str) -> MailboxState:
        """Open ``mailbox`` read-only (``EXAMINE``); raises ImapError if it does not exist."""
        protocol = self._client.protocol
        response = await self._call(
            f"EXAMINE {mailbox}", protocol.simple_command("EXAMINE", encode_mailbox_name(mailbox))
        )
        # aioimaplib only tracks SELECT; EXAMINE opens the mailbox just the same.
        protocol.state = aioimaplib.SELECTED
        validity = next(
            (int(m.group(1)) for x in response.lines if (m := _UIDVALIDITY.search(bytes(x)))), None
        )
        if validity is None:
            raise ImapError(f"EXAMINE {mailbox}: server sent no UIDVALIDITY")
        uidnext = next(
            (int(m.group(1)) for x in response.lines if (m := _UIDNEXT.search(bytes(x)))), None
        )
        exists = next(
            (int(m.group(1)) for x in response.lines if (m := _EXISTS.match(bytes(x)))), 0
        )
        return MailboxState(uidvalidity=validity, uidnext=uidnext, exists=exists)

    async def uids_after(self, last_uid: int) -> list[int]:
        """UIDs greater than ``last_uid``, ascending (``UID SEARCH UID last+1:*``).

        ``*`` means the highest UID in the mailbox, so the server answers with
        that UID even when it is not above ``last_uid``; such UIDs are dropped.
        """
        protocol = self._client.protocol
        response = await self._call(
            "UID SEARCH",
            protocol.search("UID", f"{last_uid + 1}:*", charset=None, by_uid=True),
        )
        return sorted({uid for uid in _parse_uids(response.lines[:-1]) if uid > last_uid})

    async def fetch(self, uid: int) -> bytes | None:
        """The full message with ``uid`` (``UID FETCH uid (UID BODY.PEEK[])``).

        Returns None when the message no longer exists (expunged meanwhile).
        ``BODY.PEEK`` leaves the ``\\Seen`` flag alone.
        """
        if self._lost.is_set():
            raise ImapError(f"connection to {self._host} lost")
        protocol = self._client.protocol
        try:
            response = await protocol.fetch(
                str(uid), "(UID BODY.PEEK[])", by_uid=True, timeout=self._timeout
            )
        except (TimeoutError, aioimaplib.AioImapException, OSError) as exc:
            raise ImapError(f"UID FETCH {uid} failed: {type(exc).__name__}") from None
        self._check(response, f"UID FETCH {uid}")
        return _body_from_fetch(list(response.lines), uid)

    async def sizes(self, uids: Iterable[int]) -> dict[int, int]:
        """UID → size in bytes (``UID FETCH set (UID RFC822.SIZE)``) of the messages in ``uids``.

        Expunged UIDs are absent from the answer. One command per
        :data:`SIZES_PER_COMMAND` UIDs, so planning the batches of a large
        mailbox costs a few round trips.

        Raises:
            ImapError: the command failed or the connection broke.
        """
        protocol = self._client.protocol
        ordered = sorted(set(uids))
        sizes: dict[int, int] = {}
        for start in range(0, len(ordered), SIZES_PER_COMMAND):
            chunk = ordered[start : start + SIZES_PER_COMMAND]
            response = await self._call(
                "UID FETCH RFC822.SIZE",
                protocol.fetch(
                    uid_set(chunk), "(UID RFC822.SIZE)", by_uid=True, timeout=self._timeout
                ),
            )
            sizes.update(_sizes_from_fetch(response.lines[:-1]))
        return sizes

    async def fetch_many(self, uids: Iterable[int]) -> dict[int, bytes]:
        """UID → full message for the messages in ``uids``, in one ``UID FETCH set (UID BODY.PEEK[])``.

        Expunged UIDs are absent from the answer. ``BODY.PEEK`` leaves the
        ``\\Seen`` flag alone. ``timeout`` bounds the wait for each chunk of
        data, so a large batch may take longer as long as data keeps arriving.

        Raises:
            ImapError: the command failed or the connection broke.
        """
        if self._lost.is_set():
            raise ImapError(f"connection to {self._host} lost")
        wanted = uid_set(uids)
        protocol = self._client.protocol
        try:
            response = await protocol.fetch(
                wanted, "(UID BODY.PEEK[])", by_uid=True, timeout=self._timeout
            )
        except (TimeoutError, aioimaplib.AioImapException, OSError) as exc:
            raise ImapError(f"UID FETCH {wanted} failed: {type(exc).__name__}") from None
        self._check(response, f"UID FETCH {wanted}")
        return _bodies_from_fetch(list(response.lines))

    async def idle(self, seconds: float, stop: asyncio.Event) -> bool:
        """Wait with IDLE until new mail arrives, ``seconds`` pass or ``stop`` is set.

        Returns True when the server announced new messages (``EXISTS``).
        Raises ImapError when the connection breaks or the server refuses IDLE.
        """
        client = self._client
        timeout = min(seconds, IDLE_MAX_SECONDS)
        # Left-overs of an earlier IDLE (a late stop marker, a keep-alive) would end this
        # one at once; the caller polls after every IDLE anyway, so nothing is lost.
        queue = client.protocol.idle_queue
        while not queue.empty():
            queue.get_nowait()
        try:
            # Our own deadline ends the IDLE; aioimaplib's timer is only a backstop.
            idle_task = await asyncio.wait_for(
                client.idle_start(timeout=timeout + self._timeout), self._timeout
            )
        except (TimeoutError, aioimaplib.AioImapException, OSError) as exc:
            raise ImapError(f"IDLE failed: {type(exc).__name__}: {exc}") from None
        changed = False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while (remaining := deadline - loop.time()) > 0:
                push = asyncio.ensure_future(client.wait_server_push(timeout=remaining))
                stopped = asyncio.ensure_future(stop.wait())
                lost = asyncio.ensure_future(self._lost.wait())
                done, pending = await asyncio.wait(
                    {push, stopped, lost}, return_when=asyncio.FIRST_COMPLETED
                )
                for task in pending:
                    task.cancel()
                if lost in done:
                    raise ImapError(f"connection to {self._host} lost during IDLE")
                if push not in done:
                    break
                try:
                    lines = push.result()
                except TimeoutError:
                    break
                if lines == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    break
                if any(isinstance(x, bytes) and _EXISTS.match(x) for x in lines):
                    changed = True
                    break
        finally:
            if client.has_pending_idle() and not self._lost.is_set():
                client.idle_done()
                try:
                    await asyncio.wait_for(idle_task, self._timeout)
                except (TimeoutError, aioimaplib.AioImapException, OSError):
                    self._lost.set()
            elif not idle_task.done():
                idle_task.cancel()
            if idle_task.done() and not idle_task.cancelled():
                idle_task.exception()  # retrieved, so asyncio does not warn about it
        return changed

    async def close(self) -> None:
        """Log out (best effort, bounded by the timeout) and close the socket. Never raises."""
        try:
            if not self._lost.is_set() and self._client.protocol.state != aioimaplib.LOGOUT:
                await asyncio.wait_for(self._client.logout(), min(self._timeout, 5.0))
        except Exception:  # noqa: S110 - closing anyway
            pass
        connecting = getattr(self._client, "_client_task", None)
        if connecting is not None and not connecting.done():
            connecting.cancel()
        transport = self._client.protocol.transport
        if transport is not None:
            transport.close()
        self._lost.set()
