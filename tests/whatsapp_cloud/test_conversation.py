"""One complete WhatsApp conversation through the real runtime and the fake Graph
API: first message → one question per answer → confirmation → tracking number
→ the acknowledgement's "delivered" status recorded."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.whatsapp_cloud import WhatsAppCloudChannel
from gateway.app import create_app
from gateway.channel_configs import whatsapp_config
from gateway.runtime import build_runtime
from storage.migrate import upgrade
from storage.models import Complaint, DeliveryStatus, OutboxMessage
from tests.whatsapp_cloud.conftest import (
    TOKEN,
    Gateway,
    make_settings,
    payload,
)
from tests.whatsapp_cloud.fake_graph import FakeGraph

TRACKING = re.compile(r"ADU-(\d{4})-\d{5}")
WA_ID = "6281234567890"


def inbound(n: int, text: str) -> dict[str, Any]:
    """Budi's ``n``-th message in Meta's shape, timestamped now."""
    body = payload("text", live=True)
    value = body["entry"][0]["changes"][0]["value"]
    # A contact entry without a profile name: the bot asks for the name.
    value["contacts"] = [{"wa_id": WA_ID, "profile": {}}]
    message = value["messages"][0]
    message["id"] = f"wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFkNPTlZFUlNBVElPTi{n:04d}"
    message["text"]["body"] = text
    return body


def delivered(wamid: str) -> dict[str, Any]:
    body = payload("status_delivered", live=True)
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = wamid
    return body


async def test_complete_conversation(
    tmp_path: Path,
    graph: FakeGraph,
    aiohttp_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(tmp_path, graph.base_url)
    channel = WhatsAppCloudChannel(whatsapp_config(settings))  # default pacing: 1/s per recipient
    runtime = await build_runtime(settings, use_redis=False, extra_channels={"whatsapp": channel})
    await upgrade(runtime.engine)
    await runtime.start(run_channels=False)
    await channel.start()
    client = await aiohttp_client(create_app(settings, runtime=runtime, run_channels=False))
    gw = Gateway(runtime, channel, client, graph)

    async def say(n: int, text: str) -> str:
        before = len(graph.sends)
        resp = await gw.post(inbound(n, text))
        assert resp.status == 200
        await gw.settle()
        new = graph.sends[before:]
        assert len(new) == 1, f"expected one reply to {text!r}, got {new}"
        [reply] = new
        assert reply["to"] == WA_ID and reply["type"] == "text"
        assert reply["text"]["preview_url"] is False
        body: str = reply["text"]["body"]
        return body

    greeting = await say(1, "halo")
    assert "Terima kasih telah menghubungi" in greeting and "ceritakan masalah" in greeting

    ask_name = await say(2, "laporan hasil uji terlambat dua minggu")
    assert "nama lengkap" in ask_name and ask_name.count("?") == 1

    ask_customer = await say(3, "Budi Santoso")
    assert "pelanggan/peserta" in ask_customer and ask_customer.count("?") == 1

    summary = await say(4, "PT Sinar Jaya")
    assert "1. Nama pengadu: Budi Santoso" in summary
    assert "PT Sinar Jaya" in summary and "laporan hasil uji terlambat dua minggu" in summary
    assert "Balas YA" in summary

    ack = await say(5, "ya")
    match = TRACKING.search(ack)
    assert match is not None, ack
    now = datetime.now(UTC)
    assert int(match.group(1)) in {
        (now - timedelta(hours=14)).year,
        (now + timedelta(hours=14)).year,
    }

    async with runtime.sessions() as s:
        [complaint] = list(await s.scalars(select(Complaint)))
        rows = list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert complaint.tracking_number == match.group(0)
    assert (complaint.complainant_name, complaint.customer_name, complaint.problem) == (
        "Budi Santoso",
        "PT Sinar Jaya",
        "laporan hasil uji terlambat dua minggu",
    )
    assert complaint.channel == "whatsapp" and complaint.contact_address == "+" + WA_ID
    assert [r.status for r in rows] == ["sent"] * 5
    assert all(r.recipient == "+" + WA_ID for r in rows)
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in graph.requests)

    # Meta reports the acknowledgement delivered: its outbox row follows.
    ack_row = rows[-1]
    assert ack_row.provider_id is not None and ack_row.provider_id.startswith("wamid.")
    started = time.monotonic()
    resp = await gw.post(delivered(ack_row.provider_id))
    assert resp.status == 200 and (await resp.json())["statuses"] == 1
    assert time.monotonic() - started < 5
    async with runtime.sessions() as s:
        row = await s.get_one(OutboxMessage, ack_row.id)
        reports = list(await s.scalars(select(DeliveryStatus)))
    assert row.delivery_status == "delivered"
    assert [(r.provider_id, r.status) for r in reports] == [(ack_row.provider_id, "delivered")]

    # A later progress update from staff, inside the 24-hour window: free text.
    before = len(graph.sends)
    assert await runtime.notify(
        complaint.id, "Pengaduan Anda sedang diverifikasi.", actor="staff:sri"
    )
    await gw.settle()
    [update] = graph.sends[before:]
    assert update["to"] == WA_ID and update["type"] == "text"
    assert update["text"]["body"] == "Pengaduan Anda sedang diverifikasi."
