"""The public form is no relay and /track leaks nothing (docs/web-form.md).

Everything goes through the real application over HTTP (aiohttp's test
client), with the default limits and the default minimum form age; tokens
are fetched from the form or issued through the public
:class:`gateway.web.token.FormTokens` with an issue time in the past.
"""

from __future__ import annotations

import re
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event, func, select, update

from channels.base import ChannelName
from gateway.app import create_app
from gateway.config import ConfigError, load_settings
from gateway.web.guard import PublicGuard, address_bucket
from gateway.web.token import SECRET_FILE, FormTokens, TokenState, load_form_secret
from storage.models import (
    Complaint,
    ComplaintEvent,
    Contact,
    FormNonce,
    Message,
    OutboxMessage,
    RateLimit,
)
from storage.types import utcnow
from tests.fakes import inbound
from tests.runtime_fixtures import Harness, make_harness
from tests.web.conftest import TOKEN_RE, Page, valid_form

Client = TestClient[Any, Any]
VICTIM = "korban@example.com"
PHISH = "Akun Anda diblokir! Masuk di http://phish.example/login untuk membukanya kembali."
TRACKING_RE = re.compile(r"ADU-\d{4}-\d{5}")


@dataclass
class Site:
    client: Client
    harness: Harness
    tokens: FormTokens

    def token(self, *, age: timedelta = timedelta(seconds=10)) -> str:
        """A fresh server-issued token, ``age`` old (old enough by default)."""
        return self.tokens.issue(issued_at=utcnow() - age)

    async def post(self, form: dict[str, str]) -> Any:
        return await self.client.post("/", data=form, allow_redirects=False)

    async def count(self, model: Any, *where: Any) -> int:
        async with self.harness.runtime.sessions() as s:
            query = select(func.count()).select_from(model)
            for clause in where:
                query = query.where(clause)
            return int(await s.scalar(query) or 0)


@pytest.fixture
async def site(tmp_path: Path, aiohttp_client: Any) -> AsyncIterator[Site]:
    """The app with recording email and SMS channels and the default limits."""
    harness = await make_harness(tmp_path, public_url="https://pengaduan.example.go.id")
    app = create_app(harness.runtime.settings, runtime=harness.runtime, run_channels=False)
    client: Client = await aiohttp_client(app)
    yield Site(client, harness, PublicGuard.from_settings(harness.runtime.settings).tokens)


def phishing_form(token: str, **overrides: str) -> dict[str, str]:
    return valid_form(
        token,
        complainant_name="Tim Keamanan Bank",
        problem=PHISH,
        contact_email=VICTIM,
        contact_phone="",
        **overrides,
    )


# ------------------------------------------------------------ acceptance


async def test_a_thousand_posts_from_one_address_are_no_relay(site: Site) -> None:
    statuses: list[int] = []
    refused: Any = None
    for _ in range(1000):
        response = await site.post(phishing_form(site.token()))
        statuses.append(response.status)
        if response.status == 429 and refused is None:
            refused = (response.headers.get("Retry-After"), await response.text())
        else:
            await response.release()
    await site.harness.settle()

    # The per-address limit (5 in 10 minutes) let five through; the rest got 429.
    assert statuses[:5] == [303] * 5
    assert statuses[5:] == [429] * 995
    retry_after, html = refused
    assert retry_after is not None and 1 <= int(retry_after) <= 600
    page = Page(html)
    assert page.find("html")[0]["lang"] == "id"
    assert page.find("link", rel="stylesheet")
    assert "Terlalu banyak pengaduan dikirim dari koneksi Anda" in page.text
    assert re.search(r"coba lagi dalam \d+ menit", page.text)

    # Real complaints are never lost: the five accepted are registered.
    assert await site.count(Complaint) == 5
    assert await site.count(Message, Message.direction == "in") == 5
    # At most three acknowledgements reach the victim; the others are withheld.
    rows = await site.count(OutboxMessage, OutboxMessage.recipient == VICTIM)
    mails = [m for m in site.harness.email.sent if m.recipient == VICTIM]
    assert rows == len(mails) == 3
    assert await site.count(ComplaintEvent, ComplaintEvent.kind == "acknowledgement_withheld") == 2
    # None of them carries the posted text or the name as typed.
    for mail in mails:
        assert "phish.example" not in mail.text and "diblokir" not in mail.text
        assert "Tim Keamanan Bank" not in mail.text
        assert TRACKING_RE.search(mail.text)
        assert "https://pengaduan.example.go.id/track?number=ADU-" in mail.text
        assert "phish" not in (mail.subject or "")


