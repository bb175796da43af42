"""Unit tests for gateway/web/form.py: validate() and parse() are pure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from channels.base import ChannelName
from channels.errors import InboundParseError
from gateway.web.form import (
    WebForm,
    check_profile,
    clean_input,
    is_token,
    new_token,
    validate,
)
from handlers.profile import Profile, ProfileError
from tests.web.conftest import valid_form

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    "typed",
    ["0812 3456 7890", "081234567890", "+62 812 3456 7890", "62812-3456-7890", "+6281234567890"],
)
def test_phone_formats_are_one_number(profile: Profile, typed: str) -> None:
    result = validate(valid_form(TOKEN, contact_email="", contact_phone=typed), profile, "id")
    assert result.ok, result.errors
    assert result.contact is not None
    assert result.contact.phone == "+6281234567890"
    assert result.contact.address == "+6281234567890"


def test_valid_form_cleans_values(profile: Profile) -> None:
    form = valid_form(
        TOKEN, complainant_name="  Budi   Santoso ", problem="  Baris satu\r\nBaris dua  "
    )
    result = validate(form, profile, "en")
    assert result.ok
    assert result.language == "en"
    assert result.token == TOKEN
    assert result.values == {
        "complainant_name": "Budi Santoso",
        "customer_name": "PT Sinar Jaya",
        "problem": "Baris satu\nBaris dua",
    }
    assert result.contact is not None
    assert result.contact.email == "budi@example.com"
    assert result.contact.phone == "+6281234567890"
    assert "token" not in result.typed


def test_parse_builds_the_inbound_message(profile: Profile) -> None:
    when = datetime(2026, 3, 5, 7, 0, tzinfo=UTC)
    message = WebForm(profile).parse(valid_form(TOKEN, lang="en"), TOKEN, received_at=when)
    assert message.channel is ChannelName.WEB
    assert message.external_id == TOKEN
    assert message.sender == "budi@example.com"
    assert message.sender_name == "Budi Santoso"
    assert message.text == "Laporan hasil uji belum kami terima setelah dua minggu."
    assert message.fields == {
        "complainant_name": "Budi Santoso",
        "customer_name": "PT Sinar Jaya",
        "problem": "Laporan hasil uji belum kami terima setelah dua minggu.",
    }
    assert message.language == "en"
    assert message.received_at == when
    # The other address travels in raw, as typed; the token does not.
    assert message.raw["contact_phone"] == "0812-3456-7890"
    assert "token" not in message.raw
    assert "contact_phone" not in message.fields


def test_phone_only_is_the_sender(profile: Profile) -> None:
    message = WebForm(profile).parse(valid_form(TOKEN, contact_email=""), TOKEN)
    assert message.sender == "+6281234567890"


def test_contact_is_required(profile: Profile) -> None:
    result = validate(valid_form(TOKEN, contact_email=" ", contact_phone=""), profile, "en")
    assert not result.ok
    assert set(result.errors) == {"contact"}
    assert "email address or a phone number" in result.errors["contact"]


def test_bad_contact_values(profile: Profile) -> None:
    result = validate(
        valid_form(TOKEN, contact_email="budi at example", contact_phone="12"), profile, "id"
    )
    assert set(result.errors) == {"contact_email", "contact_phone"}
    assert result.errors["contact_phone"] == "Masukkan nomor telepon, misalnya 0812 3456 7890."
    assert result.contact is None


def test_field_errors_are_keyed_by_field_and_typed_values_kept(profile: Profile) -> None:
    form = valid_form(TOKEN, complainant_name="<b>", customer_name="", problem="pendek")
    result = validate(form, profile, "id")
    assert not result.ok
    assert list(result.errors) == ["complainant_name", "customer_name", "problem"]
    # The profile's own "invalid" texts (handlers/profiles/default.yaml).
    assert result.errors["complainant_name"] == "Nama perlu diisi, minimal 2 huruf."
    assert result.errors["problem"].startswith("Mohon jelaskan masalahnya")
    assert result.typed["complainant_name"] == "<b>"
    assert result.typed["problem"] == "pendek"


def test_errors_follow_the_language(profile: Profile) -> None:
    result = validate(valid_form(TOKEN, customer_name=""), profile, "en")
    assert result.errors["customer_name"].startswith("Please give the customer")


@pytest.mark.parametrize("token", ["", "   ", "x" * 201])
def test_token_is_required(profile: Profile, token: str) -> None:
    form = valid_form(token)
    result = validate(form, profile, "id")
    assert not result.ok
    assert set(result.errors) == {"token"}
    with pytest.raises(InboundParseError):
        WebForm(profile).parse(form, TOKEN)


def test_submission_id_must_be_32_hex(profile: Profile) -> None:
    with pytest.raises(InboundParseError, match="submission id"):
        WebForm(profile).parse(valid_form("signed"), TOKEN.upper())


def test_honeypot_is_reported_not_an_error(profile: Profile) -> None:
    assert validate(valid_form(TOKEN), profile, "id").honeypot is False
    result = validate(valid_form(TOKEN, website="http://spam.example"), profile, "id")
    assert result.honeypot is True
    assert result.ok
    assert "website" not in result.typed


def test_parse_rejects_non_mappings(profile: Profile) -> None:
    form = WebForm(profile)
    bad: Any
    for bad in (None, "token=x", {"token": 1}):
        with pytest.raises(InboundParseError):
            form.parse(bad, TOKEN)


def test_control_characters_are_removed(profile: Profile) -> None:
    result = validate(valid_form(TOKEN, customer_name="PT Sinar\x00 Jaya\x1b"), profile, "id")
    assert result.values["customer_name"] == "PT Sinar Jaya"
    assert clean_input("a\r\nb\rc\u0065\u0301") == "a\nb\nc\u00e9"


def test_optional_fields_may_stay_empty(profile: Profile) -> None:
    data = profile.model_dump(mode="json")
    data["intake"]["fields"].append(
        {
            "key": "unit",
            "label": {"id": "Unit layanan", "en": "Service unit"},
            "prompt": {"id": "Unit mana?", "en": "Which unit?"},
            "required": False,
            "min_length": 2,
        }
    )
    custom = Profile.model_validate(data)
    assert validate(valid_form(TOKEN), custom, "id").ok
    result = validate(valid_form(TOKEN, unit="x"), custom, "id")
    assert set(result.errors) == {"unit"}
    assert validate(valid_form(TOKEN, unit="Lab Kimia"), custom, "id").values["unit"] == "Lab Kimia"


def test_profile_keys_must_not_clash(profile: Profile) -> None:
    data = profile.model_dump(mode="json")
    data["intake"]["fields"].append(
        {"key": "contact_phone", "label": {"id": "HP"}, "prompt": {"id": "Nomor HP?"}}
    )
    with pytest.raises(ProfileError, match="contact_phone"):
        check_profile(Profile.model_validate(data))


def test_tokens() -> None:
    token = new_token()
    assert is_token(token)
    assert new_token() != token
