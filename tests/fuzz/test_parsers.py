"""Property tests of the provider parsers and the pipeline's sanitising.

For any input — arbitrary bytes or JSON, and recorded payloads made wrong in
places (wrong types, huge strings, NUL, lone surrogates, far dates) — each
parser either raises its documented :class:`InboundParseError` or returns
messages and reports that, once sanitised, fit PostgreSQL: lengths within
the columns, no NUL, no lone surrogate, JSON that encodes. Anything else
(TypeError, OverflowError, RecursionError …) is a failure: it would have been
a 500 for a signed request.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from channels import twilio
from channels.api import parse_body
from channels.errors import InboundParseError
from channels.telegram import file_refs, parse_update
from channels.whatsapp_cloud import delivery_report, parse_payload
from gateway.inbound import sanitise
from gateway.webhooks import decode
from tests.fuzz.strategies import (
    FUZZ,
    assert_storable_message,
    assert_storable_report,
    hostile,
    json_values,
    mutated,
    nasty_text,
)
from tests.harness.payloads import recorded

# --------------------------------------------------------------------- Twilio


_form = recorded("twilio").form


TWILIO_FORMS = [_form(n) for n in ("sms_inbound.form", "whatsapp_inbound.form")]
TWILIO_STATUS = _form("status_sms_undelivered.form")

twilio_forms = st.one_of(
    st.dictionaries(nasty_text, nasty_text, max_size=6),
    *(mutated(form, nasty_text) for form in TWILIO_FORMS),
    *(
        st.builds(
            lambda f, k, v: {**f, k: v}, st.just(form), st.sampled_from(list(form)), nasty_text
        )
        for form in TWILIO_FORMS
    ),
)


@FUZZ
@given(form=twilio_forms)
def test_twilio_inbound_form(form: dict[str, str]) -> None:
    try:
        message = twilio.parse_form(form)
    except InboundParseError:
        return
    if message is not None:
        assert_storable_message(sanitise.sanitise_message(message))
        twilio.media_items(message.raw)  # the pipeline calls it after parsing


@FUZZ
@given(form=st.one_of(mutated(TWILIO_STATUS, nasty_text), st.dictionaries(nasty_text, nasty_text)))
def test_twilio_status_form(form: dict[str, str]) -> None:
    try:
        report = twilio.parse_status_form(form)
    except InboundParseError:
        return
    if report is not None:
        assert_storable_report(sanitise.sanitise_report(report))


@FUZZ
@given(
    raw=st.one_of(
        st.binary(max_size=300), nasty_text.map(lambda t: t.encode("utf-8", "surrogatepass"))
    )
)
def test_twilio_raw_body(raw: bytes) -> None:
    try:
        form = twilio.single_values(decode.parse_form_body(raw))
        message = twilio.parse_form(form)
    except InboundParseError:
        return
    if message is not None:
        assert_storable_message(sanitise.sanitise_message(message))


# -------------------------------------------------------------------- WhatsApp

WHATSAPP = [
    recorded("whatsapp_cloud").json(n)
    for n in ("text", "image", "button_reply", "status_failed", "contacts")
]


@FUZZ
@given(body=st.one_of(*(hostile(t) for t in WHATSAPP)))
def test_whatsapp_payload(body: Any) -> None:
    try:
        messages, statuses = parse_payload(body)
    except InboundParseError:
        return
    for message in messages:
        assert_storable_message(sanitise.sanitise_message(message))
    for status in statuses:
        assert_storable_report(sanitise.sanitise_report(delivery_report(status)))


# -------------------------------------------------------------------- Telegram

TELEGRAM = [recorded("telegram").json(n) for n in ("text", "photo_caption", "document", "voice")]
far_dates = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70), st.sampled_from([0, -1, 2**63, 10**20])
)


@FUZZ
@given(
    update=st.one_of(
        *(hostile(t) for t in TELEGRAM),
        st.builds(
            lambda t, d: {**t, "message": {**t["message"], "date": d}},
            st.sampled_from(TELEGRAM),
            far_dates,
        ),
    )
)
def test_telegram_update(update: Any) -> None:
    try:
        message = parse_update(update)
    except InboundParseError:
        return
    if message is not None:
        assert_storable_message(sanitise.sanitise_message(message))
        for ref in file_refs(message.raw):
            assert isinstance(ref.file_id, str)


# ------------------------------------------------------------------------ API

API_BODY = {
    "id": "portal-1",
    "from": {"email": "budi@example.com", "name": "Budi"},
    "text": "halo",
    "subject": "s",
    "language": "id",
    "fields": {"customer_name": "PT A"},
    "in_reply_to": ["portal-0"],
    "received_at": "2026-11-21T08:00:00+07:00",
}
zones = st.sampled_from([UTC, timezone(timedelta(hours=-12)), timezone(timedelta(hours=14))])
far_stamps = st.one_of(
    st.datetimes(timezones=zones).map(datetime.isoformat),
    st.sampled_from(["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "9999-12-31"]),
)


@FUZZ
@given(
    body=st.one_of(
        hostile(API_BODY),
        st.builds(lambda s: {**API_BODY, "received_at": s}, far_stamps),
    )
)
def test_api_body(body: Any) -> None:
    try:
        message = parse_body(body)
    except InboundParseError:
        return
    assert_storable_message(sanitise.sanitise_message(message))


# ------------------------------------------------------------------ JSON bodies


@FUZZ
@given(
    raw=st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: repr(v).encode("utf-8", "surrogatepass")),
        st.integers(min_value=1, max_value=200_000).map(lambda n: b"[" * n),
        st.integers(min_value=1, max_value=5_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    )
)
def test_json_bodies_decode_or_refuse(raw: bytes) -> None:
    try:
        value = decode.load_json(raw)
    except InboundParseError:
        return
    assert decode.json_depth_within(value, decode.JSON_MAX_DEPTH)
