"""A Redis that a test may stop and start again, never the shared one.

With ``redis-server`` on the PATH, :class:`StoppableRedis` runs its own
server on a free port (no persistence: a restart loses every queued job, the
harshest case). Without it, it runs a TCP relay on a free port in front of
the test Redis (``ADUAN_TEST_REDIS_URL``) and "stops" by closing the relay and
every connection through it, which clients see as a refused connection; the
shared server itself is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from urllib.parse import urlsplit

from tests.hung_server import copy_bytes
from tests.services import REDIS_URL, free_port, unavailable


def redis_server_command(binary: str, port: int, *extra: str) -> list[str]:
    """The command line of a private, memory-only ``redis-server`` on 127.0.0.1:``port``
    (no snapshot, no append-only file: a stop loses what it held); ``extra``
    arguments are appended."""
    return [
        binary,
        *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
        *extra,
    ]


class StoppableRedis:
    """A Redis at :attr:`url` that :meth:`stop` and :meth:`start` take away and bring back."""

    def __init__(self) -> None:
        self.port = free_port()
        self._binary = shutil.which("redis-server")
        self._process: subprocess.Popen[bytes] | None = None
        self._relay: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        upstream = urlsplit(REDIS_URL)
        self._upstream = (upstream.hostname or "127.0.0.1", upstream.port or 6379)
        self._db = upstream.path.lstrip("/") or "0"

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/<db>``."""
        db = "0" if self._binary else self._db
        return f"redis://127.0.0.1:{self.port}/{db}"

    async def start(self) -> None:
        """Start (or start again) and wait until it answers PING."""
        if self._binary:
            self._process = subprocess.Popen(
                redis_server_command(self._binary, self.port),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        else:
            await self._check_upstream()
            self._relay = await asyncio.start_server(self._link, "127.0.0.1", self.port)
        await self._wait_ready()

    async def stop(self) -> None:
        """Take Redis away: connections are cut and new ones refused."""
        if self._process is not None:
            self._process.terminate()
            await asyncio.to_thread(self._process.wait, 10)
            self._process = None
        if self._relay is not None:
            self._relay.close()
            for writer in list(self._links):
                writer.close()
            await self._relay.wait_closed()
            self._relay = None

    async def flush(self) -> None:
        """Empty the database behind :attr:`url`."""
        from redis.asyncio import Redis

        client = Redis.from_url(self.url)
        try:
            await client.flushdb()
        finally:
            await client.aclose()

    async def _check_upstream(self) -> None:
        from redis.asyncio import Redis

        client = Redis.from_url(REDIS_URL)
        try:
            await client.ping()
        except Exception as exc:
            unavailable("Redis", f"{REDIS_URL}: {exc!r}")
        finally:
            await client.aclose()

    async def _wait_ready(self) -> None:
        from redis.asyncio import Redis

        client = Redis.from_url(self.url)
        try:
            for _ in range(200):
                with contextlib.suppress(Exception):
                    if await client.ping():
                        return
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        raise RuntimeError(f"Redis on port {self.port} did not start")

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.close()
            return
        self._links.update((writer, up_writer))

        try:
            await asyncio.gather(copy_bytes(reader, up_writer), copy_bytes(up_reader, writer))
        finally:
            self._links.discard(writer)
            self._links.discard(up_writer)
