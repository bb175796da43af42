"""A local fake of the Meta Graph API endpoints the WhatsApp channel uses.

Speaks the documented wire format:

* ``POST /{version}/{phone_number_id}/messages`` → ``{"messaging_product":
  "whatsapp", "contacts": [{"input": to, "wa_id": to}], "messages": [{"id":
  "wamid.…"}]}``, or the next programmed error (``{"error": {"message", "type",
  "code", "error_data": {"messaging_product", "details"}, "fbtrace_id"}}``).
* ``GET /{version}/{media_id}`` → ``{"messaging_product", "url", "mime_type",
  "sha256", "file_size", "id"}`` (the URL points back here, like Meta's
  ``lookaside.fbsbx.com`` download links).
* ``GET /whatsapp_business/attachments/?mid=…`` → the bytes.
* ``GET /{version}/{phone_number_id}`` for an id in ``phone_numbers`` →
  ``{"verified_name", "display_phone_number", "quality_rating", "id"}``.

Every endpoint requires ``Authorization: Bearer <token>`` (401 with error 190
otherwise). Recording (every request), scripted errors and the server come
from :class:`tests.harness.fake_provider.FakeProvider`.
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

from aiohttp import web

from tests.harness.fake_provider import FakeProvider, Recorded, Scripted

__all__ = ["FakeGraph", "Recorded"]

#: Route key of the scripted errors (one consumed per authorised message send).
MESSAGES = "messages"


class FakeGraph(FakeProvider):
    """Recording fake of the Graph API; see the module docstring."""

    def __init__(self, token: str, *, version: str = "v21.0") -> None:
        super().__init__()
        self.token = token
        self.version = version
        self.media: dict[str, tuple[bytes, str]] = {}
        self.media_lookup_failures: set[str] = set()
        #: Leave ``file_size`` out of media lookups (the download must check).
        self.hide_media_size = False
        #: Media id → the ``url`` its lookup answers instead of the fake's own.
        self.media_urls: dict[str, str] = {}
        #: Phone number id → display number, answered by ``GET /{version}/{id}``.
        self.phone_numbers: dict[str, str] = {}
        self._ids = itertools.count(1)
        self.app = self.build_app()

    # ------------------------------------------------------------ programming

    def fail_next(
        self,
        code: int,
        *,
        status: int = 400,
        message: str = "error",
        details: str | None = None,
        retry_after: str | None = None,
    ) -> None:
        """Answer the next send with Graph error ``code`` and HTTP ``status``."""
        body = {
            "error": {
                "message": message,
                "type": "OAuthException",
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": details or message},
                "fbtrace_id": "AbCdEfGhIjKlMnOpQrStUv",
            }
        }
        headers = {"Retry-After": retry_after} if retry_after else {}
        self.script(MESSAGES, Scripted(status, body, headers))

    def fail_next_raw(self, status: int, text: str) -> None:
        """Answer the next send with a non-JSON body (a proxy's error page)."""
        self.script(MESSAGES, Scripted(status, text))

    def add_media(self, media_id: str, content: bytes, mime_type: str) -> None:
        """Make ``media_id`` downloadable."""
        self.media[media_id] = (content, mime_type)

    # -------------------------------------------------------------- inspection

    @property
    def sends(self) -> list[dict[str, Any]]:
        """JSON bodies of every message send, in order (failed ones included)."""
        return [r.body for r in self.recorded("POST", "/messages")]

    def sent_texts(self) -> list[str]:
        """``text.body`` of every text send."""
        return [b["text"]["body"] for b in self.sends if b.get("type") == "text"]

    # ---------------------------------------------------------------- handlers

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/{version}/{phone_id}/messages", self._messages)
        router.add_get("/whatsapp_business/attachments/", self._download)
        router.add_get("/{version}/{media_id}", self._media_info)

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    @staticmethod
    def _unauthorised() -> web.Response:
        return web.json_response(
            {
                "error": {
                    "message": "Invalid OAuth access token - Cannot parse access token",
                    "type": "OAuthException",
                    "code": 190,
                    "fbtrace_id": "AbCdEf",
                }
            },
            status=401,
        )

    async def _messages(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        scripted = self.scripted(MESSAGES)
        if scripted is not None:
            return scripted
        to = (await request.json())["to"]
        wamid = f"wamid.FAKE{next(self._ids):06d}"
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}],
            }
        )

    async def _media_info(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        media_id = request.match_info["media_id"]
        if media_id in self.phone_numbers:
            return web.json_response(
                {
                    "verified_name": "Layanan Pengaduan",
                    "display_phone_number": self.phone_numbers[media_id],
                    "quality_rating": "GREEN",
                    "id": media_id,
                }
            )
        if media_id not in self.media or media_id in self.media_lookup_failures:
            return web.json_response(
                {
                    "error": {
                        "message": f"Unsupported get request. Object with ID '{media_id}' "
                        "does not exist",
                        "type": "GraphMethodException",
                        "code": 100,
                        "error_subcode": 33,
                    }
                },
                status=400,
            )
        content, mime = self.media[media_id]
        url = request.url.with_path("/whatsapp_business/attachments/").with_query(
            {"mid": media_id, "ext": "1763600000", "hash": "ATuQ"}
        )
        info: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "url": self.media_urls.get(media_id, str(url)),
            "mime_type": mime,
            "sha256": hashlib.sha256(content).hexdigest(),
            "file_size": len(content),
            "id": media_id,
        }
        if self.hide_media_size:
            del info["file_size"]
        return web.json_response(info)

    async def _download(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.Response(status=401)
        media_id = request.query.get("mid", "")
        if media_id not in self.media:
            return web.Response(status=404)
        content, mime = self.media[media_id]
        return web.Response(body=content, content_type=mime.split(";")[0])
