"""The signed JSON webhook: 403 on a bad signature, 400 or quarantine with a reason, dedupe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from channels.api import SIGNATURE_HEADER, sign
from gateway.app import create_app
from storage.models import Complaint, Message, QuarantinedInbound
from tests.runtime_fixtures import make_harness

SECRET = "s3cret-for-tests"


async def client_for(aiohttp_client: Any, tmp_path: Path) -> tuple[Any, Any]:
    h = await make_harness(tmp_path, webhook_secret=SECRET)
    app = create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
    return await aiohttp_client(app), h


def body(**extra: Any) -> bytes:
    data = {
        "id": "portal-1",
        "from": {"email": "Budi@Example.com", "name": "Budi Santoso"},
        "text": "Laporan hasil uji kami terlambat dua minggu",
        "fields": {"customer_name": "PT Sinar Jaya"},
    }
    data.update(extra)
    return json.dumps(data).encode()


async def messages(h: Any) -> int:
    async with h.runtime.sessions() as s:
        return int(
            await s.scalar(
                select(func.count()).select_from(Message).where(Message.direction == "in")
            )
            or 0
        )


async def test_bad_signature_is_refused_and_nothing_stored(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    client, h = await client_for(aiohttp_client, tmp_path)
    raw = body()
    for header in ({}, {SIGNATURE_HEADER: "sha256=00"}, {SIGNATURE_HEADER: sign("wrong", raw)}):
        resp = await client.post("/webhooks/api", data=raw, headers=header)
        assert resp.status == 403
        assert await resp.json() == {"error": "invalid signature"}
    assert await messages(h) == 0


async def test_malformed_body_gets_400_or_is_quarantined_with_a_reason(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    client, h = await client_for(aiohttp_client, tmp_path)
    resp = await client.post(
        "/webhooks/api", data=b"not json", headers={SIGNATURE_HEADER: sign(SECRET, b"not json")}
    )
    assert resp.status == 400
    assert "body is not JSON" in (await resp.json())["error"]
    cases = {
        b"[1]": "body must be a JSON object",
        json.dumps({"from": {"email": "a@b.co"}}).encode(): "id is required",
        json.dumps({"id": "x", "from": {}}).encode(): "from needs email or phone",
        json.dumps({"id": "x", "from": {"phone": "12"}}).encode(): "not a valid phone number",
    }
    for raw, reason in cases.items():
        resp = await client.post(
            "/webhooks/api", data=raw, headers={SIGNATURE_HEADER: sign(SECRET, raw)}
        )
        assert resp.status == 200, raw
        answer = await resp.json()
        assert answer["status"] == "quarantined" and reason in answer["error"]
    assert await messages(h) == 0
    async with h.runtime.sessions() as s:
        rows = list(await s.scalars(select(QuarantinedInbound)))
    assert sorted(r.raw for r in rows) == sorted(cases)


async def test_three_deliveries_give_one_message_and_one_complaint(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    client, h = await client_for(aiohttp_client, tmp_path)
    raw = body()
    answers = []
    for _ in range(3):
        resp = await client.post(
            "/webhooks/api", data=raw, headers={SIGNATURE_HEADER: sign(SECRET, raw)}
        )
        assert resp.status == 200
        answers.append(await resp.json())
    assert [a["duplicate"] for a in answers] == [False, True, True]
    assert len({a["message_id"] for a in answers}) == 1
    await h.settle()
    assert await messages(h) == 1
    async with h.runtime.sessions() as s:
        [complaint] = list(await s.scalars(select(Complaint)))
    assert complaint.complainant_name == "Budi Santoso"
    assert complaint.customer_name == "PT Sinar Jaya"
    assert complaint.contact_address == "budi@example.com"
    assert complaint.channel == "api"
    # One acknowledgement, by email since the complainant gave an email address.
    [ack] = h.email.sent
    assert complaint.tracking_number in ack.text and ack.recipient == "budi@example.com"
    await h.runtime.close()


async def test_webhook_is_off_without_a_secret(aiohttp_client: Any, tmp_path: Path) -> None:
    h = await make_harness(tmp_path)
    client = await aiohttp_client(
        create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
    )
    raw = body()
    resp = await client.post(
        "/webhooks/api", data=raw, headers={SIGNATURE_HEADER: sign(SECRET, raw)}
    )
    assert resp.status == 404
