"""Batch intake on a real Dovecot (docs/email.md "Fast intake").

Hundreds of mails are fetched in UID batches, parsed off the event loop and
committed a batch per transaction: each stored once, the checkpoint at the last
UID, the mail left on the server unflagged, a re-read storing nothing new; bad
mail in a batch is quarantined while the rest of it is stored; a transient
store failure leaves the checkpoint before the first UID not committed.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from channels.base import InboundMessage
from channels.email.imap import ImapPoller
from channels.email.mailbox_store import load_checkpoint, reset_checkpoint
from gateway.channel_configs import email_config
from gateway.ingest import ingest, ingest_batch
from storage.db import SessionFactory
from storage.models import Message, QuarantinedInbound
from tests.email.conftest import Mailbox, sample
from tests.email.memory_mailbox import plain
from tests.email.test_intake_guards import TRUSTED, authenticated
from tests.harness.rows import count_rows

pytestmark = pytest.mark.imap


def batch_poller(
    mailbox: Mailbox, sessions: SessionFactory, *, batch: int = 50, **settings: object
) -> ImapPoller:
    async def accept(message: InboundMessage) -> object:
        return await ingest(sessions, message)

    async def accept_batch(messages: Sequence[InboundMessage]) -> object:
        return await ingest_batch(sessions, messages)

    return ImapPoller(
        email_config(mailbox.settings(**settings)),
        sessions,
        accept,
        accept_batch=accept_batch,
        holder="batch-test",
        batch_max_messages=batch,
        timeout_seconds=10.0,
    )


async def count(sessions: SessionFactory, model: type, *where: object) -> int:
    return await count_rows(sessions, model, *where)


async def test_three_hundred_mails_are_stored_once_and_left_on_the_server(
    mailbox: Mailbox, any_sessions: SessionFactory
) -> None:
    uids = [
        await mailbox.append(plain(f"batch-{n}@example.com", sender=f"warga{n}@example.com"))
        for n in range(300)
    ]
    poller = batch_poller(mailbox, any_sessions)

    assert await poller.poll_once() == 300

    assert await count(any_sessions, Message) == 300
    async with any_sessions() as s:
        ids = set(await s.scalars(select(Message.external_id)))
    assert ids == {f"batch-{n}@example.com" for n in range(300)}
    checkpoint = await load_checkpoint(any_sessions, poller.mailbox_key)
    assert checkpoint is not None and checkpoint.last_uid == uids[-1]
    flags = await mailbox.flags()
    assert sorted(flags) == uids
    assert all(not ({"\\Seen", "\\Deleted"} & f) for f in flags.values())

    # Nothing new: a second round fetches nothing; read again from UID 1 (the
    # checkpoint lost), every mail is a duplicate and nothing is added.
    assert await poller.poll_once() == 0
    await reset_checkpoint(any_sessions, poller.mailbox_key, checkpoint.uidvalidity)
    assert await batch_poller(mailbox, any_sessions, batch=120).poll_once() == 300
    assert await count(any_sessions, Message) == 300
    assert await count(any_sessions, QuarantinedInbound) == 0


async def test_bad_mail_in_a_batch_is_quarantined_and_the_rest_stored(
    mailbox: Mailbox, any_sessions: SessionFactory
) -> None:
    good_before = await mailbox.append(plain("good-1@example.com", sender="a@example.com"))
    junk = await mailbox.append(sample("malformed_no_from.eml"))
    forged = await mailbox.append(
        authenticated("forged@attacker.example", "Keluhan", f"{TRUSTED}; spf=fail; dmarc=fail")
    )
    good_after = await mailbox.append(plain("good-2@example.com", sender="b@example.com"))
    poller = batch_poller(mailbox, any_sessions, imap_trusted_authserv_id=TRUSTED)

    assert await poller.poll_once() == 4

    async with any_sessions() as s:
        stored = sorted(await s.scalars(select(Message.external_id)))
        kept = {
            row.source_ref.rsplit(":", 1)[1]: row.error
            for row in await s.scalars(select(QuarantinedInbound))
        }
    assert stored == ["good-1@example.com", "good-2@example.com"]
    assert set(kept) == {str(junk), str(forged)}
    assert kept[str(forged)].startswith(f"authentication failed at {TRUSTED}")
    checkpoint = await load_checkpoint(any_sessions, poller.mailbox_key)
    assert checkpoint is not None and checkpoint.last_uid == good_after > good_before


async def test_a_transient_failure_stops_before_the_first_uid_not_committed(
    mailbox: Mailbox, any_sessions: SessionFactory
) -> None:
    uids = [
        await mailbox.append(plain(f"t-{n}@example.com", sender=f"w{n}@example.com"))
        for n in range(25)
    ]
    down = {"t-12@example.com"}

    async def accept(message: InboundMessage) -> object:
        if message.external_id in down:
            raise OperationalError("INSERT", None, ConnectionRefusedError("database down"))
        return await ingest(any_sessions, message)

    async def accept_batch(messages: Sequence[InboundMessage]) -> object:
        if down & {m.external_id for m in messages}:
            raise OperationalError("INSERT", None, ConnectionRefusedError("database down"))
        return await ingest_batch(any_sessions, messages)

    poller = ImapPoller(
        email_config(mailbox.settings()),
        any_sessions,
        accept,
        accept_batch=accept_batch,
        holder="batch-test",
        batch_max_messages=10,
        store_attempts=5,
    )
    # UIDs 1-10 in one batch; the next batch fails, so 11 and 12 one by one; 13 fails.
    assert await poller.poll_once() == 12
    checkpoint = await load_checkpoint(any_sessions, poller.mailbox_key)
    assert checkpoint is not None and checkpoint.last_uid == uids[11]
    assert await count(any_sessions, Message) == 12
    assert await count(any_sessions, QuarantinedInbound) == 0

    down.clear()  # the database is back: the round goes on where it stopped
    assert await poller.poll_once() == 13
    checkpoint = await load_checkpoint(any_sessions, poller.mailbox_key)
    assert checkpoint is not None and checkpoint.last_uid == uids[-1]
    assert await count(any_sessions, Message) == 25
