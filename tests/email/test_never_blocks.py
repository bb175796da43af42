"""Email intake never blocks: mail that cannot be parsed or stored is quarantined and passed.

These tests run the real poller (:class:`channels.email.imap.ImapPoller`) over an
in-memory mailbox that speaks the same interface as the IMAP connection, into
the whole runtime (ingest, processing, outbox) on SQLite and on PostgreSQL;
``test_end_to_end.py`` repeats the acceptance case on a real Dovecot.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

import channels.email.imap as imap_module
import channels.email.parse_pool as parse_pool_module
from channels.base import InboundMessage
from channels.email.imap import is_transient
from channels.email.mailbox_store import load_checkpoint
from channels.email.parse import parse_email
from storage.models import Attachment, Message, QuarantinedInbound
from tests.conftest import _postgres_engine
from tests.email.memory_mailbox import (
    CONFIG,
    LONG_TYPE,
    MemoryMailbox,
    MemoryPoller,
    plain,
    with_attachment,
)
from tests.harness.rows import count_rows
from tests.runtime_fixtures import Harness, make_harness
from tests.services import POSTGRES_URL


@pytest.fixture(autouse=True)
def parse_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parse on a thread of this process, so a patched ``parse_email`` is the one used."""
    monkeypatch.setattr(imap_module, "PARSE_PROCESSES", 0)


@pytest.fixture(params=["sqlite", "postgresql"])
async def both(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    """A started runtime (recording channels) on SQLite, then on PostgreSQL."""
    settings: dict[str, object] = {}
    if request.param == "postgresql":
        engine = await _postgres_engine()  # a fresh schema (skips when PostgreSQL is absent)
        await engine.dispose()
        settings["database_url"] = POSTGRES_URL
    h = await make_harness(tmp_path, **settings)
    yield h
    await h.runtime.close()


def poller_for(box: MemoryMailbox, h: Harness, **options: Any) -> MemoryPoller:
    return MemoryPoller(box, CONFIG, h.runtime.sessions, h.runtime.accept, holder="t", **options)


def unguarded(break_value: Callable[[str], str]) -> Callable[..., InboundMessage]:
    """``parse_email`` as it was before its values were made storable: each attachment's
    content type is the one the email package read, passed through ``break_value``."""

    def parse(raw: bytes, **kwargs: Any) -> InboundMessage:
        message = parse_email(raw, **kwargs)
        return dataclasses.replace(
            message,
            attachments=tuple(
                dataclasses.replace(a, content_type=break_value(LONG_TYPE))
                for a in message.attachments
            ),
        )

    return parse


async def count(h: Harness, model: type, *where: object) -> int:
    return await count_rows(h.runtime.sessions, model, *where)


async def test_a_mail_that_cannot_be_stored_is_quarantined_and_the_next_is_answered(
    both: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fault as found: PostgreSQL refuses a 320-character value in varchar(200).
    # SQLite ignores lengths; there a lone surrogate no UTF-8 driver encodes fails it.
    if both.runtime.engine.dialect.name == "postgresql":
        monkeypatch.setattr(parse_pool_module, "parse_email", unguarded(lambda v: v))
    else:
        monkeypatch.setattr(parse_pool_module, "parse_email", unguarded(lambda v: v + "\udcff"))
    box = MemoryMailbox()
    first = box.append(with_attachment("long-type@example.com", LONG_TYPE))
    second = box.append(plain("normal@example.com"))
    poller = poller_for(box, both)

    assert await poller.poll_once() == 2
    await both.settle()

    async with both.runtime.sessions() as s:
        [kept] = list(await s.scalars(select(QuarantinedInbound)))
    assert kept.source_ref.endswith(f"#7:{first}")
    assert kept.error.startswith("could not be stored: ")
    assert kept.raw == box.mail[first]
    checkpoint = await load_checkpoint(both.runtime.sessions, poller.mailbox_key)
    assert checkpoint is not None and checkpoint.last_uid == second
    assert [m.thread_refs[0] for m in both.email.sent] == ["normal@example.com"]
    assert await count(both, Message, Message.external_id == "long-type@example.com") == 0

    # Polling again neither retries it nor adds it twice.
    assert await poller.poll_once() == 0
    assert await count(both, QuarantinedInbound) == 1


@pytest.mark.parametrize(
    ("content_type", "stored"),
    [
        (LONG_TYPE, "application/octet-stream"),
        ("application/pdf\x00; name=x", "application/pdf"),
        ("application/\udcffpdf", "application/octet-stream"),
    ],
    ids=["320 characters", "NUL", "undecodable byte"],
)
async def test_the_parser_makes_a_hostile_content_type_storable(
    both: Harness, content_type: str, stored: str
) -> None:
    box = MemoryMailbox()
    box.append(with_attachment("hostile@example.com", content_type))
    box.append(plain("normal@example.com"))
    poller = poller_for(box, both)

    assert await poller.poll_once() == 2
    await both.settle()

    assert await count(both, QuarantinedInbound) == 0
    async with both.runtime.sessions() as s:
        [attachment] = list(await s.scalars(select(Attachment)))
    assert attachment.content_type == stored
    assert attachment.filename == "bukti.pdf" and attachment.content == b"%PDF-1.4\n"
    assert sorted(m.thread_refs[0] for m in both.email.sent) == [
        "hostile@example.com",
        "normal@example.com",
    ]


async def test_a_transient_store_failure_is_retried_then_quarantined(
    harness: Harness,
) -> None:
    calls: list[str] = []

    async def accept(message: InboundMessage) -> object:
        calls.append(message.external_id)
        if message.external_id == "stuck@example.com":
            raise OperationalError("INSERT", None, ConnectionResetError("connection reset"))
        return await harness.runtime.accept(message)

    box = MemoryMailbox()
    stuck = box.append(plain("stuck@example.com"))
    after = box.append(plain("after@example.com", sender="rina@example.com"))
    poller = MemoryPoller(
        box, CONFIG, harness.runtime.sessions, accept, holder="t", store_attempts=3
    )

    assert await poller.poll_once() == 0  # the database may come back: retried
    assert await poller.poll_once() == 0
    assert await count(harness, QuarantinedInbound) == 0
    assert await poller.poll_once() == 2  # third failure: kept aside, the next one taken in
    assert calls == ["stuck@example.com"] * 3 + ["after@example.com"]
    async with harness.runtime.sessions() as s:
        [kept] = list(await s.scalars(select(QuarantinedInbound)))
    assert kept.source_ref.endswith(f"#7:{stuck}") and "OperationalError" in kept.error
    checkpoint = await load_checkpoint(harness.runtime.sessions, poller.mailbox_key)
    assert checkpoint is not None and checkpoint.last_uid == after


def test_which_store_failures_are_transient() -> None:
    assert is_transient(OperationalError("SELECT 1", None, OSError("refused")))
    assert is_transient(ConnectionRefusedError())
    assert is_transient(TimeoutError())
    assert not is_transient(ValueError("bad value"))
    assert not is_transient(UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed"))
