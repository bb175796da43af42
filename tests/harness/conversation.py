"""A conversation driver: what a citizen says in, what the fake provider was asked to send out.

A channel's conftest gives a :class:`Citizen` end (post one inbound message
through the channel's webhook or poller; list the texts the fake provider
accepted for that citizen; wait until processing is done). The
:class:`Conversation` plays a table of :class:`Turn` rows through it: each row
is what the citizen says (one message, or a burst) and phrases the bot's
reply must hold (or must not). :func:`registered` then reads the complaint the
conversation left.

The phrases are Indonesian prompt fragments from the translation catalogue
(``handlers/locale/id``); :data:`ASKS` names the ones every channel's tests use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.jobs import InProcessJobs
from gateway.runtime import Runtime
from storage.models import Complaint, Message

TRACKING = re.compile(r"ADU-(\d{4})-\d{5}")

#: What each question is about, by a phrase of its Indonesian prompt.
ASKS = {
    "greeting": "Terima kasih telah menghubungi",
    "problem": "ceritakan masalah",
    "clarify": "apa yang terjadi",
    "complainant_name": "nama lengkap",
    "customer_name": "pelanggan/peserta siapa",
    "summary": "Balas YA",
}


async def settle(runtime: Runtime, timeout: float = 10.0) -> None:
    """Wait until ``runtime`` (in-process jobs) has processed everything and nothing is
    being or due to be sent; ``timeout`` in seconds."""
    jobs = runtime.jobs
    assert isinstance(jobs, InProcessJobs)
    await jobs.idle(timeout=timeout)


class Citizen(Protocol):
    """One citizen's end of a channel, as a channel's conftest provides it."""

    async def say(self, text: str) -> None:
        """Post ``text`` as one inbound message (asserting the channel accepted it)."""

    def received(self) -> list[str]:
        """Every text the fake provider accepted for this citizen, in order."""

    async def settle(self) -> None:
        """Wait until processing is done and nothing is being or due to be sent."""


@dataclass(frozen=True)
class Turn:
    """One row: the citizen ``says`` (a burst when several) and the bot answers.

    ``replies`` is how many messages come back; each must contain every phrase
    of ``asks`` and none of ``never``. Unless ``tracking``, a reply asks at most
    one question (``questions`` pins the number of ``?`` instead) and carries no
    tracking number; with ``tracking`` the last reply carries one.
    """

    says: str | tuple[str, ...]
    asks: tuple[str, ...] = ()
    never: tuple[str, ...] = ()
    replies: int = 1
    tracking: bool = False
    questions: int | None = None

    @property
    def texts(self) -> tuple[str, ...]:
        return (self.says,) if isinstance(self.says, str) else self.says


def says(*texts: str) -> tuple[Turn, ...]:
    """Rows that check only that each message gets one reply."""
    return tuple(Turn(text) for text in texts)


@dataclass
class Conversation:
    """Plays turns through a :class:`Citizen` and keeps every reply."""

    citizen: Citizen
    replies: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)

    async def send(self, *texts: str) -> list[str]:
        """Say ``texts`` back to back (one burst), settle; the new replies."""
        before = len(self.citizen.received())
        for text in texts:
            await self.citizen.say(text)
            self.said.append(text)
        await self.citizen.settle()
        new = self.citizen.received()[before:]
        self.replies.extend(new)
        return new

    async def turn(self, row: Turn) -> list[str]:
        """Play one row and assert its replies."""
        new = await self.send(*row.texts)
        assert len(new) == row.replies, (row.says, new)
        for reply in new:
            for phrase in row.asks:
                assert phrase in reply, (row.says, phrase, reply)
            for phrase in row.never:
                assert phrase not in reply, (row.says, phrase, reply)
            if row.questions is not None:
                assert reply.count("?") == row.questions, (row.says, reply)
            if not row.tracking:
                if row.questions is None:
                    assert reply.count("?") <= 1, (row.says, reply)
                assert not TRACKING.search(reply), (row.says, reply)
        if row.tracking:
            assert new and TRACKING.search(new[-1]), (row.says, new)
        return new

    async def play(self, rows: Sequence[Turn]) -> list[str]:
        """Play every row in order; all replies so far."""
        for row in rows:
            await self.turn(row)
        return self.replies

    def asked(self, what: str) -> int:
        """How many replies asked about ``what`` (a key of :data:`ASKS`)."""
        return sum(ASKS[what] in reply for reply in self.replies)

    def tracking_number(self) -> str:
        """The tracking number in the last reply."""
        match = TRACKING.search(self.replies[-1])
        assert match is not None, self.replies[-1]
        return match.group(0)


#: The fields of a complaint :func:`registered` compares.
FIELDS = ("complainant_name", "complainant_title", "customer_name", "problem")


async def registered(
    sessions: async_sessionmaker[AsyncSession],
    conversation: Conversation,
    address: str,
    expected: Mapping[str, Any],
    *,
    thread: bool = True,
) -> Complaint:
    """The one complaint from ``address``: registered with exactly ``expected``
    (of :data:`FIELDS`; a field left out must be empty), its tracking number in
    the last reply, and (``thread``) every message said kept as typed."""
    async with sessions() as s:
        [complaint] = list(
            await s.scalars(select(Complaint).where(Complaint.contact_address == address))
        )
        texts = list(
            await s.scalars(
                select(Message.text)
                .where(Message.complaint_id == complaint.id, Message.direction == "in")
                .order_by(Message.id)
            )
        )
    got = {name: getattr(complaint, name) for name in FIELDS}
    assert got == {name: expected.get(name) for name in FIELDS}
    assert complaint.tracking_number == conversation.tracking_number()
    assert complaint.received_at is not None
    if thread:
        assert texts == conversation.said
    return complaint
