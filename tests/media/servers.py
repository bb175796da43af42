"""A local HTTP server that records every request: the "internal service" an
attacker would like the gateway to reach, or a provider's CDN."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Recorded:
    """One request: its path (with query) and headers."""

    path: str
    headers: dict[str, str]


@dataclass
class Recorder:
    """The running server: ``url`` (``http://127.0.0.1:PORT``) and ``requests``."""

    url: str
    requests: list[Recorded] = field(default_factory=list)


@asynccontextmanager
async def recording_server(handler: Handler | None = None) -> AsyncIterator[Recorder]:
    """Serve every GET on a free loopback port; ``handler`` answers (default: 200
    with a body an internal service might hold)."""
    recorder = Recorder(url="")

    async def answer(request: web.Request) -> web.StreamResponse:
        recorder.requests.append(Recorded(request.path_qs, dict(request.headers)))
        if handler is not None:
            return await handler(request)
        return web.Response(
            body=b'{"secret": "internal metadata"}', content_type="application/json"
        )

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    recorder.url = str(server.make_url("")).rstrip("/")
    try:
        yield recorder
    finally:
        await server.close()
