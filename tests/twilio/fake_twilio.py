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

Recording, scripted errors and the server come from
:class:`tests.harness.fake_provider.FakeProvider`.
"""

from __future__ import annotations

import base64
import itertools
from datetime import UTC, datetime
from email.utils import format_datetime

from aiohttp import web

from tests.harness.fake_provider import FakeProvider, Scripted

API_VERSION = "2010-04-01"
#: Route key of the scripted errors (one consumed per Messages.json request).
MESSAGES = "Messages.json"


def twilio_error(code: int | None, message: str, status: int) -> dict[str, object]:
    """Twilio's documented error JSON (``code``, ``message``, ``more_info``, ``status``)."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def basic_auth(account_sid: str, auth_token: str) -> str:
    """The ``Authorization`` header value Twilio expects for the account."""
    return "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()


class FakeTwilio(FakeProvider):
    """The fake API; ``messages`` holds every accepted Messages.json form, in order.

    Scripted errors (:meth:`fail_next`, :meth:`pass_next`) are consumed one per
    Messages.json request that passed authentication.
    """

    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict[str, str]] = []
        self.refused: list[dict[str, str]] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        self.media_requests: list[str | None] = []
        #: Media path → ``Location`` answered with 302 instead of the bytes (as
        #: Twilio redirects media to its CDN).
        self.media_redirects: dict[str, str] = {}
        self._ids = itertools.count(1)

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
        """Answer the next Messages.json request with this error; ``problem`` answers
        RFC 9457 problem details (``type``, ``title``, ``status``, ``code``,
        ``detail``), as newer Twilio services do."""
        if problem:
            body: dict[str, object] = {
                "type": f"https://www.twilio.com/docs/errors/{code}",
                "title": message,
                "status": status,
                "code": code,
                "detail": message,
            }
            answer = Scripted(status, body, headers or {}, "application/problem+json")
        else:
            answer = Scripted(status, twilio_error(code, message, status), headers or {})
        self.script(MESSAGES, answer)

    def pass_next(self) -> None:
        """Answer the next Messages.json request normally (before a programmed error)."""
        self.script(MESSAGES, None)

    def add_media(self, message_sid: str, media_sid: str, content: bytes, content_type: str) -> str:
        """Store media and return its ``MediaUrl`` as Twilio would send it."""
        path = (
            f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message_sid}/Media/{media_sid}"
        )
        self.media[path] = (content, content_type)
        return self.url + path

    def bodies(self) -> list[str]:
        """``Body`` of every accepted message, in order."""
        return [m.get("Body", "") for m in self.messages]

    # -- server --------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        expected = basic_auth(self.account_sid, self.auth_token)
        return request.headers.get("Authorization") == expected

    @staticmethod
    def _unauthenticated() -> web.Response:
        return web.json_response(twilio_error(20003, "Authenticate", 401), status=401)

    async def _create_message(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        if request.match_info["account"] != self.account_sid or not self._authorised(request):
            self.refused.append(form)
            return self._unauthenticated()
        scripted = self.scripted(MESSAGES)
        if scripted is not None:
            self.refused.append(form)
            return scripted
        if "To" not in form or not ({"From", "MessagingServiceSid"} & form.keys()):
            error = twilio_error(
                21603, "A 'To' and a 'From' or 'MessagingServiceSid' are required", 400
            )
            error["code"] = 21604 if "To" not in form else 21603
            return web.json_response(error, status=400)
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
            return self._unauthenticated()
        return web.json_response(
            {"sid": self.account_sid, "friendly_name": "Kantor", "status": "active"}
        )

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get(f"/{API_VERSION}/Accounts/{{account}}", self._account)
        router.add_post(f"/{API_VERSION}/Accounts/{{account}}/Messages.json", self._create_message)
        router.add_get(
            f"/{API_VERSION}/Accounts/{{account}}/Messages/{{message}}/Media/{{media}}", self._media
        )

    def app(self) -> web.Application:
        """A new application serving the fake (to wrap in middlewares before :meth:`start`)."""
        return self.build_app()
