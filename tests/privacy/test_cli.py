"""``aduan contact export|erase|correct`` (docs/privacy.md) on the configured SQLite file."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.base import ChannelName
from gateway.cli import main
from gateway.config import load_settings
from gateway.runtime import build_runtime
from storage.models import ContactAddress, PersonalDataAudit
from tests.fakes import RecordingChannel
from tests.privacy.conftest import FILE_BYTES, MAIL, NAME, PHONE, PROBLEM, file_both
from tests.runtime_fixtures import Harness


@pytest.fixture
def env(cli_env: Path) -> Path:
    tmp_path = cli_env
    assert main(["db", "upgrade"]) == 0

    async def run() -> None:
        runtime = await build_runtime(
            load_settings(data_dir=tmp_path / "var"),
            use_redis=False,
            extra_channels={
                "email": RecordingChannel(ChannelName.EMAIL, interactive=False),
                "sms": RecordingChannel(ChannelName.SMS),
            },
        )
        await runtime.start(run_channels=False)
        h = Harness(runtime, runtime.channels["email"], runtime.channels["sms"])  # type: ignore[arg-type]
        try:
            await file_both(h)
        finally:
            await runtime.close()

    asyncio.run(run())
    return tmp_path


def audits(tmp_path: Path) -> list[tuple[str, str]]:
    async def run() -> list[tuple[str, str]]:
        runtime = await build_runtime(load_settings(data_dir=tmp_path / "var"), use_redis=False)
        try:
            async with runtime.sessions() as session:
                rows = await session.execute(
                    select(PersonalDataAudit.action, PersonalDataAudit.actor).order_by(
                        PersonalDataAudit.id
                    )
                )
                return [(a, b) for a, b in rows]
        finally:
            await runtime.engine.dispose()

    return asyncio.run(run())


def test_export_by_phone_email_or_number(
    env: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(["contact", "export", "0812-3456-7890", "--output", "budi.zip"]) == 0
    archive = zipfile.ZipFile(env / "budi.zip")
    document = json.loads(archive.read("data.json"))
    assert {c["complainant_name"] for c in document["complaints"]} == {NAME}
    [attachment] = document["attachments"]
    assert archive.read(attachment["file"]) == FILE_BYTES

    capsysbinary.readouterr()
    assert main(["contact", "export", MAIL.upper(), "--format", "json"]) == 0
    out = capsysbinary.readouterr()
    assert json.loads(out.out)["contact"]["id"] == document["contact"]["id"]
    assert NAME.encode() not in out.err  # the summary carries counts only

    assert main(["contact", "export", f"#{document['contact']['id']}", "--format", "json"]) == 0
    assert main(["contact", "export", "nobody@example.com", "--format", "json"]) == 1
    assert "no contact has that email address" in capsysbinary.readouterr().err.decode()
    assert [a for a, _ in audits(env)] == ["export", "export", "export"]


def test_erase_asks_first_then_erases(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    assert main(["contact", "erase", PHONE]) == 1
    assert "nothing was changed" in capsys.readouterr().err
    assert audits(env) == []

    monkeypatch.setattr(sys, "stdin", io.StringIO("1\n"))
    assert main(["contact", "erase", PHONE]) == 0
    assert "personal data erased" in capsys.readouterr().out
    assert main(["contact", "erase", "#1", "--yes"]) == 0  # again: idempotent
    assert main(["contact", "erase", PHONE, "--yes"]) == 1  # the number is no longer known
    assert [a for a, _ in audits(env)] == ["erase", "erase"]
    assert all(actor.startswith("cli:") for _, actor in audits(env))

    capsys.readouterr()
    assert main(["contact", "export", "1", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert NAME not in out and PROBLEM not in out and MAIL not in out


def test_correct_name_and_addresses(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "contact",
                "correct",
                MAIL,
                "--name",
                "Budi Santosa",
                "--add",
                "0811 1111 2222",
                "--remove",
                PHONE,
            ]
        )
        == 0
    )
    assert "1 address(es) added, 1 removed" in capsys.readouterr().out

    async def addresses() -> set[str]:
        runtime = await build_runtime(load_settings(data_dir=env / "var"), use_redis=False)
        try:
            async with runtime.sessions() as session:
                return set(await session.scalars(select(ContactAddress.address)))
        finally:
            await runtime.engine.dispose()

    assert asyncio.run(addresses()) == {MAIL, "+6281111112222"}
    # Bad input: a clear error and nothing changed.
    assert main(["contact", "correct", MAIL, "--remove", PHONE]) == 1
    assert "has no such phone address" in capsys.readouterr().err
    assert main(["contact", "correct", MAIL, "--add", "not an address"]) == 2
    assert main(["contact", "correct", MAIL, "--name", "  "]) == 1
    assert asyncio.run(addresses()) == {MAIL, "+6281111112222"}
    assert [a for a, _ in audits(env)] == ["correct"]
