"""The IMAP poller against a real Dovecot (docs/channels.md, "Email")."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func, select

from channels.email.config import Security as WireSecurity
from channels.email.imap import ImapPoller, mailbox_key_for
from channels.email.imap_client import (
    IDLE_MAX_SECONDS,
    ImapConnection,
    ImapError,
    encode_mailbox_name,
)
from channels.email.mailbox_store import load_checkpoint
from gateway.channel_configs import email_config
from gateway.config import Security
from gateway.ingest import ingest
from storage.db import SessionFactory
from storage.models import Lease, Message, QuarantinedInbound
from tests.email.conftest import IMAP_PASSWORD, Mailbox, RecordingAccept, sample
from tests.services import free_port

pytestmark = pytest.mark.imap

GOOD = ["gmail_reply_id.eml", "latin1_base64.eml", "attachments.eml"]


def poller(
    mailbox: Mailbox,
    sessions: SessionFactory,
    accept: Callable[..., Awaitable[object]],
    holder: str = "test-holder",
    **options: object,
) -> ImapPoller:
    settings_overrides = options.pop("settings", {})
    assert isinstance(settings_overrides, dict)
    return ImapPoller(
        email_config(mailbox.settings(**settings_overrides)),
        sessions,
        accept,
        holder=holder,
        lease_ttl_seconds=1.5,
        retry_seconds=0.05,
        max_backoff_seconds=0.2,
        timeout_seconds=5.0,
        **options,  # type: ignore[arg-type]
    )


async def wait_until(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def test_poll_once_ingests_each_message_once_and_keeps_flags(
    mailbox: Mailbox, sessions: SessionFactory, recording_accept: RecordingAccept
) -> None:
    uids = [await mailbox.append(sample(name)) for name in GOOD]
    flagged = await mailbox.append(sample("auto_submitted_no.eml"), flags="\\Flagged")
    before = await mailbox.flags()
    p = poller(mailbox, sessions, recording_accept)

    assert await p.poll_once() == 4
    assert recording_accept.ids == [
        "CAHk3x9pQ7f+Zs1=abc123XYZ@mail.gmail.com",
        "20260115080000.A1B2@example.id",
        "attach-1@example.id",
        "asno-1@example.id",
    ]
    checkpoint = await load_checkpoint(sessions, p.mailbox_key)
    assert checkpoint is not None and checkpoint.last_uid == flagged
    assert checkpoint.uidvalidity == await mailbox.uidvalidity()

    # A second round finds nothing new (UID SEARCH last+1:* returns the last UID; it is dropped).
    assert await p.poll_once() == 0
    assert len(recording_accept.calls) == 4

    # BODY.PEEK: no \Seen set, other flags untouched, nothing deleted.
    after = await mailbox.flags()
    assert after == before
    assert set(after) == {*uids, flagged}
    assert after[flagged] == {"\\Flagged"}
    assert all("\\Seen" not in flags for flags in after.values())

    new_uid = await mailbox.append(sample("signature_thunderbird.eml"))
    assert await p.poll_once() == 1
    assert recording_accept.ids[-1] == "tb-1@example.id"
    checkpoint = await load_checkpoint(sessions, p.mailbox_key)
    assert checkpoint is not None and checkpoint.last_uid == new_uid


async def test_mailbox_key_shape(mailbox: Mailbox) -> None:
    settings = mailbox.settings()
    assert mailbox_key_for(email_config(settings)) == (
        f"pengaduan@bspji.test@127.0.0.1:{mailbox.server.port}/{mailbox.name}"
    )


async def test_uidvalidity_change_rescans_without_duplicates(
    mailbox: Mailbox, sessions: SessionFactory
) -> None:
    """Real ingest into the database: the rescan stores nothing twice (Message-ID dedupe)."""
    for name in GOOD:
        await mailbox.append(sample(name))
    p = poller(mailbox, sessions, functools.partial(ingest, sessions))
    assert await p.poll_once() == 3
    first = await load_checkpoint(sessions, p.mailbox_key)
    assert first is not None

    # The mailbox is recreated (restored from backup, migrated): same mail, new UIDVALIDITY,
    # UIDs start at 1 again, all of them <= the old checkpoint.
    await mailbox.recreate()
    for name in [*GOOD, "no_message_id.eml"]:
        await mailbox.append(sample(name))
    assert await mailbox.uidvalidity() != first.uidvalidity

    assert await p.poll_once() == 4
    second = await load_checkpoint(sessions, p.mailbox_key)
    assert second is not None
    assert second.uidvalidity == await mailbox.uidvalidity()
    assert second.last_uid == 4
    async with sessions() as session:
        ids = (await session.scalars(select(Message.external_id).order_by(Message.id))).all()
    assert len(ids) == 4 == len(set(ids))
    assert ids[-1] is not None and ids[-1].startswith("sha256:")

    # A re-append of the message without Message-ID dedupes on the header hash.
    await mailbox.append(sample("no_message_id.eml"))
    assert await p.poll_once() == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count(Message.id))) == 4


async def test_malformed_message_is_quarantined_and_does_not_block(
    mailbox: Mailbox, sessions: SessionFactory, recording_accept: RecordingAccept
) -> None:
    bad_uid = await mailbox.append(sample("malformed_no_from.eml"))
    good_uid = await mailbox.append(sample("latin1_base64.eml"))
    p = poller(mailbox, sessions, recording_accept)

    assert await p.poll_once() == 2
    assert recording_accept.ids == ["20260115080000.A1B2@example.id"]
    validity = await mailbox.uidvalidity()
    async with sessions() as session:
        rows = (await session.scalars(select(QuarantinedInbound))).all()
    assert len(rows) == 1
    assert rows[0].channel == "email"
    assert rows[0].source_ref == f"{p.mailbox_key}#{validity}:{bad_uid}"
    assert rows[0].raw == sample("malformed_no_from.eml")
    assert "InboundParseError" in rows[0].error
    checkpoint = await load_checkpoint(sessions, p.mailbox_key)
    assert checkpoint is not None and checkpoint.last_uid == good_uid

    # Polling again adds nothing, and a rescan would not add the quarantine row twice.
    assert await p.poll_once() == 0
    async with sessions() as session:
        assert await session.scalar(select(func.count(QuarantinedInbound.id))) == 1


async def test_accept_failure_does_not_advance_past_the_message(
    mailbox: Mailbox, sessions: SessionFactory, recording_accept: RecordingAccept
) -> None:
    uids = [await mailbox.append(sample(name)) for name in GOOD]
    recording_accept.fail_ids.add("20260115080000.A1B2@example.id")
    p = poller(mailbox, sessions, recording_accept)

    assert await p.poll_once() == 1
    assert recording_accept.ids == ["CAHk3x9pQ7f+Zs1=abc123XYZ@mail.gmail.com"]
    checkpoint = await load_checkpoint(sessions, p.mailbox_key)
    assert checkpoint is not None and checkpoint.last_uid == uids[0]
    assert "accept failed at UID" in (p.status()["last_error"] or "")

    assert await p.poll_once() == 0  # still failing: nothing skipped
    assert recording_accept.ids == ["CAHk3x9pQ7f+Zs1=abc123XYZ@mail.gmail.com"]

    recording_accept.fail_ids.clear()
    assert await p.poll_once() == 2
    assert recording_accept.ids == [
        "CAHk3x9pQ7f+Zs1=abc123XYZ@mail.gmail.com",
        "20260115080000.A1B2@example.id",
        "attach-1@example.id",
    ]
    checkpoint = await load_checkpoint(sessions, p.mailbox_key)
    assert checkpoint is not None and checkpoint.last_uid == uids[-1]


async def test_parsed_fields_survive_the_round_trip(
    mailbox: Mailbox, sessions: SessionFactory, recording_accept: RecordingAccept
) -> None:
    await mailbox.append(sample("attachments.eml"))
    await mailbox.append(sample("own_address.eml"))
    p = poller(mailbox, sessions, recording_accept)
    assert await p.poll_once() == 2
    attached, own = recording_accept.calls
    assert [a.filename for a in attached.attachments] == [
        "attachment-1.png",
        "bukti bayar—Jan.pdf",
        "rekaman.bin",
    ]
    assert attached.attachments[2].skipped_reason is not None  # over 5000 bytes
    assert own.automatic  # from ADUAN_EMAIL_FROM


async def test_run_uses_idle_and_only_one_poller_holds_the_lease(
    mailbox: Mailbox, sessions: SessionFactory
) -> None:
    accept_a, accept_b = RecordingAccept(), RecordingAccept()
    # A long poll interval: only IDLE can make new mail show up quickly.
    slow = {"imap_poll_seconds": 120.0}
    a = poller(mailbox, sessions, accept_a, holder="process-a", settings=slow)
    b = poller(mailbox, sessions, accept_b, holder="process-b", settings=slow)
    task_a = asyncio.create_task(a.run())
    await wait_until(lambda: a.holds_lease and a.status()["last_poll_at"] is not None)
    task_b = asyncio.create_task(b.run())
    try:
        await asyncio.sleep(0.3)
        assert not b.holds_lease
        async with sessions() as session:
            lease = await session.get(Lease, a.lease_name)
        assert lease is not None and lease.holder == "process-a"

        await mailbox.append(sample("gmail_reply_id.eml"))
        await wait_until(lambda: len(accept_a.calls) == 1)
        assert a.status()["idle"] is True
        assert accept_b.calls == []

        # Lease renewal keeps A in charge beyond one TTL (1.5 s).
        await asyncio.sleep(1.8)
        assert a.holds_lease and not b.holds_lease

        await a.stop()
        await task_a
        assert not a.holds_lease
        await wait_until(lambda: b.holds_lease)
        await mailbox.append(sample("latin1_base64.eml"))
        await wait_until(lambda: len(accept_b.calls) == 1)
        assert accept_b.ids == ["20260115080000.A1B2@example.id"]  # no re-delivery of the first
        assert accept_a.ids == ["CAHk3x9pQ7f+Zs1=abc123XYZ@mail.gmail.com"]
    finally:
        await a.stop()
        await b.stop()
        await asyncio.gather(task_a, task_b, return_exceptions=True)
    async with sessions() as session:
        assert await session.get(Lease, b.lease_name) is None  # released on stop


async def test_run_falls_back_to_polling_without_idle(
    mailbox: Mailbox,
    sessions: SessionFactory,
    recording_accept: RecordingAccept,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ImapConnection, "supports_idle", property(lambda self: False))
    p = poller(mailbox, sessions, recording_accept, settings={"imap_poll_seconds": 0.1})
    task = asyncio.create_task(p.run())
    try:
        await wait_until(lambda: p.status()["last_poll_at"] is not None)
        await mailbox.append(sample("latin1_base64.eml"))
        await wait_until(lambda: len(recording_accept.calls) == 1)
        assert p.status()["idle"] is False
    finally:
        await p.stop()
        await task


async def test_run_retries_after_accept_failure(
    mailbox: Mailbox, sessions: SessionFactory, recording_accept: RecordingAccept
) -> None:
    await mailbox.append(sample("latin1_base64.eml"))
    recording_accept.fail_ids.add("20260115080000.A1B2@example.id")
    p = poller(mailbox, sessions, recording_accept, settings={"imap_poll_seconds": 120.0})
    task = asyncio.create_task(p.run())
    try:
        await wait_until(lambda: p.status()["last_error"] is not None)
        recording_accept.fail_ids.clear()
        # Retried with backoff, not after the next IDLE wake-up (which would never come).
        await wait_until(lambda: len(recording_accept.calls) == 1)
    finally:
        await p.stop()
        await task


async def test_run_reconnects_with_backoff_and_never_logs_the_password(
    mailbox: Mailbox,
    sessions: SessionFactory,
    recording_accept: RecordingAccept,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each attempt logs in (sending the password) and then fails on a missing mailbox."""
    caplog.set_level(logging.DEBUG)  # aioimaplib logs every command at DEBUG
    # ...unless the application's logging set it quieter (gateway/logs.py) in an
    # earlier test of this process: its own level is set here too, and restored.
    caplog.set_level(logging.DEBUG, logger="aioimaplib")
    p = poller(mailbox, sessions, recording_accept, settings={"imap_mailbox": "Belum Ada"})
    task = asyncio.create_task(p.run())
    try:
        await wait_until(lambda: caplog.text.count("retrying in") >= 4)
    finally:
        await p.stop()
        await task
    delays = [
        float(r.getMessage().split("retrying in ")[1].split()[0])
        for r in caplog.records
        if "retrying in" in r.getMessage()
    ]
    assert delays[:4] == [0.05, 0.1, 0.2, 0.2]  # doubled, capped at max_backoff_seconds
    assert "EXAMINE" in (p.status()["last_error"] or "")
    assert "LOGIN" in caplog.text  # the command was logged, its arguments were not
    assert IMAP_PASSWORD not in caplog.text
    assert 'rahasia \\"imap\\"' not in caplog.text
    assert IMAP_PASSWORD not in str(p.status())
    assert recording_accept.calls == []


