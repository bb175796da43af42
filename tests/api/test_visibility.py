"""The API shows an officer exactly what the inbox shows them: their team's complaints.

Every operation on ``{tracking}`` in :data:`gateway.api.routes.OPERATIONS` is
called with an officer's token on another team's complaint — the table is
iterated, so a route added later is covered without touching this test.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from gateway.api import schemas as s
from gateway.api.routes import OPERATIONS, PREFIX
from storage.models import Appeal, Complaint, ComplaintEvent, OutboxMessage
from tests.api.conftest import CAPA, Api

#: A valid body for each request model, so a refusal cannot come from the body.
BODIES: dict[type, dict[str, Any]] = {
    s.TransitionRequest: {"name": "verify"},
    s.AssignRequest: {"assignee": "tono"},
    s.CapaForm: CAPA,
    s.TextRequest: {"text": "Mohon kabari perkembangan keluhan Anda."},
    s.AppealRequest: {"reason": "Hasil tidak sesuai"},
    s.PanelMemberRequest: {
        "username": "ani",
        "chair": True,
        "declaration": "Saya tidak terlibat dalam penanganan keluhan ini.",
    },
    s.DecisionRequest: {"decision": "Banding ditolak."},
}

TRACKED = [op for op in OPERATIONS if "{tracking}" in op.path]


async def _assign(api: Api, tracking: str, assignee: str | None) -> None:
    async with api.h.runtime.sessions() as db, db.begin():
        await db.execute(
            update(Complaint).where(Complaint.tracking_number == tracking).values(assignee=assignee)
        )


async def _state(api: Api) -> tuple[Any, ...]:
    async with api.h.runtime.sessions() as db:
        counts = [
            await db.scalar(select(func.count()).select_from(model))
            for model in (ComplaintEvent, OutboxMessage, Appeal)
        ]
        complaints = (
            await db.execute(
                select(Complaint.tracking_number, Complaint.status, Complaint.assignee).order_by(
                    Complaint.id
                )
            )
        ).all()
    return (*counts, tuple(complaints))


async def _call(api: Api, op: Any, tracking: str, user: str) -> tuple[int, Any]:
    path = op.path.removeprefix(PREFIX).replace("{tracking}", tracking)
    kwargs: dict[str, Any] = {}
    if op.body is not None:
        assert op.body in BODIES, f"{op.operation_id}: add a valid {op.body.__name__} body"
        kwargs["json"] = BODIES[op.body]
    return await api.call(op.method, path, user, **kwargs)


async def test_every_route_on_a_complaint_answers_404_for_another_teams_complaint(
    api: Api,
) -> None:
    assert len(TRACKED) >= 11  # the table was read, not an empty filter
    own = await api.file("m1", "budi@example.com")
    other = await api.file("m2", "wati@example.com")
    await _assign(api, own, "tono")  # tono's team: the officers
    await _assign(api, other, "bayu")  # the business lead's, not the officers'
    before = await _state(api)
    for op in TRACKED:
        status, body = await _call(api, op, other, "tono")
        assert (status, body["code"]) == (404, "not_found"), (op.operation_id, status, body)
        assert _unknown(body)
        unknown_status, unknown = await _call(api, op, "ADU-2026-99999", "tono")
        assert unknown_status == 404
        # the same answer as a tracking number that does not exist
        assert body["detail"].replace(other, "X") == unknown["detail"].replace(
            "ADU-2026-99999", "X"
        )
        assert "Budi" not in str(body) and "wati" not in str(body)
    assert await _state(api) == before  # nothing changed, nothing sent


def _unknown(body: Any) -> bool:
    """Whether ``body`` is the answer for a complaint the caller cannot reach."""
    return str(body.get("detail", "")).startswith("no complaint")


async def test_the_404_comes_from_visibility_not_from_the_route(api: Api) -> None:
    own = await api.file("m1", "budi@example.com")
    other = await api.file("m2", "wati@example.com")
    await _assign(api, own, "tono")
    await _assign(api, other, "bayu")
    for op in TRACKED:
        # the officer's own team's complaint is reached (the rules may still refuse)
        status, body = await _call(api, op, own, "tono")
        assert not _unknown(body), (op.operation_id, status, body)
        # the secretariat sees every complaint
        status, body = await _call(api, op, other, "sri")
        assert not _unknown(body), (op.operation_id, status, body)


async def test_the_list_holds_only_the_officers_team_complaints(api: Api) -> None:
    own = await api.file("m1", "budi@example.com")
    other = await api.file("m2", "wati@example.com")
    unassigned = await api.file("m3", "sari@example.com")
    await _assign(api, own, "tono")
    await _assign(api, other, "bayu")
    status, page = await api.call("GET", "/complaints", "tono")
    assert status == 200
    assert [c["tracking_number"] for c in page["items"]] == [own]
    status, page = await api.call("GET", "/complaints?assignee=bayu", "tono")
    assert (status, page["items"]) == (200, [])
    status, page = await api.call("GET", "/complaints", "sri")
    assert {c["tracking_number"] for c in page["items"]} == {own, other, unassigned}
