"""A local fake of Twilio's REST API (Programmable Messaging), speaking its wire format.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` takes the documented
form parameters (``To``, ``From`` or ``MessagingServiceSid``, ``Body`` or
``ContentSid`` + ``ContentVariables``, ``StatusCallback``), checks HTTP basic
auth (account SID, auth token), records the form, and answers 201 with the
documented Message resource JSON (``sid`` ``SM…``, ``status`` ``queued``) —
or the next programmed error (documented error JSON: ``code``, ``message``,
``more_info``, ``status``).

``GET /2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media/{MediaSid}``
serves stored media and, like Twilio with "HTTP Basic Authentication for media"
on, refuses requests without the account's credentials.

``GET /2010-04-01/Accounts/{AccountSid}.json`` answers the Account resource
(``sid``, ``friendly_name``, ``status`` ``active``) to the account's
credentials, 401 with error 20003 otherwise.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

from aiohttp import web
from aiohttp.test_utils import TestServer

API_VERSION = "2010-04-01"


@dataclass
class ProgrammedError:
    """One error answer: HTTP ``status``, Twilio ``code`` and extra headers."""

    status: int
    code: int | None
    message: str = "programmed error"
    headers: dict[str, str] = field(default_factory=dict)
    #: Answer as RFC 9457 problem details (``type``, ``title``, ``status``,
    #: ``code``, ``detail``), as newer Twilio services do.
    problem: bool = False


@dataclass
class FakeTwilio:
    """The fake API; ``messages`` holds every accepted Messages.json form, in order.

    ``errors`` is a queue consumed one per Messages.json request: a
    :class:`ProgrammedError` is answered as such, ``None`` lets the request through.
    """

    account_sid: str
    auth_token: str
    messages: list[dict[str, str]] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    errors: list[ProgrammedError | None] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    media_requests: list[str | None] = field(default_factory=list)
    #: Media path → ``Location`` answered with 302 instead of the bytes (as
    #: Twilio redirects media to its CDN).
    media_redirects: dict[str, str] = field(default_factory=dict)
    server: TestServer | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- programming ---------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        code: int | None,
        message: str = "programmed error",
        headers: dict[str, str] | None = None,
        *,
        problem: bool = False,
    ) -> None:
        """Answer the next Messages.json request with this error."""
        self.errors.append(ProgrammedError(status, code, message, headers or {}, problem))

    def pass_next(self) -> None:
        """Answer the next Messages.json request normally (before a programmed error)."""
        self.errors.append(None)

    def add_media(self, message_sid: str, media_sid: str, content: bytes, content_type: str) -> str:
        """Store media and return its ``MediaUrl`` as Twilio would send it."""
        path = (
            f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message_sid}/Media/{media_sid}"
        )
        self.media[path] = (content, content_type)
        return self.url + path

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT`` (for ``twilio_api_base``)."""
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def bodies(self) -> list[str]:
        """``Body`` of every accepted message, in order."""
        return [m.get("Body", "") for m in self.messages]

    # -- server --------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    async def _create_message(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        if request.match_info["account"] != self.account_sid or not self._authorised(request):
            self.refused.append(form)
            return web.json_response(
                {
                    "code": 20003,
                    "message": "Authenticate",
                    "more_info": "https://www.twilio.com/docs/errors/20003",
                    "status": 401,
                },
                status=401,
            )
        err = self.errors.pop(0) if self.errors else None
        if err is not None:
            self.refused.append(form)
            if err.problem:
                return web.json_response(
                    {
                        "type": f"https://www.twilio.com/docs/errors/{err.code}",
                        "title": err.message,
                        "status": err.status,
                        "code": err.code,
                        "detail": err.message,
                    },
                    status=err.status,
                    headers=err.headers,
                    content_type="application/problem+json",
                )
            return web.json_response(
                {
                    "code": err.code,
                    "message": err.message,
                    "more_info": f"https://www.twilio.com/docs/errors/{err.code}",
                    "status": err.status,
                },
                status=err.status,
                headers=err.headers,
            )
        if "To" not in form or not ({"From", "MessagingServiceSid"} & form.keys()):
            return web.json_response(
                {
                    "code": 21604 if "To" not in form else 21603,
                    "message": "A 'To' and a 'From' or 'MessagingServiceSid' are required",
                    "more_info": "https://www.twilio.com/docs/errors/21603",
                    "status": 400,
                },
                status=400,
            )
        self.messages.append(form)
        sid = f"SM{next(self._ids):032x}"
        now = format_datetime(datetime.now(UTC), usegmt=True)
        path = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        return web.json_response(
            {
                "account_sid": self.account_sid,
                "api_version": API_VERSION,
                "body": form.get("Body", ""),
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "num_media": "0",
                "num_segments": "1",
                "price": None,
                "price_unit": None,
                "sid": sid,
                "status": "queued",
                "subresource_uris": {"media": f"{path}/Media.json"},
                "to": form["To"],
                "uri": f"{path}.json",
            },
            status=201,
        )

    async def _media(self, request: web.Request) -> web.Response:
        self.media_requests.append(request.headers.get("Authorization"))
        if not self._authorised(request):
            return web.Response(status=401, text="Unauthorized")
        if request.path in self.media_redirects:
            return web.Response(
                status=302, headers={"Location": self.media_redirects[request.path]}
            )
        found = self.media.get(request.path)
        if found is None:
            return web.Response(status=404)
        content, ctype = found
        return web.Response(body=content, content_type=ctype)

    async def _account(self, request: web.Request) -> web.Response:
        if request.match_info["account"] != f"{self.account_sid}.json" or not self._authorised(
            request
        ):
            return web.json_response(
                {
                    "code": 20003,
                    "message": "Authenticate",
                    "more_info": "https://www.twilio.com/docs/errors/20003",
                    "status": 401,
                },
                status=401,
            )
        return web.json_response(
            {"sid": self.account_sid, "friendly_name": "Kantor", "status": "active"}
        )

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(f"/{API_VERSION}/Accounts/{{account}}", self._account)
        app.router.add_post(
            f"/{API_VERSION}/Accounts/{{account}}/Messages.json", self._create_message
        )
        app.router.add_get(
            f"/{API_VERSION}/Accounts/{{account}}/Messages/{{message}}/Media/{{media}}", self._media
        )
        return app

    async def start(self) -> None:
        self.server = TestServer(self.app())
        await self.server.start_server()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()
