"""Noisy libraries are quiet at INFO: an SMS sent to Twilio and a printed PDF form
(fpdf2 with fontTools subsetting) write no INFO lines of theirs, and do at DEBUG
(docs/observability.md, "Quiet libraries"); the SMS is sent by the channel itself
over aiohttp, which writes one DEBUG line per API answer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from channels.base import ChannelName, OutboundMessage
from channels.twilio import TwilioChannel
from gateway.channel_configs import twilio_config
from gateway.logs import QUIET_LIBRARIES, configure_logging
from gateway.reports.pdf import Fields, PrintedForm, render_pdf
from tests.twilio.conftest import twilio_settings
from tests.twilio.fake_twilio import FakeTwilio


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in QUIET_LIBRARIES}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def library_lines(err: str, *names: str) -> int:
    return sum(1 for line in err.splitlines() if any(f" [{n}" in line for n in names))


async def send_one_sms(fake: FakeTwilio, tmp_path: Path, key: str) -> None:
    sms = TwilioChannel(twilio_config(twilio_settings(tmp_path, fake)), kind=ChannelName.SMS)
    try:
        await sms.send(
            OutboundMessage(
                idempotency_key=key, channel=ChannelName.SMS, recipient="+6281234567890", text="ok"
            )
        )
    finally:
        await sms.stop()


def print_a_form() -> None:
    render_pdf(
        PrintedForm(
            office="Kantor Uji",
            unit="Layanan Pengaduan",
            title="Formulir Pengaduan",
            reference="ADU-2026-000001",
            sections=(Fields("Identitas", (("Nama", "Budi Santoso"), ("Masalah", "Terlambat"))),),
            signatures=("Penerima",),
            footer="Formulir",
        )
    )


async def test_twilio_and_fonttools_are_quiet_at_info_and_heard_at_debug(
    fake: FakeTwilio,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    configure_logging("INFO")
    capsys.readouterr()
    await send_one_sms(fake, tmp_path, "quiet-1")
    print_a_form()
    quiet = capsys.readouterr().err
    assert library_lines(quiet, "twilio", "channels.twilio", "fontTools", "fpdf") == 0, quiet

    configure_logging("DEBUG")
    capsys.readouterr()
    await send_one_sms(fake, tmp_path, "quiet-2")
    print_a_form()
    loud = capsys.readouterr().err
    assert library_lines(loud, "channels.twilio") > 0
    assert library_lines(loud, "fontTools") > 0