async def _reject_logins(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A minimal IMAP server that refuses every LOGIN (Dovecot would penalise the test IP)."""
    writer.write(b"* OK [CAPABILITY IMAP4rev1 IDLE] fake ready\r\n")
    while line := await reader.readline():
        tag, command = line.split()[:2]
        if command.upper() == b"CAPABILITY":
            writer.write(b"* CAPABILITY IMAP4rev1 IDLE\r\n" + tag + b" OK done\r\n")
        elif command.upper() == b"LOGIN":
            writer.write(tag + b" NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
        else:
            writer.write(b"* BYE\r\n" + tag + b" OK bye\r\n")
            break
        await writer.drain()
    writer.close()


async def test_wrong_password_is_an_imap_error_without_the_password(
    mailbox: Mailbox, sessions: SessionFactory, recording_accept: RecordingAccept
) -> None:
    server = await asyncio.start_server(_reject_logins, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    wrong = "salah-" + IMAP_PASSWORD
    p = poller(
        mailbox, sessions, recording_accept, settings={"imap_password": wrong, "imap_port": port}
    )
    try:
        with pytest.raises(ImapError, match=r"rejected: \[AUTHENTICATIONFAILED\]") as info:
            await p.poll_once()
    finally:
        server.close()
        await server.wait_closed()
    assert wrong not in str(info.value)


async def test_connection_refused_is_an_imap_error(
    mailbox: Mailbox, sessions: SessionFactory, recording_accept: RecordingAccept
) -> None:
    p = poller(mailbox, sessions, recording_accept, settings={"imap_port": free_port()})
    with pytest.raises(ImapError, match="cannot connect"):
        await p.poll_once()


async def test_poll_once_raises_imap_error_for_a_missing_mailbox(
    mailbox: Mailbox, sessions: SessionFactory, recording_accept: RecordingAccept
) -> None:
    p = poller(mailbox, sessions, recording_accept, settings={"imap_mailbox": "Tidak Ada"})
    with pytest.raises(ImapError, match="EXAMINE"):
        await p.poll_once()


async def test_starttls_and_implicit_tls(
    mailbox: Mailbox, sessions: SessionFactory, recording_accept: RecordingAccept
) -> None:
    server = mailbox.server
    if server.cafile is None or server.ssl_port is None:
        pytest.skip("openssl not available: Dovecot runs without TLS")
    await mailbox.append(sample("latin1_base64.eml"))
    starttls = poller(
        mailbox,
        sessions,
        recording_accept,
        settings={"imap_security": Security.STARTTLS},
        ssl_context=server.ssl_context(),
    )
    assert await starttls.poll_once() == 1

    await mailbox.append(sample("gmail_reply_id.eml"))
    implicit = poller(
        mailbox,
        sessions,
        recording_accept,
        settings={"imap_security": Security.SSL, "imap_port": server.ssl_port},
        ssl_context=server.ssl_context(),
    )
    assert implicit.mailbox_key != starttls.mailbox_key  # the port is part of the key
    assert await implicit.poll_once() == 2  # its own checkpoint: both messages
    assert len(recording_accept.calls) == 3


async def test_tls_with_an_untrusted_certificate_fails_cleanly(
    mailbox: Mailbox, sessions: SessionFactory, recording_accept: RecordingAccept
) -> None:
    server = mailbox.server
    if server.ssl_port is None:
        pytest.skip("openssl not available: Dovecot runs without TLS")
    p = poller(
        mailbox,
        sessions,
        recording_accept,
        settings={"imap_security": Security.SSL, "imap_port": server.ssl_port},
    )
    with pytest.raises(ImapError, match="cannot connect"):
        await p.poll_once()
    # STARTTLS against the system trust store: the self-signed certificate is refused.
    p = poller(mailbox, sessions, recording_accept, settings={"imap_security": Security.STARTTLS})
    with pytest.raises(ImapError, match="STARTTLS failed"):
        await p.poll_once()
    assert recording_accept.calls == []


async def test_idle_wakes_on_new_mail_times_out_and_stops(mailbox: Mailbox) -> None:
    assert IDLE_MAX_SECONDS < 29 * 60  # RFC 2177: re-issue before the server's 30 minutes
    conn = await ImapConnection.open(
        host=mailbox.server.host,
        port=mailbox.server.port,
        security=WireSecurity.NONE,
        user=mailbox.settings().imap_user or "",
        password=IMAP_PASSWORD,
        command_timeout=5.0,
    )
    try:
        assert conn.supports_idle
        state = await conn.examine(mailbox.name)
        assert state.exists == 0 and state.uidnext == 1
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        started = loop.time()
        assert await conn.idle(0.3, stop) is False  # nothing new: ends at the deadline
        assert 0.25 < loop.time() - started < 2.0

        async def append_soon() -> None:
            await asyncio.sleep(0.2)
            await mailbox.append(sample("latin1_base64.eml"))

        appender = asyncio.create_task(append_soon())
        assert await conn.idle(30.0, stop) is True  # woken by EXISTS, well before 30 s
        await appender

        loop.call_later(0.2, stop.set)
        started = loop.time()
        assert await conn.idle(30.0, stop) is False  # stop() ends it promptly
        assert loop.time() - started < 2.0
        assert await conn.uids_after(0) == [1]  # the connection is still usable
        assert await conn.fetch(99) is None
    finally:
        await conn.close()


def test_mailbox_names_are_quoted_and_utf7_encoded() -> None:
    assert encode_mailbox_name("INBOX") == '"INBOX"'
    assert encode_mailbox_name('Pengaduan "Warga"') == '"Pengaduan \\"Warga\\""'
    assert encode_mailbox_name("Keluhan & Saran") == '"Keluhan &- Saran"'
    assert encode_mailbox_name("Café") == '"Caf&AOk-"'
