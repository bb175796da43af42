"""The figures of a scale-out run and its acceptance.

Counts come from three witnesses: what the driver posted and saw acknowledged,
what the database holds (read directly, not through the fault proxy), and what
the fake provider accepted. Acceptance (README, "Scale-out test"): nothing
acknowledged is lost, nothing is stored or registered twice, no reply goes out
twice except one the provider accepted just before its sender was SIGKILLed
(sending is at-least-once), each sender's messages are handled in order, a
SIGTERMed process exits 0 without a traceback, no worker or serve exits while
Redis is down, and the work waiting when Redis returns is done within 60 s.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from channels.twilio import split_text
from tests.scaleout.driver import Tally, sender_number
from tests.scaleout.fake_provider import Sent
from tests.scaleout.processes import Stopped

#: Work waiting when Redis returns must be done within this many seconds.
SETTLE_LIMIT_SECONDS = 60.0
#: A send repeated after a SIGKILL is excused when its first copy was accepted
#: at most this many seconds before the SIGKILL (the send was in flight).
KILL_WINDOW_SECONDS = 30.0


@dataclass
class Report:
    """Every figure the runner prints; ``failures`` lists the broken acceptance rules."""

    webhooks_sent: int = 0
    posts: int = 0
    acknowledged: int = 0
    redelivered: int = 0
    stored: int = 0
    duplicates_stored: int = 0
    unprocessed: int = 0
    lost: int = 0
    complaints: int = 0
    duplicate_complaints: int = 0
    missing_complaints: int = 0
    replies_sent: int = 0
    provider_500s: int = 0
    duplicate_replies: int = 0
    duplicate_replies_after_sigkill: int = 0
    extra_reply_rows: int = 0
    unsent_replies: int = 0
    order_violations: int = 0
    reply_timeouts: int = 0
    settle_seconds: list[float | None] = field(default_factory=list)
    stops: list[Stopped] = field(default_factory=list)
    worker_exits_while_redis_down: int = 0
    serve_exits_while_redis_down: int = 0
    unexpected_exits: list[Stopped] = field(default_factory=list)
    post_failures: dict[str, int] = field(default_factory=dict)
    drive_seconds: float = 0.0
    #: Seconds to a 200: median, 99th percentile, slowest.
    answer_seconds: tuple[float, float, float] = (0.0, 0.0, 0.0)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def judge(self) -> None:
        """Fill ``failures`` from the figures."""
        rules = [
            (self.lost == 0, f"{self.lost} acknowledged webhooks not stored"),
            (self.duplicates_stored == 0, f"{self.duplicates_stored} messages stored twice"),
            (self.unprocessed == 0, f"{self.unprocessed} stored messages never processed"),
            (self.duplicate_complaints == 0, f"{self.duplicate_complaints} duplicate complaints"),
            (
                self.duplicate_replies == self.duplicate_replies_after_sigkill,
                f"{self.duplicate_replies - self.duplicate_replies_after_sigkill} duplicate "
                "replies not explained by a SIGKILL",
            ),
            (self.extra_reply_rows == 0, f"{self.extra_reply_rows} replies staged twice"),
            (self.unsent_replies == 0, f"{self.unsent_replies} replies never sent"),
            (self.order_violations == 0, f"{self.order_violations} senders out of order"),
            (
                self.worker_exits_while_redis_down == 0,
                f"{self.worker_exits_while_redis_down} worker exits while Redis was down",
            ),
            (
                self.serve_exits_while_redis_down == 0,
                f"{self.serve_exits_while_redis_down} serve exits while Redis was down",
            ),
        ]
        for stop in self.stops:
            if stop.cause in ("sigterm", "shutdown"):
                rules.append(
                    (
                        stop.returncode == 0 and not stop.traceback,
                        f"{stop.name} exited {stop.returncode} on SIGTERM"
                        + (" with a traceback" if stop.traceback else "")
                        + f" ({stop.log.name})",
                    )
                )
        for seconds in self.settle_seconds:
            rules.append(
                (
                    seconds is not None and seconds <= SETTLE_LIMIT_SECONDS,
                    "work waiting when Redis returned took "
                    + ("too long (never settled)" if seconds is None else f"{seconds:.1f} s"),
                )
            )
        self.failures = [message for ok, message in rules if not ok]

    def lines(self) -> list[str]:
        """The printed report, one figure a line."""
        settle = ", ".join("never" if s is None else f"{s:.1f} s" for s in self.settle_seconds)
        out = [
            f"webhooks sent                 : {self.webhooks_sent} "
            f"({self.posts} posts, {self.redelivered} redelivered to another serve)",
            f"acknowledged (200)            : {self.acknowledged}",
            f"stored messages               : {self.stored}",
            f"duplicates stored             : {self.duplicates_stored}",
            f"never processed               : {self.unprocessed}",
            f"lost (acknowledged, not stored): {self.lost}",
            f"complaints                    : {self.complaints}",
            f"duplicate complaints          : {self.duplicate_complaints}",
            f"confirmed without complaint   : {self.missing_complaints} (not judged)",
            f"replies sent to the provider  : {self.replies_sent} "
            f"({self.provider_500s} answered 500)",
            f"duplicate replies             : {self.duplicate_replies} "
            f"({self.duplicate_replies_after_sigkill} sent just before a SIGKILL)",
            f"replies staged twice          : {self.extra_reply_rows}",
            f"replies never sent            : {self.unsent_replies}",
            f"per-sender order violations   : {self.order_violations}",
            f"replies awaited in vain       : {self.reply_timeouts}",
            f"settle after Redis returned   : {settle or 'no Redis outage'}",
            f"driving took                  : {self.drive_seconds:.1f} s",
            "webhook 200 p50 / p99 / max   : "
            + " / ".join(f"{1000 * v:.0f} ms" for v in self.answer_seconds),
            f"post failures                 : {dict(self.post_failures) or 'none'}",
        ]
        for stop in self.stops:
            if stop.cause in ("sigterm", "shutdown"):
                when = "mid-run" if stop.cause == "sigterm" else "at end "
                out.append(
                    f"SIGTERM {when} {stop.name:<9}     : exit {stop.returncode}, "
                    f"traceback {'yes' if stop.traceback else 'no'} ({stop.log.name})"
                )
        for stop in self.unexpected_exits:
            out.append(
                f"unexpected exit {stop.name:<9}     : exit {stop.returncode} ({stop.log.name})"
            )
        out.append(f"worker exits while Redis down : {self.worker_exits_while_redis_down}")
        out.append(f"serve exits while Redis down  : {self.serve_exits_while_redis_down}")
        out += self.notes
        out.append("acceptance                    : " + ("PASS" if not self.failures else "FAIL"))
        out += [f"  - {f}" for f in self.failures]
        return out


async def count_from_database(
    conn: asyncpg.Connection, tally: Tally, senders: int, report: Report
) -> None:
    """Stored messages, complaints, outbox rows and per-sender order, from the database."""
    numbers = [sender_number(i) for i in range(senders)]
    rows = await conn.fetch(
        "SELECT id, external_id, sender, contact_id, processed_at FROM messages "
        "WHERE direction = 'in' AND channel = 'sms' AND sender = ANY($1::text[]) ORDER BY id",
        numbers,
    )
    by_sid = Counter(r["external_id"] for r in rows)
    report.stored = len(by_sid)
    report.duplicates_stored = sum(n - 1 for n in by_sid.values())
    report.lost = sum(1 for sid in tally.acked if sid not in by_sid)
    report.unprocessed = sum(1 for r in rows if r["processed_at"] is None)

    # Order: the sequence numbers of one sender's stored messages rise with the
    # row id (stored in the order sent) and with processed_at (handled in order).
    violated: set[str] = set()
    per_sender: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        per_sender[r["sender"]].append(r)
    for sender, items in per_sender.items():
        seqs = [tally.origin.get(r["external_id"], (0, -1))[1] for r in items]
        if seqs != sorted(seqs):
            violated.add(sender)
        by_seq = sorted(zip(seqs, items, strict=True), key=lambda pair: pair[0])
        done = [r["processed_at"] for _, r in by_seq if r["processed_at"] is not None]
        if done != sorted(done):
            violated.add(sender)

    complaints = await conn.fetch(
        "SELECT contact_address, problem FROM complaints WHERE contact_address = ANY($1::text[])",
        numbers,
    )
    report.complaints = len(complaints)
    per_address = Counter(c["contact_address"] for c in complaints)
    report.duplicate_complaints = sum(n - 1 for n in per_address.values())
    for c in complaints:
        index = int(c["contact_address"][len("+62812") :])
        if f"nomor {index} " not in c["problem"]:
            violated.add(c["contact_address"])
    confirmed = {
        sender_number(tally.origin[sid][0]) for sid in tally.acked if tally.origin[sid][1] == 1
    }
    report.missing_complaints = sum(1 for n in confirmed if per_address[n] == 0)
    report.order_violations = len(violated)

    outbox = await conn.fetch(
        "SELECT recipient, body, status, contact_id FROM outbox "
        "WHERE channel = 'sms' AND recipient = ANY($1::text[])",
        numbers,
    )
    # One reply per distinct stored message (a message stored twice is counted above).
    distinct_per_contact: dict[int, set[str]] = defaultdict(set)
    for r in rows:
        distinct_per_contact[r["contact_id"]].add(r["external_id"])
    replies_per_contact = Counter(o["contact_id"] for o in outbox)
    report.extra_reply_rows = sum(
        max(0, n - len(distinct_per_contact[c])) for c, n in replies_per_contact.items()
    )
    report.unsent_replies = sum(1 for o in outbox if o["status"] != "sent")


def count_duplicate_sends(
    outbox_parts: Counter[tuple[str, str]],
    sent: list[Sent],
    kills: list[float],
    report: Report,
    *,
    recorded: set[str] | None = None,
    events: list[tuple[float, str]] | None = None,
    started: float = 0.0,
) -> None:
    """Sends the provider accepted beyond the outbox rows that asked for them.

    Surplus sends are counted per (recipient, text) against the rows asking
    for that text. Which copy was the lost one is told by the provider ids the
    rows ``recorded``: a copy whose SID no row kept was accepted but not
    recorded, and the next copy of the same text repeated it. A repeat is
    excused (at-least-once) when a SIGKILL (monotonic ``kills``) came at most
    :data:`KILL_WINDOW_SECONDS` after the unrecorded copy and before the
    repeat. Each repeat adds a note with both times (s from ``started``) and
    the ``events`` (monotonic time, label) from 5 s before the first to the
    repeat.
    """
    report.replies_sent = len(sent)
    known = recorded or set()
    copies: dict[tuple[str, str], list[Sent]] = defaultdict(list)
    for s in sent:
        copies[(s.to, s.body)].append(s)
    for key, group in copies.items():
        surplus = len(group) - max(outbox_parts.get(key, 0), 1)
        if surplus <= 0:
            continue
        lost = [s for s in group if s.sid not in known] or group
        for first in lost[:surplus]:
            again = next((s.at for s in group if s.at > first.at), None)
            report.duplicate_replies += 1
            if any(
                first.at <= k <= first.at + KILL_WINDOW_SECONDS and (again is None or k < again)
                for k in kills
            ):
                report.duplicate_replies_after_sigkill += 1
            end = again if again is not None else first.at
            around = [
                f"{label} {at - started:.0f} s"
                for at, label in events or []
                if first.at - 5 <= at <= end
            ]
            if len(around) > 6:
                around = [*around[:6], f"{len(around) - 6} more"]
            repeat = f"{again - started:.1f} s" if again is not None else "?"
            report.notes.append(
                f"  duplicate send to {key[0]}: unrecorded copy at {first.at - started:.1f} s, "
                f"again at {repeat}; around: {', '.join(around) or 'nothing'}"
            )


async def recorded_sids(conn: asyncpg.Connection) -> set[str]:
    """Every provider id an outbox row kept."""
    rows = await conn.fetch("SELECT provider_id FROM outbox WHERE provider_id IS NOT NULL")
    return {r["provider_id"] for r in rows}


async def outbox_parts(conn: asyncpg.Connection, senders: int) -> Counter[tuple[str, str]]:
    """(recipient, part text) → how many sends the outbox rows ask for."""
    numbers = [sender_number(i) for i in range(senders)]
    rows = await conn.fetch(
        "SELECT recipient, body FROM outbox WHERE channel = 'sms' AND recipient = ANY($1::text[])",
        numbers,
    )
    parts: Counter[tuple[str, str]] = Counter()
    for r in rows:
        for part in split_text(r["body"]):
            parts[(r["recipient"], part)] += 1
    return parts
