"""The staff JSON API end to end: tokens, the workflow, assignment, CAPA,
notes, messages, appeals and the appeal panel (README.md, "Staff API")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from storage.models import ComplaintEvent, OutboxMessage
from storage.types import utcnow
from tests.api.conftest import Api
from tests.runtime_fixtures import CAPA


async def counts(api: Api) -> tuple[int, int]:
    """(complaint events, outbox rows): a refused call must change neither."""
    async with api.h.runtime.sessions() as s:
        events = await s.scalar(select(func.count()).select_from(ComplaintEvent))
        outbox = await s.scalar(select(func.count()).select_from(OutboxMessage))
    return int(events or 0), int(outbox or 0)


def names(body: dict[str, Any]) -> list[str]:
    return [t["name"] for t in body["allowed_transitions"]]


async def test_requests_without_a_valid_token_are_refused(api: Api) -> None:
    response = await api.client.get("/api/v1/complaints")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.content_type == "application/problem+json"
    assert (await response.json(content_type=None))["code"] == "unauthenticated"
    for header in ("Bearer adu_wrong", "Basic c3JpOng=", "Bearer "):
        response = await api.client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status == 401, header
    status, body = await api.call("GET", "/me", "bayu")
    assert status == 200
    assert body == {
        "username": "bayu",
        "full_name": "Bayu",
        "role": "business_lead",
        "role_label": body["role_label"],
    }
    assert body["role_label"]["id"]


async def test_a_complaint_worked_from_receipt_to_closing_through_the_api(api: Api) -> None:
    tracking = await api.file()
    sent = len(api.h.email.sent)

    status, body = await api.call("GET", f"/complaints/{tracking}")
    assert status == 200
    assert (body["status"], body["channel"], body["complainant_name"]) == (
        "received",
        "email",
        "Budi",
    )
    assert names(body) == ["verify", "reject"]
    # Not yet assigned to the officers' team: for an officer it does not exist.
    status, as_officer = await api.call("GET", f"/complaints/{tracking.lower()}", "tono")
    assert (status, as_officer["code"]) == (404, "not_found")

    status, body = await api.call(
        "POST", f"/complaints/{tracking}/transitions", json={"name": "verify"}
    )
    assert (status, body["status"]) == (200, "verified")
    assert len(api.h.email.sent) == sent + 1 and tracking in api.h.email.sent[-1].text

    status, body = await api.call(
        "POST",
        f"/complaints/{tracking}/transitions",
        "bayu",
        json={"name": "route", "category": "technical", "assignee": "tono"},
    )
    assert (status, body["status"], body["category"], body["assignee"]) == (
        200,
        "in_follow_up",
        "technical",
        "tono",
    )
    assert body["step_due_at"] is not None and body["overdue"] is False

    status, body = await api.call(
        "PUT",
        f"/complaints/{tracking}/assignment",
        "bayu",
        json={"assignee": "sri", "note": "cuti"},
    )
    assert (status, body["assignee"], body["status"]) == (200, "sri", "in_follow_up")
    status, body = await api.call(
        "PUT", f"/complaints/{tracking}/assignment", "bayu", json={"assignee": "tono"}
    )
    assert body["assignee"] == "tono"

    status, body = await api.call(
        "POST",
        f"/complaints/{tracking}/transitions",
        "tono",
        json={"name": "record_capa", "capa": CAPA},
    )
    assert (status, body["status"], body["capa"]["cause"]) == (200, "capa_recorded", CAPA["cause"])

    status, body = await api.call(
        "POST",
        f"/complaints/{tracking}/transitions",
        json={"name": "verify_result", "result": "Laporan sudah dikirim ulang."},
    )
    assert (status, body["status"]) == (200, "result_verified")
    status, body = await api.call(
        "POST", f"/complaints/{tracking}/transitions", json={"name": "close"}
    )
    assert (status, body["status"], body["step_due_at"]) == (200, "closed", None)
    closing = api.h.email.sent[-1].text
    assert "Laporan sudah dikirim ulang." in closing and "1" in closing and "5" in closing

    # The CAPA's effectiveness check comes weeks later, from the manager.
    status, capa = await api.call(
        "PUT",
        f"/complaints/{tracking}/capa",
        "maya",
        json={"effectiveness_check": "Tidak ada keterlambatan selama sebulan"},
    )
    assert status == 200
    assert capa == {**CAPA, "effectiveness_check": "Tidak ada keterlambatan selama sebulan"}

    status, events = await api.call("GET", f"/complaints/{tracking}/events")
    assert status == 200
    moves = [
        (e["kind"], e["to_status"], e["actor"])
        for e in events["items"]
        if e["kind"] == "transition"
    ]
    assert moves == [
        ("transition", "verified", "staff:sri"),
        ("transition", "in_follow_up", "staff:bayu"),
        ("transition", "capa_recorded", "staff:tono"),
        ("transition", "result_verified", "staff:sri"),
        ("transition", "closed", "staff:sri"),
    ]
    kinds = [e["kind"] for e in events["items"]]
    assert kinds.count("assigned") == 2 and kinds.count("capa_recorded") == 1


async def test_refusals_answer_with_a_code_and_change_nothing(api: Api) -> None:
    tracking = await api.file()
    before = await counts(api)
    path = f"/complaints/{tracking}/transitions"

    cases: list[tuple[str, dict[str, Any] | str, int, str]] = [
        ("bayu", {"name": "verify"}, 403, "forbidden"),
        ("sri", {"name": "close"}, 409, "wrong_state"),
        ("sri", {"name": "reject"}, 422, "missing_data"),
        ("sri", {"name": "teleport"}, 422, "unknown_transition"),
        ("sri", {"name": "verify", "colour": "red"}, 422, "invalid_body"),
        ("sri", {"name": "reject", "reason": "x" * 6000}, 422, "invalid_body"),
        ("sri", "not json", 400, "invalid_json"),
        ("sri", "[1, 2]", 400, "invalid_json"),
    ]
    for username, payload, status, code in cases:
        kwargs: dict[str, Any] = (
            {"json": payload} if isinstance(payload, dict) else {"data": payload}
        )
        got, body = await api.call("POST", path, username, **kwargs)
        assert (got, body["code"]) == (status, code), (payload, body)
        assert body["status"] == status and body["detail"]
    got, body = await api.call(
        "POST", "/complaints/ADU-2000-99999/transitions", json={"name": "verify"}
    )
    assert (got, body["code"]) == (404, "not_found")
    got, body = await api.call(
        "PUT", f"/complaints/{tracking}/assignment", "ani", json={"assignee": "tono"}
    )
    assert (got, body["code"]) == (403, "forbidden")
    got, body = await api.call(  # not the officers' team's complaint: not found for them
        "PUT", f"/complaints/{tracking}/assignment", "tono", json={"assignee": "tono"}
    )
    assert (got, body["code"]) == (404, "not_found")
    got, body = await api.call(
        "PUT", f"/complaints/{tracking}/assignment", "sri", json={"assignee": "ghost"}
    )
    assert (got, body["code"]) == (422, "invalid_data")
    got, body = await api.call(
        "PUT", f"/complaints/{tracking}/capa", "sri", json={"cause": "only a cause"}
    )
    assert (got, body["code"]) == (422, "missing_data")
    got, body = await api.call("POST", f"/complaints/{tracking}/messages", json={"text": "   "})
    assert (got, body["code"]) == (422, "invalid_body")
    got, body = await api.call("GET", f"/complaints/{tracking}/appeal")
    assert (got, body["code"]) == (404, "no_appeal")
    got, body = await api.call(
        "POST",
        f"/complaints/{tracking}/appeal/panel",
        json={"username": "ani", "declaration": "ok"},
    )
    assert (got, body["code"]) == (404, "not_found")

    assert await counts(api) == before
    _, body = await api.call("GET", f"/complaints/{tracking}")
    assert (body["status"], body["assignee"], body["capa"]) == ("received", None, None)


async def test_messages_reach_the_complainant_and_notes_never_do(api: Api) -> None:
    tracking = await api.file()
    sent = len(api.h.email.sent)
    status, body = await api.call(
        "POST",
        f"/complaints/{tracking}/messages",
        json={"text": "Mohon kirimkan nomor laporan uji."},
    )
    assert status == 202 and body["routed"] is True and body["outbox_id"]
    assert len(api.h.email.sent) == sent + 1
    message = api.h.email.sent[-1]
    assert message.text.startswith("Mohon kirimkan nomor laporan uji.")
    assert message.recipient == "budi@example.com" and tracking in (message.subject or "")

    status, event = await api.call(
        "POST", f"/complaints/{tracking}/notes", json={"text": "Pelanggan lama, prioritaskan."}
    )
    assert status == 201 and event["kind"] == "note" and event["actor"] == "staff:sri"
    assert len(api.h.email.sent) == sent + 1


async def test_appeal_and_its_panel_through_the_api(api: Api) -> None:
    tracking = await api.file()
    await api.close(tracking)

    status, body = await api.call(
        "POST", f"/complaints/{tracking}/appeal", "tono", json={"reason": "x"}
    )
    assert (status, body["code"]) == (403, "forbidden")
    status, appeal = await api.call(
        "POST", f"/complaints/{tracking}/appeal", json={"reason": "Surat banding tertanggal 1 Des"}
    )
    assert (status, appeal["status"], appeal["step"], appeal["opened_by"]) == (
        201,
        "open",
        "panel",
        "staff:sri",
    )
    assert "banding" in api.h.email.sent[-1].text.lower()

    panel = f"/complaints/{tracking}/appeal/panel"
    seat = {"declaration": "Saya menyatakan tidak memiliki kepentingan."}
    status, body = await api.call("POST", panel, "maya", json={"username": "tono", **seat})
    assert (status, body["code"]) == (409, "involved")
    status, body = await api.call("POST", panel, "maya", json={"username": "ani"})
    assert (status, body["code"]) == (422, "invalid_body")
    status, body = await api.call("POST", panel, "tono", json={"username": "ani", **seat})
    assert (status, body["code"]) == (403, "forbidden")
    for username in ("ani", "budi"):
        status, _ = await api.call("POST", panel, "maya", json={"username": username, **seat})
        assert status == 201
    status, body = await api.call("POST", panel, "maya", json={"username": "dedi", **seat})
    assert (status, body["code"]) == (409, "chair_missing")
    status, appeal = await api.call(
        "POST", panel, "maya", json={"username": "cici", "chair": True, **seat}
    )
    assert (status, appeal["step"]) == (201, "decision")
    assert [(m["username"], m["chair"]) for m in appeal["panel"]] == [
        ("cici", True),
        ("ani", False),
        ("budi", False),
    ]
    status, body = await api.call("POST", panel, "maya", json={"username": "dedi", **seat})
    assert (status, body["code"]) == (409, "panel_full")

    decision = f"/complaints/{tracking}/appeal/decision"
    status, body = await api.call("POST", decision, "ani", json={"decision": "Ditolak"})
    assert (status, body["code"]) == (403, "not_chair")
    status, appeal = await api.call(
        "POST", decision, "cici", json={"decision": "Banding diterima."}
    )
    assert (status, appeal["status"], appeal["decided_by"]) == (200, "decided", "staff:cici")
    assert "Banding diterima." in api.h.email.sent[-1].text
    status, body = await api.call("POST", decision, "cici", json={"decision": "Lagi"})
    assert (status, body["code"]) == (409, "not_open")


async def test_a_late_appeal_is_refused_and_the_complainant_told_why(api: Api) -> None:
    tracking = await api.file()
    await api.close(tracking)
    async with api.h.runtime.sessions() as s, s.begin():
        await s.execute(
            update(ComplaintEvent)
            .where(ComplaintEvent.to_status == "closed")
            .values(at=utcnow() - timedelta(days=20))
        )
    status, body = await api.call(
        "POST", f"/complaints/{tracking}/appeal", json={"reason": "Telat"}
    )
    assert (status, body["code"]) == (409, "window_passed")
    told = api.h.email.sent[-1].text
    assert tracking in told and "15 hari" in told


async def test_list_filters_and_keyset_pages(api: Api) -> None:
    trackings = [await api.file(f"m{i}", f"p{i}@example.com") for i in range(5)]
    await api.call("POST", f"/complaints/{trackings[0]}/transitions", json={"name": "verify"})

    status, page = await api.call("GET", "/complaints", params={"limit": "2"})
    assert status == 200
    seen = [c["tracking_number"] for c in page["items"]]
    assert seen == trackings[::-1][:2] and page["next_cursor"]
    while page["next_cursor"]:
        _, page = await api.call(
            "GET", "/complaints", params={"limit": "2", "cursor": page["next_cursor"]}
        )
        seen += [c["tracking_number"] for c in page["items"]]
    assert seen == trackings[::-1]

    _, page = await api.call("GET", "/complaints", params={"status": "verified"})
    assert [c["tracking_number"] for c in page["items"]] == [trackings[0]]
    _, page = await api.call("GET", "/complaints", params={"overdue": "true"})
    assert page["items"] == []
    _, page = await api.call("GET", "/complaints", params={"overdue": "false", "channel": "email"})
    assert len(page["items"]) == 5

    for params in ({"limit": "0"}, {"limit": "500"}, {"cursor": "abc"}, {"sort": "name"}):
        status, body = await api.call("GET", "/complaints", params=params)
        assert (status, body["code"]) == (422, "invalid_query"), params


async def test_the_workflow_is_described_for_clients(api: Api) -> None:
    status, body = await api.call("GET", "/workflow", "tono")
    assert status == 200 and body["profile"] == "default" and body["initial"] == "received"
    route = next(t for t in body["transitions"] if t["name"] == "route")
    assert route["requires"] == ["category", "assignee"] and route["from_states"] == ["verified"]
    states = {st["name"]: st for st in body["states"]}
    assert states["received"]["standard"] == "15 minutes" and states["closed"]["final"] is True
