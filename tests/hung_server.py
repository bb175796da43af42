"""A TCP server that accepts connections and never answers (a hung database),
a proxy that can be frozen, and the byte copying a test's TCP proxy does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


async def copy_bytes(
    src: asyncio.StreamReader, dst: asyncio.StreamWriter, frozen: asyncio.Event | None = None
) -> None:
    """Copy ``src`` to ``dst`` until ``src`` ends or either side fails, then close
    ``dst``; once ``frozen`` is set, what arrives is swallowed and never answered."""
    try:
        while data := await src.read(65536):
            if frozen is not None and frozen.is_set():
                await asyncio.Event().wait()  # swallow, never answer
            dst.write(data)
            await dst.drain()
    except (OSError, asyncio.CancelledError):
        pass
    finally:
        dst.close()


@asynccontextmanager
async def hung_server() -> AsyncIterator[int]:
    """Listen on 127.0.0.1 and yield the port; every connection is read, never answered.

    The connections stay open until the block ends (a database that stopped
    answering, not one that refuses).
    """
    writers: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


class Proxy:
    """A TCP proxy to a real server that can be frozen: once :meth:`freeze` is
    called, nothing more is forwarded either way (the server seems hung)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.frozen = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def freeze(self) -> None:
        """Stop forwarding; connections stay open."""
        self.frozen.set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await copy_bytes(reader, writer, self.frozen)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Connect to the real server and copy bytes both ways until frozen."""
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        for task in (
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel every copying task."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@asynccontextmanager
async def freezable_proxy(host: str, port: int) -> AsyncIterator[tuple[int, Proxy]]:
    """Yield ``(listening port, proxy)`` for a :class:`Proxy` to ``host:port``."""
    proxy = Proxy(host, port)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], proxy
    finally:
        server.close()
        await proxy.close()
        await server.wait_closed()
