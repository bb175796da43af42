"""WhatsApp's 24-hour window: free text inside, the profile's template or another
route outside, never free text blind (docs/channels.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from channels.base import ChannelName
from gateway.ingest import ingest
from gateway.runtime import Runtime
from gateway.window import template_variable
from handlers.outbox import Draft, OutboxWriter
from storage.models import ComplaintEvent, OutboxMessage, OutboxStatus
from storage.types import utcnow
from tests.fakes import RecordingChannel, inbound
from tests.gateway.window_runtime import WHATSAPP_TEMPLATE, runtime_with_template

PHONE = "+6281234567890"


async def runtime_with(
    tmp_path: Path, *, template: bool, channels: dict[str, RecordingChannel]
) -> Runtime:
    with_sid = {**WHATSAPP_TEMPLATE, "content_sid": "HX" + "a" * 32}
    return await runtime_with_template(
        tmp_path, template=with_sid if template else None, channels=channels
    )


async def last_seen(runtime: Runtime, hours: float) -> int:
    msg = replace(
        inbound(ChannelName.WHATSAPP, f"wamid.{hours}", PHONE, "halo"),
        received_at=utcnow() - timedelta(hours=hours),
    )
    result = await ingest(runtime.sessions, msg)
    return result.contact_id


async def stage_update(runtime: Runtime, contact_id: int, text: str) -> None:
    async with runtime.sessions() as s, s.begin():
        await OutboxWriter().add(
            s, Draft(channel="whatsapp", recipient=PHONE, text=text, contact_id=contact_id)
        )


async def rows(runtime: Runtime) -> list[OutboxMessage]:
    async with runtime.sessions() as s:
        return list(await s.scalars(select(OutboxMessage)))


async def dispatched(
    tmp_path: Path, *channels: RecordingChannel, template: bool, hours: float, text: str
) -> Runtime:
    """A runtime sending through ``channels`` whose citizen last wrote ``hours`` ago,
    after one update of ``text`` to him was staged and dispatched."""
    by_name = {channel.name.value: channel for channel in channels}
    rt = await runtime_with(tmp_path, template=template, channels=by_name)
    contact = await last_seen(rt, hours)
    await stage_update(rt, contact, text)
    assert rt.dispatcher is not None
    await rt.dispatcher.dispatch_due()
    return rt


async def test_inside_the_window_free_text_goes(tmp_path: Path) -> None:
    wa = RecordingChannel(ChannelName.WHATSAPP)
    rt = await dispatched(
        tmp_path, wa, template=True, hours=2, text="Pengaduan Anda sedang ditindaklanjuti."
    )
    [sent] = wa.sent
    assert sent.template is None and sent.text == "Pengaduan Anda sedang ditindaklanjuti."
    assert (await rows(rt))[0].sent_as is None
    await rt.engine.dispose()


async def test_after_25_hours_the_template_goes_and_the_complaint_records_it(
    tmp_path: Path,
) -> None:
    wa = RecordingChannel(ChannelName.WHATSAPP)
    rt = await dispatched(
        tmp_path,
        wa,
        template=True,
        hours=25,
        text="Status: dalam tindak lanjut.\nPerkiraan selesai 25-11-2026.",
    )
    [sent] = wa.sent
    assert sent.template is not None
    assert sent.template.name == "aduan_pembaruan" and sent.template.content_sid == "HX" + "a" * 32
    assert sent.template.variables == (
        "-",
        "Status: dalam tindak lanjut. · Perkiraan selesai 25-11-2026.",
    )
    [row] = await rows(rt)
    assert row.sent_as == "template" and row.status == OutboxStatus.SENT
    await rt.engine.dispose()


async def test_without_a_template_it_falls_back_to_sms(tmp_path: Path) -> None:
    wa, sms = RecordingChannel(ChannelName.WHATSAPP), RecordingChannel(ChannelName.SMS)
    rt = await dispatched(
        tmp_path, wa, sms, template=False, hours=30, text="Pengaduan Anda selesai."
    )
    assert wa.sent == []
    [sent] = sms.sent
    assert sent.recipient == PHONE and sent.text == "Pengaduan Anda selesai."
    [row] = await rows(rt)
    assert (row.channel, row.sent_as) == ("sms", "fallback:sms")
    await rt.engine.dispose()


async def test_with_no_route_it_fails_visibly_instead_of_sending_blind(tmp_path: Path) -> None:
    wa = RecordingChannel(ChannelName.WHATSAPP)
    rt = await dispatched(tmp_path, wa, template=False, hours=48, text="x")
    assert wa.sent == []
    [row] = await rows(rt)
    assert row.status == OutboxStatus.FAILED and row.error_code == "window_closed"
    await rt.engine.dispose()


async def test_complaint_records_the_template_send(tmp_path: Path) -> None:
    wa = RecordingChannel(ChannelName.WHATSAPP)
    rt = await runtime_with(tmp_path, template=True, channels={"whatsapp": wa})
    await rt.start(run_channels=False)
    phone_msgs = ["halo", "Budi", "PT Sinar Jaya", "laporan hasil uji terlambat dua minggu", "ya"]
    for i, text in enumerate(phone_msgs):
        await rt.accept(inbound(ChannelName.WHATSAPP, f"w{i}", PHONE, text))
        await rt.jobs.idle()  # type: ignore[union-attr]
    assert "ADU-" in wa.sent[-1].text and wa.sent[-1].template is None
    # 25 hours later staff send a progress update.
    from sqlalchemy import update

    from storage.models import Complaint, Message

    async with rt.sessions() as s, s.begin():
        await s.execute(update(Message).values(received_at=utcnow() - timedelta(hours=25)))
        complaint = await s.scalar(select(Complaint))
        assert complaint is not None
        await OutboxWriter().add(
            s,
            Draft(
                channel="whatsapp",
                recipient=PHONE,
                text="Sedang diperiksa.",
                contact_id=complaint.contact_id,
                complaint_id=complaint.id,
            ),
        )
    await rt.jobs.idle()  # type: ignore[union-attr]
    last = wa.sent[-1]
    assert last.template is not None and last.template.variables[0] == complaint.tracking_number
    async with rt.sessions() as s:
        kinds = list(await s.scalars(select(ComplaintEvent.kind)))
    assert "whatsapp_window_closed" in kinds
    await rt.close()


def test_template_variables_are_one_line() -> None:
    assert template_variable("a\n\n b\tc    d") == "a · b c d"
    assert len(template_variable("x" * 2000)) == 900
