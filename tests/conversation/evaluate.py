"""Play the conversation corpus through the real intake engine and score it.

``make eval`` (``python -m tests.conversation.evaluate``) builds one runtime on a
fresh SQLite file with recording channels, then plays every case of
``tests/conversation/corpus/*.yaml`` (format: tests/conversation/README.md):

* chat cases arrive as provider payloads through the channels' own parsers —
  Twilio's webhook form for SMS and WhatsApp (``channels.twilio.parse_form``),
  a Telegram Update (``channels.telegram.parse.parse_update``) — and email
  cases as RFC 5322 mails through ``channels.email.parse.parse_email``;
* a burst is stored message by message and then processed as the processor
  would after the quiet gap (the gap itself is tested in tests/intake/test_turns.py);
* the simulated complainant answers the question the bot asked with the
  case's scripted answer; a question the script has no answer for is a
  redundant question (the case said it already).

Prints the complete-and-correct rate, per-field exact-match rates,
redundant questions and median turns; ``--failures`` shows what went wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from channels.base import ChannelName, InboundMessage
from channels.email.parse import parse_email
from channels.telegram.parse import parse_update
from channels.twilio import parse_form
from gateway.config import load_settings
from gateway.jobs import InProcessJobs
from gateway.runtime import Runtime, build_runtime
from storage.migrate import upgrade
from storage.models import Complaint, Conversation, ConversationState
from tests.fakes import RecordingChannel

CORPUS = Path(__file__).resolve().parent / "corpus"
FIELDS = ("complainant_name", "complainant_title", "customer_name", "problem")
OFFICE_ADDRESS = "pengaduan@eval.example"
MAX_STEPS = 14

Turn = str | list[str]


@dataclass
class CaseResult:
    """The outcome of one case."""

    id: str
    channel: str
    registered: bool = False
    fields: dict[str, bool] = field(default_factory=dict)
    got: dict[str, str | None] = field(default_factory=dict)
    expected: dict[str, str | None] = field(default_factory=dict)
    redundant: list[str] = field(default_factory=list)
    turns: int = 0
    problems: list[str] = field(default_factory=list)
    transcript: list[tuple[str, str]] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        """Registered, every field exactly right, no redundant question, nothing else wrong."""
        return (
            self.registered
            and all(self.fields.values())
            and not self.redundant
            and not self.problems
        )


def load_corpus(directory: Path = CORPUS) -> list[dict[str, Any]]:
    """Every case of every ``*.yaml`` file under ``directory``, in file order."""
    cases: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yaml")):
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        for case in loaded:
            case["_file"] = path.name
            cases.append(case)
    ids = [c["id"] for c in cases]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"duplicate case ids: {sorted(dupes)}")
    return cases


def normalise(value: str | None) -> str | None:
    """Runs of whitespace as one space, ends trimmed; ``None`` and ``""`` alike."""
    if value is None:
        return None
    folded = re.sub(r"\s+", " ", str(value)).strip()
    return folded or None


def _messages(turn: Turn) -> list[str]:
    return [turn] if isinstance(turn, str) else [str(t) for t in turn]


class Player:
    """Plays cases against one runtime; each case gets its own contact."""

    def __init__(self, runtime: Runtime, channels: dict[str, RecordingChannel]) -> None:
        self.runtime = runtime
        self.channels = channels
        self._serial = 0

    @property
    def jobs(self) -> InProcessJobs:
        jobs = self.runtime.jobs
        assert isinstance(jobs, InProcessJobs)
        return jobs

    def _next_id(self) -> str:
        self._serial += 1
        return f"{self._serial:07d}"

    # ------------------------------------------------------------ arrivals

    def _chat_message(self, case: dict[str, Any], address: str, text: str) -> InboundMessage:
        channel = case["channel"]
        serial = self._next_id()
        if channel in ("sms", "whatsapp"):
            sender = f"whatsapp:{address}" if channel == "whatsapp" else address
            form = {
                "MessageSid": f"SM{serial}{'0' * 24}"[:34],
                "AccountSid": "AC" + "0" * 32,
                "From": sender,
                "To": "whatsapp:+14155238886" if channel == "whatsapp" else "+14155238886",
                "Body": text,
                "NumMedia": "0",
            }
            if channel == "whatsapp" and case.get("sender_name"):
                form["ProfileName"] = str(case["sender_name"])
            parsed = parse_form(form)
        else:
            name = str(case.get("sender_name") or "").split(" ", 1)
            user: dict[str, Any] = {
                "id": int(address),
                "is_bot": False,
                "first_name": name[0] or "-",
            }
            if len(name) > 1:
                user["last_name"] = name[1]
            if not case.get("sender_name"):
                user["first_name"] = ""
            update = {
                "update_id": int(serial),
                "message": {
                    "message_id": int(serial),
                    "date": int(time.time()),
                    "chat": {"id": int(address), "type": "private"},
                    "from": user,
                    "text": text,
                },
            }
            parsed = parse_update(update)
        assert parsed is not None
        return parsed

    def _mail(
        self, case: dict[str, Any], address: str, text: str, refs: list[str], subject: str
    ) -> tuple[InboundMessage, str]:
        mail = EmailMessage()
        name = case.get("sender_name")
        mail["From"] = f'"{name}" <{address}>' if name else address
        mail["To"] = OFFICE_ADDRESS
        mail["Subject"] = subject
        message_id = make_msgid(idstring=self._next_id(), domain="eval.example")
        mail["Message-ID"] = message_id
        mail["Date"] = format_datetime(datetime.now(UTC))
        if refs:
            mail["In-Reply-To"] = f"<{refs[-1]}>"
            mail["References"] = " ".join(f"<{r}>" for r in refs)
        mail.set_content(text)
        parsed = parse_email(
            bytes(mail), own_addresses=[OFFICE_ADDRESS], max_attachment_bytes=1_000_000
        )
        return parsed, parsed.external_id

    async def _store(self, messages: list[InboundMessage]) -> int:
        """Store ``messages`` durably (as the webhooks do), then let the turn run."""
        contact_id = 0
        batcher = self.runtime.batcher
        for message in messages:
            contact_id = (await batcher.submit(message)).contact_id
        self.jobs.request_processing(contact_id)
        await self.jobs.idle(timeout=30)
        return contact_id

    # ---------------------------------------------------------------- a case

    async def play(self, case: dict[str, Any]) -> CaseResult:
        result = CaseResult(id=case["id"], channel=case["channel"])
        expect = case.get("expect") or {}
        result.expected = {k: normalise(expect.get(k)) for k in FIELDS}
        channel = case["channel"]
        serial = int(self._next_id())
        if channel == "email":
            address = f"c{serial}@complainant.example"
        elif channel == "telegram":
            address = str(700_000_000 + serial)
        else:
            address = f"+62811{serial:07d}"[:15]
        recorder = self.channels["email" if channel == "email" else channel]
        sent_before = len(recorder.sent)
        refs: list[str] = []
        subject = str(case.get("subject") or "")
        contact_id = 0

        async def send(turn: Turn) -> None:
            nonlocal contact_id, subject
            result.turns += 1
            if channel == "email":
                text = "\n".join(_messages(turn))
                reply_subject = subject if not refs else f"Re: {subject}".strip()
                message, message_id = self._mail(case, address, text, refs, reply_subject)
                refs.append(message_id)
                result.transcript.append(("mail", text))
                contact_id = await self._store([message])
            else:
                texts = _messages(turn)
                for text in texts:
                    result.transcript.append(("user", text))
                contact_id = await self._store(
                    [self._chat_message(case, address, t) for t in texts]
                )
            for sent in recorder.sent[len(recorder_seen) :]:
                if sent.recipient == address:
                    result.transcript.append(("bot", sent.text))
            recorder_seen[:] = recorder.sent

        recorder_seen: list[Any] = list(recorder.sent[:sent_before])
        for turn in case.get("prelude") or []:
            await send(turn)
        await send(case["opening"])
        await self._converse(case, result, send, lambda: contact_id)
        complaint = await self._complaint(contact_id)
        if complaint is None:
            result.problems.append("not registered")
            for key in FIELDS:
                result.fields[key] = False
            return result
        result.registered = True
        result.got = {
            "complainant_name": normalise(complaint.complainant_name),
            "complainant_title": normalise(complaint.complainant_title),
            "customer_name": normalise(complaint.customer_name),
            "problem": normalise(complaint.problem),
        }
        for key in FIELDS:
            result.fields[key] = result.got[key] == result.expected[key]
        tracking = complaint.tracking_number
        if tracking not in "\n".join(t for who, t in result.transcript if who == "bot"):
            result.problems.append("no tracking number sent")
        for turn in case.get("after") or []:
            turn = [t.replace("{tracking}", tracking) for t in _messages(turn)]
            before = len(result.transcript)
            await send(turn)
            replies = [t for who, t in result.transcript[before:] if who == "bot"]
            if any("status" in t.lower() or "statsu" in t.lower() for t in turn):
                if not any(tracking in r for r in replies):
                    result.problems.append(f"no status answer to {turn!r}")
        later = await self._complaint(contact_id)
        if (
            later is None
            or later.id != complaint.id
            or normalise(later.problem) != result.got["problem"]
        ):
            result.problems.append("later turns changed the complaint")
        return result

    async def _converse(
        self, case: dict[str, Any], result: CaseResult, send: Any, contact: Any
    ) -> None:
        answers: dict[str, Any] = dict(case.get("answers") or {})
        used: dict[str, int] = {}
        confirm = list(case.get("confirm") or ["ya"])
        #: After "2" at the summary the bot asks that part again: the next
        #: confirm turn answers it.
        correcting = False
        for _ in range(MAX_STEPS):
            conversation = await self._conversation(contact())
            if conversation is None:
                return
            if conversation.state == ConversationState.REGISTERED.value:
                return
            if conversation.state == ConversationState.CONFIRMING.value:
                if not confirm:
                    result.problems.append("summary shown again after the last confirm turn")
                    return
                turn = confirm.pop(0)
                correcting = bool(
                    re.fullmatch(r"\s*\d{1,2}\s*[.)]?\s*", "\n".join(_messages(turn)))
                )
                await send(turn)
                continue
            if conversation.state != ConversationState.COLLECTING.value:
                result.problems.append(f"draft {conversation.state}")
                return
            asked = [k for k in (conversation.asked or []) if isinstance(k, str)]
            if not asked:
                result.problems.append("no question asked")
                return
            if correcting and confirm:
                correcting = False
                await send(confirm.pop(0))
                continue
            if result.channel == "email":
                missing = [k for k in asked if k not in answers or used.get(k)]
                if missing:
                    result.redundant.extend(missing)
                    return
                lines = []
                for key in asked:
                    used[key] = used.get(key, 0) + 1
                    lines.append("\n".join(_messages(_answer_turn(answers[key], 0))))
                await send("\n".join(lines))
                continue
            key = asked[0]
            turns = _answer_turns(answers.get(key))
            count = used.get(key, 0)
            if count >= len(turns):
                result.redundant.append(key)
                return
            used[key] = count + 1
            await send(turns[count])
        result.problems.append("conversation did not end")

    async def _conversation(self, contact_id: int) -> Conversation | None:
        async with self.runtime.sessions() as session:
            return await session.scalar(
                select(Conversation)
                .where(Conversation.contact_id == contact_id)
                .order_by(Conversation.id.desc())
                .limit(1)
            )

    async def _complaint(self, contact_id: int) -> Complaint | None:
        async with self.runtime.sessions() as session:
            return await session.scalar(
                select(Complaint)
                .where(Complaint.contact_id == contact_id)
                .order_by(Complaint.id.desc())
                .limit(1)
            )


def _answer_turns(value: Any) -> list[Turn]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [t for t in value.get("turns", [])]
    return [value]


def _answer_turn(value: Any, index: int) -> Turn:
    turns = _answer_turns(value)
    return turns[min(index, len(turns) - 1)]


@dataclass
class Score:
    """The corpus-wide figures."""

    cases: int
    correct: float
    per_field: dict[str, float]
    redundant: int
    median_turns: float
    by_file: dict[str, float]


def score(results: list[CaseResult], cases: list[dict[str, Any]]) -> Score:
    """Rates (0..1) over ``results``."""
    n = len(results) or 1
    per_field = {k: sum(1 for r in results if r.fields.get(k)) / n for k in FIELDS}
    by_file: dict[str, list[bool]] = {}
    for case, res in zip(cases, results, strict=True):
        by_file.setdefault(case["_file"], []).append(res.correct)
    return Score(
        cases=len(results),
        correct=sum(1 for r in results if r.correct) / n,
        per_field=per_field,
        redundant=sum(len(r.redundant) for r in results),
        median_turns=statistics.median([r.turns for r in results]) if results else 0.0,
        by_file={k: sum(v) / len(v) for k, v in by_file.items()},
    )


async def build(tmp: Path, profile: str = "default") -> tuple[Runtime, dict[str, RecordingChannel]]:
    """A started runtime on a fresh SQLite file under ``tmp`` with recording channels."""
    channels = {
        "email": RecordingChannel(ChannelName.EMAIL, interactive=False),
        "sms": RecordingChannel(ChannelName.SMS),
        "whatsapp": RecordingChannel(ChannelName.WHATSAPP),
        "telegram": RecordingChannel(ChannelName.TELEGRAM),
    }
    runtime = await build_runtime(
        load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp / 'eval.sqlite3'}",
            data_dir=tmp,
            sop_profile=profile,
            email_from=OFFICE_ADDRESS,
            turn_gap_seconds=0.001,
        ),
        use_redis=False,
        extra_channels=dict(channels),  # type: ignore[arg-type]
    )
    await upgrade(runtime.engine)
    await runtime.start(run_channels=False)
    return runtime, channels


async def evaluate(cases: list[dict[str, Any]], tmp: Path) -> list[CaseResult]:
    """Play ``cases`` in order on one fresh runtime; one result per case."""
    runtime, channels = await build(tmp)
    try:
        player = Player(runtime, channels)
        results = []
        for case in cases:
            try:
                results.append(await player.play(case))
            except Exception as exc:  # a crash is a failed case, with its reason
                failed = CaseResult(id=case["id"], channel=case["channel"])
                failed.problems.append(f"crashed: {type(exc).__name__}: {exc}")
                failed.fields = {k: False for k in FIELDS}
                results.append(failed)
        return results
    finally:
        await runtime.close()


def _lines(results: list[CaseResult], s: Score) -> Iterator[str]:
    yield f"cases: {s.cases}"
    yield f"complete and correct: {s.correct:.1%}"
    for key, rate in s.per_field.items():
        yield f"  {key:<18} exact: {rate:.1%}"
    yield f"redundant questions: {s.redundant}"
    yield f"median turns to the tracking number: {s.median_turns:g}"
    for name, rate in sorted(s.by_file.items()):
        yield f"  {name:<28} {rate:.1%}"


def _failure(result: CaseResult) -> Iterator[str]:
    yield f"--- {result.id} ({result.channel})"
    for key in FIELDS:
        if not result.fields.get(key):
            yield f"  {key}: got {result.got.get(key)!r}\n  {' ' * len(key)}  want {result.expected.get(key)!r}"
    if result.redundant:
        yield f"  redundant question for: {', '.join(result.redundant)}"
    for problem in result.problems:
        yield f"  {problem}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--failures", action="store_true", help="show every failed case")
    parser.add_argument("--transcripts", action="store_true", help="with --failures: the dialogue")
    parser.add_argument("--only", action="append", default=[], help="case id (prefix) to run")
    parser.add_argument("--json", type=Path, help="write the figures as JSON to this file")
    args = parser.parse_args(argv)
    cases = load_corpus()
    if args.only:
        cases = [c for c in cases if any(c["id"].startswith(o) for o in args.only)]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(evaluate(cases, Path(tmp)))
    figures = score(results, cases)
    if args.failures:
        for result in results:
            if not result.correct:
                print("\n".join(_failure(result)))
                if args.transcripts:
                    for who, text in result.transcript:
                        print(f"    [{who}] " + text.replace("\n", "\n           "))
    print("\n".join(_lines(results, figures)))
    print(f"({time.monotonic() - started:.0f} s)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "cases": figures.cases,
                    "complete_and_correct": figures.correct,
                    "per_field": figures.per_field,
                    "redundant_questions": figures.redundant,
                    "median_turns": figures.median_turns,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
