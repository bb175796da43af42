"""A runtime on a fresh SQLite database with recording channels (no network),
and the seeding most workflow tests start from: staff users and a complete
complaint filed by e-mail."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.base import ChannelName
from gateway.config import load_settings
from gateway.jobs import InProcessJobs
from gateway.runtime import Runtime, build_runtime
from storage.db import SessionFactory
from storage.migrate import upgrade
from storage.models import Complaint, StaffUser
from tests.fakes import RecordingChannel, inbound
from tests.known_kinds import assert_only_known_kinds

#: A complete complaint in one e-mail, with the default profile's labels.
COMPLETE_COMPLAINT = "Nama: Budi\nPelanggan: PT Sinar Jaya\nMasalah: laporan hasil uji terlambat"

#: A corrective and preventive action as the ``report_nonconformity`` step takes it.
CAPA = {
    "cause": "Antrean pengujian menumpuk",
    "correction": "Laporan diterbitkan hari ini",
    "corrective_action": "Tambah analis pada shift sore",
    "preventive_action": "Pantau antrean mingguan",
    "owner": "tono",
    "due_date": "2026-12-01",
}


async def add_staff(
    sessions: SessionFactory, staff: Mapping[str, str | tuple[str, str | None]]
) -> None:
    """Staff users, username to role or to (role, e-mail address); each one's full
    name is the username and the password hash a placeholder no password matches."""
    async with sessions() as s, s.begin():
        for username, value in staff.items():
            role, email = value if isinstance(value, tuple) else (value, None)
            s.add(
                StaffUser(
                    username=username,
                    full_name=username,
                    role=role,
                    email=email,
                    password_hash="x",
                )
            )


async def newest_complaint(sessions: SessionFactory, address: str) -> Complaint:
    """The newest complaint whose contact address is ``address`` (``AssertionError``
    when there is none)."""
    async with sessions() as s:
        complaint = await s.scalar(
            select(Complaint)
            .where(Complaint.contact_address == address)
            .order_by(Complaint.id.desc())
        )
    assert complaint is not None, address
    return complaint


@dataclass
class Harness:
    """A started runtime plus its recording channels."""

    runtime: Runtime
    email: RecordingChannel
    sms: RecordingChannel

    @property
    def jobs(self) -> InProcessJobs:
        jobs = self.runtime.jobs
        assert isinstance(jobs, InProcessJobs)
        return jobs

    async def settle(self) -> None:
        """Wait until every requested job has run and the outbox is drained."""
        await self.jobs.idle()

    async def file(
        self,
        external_id: str = "m1",
        sender: str = "budi@example.com",
        text: str = COMPLETE_COMPLAINT,
        channel: ChannelName = ChannelName.EMAIL,
    ) -> Complaint:
        """Accept ``text`` from ``sender`` on ``channel`` (on a chat channel, then its
        "ya" that confirms the summary, as ``<external_id>-ya``) and settle; the
        newest complaint from ``sender`` (``AssertionError`` when none was registered)."""
        await self.runtime.accept(inbound(channel, external_id, sender, text))
        await self.settle()
        if channel is not ChannelName.EMAIL:
            await self.runtime.accept(inbound(channel, f"{external_id}-ya", sender, "ya"))
            await self.settle()
        return await newest_complaint(self.runtime.sessions, sender)

    async def file_labelled(self, external_id: str, values: Mapping[str, str]) -> Complaint:
        """:meth:`file` a mail from ``budi@example.com`` giving ``values`` (field key
        to value) one a line, each under its field's Indonesian label in the profile."""
        profile = self.runtime.profile
        text = "\n".join(f"{profile.field(key).label.id}: {value}" for key, value in values.items())
        return await self.file(external_id, text=text)


async def make_harness(tmp_path: Path, **settings: object) -> Harness:
    email = RecordingChannel(ChannelName.EMAIL, interactive=False)
    sms = RecordingChannel(ChannelName.SMS)
    settings.setdefault("database_url", f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}")
    runtime = await build_runtime(
        load_settings(data_dir=tmp_path, **settings),
        use_redis=False,
        extra_channels={"email": email, "sms": sms},
    )
    await upgrade(runtime.engine)
    await runtime.start(run_channels=False)
    return Harness(runtime, email, sms)


async def staffed_harness(
    tmp_path: Path,
    sop_profile: str,
    staff: Mapping[str, str | tuple[str, str | None]] | None = None,
) -> Harness:
    """:func:`make_harness` on ``sop_profile`` (a profile name or a file's path)
    with ``staff`` (as :func:`add_staff` takes them), by default one active staff
    user per role of the profile (username = role id)."""
    h = await make_harness(tmp_path, sop_profile=sop_profile)
    roles = {role: role for role in h.runtime.profile.roles}
    await add_staff(h.runtime.sessions, roles if staff is None else staff)
    return h


@asynccontextmanager
async def staffed(
    tmp_path: Path,
    sop_profile: str,
    staff: Mapping[str, str | tuple[str, str | None]] | None = None,
) -> AsyncIterator[Harness]:
    """:func:`staffed_harness` for the block, its runtime closed after."""
    h = await staffed_harness(tmp_path, sop_profile, staff)
    try:
        yield h
    finally:
        await h.runtime.close()


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await make_harness(tmp_path)
    yield h
    # Whatever the test did, the history holds only known kinds (storage/event_kinds.py).
    await assert_only_known_kinds(h.runtime.sessions)
    await h.runtime.close()
