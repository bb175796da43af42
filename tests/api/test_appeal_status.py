"""The complainant sees where their appeal stands: ``STATUS`` on their
channel and the tracking page give the appeal's step and when it is due
(PR-LS-8.1.4 steps 4-5), then the final decision."""

from __future__ import annotations

from channels.base import ChannelName
from handlers.i18n import t
from tests.api.conftest import Api
from tests.fakes import inbound

SEAT = {"declaration": "Saya menyatakan tidak memiliki kepentingan."}


async def status_reply(api: Api, tracking: str, n: int) -> str:
    await api.h.runtime.accept(
        inbound(ChannelName.EMAIL, f"status-{n}", "budi@example.com", f"STATUS {tracking}")
    )
    await api.h.settle()
    return api.h.email.sent[-1].text


async def track_page(api: Api, tracking: str) -> str:
    response = await api.client.post(
        "/track", data={"number": tracking, "contact": "budi@example.com", "lang": "id"}
    )
    assert response.status == 200
    return await response.text()


async def test_status_and_tracking_follow_the_appeal(api: Api) -> None:
    tracking = await api.file()
    await api.close(tracking)
    before = await status_reply(api, tracking, 0)
    assert "Banding" not in before

    status, appeal = await api.call(
        "POST", f"/complaints/{tracking}/appeal", json={"reason": "Tidak setuju"}
    )
    assert status == 201 and appeal["step_due_at"]
    forming = t("id", "Appeal: the appeal panel is being formed.")
    reply = await status_reply(api, tracking, 1)
    assert forming in reply
    # The appeal step's due time follows, in office time (1 day after opening).
    assert reply.index(forming) < reply.rindex("WIB")
    page = await track_page(api, tracking)
    assert forming in page and "Diperkirakan selesai" in page

    for username, chair in (("ani", True), ("budi", False), ("cici", False)):
        status, _ = await api.call(
            "POST",
            f"/complaints/{tracking}/appeal/panel",
            "maya",
            json={"username": username, "chair": chair, **SEAT},
        )
        assert status == 201
    examining = t("id", "Appeal: the appeal panel is examining your appeal.")
    assert examining in await status_reply(api, tracking, 2)

    status, _ = await api.call(
        "POST",
        f"/complaints/{tracking}/appeal/decision",
        "ani",
        json={"decision": "Banding ditolak."},
    )
    assert status == 200
    decided = t("id", "Appeal decided (final): {decision}", decision="Banding ditolak.")
    reply = await status_reply(api, tracking, 3)
    assert decided in reply and examining not in reply
    page = await track_page(api, tracking)
    assert decided in page and "Diperkirakan selesai" not in page
