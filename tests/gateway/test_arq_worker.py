"""Scale-out: the gateway hands work to an arq worker through Redis; PostgreSQL holds it."""

from __future__ import annotations

from pathlib import Path

import pytest
from arq.worker import Worker
from sqlalchemy import select

from channels.base import ChannelName
from gateway.config import load_settings
from gateway.jobs import ArqJobs, InProcessJobs
from gateway.processor import LeaseContactGuard
from gateway.runtime import build_runtime
from gateway.worker import worker_settings
from storage.models import Complaint, OutboxMessage, OutboxStatus
from tests.conftest import make_engine
from tests.fakes import RecordingChannel, inbound
from tests.runtime_fixtures import COMPLETE_COMPLAINT
from tests.services import POSTGRES_URL, REDIS_URL, empty_redis_or_skip


async def test_gateway_enqueues_and_worker_processes_and_sends(tmp_path: Path) -> None:
    await empty_redis_or_skip()
    engine = await make_engine("postgresql", tmp_path)  # skips/fails if PostgreSQL is absent
    await engine.dispose()
    settings = load_settings(database_url=POSTGRES_URL, redis_url=REDIS_URL, data_dir=tmp_path)

    gateway_email = RecordingChannel(ChannelName.EMAIL, interactive=False)
    gateway = await build_runtime(settings, extra_channels={"email": gateway_email})
    assert isinstance(gateway.jobs, ArqJobs)
    await gateway.start(run_channels=False)

    worker_email = RecordingChannel(ChannelName.EMAIL, interactive=False)
    worker_rt = await build_runtime(
        settings, use_redis=False, extra_channels={"email": worker_email}
    )
    assert worker_rt.processor is not None
    assert isinstance(worker_rt.processor._guard, LeaseContactGuard)  # shared work: leases
    try:
        await gateway.accept(
            inbound(
                ChannelName.EMAIL,
                "w1@x",
                "budi@example.com",
                COMPLETE_COMPLAINT,
            )
        )
        await gateway.jobs.stop()  # flush pending enqueues
        # Nothing is processed in the gateway itself.
        async with gateway.sessions() as s:
            assert await s.scalar(select(Complaint)) is None

        options = worker_settings(settings)
        options["ctx"] = {"runtime": worker_rt}
        worker = Worker(**options, burst=True, poll_delay=0.05)
        await worker.main()
        await worker.close()
        async with worker_rt.sessions() as s:
            assert await s.scalar(select(Complaint)) is not None  # the arq job processed it
        # The processing job staged the acknowledgement; the worker's own loop
        # (started by its startup hook in production) sends it.
        await worker_rt.start(run_channels=False)
        jobs = worker_rt.jobs
        assert isinstance(jobs, InProcessJobs)
        await jobs.idle()

        async with worker_rt.sessions() as s:
            complaint = await s.scalar(select(Complaint))
            outbox = list(await s.scalars(select(OutboxMessage)))
        assert complaint is not None and complaint.customer_name == "PT Sinar Jaya"
        assert [o.status for o in outbox] == [OutboxStatus.SENT]
        assert gateway_email.sent == []
        [ack] = worker_email.sent
        assert complaint.tracking_number in ack.text
    finally:
        await worker_rt.close()
        await gateway.engine.dispose()


def test_worker_refuses_without_redis(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway.cli import main

    monkeypatch.delenv("ADUAN_REDIS_URL", raising=False)
    assert main(["worker"]) == 2
    assert "ADUAN_REDIS_URL is not set" in capsys.readouterr().err


async def test_outbox_rows_staged_in_the_gateway_are_sent_by_a_worker_job(tmp_path: Path) -> None:
    await empty_redis_or_skip()
    engine = await make_engine("postgresql", tmp_path)
    await engine.dispose()
    settings = load_settings(database_url=POSTGRES_URL, redis_url=REDIS_URL, data_dir=tmp_path)
    gateway = await build_runtime(
        settings, extra_channels={"email": RecordingChannel(ChannelName.EMAIL)}
    )
    worker_email = RecordingChannel(ChannelName.EMAIL, interactive=False)
    worker_rt = await build_runtime(
        settings, use_redis=False, extra_channels={"email": worker_email}
    )
    try:
        result = await gateway.accept(
            inbound(
                ChannelName.EMAIL,
                "w2@x",
                "ani@example.com",
                "Nama: Ani\nPelanggan: PT A\nMasalah: hasil uji salah ketik",
            )
        )
        # Registered and acknowledged by a worker (a serving gateway has no
        # processor); what follows is the only row left to send.
        assert await worker_rt.processor.process_contact(result.contact_id) == 1
        assert await worker_rt.dispatcher.dispatch_due() == 1
        worker_email.sent.clear()
        async with gateway.sessions() as session:
            complaint_id = await session.scalar(select(Complaint.id))
        assert complaint_id is not None
        # A staff message staged in the gateway is handed to Redis as a
        # send_outbox job carrying its idempotency key.
        outbox_id = await gateway.notify(complaint_id, "Sedang diverifikasi.", actor="staff:sri")
        assert outbox_id is not None
        await gateway.jobs.stop()
        options = worker_settings(settings)
        options["ctx"] = {"runtime": worker_rt}
        worker = Worker(**options, burst=True, poll_delay=0.05)
        await worker.main()
        await worker.close()
        [sent] = worker_email.sent
        assert "Sedang diverifikasi." in sent.text and "ADU-" not in sent.text
        assert sent.recipient == "ani@example.com"
    finally:
        await worker_rt.close()
        await gateway.engine.dispose()
