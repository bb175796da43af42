"""One complete WhatsApp conversation through the real runtime and the fake Graph
API: the shared first-complaint table (first message → one question per
answer → confirmation → tracking number), then the acknowledgement's
"delivered" status recorded."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from storage.models import DeliveryStatus, OutboxMessage
from tests.harness.conversation import TRACKING, Conversation, registered
from tests.harness.conversations import FIRST_COMPLAINT, FIRST_COMPLAINT_FIELDS
from tests.whatsapp_cloud.conftest import TOKEN, WA_ID, MakeGateway, WhatsAppCitizen, payload


def delivered(wamid: str) -> dict[str, Any]:
    body = payload("status_delivered", live=True)
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = wamid
    return body


async def test_complete_conversation(make_gateway: MakeGateway) -> None:
    gw = await make_gateway(default_pacing=True)  # 1 message a second per recipient
    graph = gw.graph
    conversation = Conversation(WhatsAppCitizen(gw))
    await conversation.play(FIRST_COMPLAINT)
    assert len(graph.sends) == len(FIRST_COMPLAINT)
    for reply in graph.sends:
        assert reply["to"] == WA_ID and reply["type"] == "text"
        assert reply["text"]["preview_url"] is False
    match = TRACKING.search(conversation.replies[-1])
    assert match is not None
    now = datetime.now(UTC)
    assert int(match.group(1)) in {
        (now - timedelta(hours=14)).year,
        (now + timedelta(hours=14)).year,
    }

    runtime = gw.runtime
    complaint = await registered(
        runtime.sessions, conversation, "+" + WA_ID, FIRST_COMPLAINT_FIELDS
    )
    async with runtime.sessions() as s:
        rows = list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert complaint.channel == "whatsapp"
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
