"""Parsing recorded Twilio webhook forms, splitting long text, classifying API errors."""

from __future__ import annotations

import pytest

from channels.base import ChannelName
from channels.errors import (
    ChannelConfigError,
    InboundParseError,
    PermanentError,
    RateLimited,
    TemporaryError,
)
from channels.twilio import (
    MAX_BODY_UNITS,
    TwilioChannel,
    classify,
    kind_of,
    media_items,
    parse_form,
    split_text,
)
from gateway.channel_configs import twilio_config
from gateway.config import load_settings
from tests.harness.incoming import AWARE, Check, IncomingCase, check_incoming, named_cases
from tests.twilio.conftest import ACCOUNT_SID, AUTH_TOKEN, load_form

SMS = load_form("sms_inbound")
BARE = {"MessageSid": "SMbare", "From": "whatsapp:+6281234567890", "To": "whatsapp:+62211234567"}

INCOMING = [
    IncomingCase(
        "recorded_sms",
        SMS,
        {
            "channel": ChannelName.SMS,
            "external_id": "SM1f0e8ad8e0a4b2c5d6e7f8091a2b3c4d",
            "sender": "+6281234567890",
            "text": "Selamat siang, laporan hasil uji kami belum keluar",
            "sender_name": None,
            "attachments": (),
            "raw": SMS,
            "received_at": AWARE,
        },
    ),
    IncomingCase(
        "recorded_whatsapp",
        load_form("whatsapp_inbound"),
        {
            "channel": ChannelName.WHATSAPP,
            "sender": "+6281234567890",  # whatsapp: stripped, E.164
            "sender_name": "Budi",
            "text": "halo, saya mau lapor",
        },
    ),
    IncomingCase(
        "recorded_whatsapp_image_keeps_media_in_raw",
        load_form("whatsapp_image"),
        {
            "text": "ini foto laporannya",
            "raw": Check(
                lambda raw: raw["MediaUrl0"].endswith("/Media/ME4c5d6e7f8091a2b3c4d5e6f708192a3b"),
                "a form whose MediaUrl0 is the recorded media",
            ),
        },
    ),
    # Location and empty messages still give a message.
    IncomingCase(
        "location",
        load_form("whatsapp_location"),
        {"text": "", "raw": Check(lambda raw: raw["Latitude"] == "-7.2574719", "the location")},
    ),
    IncomingCase("bare_sticker", BARE, {"text": ""}),
    # Every way a sender is written is one E.164 number.
    *(
        IncomingCase(f"sender {sender}", {**SMS, "From": sender}, {"sender": "+6281234567890"})
        for sender in (
            "0812 3456 7890",
            "+62 812-3456-7890",
            "6281234567890",
            "whatsapp:+6281234567890",
        )
    ),
    # Malformed forms.
    IncomingCase(
        "no_message_sid",
        {**SMS, "MessageSid": "", "SmsMessageSid": ""},
        error="MessageSid is required",
    ),
    IncomingCase("no_from", {**SMS, "From": ""}, error="From is required"),
    IncomingCase("short_from", {**SMS, "From": "12"}, error="not a valid phone number"),
    IncomingCase("num_media_word", {**SMS, "NumMedia": "x"}, error="NumMedia must be a number"),
    IncomingCase("num_media_11", {**SMS, "NumMedia": "11"}, error="NumMedia must be between"),
    # A status callback is not a message.
    IncomingCase("status_callback", load_form("status_whatsapp_read"), ignored=True),
]


@named_cases(INCOMING)
def test_incoming(case: IncomingCase) -> None:
    check_incoming(case, parse_form)


def test_recorded_whatsapp_image_lists_its_media() -> None:
    form = load_form("whatsapp_image.form")
    assert media_items(form) == [(form["MediaUrl0"], "image/jpeg")]


def test_kind_of_status_callbacks() -> None:
    assert kind_of(load_form("status_whatsapp_read.form")) is ChannelName.WHATSAPP
    assert kind_of(load_form("status_sms_undelivered.form")) is ChannelName.SMS
    assert kind_of({"ChannelPrefix": "whatsapp", "MessageSid": "SM1"}) is ChannelName.WHATSAPP


def test_channel_construction_and_parse() -> None:
    settings = load_settings(
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_sms_from="+62211234567",
    )
    sms = TwilioChannel(twilio_config(settings), kind=ChannelName.SMS)
    assert sms.name is ChannelName.SMS and sms.interactive
    msg = sms.parse(load_form("sms_inbound.form"))
    assert msg is not None and msg.channel is ChannelName.SMS
    with pytest.raises(InboundParseError):
        sms.parse(b"not a form")
    assert AUTH_TOKEN not in repr(sms.status())
    with pytest.raises(ChannelConfigError, match="ADUAN_TWILIO_WHATSAPP_FROM"):
        TwilioChannel(twilio_config(settings), kind=ChannelName.WHATSAPP)
    with pytest.raises(ChannelConfigError):
        TwilioChannel(twilio_config(settings), kind=ChannelName.EMAIL)


# ----------------------------------------------------------------------- splitting


def test_short_text_is_one_part() -> None:
    assert split_text("  halo  ") == ["halo"]
    assert split_text("   ") == []


def test_split_prefers_paragraphs_then_sentences_then_words() -> None:
    para = "a" * 1000
    assert split_text(f"{para}\n\n{para}") == [para, para]
    sentence = "Kalimat pertama cukup panjang. " * 40  # 1240 chars
    parts = split_text(sentence + sentence)
    assert all(len(p) <= MAX_BODY_UNITS for p in parts)
    assert all(p.endswith(".") for p in parts)
    assert " ".join(parts) == (sentence + sentence).strip()
    words = " ".join(["kata"] * 500)  # 2499 chars, no sentence end
    parts = split_text(words)
    assert [len(p) <= MAX_BODY_UNITS for p in parts] == [True, True]
    assert " ".join(parts) == words


def test_split_hard_cuts_and_counts_emoji_as_two_units() -> None:
    assert [len(p) for p in split_text("x" * 3500)] == [1600, 1600, 300]
    parts = split_text("😀" * 1000)
    assert [len(p) for p in parts] == [800, 200]


# ----------------------------------------------------------------------- errors


@pytest.mark.parametrize("code", [21211, 21610, 21614, 63024])
def test_known_permanent_codes(code: int) -> None:
    err = classify(400, code, "x")
    assert type(err) is PermanentError and err.code == code


def test_outside_window_says_to_use_a_template() -> None:
    err = classify(400, 63016, "x")
    assert type(err) is PermanentError and err.code == 63016
    assert "24-hour" in str(err) and "template" in str(err)


@pytest.mark.parametrize(("status", "code"), [(429, 20429), (400, 63018), (429, None)])
def test_rate_limits(status: int, code: int | None) -> None:
    err = classify(status, code, "slow down")
    assert isinstance(err, RateLimited)
    assert 1.0 <= err.retry_after <= 5.0
    assert classify(status, code, "x", retry_after="7").retry_after == 7.0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (500, 20500, TemporaryError),
        (503, None, TemporaryError),
        (408, None, TemporaryError),
        (400, 21602, PermanentError),
        (404, 20404, PermanentError),
    ],
)
def test_other_statuses(status: int, code: int | None, kind: type) -> None:
    assert type(classify(status, code, "x")) is kind