# ------------------------------------------------------------ the token


async def test_the_form_carries_a_signed_token_and_a_hidden_honeypot(site: Site) -> None:
    html = await (await site.client.get("/")).text()
    match = TOKEN_RE.search(html)
    assert match is not None
    assert site.tokens.check(match.group(1), utcnow() + timedelta(seconds=5)).ok
    page = Page(html)
    [wrapper] = [a for a in page.find("div") if a.get("class") == "hp-field"]
    assert wrapper["aria-hidden"] == "true"
    [trap] = page.find("input", name="website")
    assert trap["tabindex"] == "-1" and trap["autocomplete"] == "off" and trap["value"] == ""
    css = await (await site.client.get("/static/site.css")).text()
    assert re.search(r"\.hp-field \{[^}]*left: -10000px", css)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature
        lambda t: t.split(".")[0] + "." + "f" * 32 + "." + t.split(".")[2],  # nonce
        lambda t: str(int(t.split(".")[0]) - 60) + "." + t.split(".", 1)[1],  # issue time
        lambda t: "0123456789abcdef0123456789abcdef",  # the old client-chosen shape
    ],
)
async def test_a_forged_token_stores_nothing(site: Site, tamper: Any) -> None:
    response = await site.post(valid_form(tamper(site.token())))
    assert response.status == 422
    html = await response.text()
    assert "Formulir ini tidak lengkap atau sudah terlalu lama dibuka." in html
    assert 'value="Budi Santoso"' in html, "what was typed is kept"
    assert await site.count(Message) == 0


async def test_a_token_signed_with_another_key_is_forged(site: Site) -> None:
    other = FormTokens(b"k" * 32, min_age=timedelta(0), max_age=timedelta(hours=1))
    token = other.issue(issued_at=utcnow() - timedelta(seconds=10))
    assert site.tokens.check(token).state is TokenState.FORGED
    response = await site.post(valid_form(token))
    assert response.status == 422
    assert await site.count(Message) == 0


async def test_an_expired_token_gets_the_form_again_with_a_fresh_one(site: Site) -> None:
    old = site.token(age=timedelta(minutes=241))  # the default maximum is 240 minutes
    response = await site.post(valid_form(old))
    assert response.status == 422
    html = await response.text()
    assert "Formulir ini sudah terlalu lama dibuka." in html
    match = TOKEN_RE.search(html)
    assert match is not None and match.group(1) != old
    assert await site.count(Message) == 0
    # The fresh token works (once it is a couple of seconds old).
    assert site.tokens.check(match.group(1), utcnow() + timedelta(seconds=3)).ok


async def test_a_form_sent_at_once_is_refused_and_keeps_its_token(site: Site) -> None:
    html = await (await site.client.get("/")).text()
    match = TOKEN_RE.search(html)
    assert match is not None
    response = await site.post(valid_form(match.group(1)))
    assert response.status == 422
    again = await response.text()
    assert "Formulir terkirim sangat cepat setelah dibuka." in again
    assert f'value="{match.group(1)}"' in again
    assert await site.count(Message) == 0


async def test_a_double_click_registers_one_complaint(site: Site) -> None:
    form = valid_form(site.token())
    first = await site.post(form)
    second = await site.post(form)
    assert first.status == second.status == 303
    assert first.headers["Location"] == second.headers["Location"]
    await site.harness.settle()
    assert await site.count(Complaint) == 1
    page = await site.client.get(second.headers["Location"])
    assert TRACKING_RE.search(await page.text())


