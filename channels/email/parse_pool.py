"""Parse a batch of fetched mails off the event loop (docs/email.md "Fast intake").

Parsing MIME is CPU-bound pure Python: a batch of 200 complaint mails takes
tens of milliseconds, during which the event loop would neither read the next
IMAP batch nor commit the previous one. :class:`BatchParser` runs
:func:`parse_many` in a separate process (``processes >= 1``; the loop keeps
fetching and storing on the other core), in a thread (``processes == 0``;
keeps the loop responsive but shares the interpreter lock), or inline
(``processes < 0``; tests and single-core hosts).

Each mail's outcome is one :class:`Parsed`: the message, or the reason it
must be quarantined (unparseable, or failed SPF/DMARC at the trusted server).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass

from channels.base import InboundMessage
from channels.email.parse import authentication_failure, parse_email

__all__ = ["BatchParser", "ParseOptions", "Parsed", "parse_many"]


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """What :func:`channels.email.parse.parse_email` needs besides the bytes.

    ``own_addresses`` marks mail from ourselves as automatic; sizes in bytes
    and characters as in :class:`channels.email.config.EmailConfig`.
    """

    own_addresses: tuple[str, ...]
    max_attachment_bytes: int
    max_body_chars: int
    trusted_authserv_id: str | None


@dataclass(frozen=True, slots=True)
class Parsed:
    """One fetched mail after parsing: ``message`` set, or ``error`` (the quarantine reason)."""

    uid: int
    raw: bytes
    message: InboundMessage | None
    error: str | None


def parse_one(uid: int, raw: bytes, options: ParseOptions) -> Parsed:
    """Parse UID ``uid``; never raises (a failure becomes ``Parsed.error``).

    ``error`` is ``"<ExceptionType>: <text>"`` for mail that cannot be parsed,
    or the reason of :func:`authentication_failure` (docs/email.md "Mail that
    cannot be taken in").
    """
    try:
        message = parse_email(
            raw,
            own_addresses=list(options.own_addresses),
            max_attachment_bytes=options.max_attachment_bytes,
            max_body_chars=options.max_body_chars,
            trusted_authserv_id=options.trusted_authserv_id,
        )
    except Exception as exc:  # anything unparseable is quarantined
        return Parsed(uid, raw, None, f"{type(exc).__name__}: {exc}")
    failed = authentication_failure(message)
    if failed is not None:
        return Parsed(uid, raw, None, failed)
    return Parsed(uid, raw, message, None)


def parse_many(items: Sequence[tuple[int, bytes]], options: ParseOptions) -> list[Parsed]:
    """:func:`parse_one` for each ``(uid, raw)`` pair, in order (runs in a worker process)."""
    return [parse_one(uid, raw, options) for uid, raw in items]


def _parse_in_worker(items: Sequence[tuple[int, bytes]], options: ParseOptions) -> list[Parsed]:
    # The worker keeps ``raw`` (the caller has it already): send back only what is new.
    return [Parsed(p.uid, b"", p.message, p.error) for p in parse_many(items, options)]


class BatchParser:
    """Parses batches with :func:`parse_many` off the event loop.

    Args:
        options: parse options shared by every mail.
        processes: worker processes (``>= 1``), ``0`` for one thread, ``< 0``
            to parse inline on the loop.

    The process pool is started on first use with the ``forkserver`` method
    (forking a process that runs threads is unsafe) and closed by :meth:`close`.
    """

    def __init__(self, options: ParseOptions, *, processes: int = 1) -> None:
        self._options = options
        self._processes = processes
        self._executor: Executor | None = None

    def _pool(self) -> Executor:
        if self._executor is None:
            if self._processes >= 1:
                context = multiprocessing.get_context("forkserver")
                # Workers fork from a server that has the parser imported already.
                context.set_forkserver_preload([__name__])
                self._executor = ProcessPoolExecutor(
                    max_workers=self._processes, mp_context=context
                )
            else:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail-parse")
        return self._executor

    def warm_up(self) -> None:
        """Start the worker processes now (in the background), so the first batch
        does not wait for them; a no-op for threads and inline parsing."""
        if self._processes < 1:
            return
        pool = self._pool()
        for _ in range(self._processes):
            pool.submit(parse_many, (), self._options)

    async def parse(self, items: Sequence[tuple[int, bytes]]) -> list[Parsed]:
        """Parse ``(uid, raw)`` pairs; one :class:`Parsed` each, in order. Never raises for bad mail.

        Raises:
            concurrent.futures.process.BrokenProcessPool: a worker died (the
                poller reconnects and tries again).
        """
        if not items:
            return []
        if self._processes < 0:
            return parse_many(items, self._options)
        loop = asyncio.get_running_loop()
        if self._processes == 0:
            return await loop.run_in_executor(self._pool(), parse_many, items, self._options)
        chunks = _split(items, self._processes)
        results = await asyncio.gather(
            *(
                loop.run_in_executor(self._pool(), _parse_in_worker, chunk, self._options)
                for chunk in chunks
            )
        )
        raws = dict(items)
        return [Parsed(p.uid, raws[p.uid], p.message, p.error) for part in results for p in part]

    def close(self) -> None:
        """Shut the worker pool down (running parses finish first); parsing again restarts it."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


def _split(items: Sequence[tuple[int, bytes]], parts: int) -> list[Sequence[tuple[int, bytes]]]:
    """``items`` cut into at most ``parts`` consecutive chunks of near-equal length."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    chunks: list[Sequence[tuple[int, bytes]]] = []
    start = 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        chunks.append(items[start:end])
        start = end
    return chunks
