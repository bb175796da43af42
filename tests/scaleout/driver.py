"""The load: senders writing complete complaints over signed Twilio SMS webhooks.

Each sender is a conversation, one message at a time, as a person types:

1. a complete complaint (``Nama``, ``Pelanggan``, ``Masalah``) — answered with
   its summary and "Balas YA";
2. ``ya`` — the complaint is registered and its tracking number sent;
3. and on, follow-ups — each added to that complaint and acknowledged.

Every message gets exactly one reply. A sender posts its next message once the
previous one was acknowledged (HTTP 200), its reply reached the provider (or
``reply_timeout`` passed) and ``think`` seconds went by: a person reads before
answering, and the intake engine reads an answer that arrived before its
question was marked sent as said before the question. A failed post is retried on the next serve with the
same ``MessageSid`` until ``post_timeout``; a fraction of acknowledged messages
is delivered once more to a different serve, as Twilio may redeliver. The
``X-Twilio-Signature`` is the twilio library's, over the public URL.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from channels.twilio import INBOUND_PATH, SIGNATURE_HEADER
from tests.scaleout.fake_provider import FakeProvider

OFFICE_NUMBER = "+62211234567"


def sender_number(index: int) -> str:
    """The E.164 number of sender ``index`` (``+62812…``, an Indonesian mobile)."""
    return f"+62812{index:07d}"


def message_sid(sender: int, seq: int) -> str:
    """A Twilio-shaped ``MessageSid`` (``SM`` + 32 hex digits) for one message."""
    return f"SM{sender:016x}{seq:016x}"


def script(sender: int, count: int) -> list[str]:
    """The ``count`` message texts of one sender."""
    texts = [
        f"Nama: Warga Uji {sender}\nPelanggan: PT Sinar Jaya {sender}\n"
        f"Masalah: laporan hasil uji nomor {sender} terlambat dua minggu",
        "ya",
    ]
    texts += [f"tambahan keterangan {j} untuk laporan nomor {sender}" for j in range(2, count)]
    return texts[:count]


@dataclass
class Tally:
    """What the driver saw, by ``MessageSid``."""

    posts: int = 0
    attempted: set[str] = field(default_factory=set)
    acked: dict[str, float] = field(default_factory=dict)
    redelivered: set[str] = field(default_factory=set)
    redelivery_acked: int = 0
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    reply_timeouts: int = 0
    #: sid -> (sender index, sequence number)
    origin: dict[str, tuple[int, int]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)


class Driver:
    """Posts the senders' webhooks to the serves in ``bases``."""

    def __init__(
        self,
        bases: Callable[[], list[str]],
        *,
        auth_token: str,
        account_sid: str,
        public_url: str,
        senders: int,
        webhooks: int,
        redeliver: float,
        provider: FakeProvider,
        seed: int = 12,
        concurrency: int = 64,
        reply_timeout: float = 180.0,
        think: float = 1.5,
        post_timeout: float = 300.0,
    ) -> None:
        self._bases = bases
        self._validator = RequestValidator(auth_token)
        self._account_sid = account_sid
        self._url = public_url.rstrip("/") + INBOUND_PATH
        self.senders = senders
        self.per_sender = [
            webhooks // senders + (1 if i < webhooks % senders else 0) for i in range(senders)
        ]
        self._redeliver = redeliver
        self._provider = provider
        self._random = random.Random(seed)
        self._gate = asyncio.Semaphore(concurrency)
        self._reply_timeout = reply_timeout
        self._think = think
        self._post_timeout = post_timeout
        self.tally = Tally()
        self._extra: set[asyncio.Task[None]] = set()

    def form(self, sender: int, seq: int, text: str) -> dict[str, str]:
        """The webhook form Twilio posts for one inbound SMS."""
        sid = message_sid(sender, seq)
        return {
            "ToCountry": "ID",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": text,
            "To": OFFICE_NUMBER,
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": self._account_sid,
            "From": sender_number(sender),
            "ApiVersion": "2010-04-01",
        }

    async def _post(
        self, session: aiohttp.ClientSession, form: dict[str, str], first_serve: int
    ) -> bool:
        """Post until a 200 (or ``post_timeout``); True when acknowledged."""
        body = urlencode(form)
        headers = {
            SIGNATURE_HEADER: str(self._validator.compute_signature(self._url, form)),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        deadline = time.monotonic() + self._post_timeout
        attempt = 0
        while time.monotonic() < deadline:
            bases = self._bases()
            base = bases[(first_serve + attempt) % len(bases)]
            attempt += 1
            self.tally.posts += 1
            started = time.monotonic()
            try:
                async with (
                    self._gate,
                    session.post(
                        base + INBOUND_PATH,
                        data=body,
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=15),
                    ) as resp,
                ):
                    await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.tally.failures[type(exc).__name__] += 1
                await asyncio.sleep(min(2.0, 0.2 * attempt))
                continue
            if status == 200:
                self.tally.latencies.append(time.monotonic() - started)
                return True
            self.tally.failures[f"HTTP {status}"] += 1
            await asyncio.sleep(min(2.0, 0.2 * attempt))
        return False

    async def _wait_reply(self, number: str, before: int) -> None:
        if not await self._provider.wait_for_more(number, before, self._reply_timeout):
            self.tally.reply_timeouts += 1

    async def _sender(self, session: aiohttp.ClientSession, sender: int) -> None:
        number = sender_number(sender)
        for seq, text in enumerate(script(sender, self.per_sender[sender])):
            form = self.form(sender, seq, text)
            sid = form["MessageSid"]
            self.tally.origin[sid] = (sender, seq)
            self.tally.attempted.add(sid)
            serve = sender + seq
            before = self._provider.counts[number]
            if not await self._post(session, form, serve):
                continue
            self.tally.acked.setdefault(sid, time.monotonic())
            if self._random.random() < self._redeliver:
                self.tally.redelivered.add(sid)
                task = asyncio.create_task(self._redeliver_one(session, form, serve + 1))
                self._extra.add(task)
                task.add_done_callback(self._extra.discard)
            await self._wait_reply(number, before)
            await asyncio.sleep(self._think)

    async def _redeliver_one(
        self, session: aiohttp.ClientSession, form: dict[str, str], serve: int
    ) -> None:
        if await self._post(session, form, serve):
            self.tally.redelivery_acked += 1

    async def run(self) -> None:
        """Drive every sender to the end of its script, redeliveries included."""
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            await asyncio.gather(*(self._sender(session, i) for i in range(self.senders)))
            while self._extra:
                await asyncio.gather(*list(self._extra))

    @property
    def total(self) -> int:
        """Webhooks in the run (redeliveries not counted)."""
        return sum(self.per_sender)