async def test_a_used_token_whose_submission_is_gone_is_not_used_again(site: Site) -> None:
    token = site.token()
    assert (await site.post(valid_form(token))).status == 303
    await site.harness.settle()
    async with site.harness.runtime.sessions() as s, s.begin():
        # As if the submission had been erased (a personal-data request).
        await s.execute(update(Message).values(external_id="erased"))
    response = await site.post(valid_form(token))
    assert response.status == 422
    assert "Formulir ini sudah pernah dikirim." in await response.text()
    assert await site.count(Message, Message.direction == "in") == 1


# ------------------------------------------------------------ honeypot


async def test_a_filled_honeypot_looks_received_and_stores_nothing(site: Site) -> None:
    token = site.token()
    response = await site.post(phishing_form(token, website="http://spam.example"))
    assert response.status == 303
    page = await site.client.get(response.headers["Location"])
    assert page.status == 200
    text = Page(await page.text()).text
    assert "Pesan Anda sudah kami terima" in text
    # The same token again, now without the honeypot: still nothing.
    again = await site.post(phishing_form(token))
    assert again.status == 303 and again.headers["Location"] == response.headers["Location"]
    await site.harness.settle()
    for model in (Message, Complaint, OutboxMessage, Contact):
        assert await site.count(model) == 0, model
    assert site.harness.email.sent == []
    assert await site.count(FormNonce, FormNonce.kind == "honeypot") == 1


# ------------------------------------------------------------ acknowledgements


async def test_an_address_that_wrote_before_gets_the_full_acknowledgement(site: Site) -> None:
    runtime = site.harness.runtime
    await runtime.accept(
        inbound(ChannelName.EMAIL, "<m1@example.com>", "budi@example.com", "Halo, ada info?")
    )
    await site.harness.settle()
    site.harness.email.sent.clear()
    assert (await site.post(valid_form(site.token(), contact_phone=""))).status == 303
    await site.harness.settle()
    [ack] = [m for m in site.harness.email.sent if TRACKING_RE.search(m.text)]
    assert "Laporan hasil uji belum kami terima" in ack.text
    assert "Budi Santoso" in ack.text


async def test_an_auto_reply_from_the_address_does_not_count_as_writing(site: Site) -> None:
    runtime = site.harness.runtime
    await runtime.accept(
        inbound(
            ChannelName.EMAIL,
            "<ooo@example.com>",
            "budi@example.com",
            "Saya sedang cuti sampai Senin.",
            automatic=True,
        )
    )
    await site.harness.settle()
    assert (await site.post(valid_form(site.token(), contact_phone=""))).status == 303
    await site.harness.settle()
    [ack] = [m for m in site.harness.email.sent if TRACKING_RE.search(m.text)]
    assert ack.text.startswith("Sebuah pengaduan yang mencantumkan alamat ini")
    assert "Laporan hasil uji" not in ack.text and "Budi" not in ack.text


async def test_a_new_address_gets_only_the_tracking_number_and_link(site: Site) -> None:
    assert (await site.post(valid_form(site.token(), lang="en", contact_phone=""))).status == 303
    await site.harness.settle()
    [ack] = site.harness.email.sent
    tracking = TRACKING_RE.search(ack.text)
    assert tracking is not None
    assert ack.text.startswith("A complaint naming this address was registered")
    assert f"https://pengaduan.example.go.id/track?number={tracking.group(0)}" in ack.text
    assert "If you did not send this complaint" in ack.text
    assert "Laporan hasil uji" not in ack.text and "Budi" not in ack.text
    assert "PT Sinar Jaya" not in ack.text


