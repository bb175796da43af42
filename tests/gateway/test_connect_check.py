"""``aduan check-config --connect`` against local fakes of every provider, a real
Dovecot and an SMTP sink (docs/startup.md, "Checking the connections")."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.email.conftest import (  # noqa: F401  (fixtures)
    IMAP_PASSWORD,
    IMAP_USER,
    Mailbox,
    SmtpSink,
    dovecot,
    mailbox,
    smtp_sink,
)
from tests.gateway.startup_cli import Ran, clean_env, run_aduan_async
from tests.hung_server import hung_server
from tests.services import free_port, self_signed
from tests.telegram.fake_bot_api import FakeBotApi
from tests.twilio.fake_twilio import FakeTwilio
from tests.whatsapp_cloud.fake_graph import FakeGraph

TG_TOKEN = "7654321:" + "T" * 35
TWILIO_SID = "AC" + "7" * 32
TWILIO_TOKEN = "connect-check-twilio-token"
GRAPH_TOKEN = "EAA-connect-check-token"
PHONE_ID = "109876543210"


@dataclass
class Fakes:
    """Running fakes and the settings that point at them."""

    env: dict[str, str]
    tmp: Path
    sink: SmtpSink


@pytest.fixture
async def fakes(
    tmp_path: Path,
    mailbox: Mailbox,  # noqa: F811
    smtp_sink: SmtpSink,  # noqa: F811
    aiohttp_server: object,
) -> AsyncIterator[Fakes]:
    bot = FakeBotApi(TG_TOKEN)
    bot_server = await aiohttp_server(bot.app)  # type: ignore[operator]
    bot.base = str(bot_server.make_url("")).rstrip("/")
    graph = FakeGraph(GRAPH_TOKEN)
    graph.phone_numbers[PHONE_ID] = "+62 21 1234 567"
    graph_server = await aiohttp_server(graph.app)  # type: ignore[operator]
    twilio = FakeTwilio(TWILIO_SID, TWILIO_TOKEN)
    await twilio.start()
    env = clean_env(
        tmp_path,
        ADUAN_IMAP_HOST=mailbox.server.host,
        ADUAN_IMAP_PORT=str(mailbox.server.port),
        ADUAN_IMAP_USER=IMAP_USER,
        ADUAN_IMAP_PASSWORD=IMAP_PASSWORD,
        ADUAN_IMAP_SECURITY="none",
        ADUAN_SMTP_HOST=smtp_sink.host,
        ADUAN_SMTP_PORT=str(smtp_sink.port),
        ADUAN_SMTP_SECURITY="none",
        ADUAN_SMTP_USER="pengaduan",
        ADUAN_SMTP_PASSWORD="smtp-secret",
        ADUAN_EMAIL_FROM="pengaduan@bspji.go.id",
        ADUAN_TWILIO_ACCOUNT_SID=TWILIO_SID,
        ADUAN_TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        ADUAN_TWILIO_API_BASE=twilio.url,
        ADUAN_WHATSAPP_TOKEN=GRAPH_TOKEN,
        ADUAN_WHATSAPP_PHONE_NUMBER_ID=PHONE_ID,
        ADUAN_WHATSAPP_API_BASE=str(graph_server.make_url("")).rstrip("/"),
        ADUAN_TELEGRAM_TOKEN=TG_TOKEN,
        ADUAN_TELEGRAM_MODE="polling",
        ADUAN_TELEGRAM_API_BASE=bot.api_base,
    )
    migrated = await run_aduan_async(tmp_path, env, "db", "upgrade")
    assert migrated.code == 0, migrated.err
    try:
        yield Fakes(env, tmp_path, smtp_sink)
    finally:
        await twilio.close()


async def check(fakes: Fakes, *extra: str, **settings: str) -> Ran:
    env = {**fakes.env, **settings}
    return await run_aduan_async(fakes.tmp, env, "check-config", "--connect", *extra)


def lines(ran: Ran) -> dict[str, str]:
    """``{name: "OK …" or "FAIL …"}`` from the report."""
    found = {}
    for line in ran.out.splitlines():
        verdict, rest = line.split(" ", 1)
        name, detail = rest.strip().split(": ", 1)
        found[name] = f"{verdict} {detail}"
    return found


async def test_every_check_passes_against_the_fakes(fakes: Fakes) -> None:
    ran = await check(fakes)
    assert ran.code == 0, ran.out + ran.err
    report = lines(ran)
    assert set(report) == {"database", "imap", "smtp", "twilio", "whatsapp", "telegram"}
    assert all(value.startswith("OK") for value in report.values()), ran.out
    assert "revision" in report["database"]
    assert "@AduanTestBot" in report["telegram"]
    assert "+62 21 1234 567" in report["whatsapp"]
    assert ("pengaduan", "smtp-secret") in fakes.sink.handler.logins
    for secret in (TG_TOKEN, TWILIO_TOKEN, GRAPH_TOKEN, "smtp-secret", IMAP_PASSWORD):
        assert secret not in ran.out + ran.err


async def test_wrong_credentials_and_tokens_fail_by_name(fakes: Fakes) -> None:
    ran = await check(
        fakes,
        ADUAN_IMAP_PASSWORD="wrong imap password",
        ADUAN_SMTP_PASSWORD="wrong-smtp",
        ADUAN_TWILIO_AUTH_TOKEN="wrong-twilio-token",
        ADUAN_WHATSAPP_TOKEN="EAA-wrong",
        ADUAN_TELEGRAM_TOKEN="1111:" + "W" * 35,
    )
    assert ran.code == 2
    report = lines(ran)
    assert report["database"].startswith("OK")
    assert report["imap"].startswith("FAIL") and "rejected" in report["imap"]
    assert report["smtp"].startswith("FAIL ADUAN_SMTP_USER/ADUAN_SMTP_PASSWORD")
    assert report["twilio"].startswith("FAIL ADUAN_TWILIO_ACCOUNT_SID/ADUAN_TWILIO_AUTH_TOKEN")
    assert report["whatsapp"].startswith("FAIL ADUAN_WHATSAPP_TOKEN")
    assert report["telegram"].startswith("FAIL ADUAN_TELEGRAM_TOKEN")
    for secret in ("wrong imap password", "wrong-smtp", "wrong-twilio-token", "W" * 35):
        assert secret not in ran.out + ran.err


async def test_refused_ports_fail_by_name(fakes: Fakes) -> None:
    closed = free_port()
    ran = await check(
        fakes,
        ADUAN_SMTP_PORT=str(closed),
        ADUAN_REDIS_URL=f"redis://127.0.0.1:{closed}/0",
        ADUAN_DATABASE_URL=f"postgresql+asyncpg://aduan@127.0.0.1:{closed}/aduan",
    )
    assert ran.code == 2
    report = lines(ran)
    assert report["database"].startswith("FAIL ADUAN_DATABASE_URL: nothing accepts")
    assert report["redis"].startswith("FAIL ADUAN_REDIS_URL")
    assert report["smtp"].startswith("FAIL ADUAN_SMTP_HOST")
    assert report["telegram"].startswith("OK")


async def test_an_unmigrated_database_fails(fakes: Fakes) -> None:
    ran = await check(fakes, ADUAN_DATA_DIR=str(fakes.tmp / "empty"))
    assert ran.code == 2
    assert "run 'aduan db upgrade'" in lines(ran)["database"]


async def test_a_hung_server_fails_within_its_deadline(fakes: Fakes) -> None:
    async with hung_server() as port:
        ran = await check(
            fakes,
            "--timeout",
            "1",
            ADUAN_TELEGRAM_API_BASE=f"http://127.0.0.1:{port}/bot",
            ADUAN_IMAP_PORT=str(port),
            ADUAN_REDIS_URL=f"redis://127.0.0.1:{port}/0",
        )
    assert ran.code == 2
    report = lines(ran)
    assert report["telegram"] == "FAIL ADUAN_TELEGRAM_API_BASE: no answer within 1 s"
    assert report["imap"].startswith("FAIL")
    assert report["redis"].startswith("FAIL")


async def test_webhook_modes_need_the_public_url_over_https(fakes: Fakes, tmp_path: Path) -> None:
    webhook = {"ADUAN_TELEGRAM_MODE": "webhook", "ADUAN_TELEGRAM_WEBHOOK_SECRET": "hook-secret"}
    ran = await check(fakes, **webhook)
    assert lines(ran)["public url"] == (
        "FAIL ADUAN_PUBLIC_URL is not set; providers need it to deliver webhooks"
    )
    ran = await check(fakes, ADUAN_PUBLIC_URL="http://aduan.example.go.id", **webhook)
    assert ran.code == 2
    assert "must be https://" in lines(ran)["public url"]

    pair = self_signed(tmp_path, dns="localhost")
    if pair is None:
        pytest.skip("openssl is needed for a local https server")
    cert, key = pair
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    server = TestServer(app, port=free_port())
    await server.start_server(ssl=context)
    try:
        public = f"https://127.0.0.1:{server.port}"
        ran = await check(fakes, ADUAN_PUBLIC_URL=public, SSL_CERT_FILE=str(cert), **webhook)
    finally:
        await server.close()
    assert ran.code == 0, ran.out
    assert lines(ran)["public url"] == f"OK {public}/healthz answered over https"
