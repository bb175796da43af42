"""The base of every fake provider API the channel tests talk to.

A :class:`FakeProvider` is an aiohttp application on a local port that

* records every request it receives (:attr:`FakeProvider.requests`: method,
  path, query, headers and the decoded body), in order;
* answers scripted failures: :meth:`FakeProvider.script` queues an answer
  (HTTP status, body, headers) for the next request of one route key, or lets
  ``after`` good requests through first; a ``None`` entry lets one request
  through;
* starts and stops itself (:meth:`start`, :meth:`close`) or is served by
  pytest-aiohttp's ``aiohttp_server`` (:meth:`serve`).

A provider's fake subclasses it and adds only its wire-format routes in
:meth:`FakeProvider.add_routes`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Recorded:
    """One request the fake received.

    ``body`` is the form as a ``dict`` for a form post, the decoded JSON for a
    JSON body, ``None`` for an empty body, and the raw bytes otherwise.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Scripted:
    """One scripted answer: HTTP ``status``, a JSON-able ``body`` (a ``str`` is
    sent as plain text), extra ``headers``, an optional ``content_type`` for a
    JSON body, and ``after`` good requests to let through before it."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    after: int = 0

    def response(self) -> web.Response:
        """The answer as an aiohttp response."""
        if isinstance(self.body, str):
            return web.Response(status=self.status, text=self.body, headers=self.headers)
        if self.content_type is not None:
            return web.json_response(
                self.body, status=self.status, headers=self.headers, content_type=self.content_type
            )
        return web.json_response(self.body, status=self.status, headers=self.headers)


async def decode_body(request: web.Request) -> Any:
    """The request body as :attr:`Recorded.body` describes it (a multipart body is
    left unread for the handler and recorded as ``None``)."""
    if request.content_type.startswith("multipart/"):
        return None
    raw = await request.read()
    if not raw:
        return None
    if request.content_type == "application/x-www-form-urlencoded":
        return {k: str(v) for k, v in (await request.post()).items()}
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class FakeProvider:
    """Recording, scriptable fake of a provider's HTTP API; subclasses add routes."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.scripts: dict[str, list[Scripted | None]] = {}
        self.server: TestServer | None = None
        #: ``http://127.0.0.1:PORT`` once the fake listens.
        self.base_url = ""

    # -- for subclasses -----------------------------------------------------------

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Add the provider's wire-format routes to ``router``."""
        raise NotImplementedError

    # -- scripting ----------------------------------------------------------------

    def script(self, key: str, answer: Scripted | None) -> None:
        """Queue ``answer`` for the next request of route ``key`` (``None``: let one through)."""
        self.scripts.setdefault(key, []).append(answer)

    def scripted(self, key: str) -> web.Response | None:
        """Consume the next scripted answer for ``key``; ``None`` lets the request through."""
        queue = self.scripts.get(key)
        if not queue:
            return None
        head = queue[0]
        if head is not None and head.after > 0:
            head.after -= 1
            return None
        queue.pop(0)
        return None if head is None else head.response()

    # -- inspection ---------------------------------------------------------------

    def recorded(self, method: str, path_suffix: str = "") -> list[Recorded]:
        """The recorded requests with ``method`` whose path ends with ``path_suffix``."""
        return [r for r in self.requests if r.method == method and r.path.endswith(path_suffix)]

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT``."""
        if self.server is not None:
            return str(self.server.make_url("")).rstrip("/")
        assert self.base_url, "the fake is not listening"
        return self.base_url

    # -- server -------------------------------------------------------------------

    @web.middleware
    async def _recording(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                dict(request.query),
                dict(request.headers),
                await decode_body(request),
            )
        )
        return await handler(request)

    def build_app(self) -> web.Application:
        """A new application that records every request and serves the subclass's routes."""
        app = web.Application(middlewares=[self._recording])
        self.add_routes(app.router)
        return app

    async def start(self, app: web.Application | None = None) -> None:
        """Listen on a free local port (``app`` defaults to :meth:`build_app`)."""
        self.server = TestServer(app if app is not None else self.build_app())
        await self.server.start_server()
        self.base_url = str(self.server.make_url("")).rstrip("/")

    async def serve(self, aiohttp_server: Any, app: web.Application) -> None:
        """Listen through pytest-aiohttp's ``aiohttp_server`` fixture (closed with the test)."""
        server = await aiohttp_server(app)
        self.base_url = str(server.make_url("")).rstrip("/")

    async def close(self) -> None:
        """Stop listening (if :meth:`start` started the fake)."""
        if self.server is not None:
            await self.server.close()
