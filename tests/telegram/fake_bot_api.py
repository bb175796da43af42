"""A local fake of the Telegram Bot API (aiohttp), speaking its wire format.

``POST /bot<token>/<method>`` with parameters in the query string, a form body
or a JSON body (like Telegram). Implemented: ``getMe``, ``sendMessage``
(records chat_id/text/time, answers a Message with increasing ``message_id``),
``getUpdates`` (queued updates honouring ``offset``: a call with an offset
confirms — drops — every update below it; long polling with ``timeout``; a
second concurrent call gets 409 like Telegram), ``setWebhook``,
``deleteWebhook``, ``getFile`` and ``GET /file/bot<token>/<path>``.

Errors are programmed per method with :meth:`FakeBotApi.fail` (used by the
next call of that method), with helpers for the documented ones: 429 with
``retry_after``, 403 bot blocked, 400 chat not found, 500. Recording, scripted
errors and the server come from :class:`tests.harness.fake_provider.FakeProvider`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.harness.fake_provider import FakeProvider, Scripted

BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Aduan",
    "username": "AduanTestBot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Sent:
    """One ``sendMessage`` call the fake accepted."""

    chat_id: int
    text: str
    message_id: int
    at: float  # time.monotonic()


class FakeBotApi(FakeProvider):
    """State of the fake: what it received and what it will answer."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self.sent: list[Sent] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.webhook: dict[str, Any] = {}
        self.files: dict[str, tuple[str, bytes]] = {}
        self.downloads: list[str] = []
        self.conflicts = 0
        self._ids = itertools.count(1000)
        self._arrived = asyncio.Condition()
        self._polling = 0
        self.app = self.build_app()

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", "/bot{token}/{method}", self._method)
        router.add_get("/file/bot{token}/{path:.+}", self._file)

    # -- programming the fake -------------------------------------------------

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT`` (set by the fixture once the fake listens)."""
        return self.base_url

    @base.setter
    def base(self, value: str) -> None:
        self.base_url = value

    @property
    def api_base(self) -> str:
        """Value for ``ADUAN_TELEGRAM_API_BASE``."""
        return f"{self.base}/bot"

    async def push(self, *updates: dict[str, Any]) -> None:
        """Queue updates for ``getUpdates`` and wake a waiting long poll."""
        async with self._arrived:
            self.updates.extend(updates)
            self._arrived.notify_all()

    def add_file(self, file_id: str, content: bytes, path: str | None = None) -> None:
        """Make ``file_id`` downloadable with ``content``."""
        self.files[file_id] = (path or f"documents/{file_id}.bin", content)

    def fail(
        self,
        method: str,
        status: int,
        description: str,
        parameters: dict[str, Any] | None = None,
        *,
        after: int = 0,
    ) -> None:
        """Answer a ``method`` call with this Bot API error, after ``after`` good calls."""
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        self.script(method, Scripted(status, body, after=after))

    def fail_rate_limited(self, method: str = "sendMessage", retry_after: int = 3) -> None:
        self.fail(
            method,
            429,
            f"Too Many Requests: retry after {retry_after}",
            {"retry_after": retry_after},
        )

    def fail_blocked(self, method: str = "sendMessage") -> None:
        self.fail(method, 403, "Forbidden: bot was blocked by the user")

    def fail_chat_not_found(self, method: str = "sendMessage") -> None:
        self.fail(method, 400, "Bad Request: chat not found")

    def fail_server(self, method: str = "sendMessage", *, after: int = 0) -> None:
        self.fail(method, 500, "Internal Server Error", after=after)

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [s.text for s in self.sent if chat_id is None or s.chat_id == chat_id]

    def method_calls(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    # -- HTTP -------------------------------------------------------------------

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.body_exists:
            params.update(dict(await request.post()))
        return params

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append((method, params))
        scripted = self.scripted(method)
        if scripted is not None:
            return scripted
        handler = getattr(self, "_m_" + method, None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        result: web.Response = await handler(params)
        return result

    async def _m_getMe(self, params: dict[str, Any]) -> web.Response:
        return self._ok(BOT_USER)

    async def _m_sendMessage(self, params: dict[str, Any]) -> web.Response:
        chat_id = int(params["chat_id"])
        text = str(params.get("text", ""))
        if not text:
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message text is empty",
                },
                status=400,
            )
        message_id = next(self._ids)
        self.sent.append(Sent(chat_id, text, message_id, time.monotonic()))
        return self._ok(
            {
                "message_id": message_id,
                "from": BOT_USER,
                "chat": {"id": chat_id, "first_name": "Budi", "type": "private"},
                "date": int(time.time()),
                "text": text,
            }
        )

    def _pending(self, offset: int | None) -> list[dict[str, Any]]:
        if offset is not None:  # confirms every update below the offset
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        return list(self.updates)

    async def _m_getUpdates(self, params: dict[str, Any]) -> web.Response:
        if self._polling:
            self.conflicts += 1
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 409,
                    "description": "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                },
                status=409,
            )
        if self.webhook.get("url"):
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 409,
                    "description": "Conflict: can't use getUpdates method while webhook is active",
                },
                status=409,
            )
        offset = int(params["offset"]) if "offset" in params else None
        timeout = float(params.get("timeout", 0))
        limit = int(params.get("limit", 100))
        self._polling += 1
        try:
            async with self._arrived:
                if not self._pending(offset) and timeout > 0:
                    try:
                        await asyncio.wait_for(
                            self._arrived.wait_for(lambda: bool(self._pending(offset))), timeout
                        )
                    except TimeoutError:
                        pass
                return self._ok(self._pending(offset)[:limit])
        finally:
            self._polling -= 1

    async def _m_setWebhook(self, params: dict[str, Any]) -> web.Response:
        allowed = params.get("allowed_updates")
        self.webhook = {
            "url": params.get("url"),
            "secret_token": params.get("secret_token"),
            "allowed_updates": json.loads(allowed) if isinstance(allowed, str) else allowed,
        }
        return self._ok(True)

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook = {}
        return self._ok(True)

    async def _m_getFile(self, params: dict[str, Any]) -> web.Response:
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"},
                status=400,
            )
        path, content = self.files[file_id]
        return self._ok(
            {
                "file_id": file_id,
                "file_unique_id": "u-" + file_id,
                "file_size": len(content),
                "file_path": path,
            }
        )

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        self.downloads.append(path)
        for stored_path, content in self.files.values():
            if stored_path == path:
                return web.Response(body=content, content_type="application/octet-stream")
        return web.Response(status=404)
