"""A TCP server that accepts connections and never answers: a hung database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


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
        try:
            while data := await reader.read(65536):
                if self.frozen.is_set():
                    await asyncio.Event().wait()  # swallow, never answer
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

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