async def test_over_the_recipient_limit_the_complaint_is_still_registered(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    harness = await make_harness(tmp_path, form_acks_per_recipient_day=1, form_min_seconds=0)
    app = create_app(harness.runtime.settings, runtime=harness.runtime, run_channels=False)
    site = Site(
        await aiohttp_client(app),
        harness,
        PublicGuard.from_settings(harness.runtime.settings).tokens,
    )
    for _ in range(2):
        assert (await site.post(phishing_form(site.token()))).status == 303
    await harness.settle()
    assert await site.count(Complaint) == 2
    assert len(harness.email.sent) == 1
    async with harness.runtime.sessions() as s:
        withheld = list(
            await s.scalars(
                select(ComplaintEvent).where(ComplaintEvent.kind == "acknowledgement_withheld")
            )
        )
    assert len(withheld) == 1


# ------------------------------------------------------------ /track


async def test_track_is_limited_per_address(site: Site) -> None:
    form = {"number": "ADU-2026-00001", "contact": "x@example.com", "lang": "id"}
    for _ in range(20):
        response = await site.client.post("/track", data=form)
        assert response.status == 200
        await response.release()
    response = await site.client.post("/track", data=form)
    assert response.status == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 600
    text = Page(await response.text()).text
    assert "Terlalu banyak permintaan pelacakan dari koneksi Anda" in text
    # Field format errors are not lookups and are not counted.
    bad = await site.client.post("/track", data={"number": "x", "contact": "y", "lang": "id"})
    assert bad.status == 422


async def test_track_does_the_same_work_for_unknown_and_known_numbers(site: Site) -> None:
    response = await site.post(valid_form(site.token()))
    assert response.status == 303
    await site.harness.settle()
    async with site.harness.runtime.sessions() as s:
        tracking = await s.scalar(select(Complaint.tracking_number))
    assert tracking is not None
    unknown = tracking[:-5] + "99999"

    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = site.harness.runtime.engine.sync_engine
    pages: dict[str, str] = {}
    runs: dict[str, list[str]] = {}
    for label, number in (("known, wrong contact", tracking), ("unknown", unknown)):
        statements.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            response = await site.client.post(
                "/track", data={"number": number, "contact": "lain@example.com", "lang": "id"}
            )
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert response.status == 200
        pages[label] = (await response.text()).replace(number, "NUMBER")
        runs[label] = [s for s in statements if "rate_limits" not in s]
    assert runs["known, wrong contact"] == runs["unknown"]
    assert len(runs["unknown"]) == 3
    assert pages["known, wrong contact"] == pages["unknown"]


# ------------------------------------------------------------ settings and secret


def test_form_settings_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ADUAN_FORM_SECRET: .*at least 32"):
        load_settings(data_dir=tmp_path, form_secret="short")
    with pytest.raises(ConfigError, match="ADUAN_FORM_MIN_SECONDS must be shorter"):
        load_settings(data_dir=tmp_path, form_min_seconds=120, form_token_max_age_minutes=1)
    with pytest.raises(ConfigError, match="ADUAN_FORM_ADDRESS_PER_DAY"):
        load_settings(data_dir=tmp_path, form_address_per_day=0)


def test_the_generated_secret_is_private_and_kept(tmp_path: Path) -> None:
    first = load_form_secret(None, tmp_path)
    assert len(first) >= 32
    mode = stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode)
    assert mode == 0o600
    assert load_form_secret(None, tmp_path) == first
    assert load_form_secret("x" * 40, tmp_path) == b"x" * 40


def test_ipv6_clients_are_counted_per_64() -> None:
    assert address_bucket("2001:db8:1:2:3:4:5:6") == address_bucket("2001:db8:1:2:ffff::1")
    assert address_bucket("2001:db8:1:3::1") != address_bucket("2001:db8:1:2::1")
    assert address_bucket("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_bucket("198.51.100.7") == "198.51.100.7"


async def test_rate_limit_rows_never_hold_the_address(site: Site) -> None:
    assert (await site.post(valid_form(site.token()))).status == 303
    async with site.harness.runtime.sessions() as s:
        keys = list(await s.scalars(select(RateLimit.key)))
    assert keys and all("127.0.0.1" not in k and "example.com" not in k for k in keys)


async def test_the_secret_is_ready_when_the_app_starts(tmp_path: Path, aiohttp_client: Any) -> None:
    harness = await make_harness(tmp_path)
    assert not (tmp_path / SECRET_FILE).exists()
    app = create_app(harness.runtime.settings, runtime=harness.runtime, run_channels=False)
    await aiohttp_client(app)  # started, no request yet
    assert (tmp_path / SECRET_FILE).exists()
