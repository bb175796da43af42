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
