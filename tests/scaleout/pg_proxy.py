"""A TCP proxy in front of PostgreSQL that can refuse or hang connections.

Every process of the scale-out test reaches the database through it, so a
database outage can be staged without touching the server:

- ``pass``: bytes flow both ways;
- ``refuse``: open connections are cut and new ones closed at once (a database
  that went down, or a restart);
- ``hang``: connections stay open but no byte moves in either direction, and new
  ones are accepted and left waiting (a stuck network or a frozen server).

Going back to ``pass`` lets held bytes through in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum


class Mode(enum.StrEnum):
    """What the proxy does with traffic."""

    PASS = "pass"
    REFUSE = "refuse"
    HANG = "hang"


class PgProxy:
    """Listens on ``127.0.0.1:port`` and forwards to ``target_host:target_port``."""

    def __init__(self, port: int, target_host: str, target_port: int) -> None:
        self.port = port
        self.target = (target_host, target_port)
        self.mode = Mode.PASS
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self.connections = 0

    def set_mode(self, mode: Mode) -> None:
        """Switch mode; ``refuse`` cuts every open connection."""
        self.mode = mode
        if mode is Mode.HANG:
            self._flowing.clear()
        else:
            self._flowing.set()
        if mode is Mode.REFUSE:
            for writer in list(self._links):
                writer.close()

    @property
    def refusing(self) -> bool:
        """True in ``refuse`` mode."""
        return self.mode is Mode.REFUSE

    async def start(self) -> None:
        """Start listening."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def close(self) -> None:
        """Stop listening and cut every connection."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._links):
            writer.close()
        self._flowing.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.close()
            return
        self.connections += 1
        await self._flowing.wait()
        if self.refusing:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._links.update((writer, up_writer))
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self._links.discard(w)
                w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                await self._flowing.wait()
                if writer.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        if not writer.is_closing():
            writer.close()
