"""A web complainant who gives only a phone number is acknowledged by SMS or
WhatsApp (the approved template outside the 24-hour window), recorded in the
outbox and on the complaint, within the form's acknowledgement limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from channels.base import ChannelName
from gateway.app import create_app
from gateway.config import load_settings
from gateway.jobs import InProcessJobs
from gateway.runtime import Runtime, build_runtime
from handlers.profile import PROFILES_DIR
from storage.migrate import upgrade
from storage.models import Complaint, ComplaintEvent, OutboxMessage
from tests.fakes import RecordingChannel
from tests.web.conftest import fresh_token, valid_form

PHONE = "+6281234567890"


async def served(
    aiohttp_client: Any,
    tmp_path: Path,
    channels: dict[str, RecordingChannel],
    *,
    template: bool = False,
    **settings: Any,
) -> tuple[TestClient[Any, Any], Runtime]:
    data = yaml.safe_load((PROFILES_DIR / "default.yaml").read_text(encoding="utf-8"))
    if template:
        data["whatsapp_template"] = {
            "name": "aduan_pembaruan",
            "languages": {"id": "id", "en": "en_US"},
            "variables": ["tracking_number", "text"],
        }
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    runtime = await build_runtime(
        load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.sqlite3'}",
            data_dir=tmp_path,
            sop_profile=str(path),
            form_min_seconds=0,
            **settings,
        ),
        use_redis=False,
        extra_channels=channels,  # type: ignore[arg-type]
    )
    await upgrade(runtime.engine)
    client = await aiohttp_client(create_app(runtime.settings, runtime=runtime, run_channels=False))
    return client, runtime


async def file_phone_only(client: TestClient[Any, Any]) -> None:
    token = await fresh_token(client)
    form = valid_form(token, contact_email="", contact_phone="0812-3456-7890")
    response = await client.post("/", data=form, allow_redirects=False)
    assert response.status == 303, await response.text()


async def settle(runtime: Runtime) -> None:
    """Wait until the app's job runner has sent what it staged."""
    jobs = runtime.jobs
    assert isinstance(jobs, InProcessJobs)
    await jobs.idle()


async def the_complaints(runtime: Runtime) -> list[Complaint]:
    async with runtime.sessions() as s:
        return list(await s.scalars(select(Complaint).order_by(Complaint.id)))


async def events(runtime: Runtime, kind: str) -> list[ComplaintEvent]:
    async with runtime.sessions() as s:
        return list(await s.scalars(select(ComplaintEvent).where(ComplaintEvent.kind == kind)))


async def test_a_phone_only_complaint_is_acknowledged_by_sms(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    sms = RecordingChannel(ChannelName.SMS)
    client, runtime = await served(aiohttp_client, tmp_path, {"sms": sms})
    await file_phone_only(client)
    [complaint] = await the_complaints(runtime)
    assert complaint.contact_address == PHONE and complaint.channel == "web"
    async with runtime.sessions() as s:
        [row] = list(await s.scalars(select(OutboxMessage)))
    assert (row.channel, row.recipient, row.complaint_id) == ("sms", PHONE, complaint.id)
    # Never written before: the short acknowledgement, nothing typed on the form.
    assert complaint.tracking_number in row.body and "PT Sinar Jaya" not in row.body
    assert "3 hari kerja" in row.body
    [told] = await events(runtime, "complainant_notified")
    assert told.complaint_id == complaint.id and told.data["channel"] == "sms"
    await settle(runtime)
    [sent] = sms.sent
    assert sent.recipient == PHONE and complaint.tracking_number in sent.text


async def test_whatsapp_outside_the_window_acknowledges_with_the_template(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    wa = RecordingChannel(ChannelName.WHATSAPP)
    client, runtime = await served(aiohttp_client, tmp_path, {"whatsapp": wa}, template=True)
    await file_phone_only(client)
    [complaint] = await the_complaints(runtime)
    assert runtime.dispatcher is not None
    await settle(runtime)
    [sent] = wa.sent
    assert sent.recipient == PHONE and sent.template is not None
    assert sent.template.name == "aduan_pembaruan"
    assert sent.template.variables[0] == complaint.tracking_number
    async with runtime.sessions() as s:
        [row] = list(await s.scalars(select(OutboxMessage)))
    assert row.channel == "whatsapp" and row.sent_as == "template"


async def test_the_form_limit_per_recipient_holds_for_phones(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    sms = RecordingChannel(ChannelName.SMS)
    client, runtime = await served(
        aiohttp_client, tmp_path, {"sms": sms}, form_acks_per_recipient_day=1
    )
    await file_phone_only(client)
    await file_phone_only(client)
    first, second = await the_complaints(runtime)
    async with runtime.sessions() as s:
        rows = list(await s.scalars(select(OutboxMessage)))
    assert [r.complaint_id for r in rows] == [first.id]
    [withheld] = await events(runtime, "acknowledgement_withheld")
    assert withheld.complaint_id == second.id


async def test_without_sms_or_whatsapp_staff_see_the_acknowledgement_was_not_sent(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    client, runtime = await served(aiohttp_client, tmp_path, {})
    await file_phone_only(client)
    [complaint] = await the_complaints(runtime)
    [unroutable] = await events(runtime, "notification_unroutable")
    assert unroutable.complaint_id == complaint.id
    assert complaint.tracking_number in (unroutable.note or "")
