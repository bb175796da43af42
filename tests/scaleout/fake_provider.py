"""A fake Twilio REST API for the scale-out test: records every accepted send.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` checks HTTP basic
auth, records the form (``To``, ``Body``) with the monotonic time it was
accepted and answers 201 with a Message resource (``sid`` ``SM…``, ``status``
``queued``), as Twilio documents it. During a programmed outage
(:meth:`FakeProvider.fail_for`) it answers 500 with Twilio's error JSON
(``code`` 20500, "Internal Server Error") and records nothing: the sender must
try again later.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass, field

from aiohttp import web

from tests.twilio.fake_twilio import API_VERSION, basic_auth, twilio_error


@dataclass(frozen=True)
class Sent:
    """One accepted Messages.json request: recipient, body, our SID, monotonic time (s)."""

    to: str
    body: str
    sid: str
    at: float


@dataclass
class FakeProvider:
    """The fake API server; ``sent`` lists accepted sends in order, ``refused_500``
    counts requests answered 500 during an outage."""

    account_sid: str
    auth_token: str
    sent: list[Sent] = field(default_factory=list)
    refused_500: int = 0
    fail_until: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _waiters: dict[str, asyncio.Event] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _port: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def fail_for(self, seconds: float) -> None:
        """Answer 500 to every send for the next ``seconds`` seconds."""
        self.fail_until = time.monotonic() + seconds

    async def wait_for_more(self, to: str, before: int, timeout: float) -> bool:
        """Wait until more than ``before`` sends to ``to`` were accepted; False on
        ``timeout`` (s)."""
        deadline = time.monotonic() + timeout
        while self.counts[to] <= before:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            waiter = self._waiters.setdefault(to, asyncio.Event())
            waiter.clear()
            try:
                await asyncio.wait_for(waiter.wait(), left)
            except TimeoutError:
                return self.counts[to] > before
        return True

    @property
    def url(self) -> str:
        """Base URL for ``ADUAN_TWILIO_API_BASE``, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._port}"

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == basic_auth(self.account_sid, self.auth_token)

    async def _create(self, request: web.Request) -> web.Response:
        form = await request.post()
        if request.match_info["account"] != self.account_sid or not self._authorised(request):
            return web.json_response(twilio_error(20003, "Authenticate", 401), status=401)
        if time.monotonic() < self.fail_until:
            self.refused_500 += 1
            return web.json_response(twilio_error(20500, "Internal Server Error", 500), status=500)
        # Distinct from the inbound MessageSids the driver makes (``SM0…``).
        sid = f"SMf{next(self._ids):031x}"
        to, body = str(form.get("To", "")), str(form.get("Body", ""))
        self.sent.append(Sent(to, body, sid, time.monotonic()))
        self.counts[to] += 1
        waiter = self._waiters.get(to)
        if waiter is not None:
            waiter.set()
        return web.json_response(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": to,
                "from": str(form.get("From", "")),
                "body": body,
                "status": "queued",
                "num_segments": "1",
                "api_version": API_VERSION,
            },
            status=201,
        )

    async def start(self, port: int) -> None:
        """Listen on 127.0.0.1:``port``."""
        app = web.Application()
        app.router.add_post(f"/{API_VERSION}/Accounts/{{account}}/Messages.json", self._create)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self._port = port

    async def close(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
