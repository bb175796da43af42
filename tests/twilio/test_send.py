"""Sending to the fake Twilio API (Messages.json): fields, splitting, templates, errors, pacing."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from channels.base import ChannelName, OutboundMessage, Template
from channels.errors import PermanentError, RateLimited, TemporaryError
from channels.twilio import TwilioChannel
from gateway.channel_configs import twilio_config
from tests.twilio.conftest import ACCOUNT_SID, PUBLIC_URL, twilio_settings
from tests.twilio.fake_twilio import FakeTwilio

BUDI = "+6281234567890"
ChannelFactory = Callable[..., Awaitable[TwilioChannel]]


@pytest.fixture
async def make_channel(fake: FakeTwilio, tmp_path: Path) -> AsyncIterator[ChannelFactory]:
    made: list[TwilioChannel] = []

    async def build(kind: ChannelName = ChannelName.SMS, **overrides: Any) -> TwilioChannel:
        channel = TwilioChannel(
            twilio_config(twilio_settings(tmp_path, fake, **overrides)), kind=kind
        )
        made.append(channel)
        return channel

    yield build
    for channel in made:
        await channel.stop()


def out(text: str, channel: ChannelName = ChannelName.SMS, **extra: Any) -> OutboundMessage:
    return OutboundMessage(
        idempotency_key=extra.pop("key", "outbox-1"),
        channel=channel,
        recipient=extra.pop("recipient", BUDI),
        text=text,
        **extra,
    )


async def test_sms_body_from_to_and_status_callback(
    make_channel: ChannelFactory, fake: FakeTwilio
) -> None:
    sms = await make_channel()
    result = await sms.send(out("Terima kasih, Bapak Budi."))
    [sent] = fake.messages
    assert sent == {
        "To": BUDI,
        "From": "+62211234567",
        "Body": "Terima kasih, Bapak Budi.",
        "StatusCallback": PUBLIC_URL + "/webhooks/twilio/status",
    }
    assert result.provider_id is not None and result.provider_id.startswith("SM")


async def test_recipient_is_normalised(make_channel: ChannelFactory, fake: FakeTwilio) -> None:
    sms = await make_channel()
    await sms.send(out("halo", recipient="0812-3456-7890"))
    assert fake.messages[0]["To"] == BUDI
    with pytest.raises(PermanentError):
        await sms.send(out("halo", recipient="12"))


async def test_messaging_service_and_no_public_url(
    make_channel: ChannelFactory, fake: FakeTwilio
) -> None:
    sms = await make_channel(twilio_sms_from="MG" + "1" * 32, public_url=None)
    await sms.send(out("halo"))
    assert fake.messages[0] == {"To": BUDI, "MessagingServiceSid": "MG" + "1" * 32, "Body": "halo"}


async def test_whatsapp_prefixes(make_channel: ChannelFactory, fake: FakeTwilio) -> None:
    # A sender configured without the prefix gets it added.
    wa = await make_channel(ChannelName.WHATSAPP, twilio_whatsapp_from="+62211234567")
    await wa.send(out("halo", ChannelName.WHATSAPP))
    assert fake.messages[0]["From"] == "whatsapp:+62211234567"
    assert fake.messages[0]["To"] == "whatsapp:" + BUDI


async def test_long_text_is_split_and_sent_in_order(
    make_channel: ChannelFactory, fake: FakeTwilio
) -> None:
    sms = await make_channel()
    paragraphs = [f"Paragraf {i}:" + " isi laporan" * 60 for i in range(4)]  # ~732 chars each
    result = await sms.send(out("\n\n".join(paragraphs)))
    bodies = fake.bodies()
    assert len(bodies) == 2
    assert all(len(b) <= 1600 for b in bodies)
    assert bodies[0].startswith("Paragraf 0") and bodies[1].startswith("Paragraf 2")
    assert "\n\n".join(bodies) == "\n\n".join(paragraphs)
    assert result.provider_id == f"SM{1:032x}"  # the first part's SID


async def test_retry_after_a_failed_part_does_not_resend_earlier_parts(
    make_channel: ChannelFactory, fake: FakeTwilio
) -> None:
    sms = await make_channel()
    text = "a" * 1500 + "\n\n" + "b" * 1500
    fake.pass_next()
    fake.fail_next(500, 20500, "Internal Server Error")
    with pytest.raises(TemporaryError):
        await sms.send(out(text, key="split-1"))
    assert fake.bodies() == ["a" * 1500]
    # The outbox retries the row: only the missing part goes, the first SID is kept.
    result = await sms.send(out(text, key="split-1"))
    assert fake.bodies() == ["a" * 1500, "b" * 1500]
    assert result.provider_id == f"SM{1:032x}"


async def test_whatsapp_template_goes_as_content_sid_and_variables(
    make_channel: ChannelFactory, fake: FakeTwilio
) -> None:
    wa = await make_channel(ChannelName.WHATSAPP)
    template = Template(
        name="status_update",
        language="id",
        variables=("ADU-2026-00042", "Laporan sedang diperiksa"),
        content_sid="HX" + "a" * 32,
    )
    await wa.send(out("teks bebas yang tidak dikirim", ChannelName.WHATSAPP, template=template))
    [sent] = fake.messages
    assert sent["ContentSid"] == "HX" + "a" * 32
    assert json.loads(sent["ContentVariables"]) == {
        "1": "ADU-2026-00042",
        "2": "Laporan sedang diperiksa",
    }
    assert "Body" not in sent
    assert sent["To"] == "whatsapp:" + BUDI


async def test_template_without_content_sid_is_permanent(
    make_channel: ChannelFactory, fake: FakeTwilio
) -> None:
    wa = await make_channel(ChannelName.WHATSAPP)
    template = Template(name="status_update", language="id", variables=("x",))
    with pytest.raises(PermanentError, match="no Twilio ContentSid configured"):
        await wa.send(out("x", ChannelName.WHATSAPP, template=template))
    assert fake.messages == []


async def test_empty_text_is_permanent(make_channel: ChannelFactory) -> None:
    sms = await make_channel()
    with pytest.raises(PermanentError, match="empty"):
        await sms.send(out("  "))


@pytest.mark.parametrize("code", [21211, 21610, 21614, 63024, 21602])
async def test_permanent_error_codes(
    make_channel: ChannelFactory, fake: FakeTwilio, code: int
) -> None:
    sms = await make_channel()
    fake.fail_next(400, code, "refused")
    with pytest.raises(PermanentError) as info:
        await sms.send(out("halo"))
    assert type(info.value) is PermanentError and info.value.code == code


async def test_outside_window_63016(make_channel: ChannelFactory, fake: FakeTwilio) -> None:
    wa = await make_channel(ChannelName.WHATSAPP)
    fake.fail_next(
        400, 63016, "Failed to send freeform message because you are outside the allowed window."
    )
    with pytest.raises(PermanentError, match="24-hour window") as info:
        await wa.send(out("halo", ChannelName.WHATSAPP))
    assert info.value.code == 63016


async def test_rate_limit_with_retry_after_header(
    make_channel: ChannelFactory, fake: FakeTwilio
) -> None:
    sms = await make_channel()
    fake.fail_next(429, 20429, "Too Many Requests", headers={"Retry-After": "12"})
    with pytest.raises(RateLimited) as info:
        await sms.send(out("halo"))
    assert info.value.retry_after == 12.0 and info.value.code == 20429


@pytest.mark.parametrize(("status", "code"), [(429, 20429), (400, 63018)])
async def test_rate_limit_without_header(
    make_channel: ChannelFactory, fake: FakeTwilio, status: int, code: int
) -> None:
    sms = await make_channel()
    fake.fail_next(status, code, "Too Many Requests")
    with pytest.raises(RateLimited) as info:
        await sms.send(out("halo"))
    assert 1.0 <= info.value.retry_after <= 5.0


async def test_server_error_is_temporary(make_channel: ChannelFactory, fake: FakeTwilio) -> None:
    sms = await make_channel()
    fake.fail_next(500, 20500, "Internal Server Error")
    with pytest.raises(TemporaryError) as info:
        await sms.send(out("halo"))
    assert type(info.value) is TemporaryError


async def test_wrong_credentials_are_refused_permanently(
    make_channel: ChannelFactory, fake: FakeTwilio
) -> None:
    sms = await make_channel(twilio_auth_token="wrong-token")
    with pytest.raises(PermanentError) as info:
        await sms.send(out("halo"))
    assert info.value.code == 20003
    assert "wrong-token" not in str(info.value)
    assert fake.refused and fake.messages == []


async def test_unreachable_api_is_temporary(make_channel: ChannelFactory, fake: FakeTwilio) -> None:
    sms = await make_channel(twilio_api_base="http://127.0.0.1:9")
    with pytest.raises(TemporaryError, match="unreachable"):
        await sms.send(out("halo"))


async def test_sms_sends_are_paced(make_channel: ChannelFactory, fake: FakeTwilio) -> None:
    sms = await make_channel(twilio_sms_per_second=10.0)
    started = time.monotonic()
    for i in range(4):
        await sms.send(out("halo", key=f"k{i}"))
    assert time.monotonic() - started >= 0.3 - 0.02
    assert len(fake.messages) == 4
    assert fake.messages[0]["To"] == BUDI and ACCOUNT_SID


async def test_problem_details_errors_are_classified_too(
    make_channel: ChannelFactory, fake: FakeTwilio
) -> None:
    sms = await make_channel()
    fake.fail_next(400, 21211, "Invalid 'To' Phone Number", problem=True)
    with pytest.raises(PermanentError) as info:
        await sms.send(out("halo"))
    assert type(info.value) is PermanentError and info.value.code == 21211
    fake.fail_next(429, 20429, "Too Many Requests", {"Retry-After": "3"}, problem=True)
    with pytest.raises(RateLimited) as limited:
        await sms.send(out("halo"))
    assert limited.value.retry_after == 3.0
